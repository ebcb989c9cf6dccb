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
 *              A tensor's dtype is checked as DLPack spells it: bool is
 *              code 6 with 8 bits (pu_dl_bits), not the IR's 1 bit.
 * Runs after:  LowerDeviceKernelLaunch (so that kernels are skipped).
 *
 * The storage_alignment attr of a tensor argument sits where TVM puts it:
 * right after that argument's bindings, wrapping the rest (later arguments,
 * the device attrs, the checks, the DeclBuffers).  TVM names the argument's
 * own buffer there, before its DeclBuffer; our scoping rules want a buffer
 * declared before use, so the node is what TVM's printed text reads back
 * as: a copy of the buffer that nothing declares (printed `A = T.Buffer(..)`
 * before the attr), with a free stand-in for each shape var that a later
 * argument binds (see free_buffer).  That stand-in is a deviation: TVM's
 * node names the var itself, before the Bind that defines it, which its own
 * text reads back as another program (docs/compatibility.md).  A nested
 * sequence is flattened (our IR has no nested sequences; TVM's text does
 * not carry them either).
 *
 * Cost: one read-only scan per function finds calls of packed functions
 * and returns; the call and return rewrites run only where it finds some.
 * The prologue is built from Syms, ops and constants looked up once per
 * run, and the free-var check walks the old body, not the prologue (see
 * may_have_free_vars).  The pass manager may run it chunk of functions by
 * chunk (per_function 2): which functions take the packed API is read from
 * the whole module once, before any is lowered, and kept in pass_state. */
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

/* ------------------------------------------------- per-run constants */

/* Every constant string the pass puts into the IR (message parts, names,
 * attr keys), interned once per run: the binder emits about forty checks
 * per function, each with a handful of parts. */
#define MPA_SYMS(X) \
	X(when_calling, " when calling:\n  `") \
	X(type_error, "TypeError") \
	X(value_error, "ValueError") \
	X(mismatched_type, "Mismatched type on argument #") \
	X(expected, "`,\n  expected ") \
	X(mismatched, "Mismatched ") \
	X(on_argument, " on argument #") \
	X(expected_to_match, "`,\n  expected to match ") \
	X(expected_matching, "`,\n  expected matching value") \
	X(invalid, "Invalid ") \
	X(ndim_on, ".ndim on argument #") \
	X(dtype_on, ".dtype on argument #") \
	X(misaligned, "Misaligned Tensor data on argument #") \
	X(expected_alignment, "`,\n  expected data alignment=") \
	X(bytes, " bytes") \
	X(device_type_on, ".device_type on argument #") \
	X(null_data, " data pointer is NULL on argument #") \
	X(expected_non_null, "`,\n  expected non-NULL data pointer") \
	X(expected_count, "Expected ") \
	X(arguments, " arguments") \
	X(backquote, "`") \
	X(null_args, "args pointer is NULL") \
	X(strides_on, ".strides on argument #") \
	X(expected_compact, "`,\n  expected to be compact array") \
	X(tensor, "Tensor") \
	X(pointer, "pointer") \
	X(boolean, "boolean") \
	X(int_kind, "int") \
	X(float_kind, "float") \
	X(storage_alignment, "storage_alignment") \
	X(compute_scope, "compute_scope") \
	X(device_id, "device_id") \
	X(device_type, "device_type") \
	X(dflt, "default") \
	X(set_device, "__tvm_set_device") \
	X(global, "global") \
	X(args, "args") \
	X(num_args, "num_args") \
	X(dev_id, "dev_id") \
	X(self_handle, "self_handle") \
	X(result, "result") \
	X(calling_conv, "calling_conv") \
	X(target, "target") \
	X(global_symbol, "global_symbol")

/* The ops the pass builds, looked up once per run. */
#define MPA_OPS(X) \
	X(struct_get, "tirx.tvm_struct_get") \
	X(struct_set, "tirx.tvm_struct_set") \
	X(isnullptr, "tirx.isnullptr") \
	X(reinterpret, "tirx.reinterpret") \
	X(add_byte_offset, "tirx.handle_add_byte_offset") \
	X(if_then_else, "tirx.if_then_else") \
	X(call_cpacked, "tirx.tvm_call_cpacked") \
	X(call_packed, "tirx.tvm_call_packed")

enum {
	NUM_SYMS = 64,  /* "0" .. "63" are kept once interned */
	NUM_I32 = 64,   /* and the int32 constants 0 .. 63 once looked up */
	NUM_DTYPES = 16, /* dtype names kept */
};

static struct {
#define X(field, text) Sym field;
	MPA_SYMS(X)
#undef X
#define X(field, name) const Op *field;
	MPA_OPS(X)
#undef X
	TType void_ptr, i64_ptr; /* T.handle, T.handle("int64") */
	Sym nums[NUM_SYMS];      /* decimal Syms, filled in on first use */
	Arena *arena;            /* the module's: i32s are its constants */
	Expr *i32s[NUM_I32];     /* int32 constants, filled in on first use */
	/* Immutable nodes every lowered function shares: the attr nodes 0 and
	 * "default", the calling_conv 1, the key strings of the new attrs and
	 * the "__tvm_set_device" name. */
	Obj *zero, *dflt_node, *one, *key_nodes[3];
	Expr *set_device_str;
	DType dtypes[NUM_DTYPES]; /* dtype -> its name (dt_str formats with snprintf) */
	Sym dtype_names[NUM_DTYPES];
	int ndtypes;
	Buf scratch;             /* symcat's buffer */
} K;

static void consts_init(Arena *a)
{
	memset(&K.nums, 0, sizeof K.nums);
	memset(&K.i32s, 0, sizeof K.i32s);
	K.arena = a;
	K.ndtypes = 0;
#define X(field, text) K.field = sym(text);
	MPA_SYMS(X)
#undef X
#define X(field, name) K.field = op_get(name);
	MPA_OPS(X)
#undef X
	K.void_ptr = ty_ptr(DT_VOID, K.global);
	K.i64_ptr = ty_ptr(DT_I64, K.global);
	K.zero = obj_int(a, 0);
	K.one = obj_int(a, 1);
	K.dflt_node = obj_str(a, K.dflt);
	K.key_nodes[0] = obj_str(a, K.calling_conv);
	K.key_nodes[1] = obj_str(a, K.target);
	K.key_nodes[2] = obj_str(a, K.global_symbol);
	K.set_device_str = ex_str(a, K.set_device);
}

/* ------------------------------------------------------------ helpers */

/* u in decimal, after a '-' when neg, into tmp (24 bytes); returns the
 * first character. */
static char *fmt_dec(char tmp[24], uint64_t u, int neg)
{
	char *s = tmp + 23;
	*s = 0;
	do
		*--s = (char)('0' + u % 10);
	while (u /= 10);
	if (neg)
		*--s = '-';
	return s;
}

static char *fmt_int(char tmp[24], int64_t v)
{
	return fmt_dec(tmp, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}

/* The decimal Sym of v (argument indexes, counts: "%d" in the messages). */
static Sym num_sym(int64_t v)
{
	if (v >= 0 && v < NUM_SYMS && K.nums[v])
		return K.nums[v];
	char tmp[24];
	Sym s = sym(fmt_int(tmp, v));
	if (v >= 0 && v < NUM_SYMS)
		K.nums[v] = s;
	return s;
}

/* The int32 constant v of the module's arena (pu_i32, without its lookup
 * for the small values every check uses). */
static Expr *i32(Arena *a, int64_t v)
{
	if (a != K.arena || v < 0 || v >= NUM_I32)
		return pu_i32(a, v);
	if (!K.i32s[v])
		K.i32s[v] = pu_i32(a, v);
	return K.i32s[v];
}

/* dt_str's name of t, interned. */
static Sym dt_sym(DType t)
{
	for (int i = 0; i < K.ndtypes; i++)
		if (dt_eq(K.dtypes[i], t))
			return K.dtype_names[i];
	char d[32];
	Sym s = sym(dt_str(t, d));
	if (K.ndtypes < NUM_DTYPES) {
		K.dtypes[K.ndtypes] = t;
		K.dtype_names[K.ndtypes++] = s;
	}
	return s;
}

/* Interns the concatenation of the NULL-terminated strings (names made
 * from names: no printf on this path). */
static Sym symcat(const char *s, ...)
{
	char small[128];
	size_t n = 0;
	Buf *o = &K.scratch; /* once longer than small */
	va_list ap;
	o->n = 0;
	va_start(ap, s);
	for (; s; s = va_arg(ap, const char *)) {
		size_t k = strlen(s);
		if (n + k <= sizeof small && !o->n) {
			memcpy(small + n, s, k);
		} else {
			if (!o->n)
				buf_put(o, small, n);
			buf_put(o, s, k);
		}
		n += k;
	}
	va_end(ap);
	Sym r = o->n ? symn(o->s, o->n) : symn(small, n);
	o->n = 0;
	return r;
}

static Expr *struct_get(Arena *a, TType ty, Expr *h, int index, int field)
{
	Expr *args[3] = {h, i32(a, index), i32(a, field)};
	return ex_call(a, K.struct_get, ty, args, 3);
}

static Expr *struct_get_v(Arena *a, TType ty, Var *h, int index, int field)
{
	return struct_get(a, ty, ex_var(a, h), index, field);
}

static Expr *isnullptr(Arena *a, Expr *x)
{
	return ex_call(a, K.isnullptr, ty_prim(DT_BOOL1), &x, 1);
}

static Expr *reinterpret(Arena *a, TType ty, Expr *x)
{
	return ex_call(a, K.reinterpret, ty, &x, 1);
}

/* The operators of TVM's C++ API (a == b, a && b, !a): typed and folded as
 * the parser folds them.  Operands built here always type-check. */
static Expr *op2(Arena *a, int kind, Expr *x, Expr *y)
{
	/* The common case without arith_binary's checks: a comparison or a
	 * logical op of operands of one dtype that do not fold (a comparison
	 * folds two constants, and/or fold any constant) is the plain node. */
	int cx = x->kind == EX_INT || x->kind == EX_FLOAT, cy = y->kind == EX_INT || y->kind == EX_FLOAT;
	if (dt_eq(x->dt, y->dt) && !dt_is_void(x->dt)) {
		if (kind >= EX_EQ && kind <= EX_GE && !(cx && cy) &&
		    (x->dt.code != DT_HANDLE || kind == EX_EQ || kind == EX_NE))
			return ex_bin(a, kind, x, y);
		if ((kind == EX_AND || kind == EX_OR) && !cx && !cy && x->dt.code == DT_BOOL)
			return ex_bin(a, kind, x, y);
	}
	return pu_arith(a, "MakePackedAPI", kind, x, y);
}

static Expr *op_not(Arena *a, Expr *x)
{
	const char *err = NULL;
	Expr *e = arith_not(a, x, &err);
	if (!e)
		die("MakePackedAPI: %s", err);
	return e;
}

/* An AttrStmt whose body is filled in later (merge_nest). */
static Stmt *mk_attr(Arena *a, Obj *node, Sym key, Expr *value)
{
	Stmt *s = st_new(a, ST_ATTR, NOLOC);
	s->attr.node = node;
	s->attr.key = key;
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
	Expr *args[4] = {h, i32(a, index), i32(a, field), value};
	return st_eval(a, ex_call(a, K.struct_set, ty_prim(DT_I32), args, 4));
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

/* One Binder serves every function of a run: its arrays, vectors and map
 * are reset per function (lower_func), not freed, so that decoding a
 * function costs no malloc once they have grown. */
typedef struct Binder {
	Arena *a;
	Func *f;
	Sym fname;    /* the global symbol before the prefix */
	Var *args;    /* the packed args */
	Var *num_args;
	Expr *dev_type; /* int32 constant */
	Sym dev_name;   /* its DLDeviceType2Str */
	Var *dev_id;
	Sym sig;      /* "main(A: Tensor([1024], float32), n: int32)" */
	Sym *names;   /* per parameter: its var or buffer name */
	Var **handles; /* per buffer parameter: the DLTensor handle */
	Sym **tensor_check; /* per parameter: the parts of its "expected Tensor" check */
	int cap_params;
	Vec init, asserts, decls, nest;
	PtrMap defs;  /* Var -> 1 + index into defv */
	PtrMap later; /* var bound after a storage_alignment attr names it -> its free stand-in */
	PtrMap body_defs; /* scratch of may_have_free_vars */
	Def *defv;
	int ndefs, cap_defs;
	Pending *pending;
	int npending, cap_pending;
	int failed;
} Binder;

/* An AssertStmt with the message parts given (Syms, copied). */
static Stmt *mk_assert_arr(Binder *b, Expr *cond, Sym kind, Sym *parts, int n)
{
	Stmt *s = st_new(b->a, ST_ASSERT, NOLOC);
	s->assert.cond = cond;
	s->assert.kind = kind;
	s->assert.parts = parts;
	s->assert.nparts = n;
	return s;
}

static Stmt *mk_assert(Binder *b, Expr *cond, Sym kind, const Sym *parts, int n)
{
	Sym *p = ar_alloc(b->a, (size_t)(n ? n : 1) * sizeof(Sym));
	memcpy(p, parts, (size_t)n * sizeof(Sym));
	return mk_assert_arr(b, cond, kind, p, n);
}

/* EmitAssert: a check that must run before later loads (into init_nest).
 * The parts are Syms, ending with NULL. */
static void emit_assert(Binder *b, Expr *cond, Sym kind, ...)
{
	Sym parts[16];
	int n = 0;
	Sym p;
	va_list ap;
	va_start(ap, kind);
	while ((p = va_arg(ap, Sym)) != NULL) {
		if (n == 16)
			die("MakePackedAPI: too many message parts");
		parts[n++] = p;
	}
	va_end(ap);
	vec_push(&b->init, mk_assert(b, cond, kind, parts, n));
}

/* The type check of argument i; the two "expected Tensor" checks of a
 * buffer parameter share their (immutable) parts. */
static void type_check(Binder *b, int i, Expr *cond, Sym expected)
{
	Sym parts[6] = {K.mismatched_type, num_sym(i), K.when_calling, b->sig, K.expected, expected};
	if (expected != K.tensor) {
		vec_push(&b->init, mk_assert(b, cond, K.type_error, parts, 6));
		return;
	}
	if (!b->tensor_check[i]) {
		b->tensor_check[i] = ar_alloc(b->a, sizeof parts);
		memcpy(b->tensor_check[i], parts, sizeof parts);
	}
	vec_push(&b->init, mk_assert_arr(b, cond, K.type_error, b->tensor_check[i], 6));
}

/* The signature TVM prints in every message. */
static void type_str(Buf *o, TType t)
{
	if (t.kind == TY_PTR) {
		if (dt_is_void(t.dt)) {
			if (t.scope == K.global) {
				buf_puts(o, "T.handle");
			} else {
				buf_puts(o, "T.handle(storage_scope=\"");
				buf_puts(o, t.scope);
				buf_puts(o, "\")");
			}
		} else {
			buf_puts(o, "T.handle(\"");
			buf_puts(o, dt_sym(t.dt));
			buf_puts(o, "\", \"");
			buf_puts(o, t.scope);
			buf_puts(o, "\")");
		}
	} else if (t.kind == TY_TENSORMAP) {
		buf_puts(o, "T.TensorMap()");
	} else {
		buf_puts(o, dt_sym(ty_dtype(t)));
	}
}

static Sym signature(Binder *b)
{
	Buf *o = &K.scratch;
	char tmp[24];
	o->n = 0;
	buf_puts(o, b->fname);
	buf_putc(o, '(');
	for (int i = 0; i < b->f->nparams; i++) {
		Param *p = &b->f->params[i];
		if (i)
			buf_puts(o, ", ");
		if (p->buf) {
			buf_puts(o, p->buf->name);
			buf_puts(o, ": Tensor([");
			for (int k = 0; k < p->buf->ndim; k++) {
				Expr *e = p->buf->shape[k];
				if (k)
					buf_puts(o, ", ");
				if (e->kind == EX_VAR)
					buf_puts(o, *e->var->name ? e->var->name : "v");
				else if (e->kind == EX_INT && dt_eq(e->dt, DT_I32))
					buf_puts(o, fmt_int(tmp, e->i)); /* as the printer prints it */
				else
					tir_print_expr(o, e);
			}
			buf_puts(o, "], ");
			buf_puts(o, dt_sym(p->buf->dt));
			buf_putc(o, ')');
		} else {
			buf_puts(o, p->var->name);
			buf_puts(o, ": ");
			type_str(o, p->var->ty);
		}
	}
	buf_putc(o, ')');
	return symn(o->s, o->n);
}

static Def *def_get(Binder *b, Var *v)
{
	intptr_t k = (intptr_t)pmap_get(&b->defs, v);
	return k ? &b->defv[k - 1] : NULL;
}

static void def_put(Binder *b, Var *v, Expr *value, Path path)
{
	if (b->ndefs == b->cap_defs) {
		b->cap_defs = b->cap_defs ? 2 * b->cap_defs : 16;
		b->defv = xrealloc(b->defv, (size_t)b->cap_defs * sizeof *b->defv);
	}
	b->defv[b->ndefs] = (Def){value, path};
	pmap_put(&b->defs, v, (void *)(intptr_t)++b->ndefs);
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
			vec_push(&b->init, st_bind(a, arg->var, value));
			return 1;
		}
		Expr *c = simplify_eq(a, d->value, value);
		if (is_const(c, 0)) {
			diag_error(b->f->loc, "Bind have an unmet assertion at %s", path.text);
			b->failed = 1;
		} else if (!is_const(c, 1)) {
			Sym parts[12];
			int n = 0;
			parts[n++] = K.mismatched;
			parts[n++] = path.text;
			if (path.index >= 0) {
				parts[n++] = K.on_argument;
				parts[n++] = num_sym(path.index);
			}
			parts[n++] = K.when_calling;
			parts[n++] = b->sig;
			if (*d->path.text && d->path.text != path.text) {
				parts[n++] = K.expected_to_match;
				parts[n++] = d->path.text;
			} else {
				parts[n++] = K.expected_matching;
			}
			vec_push(&b->asserts, mk_assert(b, c, K.value_error, parts, n));
		}
		return 0;
	}
	Expr *c = simplify_eq(a, arg, value);
	if (is_const(c, 0)) {
		diag_error(b->f->loc, "Bind have an unmet assertion at %s", path.text);
		b->failed = 1;
	} else if (!is_const(c, 1)) {
		if (b->npending == b->cap_pending) {
			b->cap_pending = b->cap_pending ? 2 * b->cap_pending : 16;
			b->pending = xrealloc(b->pending, (size_t)b->cap_pending * sizeof *b->pending);
		}
		b->pending[b->npending++] = (Pending){c, arg, path};
	}
	return 0;
}

/* BindPointer for a fresh var (a handle or a pointer parameter). */
static void bind_pointer(Binder *b, Var *v, Expr *value, Path path)
{
	def_put(b, v, value, path);
	vec_push(&b->init, st_bind(b->a, v, value));
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
	char tmp[24];
	switch (e->kind) {
	case EX_VAR: {
		Def *d = def_get(b, e->var);
		buf_puts(o, d && *d->path.text ? d->path.text : e->var->name);
		return;
	}
	case EX_INT:
		if (e->dt.code == DT_UINT)
			buf_puts(o, fmt_dec(tmp, (uint64_t)e->i, 0));
		else
			buf_puts(o, fmt_int(tmp, e->i));
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
		buf_puts(o, func[e->kind]);
		buf_putc(o, '(');
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
	for (int i = 0; i < b->npending; i++) {
		Pending *p = &b->pending[i];
		Buf *o = &K.scratch;
		o->n = 0;
		render(b, o, p->arg);
		Sym parts[12];
		int n = 0;
		parts[n++] = K.invalid;
		parts[n++] = p->path.text;
		if (p->path.index >= 0) {
			parts[n++] = K.on_argument;
			parts[n++] = num_sym(p->path.index);
		}
		parts[n++] = K.when_calling;
		parts[n++] = b->sig;
		parts[n++] = K.expected;
		parts[n++] = symn(o->s ? o->s : "", o->n);
		vec_push(&b->asserts, mk_assert(b, p->cond, K.value_error, parts, n));
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
	return op2(b->a, kind, ex_var(b->a, ti), i32(b->a, v));
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
	type_check(b, i, c, b->f->params[i].buf ? K.tensor : K.pointer);
	Expr *v = struct_get_v(a, K.void_ptr, b->args, i, F_ANY_VALUE);
	Expr *off[2] = {v, i32(a, 24)};
	Expr *cell = ex_call(a, K.add_byte_offset, K.void_ptr, off, 2);
	Expr *ite[3] = {ti_is(b, ti, EX_EQ, TI_TENSOR), cell, v};
	return ex_call(a, K.if_then_else, K.void_ptr, ite, 3);
}

static Expr *decode_scalar(Binder *b, int i, Var *ti, DType t)
{
	Arena *a = b->a;
	if (t.code == DT_BOOL) {
		type_check(b, i, op2(a, EX_OR, ti_is(b, ti, EX_EQ, TI_BOOL), ti_is(b, ti, EX_EQ, TI_INT)),
		           K.boolean);
		return ex_cast(a, t, load_union(b, i, DT_I64));
	}
	if (dt_is_int(t)) {
		type_check(b, i, op2(a, EX_OR, ti_is(b, ti, EX_EQ, TI_INT), ti_is(b, ti, EX_EQ, TI_BOOL)),
		           K.int_kind);
		return load_union(b, i, t);
	}
	/* the float check and the select share their `type_index == 3` */
	Expr *is_float = ti_is(b, ti, EX_EQ, TI_FLOAT);
	Expr *c = op2(a, EX_OR, is_float, ti_is(b, ti, EX_EQ, TI_INT));
	type_check(b, i, op2(a, EX_OR, c, ti_is(b, ti, EX_EQ, TI_BOOL)), K.float_kind);
	Expr *e = ex_new(a, EX_SELECT, t);
	e->sel.c = is_float;
	e->sel.t = load_union(b, i, t);
	e->sel.f = ex_cast(a, t, load_union(b, i, DT_I64));
	return e;
}

/* DecodeParam: the type index, its check, and the value. */
static void decode_param(Binder *b, int i)
{
	Arena *a = b->a;
	Param *p = &b->f->params[i];
	Var *ti = var_new(a, symcat(b->names[i], ".type_index", NULL), ty_prim(DT_I32));
	vec_push(&b->init, st_bind(a, ti, struct_get_v(a, ty_prim(DT_I32), b->args, i, F_ANY_TYPE_INDEX)));
	Path path = {i, b->names[i]};
	if (p->buf) {
		Var *h = var_new(a, symcat(b->names[i], ".handle", NULL), K.void_ptr);
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
	Expr *small[8];
	Expr **conds = buf->ndim <= 8 ? small : xmalloc((size_t)buf->ndim * sizeof *conds);
	for (int k = buf->ndim - 1, j = 0; k >= 0; k--, j++) {
		Expr *sv = arith_cast(a, st, struct_get_v(a, ty_prim(DT_I64), strides, k, F_INT64_ELEM));
		Expr *one = op2(a, EX_EQ, buf->shape[k], i32(a, 1));
		conds[j] = op2(a, EX_OR, one, op2(a, EX_EQ, expect, sv));
		expect = op2(a, EX_MUL, expect, buf->shape[k]);
	}
	for (int j = 0; j < buf->ndim; j++)
		cond = op2(a, EX_AND, cond, conds[j]);
	if (conds != small)
		free(conds);
	Sym parts[] = {K.mismatched, buf->name, K.strides_on, num_sym(i),
	               K.when_calling, b->sig, K.expected_compact};
	Stmt *check = st_new(a, ST_IF, NOLOC);
	Expr *nn = ex_new(a, EX_NOT, is_null->dt);
	nn->bin.a = is_null;
	check->ifs.cond = nn;
	check->ifs.then = mk_assert(b, cond, K.value_error, parts, 7);
	vec_push(&b->asserts, check);
}

/* BindRegularStrides: explicit strides bind to the tensor's, or to the
 * compact ones when the tensor has none. */
static void regular_strides(Binder *b, int i, Buffer *buf, Var *shape, Var *strides, Expr *is_null)
{
	Arena *a = b->a;
	Expr *from_shape = i32(a, 1);
	for (int k = buf->nstrides - 1; k >= 0; k--) {
		DType t = k < buf->ndim ? buf->shape[k]->dt : DT_I64;
		Expr *given = arith_cast(a, t, struct_get_v(a, ty_prim(DT_I64), strides, k, F_INT64_ELEM));
		Expr *x = from_shape, *y = given;
		const char *err = NULL;
		if (!arith_match_types(a, &x, &y, &err))
			die("MakePackedAPI: %s", err);
		Expr *ite[3] = {is_null, x, y};
		Expr *v = ex_call(a, K.if_then_else, ty_prim(x->dt), ite, 3);
		Path p = {i, symcat(buf->name, ".strides[", num_sym(k), "]", NULL)};
		Expr *sk = buf->strides[k];
		if (!dt_eq(sk->dt, v->dt))
			v = arith_cast(a, sk->dt, v);
		bind_scalar(b, sk, v, p);
		Expr *dim = arith_cast(a, t, struct_get_v(a, ty_prim(DT_I64), shape, k, F_INT64_ELEM));
		from_shape = op2(a, EX_MUL, from_shape, dim);
	}
}

/* Collects the vars of a buffer's fields that no binding so far defines. */
typedef struct Later {
	Binder *b;
	PtrMap *vmap; /* such var -> its stand-in (EX_VAR) */
} Later;

static int later_expr(Walker *w, Expr *e)
{
	Later *l = w->data;
	Binder *b = l->b;
	Var *v = e->var;
	if (def_get(b, v) || pmap_get(l->vmap, v))
		return 1;
	Expr *x = pmap_get(&b->later, v);
	if (!x) {
		x = ex_var(b->a, var_new(b->a, v->name, v->ty));
		pmap_put(&b->later, v, x);
	}
	pmap_put(l->vmap, v, x);
	return 1;
}

/* The node of a tensor argument's storage_alignment attr.  TVM names the
 * parameter's own buffer there, ahead of the DeclBuffer that defines it
 * and of the bindings of vars its shape may use (a shape var bound by a
 * later argument); its printed form (`A = T.Buffer(...)` before the attr,
 * `n = T.int32()` for such a var) reads back as a buffer that nothing
 * declares, with a free var for each var not yet bound.  That reading is
 * what we build, since our scoping rules have a buffer declared before
 * any use and a var bound before any use: a copy of the buffer whose
 * not-yet-bound vars are free stand-ins, one per var for the function. */
static Buffer *free_buffer(Binder *b, Buffer *buf)
{
	Arena *a = b->a;
	PtrMap vmap = {0};
	Later l = {b, &vmap};
	Walker w = {.expr = later_expr, .data = &l, .kinds = EXK(EX_VAR)};
	for (int k = 0; k < buf->ndim; k++)
		walk_expr(&w, buf->shape[k]);
	for (int k = 0; k < buf->nstrides; k++)
		walk_expr(&w, buf->strides[k]);
	walk_expr(&w, buf->elem_offset);
	Buffer *nb = buf_new(a, buf->name, buf->dt, buf->shape, buf->ndim);
	uint32_t id = nb->id;
	*nb = *buf;
	nb->id = id;
	if (vmap.n) {
		Expr **shape = ar_alloc(a, (size_t)(buf->ndim ? buf->ndim : 1) * sizeof *shape);
		for (int k = 0; k < buf->ndim; k++)
			shape[k] = subst_expr(a, buf->shape[k], &vmap, NULL);
		nb->shape = shape;
		if (buf->nstrides) {
			Expr **st = ar_alloc(a, (size_t)buf->nstrides * sizeof *st);
			for (int k = 0; k < buf->nstrides; k++)
				st[k] = subst_expr(a, buf->strides[k], &vmap, NULL);
			nb->strides = st;
		}
		nb->elem_offset = subst_expr(a, buf->elem_offset, &vmap, NULL);
	}
	pmap_free(&vmap);
	return nb;
}

/* DecodeParamDLTensor: checks the DLTensor behind handle h against the
 * buffer and binds its vars; returns the typed data pointer. */
static Expr *decode_tensor(Binder *b, int i, Buffer *buf, Var *h)
{
	Arena *a = b->a;
	Sym bn = buf->name;
	Sym idx = num_sym(i);

	type_check(b, i, op_not(a, isnullptr(a, ex_var(a, h))), K.tensor);
	emit_assert(b, op2(a, EX_EQ, i32(a, buf->ndim), struct_get_v(a, ty_prim(DT_I32), h, 0, F_NDIM)),
	            K.value_error, K.mismatched, bn, K.ndim_on, idx, K.when_calling, b->sig,
	            K.expected, num_sym(buf->ndim), NULL);
	if (!skips_dtype_check(buf->dt)) {
		DType u8 = DT_U8, u16 = dt_make(DT_UINT, 16, 1);
		Expr *c = op2(a, EX_EQ, struct_get_v(a, ty_prim(u8), h, 0, F_CODE), ex_int(a, u8, buf->dt.code));
		c = op2(a, EX_AND, c,
		        op2(a, EX_EQ, struct_get_v(a, ty_prim(u8), h, 0, F_BITS), ex_int(a, u8, pu_dl_bits(buf->dt))));
		c = op2(a, EX_AND, c,
		        op2(a, EX_EQ, struct_get_v(a, ty_prim(u16), h, 0, F_LANES), ex_int(a, u16, buf->dt.lanes)));
		emit_assert(b, c, K.type_error, K.mismatched, bn, K.dtype_on, idx, K.when_calling,
		            b->sig, K.expected, dt_sym(buf->dt), NULL);
	}

	TType i64p = K.i64_ptr;
	Var *shape = var_new(a, symcat(b->fname, ".", b->names[i], "_shape", NULL), i64p);
	vec_push(&b->init, st_bind(a, shape, struct_get_v(a, i64p, h, 0, F_SHAPE)));
	for (int k = 0; k < buf->ndim && !skips_dtype_check(buf->dt); k++) {
		Expr *v = struct_get_v(a, ty_prim(DT_I64), shape, k, F_INT64_ELEM);
		Path p = {i, symcat(bn, ".shape[", num_sym(k), "]", NULL)};
		bind_scalar(b, buf->shape[k], arith_cast(a, buf->shape[k]->dt, v), p);
	}

	Var *strides = var_new(a, symcat(b->fname, ".", b->names[i], "_strides", NULL), i64p);
	vec_push(&b->init, st_bind(a, strides, struct_get_v(a, i64p, h, 0, F_STRIDES)));
	Expr *is_null = isnullptr(a, ex_var(a, strides));
	if (buf->nstrides == 0)
		compact_strides(b, i, buf, strides, is_null);
	else
		regular_strides(b, i, buf, shape, strides, is_null);

	int bytes = dt_bytes(buf->dt);
	Path bo = {i, symcat(bn, ".byte_offset", NULL)};
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
				emit_assert(b, ok, K.value_error, K.misaligned, idx, K.when_calling, b->sig,
				            K.expected_alignment, num_sym((int64_t)buf->offset_factor * bytes),
				            K.bytes, NULL);
			}
		}
	}

	int64_t dt = b->dev_type->i;
	Expr *got = struct_get_v(a, ty_prim(DT_I32), h, 0, F_DEVICE_TYPE);
	Expr *same = simplify_eq(a, i32(a, dt), got);
	if (!is_const(same, 1))
		emit_assert(b, same, K.value_error, K.mismatched, bn, K.device_type_on, idx,
		            K.when_calling, b->sig, K.expected, b->dev_name, NULL);
	Path dp = {i, symcat(bn, ".device_id", NULL)};
	bind_scalar(b, ex_var(a, b->dev_id), struct_get_v(a, ty_prim(DT_I32), h, 0, F_DEVICE_ID), dp);

	Expr *data = reinterpret(a, buf_data_type(buf), struct_get_v(a, K.void_ptr, h, 0, F_DATA));
	Expr *size = ex_int(a, index_type(buf), 1);
	for (int k = 0; k < buf->ndim; k++)
		size = op2(a, EX_MUL, size, buf->shape[k]);
	Expr *empty = arith_cast(a, DT_BOOL1, op2(a, EX_EQ, size, i32(a, 0)));
	Expr *ok = op2(a, EX_OR, empty, op_not(a, isnullptr(a, data)));
	Sym parts[] = {bn, K.null_data, idx, K.when_calling, b->sig, K.expected_non_null};
	vec_push(&b->asserts, mk_assert(b, ok, K.value_error, parts, 6));

	/* The data-pointer alignment is not checked (TVM's binder checks it
	 * only when asked, which MakePackedAPI never does), so the alignment
	 * mark goes to init_nest: it wraps everything after this argument's
	 * bindings, later arguments included. */
	Obj *node = obj_new(a, OB_BUFFER);
	node->buf = free_buffer(b, buf);
	vec_push(&b->init, mk_attr(a, node, K.storage_alignment, i32(a, buf->align)));
	return data;
}

/* DecodeAllParams: scalars and handles first, then the tensors (whose
 * shapes may use scalars of later parameters).  The argument count and
 * the args pointer are checked before anything is loaded. */
static void decode_all(Binder *b)
{
	Arena *a = b->a;
	Func *f = b->f;
	emit_assert(b, op2(a, EX_EQ, ex_var(a, b->num_args), i32(a, f->nparams)), K.type_error,
	            K.expected_count, num_sym(f->nparams), K.arguments, K.when_calling, b->sig,
	            K.backquote, NULL);
	if (f->nparams > 0)
		emit_assert(b, op_not(a, isnullptr(a, ex_var(a, b->args))), K.type_error,
		            K.null_args, K.when_calling, b->sig, K.backquote, NULL);
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
	}
	render_pending(b);
}

/* MergeNest over the statements in items followed by inner: flat
 * statements go first in a sequence, attrs (with no body yet) take the
 * rest as their body.  Pushes inner onto items: at every attr the body
 * built so far is then the item right after the flat ones before it, so
 * each sequence is one slice of items (one st_seq, no copies). */
static Stmt *merge_nest(Arena *a, Vec *items, Stmt *inner)
{
	int end = items->n;
	vec_push(items, inner);
	Stmt *body = inner;
	for (int i = end - 1; i >= -1; i--) {
		Stmt *s = i >= 0 ? items->v[i] : NULL;
		if (s && s->kind != ST_ATTR)
			continue;
		int nflat = end - (i + 1);
		if (nflat > 0)
			body = st_seq(a, (Stmt **)items->v + i + 1, nflat + 1); /* items->v[end] == body */
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

/* A statement hook only: the Mutator runs with pu_keep_expr, so that it
 * does not descend into the expressions of every statement. */
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
		Stmt *n = st_dup(a, s);
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
		struct_set(a, res, 0, F_ANY_TYPE_INDEX, i32(a, ti)),
		struct_set(a, res, 0, F_ANY_PADDING, i32(a, 0)),
		struct_set(a, res, 0, F_ANY_VALUE, v),
		mk_return(a, i32(a, 0)),
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
		args[n + 1] = reinterpret(m->a, K.void_ptr, ex_int(m->a, dt_make(DT_UINT, 64, 1), 0));
		r = ex_call(m->a, K.call_cpacked, e->call.rty, args, n + 2);
	} else if (changed) {
		r = ex_dup(m->a, e);
		r->call.args = ar_dup(m->a, args + 1, (size_t)n * sizeof *args);
	}
	free(args);
	return r;
}

/* What a function holds that the rewrites care about, found in one
 * read-only walk: a call of a packed function (else the call rewriter has
 * nothing to do) and a return (else the return rewriter has nothing to
 * do).  The walk sees what the Mutator would: buffer fields included. */
typedef struct Scan {
	const PtrMap *packed; /* NULL: calls need not be looked for */
	int calls, returns;
	Buffer *last;         /* the buffer whose fields were scanned last */
} Scan;

/* Leaves without a buffer (constants, strings, vars) hold no call. */
static int no_call_leaf(const Expr *e)
{
	return e->kind < EX_BUFDATA;
}

static void scan_ref(Walker *w, Buffer *b);

static void scan_operand(Walker *w, Expr *e)
{
	if (e && !no_call_leaf(e))
		walk_expr(w, e);
}

static void scan_exprs(Walker *w, Expr **xs, int n)
{
	for (int k = 0; k < n; k++)
		scan_operand(w, xs[k]);
}

static int scan_expr(Walker *w, Expr *e)
{
	Scan *sc = w->data;
	if (!sc->packed || sc->calls)
		return 0;
	if (e->kind == EX_CALL && !e->call.op && pmap_get(sc->packed, e->call.fn)) {
		sc->calls = 1;
		return 0;
	}
	/* The operands of the commonest nodes are walked here, but for
	 * leaves without a buffer: a visit each would find nothing. */
	if (e->kind >= EX_ADD && e->kind <= EX_CAST) {
		scan_operand(w, e->bin.a);
		scan_operand(w, e->bin.b);
		return 0;
	}
	if (e->kind == EX_LOAD) {
		scan_ref(w, e->load.buf);
		scan_exprs(w, e->load.idx, e->load.nidx);
		scan_operand(w, e->load.pred);
		return 0;
	}
	if (e->kind == EX_CALL) {
		scan_exprs(w, e->call.args, e->call.nargs);
		return 0;
	}
	return 1;
}

/* The fields of a buffer, as Mutator visits them at every reference;
 * constants (most shapes) are not worth a call.  Vars are visited: the
 * check for unbound vars (below) uses this too. */
static void scan_fields(Walker *w, Expr **xs, int n)
{
	for (int k = 0; k < n; k++)
		if (xs[k]->kind >= EX_VAR)
			walk_expr(w, xs[k]);
}

static void scan_buffer(Walker *w, Buffer *b)
{
	if (!b)
		return;
	scan_fields(w, b->shape, b->ndim);
	scan_fields(w, b->strides, b->nstrides);
	if (b->elem_offset && b->elem_offset->kind >= EX_VAR)
		walk_expr(w, b->elem_offset);
}

/* The scan's buffer hook: a buffer's fields once for a run of references
 * to it (the loads and stores of one buffer tend to come together). */
static void scan_ref(Walker *w, Buffer *b)
{
	Scan *sc = w->data;
	if (b == sc->last)
		return;
	sc->last = b;
	scan_buffer(w, b);
}

static int scan_stmt(Walker *w, Stmt *s)
{
	Scan *sc = w->data;
	if (s->kind == ST_RETURN)
		sc->returns = 1;
	return 1;
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

/* A walk for vars that are used where neither the prologue (defs), nor
 * the walk so far (defined), nor the API (result) defines them. */
typedef struct Unbound {
	Binder *b;
	Var *result;
	PtrMap *defined;
	Buffer *last; /* the buffer whose fields were walked last */
	int found;
} Unbound;

static int unbound_expr(Walker *w, Expr *e)
{
	Unbound *u = w->data;
	if (e->kind == EX_VAR && e->var != u->result && !def_get(u->b, e->var) &&
	    !pmap_get(u->defined, e->var))
		u->found = 1;
	return !u->found;
}

static void unbound_def(Walker *w, Var *v)
{
	Unbound *u = w->data;
	pmap_put(u->defined, v, (void *)1);
}

/* Every referenced buffer's fields are uses (free_vars counts those of
 * buffers defined outside; counting all is on the safe side). */
static void unbound_buffer(Walker *w, Buffer *b)
{
	Unbound *u = w->data;
	if (b != u->last) {
		u->last = b;
		scan_buffer(w, b);
	}
}

/* Whether the new body may use a var that is neither an API argument nor
 * defined in it; when it may, lower_func runs free_vars over the whole
 * body for the exact list.  The binder's invariant makes the prologue
 * cheap to judge: every statement it builds uses only vars it binds in
 * init_nest before that statement (type indexes, handles, shape and
 * strides arrays, dev_id, the parameters) and the fields (shape, strides,
 * elem_offset) of the parameter buffers; every var it binds from a value
 * is in defs.  So nothing is free when every var of those fields is in
 * defs, and every var free in the rewritten old body is in defs or an API
 * argument (result). */
static int may_have_free_vars(Binder *b, Stmt *old_body, Var *result)
{
	Unbound u = {b, result, &b->body_defs, NULL, 0};
	Walker w = {.expr = unbound_expr, .buffer = unbound_buffer, .def = unbound_def, .data = &u};
	for (int i = 0; i < b->f->nparams && !u.found; i++)
		if (b->f->params[i].buf)
			scan_buffer(&w, b->f->params[i].buf);
	if (!u.found)
		walk_stmt(&w, old_body);
	/* kept for the next function, unless a big body made it big */
	if (b->body_defs.cap > 1024)
		pmap_free(&b->body_defs);
	else
		pmap_clear(&b->body_defs);
	return u.found;
}

/* Whether v is the free stand-in of a var in some attr node (free_buffer). */
static int is_stand_in(Binder *b, Var *v)
{
	for (int i = 0; i < b->later.cap; i++)
		if (b->later.keys[i] && ((Expr *)b->later.vals[i])->var == v)
			return 1;
	return 0;
}

/* f's attrs with calling_conv, target and global_symbol set (replaced in
 * place or appended, in that order), as three obj_dict_set calls leave
 * them, in one copy. */
static Obj *packed_attrs(Arena *a, const Obj *d, Obj *cc, Obj *target, Obj *symbol)
{
	Sym keys[3] = {K.calling_conv, K.target, K.global_symbol};
	Obj *vals[3] = {cc, target, symbol};
	int n = d ? d->dict.n : 0;
	Obj *r = obj_new(a, OB_DICT);
	r->dict.keys = ar_alloc(a, (size_t)(n + 3) * sizeof(Obj *));
	r->dict.vals = ar_alloc(a, (size_t)(n + 3) * sizeof(Obj *));
	if (n) {
		memcpy(r->dict.keys, d->dict.keys, (size_t)n * sizeof(Obj *));
		memcpy(r->dict.vals, d->dict.vals, (size_t)n * sizeof(Obj *));
	}
	r->dict.n = n;
	for (int j = 0; j < 3; j++) {
		int i = 0;
		while (i < n && !(d->dict.keys[i]->kind == OB_STR && d->dict.keys[i]->s == keys[j]))
			i++;
		if (i < n) {
			r->dict.vals[i] = vals[j];
		} else {
			r->dict.keys[r->dict.n] = K.key_nodes[j];
			r->dict.vals[r->dict.n++] = vals[j];
		}
	}
	return r;
}

/* Lowers function i (a copy of it replaces m->funcs[i]). */
static int lower_func(Module *m, int fi, Sym name, Binder *bp, int has_return)
{
	Arena *a = m->arena;
	Func *f = m->funcs[fi];
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

	/* reset the binder for this function */
	Binder *b = bp;
	b->f = f;
	b->fname = name;
	b->failed = 0;
	b->init.n = b->asserts.n = b->decls.n = b->nest.n = 0;
	b->ndefs = b->npending = 0;
	pmap_clear(&b->defs);
	pmap_clear(&b->later);
	if (f->nparams > b->cap_params) {
		b->cap_params = f->nparams;
		b->names = xrealloc(b->names, (size_t)f->nparams * sizeof *b->names);
		b->handles = xrealloc(b->handles, (size_t)f->nparams * sizeof *b->handles);
		b->tensor_check = xrealloc(b->tensor_check, (size_t)f->nparams * sizeof *b->tensor_check);
	}
	for (int i = 0; i < f->nparams; i++) {
		b->names[i] = f->params[i].buf ? f->params[i].buf->name : f->params[i].var->name;
		b->handles[i] = NULL;
		b->tensor_check[i] = NULL;
	}
	b->args = var_new(a, K.args, K.void_ptr);
	b->num_args = var_new(a, K.num_args, ty_prim(DT_I32));
	b->dev_type = i32(a, dev_type);
	b->dev_name = sym(device_name(dev_type));
	b->dev_id = var_new(a, K.dev_id, ty_prim(DT_I32));
	b->sig = signature(b);
	Var *self = var_new(a, K.self_handle, K.void_ptr);
	Var *result = var_new(a, K.result, K.void_ptr);

	decode_all(b);
	int failed = b->failed;
	int need_set_device = def_get(b, b->dev_id) != NULL;

	Stmt *body = f->body;
	if (!failed && has_return) {
		Ret r = {result, 0, 0};
		Mutator rm = {.a = a, .stmt = ret_stmt, .expr = pu_keep_expr, .data = &r};
		body = mut_stmt(&rm, f->body);
		mut_done(&rm);
		failed |= r.failed;
	}

	if (!failed) {
		Stmt *cs = mk_attr(a, K.zero, K.compute_scope,
		                   ex_str(a, symcat(name, "_compute_", NULL)));
		cs->attr.body = body;
		cs->loc = f->body ? f->body->loc : f->loc;
		Stmt *tail[3];
		int nt = 0;
		/* init_nest, seq_check, asserts and the buffer decls: one nest */
		Vec *nest = &b->nest;
		for (int i = 0; i < b->init.n; i++)
			vec_push(nest, b->init.v[i]);
		if (need_set_device) {
			vec_push(nest, mk_attr(a, K.dflt_node, K.device_id, ex_var(a, b->dev_id)));
			vec_push(nest, mk_attr(a, K.dflt_node, K.device_type, i32(a, dev_type)));
			if (dev_type != DL_CPU) {
				Expr *args[3] = {K.set_device_str, i32(a, dev_type), ex_var(a, b->dev_id)};
				tail[nt++] = st_eval(a, ex_call(a, K.call_packed, ty_prim(DT_I32), args, 3));
			}
		}
		for (int i = 0; i < b->asserts.n; i++)
			vec_push(nest, b->asserts.v[i]);
		for (int i = 0; i < b->decls.n; i++)
			vec_push(nest, b->decls.v[i]);
		tail[nt++] = cs;
		tail[nt++] = mk_return(a, i32(a, 0));
		Stmt *old_body = body;
		body = merge_nest(a, nest, st_seq(a, tail, nt));

		/* Anything still free was neither a parameter nor decoded. */
		if (may_have_free_vars(b, old_body, result)) {
			Vec vars = {0};
			Buf o = {0};
			free_vars(body, &vars, NULL);
			for (int i = 0; i < vars.n; i++) {
				Var *v = vars.v[i];
				/* the stand-ins in the attr nodes are free on purpose */
				if (v != self && v != b->args && v != b->num_args && v != result &&
				    !is_stand_in(b, v))
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
	}

	if (!failed) {
		Func *g = ar_alloc(a, sizeof *g);
		*g = *f;
		Param *ps = ar_alloc(a, 4 * sizeof *ps);
		ps[0].var = self, ps[1].var = b->args, ps[2].var = b->num_args, ps[3].var = result;
		g->params = ps;
		g->nparams = 4;
		g->body = body;
		g->ret = ty_prim(DT_I32);
		g->attrs = packed_attrs(a, f->attrs, K.one, host,
		                        obj_str(a, symcat("__tvm_ffi_", name, NULL)));
		m->funcs[fi] = g;
	}
	return failed;
}

/* What the pass learns from the whole module before it lowers anything:
 * which functions get the packed API, and their symbols.  Kept across the
 * chunks of functions the pass manager may run it on (pass_state), since
 * lowering a function changes what requires_packed_api says of it. */
typedef struct Packed {
	PtrMap names; /* function name -> symbol */
	Sym *symbols; /* per function index: its symbol, or NULL */
} Packed;

static void packed_free(void *p)
{
	Packed *pk = p;
	pmap_free(&pk->names);
	free(pk->symbols);
	free(pk);
}

static Packed *packed_of(Module *m, PassCtx *cx)
{
	Packed *pk = pass_state(cx);
	if (pk)
		return pk;
	pk = xcalloc(1, sizeof *pk);
	pk->symbols = xcalloc((size_t)m->nfuncs + 1, sizeof *pk->symbols);
	for (int i = 0; i < m->nfuncs; i++) {
		pk->symbols[i] = requires_packed_api(m->funcs[i]);
		if (pk->symbols[i])
			pmap_put(&pk->names, m->funcs[i]->name, (void *)pk->symbols[i]);
	}
	pass_set_state(cx, pk, packed_free);
	return pk;
}

int pass_make_packed_api(Module **mp, PassCtx *cx)
{
	Module *m = *mp;
	consts_init(m->arena);
	Packed *pk = packed_of(m, cx);
	PtrMap packed = pk->names;
	Sym *symbols = pk->symbols;
	Binder b = {.a = m->arena};
	int failed = 0, lo, hi;
	pass_range(cx, m, &lo, &hi);
	for (int i = lo; i < hi; i++) {
		if (!packed.n && !symbols[i])
			continue; /* no call to rewrite, nothing to lower */
		Scan sc = {packed.n ? &packed : NULL, 0, 0, NULL};
		Walker w = {.stmt = scan_stmt, .expr = scan_expr, .buffer = scan_ref, .data = &sc};
		if (!symbols[i])
			w.stmt = NULL; /* returns matter only to lower_func */
		walk_stmt(&w, m->funcs[i]->body);
		if (sc.calls) {
			Mutator cm = {.a = m->arena, .expr = cpacked_expr, .data = &packed};
			pu_set_body(m, i, mut_stmt(&cm, m->funcs[i]->body));
			mut_done(&cm);
		}
		if (symbols[i])
			failed |= lower_func(m, i, symbols[i], &b, sc.returns);
	}
	vec_free(&b.init);
	vec_free(&b.asserts);
	vec_free(&b.decls);
	vec_free(&b.nest);
	pmap_free(&b.defs);
	pmap_free(&b.later);
	pmap_free(&b.body_defs);
	free(b.defv);
	free(b.pending);
	free(b.names);
	free(b.handles);
	free(b.tensor_check);
	buf_free(&K.scratch);
	return failed;
}
