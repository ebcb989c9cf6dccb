/* make_packed_api.c: MakePackedAPI, TVM's tirx.MakePackedAPI.
 *
 * IR expected: host functions after LowerDeviceKernelLaunch: kernels carry
 *              calling_conv 2, public host functions a target with a host.
 * IR left:     every public function (global_symbol, calling_conv absent or
 *              0) whose target has a host takes the TVM-FFI packed calling
 *              convention: (self_handle, args, num_args, result) -> int32,
 *              global_symbol "__tvm_ffi_<name>", calling_conv 1, target = the
 *              host alone.  Its body decodes and checks every argument (the
 *              TVMFFIABIBuilder of TVM), runs the old body under a
 *              compute_scope attr and returns 0; returns store their value
 *              in *result.  Calls of such functions become tvm_call_cpacked.
 * Runs after:  LowerDeviceKernelLaunch (so that kernels are skipped).
 *
 * Differences from TVM, both forced by our verifier's scoping rules: the
 * storage_alignment attr of a tensor follows the tensor's DeclBuffer
 * instead of sitting in the argument-decoding prologue (it names the buffer,
 * which must be declared first), and a nested sequence is flattened. */
#include <stdlib.h>
#include <string.h>
#include "tir.h"
#include "passutil.h"

/* TVMStructFieldKind */
enum {
	F_ADDR = 0, F_DATA = 1, F_SHAPE = 2, F_STRIDES = 3, F_NDIM = 4, F_CODE = 5,
	F_BITS = 6, F_LANES = 7, F_BYTE_OFFSET = 8, F_DEVICE_ID = 9, F_DEVICE_TYPE = 10,
	F_ANY_TYPE_INDEX = 13, F_ANY_PADDING = 14, F_ANY_VALUE = 15, F_INT64_ELEM = 17,
};

/* ffi::TypeIndex */
enum {
	TI_NONE = 0, TI_INT = 1, TI_BOOL = 2, TI_FLOAT = 3, TI_OPAQUE_PTR = 4,
	TI_DLTENSOR_PTR = 7, TI_STATIC_OBJECT_BEGIN = 64, TI_TENSOR = 70,
};

enum { DL_CPU = 1 };

static const char WHEN_CALLING[] = " when calling:\n  `";

/* ------------------------------------------------------------ helpers */

static Sym symf(const char *fmt, ...) TIR_PRINTF(1, 2);
static Sym symf(const char *fmt, ...)
{
	Buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	Sym s = symn(b.s ? b.s : "", b.n);
	buf_free(&b);
	return s;
}

static Expr *struct_get(Arena *a, TType ty, Expr *h, int index, int field)
{
	Expr *args[3] = {h, pu_i32(a, index), pu_i32(a, field)};
	return pu_call(a, "tirx.tvm_struct_get", ty, args, 3);
}

static Expr *struct_get_v(Arena *a, TType ty, Var *h, int index, int field)
{
	return struct_get(a, ty, ex_var(a, h), index, field);
}

static Expr *isnullptr(Arena *a, Expr *x)
{
	return pu_call(a, "tirx.isnullptr", ty_prim(DT_BOOL1), &x, 1);
}

static Expr *reinterpret(Arena *a, TType ty, Expr *x)
{
	return pu_call(a, "tirx.reinterpret", ty, &x, 1);
}

/* The operators of TVM's C++ API (a == b, a && b, !a): typed and folded as
 * the parser folds them.  Operands built here always type-check. */
static Expr *op2(Arena *a, int kind, Expr *x, Expr *y)
{
	const char *err = NULL;
	Expr *e = arith_binary(a, kind, x, y, &err);
	if (!e)
		die("MakePackedAPI: %s", err);
	return e;
}

static Expr *op_not(Arena *a, Expr *x)
{
	const char *err = NULL;
	Expr *e = arith_not(a, x, &err);
	if (!e)
		die("MakePackedAPI: %s", err);
	return e;
}

static Stmt *mk_bind(Arena *a, Var *v, Expr *value)
{
	Stmt *s = st_new(a, ST_BIND, NOLOC);
	s->bind.var = v;
	s->bind.value = value;
	return s;
}

static Stmt *mk_eval(Arena *a, Expr *e)
{
	Stmt *s = st_new(a, ST_EVAL, NOLOC);
	s->eval.value = e;
	return s;
}

/* An AttrStmt whose body is filled in later (merge_nest). */
static Stmt *mk_attr(Arena *a, Obj *node, const char *key, Expr *value)
{
	Stmt *s = st_new(a, ST_ATTR, NOLOC);
	s->attr.node = node;
	s->attr.key = sym(key);
	s->attr.value = value;
	return s;
}

static Stmt *mk_return(Arena *a, Expr *v)
{
	Stmt *s = st_new(a, ST_RETURN, NOLOC);
	s->ret.value = v;
	return s;
}

static Stmt *struct_set(Arena *a, Expr *h, int index, int field, Expr *value)
{
	Expr *args[4] = {h, pu_i32(a, index), pu_i32(a, field), value};
	return mk_eval(a, pu_call(a, "tirx.tvm_struct_set", ty_prim(DT_I32), args, 4));
}

/* analyzer.Simplify(x == y) for the comparisons the binder builds: constant
 * folding, x == x, and for index types a constant moved to the right. */
static Expr *simplify_eq(Arena *a, Expr *x, Expr *y)
{
	Expr *e = op2(a, EX_EQ, x, y);
	if (e->kind != EX_EQ)
		return e;
	Expr *l = e->bin.a, *r = e->bin.b;
	if (l == r || (l->kind == EX_VAR && r->kind == EX_VAR && l->var == r->var))
		return ex_int(a, e->dt, 1);
	int index = l->dt.code == DT_INT && (l->dt.bits == 32 || l->dt.bits == 64) && l->dt.lanes == 1;
	if (index && l->kind == EX_INT && r->kind != EX_INT)
		return ex_bin(a, EX_EQ, r, l);
	return e;
}

static int is_const(const Expr *e, int64_t v)
{
	int64_t x;
	return ex_is_const_int(e, &x) && x == v;
}

/* DLDeviceType2Str */
static const char *device_name(int t)
{
	static const char *const names[] = {
		[1] = "cpu", [2] = "cuda", [3] = "cuda_host", [4] = "opencl", [7] = "vulkan",
		[8] = "metal", [9] = "vpi", [10] = "rocm", [11] = "rocm_host", [12] = "ext_dev",
		[13] = "cuda_managed", [14] = "oneapi", [15] = "webgpu", [16] = "hexagon",
	};
	if (t >= 0 && t < (int)(sizeof names / sizeof names[0]) && names[t])
		return names[t];
	return "unknown";
}

/* Target::GetTargetDeviceType: the kind's default device type. */
static int target_device_type(const Obj *t)
{
	static const struct { const char *kind; int type; } kinds[] = {
		{"llvm", 1}, {"c", 1}, {"cuda", 2}, {"nvptx", 2}, {"opencl", 4}, {"vulkan", 7},
		{"metal", 8}, {"rocm", 10}, {"webgpu", 15}, {"hexagon", 16},
	};
	Sym k = target_kind(t);
	for (size_t i = 0; k && i < sizeof kinds / sizeof kinds[0]; i++)
		if (!strcmp(k, kinds[i].kind))
			return kinds[i].type;
	return DL_CPU;
}

/* ------------------------------------------------------------ the binder */

/* Where a value came from, as TVM's AccessPath renders it: the argument
 * index (-1: none) and the text ("A.shape[0]", or the parameter's name). */
typedef struct Path {
	int index;
	Sym text;
} Path;

typedef struct Def {
	Expr *value;
	Path path;
} Def;

typedef struct Pending {
	Expr *cond, *arg;
	Path path;
} Pending;

typedef struct Binder {
	Arena *a;
	Func *f;
	Sym fname;    /* the global symbol before the prefix */
	Var *args;    /* the packed args */
	Var *num_args;
	Expr *dev_type; /* int32 constant */
	Var *dev_id;
	Sym sig;      /* "main(A: Tensor([1024], float32), n: int32)" */
	Sym *names;   /* per parameter: its var or buffer name */
	Var **handles; /* per buffer parameter: the DLTensor handle */
	Vec init, asserts, decls;
	PtrMap defs;  /* Var -> Def */
	Vec pending;  /* Pending */
	Vec owned;    /* Def and Pending records, freed at the end */
	int failed;
} Binder;

/* An AssertStmt with message parts; the variadic parts end with NULL. */
static Stmt *mk_assert(Binder *b, Expr *cond, const char *kind, const char **parts, int n)
{
	Stmt *s = st_new(b->a, ST_ASSERT, NOLOC);
	s->assert.cond = cond;
	s->assert.kind = sym(kind);
	s->assert.parts = ar_alloc(b->a, (size_t)(n ? n : 1) * sizeof(Sym));
	for (int i = 0; i < n; i++)
		s->assert.parts[i] = sym(parts[i]);
	s->assert.nparts = n;
	return s;
}

static Stmt *assertv(Binder *b, Expr *cond, const char *kind, va_list ap)
{
	const char *parts[16];
	int n = 0;
	const char *p;
	while ((p = va_arg(ap, const char *)) != NULL) {
		if (n == 16)
			die("MakePackedAPI: too many message parts");
		parts[n++] = p;
	}
	return mk_assert(b, cond, kind, parts, n);
}

/* EmitAssert: a check that must run before later loads (into init_nest). */
static void emit_assert(Binder *b, Expr *cond, const char *kind, ...)
{
	va_list ap;
	va_start(ap, kind);
	vec_push(&b->init, assertv(b, cond, kind, ap));
	va_end(ap);
}

static void type_check(Binder *b, int i, Expr *cond, const char *expected)
{
	emit_assert(b, cond, "TypeError", "Mismatched type on argument #", symf("%d", i),
	            WHEN_CALLING, b->sig, "`,\n  expected ", expected, NULL);
}

/* The signature TVM prints in every message. */
static void type_str(Buf *o, TType t)
{
	char d[32];
	if (t.kind == TY_PTR) {
		if (dt_is_void(t.dt)) {
			if (t.scope == sym("global"))
				buf_puts(o, "T.handle");
			else
				buf_printf(o, "T.handle(storage_scope=\"%s\")", t.scope);
		} else {
			buf_printf(o, "T.handle(\"%s\", \"%s\")", dt_str(t.dt, d), t.scope);
		}
	} else if (t.kind == TY_TENSORMAP) {
		buf_puts(o, "T.TensorMap()");
	} else {
		buf_puts(o, dt_str(ty_dtype(t), d));
	}
}

static Sym signature(Binder *b)
{
	Buf o = {0};
	char d[32];
	buf_printf(&o, "%s(", b->fname);
	for (int i = 0; i < b->f->nparams; i++) {
		Param *p = &b->f->params[i];
		if (i)
			buf_puts(&o, ", ");
		if (p->buf) {
			buf_printf(&o, "%s: Tensor([", p->buf->name);
			for (int k = 0; k < p->buf->ndim; k++) {
				Expr *e = p->buf->shape[k];
				if (k)
					buf_puts(&o, ", ");
				if (e->kind == EX_VAR)
					buf_puts(&o, *e->var->name ? e->var->name : "v");
				else
					tir_print_expr(&o, e);
			}
			buf_printf(&o, "], %s)", dt_str(p->buf->dt, d));
		} else {
			buf_printf(&o, "%s: ", p->var->name);
			type_str(&o, p->var->ty);
		}
	}
	buf_putc(&o, ')');
	Sym s = symn(o.s, o.n);
	buf_free(&o);
	return s;
}

static Def *def_get(Binder *b, Var *v)
{
	return pmap_get(&b->defs, v);
}

static void def_put(Binder *b, Var *v, Expr *value, Path path)
{
	Def *d = xmalloc(sizeof *d);
	d->value = value;
	d->path = path;
	vec_push(&b->owned, d);
	pmap_put(&b->defs, v, d);
}

/* BindScalar(arg, value, path, with_lets = true): defines a var on its first
 * sight, checks it against its first value after; a non-var `arg` (a
 * constant shape, an expression of other vars) becomes a pending check,
 * rendered at the end.  Returns 1 on a first definition. */
static int bind_scalar(Binder *b, Expr *arg, Expr *value, Path path)
{
	Arena *a = b->a;
	if (!dt_eq(arg->dt, value->dt))
		die("MakePackedAPI: binding values of different types");
	if (arg->kind == EX_VAR) {
		Def *d = def_get(b, arg->var);
		if (!d) {
			def_put(b, arg->var, arg, path);
			vec_push(&b->init, mk_bind(a, arg->var, value));
			return 1;
		}
		Expr *c = simplify_eq(a, d->value, value);
		if (is_const(c, 0)) {
			diag_error(b->f->loc, "Bind have an unmet assertion at %s", path.text);
			b->failed = 1;
		} else if (!is_const(c, 1)) {
			const char *parts[12];
			int n = 0;
			parts[n++] = "Mismatched ";
			parts[n++] = path.text;
			if (path.index >= 0) {
				parts[n++] = " on argument #";
				parts[n++] = symf("%d", path.index);
			}
			parts[n++] = WHEN_CALLING;
			parts[n++] = b->sig;
			if (*d->path.text && d->path.text != path.text) {
				parts[n++] = "`,\n  expected to match ";
				parts[n++] = d->path.text;
			} else {
				parts[n++] = "`,\n  expected matching value";
			}
			vec_push(&b->asserts, mk_assert(b, c, "ValueError", parts, n));
		}
		return 0;
	}
	Expr *c = simplify_eq(a, arg, value);
	if (is_const(c, 0)) {
		diag_error(b->f->loc, "Bind have an unmet assertion at %s", path.text);
		b->failed = 1;
	} else if (!is_const(c, 1)) {
		Pending *p = xmalloc(sizeof *p);
		p->cond = c;
		p->arg = arg;
		p->path = path;
		vec_push(&b->owned, p);
		vec_push(&b->pending, p);
	}
	return 0;
}

/* BindPointer for a fresh var (a handle or a pointer parameter). */
static void bind_pointer(Binder *b, Var *v, Expr *value, Path path)
{
	def_put(b, v, value, path);
	vec_push(&b->init, mk_bind(b->a, v, value));
}

/* ExprPathRenderer: an expected value in the words of the message: vars
 * by the path that defined them, plain integers, casts dropped. */
static void render(Binder *b, Buf *o, Expr *e)
{
	static const char *const infix[] = {
		[EX_ADD] = " + ", [EX_SUB] = " - ", [EX_MUL] = " * ", [EX_DIV] = " / ", [EX_MOD] = " % ",
	};
	static const char *const func[] = {
		[EX_FLOORDIV] = "floordiv", [EX_FLOORMOD] = "floormod", [EX_MIN] = "min", [EX_MAX] = "max",
	};
	switch (e->kind) {
	case EX_VAR: {
		Def *d = def_get(b, e->var);
		buf_puts(o, d && *d->path.text ? d->path.text : e->var->name);
		return;
	}
	case EX_INT:
		if (e->dt.code == DT_UINT)
			buf_printf(o, "%llu", (unsigned long long)e->i);
		else
			buf_printf(o, "%lld", (long long)e->i);
		return;
	case EX_FLOAT:
		buf_printf(o, "%g", e->f);
		return;
	case EX_CAST:
		render(b, o, e->bin.a);
		return;
	case EX_ADD: case EX_SUB: case EX_MUL: case EX_DIV: case EX_MOD:
		render(b, o, e->bin.a);
		buf_puts(o, infix[e->kind]);
		render(b, o, e->bin.b);
		return;
	case EX_FLOORDIV: case EX_FLOORMOD: case EX_MIN: case EX_MAX:
		buf_printf(o, "%s(", func[e->kind]);
		render(b, o, e->bin.a);
		buf_puts(o, ", ");
		render(b, o, e->bin.b);
		buf_putc(o, ')');
		return;
	default:
		tir_print_expr(o, e);
	}
}

/* RenderPendingAsserts, at Finalize: after every definition. */
static void render_pending(Binder *b)
{
	for (int i = 0; i < b->pending.n; i++) {
		Pending *p = b->pending.v[i];
		Buf o = {0};
		render(b, &o, p->arg);
		const char *parts[12];
		int n = 0;
		parts[n++] = "Invalid ";
		parts[n++] = p->path.text;
		if (p->path.index >= 0) {
			parts[n++] = " on argument #";
			parts[n++] = symf("%d", p->path.index);
		}
		parts[n++] = WHEN_CALLING;
		parts[n++] = b->sig;
		parts[n++] = "`,\n  expected ";
		parts[n++] = symn(o.s ? o.s : "", o.n);
		buf_free(&o);
		vec_push(&b->asserts, mk_assert(b, p->cond, "ValueError", parts, n));
	}
}

/* APIType: the TVMFFIAny field a scalar travels in. */
static DType api_type(DType t)
{
	return t.code == DT_FLOAT ? dt_make(DT_FLOAT, 64, 1) : DT_I64;
}

/* LoadTVMFFIAnyUnionValue for a scalar: the union read as its API type,
 * cast to t when they differ. */
static Expr *load_union(Binder *b, int i, DType t)
{
	DType api = api_type(t);
	Expr *v = struct_get_v(b->a, ty_prim(api), b->args, i, F_ANY_VALUE);
	return dt_eq(api, t) ? v : ex_cast(b->a, t, v);
}

static Expr *ti_is(Binder *b, Var *ti, int kind, int v)
{
	return op2(b->a, kind, ex_var(b->a, ti), pu_i32(b->a, v));
}

/* A handle argument: None, an opaque pointer, a DLTensor* or any object;
 * a Tensor object carries its DLTensor after the 24-byte object header. */
static Expr *decode_handle(Binder *b, int i, Var *ti)
{
	Arena *a = b->a;
	Expr *c = ti_is(b, ti, EX_EQ, TI_NONE);
	c = op2(a, EX_OR, c, ti_is(b, ti, EX_EQ, TI_OPAQUE_PTR));
	c = op2(a, EX_OR, c, ti_is(b, ti, EX_EQ, TI_DLTENSOR_PTR));
	c = op2(a, EX_OR, c, ti_is(b, ti, EX_GE, TI_STATIC_OBJECT_BEGIN));
	type_check(b, i, c, b->f->params[i].buf ? "Tensor" : "pointer");
	Expr *v = struct_get_v(a, pu_void_ptr(), b->args, i, F_ANY_VALUE);
	Expr *off[2] = {v, pu_i32(a, 24)};
	Expr *cell = pu_call(a, "tirx.handle_add_byte_offset", pu_void_ptr(), off, 2);
	Expr *ite[3] = {ti_is(b, ti, EX_EQ, TI_TENSOR), cell, v};
	return pu_call(a, "tirx.if_then_else", pu_void_ptr(), ite, 3);
}

static Expr *decode_scalar(Binder *b, int i, Var *ti, DType t)
{
	Arena *a = b->a;
	if (t.code == DT_BOOL) {
		type_check(b, i, op2(a, EX_OR, ti_is(b, ti, EX_EQ, TI_BOOL), ti_is(b, ti, EX_EQ, TI_INT)),
		           "boolean");
		return ex_cast(a, t, load_union(b, i, DT_I64));
	}
	if (dt_is_int(t)) {
		type_check(b, i, op2(a, EX_OR, ti_is(b, ti, EX_EQ, TI_INT), ti_is(b, ti, EX_EQ, TI_BOOL)),
		           "int");
		return load_union(b, i, t);
	}
	Expr *c = op2(a, EX_OR, ti_is(b, ti, EX_EQ, TI_FLOAT), ti_is(b, ti, EX_EQ, TI_INT));
	type_check(b, i, op2(a, EX_OR, c, ti_is(b, ti, EX_EQ, TI_BOOL)), "float");
	Expr *e = ex_new(a, EX_SELECT, t);
	e->sel.c = ti_is(b, ti, EX_EQ, TI_FLOAT);
	e->sel.t = load_union(b, i, t);
	e->sel.f = ex_cast(a, t, load_union(b, i, DT_I64));
	return e;
}

/* DecodeParam: the type index, its check, and the value. */
static void decode_param(Binder *b, int i)
{
	Arena *a = b->a;
	Param *p = &b->f->params[i];
	Var *ti = var_new(a, symf("%s.type_index", b->names[i]), ty_prim(DT_I32));
	vec_push(&b->init, mk_bind(a, ti, struct_get_v(a, ty_prim(DT_I32), b->args, i, F_ANY_TYPE_INDEX)));
	Path path = {i, b->names[i]};
	if (p->buf) {
		Var *h = var_new(a, symf("%s.handle", b->names[i]), pu_void_ptr());
		bind_pointer(b, h, decode_handle(b, i, ti), path);
		b->handles[i] = h;
		return;
	}
	Var *v = p->var;
	if (v->ty.kind == TY_PTR) {
		bind_pointer(b, v, reinterpret(a, v->ty, decode_handle(b, i, ti)), path);
		return;
	}
	DType t = v->dt;
	char d[32];
	if (v->ty.kind != TY_PRIM || dt_is_void(t) || t.code == DT_HANDLE) {
		diag_error(b->f->loc, "Packed union values must have primitive or pointer type, but "
		           "parameter '%s' has another type", v->name);
		b->failed = 1;
		return;
	}
	if (t.lanes != 1) {
		diag_error(b->f->loc, "Cannot pass vector type through packed API. (parameter '%s' "
		           "is %s)", v->name, dt_str(t, d));
		b->failed = 1;
		return;
	}
	if (t.code != DT_BOOL && !dt_is_int(t) && t.code != DT_FLOAT) {
		diag_error(b->f->loc, "Cannot pass a %s value through packed API (parameter '%s')",
		           dt_str(t, d), v->name);
		b->failed = 1;
		return;
	}
	bind_scalar(b, ex_var(a, v), decode_scalar(b, i, ti, t), path);
}

static DType index_type(const Buffer *buf)
{
	return buf->ndim ? buf->shape[0]->dt : DT_I64;
}

static int skips_dtype_check(DType t)
{
	return (t.code == DT_INT && (t.bits == 1 || t.bits == 4)) || (t.code == DT_UINT && t.bits == 4);
}

/* BindCompactStrides: when strides are given, they must be the compact
 * row-major ones (dimensions of extent 1 excepted). */
static void compact_strides(Binder *b, int i, Buffer *buf, Var *strides, Expr *is_null)
{
	Arena *a = b->a;
	DType st = index_type(buf);
	Expr *expect = ex_int(a, st, 1);
	Expr *cond = ex_int(a, DT_BOOL1, 1);
	if (buf->ndim == 0)
		return;
	Expr **conds = xmalloc((size_t)buf->ndim * sizeof *conds);
	for (int k = buf->ndim - 1, j = 0; k >= 0; k--, j++) {
		Expr *sv = arith_cast(a, st, struct_get_v(a, ty_prim(DT_I64), strides, k, F_INT64_ELEM));
		Expr *one = op2(a, EX_EQ, buf->shape[k], pu_i32(a, 1));
		conds[j] = op2(a, EX_OR, one, op2(a, EX_EQ, expect, sv));
		expect = op2(a, EX_MUL, expect, buf->shape[k]);
	}
	for (int j = 0; j < buf->ndim; j++)
		cond = op2(a, EX_AND, cond, conds[j]);
	free(conds);
	const char *parts[] = {"Mismatched ", buf->name, ".strides on argument #", symf("%d", i),
	                       WHEN_CALLING, b->sig, "`,\n  expected to be compact array"};
	Stmt *check = st_new(a, ST_IF, NOLOC);
	Expr *nn = ex_new(a, EX_NOT, is_null->dt);
	nn->bin.a = is_null;
	check->ifs.cond = nn;
	check->ifs.then = mk_assert(b, cond, "ValueError", parts, 7);
	vec_push(&b->asserts, check);
}

/* BindRegularStrides: explicit strides bind to the tensor's, or to the
 * compact ones when the tensor has none. */
static void regular_strides(Binder *b, int i, Buffer *buf, Var *shape, Var *strides, Expr *is_null)
{
	Arena *a = b->a;
	Expr *from_shape = pu_i32(a, 1);
	for (int k = buf->nstrides - 1; k >= 0; k--) {
		DType t = k < buf->ndim ? buf->shape[k]->dt : DT_I64;
		Expr *given = arith_cast(a, t, struct_get_v(a, ty_prim(DT_I64), strides, k, F_INT64_ELEM));
		Expr *x = from_shape, *y = given;
		const char *err = NULL;
		if (!arith_match_types(a, &x, &y, &err))
			die("MakePackedAPI: %s", err);
		Expr *ite[3] = {is_null, x, y};
		Expr *v = pu_call(a, "tirx.if_then_else", ty_prim(x->dt), ite, 3);
		Path p = {i, symf("%s.strides[%d]", buf->name, k)};
		Expr *sk = buf->strides[k];
		if (!dt_eq(sk->dt, v->dt))
			v = arith_cast(a, sk->dt, v);
		bind_scalar(b, sk, v, p);
		Expr *dim = arith_cast(a, t, struct_get_v(a, ty_prim(DT_I64), shape, k, F_INT64_ELEM));
		from_shape = op2(a, EX_MUL, from_shape, dim);
	}
}

/* DecodeParamDLTensor: checks the DLTensor behind handle h against the
 * buffer and binds its vars; returns the typed data pointer. */
static Expr *decode_tensor(Binder *b, int i, Buffer *buf, Var *h)
{
	Arena *a = b->a;
	const char *bn = buf->name;
	Sym idx = symf("%d", i);
	char d[32];

	type_check(b, i, op_not(a, isnullptr(a, ex_var(a, h))), "Tensor");
	emit_assert(b, op2(a, EX_EQ, pu_i32(a, buf->ndim), struct_get_v(a, ty_prim(DT_I32), h, 0, F_NDIM)),
	            "ValueError", "Mismatched ", bn, ".ndim on argument #", idx, WHEN_CALLING, b->sig,
	            "`,\n  expected ", symf("%d", buf->ndim), NULL);
	if (!skips_dtype_check(buf->dt)) {
		DType u8 = DT_U8, u16 = dt_make(DT_UINT, 16, 1);
		Expr *c = op2(a, EX_EQ, struct_get_v(a, ty_prim(u8), h, 0, F_CODE), ex_int(a, u8, buf->dt.code));
		c = op2(a, EX_AND, c,
		        op2(a, EX_EQ, struct_get_v(a, ty_prim(u8), h, 0, F_BITS), ex_int(a, u8, buf->dt.bits)));
		c = op2(a, EX_AND, c,
		        op2(a, EX_EQ, struct_get_v(a, ty_prim(u16), h, 0, F_LANES), ex_int(a, u16, buf->dt.lanes)));
		emit_assert(b, c, "TypeError", "Mismatched ", bn, ".dtype on argument #", idx, WHEN_CALLING,
		            b->sig, "`,\n  expected ", dt_str(buf->dt, d), NULL);
	}

	TType i64p = ty_ptr(DT_I64, sym("global"));
	Var *shape = var_new(a, symf("%s.%s_shape", b->fname, b->names[i]), i64p);
	vec_push(&b->init, mk_bind(a, shape, struct_get_v(a, i64p, h, 0, F_SHAPE)));
	for (int k = 0; k < buf->ndim && !skips_dtype_check(buf->dt); k++) {
		Expr *v = struct_get_v(a, ty_prim(DT_I64), shape, k, F_INT64_ELEM);
		Path p = {i, symf("%s.shape[%d]", bn, k)};
		bind_scalar(b, buf->shape[k], arith_cast(a, buf->shape[k]->dt, v), p);
	}

	Var *strides = var_new(a, symf("%s.%s_strides", b->fname, b->names[i]), i64p);
	vec_push(&b->init, mk_bind(a, strides, struct_get_v(a, i64p, h, 0, F_STRIDES)));
	Expr *is_null = isnullptr(a, ex_var(a, strides));
	if (buf->nstrides == 0)
		compact_strides(b, i, buf, strides, is_null);
	else
		regular_strides(b, i, buf, shape, strides, is_null);

	int bytes = dt_bytes(buf->dt);
	Path bo = {i, symf("%s.byte_offset", bn)};
	DType u64 = dt_make(DT_UINT, 64, 1);
	Expr *off = buf->elem_offset ? buf->elem_offset : ex_int(a, index_type(buf), 0);
	int64_t c;
	if (ex_is_const_int(off, &c)) {
		bind_scalar(b, ex_int(a, u64, c * bytes), struct_get_v(a, ty_prim(u64), h, 0, F_BYTE_OFFSET), bo);
	} else {
		Expr *q = op2(a, EX_DIV, struct_get_v(a, ty_prim(u64), h, 0, F_BYTE_OFFSET), ex_int(a, u64, bytes));
		if (bind_scalar(b, off, arith_cast(a, off->dt, q), bo) && buf->offset_factor > 1) {
			Expr *m = op2(a, EX_MOD, off, ex_int(a, off->dt, buf->offset_factor));
			Expr *ok = simplify_eq(a, m, ex_int(a, off->dt, 0));
			if (is_const(ok, 0)) {
				diag_error(b->f->loc, "Bind have an unmet assertion at %s", bo.text);
				b->failed = 1;
			} else if (!is_const(ok, 1)) {
				emit_assert(b, ok, "ValueError", "Misaligned Tensor data on argument #", idx,
				            WHEN_CALLING, b->sig, "`,\n  expected data alignment=",
				            symf("%d", buf->offset_factor * bytes), " bytes", NULL);
			}
		}
	}

	int64_t dt = b->dev_type->i;
	Expr *got = struct_get_v(a, ty_prim(DT_I32), h, 0, F_DEVICE_TYPE);
	Expr *same = simplify_eq(a, pu_i32(a, dt), got);
	if (!is_const(same, 1))
		emit_assert(b, same, "ValueError", "Mismatched ", bn, ".device_type on argument #", idx,
		            WHEN_CALLING, b->sig, "`,\n  expected ", device_name((int)dt), NULL);
	Path dp = {i, symf("%s.device_id", bn)};
	bind_scalar(b, ex_var(a, b->dev_id), struct_get_v(a, ty_prim(DT_I32), h, 0, F_DEVICE_ID), dp);

	Expr *data = reinterpret(a, buf_data_type(buf), struct_get_v(a, pu_void_ptr(), h, 0, F_DATA));
	Expr *size = ex_int(a, index_type(buf), 1);
	for (int k = 0; k < buf->ndim; k++)
		size = op2(a, EX_MUL, size, buf->shape[k]);
	Expr *empty = arith_cast(a, DT_BOOL1, op2(a, EX_EQ, size, pu_i32(a, 0)));
	Expr *ok = op2(a, EX_OR, empty, op_not(a, isnullptr(a, data)));
	const char *parts[] = {bn, " data pointer is NULL on argument #", idx, WHEN_CALLING, b->sig,
	                       "`,\n  expected non-NULL data pointer"};
	vec_push(&b->asserts, mk_assert(b, ok, "ValueError", parts, 6));
	return data;
}

/* DecodeAllParams: scalars and handles first, then the tensors (whose
 * shapes may use scalars of later parameters).  The argument count and
 * the args pointer are checked before anything is loaded. */
static void decode_all(Binder *b)
{
	Arena *a = b->a;
	Func *f = b->f;
	Sym n = symf("%d", f->nparams);
	emit_assert(b, op2(a, EX_EQ, ex_var(a, b->num_args), pu_i32(a, f->nparams)), "TypeError",
	            "Expected ", n, " arguments", WHEN_CALLING, b->sig, "`", NULL);
	if (f->nparams > 0)
		emit_assert(b, op_not(a, isnullptr(a, ex_var(a, b->args))), "TypeError",
		            "args pointer is NULL", WHEN_CALLING, b->sig, "`", NULL);
	for (int i = 0; i < f->nparams && !b->failed; i++)
		decode_param(b, i);
	for (int i = 0; i < f->nparams && !b->failed; i++) {
		Buffer *buf = f->params[i].buf;
		if (!buf)
			continue;
		Expr *data = decode_tensor(b, i, buf, b->handles[i]);
		Stmt *decl = st_new(a, ST_DECL, NOLOC);
		decl->decl.buf = buf;
		decl->decl.data = data;
		vec_push(&b->decls, decl);
		Obj *node = obj_new(a, OB_BUFFER);
		node->buf = buf;
		vec_push(&b->decls, mk_attr(a, node, "storage_alignment", pu_i32(a, buf->align)));
	}
	render_pending(b);
}

/* MergeNest: flat statements go first in a sequence, attrs (with no body
 * yet) take the rest as their body. */
static Stmt *merge_nest(Arena *a, Vec *items, Stmt *inner)
{
	Stmt *body = inner;
	int end = items->n;
	for (int i = items->n - 1; i >= -1; i--) {
		Stmt *s = i >= 0 ? items->v[i] : NULL;
		if (s && s->kind != ST_ATTR)
			continue;
		int nflat = end - (i + 1);
		if (nflat > 0) {
			Stmt **seq = xmalloc((size_t)(nflat + 1) * sizeof *seq);
			memcpy(seq, items->v + i + 1, (size_t)nflat * sizeof *seq);
			seq[nflat] = body;
			body = st_seq(a, seq, nflat + 1);
			free(seq);
		}
		if (s) {
			s->attr.body = body;
			body = s;
		}
		end = i;
	}
	return body;
}

/* ------------------------------------------------------ ReturnRewriter */

typedef struct Ret {
	Var *result;
	int parallel; /* depth of parallel loops */
	int failed;
} Ret;

/* The FFI type index and the value a returned value travels as. */
static int ffi_value(Arena *a, Expr *v, Expr **out, int *type_index)
{
	DType t = v->dt;
	if (t.code == DT_HANDLE && !dt_is_void(t)) {
		*type_index = TI_OPAQUE_PTR;
		*out = v;
	} else if (t.code == DT_BOOL && t.lanes == 1) {
		*type_index = TI_BOOL;
		*out = ex_cast(a, DT_I64, v);
	} else if (dt_is_int(t) && t.lanes == 1) {
		*type_index = TI_INT;
		*out = ex_cast(a, DT_I64, v);
	} else if (t.code == DT_FLOAT && t.lanes == 1) {
		*type_index = TI_FLOAT;
		*out = ex_cast(a, dt_make(DT_FLOAT, 64, 1), v);
	} else if (dt_is_void(t)) {
		*type_index = TI_NONE;
		*out = v;
	} else {
		return 0;
	}
	return 1;
}

static Stmt *ret_stmt(Mutator *m, Stmt *s)
{
	Ret *r = m->data;
	Arena *a = m->a;
	if (s->kind == ST_FOR && s->loop.kind == FOR_PARALLEL) {
		r->parallel++;
		Stmt *body = mut_stmt(m, s->loop.body);
		r->parallel--;
		if (body == s->loop.body)
			return s;
		Stmt *n = st_new(a, ST_FOR, s->loc);
		*n = *s;
		n->loop.body = body;
		return n;
	}
	if (s->kind != ST_RETURN)
		return NULL;
	if (r->parallel) {
		diag_error(s->loc, "Return cannot be used in parallel scope.");
		r->failed = 1;
		return s;
	}
	Expr *v = s->ret.value;
	int ti = TI_NONE;
	if (!v) {
		v = ex_int(a, DT_I64, 0); /* a bare return: None */
	} else if (!ffi_value(a, v, &v, &ti)) {
		char d[32];
		diag_error(s->loc, "data type %s not supported yet", dt_str(s->ret.value->dt, d));
		r->failed = 1;
		return s;
	}
	Expr *res = ex_var(a, r->result);
	Stmt *seq[4] = {
		struct_set(a, res, 0, F_ANY_TYPE_INDEX, pu_i32(a, ti)),
		struct_set(a, res, 0, F_ANY_PADDING, pu_i32(a, 0)),
		struct_set(a, res, 0, F_ANY_VALUE, v),
		mk_return(a, pu_i32(a, 0)),
	};
	for (int i = 0; i < 4; i++)
		seq[i]->loc = s->loc;
	return st_seq(a, seq, 4);
}

/* ------------------------------------------------ SubroutineCallRewriter */

/* Calls of functions that take the packed API become tvm_call_cpacked of
 * their symbol, with a trailing null handle (the old cpacked convention's
 * resource handle). */
static Expr *cpacked_expr(Mutator *m, Expr *e)
{
	const PtrMap *packed = m->data;
	if (e->kind != EX_CALL || e->call.op)
		return NULL;
	int n = e->call.nargs, changed = 0;
	Expr **args = xmalloc((size_t)(n + 2) * sizeof *args);
	for (int i = 0; i < n; i++) {
		args[i + 1] = mut_expr(m, e->call.args[i]);
		changed |= args[i + 1] != e->call.args[i];
	}
	Sym symbol = pmap_get(packed, e->call.fn);
	Expr *r = e;
	if (symbol) {
		args[0] = ex_str(m->a, symbol);
		args[n + 1] = reinterpret(m->a, pu_void_ptr(), ex_int(m->a, dt_make(DT_UINT, 64, 1), 0));
		r = pu_call(m->a, "tirx.tvm_call_cpacked", e->call.rty, args, n + 2);
	} else if (changed) {
		r = ex_new(m->a, EX_CALL, e->dt);
		*r = *e;
		r->call.args = ar_dup(m->a, args + 1, (size_t)n * sizeof *args);
	}
	free(args);
	return r;
}

/* ------------------------------------------------------------ the pass */

/* RequiresPackedAPI: the symbol of a public function not yet lowered. */
static Sym requires_packed_api(const Func *f)
{
	Obj *cc = obj_dict_get(f->attrs, "calling_conv");
	if (cc && (cc->kind == OB_INT || cc->kind == OB_BOOL) && cc->i != 0)
		return NULL;
	return func_global_symbol(f);
}

static void attrs_str(Buf *o, const Obj *d)
{
	buf_putc(o, '{');
	for (int i = 0; d && i < d->dict.n; i++) {
		const Obj *k = d->dict.keys[i], *v = d->dict.vals[i];
		buf_printf(o, "%s\"%s\": ", i ? ", " : "", k->kind == OB_STR ? k->s : "?");
		if (v->kind == OB_STR)
			buf_printf(o, "\"%s\"", v->s);
		else if (v->kind == OB_INT)
			buf_printf(o, "%lld", (long long)v->i);
		else if (v->kind == OB_BOOL)
			buf_puts(o, v->i ? "True" : "False");
		else
			buf_puts(o, "...");
	}
	buf_putc(o, '}');
}

static int lower_func(Module *m, Func *f, Sym name)
{
	Arena *a = m->arena;
	Obj *target = func_target(f);
	if (!target) {
		Buf o = {0};
		attrs_str(&o, f->attrs);
		diag_error(f->loc, "MakePackedAPI required the function to be annotated with "
		           "tvm::attr::kTarget (target), but the function only has attributes %s", o.s);
		buf_free(&o);
		return 1;
	}
	Obj *host = target_host(a, target);
	if (!host)
		return 0; /* already lowered */
	int dev_type = target_device_type(target);

	Binder b = {0};
	b.a = a;
	b.f = f;
	b.fname = name;
	b.args = var_new(a, sym("args"), pu_void_ptr());
	b.num_args = var_new(a, sym("num_args"), ty_prim(DT_I32));
	b.dev_type = pu_i32(a, dev_type);
	b.dev_id = var_new(a, sym("dev_id"), ty_prim(DT_I32));
	b.names = xcalloc((size_t)f->nparams + 1, sizeof *b.names);
	b.handles = xcalloc((size_t)f->nparams + 1, sizeof *b.handles);
	for (int i = 0; i < f->nparams; i++)
		b.names[i] = f->params[i].buf ? f->params[i].buf->name : f->params[i].var->name;
	b.sig = signature(&b);
	Var *self = var_new(a, sym("self_handle"), pu_void_ptr());
	Var *result = var_new(a, sym("result"), pu_void_ptr());

	decode_all(&b);
	int failed = b.failed;
	int need_set_device = def_get(&b, b.dev_id) != NULL;

	Ret r = {result, 0, 0};
	Mutator rm = {.a = a, .stmt = ret_stmt, .data = &r};
	Stmt *body = failed ? NULL : mut_stmt(&rm, f->body);
	mut_done(&rm);
	failed |= r.failed;

	if (!failed) {
		Stmt *cs = mk_attr(a, obj_int(a, 0), "compute_scope", ex_str(a, symf("%s_compute_", name)));
		cs->attr.body = body;
		cs->loc = f->body ? f->body->loc : f->loc;
		Vec seq_check = {0};
		Stmt *tail[3];
		int nt = 0;
		if (need_set_device) {
			vec_push(&seq_check, mk_attr(a, obj_str(a, sym("default")), "device_id", ex_var(a, b.dev_id)));
			vec_push(&seq_check, mk_attr(a, obj_str(a, sym("default")), "device_type", pu_i32(a, dev_type)));
			if (dev_type != DL_CPU) {
				Expr *args[3] = {ex_str(a, sym("__tvm_set_device")), pu_i32(a, dev_type), ex_var(a, b.dev_id)};
				tail[nt++] = mk_eval(a, pu_call(a, "tirx.tvm_call_packed", ty_prim(DT_I32), args, 3));
			}
		}
		tail[nt++] = cs;
		tail[nt++] = mk_return(a, pu_i32(a, 0));
		body = st_seq(a, tail, nt);
		body = merge_nest(a, &b.decls, body);
		body = merge_nest(a, &b.asserts, body);
		body = merge_nest(a, &seq_check, body);
		body = merge_nest(a, &b.init, body);
		vec_free(&seq_check);

		/* Anything still free was neither a parameter nor decoded. */
		Vec vars = {0};
		Buf o = {0};
		free_vars(body, &vars, NULL);
		for (int i = 0; i < vars.n; i++) {
			Var *v = vars.v[i];
			if (v != self && v != b.args && v != b.num_args && v != result)
				buf_printf(&o, "%s%s", o.n ? ", " : "", v->name);
		}
		if (o.n) {
			diag_error(f->loc, "In PrimFunc %s variables [%s] are used, but are not passed in "
			           "as API arguments", name, o.s);
			failed = 1;
		}
		buf_free(&o);
		vec_free(&vars);
	}

	if (!failed) {
		Param *ps = ar_alloc(a, 4 * sizeof *ps);
		ps[0].var = self, ps[1].var = b.args, ps[2].var = b.num_args, ps[3].var = result;
		f->params = ps;
		f->nparams = 4;
		f->body = body;
		f->ret = ty_prim(DT_I32);
		Obj *attrs = obj_dict_set(a, f->attrs, "calling_conv", obj_int(a, 1));
		attrs = obj_dict_set(a, attrs, "target", host);
		f->attrs = obj_dict_set(a, attrs, "global_symbol", obj_str(a, symf("__tvm_ffi_%s", name)));
	}

	for (int i = 0; i < b.owned.n; i++)
		free(b.owned.v[i]);
	vec_free(&b.owned);
	vec_free(&b.pending);
	vec_free(&b.init);
	vec_free(&b.asserts);
	vec_free(&b.decls);
	pmap_free(&b.defs);
	free(b.names);
	free(b.handles);
	return failed;
}

int pass_make_packed_api(Module **mp, PassCtx *cx)
{
	Module *m = *mp;
	(void)cx;
	PtrMap packed = {0}; /* function name -> symbol */
	Sym *symbols = xcalloc((size_t)m->nfuncs + 1, sizeof *symbols);
	for (int i = 0; i < m->nfuncs; i++) {
		symbols[i] = requires_packed_api(m->funcs[i]);
		if (symbols[i])
			pmap_put(&packed, m->funcs[i]->name, (void *)symbols[i]);
	}
	int failed = 0;
	for (int i = 0; i < m->nfuncs; i++) {
		/* a copy: functions, like nodes, are not changed in place */
		Func *f = m->funcs[i] = ar_dup(m->arena, m->funcs[i], sizeof *f);
		Mutator cm = {.a = m->arena, .expr = cpacked_expr, .data = &packed};
		f->body = mut_stmt(&cm, f->body);
		mut_done(&cm);
		if (symbols[i])
			failed |= lower_func(m, f, symbols[i]);
	}
	pmap_free(&packed);
	free(symbols);
	return failed;
}
