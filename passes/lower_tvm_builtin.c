/* lower_tvm_builtin.c: LowerTVMBuiltin, TVM's tirx.LowerTVMBuiltin.
 *
 * IR expected: host functions (tirx.is_host_func, or a CPU target) after
 *              MakePackedAPI: tvm_call_packed / tvm_call_cpacked calls (with
 *              buffers as arguments too), kernel launches as
 *              call_ffi_kernel (TVM 0.27's SplitHostDevice; lowered like
 *              call_packed, the launch tags dropped), tvm_stack_make_shape/array,
 *              device_id / device_type attrs, host allocations.
 * IR left:     packed calls pass their arguments through a TVMFFIAny stack
 *              (tvm_stack_alloca("tvm_ffi_any") + tvm_struct_set, then
 *              tvm_call_packed_lowered / tvm_call_cpacked_lowered); shapes
 *              and DLTensors are built on "shape" and "array" stacks; the
 *              device attrs are gone; allocations that do not fit on the
 *              CPU stack go through TVMBackendAllocWorkspace, with a null
 *              check, and are freed at the end of their scope.  One set of
 *              stacks per function and per parallel loop body.
 * Runs after:  MakePackedAPI.  Device functions are left alone.
 *
 * A buffer passed to call_packed is packed first, as TVM's script parser
 * does when it builds the call: tvm_stack_make_array(A.data,
 * tvm_stack_make_shape(shape...), strides or 0, ndim, a zero of the dtype,
 * elem_offset).  DLTensor dtypes and workspace requests give bool 8 bits,
 * as DLPack and TVM 0.27 do.  Differences from TVM: the result slot of a nested packed
 * call is reset at its own index (TVM resets index num_args, which is the
 * same slot only for a call that is not nested); a while body is a free
 * scope like a For body (TVM frees its allocations once, after the loop,
 * outside the scope of their buffers).
 *
 * Depth: attrs and sequences' last items are lowered by a loop over an
 * explicit stack (lower_chain), so MakePackedAPI's one attr per buffer
 * parameter costs no stack.
 *
 * Cost: a function without parallel loops is lowered in one run that
 * takes the stack sizes as it goes (TVM runs a precheck first; see
 * realize_alloca), and the constant stores into a stack slot are built
 * once per scope and shared. */
#include <stdlib.h>
#include <string.h>
#include "tir.h"
#include "passutil.h"

enum {
	F_ADDR = 0, F_DATA = 1, F_SHAPE = 2, F_STRIDES = 3, F_NDIM = 4, F_CODE = 5,
	F_BITS = 6, F_LANES = 7, F_BYTE_OFFSET = 8, F_DEVICE_ID = 9, F_DEVICE_TYPE = 10,
	F_ANY_TYPE_INDEX = 13, F_ANY_PADDING = 14, F_ANY_VALUE = 15,
};

enum { TI_NONE = 0, TI_INT = 1, TI_FLOAT = 3, TI_OPAQUE_PTR = 4, TI_DLTENSOR_PTR = 7, TI_RAW_STR = 8 };

enum { DL_CPU = 1, MAX_STACK_ALLOCA = 1024 };

/* ------------------------------------------------- per-run constants */

/* The ops the pass looks for and builds, and the names it uses, looked up
 * and interned once per run. */
#define LTB_OPS(X) \
	X(call_packed, "tirx.tvm_call_packed") \
	X(call_ffi_kernel, "tirx.call_ffi_kernel") \
	X(call_cpacked, "tirx.tvm_call_cpacked") \
	X(call_trace_packed, "tirx.tvm_call_trace_packed") \
	X(call_packed_lowered, "tirx.tvm_call_packed_lowered") \
	X(call_cpacked_lowered, "tirx.tvm_call_cpacked_lowered") \
	X(call_trace_packed_lowered, "tirx.tvm_call_trace_packed_lowered") \
	X(make_shape, "tirx.tvm_stack_make_shape") \
	X(make_array, "tirx.tvm_stack_make_array") \
	X(context_id, "tirx.tvm_context_id") \
	X(struct_get, "tirx.tvm_struct_get") \
	X(struct_set, "tirx.tvm_struct_set") \
	X(isnullptr, "tirx.isnullptr") \
	X(reinterpret, "tirx.reinterpret") \
	X(address_of, "tirx.address_of") \
	X(throw_last_error, "tirx.tvm_throw_last_error") \
	X(free_workspace, "tirx.TVMBackendFreeWorkspace") \
	X(alloc_workspace, "tirx.TVMBackendAllocWorkspace") \
	X(stack_alloca, "tirx.tvm_stack_alloca")

#define LTB_SYMS(X) \
	X(global, "global") \
	X(device_id, "device_id") \
	X(device_type, "device_type") \
	X(stack_array, "stack_array") \
	X(stack_ffi_any, "stack_ffi_any") \
	X(stack_shape, "stack_shape") \
	X(tvm_ffi_any, "tvm_ffi_any") \
	X(array, "array") \
	X(shape, "shape")

static struct {
#define X(field, name) const Op *field;
	LTB_OPS(X)
#undef X
#define X(field, text) Sym field;
	LTB_SYMS(X)
#undef X
	TType void_ptr;
	Arena *arena;        /* the module's: i32s are its constants */
	Expr *i32s[64];      /* int32 constants 0 .. 63, filled in on first use */
} K;

static void consts_init(Arena *a)
{
	K.arena = a;
	memset(K.i32s, 0, sizeof K.i32s);
#define X(field, name) K.field = op_get(name);
	LTB_OPS(X)
#undef X
#define X(field, text) K.field = sym(text);
	LTB_SYMS(X)
#undef X
	K.void_ptr = ty_ptr(DT_VOID, K.global);
}

/* The int32 constant v (pu_i32, without its lookup for the small values
 * of slot indexes and fields). */
static Expr *i32(Arena *a, int64_t v)
{
	int n = (int)(sizeof K.i32s / sizeof K.i32s[0]);
	if (a != K.arena || v < 0 || v >= n)
		return pu_i32(a, v);
	if (!K.i32s[v])
		K.i32s[v] = pu_i32(a, v);
	return K.i32s[v];
}

/* Stack use of one alloca scope.  shape is -1 when no shape is made (a
 * make_shape without arguments still needs the stack: a scalar shape). */
typedef struct Sizes {
	int64_t shape, array, arg;
} Sizes;

/* The constant stores into a slot of the ffi-any stack (type index,
 * padding, a zero value) are the same statement for every call that makes
 * them, so a scope builds each once and shares it (the IR is immutable):
 * consts[slot * NCONST + which]. */
enum { C_PAD, C_TI_NONE, C_TI_INT, C_TI_FLOAT, C_TI_OPAQUE, C_TI_DLTENSOR, C_TI_RAW_STR, C_ZERO, NCONST };

typedef struct Scope {
	Buffer *stack_shape;
	Var *stack_array, *stack_ffi_any;
	Sizes max, run;
	Stmt **consts;
	int64_t nconsts;
} Scope;

typedef struct L {
	Arena *a;
	Mutator em;        /* expressions: the call hook below */
	Expr *dev_type, *dev_id; /* current values; NULL: unknown */
	int precheck;      /* computing stack sizes only */
	/* One run over each alloca scope, sizes taken as it goes: used while
	 * the function has no parallel loop, whose body would be a scope of
	 * its own (see realize_alloca). */
	int single;
	int restart;       /* single met a parallel loop: run again without */
	Scope *scopes;     /* the alloca scopes, innermost last */
	int nscopes, capscopes;
	/* Statements to put before the current statement: a stack shared by
	 * the nested lower_stmt calls, each owning the part above its base. */
	Vec prep;
	Vec items;         /* the same for the items of sequences */
	Vec *frees;        /* pending frees of the current free scope */
	int failed;
	/* The links of the attr/sequence chains being lowered (lower_chain),
	 * shared by the nested calls, each owning the part above its base. */
	struct LFrame *fr;
	int nfr, capfr;
} L;

static Stmt *lower_stmt(L *l, Stmt *s);
static int lower_item(L *l, Stmt *s);

/* ------------------------------------------------------------ helpers */


static Stmt *mk_if(Arena *a, Expr *c, Stmt *then, Stmt *els)
{
	Stmt *s = st_new(a, ST_IF, NOLOC);
	s->ifs.cond = c;
	s->ifs.then = then;
	s->ifs.els = els;
	return s;
}

static Stmt *struct_set(Arena *a, Expr *h, int64_t index, int field, Expr *value)
{
	Expr *args[4] = {h, i32(a, index), i32(a, field), value};
	return st_eval(a, ex_call(a, K.struct_set, ty_prim(DT_I32), args, 4));
}

static Expr *isnullptr(Arena *a, Expr *x)
{
	return ex_call(a, K.isnullptr, ty_prim(DT_BOOL1), &x, 1);
}

static Expr *const_handle0(Arena *a)
{
	Expr *z = ex_int(a, dt_make(DT_UINT, 64, 1), 0);
	return ex_call(a, K.reinterpret, K.void_ptr, &z, 1);
}

static int is_zero(const Expr *e)
{
	int64_t v;
	return (ex_is_const_int(e, &v) && v == 0) || (e->kind == EX_FLOAT && e->f == 0.0);
}

static void fail(L *l, Loc loc, const char *msg)
{
	if (!l->failed)
		diag_error(loc, "%s", msg);
	l->failed = 1;
}

static void prep(L *l, Stmt *s)
{
	vec_push(&l->prep, s);
}

static Scope *scope(L *l)
{
	return &l->scopes[l->nscopes - 1];
}

/* The shared constant store `which` into slot of the scope's ffi-any
 * stack. */
static Stmt *const_set(L *l, int64_t slot, int which)
{
	Scope *sc = scope(l);
	int64_t k = slot * NCONST + which;
	if (k >= sc->nconsts) {
		int64_t n = sc->nconsts ? sc->nconsts : 8 * NCONST;
		while (n <= k)
			n *= 2;
		sc->consts = xrealloc(sc->consts, (size_t)n * sizeof *sc->consts);
		memset(sc->consts + sc->nconsts, 0, (size_t)(n - sc->nconsts) * sizeof *sc->consts);
		sc->nconsts = n;
	}
	if (!sc->consts[k]) {
		static const int ti[] = {
			[C_TI_NONE] = TI_NONE, [C_TI_INT] = TI_INT, [C_TI_FLOAT] = TI_FLOAT,
			[C_TI_OPAQUE] = TI_OPAQUE_PTR, [C_TI_DLTENSOR] = TI_DLTENSOR_PTR, [C_TI_RAW_STR] = TI_RAW_STR,
		};
		Arena *a = l->a;
		Expr *stack = ex_var(a, sc->stack_ffi_any);
		if (which == C_PAD)
			sc->consts[k] = struct_set(a, stack, slot, F_ANY_PADDING, i32(a, 0));
		else if (which == C_ZERO)
			sc->consts[k] = struct_set(a, stack, slot, F_ANY_VALUE, ex_int(a, DT_I64, 0));
		else
			sc->consts[k] = struct_set(a, stack, slot, F_ANY_TYPE_INDEX, i32(a, ti[which]));
	}
	return sc->consts[k];
}

/* APIType: the TVMFFIAny field a scalar travels in. */
static DType api_type(DType t)
{
	return t.code == DT_FLOAT ? dt_make(DT_FLOAT, 64, 1) : DT_I64;
}

/* ------------------------------------------------- packed calls (exprs) */

/* The call's arguments lowered, into args (room for e->call.nargs): scratch,
 * none of the lowered calls keeps the array. */
static void lower_args(L *l, Expr *e, Expr **args)
{
	for (int i = 0; i < e->call.nargs; i++)
		args[i] = mut_expr(&l->em, e->call.args[i]);
}

/* Room for the lowered arguments of a call: on the stack for the usual
 * few, else malloc'd (free_args). */
enum { SMALL_ARGS = 16 };
static Expr **args_room(Expr **small, int n)
{
	return n <= SMALL_ARGS ? small : xmalloc((size_t)n * sizeof(Expr *));
}

static void free_args(Expr **args, Expr **small)
{
	if (args != small)
		free(args);
}

/* tvm_stack_make_shape(d...): the dims stored on the shape stack; the
 * value is the address of the first. */
static Expr *make_shape(L *l, Expr *e)
{
	Arena *a = l->a;
	Scope *sc = scope(l);
	if (sc->run.shape == -1)
		sc->run.shape = 0;
	int64_t begin = sc->run.shape;
	sc->run.shape += e->call.nargs;
	Expr *small[SMALL_ARGS], **args = args_room(small, e->call.nargs);
	lower_args(l, e, args);
	Buffer *b = scope(l)->stack_shape;
	for (int i = 0; i < e->call.nargs; i++) {
		Stmt *s = st_new(a, ST_STORE, NOLOC);
		s->store.buf = b;
		s->store.idx = ar_alloc(a, sizeof(Expr *));
		s->store.idx[0] = i32(a, begin + i);
		s->store.nidx = 1;
		s->store.value = arith_cast(a, DT_I64, args[i]);
		prep(l, s);
	}
	free_args(args, small);
	Expr *ld = ex_new(a, EX_LOAD, DT_I64);
	ld->load.buf = b;
	ld->load.idx = ar_alloc(a, sizeof(Expr *));
	ld->load.idx[0] = i32(a, begin);
	ld->load.nidx = 1;
	return ex_call(a, K.address_of, buf_data_type(b), &ld, 1);
}

/* tvm_stack_make_array(data, shape, strides, ndim, dtype, elem_offset): a
 * DLTensor filled in on the array stack. */
static Expr *make_array(L *l, Expr *e)
{
	Arena *a = l->a;
	int64_t idx = scope(l)->run.array++;
	if (e->call.nargs != 6)
		die("LowerTVMBuiltin: tvm_stack_make_array takes 6 arguments");
	Expr *args[6];
	lower_args(l, e, args);
	Expr *arr = ex_var(a, scope(l)->stack_array);
	prep(l, struct_set(a, arr, idx, F_DATA, args[0]));
	prep(l, struct_set(a, arr, idx, F_SHAPE, args[1]));
	prep(l, struct_set(a, arr, idx, F_STRIDES, is_zero(args[2]) && args[2]->dt.code != DT_HANDLE
	                                              ? const_handle0(a) : args[2]));
	prep(l, struct_set(a, arr, idx, F_NDIM, args[3]));
	DType t = args[4]->dt;
	prep(l, struct_set(a, arr, idx, F_CODE, ex_int(a, DT_U8, t.code)));
	prep(l, struct_set(a, arr, idx, F_BITS, ex_int(a, DT_U8, pu_dl_bits(t))));
	prep(l, struct_set(a, arr, idx, F_LANES, ex_int(a, dt_make(DT_UINT, 16, 1), t.lanes)));
	Expr *off = args[5], *bo = off;
	if (!is_zero(off))
		bo = pu_arith(a, "LowerTVMBuiltin", EX_MUL, off, ex_int(a, off->dt, dt_bytes(t)));
	prep(l, struct_set(a, arr, idx, F_BYTE_OFFSET, arith_cast(a, dt_make(DT_UINT, 64, 1), bo)));
	if (!l->dev_type)
		fail(l, mut_loc(&l->em), "Unknown device type in current IR");
	else if (!l->dev_id)
		fail(l, mut_loc(&l->em), "Unknown device id in current IR");
	else {
		prep(l, struct_set(a, arr, idx, F_DEVICE_ID, arith_cast(a, DT_I32, l->dev_id)));
		prep(l, struct_set(a, arr, idx, F_DEVICE_TYPE, arith_cast(a, DT_I32, l->dev_type)));
	}
	Expr *get[3] = {arr, i32(a, idx), i32(a, F_ADDR)};
	return ex_call(a, K.struct_get, K.void_ptr, get, 3);
}

/* SetPackedArg: type index, zero padding and value of one stack slot. */
static void set_arg(L *l, Expr *arg, Expr *stack, int64_t slot)
{
	Arena *a = l->a;
	int ti;
	if (arg->kind == EX_STR) {
		ti = C_TI_RAW_STR;
		arg = ex_call(a, K.reinterpret, K.void_ptr, &arg, 1);
	} else if (arg->dt.code == DT_HANDLE) {
		int64_t f;
		int is_array = arg->kind == EX_CALL && arg->call.op == K.struct_get && arg->call.nargs == 3 &&
		               ex_is_const_int(arg->call.args[2], &f) && f == F_ADDR;
		ti = is_array ? C_TI_DLTENSOR : C_TI_OPAQUE;
	} else {
		char d[32];
		if (dt_is_void(arg->dt) || arg->dt.lanes != 1 ||
		    !(arg->dt.code == DT_BOOL || dt_is_int(arg->dt) || arg->dt.code == DT_FLOAT)) {
			if (!l->failed)
				diag_error(mut_loc(&l->em), "Packed call argument must have a primitive or pointer type, "
				           "but got %s", dt_str(arg->dt, d));
			l->failed = 1;
			return;
		}
		DType api = api_type(arg->dt);
		if (!dt_eq(api, arg->dt))
			arg = ex_cast(a, api, arg);
		ti = api.code == DT_FLOAT ? C_TI_FLOAT : C_TI_INT;
	}
	if (ti == C_TI_OPAQUE)
		prep(l, mk_if(a, isnullptr(a, arg), const_set(l, slot, C_TI_NONE), const_set(l, slot, C_TI_OPAQUE)));
	else
		prep(l, const_set(l, slot, ti));
	prep(l, const_set(l, slot, C_PAD));
	prep(l, struct_set(a, stack, slot, F_ANY_VALUE, arg));
}

/* MakeCallPackedGeneric: args on the TVMFFIAny stack, then the lowered call
 * over [begin, begin + n) with the result slot at begin + n. */
static Expr *call_packed(L *l, Expr *e, const Op *lowered, int traced)
{
	Arena *a = l->a;
	if (e->call.nargs < 1 || e->call.args[0]->kind != EX_STR) {
		fail(l, mut_loc(&l->em), "a packed call needs the function name as its first argument");
		return e;
	}
	Scope *sc = scope(l);
	Sizes saved = sc->run;
	int64_t begin = sc->run.arg;
	int n = e->call.nargs - 1;
	sc->run.arg += n + 1;

	Expr *in = e;
	for (int i = 1; i < e->call.nargs; i++) {
		if (e->call.args[i]->kind == EX_BUFREF) {
			if (in == e) {
				in = ex_dup(a, e);
				in->call.args = ar_dup(a, e->call.args, (size_t)e->call.nargs * sizeof(Expr *));
			}
			in->call.args[i] = pu_pack_buffer(a, e->call.args[i]->buf, e->call.args[i]->buf);
		}
	}
	Expr *small[SMALL_ARGS], **args = args_room(small, in->call.nargs);
	lower_args(l, in, args);
	sc = scope(l);
	Expr *stack = ex_var(a, sc->stack_ffi_any);
	for (int i = 0; i < n; i++)
		set_arg(l, args[i + 1], stack, begin + i);
	prep(l, const_set(l, begin + n, C_TI_NONE));
	prep(l, const_set(l, begin + n, C_PAD));
	prep(l, const_set(l, begin + n, C_ZERO));
	if (l->precheck || l->single) {
		if (sc->run.shape > sc->max.shape)
			sc->max.shape = sc->run.shape;
		if (sc->run.array > sc->max.array)
			sc->max.array = sc->run.array;
		if (sc->run.arg > sc->max.arg)
			sc->max.arg = sc->run.arg;
	}
	sc->run.shape = saved.shape;
	sc->run.array = saved.array;
	sc->run.arg = begin;
	Expr *out[5] = {args[0], stack, i32(a, begin), i32(a, begin + n), traced ? args[n] : NULL};
	free_args(args, small);
	return ex_call(a, lowered, e->call.rty, out, traced ? 5 : 4);
}

static Expr *lower_expr(Mutator *m, Expr *e)
{
	L *l = m->data;
	if (e->kind != EX_CALL || !e->call.op || l->failed)
		return NULL;
	const Op *op = e->call.op;
	/* TVM 0.27 lowers a kernel launch like the packed call it replaces:
	 * the same operands on the stack, the launch tags dropped */
	if (op == K.call_packed || op == K.call_ffi_kernel)
		return call_packed(l, e, K.call_packed_lowered, 0);
	if (op == K.call_cpacked)
		return call_packed(l, e, K.call_cpacked_lowered, 0);
	if (op == K.call_trace_packed)
		return call_packed(l, e, K.call_trace_packed_lowered, 1);
	if (op == K.make_shape)
		return make_shape(l, e);
	if (op == K.make_array)
		return make_array(l, e);
	if (op == K.context_id)
		return dt_is_int(e->dt) ? ex_int(l->a, e->dt, 0) : const_handle0(l->a);
	return NULL;
}

/* ---------------------------------------------------------- statements */

/* Runs body(l, s) in a new free scope and appends the frees it left, last
 * allocated first. */
static Stmt *with_free_scope(L *l, Stmt *s, Stmt *(*body)(L *, Stmt *))
{
	Vec frees = {0}, *outer = l->frees;
	l->frees = &frees;
	Stmt *r = body(l, s);
	l->frees = outer;
	if (frees.n && r) {
		Stmt **seq = xmalloc((size_t)(frees.n + 1) * sizeof *seq);
		seq[0] = r;
		for (int i = 0; i < frees.n; i++)
			seq[i + 1] = frees.v[frees.n - 1 - i];
		r = st_seq(l->a, seq, frees.n + 1);
		free(seq);
	}
	vec_free(&frees);
	return r;
}

static Stmt *realize_alloca(L *l, Stmt *body);

/* AllocBuffer on the host: left to the codegen when it fits the CPU stack,
 * else a workspace allocation with a null check and a free at the end of
 * the enclosing scope. */
static Stmt *lower_alloc(L *l, Stmt *s)
{
	Arena *a = l->a;
	s = mut_stmt(&l->em, s);
	Buffer *b = s->alloc.buf;
	Obj *dis = s->alloc.annotations ? obj_dict_get(s->alloc.annotations, "disable_lower_builtin") : NULL;
	if (dis && (dis->kind == OB_INT || dis->kind == OB_BOOL) && dis->i)
		return s;
	int64_t nbytes = dt_bytes(b->dt), dt;
	if (l->dev_type && ex_is_const_int(l->dev_type, &dt) && dt == DL_CPU && b->scope == K.global) {
		int64_t size = 1, c;
		int constant = 1;
		for (int i = 0; i < b->ndim; i++) {
			if (!ex_is_const_int(b->shape[i], &c) || c < 0 || (c && size > INT64_MAX / c))
				constant = 0;
			else
				size *= c;
		}
		if (constant && size > 0 && size < MAX_STACK_ALLOCA / (nbytes ? nbytes : 1) + 1 &&
		    size * nbytes < MAX_STACK_ALLOCA)
			return s;
	}
	if (!l->dev_type) {
		fail(l, s->loc, "Unknown device type in current IR");
		return s;
	}
	if (!l->dev_id) {
		fail(l, s->loc, "Unknown device id in current IR");
		return s;
	}
	Expr *total = ex_int(a, dt_make(DT_UINT, 64, 1), nbytes);
	for (int i = 0; i < b->ndim; i++)
		total = pu_arith(a, "LowerTVMBuiltin", EX_MUL, total, b->shape[i]);
	Expr *data = ex_new(a, EX_BUFDATA, DT_HANDLE64);
	data->buf = b;
	Expr *thr = ex_call(a, K.throw_last_error, ty_prim(DT_I32), NULL, 0);
	Expr *fargs[3] = {arith_cast(a, DT_I32, l->dev_type), arith_cast(a, DT_I32, l->dev_id), data};
	Expr *fr = ex_call(a, K.free_workspace, ty_prim(DT_I32), fargs, 3);
	vec_push(l->frees, mk_if(a, ex_bin(a, EX_NE, fr, i32(a, 0)), st_eval(a, thr), NULL));
	Expr *aargs[5] = {arith_cast(a, DT_I32, l->dev_type), arith_cast(a, DT_I32, l->dev_id), total,
	                  i32(a, b->dt.code), i32(a, pu_dl_bits(b->dt))};
	Stmt *decl = st_new(a, ST_DECL, s->loc);
	decl->decl.buf = b;
	decl->decl.data = ex_call(a, K.alloc_workspace, buf_data_type(b), aargs, 5);
	Stmt *seq[2] = {decl, mk_if(a, isnullptr(a, data), st_eval(a, thr), NULL)};
	return st_seq(a, seq, 2);
}

static Stmt *lower_for_body(L *l, Stmt *s)
{
	return lower_stmt(l, s);
}

static Stmt *lower_for(L *l, Stmt *s)
{
	Expr *mn = mut_expr(&l->em, s->loop.min), *ext = mut_expr(&l->em, s->loop.extent);
	Expr *step = mut_expr(&l->em, s->loop.step);
	Stmt *body = s->loop.kind == FOR_PARALLEL ? realize_alloca(l, s->loop.body)
	                                          : with_free_scope(l, s->loop.body, lower_for_body);
	if (mn == s->loop.min && ext == s->loop.extent && step == s->loop.step && body == s->loop.body)
		return s;
	Stmt *n = st_dup(l->a, s);
	n->loop.min = mn, n->loop.extent = ext, n->loop.step = step, n->loop.body = body;
	return n;
}

static Stmt *lower_if(L *l, Stmt *s)
{
	Expr *c = mut_expr(&l->em, s->ifs.cond);
	Stmt *t = with_free_scope(l, s->ifs.then, lower_stmt);
	Stmt *f = s->ifs.els ? with_free_scope(l, s->ifs.els, lower_stmt) : NULL;
	if (c == s->ifs.cond && t == s->ifs.then && f == s->ifs.els)
		return s;
	Stmt *n = mk_if(l->a, c, t, f);
	n->loc = s->loc;
	return n;
}

static Stmt *lower_kind(L *l, Stmt *s)
{
	switch (s->kind) {
	case ST_ALLOC:
		return lower_alloc(l, s);
	case ST_FOR:
		return lower_for(l, s);
	case ST_IF:
		return lower_if(l, s);
	case ST_WHILE: {
		/* TVM gives a while body no free scope, so an allocation in it
		 * is freed once, after the loop, where its buffer is out of
		 * scope; like a For body, ours frees it in every iteration. */
		Expr *c = mut_expr(&l->em, s->wloop.cond);
		Stmt *body = with_free_scope(l, s->wloop.body, lower_stmt);
		if (c == s->wloop.cond && body == s->wloop.body)
			return s;
		Stmt *n = st_dup(l->a, s);
		n->wloop.cond = c, n->wloop.body = body;
		return n;
	}
	case ST_SEQ: /* empty (lower_chain takes the others) */
		return s;
	default:
		/* Flat statements: only expressions (and buffer fields) inside. */
		return mut_stmt(&l->em, s);
	}
}

/* The checks every statement gets after its lowering. */
static void check_lowered(L *l, Stmt *s, int nscopes)
{
	if (l->nscopes != nscopes)
		die("LowerTVMBuiltin: alloca scopes out of balance");
	Scope *sc = scope(l);
	if (sc->run.shape != -1)
		fail(l, s->loc, "Expect no tvm_stack_make_shape outside of CallNodes");
	else if (sc->run.array != 0)
		fail(l, s->loc, "Expect no tvm_stack_make_array outside of CallNodes");
}

/* A link of a chain being lowered, waiting for the part below it. */
typedef struct LFrame {
	int kind;              /* LF_* */
	Stmt *s;
	int base, nscopes;     /* STMT, ITEM: l->prep's base, the scope count; SEQ: l->items's base */
	int changed;           /* SEQ: whether the items before the last changed */
	Obj *node;             /* ATTR: the rewritten node and value */
	Expr *v;
	Expr **slot, *saved;   /* ATTR of the device: the current value it sets */
	Vec *frees, *outer;    /* ATTR: its free scope, the enclosing one */
} LFrame;

enum {
	LF_STMT, /* lower_stmt(s): the preparation goes before the result */
	LF_ITEM, /* lower_item(s): the preparation and the result go onto l->items */
	LF_ATTR, /* the attr, rebuilt around its lowered body */
	LF_SEQ,  /* the sequence, rebuilt from l->items */
};

static LFrame *push_frame(L *l, int kind, Stmt *s)
{
	if (l->nfr == l->capfr) {
		l->capfr = l->capfr ? 2 * l->capfr : 16;
		l->fr = xrealloc(l->fr, (size_t)l->capfr * sizeof *l->fr);
	}
	LFrame *f = &l->fr[l->nfr++];
	memset(f, 0, sizeof *f);
	f->kind = kind;
	f->s = s;
	return f;
}

/* lower_stmt(l, s) (item = 0), or lower_item(l, s) (item = 1: returns 0
 * and sets *changed).  Every statement collects the preparation its calls
 * need and gets it placed right before it.  An attr's body and a
 * sequence's last item are lowered by the loop, not by a call: chains of
 * flat frames (MakePackedAPI nests one attr per buffer parameter) wait on
 * l->fr and are rebuilt innermost first, in the order a recursion would
 * take, so the recursion depth is the nesting of the text.
 *
 * Attrs: the device_id and device_type attrs give the device of their
 * body and are dropped; any other attr is a free scope of its own, as in
 * TVM: the frees of the allocations made in its body go at the end of the
 * body, inside the attr (after it, the buffers would be used outside the
 * scope that defines them). */
static Stmt *lower_chain(L *l, Stmt *s, int item, int *changed)
{
	int fbase = l->nfr, ch = 0;
	const Loc *outer = l->em.at;
	Stmt *r;
	for (;;) {
		if (!s || l->failed) {
			if (item)
				vec_push(&l->items, s);
			r = s;
			break;
		}
		/* the expressions of s are lowered here or in lower_kind with
		 * mut_expr: the hooks report at s */
		if (s->loc.file >= 0)
			l->em.at = &s->loc;
		LFrame *f = push_frame(l, item ? LF_ITEM : LF_STMT, s);
		f->base = l->prep.n;
		f->nscopes = l->nscopes;
		if (s->kind == ST_ATTR) {
			int is_id = s->attr.key == K.device_id, is_type = s->attr.key == K.device_type;
			Obj *node = NULL;
			Expr *v = NULL, **slot = NULL, *saved = NULL;
			if (is_id || is_type) {
				slot = is_id ? &l->dev_id : &l->dev_type;
				saved = *slot;
				*slot = s->attr.value;
			} else {
				node = mut_obj(&l->em, s->attr.node);
				v = mut_expr(&l->em, s->attr.value);
			}
			f = push_frame(l, LF_ATTR, s);
			f->node = node, f->v = v, f->slot = slot, f->saved = saved;
			f->frees = xcalloc(1, sizeof *f->frees);
			f->outer = l->frees;
			l->frees = f->frees;
			s = s->attr.body;
			item = 0;
		} else if (s->kind == ST_SEQ && s->seq.n > 0) {
			int base = l->items.n, c = 0;
			for (int i = 0; i < s->seq.n - 1; i++)
				c |= lower_item(l, s->seq.items[i]);
			f = push_frame(l, LF_SEQ, s);
			f->base = base;
			f->changed = c;
			s = s->seq.items[s->seq.n - 1];
			item = 1;
		} else {
			r = lower_kind(l, s);
			break;
		}
	}
	while (l->nfr > fbase) {
		LFrame f = l->fr[--l->nfr];
		switch (f.kind) {
		case LF_ATTR: {
			l->frees = f.outer;
			Vec *fv = f.frees;
			if (fv->n && r) {
				Stmt **seq = xmalloc((size_t)(fv->n + 1) * sizeof *seq);
				seq[0] = r;
				for (int i = 0; i < fv->n; i++)
					seq[i + 1] = fv->v[fv->n - 1 - i];
				r = st_seq(l->a, seq, fv->n + 1);
				free(seq);
			}
			vec_free(fv);
			free(fv);
			if (f.slot) {
				*f.slot = f.saved;
			} else if (f.node != f.s->attr.node || f.v != f.s->attr.value || r != f.s->attr.body) {
				Stmt *n = st_dup(l->a, f.s);
				n->attr.node = f.node, n->attr.value = f.v, n->attr.body = r;
				r = n;
			} else {
				r = f.s;
			}
			break;
		}
		case LF_SEQ:
			r = f.changed | ch ? st_seq(l->a, (Stmt **)l->items.v + f.base, l->items.n - f.base) : f.s;
			l->items.n = f.base;
			break;
		case LF_STMT:
			check_lowered(l, f.s, f.nscopes);
			if (l->prep.n > f.base) {
				vec_push(&l->prep, r);
				r = st_seq(l->a, (Stmt **)l->prep.v + f.base, l->prep.n - f.base);
			}
			l->prep.n = f.base;
			break;
		case LF_ITEM:
			check_lowered(l, f.s, f.nscopes);
			ch = r != f.s || l->prep.n > f.base;
			for (int i = f.base; i < l->prep.n; i++)
				vec_push(&l->items, l->prep.v[i]);
			vec_push(&l->items, r);
			l->prep.n = f.base;
			break;
		}
	}
	if (changed)
		*changed = ch;
	l->em.at = outer;
	return r;
}

static Stmt *lower_stmt(L *l, Stmt *s)
{
	return lower_chain(l, s, 0, NULL);
}

/* lower_stmt for an item of a sequence: the preparation and the lowered
 * statement go onto l->items, where the sequence's st_seq splices them
 * just as it would splice the sequence lower_stmt builds of them (no
 * sequence in between).  Returns 1 when that is not s alone. */
static int lower_item(L *l, Stmt *s)
{
	int changed;
	lower_chain(l, s, 1, &changed);
	return changed;
}

/* The items of sequence s lowered onto l->items; 1 when they changed. */
static int lower_items(L *l, Stmt *s)
{
	int changed = 0;
	for (int i = 0; i < s->seq.n; i++)
		changed |= lower_item(l, s->seq.items[i]);
	return changed;
}

static Scope *push_scope(L *l)
{
	if (l->nscopes == l->capscopes) {
		l->capscopes = l->capscopes ? 2 * l->capscopes : 4;
		l->scopes = xrealloc(l->scopes, (size_t)l->capscopes * sizeof *l->scopes);
	}
	Scope *sc = &l->scopes[l->nscopes++];
	memset(sc, 0, sizeof *sc);
	sc->max.shape = sc->run.shape = -1;
	sc->stack_array = var_new(l->a, K.stack_array, K.void_ptr);
	sc->stack_ffi_any = var_new(l->a, K.stack_ffi_any, K.void_ptr);
	return sc;
}

static void pop_scope(L *l)
{
	free(scope(l)->consts);
	l->nscopes--;
}

static Buffer *shape_stack(Arena *a, int64_t n)
{
	Expr **shape = ar_alloc(a, sizeof(Expr *));
	shape[0] = ex_int(a, DT_I64, n);
	return buf_new(a, K.stack_shape, DT_I64, shape, 1);
}

/* VisitBodyAndRealizeAlloca: the function body and each parallel loop body
 * get their own stacks, sized by a first run over the body (the precheck,
 * which leaves parallel loop bodies to their own).  Without parallel
 * loops, that first run and the real one take the same steps and report
 * the same first error, so one run does (l->single): it takes the sizes
 * as it goes, and the shape stack's extent is filled in after.  A single
 * run that meets a parallel loop stops (l->restart, nothing reported yet:
 * an error before the loop would have stopped it first) and the function
 * is lowered again the two-run way, which reports an error outside
 * parallel bodies before any inside. */
static Stmt *realize_alloca(L *l, Stmt *body)
{
	Arena *a = l->a;
	if (l->precheck)
		return body;
	if (l->single && l->nscopes) {
		l->restart = 1;
		l->failed = 1;
		return body;
	}

	Sizes max = {-1, 0, 0};
	if (!l->single) {
		/* The precheck: the same lowering, for its stack sizes only. */
		L pre = *l;
		pre.precheck = 1;
		pre.scopes = NULL;
		pre.nscopes = pre.capscopes = 0;
		pre.em.data = &pre;
		pre.em.bufmemo = (PtrMap){0};
		Vec pfrees = {0};
		pre.frees = &pfrees;
		pre.prep = (Vec){0};
		pre.items = (Vec){0};
		pre.fr = NULL;
		pre.nfr = pre.capfr = 0;
		push_scope(&pre)->stack_shape = shape_stack(a, 0);
		lower_stmt(&pre, body);
		max = pre.scopes[0].max;
		l->failed |= pre.failed;
		pop_scope(&pre);
		free(pre.scopes);
		mut_done(&pre.em);
		vec_free(&pfrees);
		vec_free(&pre.prep);
		vec_free(&pre.items);
		free(pre.fr);
		if (l->failed)
			return body;
	}

	Scope *sc = push_scope(l);
	sc->max = max;
	/* single: extent 0 until the size is known (below) */
	sc->stack_shape = shape_stack(a, max.shape != -1 ? max.shape : 0);
	/* A sequence (the usual body) is lowered item by item onto l->items
	 * (what with_free_scope and lower_stmt do, without building the
	 * sequences in between), so that the stack allocations, its items and
	 * the frees make one sequence; else r is the lowered body. */
	Stmt *r = NULL;
	int base = l->items.n, flat = 0; /* flat: the new items are above base */
	if (body && body->kind == ST_SEQ && !l->failed) {
		Vec frees = {0}, *outer = l->frees;
		l->frees = &frees;
		int nscopes = l->nscopes, changed = lower_items(l, body);
		l->frees = outer;
		check_lowered(l, body, nscopes);
		for (int i = frees.n - 1; i >= 0; i--)
			vec_push(&l->items, frees.v[i]);
		if (!changed && !frees.n)
			r = body;
		else
			flat = 1;
		vec_free(&frees);
	} else {
		r = with_free_scope(l, body, lower_stmt);
	}
	sc = scope(l);
	max = sc->max;
	Stmt *items[4];
	int n = 0;
	if (max.arg) {
		Stmt *s = st_new(a, ST_BIND, NOLOC);
		Expr *args[2] = {ex_str(a, K.tvm_ffi_any), i32(a, max.arg)};
		s->bind.var = sc->stack_ffi_any;
		s->bind.value = ex_call(a, K.stack_alloca, K.void_ptr, args, 2);
		items[n++] = s;
	}
	if (max.array) {
		Stmt *s = st_new(a, ST_BIND, NOLOC);
		Expr *args[2] = {ex_str(a, K.array), i32(a, max.array)};
		s->bind.var = sc->stack_array;
		s->bind.value = ex_call(a, K.stack_alloca, K.void_ptr, args, 2);
		items[n++] = s;
	}
	if (max.shape != -1) {
		/* the buffer and its shape array are this run's: still ours to
		 * complete */
		sc->stack_shape->shape[0] = ex_int(a, DT_I64, max.shape);
		Stmt *s = st_new(a, ST_DECL, NOLOC);
		Expr *args[2] = {ex_str(a, K.shape), i32(a, max.shape)};
		s->decl.buf = sc->stack_shape;
		s->decl.data = ex_call(a, K.stack_alloca, buf_data_type(sc->stack_shape), args, 2);
		items[n++] = s;
	}
	if (flat) {
		/* the items after the allocations */
		int k = l->items.n - base;
		for (int i = 0; i < n; i++)
			vec_push(&l->items, NULL);
		Stmt **v = (Stmt **)l->items.v + base;
		memmove(v + n, v, (size_t)k * sizeof *v);
		memcpy(v, items, (size_t)n * sizeof *v);
		r = st_seq(a, v, n + k);
	} else if (n && r) {
		items[n++] = r;
		r = st_seq(a, items, n);
	}
	l->items.n = base;
	pop_scope(l);
	return r;
}

/* ------------------------------------------------------------ the pass */

/* IsHostFunc: tirx.is_host_func, else a target with the "cpu" key. */
static int is_host_func(const Func *f)
{
	Obj *h = obj_dict_get(f->attrs, "tirx.is_host_func");
	if (h && (h->kind == OB_BOOL || h->kind == OB_INT) && h->i)
		return 1;
	Obj *t = func_target(f);
	return t && target_is_cpu(t);
}

static int target_device_type(const Obj *t)
{
	Sym k = target_kind(t);
	if (k && (!strcmp(k, "cuda") || !strcmp(k, "nvptx")))
		return 2;
	if (k && !strcmp(k, "rocm"))
		return 10;
	return DL_CPU;
}

/* Lowers f's body in l (reset for it, its stacks kept); NULL on failure. */
static Stmt *lower_func(L *l, Arena *a, Func *f, int single)
{
	Vec prepv = l->prep, items = l->items;
	Scope *scopes = l->scopes;
	int capscopes = l->capscopes;
	struct LFrame *fr = l->fr;
	int capfr = l->capfr;
	*l = (L){0};
	l->a = a;
	l->em.a = a;
	l->em.expr = lower_expr;
	l->em.data = l;
	l->single = single;
	l->prep = prepv, l->prep.n = 0;
	l->items = items, l->items.n = 0;
	l->scopes = scopes, l->capscopes = capscopes;
	l->fr = fr, l->capfr = capfr;
	Obj *t = func_target(f);
	if (t)
		l->dev_type = i32(a, target_device_type(t));
	Vec frees = {0};
	l->frees = &frees;
	Stmt *body = realize_alloca(l, f->body);
	mut_done(&l->em);
	vec_free(&frees);
	while (l->nscopes)
		pop_scope(l);
	return l->failed ? NULL : body;
}

int pass_lower_tvm_builtin(Module **mp, PassCtx *cx)
{
	Module *m = *mp;
	(void)cx;
	consts_init(m->arena);
	L l = {0};
	int failed = 0;
	int lo, hi;
	pass_range(cx, m, &lo, &hi);
	for (int i = lo; i < hi && !failed; i++) {
		Func *f = m->funcs[i];
		if (!is_host_func(f))
			continue;
		Stmt *body = lower_func(&l, m->arena, f, 1);
		if (l.restart)
			body = lower_func(&l, m->arena, f, 0);
		if (body)
			pu_set_body(m, i, body);
		failed |= l.failed;
	}
	vec_free(&l.prep);
	vec_free(&l.items);
	free(l.scopes);
	free(l.fr);
	return failed;
}
