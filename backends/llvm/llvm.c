/* llvm.c: host code through LLVM 19 (C API only): the CPU functions the
 * default pipeline leaves become LLVM IR, optimized with LLVM's pass
 * pipeline and written as textual IR, assembly or an x86-64 ELF object.
 *
 * Expects: a module after the default pipeline (MakePackedAPI,
 * LowerTVMBuiltin, LowerIntrin have run) whose functions all have a CPU
 * target (llvm): packed entry functions (calling_conv 1, the TVM-FFI
 * safe-call signature `(self_handle, args, num_args, result) -> int32`,
 * exported under their global_symbol `__tvm_ffi_<name>`), and private
 * helpers (internal linkage).  Flat one-index buffer accesses.
 * Emits: one LLVM module ("tirxc"), target triple the default one of the
 * LLVM we link (x86-64 only), CPU "generic" with no extra features, so
 * that the same input and options give the same bytes on every machine;
 * PIC, small code model.  -O0..-O3 run LLVM's "default<On>" pipeline and
 * the matching code generation level.
 *
 * What each construct becomes, following TVM 0.27's CodeGenLLVM/CodeGenCPU:
 *   Bind/Let       SSA values (vars are immutable);
 *   AssertStmt     a branch to a cold block that calls
 *                  TVMFFIErrorSetRaisedFromCStrParts(kind, parts, n) with a
 *                  constant array of the message parts, then `ret i32 -1`;
 *   tvm_struct_get/set   loads and stores at the DLTensor / TVMFFIAny
 *                  offsets of the TVM-FFI ABI (docs/backends.md);
 *   storage_alignment    an llvm.assume with an "align" operand bundle on
 *                  the data pointer of the buffer it names, at the
 *                  DeclBuffer of that buffer and of buffers declared over
 *                  its data (TVM HEAD's physical-root rule);
 *   serial loops   a header block with a phi;
 *   T.parallel     the loop body in a private `__tvm_parallel_lambda`
 *                  (i32 task_id, ptr penv, ptr cdata), the values it uses
 *                  packed in a closure struct, TVMBackendParallelLaunch(f,
 *                  closure, 0); each task runs a contiguous chunk;
 *                  pragma_parallel_launch_point: one launch of its body;
 *                  pragma_parallel_barrier_when_finish there ->
 *                  TVMBackendParallelBarrier after its body;
 *   if_then_else   branches and a phi (the unselected side is not run);
 *   bool           i1 in registers, i8 in memory;
 *   math           call_llvm_(pure_)intrin by intrinsic name,
 *                  call_(pure_)extern to C functions (libm);
 *   calls          of private functions: direct calls (they may return a
 *                  value, which TVM 0.27's LLVM backend refuses); of other
 *                  exported functions (tvm_call_cpacked_lowered): a direct
 *                  call of __tvm_ffi_<name> on the TVMFFIAny cells, a
 *                  non-zero return passed on.
 *
 * An entry function exported under another name also gets TVM's weak
 * `__tvm_ffi_main` that forwards to it.
 *
 * Deviations from TVM 0.27, all without effect on behaviour: the
 * compute_scope is compiled inline (0.27's LLVM inlines it anyway); asserts
 * call the runtime directly rather than through an outlined
 * `__tvm_set_raised_N` helper; runtime functions are called directly, not
 * through weak `__TVM*` context slots (the object is self-contained: see
 * docs/backends.md); no debug information; no weak fp16 conversion
 * helpers (the C library provides them).
 *
 * Refused with a located error, never compiled approximately: functions
 * with a GPU target or kernels, calls of packed functions by name
 * (tvm_call_packed_lowered: kernel launches, global functions), predicated
 * loads/stores, multi-index buffer accesses, bf16/fp8/fp6/fp4 values (the
 * storage passes must have legalized them to integers), nested parallel
 * loops, attributes and ops this file does not know.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include "backend.h"

/* TVMStructFieldKind (MakePackedAPI's field codes) */
enum {
	F_ADDR = 0, F_DATA = 1, F_SHAPE = 2, F_STRIDES = 3, F_NDIM = 4, F_CODE = 5,
	F_BITS = 6, F_LANES = 7, F_BYTE_OFFSET = 8, F_DEVICE_ID = 9, F_DEVICE_TYPE = 10,
	F_ANY_TYPE_INDEX = 13, F_ANY_PADDING = 14, F_ANY_VALUE = 15, F_INT64_ELEM = 17,
};

/* The ops this file compiles, looked up once per run. */
#define LL_OPS(X) \
	X(struct_get, "tirx.tvm_struct_get") \
	X(struct_set, "tirx.tvm_struct_set") \
	X(isnullptr, "tirx.isnullptr") \
	X(reinterpret, "tirx.reinterpret") \
	X(add_byte_offset, "tirx.handle_add_byte_offset") \
	X(if_then_else, "tirx.if_then_else") \
	X(address_of, "tirx.address_of") \
	X(stack_alloca, "tirx.tvm_stack_alloca") \
	X(make_shape, "tirx.tvm_stack_make_shape") \
	X(alloc_ws, "tirx.TVMBackendAllocWorkspace") \
	X(free_ws, "tirx.TVMBackendFreeWorkspace") \
	X(throw_last_error, "tirx.tvm_throw_last_error") \
	X(check_return, "tirx.tvm_check_return") \
	X(llvm_intrin, "tirx.call_llvm_intrin") \
	X(llvm_pure_intrin, "tirx.call_llvm_pure_intrin") \
	X(call_extern, "tirx.call_extern") \
	X(call_pure_extern, "tirx.call_pure_extern") \
	X(bit_and, "tirx.bitwise_and") \
	X(bit_or, "tirx.bitwise_or") \
	X(bit_xor, "tirx.bitwise_xor") \
	X(bit_not, "tirx.bitwise_not") \
	X(shl, "tirx.shift_left") \
	X(shr, "tirx.shift_right") \
	X(likely, "tirx.likely") \
	X(isnan, "tirx.isnan") \
	X(assume, "tirx.assume") \
	X(ret, "tirx.ret") \
	X(packed_lowered, "tirx.tvm_call_packed_lowered") \
	X(cpacked_lowered, "tirx.tvm_call_cpacked_lowered")

#define LL_OP_FIELD(id, name) const Op *id;
static struct {
	LL_OPS(LL_OP_FIELD)
	int ready;
} O;

static void ops_init(void)
{
	if (O.ready)
		return;
#define LL_OP_GET(id, name) O.id = op_get(name);
	LL_OPS(LL_OP_GET)
	O.ready = 1;
}

typedef struct Loop {
	LLVMBasicBlockRef brk, cont;
} Loop;

/* Scoped storage_alignment marks: the buffer name an attr names and its
 * alignment (the attr's node is a stand-in copy of the parameter's
 * buffer, see make_packed_api.c, so the name is what identifies it). */
typedef struct AlignMark {
	Sym name;
	int align;
} AlignMark;

typedef struct G {
	LLVMContextRef C;
	LLVMModuleRef M;
	LLVMBuilderRef B;
	LLVMTargetMachineRef TM;
	LLVMTargetDataRef TD;
	const Module *mod;
	Arena *tmp; /* scratch nodes (none survive the run) */
	/* types */
	LLVMTypeRef i1, i8, i16, i32, i64, f16, f32, f64, ptr, vd, any_t, dl_t, penv_t;
	/* the function being built */
	const Func *f;
	LLVMValueRef fn;
	LLVMTypeRef fn_ret; /* return type (i32 in lambdas) */
	LLVMBasicBlockRef entry; /* allocas go to its start */
	PtrMap vars;  /* Var* -> LLVMValueRef */
	PtrMap bufs;  /* Buffer* -> data pointer */
	PtrMap balign; /* Buffer* -> (intptr) alignment promised for its data */
	AlignMark *marks;
	int nmarks, capmarks;
	Loop *loops;
	int nloops, caploops;
	/* inside a parallel lambda */
	LLVMValueRef task_id, penv;
	int in_par_loop;
	int par_loops; /* parallel loops in the current launch */
	/* module level */
	PtrMap strs;   /* Sym -> private string global */
	PtrMap funcs;  /* Func name Sym -> LLVMValueRef */
	PtrMap fdecl;  /* Func name Sym -> const Func* */
	Loc at;
	/* The last intrinsic call, for the verifier's refusal: an intrinsic
	 * name resolves to a declaration of whatever types the call has, and
	 * only LLVM's verifier knows which types each intrinsic takes. */
	int intrin_used;
	Loc intrin_at;
	const Func *intrin_fn;
	int failed;
} G;

/* ------------------------------------------------------------ errors */

static void fail(G *g, const char *fmt, ...) TIR_PRINTF(2, 3);
static void fail(G *g, const char *fmt, ...)
{
	if (g->failed)
		return; /* the first error is the one that matters */
	Loc l = g->at.file >= 0 ? g->at : g->f ? g->f->loc : NOLOC;
	Buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (g->f)
		diag_error(l, "in function '%s': host code generation: %s", g->f->name, b.s);
	else
		diag_error(l, "host code generation: %s", b.s);
	buf_free(&b);
	g->failed = 1;
}

/* ------------------------------------------------------------- types */

static const char *dts(DType t, char *buf)
{
	return dt_str(t, buf);
}

/* The register type of a value of dtype t; NULL (after an error) for
 * types host code cannot hold. */
static LLVMTypeRef ty_of(G *g, DType t)
{
	LLVMTypeRef e = NULL;
	char b[32];
	if (dt_is_void(t))
		return g->vd;
	switch (t.code) {
	case DT_BOOL: e = g->i1; break;
	case DT_INT:
	case DT_UINT:
		if (t.bits >= 1 && t.bits <= 64)
			e = LLVMIntTypeInContext(g->C, t.bits);
		break;
	case DT_FLOAT:
		e = t.bits == 16 ? g->f16 : t.bits == 32 ? g->f32 : t.bits == 64 ? g->f64 : NULL;
		break;
	case DT_HANDLE: e = g->ptr; break;
	default: break;
	}
	if (!e) {
		if (dt_is_custom_float(t))
			fail(g, "%s values are not supported in host code (the storage legalization "
			     "passes turn them into unsigned integers; run the default pipeline)", dts(t, b));
		else
			fail(g, "type %s is not supported in host code", dts(t, b));
		return NULL;
	}
	return t.lanes > 1 ? LLVMVectorType(e, t.lanes) : e;
}

/* The memory type of an element of dtype t: bool is a byte. */
static LLVMTypeRef mem_ty(G *g, DType t)
{
	if (t.code == DT_BOOL)
		return t.lanes > 1 ? LLVMVectorType(g->i8, t.lanes) : g->i8;
	return ty_of(g, t);
}

static LLVMTypeRef tty_of(G *g, TType t)
{
	if (t.kind == TY_PTR)
		return g->ptr;
	if (t.kind == TY_VOID)
		return g->vd;
	if (t.kind == TY_PRIM)
		return ty_of(g, t.dt);
	fail(g, "this type is not supported in host code");
	return NULL;
}

static int is_signed(DType t)
{
	return t.code == DT_INT;
}

static LLVMValueRef undef_of(G *g, DType t)
{
	LLVMTypeRef ty = ty_of(g, t);
	return LLVMGetUndef(ty && LLVMGetTypeKind(ty) != LLVMVoidTypeKind ? ty : g->i32);
}

static LLVMValueRef ci(LLVMTypeRef ty, int64_t v)
{
	return LLVMConstInt(ty, (unsigned long long)v, 1);
}

static LLVMValueRef i32c(G *g, int64_t v)
{
	return ci(g->i32, v);
}

static void name_value(LLVMValueRef v, Sym name)
{
	size_t len = 0;
	if (name && (LLVMIsAInstruction(v) || LLVMIsAArgument(v)) && (LLVMGetValueName2(v, &len), len == 0))
		LLVMSetValueName2(v, name, strlen(name));
}

static int terminated(G *g)
{
	return LLVMGetBasicBlockTerminator(LLVMGetInsertBlock(g->B)) != NULL;
}

/* After a terminator: a fresh block for the dead code that may follow. */
static void dead_block(G *g)
{
	LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, g->fn, "unreachable"));
}

static LLVMBasicBlockRef new_block(G *g, const char *name)
{
	return LLVMAppendBasicBlockInContext(g->C, g->fn, name);
}

static void br(G *g, LLVMBasicBlockRef to)
{
	if (!terminated(g))
		LLVMBuildBr(g->B, to);
}

/* An alloca at the start of the entry block (outside any loop). */
static LLVMValueRef entry_alloca(G *g, LLVMTypeRef ty, unsigned align, const char *name)
{
	LLVMBasicBlockRef cur = LLVMGetInsertBlock(g->B);
	LLVMValueRef first = LLVMGetFirstInstruction(g->entry);
	if (first)
		LLVMPositionBuilderBefore(g->B, first);
	else
		LLVMPositionBuilderAtEnd(g->B, g->entry);
	LLVMValueRef a = LLVMBuildAlloca(g->B, ty, name);
	if (align)
		LLVMSetAlignment(a, align);
	LLVMPositionBuilderAtEnd(g->B, cur);
	return a;
}

/* A private NUL-terminated string constant, one per distinct string. */
static LLVMValueRef str_const(G *g, Sym s)
{
	LLVMValueRef v = pmap_get(&g->strs, s);
	if (v)
		return v;
	size_t n = sym_len(s);
	LLVMValueRef init = LLVMConstStringInContext(g->C, s, (unsigned)n, 0);
	char name[32];
	snprintf(name, sizeof name, ".str.%d", g->strs.n);
	v = LLVMAddGlobal(g->M, LLVMTypeOf(init), name);
	LLVMSetInitializer(v, init);
	LLVMSetGlobalConstant(v, 1);
	LLVMSetLinkage(v, LLVMPrivateLinkage);
	LLVMSetUnnamedAddress(v, LLVMGlobalUnnamedAddr);
	LLVMSetAlignment(v, 1);
	pmap_put(&g->strs, s, v);
	return v;
}

/* An external function of the given type, declared once; NULL (after an
 * error) when the name is already declared with another type. */
static LLVMValueRef extern_fn(G *g, const char *name, LLVMTypeRef fty)
{
	LLVMValueRef f = LLVMGetNamedFunction(g->M, name);
	if (!f) {
		f = LLVMAddFunction(g->M, name, fty);
		return f;
	}
	if (LLVMGlobalGetValueType(f) != fty) {
		fail(g, "'%s' is called with two different signatures", name);
		return NULL;
	}
	return f;
}

static LLVMValueRef call(G *g, LLVMValueRef f, LLVMValueRef *args, unsigned n, const char *name)
{
	LLVMTypeRef fty = LLVMGlobalGetValueType(f);
	if (LLVMGetTypeKind(LLVMGetReturnType(fty)) == LLVMVoidTypeKind)
		name = "";
	return LLVMBuildCall2(g->B, fty, f, args, n, name);
}

/* Branch weights: the first successor (likely) vs. the second. */
static void set_likely(G *g, LLVMValueRef brinst, int first_likely)
{
	LLVMMetadataRef md[3];
	md[0] = LLVMMDStringInContext2(g->C, "branch_weights", 14);
	md[1] = LLVMValueAsMetadata(i32c(g, first_likely ? 1048576 : 1));
	md[2] = LLVMValueAsMetadata(i32c(g, first_likely ? 1 : 1048576));
	LLVMValueRef node = LLVMMetadataAsValue(g->C, LLVMMDNodeInContext2(g->C, md, 3));
	LLVMSetMetadata(brinst, LLVMGetMDKindIDInContext(g->C, "prof", 4), node);
}

/* `ret` of an error code from the function being built (i32 functions:
 * packed functions and parallel lambdas). */
static int ret_code(G *g, LLVMValueRef code)
{
	if (g->fn_ret != g->i32) {
		fail(g, "an error return (assert, failed call) needs a function that returns int32");
		return 1;
	}
	LLVMBuildRet(g->B, code);
	return 0;
}

/* ------------------------------------------------------- expressions */

static LLVMValueRef gen(G *g, Expr *e);
static void gen_stmt(G *g, Stmt *s);

static LLVMValueRef splat(G *g, LLVMValueRef v, int lanes)
{
	LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(v), (unsigned)lanes);
	LLVMValueRef x = LLVMBuildInsertElement(g->B, LLVMGetPoison(vt), v, i32c(g, 0), "");
	LLVMValueRef mask = LLVMConstNull(LLVMVectorType(g->i32, (unsigned)lanes));
	return LLVMBuildShuffleVector(g->B, x, LLVMGetPoison(vt), mask, "");
}

/* TVM's cast semantics (CodeGenLLVM::CreateCast). */
static LLVMValueRef cast_to(G *g, DType from, DType to, LLVMValueRef v)
{
	LLVMTypeRef tt = ty_of(g, to);
	if (!tt || g->failed)
		return undef_of(g, to);
	if (LLVMTypeOf(v) == tt)
		return v;
	if (from.lanes != to.lanes) {
		char a[32], b[32];
		fail(g, "cast from %s to %s changes the number of lanes", dts(from, a), dts(to, b));
		return undef_of(g, to);
	}
	if (to.code == DT_BOOL) {
		if (from.code == DT_FLOAT)
			return LLVMBuildFCmp(g->B, LLVMRealUNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
		if (from.code == DT_HANDLE)
			return LLVMBuildIsNotNull(g->B, v, "");
		return LLVMBuildICmp(g->B, LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
	}
	if (from.code == DT_HANDLE && to.code == DT_HANDLE)
		return v;
	if (from.code == DT_HANDLE)
		return LLVMBuildPtrToInt(g->B, v, tt, "");
	if (to.code == DT_HANDLE)
		return LLVMBuildIntToPtr(g->B, v, tt, "");
	int ffloat = from.code == DT_FLOAT, tfloat = to.code == DT_FLOAT;
	if (!ffloat && !tfloat)
		return LLVMBuildIntCast2(g->B, v, tt, is_signed(from), "");
	if (ffloat && !tfloat)
		return is_signed(to) ? LLVMBuildFPToSI(g->B, v, tt, "") : LLVMBuildFPToUI(g->B, v, tt, "");
	if (!ffloat && tfloat)
		return is_signed(from) ? LLVMBuildSIToFP(g->B, v, tt, "") : LLVMBuildUIToFP(g->B, v, tt, "");
	return LLVMBuildFPCast(g->B, v, tt, "");
}

/* A value brought to the register type of dtype t (loads of bool bytes). */
static LLVMValueRef from_mem(G *g, DType t, LLVMValueRef v)
{
	if (t.code == DT_BOOL)
		return LLVMBuildICmp(g->B, LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
	return v;
}

static LLVMValueRef to_mem(G *g, DType t, LLVMValueRef v)
{
	if (t.code == DT_BOOL)
		return LLVMBuildZExt(g->B, v, mem_ty(g, t), "");
	return v;
}

static LLVMValueRef buf_ptr(G *g, Buffer *b)
{
	LLVMValueRef p = pmap_get(&g->bufs, b);
	if (!p)
		fail(g, "buffer '%s' is used where its data pointer is not known", b->name);
	return p;
}

static int elem_align(DType t)
{
	DType e = dt_element(t);
	int n = e.code == DT_BOOL ? 1 : dt_bytes(e);
	return n > 0 ? n : 1;
}

/* Whether a value of type v may be loaded from or stored into a buffer of
 * type b: the same element type (a vector of b's elements, or b itself). */
static int same_elem(DType b, DType v)
{
	return b.code == v.code && b.bits == v.bits && (b.lanes == 1 || b.lanes == v.lanes);
}

/* Whether idx is a ramp with stride 1 (a contiguous vector access). */
static int dense_ramp(Expr *idx)
{
	int64_t s;
	return idx->kind == EX_RAMP && ex_is_const_int(idx->ramp.stride, &s) && s == 1;
}

/* The address of element idx (scalar) of buffer b. */
static LLVMValueRef elem_addr(G *g, Buffer *b, LLVMValueRef base, LLVMValueRef idx)
{
	LLVMTypeRef et = mem_ty(g, b->dt);
	if (!et)
		return LLVMGetUndef(g->ptr);
	return LLVMBuildInBoundsGEP2(g->B, et, base, &idx, 1, "");
}

static LLVMValueRef gen_load(G *g, Expr *e)
{
	Buffer *b = e->load.buf;
	if (e->load.pred) {
		fail(g, "predicated loads are not supported in host code");
		return undef_of(g, e->dt);
	}
	if (e->load.nidx != 1) {
		fail(g, "buffer '%s' is accessed with %d indices (host code needs flat buffers)",
		     b->name, e->load.nidx);
		return undef_of(g, e->dt);
	}
	if (!same_elem(b->dt, e->dt)) {
		char x[32], y[32];
		fail(g, "a %s load from buffer '%s' of %s", dts(e->dt, x), b->name, dts(b->dt, y));
		return undef_of(g, e->dt);
	}
	LLVMValueRef base = buf_ptr(g, b);
	LLVMTypeRef rt = ty_of(g, e->dt), mt = mem_ty(g, e->dt);
	if (!base || !rt || g->failed)
		return undef_of(g, e->dt);
	Expr *idx = e->load.idx[0];
	int al = elem_align(b->dt);
	if (idx->dt.lanes == 1 || (dense_ramp(idx) && b->dt.lanes == 1 && idx->dt.lanes == e->dt.lanes)) {
		Expr *at = idx->dt.lanes == 1 ? idx : idx->ramp.base;
		LLVMValueRef p = elem_addr(g, b, base, gen(g, at));
		LLVMValueRef v = LLVMBuildLoad2(g->B, mt, p, "");
		LLVMSetAlignment(v, (unsigned)al);
		return from_mem(g, e->dt, v);
	}
	if (b->dt.lanes != 1 || idx->dt.lanes != e->dt.lanes) {
		fail(g, "this vector load is not supported in host code");
		return undef_of(g, e->dt);
	}
	/* A gather: one scalar load per lane. */
	LLVMValueRef iv = gen(g, idx), r = LLVMGetPoison(rt);
	DType el = dt_element(e->dt);
	for (int k = 0; k < e->dt.lanes; k++) {
		LLVMValueRef ik = LLVMBuildExtractElement(g->B, iv, i32c(g, k), "");
		LLVMValueRef v = LLVMBuildLoad2(g->B, mem_ty(g, el), elem_addr(g, b, base, ik), "");
		LLVMSetAlignment(v, (unsigned)al);
		r = LLVMBuildInsertElement(g->B, r, from_mem(g, el, v), i32c(g, k), "");
	}
	return r;
}

static void gen_store(G *g, Stmt *s)
{
	Buffer *b = s->store.buf;
	Expr *val = s->store.value;
	if (s->store.pred) {
		fail(g, "predicated stores are not supported in host code");
		return;
	}
	if (s->store.nidx != 1) {
		fail(g, "buffer '%s' is accessed with %d indices (host code needs flat buffers)",
		     b->name, s->store.nidx);
		return;
	}
	if (!same_elem(b->dt, val->dt)) {
		char x[32], y[32];
		fail(g, "a %s store into buffer '%s' of %s", dts(val->dt, x), b->name, dts(b->dt, y));
		return;
	}
	LLVMValueRef base = buf_ptr(g, b);
	if (!base)
		return;
	LLVMValueRef v = gen(g, val);
	if (g->failed)
		return;
	Expr *idx = s->store.idx[0];
	int al = elem_align(b->dt);
	if (idx->dt.lanes == 1 || (dense_ramp(idx) && b->dt.lanes == 1 && idx->dt.lanes == val->dt.lanes)) {
		Expr *at = idx->dt.lanes == 1 ? idx : idx->ramp.base;
		LLVMValueRef p = elem_addr(g, b, base, gen(g, at));
		LLVMValueRef st = LLVMBuildStore(g->B, to_mem(g, val->dt, v), p);
		LLVMSetAlignment(st, (unsigned)al);
		return;
	}
	if (b->dt.lanes != 1 || idx->dt.lanes != val->dt.lanes) {
		fail(g, "this vector store is not supported in host code");
		return;
	}
	LLVMValueRef iv = gen(g, idx);
	DType el = dt_element(val->dt);
	for (int k = 0; k < val->dt.lanes; k++) {
		LLVMValueRef ik = LLVMBuildExtractElement(g->B, iv, i32c(g, k), "");
		LLVMValueRef vk = LLVMBuildExtractElement(g->B, v, i32c(g, k), "");
		LLVMValueRef st = LLVMBuildStore(g->B, to_mem(g, el, vk), elem_addr(g, b, base, ik));
		LLVMSetAlignment(st, (unsigned)al);
	}
}

static LLVMValueRef cmp(G *g, int kind, DType t, LLVMValueRef a, LLVMValueRef b)
{
	int sg = is_signed(t);
	if (t.code == DT_FLOAT) {
		LLVMRealPredicate p = kind == EX_EQ ? LLVMRealOEQ : kind == EX_NE ? LLVMRealONE
		                      : kind == EX_LT ? LLVMRealOLT : kind == EX_LE ? LLVMRealOLE
		                      : kind == EX_GT ? LLVMRealOGT : LLVMRealOGE;
		return LLVMBuildFCmp(g->B, p, a, b, "");
	}
	LLVMIntPredicate p = kind == EX_EQ ? LLVMIntEQ : kind == EX_NE ? LLVMIntNE
	                     : kind == EX_LT ? (sg ? LLVMIntSLT : LLVMIntULT)
	                     : kind == EX_LE ? (sg ? LLVMIntSLE : LLVMIntULE)
	                     : kind == EX_GT ? (sg ? LLVMIntSGT : LLVMIntUGT)
	                     : (sg ? LLVMIntSGE : LLVMIntUGE);
	return LLVMBuildICmp(g->B, p, a, b, "");
}

/* floor division and modulo of signed integers: the truncating result,
 * corrected when the remainder is non-zero and its sign differs from the
 * divisor's. */
static LLVMValueRef floor_divmod(G *g, int mod, DType t, LLVMValueRef a, LLVMValueRef b)
{
	if (t.code == DT_FLOAT) {
		LLVMTypeRef ty = LLVMTypeOf(a);
		LLVMValueRef fl = LLVMGetIntrinsicDeclaration(g->M, LLVMLookupIntrinsicID("llvm.floor", 10), &ty, 1);
		LLVMValueRef q = LLVMBuildFDiv(g->B, a, b, "");
		q = LLVMBuildCall2(g->B, LLVMGlobalGetValueType(fl), fl, &q, 1, "");
		return mod ? LLVMBuildFSub(g->B, a, LLVMBuildFMul(g->B, q, b, ""), "") : q;
	}
	if (!is_signed(t))
		return mod ? LLVMBuildURem(g->B, a, b, "") : LLVMBuildUDiv(g->B, a, b, "");
	LLVMValueRef zero = LLVMConstNull(LLVMTypeOf(a));
	LLVMValueRef q = LLVMBuildSDiv(g->B, a, b, "");
	LLVMValueRef r = LLVMBuildSRem(g->B, a, b, "");
	LLVMValueRef rnz = LLVMBuildICmp(g->B, LLVMIntNE, r, zero, "");
	LLVMValueRef rneg = LLVMBuildICmp(g->B, LLVMIntSLT, r, zero, "");
	LLVMValueRef bneg = LLVMBuildICmp(g->B, LLVMIntSLT, b, zero, "");
	LLVMValueRef fix = LLVMBuildAnd(g->B, rnz, LLVMBuildXor(g->B, rneg, bneg, ""), "");
	if (mod)
		return LLVMBuildSelect(g->B, fix, LLVMBuildAdd(g->B, r, b, ""), r, "");
	LLVMValueRef one = LLVMConstInt(LLVMTypeOf(a), 1, 0);
	if (t.lanes > 1)
		one = splat(g, LLVMConstInt(LLVMGetElementType(LLVMTypeOf(a)), 1, 0), t.lanes);
	return LLVMBuildSelect(g->B, fix, LLVMBuildSub(g->B, q, one, ""), q, "");
}

static LLVMValueRef gen_binary(G *g, Expr *e)
{
	DType t = e->bin.a->dt;
	LLVMValueRef a = gen(g, e->bin.a), b = gen(g, e->bin.b);
	if (g->failed)
		return undef_of(g, e->dt);
	if (LLVMTypeOf(a) != LLVMTypeOf(b)) {
		char x[32], y[32];
		fail(g, "operands of different types (%s, %s)", dts(t, x), dts(e->bin.b->dt, y));
		return undef_of(g, e->dt);
	}
	int fl = t.code == DT_FLOAT, nsw = t.code == DT_INT && t.bits >= 32;
	if (t.code == DT_HANDLE && e->kind != EX_EQ && e->kind != EX_NE) {
		fail(g, "arithmetic on pointers is not supported in host code");
		return undef_of(g, e->dt);
	}
	switch (e->kind) {
	case EX_ADD: return fl ? LLVMBuildFAdd(g->B, a, b, "") : nsw ? LLVMBuildNSWAdd(g->B, a, b, "") : LLVMBuildAdd(g->B, a, b, "");
	case EX_SUB: return fl ? LLVMBuildFSub(g->B, a, b, "") : nsw ? LLVMBuildNSWSub(g->B, a, b, "") : LLVMBuildSub(g->B, a, b, "");
	case EX_MUL: return fl ? LLVMBuildFMul(g->B, a, b, "") : nsw ? LLVMBuildNSWMul(g->B, a, b, "") : LLVMBuildMul(g->B, a, b, "");
	case EX_DIV: return fl ? LLVMBuildFDiv(g->B, a, b, "") : is_signed(t) ? LLVMBuildSDiv(g->B, a, b, "") : LLVMBuildUDiv(g->B, a, b, "");
	case EX_MOD: return fl ? LLVMBuildFRem(g->B, a, b, "") : is_signed(t) ? LLVMBuildSRem(g->B, a, b, "") : LLVMBuildURem(g->B, a, b, "");
	case EX_FLOORDIV: return floor_divmod(g, 0, t, a, b);
	case EX_FLOORMOD: return floor_divmod(g, 1, t, a, b);
	case EX_MIN: return LLVMBuildSelect(g->B, cmp(g, EX_LT, t, a, b), a, b, "");
	case EX_MAX: return LLVMBuildSelect(g->B, cmp(g, EX_GT, t, a, b), a, b, "");
	case EX_EQ: case EX_NE: case EX_LT: case EX_LE: case EX_GT: case EX_GE:
		if (t.code == DT_HANDLE && (e->kind == EX_EQ || e->kind == EX_NE))
			return LLVMBuildICmp(g->B, e->kind == EX_EQ ? LLVMIntEQ : LLVMIntNE, a, b, "");
		return cmp(g, e->kind, t, a, b);
	case EX_AND: return LLVMBuildAnd(g->B, a, b, "");
	case EX_OR: return LLVMBuildOr(g->B, a, b, "");
	}
	fail(g, "unknown binary operator");
	return undef_of(g, e->dt);
}

static LLVMValueRef gen_ramp(G *g, Expr *e)
{
	int n = e->dt.lanes;
	LLVMValueRef base = gen(g, e->ramp.base), stride = gen(g, e->ramp.stride);
	if (g->failed)
		return undef_of(g, e->dt);
	LLVMTypeRef et = LLVMTypeOf(base);
	LLVMValueRef *steps = xmalloc((size_t)n * sizeof *steps);
	for (int k = 0; k < n; k++)
		steps[k] = LLVMConstInt(et, (unsigned long long)k, 0);
	LLVMValueRef iota = LLVMConstVector(steps, (unsigned)n);
	free(steps);
	int fl = e->dt.code == DT_FLOAT;
	if (fl)
		iota = LLVMBuildUIToFP(g->B, iota, LLVMVectorType(et, (unsigned)n), "");
	LLVMValueRef off = fl ? LLVMBuildFMul(g->B, splat(g, stride, n), iota, "")
	                      : LLVMBuildMul(g->B, splat(g, stride, n), iota, "");
	return fl ? LLVMBuildFAdd(g->B, splat(g, base, n), off, "") : LLVMBuildAdd(g->B, splat(g, base, n), off, "");
}

static LLVMValueRef gen_shuffle(G *g, Expr *e)
{
	LLVMTypeRef rt = ty_of(g, e->dt);
	if (!rt)
		return undef_of(g, e->dt);
	int total = 0;
	LLVMValueRef *vs = xmalloc((size_t)(e->shuf.nvecs ? e->shuf.nvecs : 1) * sizeof *vs);
	for (int i = 0; i < e->shuf.nvecs; i++) {
		vs[i] = gen(g, e->shuf.vecs[i]);
		total += e->shuf.vecs[i]->dt.lanes;
	}
	LLVMValueRef r = e->dt.lanes > 1 ? LLVMGetPoison(rt) : NULL;
	for (int k = 0; k < e->shuf.nidx && !g->failed; k++) {
		int64_t ix;
		if (!ex_is_const_int(e->shuf.idx[k], &ix) || ix < 0 || ix >= total) {
			fail(g, "a shuffle index must be a constant lane number");
			break;
		}
		int i = 0;
		while (ix >= e->shuf.vecs[i]->dt.lanes)
			ix -= e->shuf.vecs[i++]->dt.lanes;
		LLVMValueRef lane = e->shuf.vecs[i]->dt.lanes > 1
		                            ? LLVMBuildExtractElement(g->B, vs[i], i32c(g, ix), "") : vs[i];
		if (e->dt.lanes == 1)
			r = lane;
		else
			r = LLVMBuildInsertElement(g->B, r, lane, i32c(g, k), "");
	}
	free(vs);
	return g->failed || !r ? undef_of(g, e->dt) : r;
}

/* ------------------------------------------------------------- calls */

static int const_arg(G *g, Expr *e, int64_t *v, const char *what)
{
	if (!ex_is_const_int(e, v)) {
		fail(g, "%s must be a constant", what);
		return 0;
	}
	return 1;
}

/* The address of a struct field (MakePackedAPI's field codes) and the
 * type stored there. */
static LLVMValueRef field_addr(G *g, LLVMValueRef p, LLVMValueRef idx, int kind, TType ty, LLVMTypeRef *ft)
{
	LLVMValueRef ix[3];
	ix[0] = idx;
	switch (kind) {
	case F_ADDR: *ft = g->dl_t; return LLVMBuildInBoundsGEP2(g->B, g->dl_t, p, ix, 1, "");
	case F_DATA: *ft = g->ptr; ix[1] = i32c(g, 0); break;
	case F_SHAPE: *ft = g->ptr; ix[1] = i32c(g, 4); break;
	case F_STRIDES: *ft = g->ptr; ix[1] = i32c(g, 5); break;
	case F_NDIM: *ft = g->i32; ix[1] = i32c(g, 2); break;
	case F_BYTE_OFFSET: *ft = g->i64; ix[1] = i32c(g, 6); break;
	case F_CODE: case F_BITS: case F_LANES:
		*ft = kind == F_LANES ? g->i16 : g->i8;
		ix[1] = i32c(g, 3);
		ix[2] = i32c(g, kind - F_CODE);
		return LLVMBuildInBoundsGEP2(g->B, g->dl_t, p, ix, 3, "");
	case F_DEVICE_ID: case F_DEVICE_TYPE:
		*ft = g->i32;
		ix[1] = i32c(g, 1);
		ix[2] = i32c(g, kind == F_DEVICE_ID ? 1 : 0);
		return LLVMBuildInBoundsGEP2(g->B, g->dl_t, p, ix, 3, "");
	case F_ANY_TYPE_INDEX: case F_ANY_PADDING:
		*ft = g->i32;
		ix[1] = i32c(g, kind == F_ANY_TYPE_INDEX ? 0 : 1);
		return LLVMBuildInBoundsGEP2(g->B, g->any_t, p, ix, 2, "");
	case F_ANY_VALUE:
		if (ty.kind == TY_PTR)
			*ft = g->ptr;
		else if (ty.kind == TY_PRIM && ty.dt.lanes == 1 && ty.dt.code == DT_BOOL)
			*ft = g->i8;
		else if (ty.kind == TY_PRIM && ty.dt.lanes == 1 && ty.dt.bits == 64 &&
		         (ty.dt.code == DT_INT || ty.dt.code == DT_FLOAT))
			*ft = ty.dt.code == DT_INT ? g->i64 : g->f64;
		else {
			fail(g, "this type cannot be stored in a TVMFFIAny's value field");
			*ft = g->i64;
		}
		ix[1] = i32c(g, 2);
		return LLVMBuildInBoundsGEP2(g->B, g->any_t, p, ix, 2, "");
	case F_INT64_ELEM: *ft = g->i64; return LLVMBuildInBoundsGEP2(g->B, g->i64, p, ix, 1, "");
	default:
		fail(g, "unknown struct field code %d", kind);
		*ft = g->i32;
		return LLVMGetUndef(g->ptr);
	}
	return LLVMBuildInBoundsGEP2(g->B, g->dl_t, p, ix, 2, "");
}

static LLVMValueRef gen_struct_get(G *g, Expr *e)
{
	int64_t kind;
	if (e->call.nargs < 3 || !const_arg(g, e->call.args[2], &kind, "the field of tvm_struct_get"))
		return undef_of(g, e->dt);
	LLVMValueRef p = gen(g, e->call.args[0]);
	LLVMValueRef ix = cast_to(g, e->call.args[1]->dt, DT_I64, gen(g, e->call.args[1]));
	LLVMTypeRef ft;
	LLVMValueRef addr = field_addr(g, p, ix, (int)kind, e->call.rty, &ft);
	if (g->failed)
		return undef_of(g, e->dt);
	if (kind == F_ADDR)
		return addr;
	LLVMValueRef v = LLVMBuildLoad2(g->B, ft, addr, "");
	if (e->dt.code == DT_BOOL && e->call.rty.kind == TY_PRIM)
		return LLVMBuildICmp(g->B, LLVMIntNE, v, LLVMConstNull(ft), "");
	LLVMTypeRef rt = tty_of(g, e->call.rty);
	if (rt && rt != ft) {
		if (LLVMGetTypeKind(rt) != LLVMIntegerTypeKind || LLVMGetTypeKind(ft) != LLVMIntegerTypeKind) {
			fail(g, "tvm_struct_get reads field %d as a type it does not have", (int)kind);
			return undef_of(g, e->dt);
		}
		return cast_to(g, dt_make(DT_INT, (int)LLVMGetIntTypeWidth(ft), 1), e->dt, v);
	}
	return v;
}

static LLVMValueRef gen_struct_set(G *g, Expr *e)
{
	int64_t kind;
	if (e->call.nargs < 4 || !const_arg(g, e->call.args[2], &kind, "the field of tvm_struct_set"))
		return i32c(g, 0);
	if (kind == F_ADDR) {
		fail(g, "tvm_struct_set cannot set the address field");
		return i32c(g, 0);
	}
	Expr *val = e->call.args[3];
	LLVMValueRef p = gen(g, e->call.args[0]);
	LLVMValueRef ix = cast_to(g, e->call.args[1]->dt, DT_I64, gen(g, e->call.args[1]));
	TType vt = val->kind == EX_VAR ? val->var->ty : ty_prim(val->dt);
	if (val->dt.code == DT_HANDLE)
		vt = ty_ptr(DT_VOID, NULL);
	LLVMTypeRef ft;
	LLVMValueRef addr = field_addr(g, p, ix, (int)kind, vt, &ft);
	LLVMValueRef v = gen(g, val);
	if (g->failed)
		return i32c(g, 0);
	if (val->dt.code == DT_BOOL)
		v = LLVMBuildZExt(g->B, v, ft, "");
	else if (LLVMTypeOf(v) != ft) {
		if (LLVMGetTypeKind(ft) == LLVMIntegerTypeKind && LLVMGetTypeKind(LLVMTypeOf(v)) == LLVMIntegerTypeKind)
			v = LLVMBuildIntCast2(g->B, v, ft, is_signed(val->dt), "");
		else {
			fail(g, "tvm_struct_set: the value does not fit the field");
			return i32c(g, 0);
		}
	}
	if (kind == F_ANY_VALUE && ft != g->i64 && ft != g->f64 && ft != g->ptr)
		LLVMBuildStore(g->B, LLVMConstNull(g->i64), addr); /* clear the union first */
	LLVMBuildStore(g->B, v, addr);
	return i32c(g, 0);
}

/* if_then_else(c, t, f): only the chosen side runs (it may read memory
 * that the other side guards). */
static LLVMValueRef gen_if_then_else(G *g, Expr *e)
{
	Expr **a = e->call.args;
	if (e->call.nargs != 3) {
		fail(g, "if_then_else takes 3 arguments");
		return undef_of(g, e->dt);
	}
	if (a[0]->dt.lanes > 1) { /* per lane: a select, as TVM */
		LLVMValueRef c = gen(g, a[0]), t = gen(g, a[1]), f = gen(g, a[2]);
		return g->failed ? undef_of(g, e->dt) : LLVMBuildSelect(g->B, c, t, f, "");
	}
	LLVMValueRef c = gen(g, a[0]);
	if (g->failed)
		return undef_of(g, e->dt);
	LLVMBasicBlockRef tb = new_block(g, "if_then"), fb = new_block(g, "if_else"), end = new_block(g, "if_end");
	LLVMBuildCondBr(g->B, c, tb, fb);
	LLVMPositionBuilderAtEnd(g->B, tb);
	LLVMValueRef tv = gen(g, a[1]);
	LLVMBasicBlockRef tend = LLVMGetInsertBlock(g->B);
	br(g, end);
	LLVMPositionBuilderAtEnd(g->B, fb);
	LLVMValueRef fv = gen(g, a[2]);
	LLVMBasicBlockRef fend = LLVMGetInsertBlock(g->B);
	br(g, end);
	LLVMPositionBuilderAtEnd(g->B, end);
	if (g->failed || LLVMTypeOf(tv) != LLVMTypeOf(fv))
		return undef_of(g, e->dt);
	LLVMValueRef phi = LLVMBuildPhi(g->B, LLVMTypeOf(tv), "");
	LLVMValueRef vals[2] = {tv, fv};
	LLVMBasicBlockRef bbs[2] = {tend, fend};
	LLVMAddIncoming(phi, vals, bbs, 2);
	return phi;
}

/* call_llvm_(pure_)intrin(name, args...): the intrinsic declaration whose
 * type fits the call (the overloaded types are tried as the return type,
 * then the return type and the argument types). */
static LLVMValueRef gen_intrin(G *g, Expr *e)
{
	if (e->call.nargs < 1 || e->call.args[0]->kind != EX_STR) {
		fail(g, "call_llvm_intrin needs the intrinsic's name as its first argument "
		     "(numeric intrinsic ids depend on the LLVM version)");
		return undef_of(g, e->dt);
	}
	Sym name = e->call.args[0]->s;
	unsigned id = LLVMLookupIntrinsicID(name, sym_len(name));
	if (!id) {
		fail(g, "unknown LLVM intrinsic '%s'", name);
		return undef_of(g, e->dt);
	}
	int n = e->call.nargs - 1;
	LLVMValueRef *args = xmalloc((size_t)(n + 1) * sizeof *args);
	/* LLVM reads as many overload types as the intrinsic has, unchecked:
	 * the list is padded so that a candidate too short for it reads our
	 * memory (and then fails the type comparison below). */
	LLVMTypeRef *tys = xmalloc((size_t)(n + 17) * sizeof *tys);
	LLVMTypeRef rt = tty_of(g, e->call.rty);
	for (int i = 0; i < n + 17; i++)
		tys[i] = rt ? rt : g->i32;
	for (int i = 0; i < n; i++) {
		args[i] = gen(g, e->call.args[i + 1]);
		tys[i + 1] = LLVMTypeOf(args[i]);
	}
	LLVMValueRef r = undef_of(g, e->dt), fn = NULL;
	if (!g->failed && rt) {
		tys[0] = rt;
		/* candidate overload lists: [ret], [ret, args...], [args...], none */
		struct { LLVMTypeRef *t; int n; } cand[4] = {{tys, 1}, {tys, n + 1}, {tys + 1, n}, {tys, 0}};
		int ncand = LLVMIntrinsicIsOverloaded(id) ? 3 : 1;
		if (!LLVMIntrinsicIsOverloaded(id))
			cand[0].n = 0;
		for (int c = 0; c < ncand && !fn; c++) {
			if (LLVMIntrinsicIsOverloaded(id) && cand[c].n == 0)
				continue;
			LLVMTypeRef fty = LLVMIntrinsicGetType(g->C, id, cand[c].t, (size_t)cand[c].n);
			if (LLVMGetReturnType(fty) != rt || (int)LLVMCountParamTypes(fty) != n ||
			    LLVMIsFunctionVarArg(fty))
				continue;
			LLVMTypeRef *ps = xmalloc((size_t)(n + 1) * sizeof *ps);
			LLVMGetParamTypes(fty, ps);
			int ok = 1;
			for (int i = 0; i < n; i++)
				ok &= ps[i] == tys[i + 1];
			free(ps);
			if (ok)
				fn = LLVMGetIntrinsicDeclaration(g->M, id, cand[c].t, (size_t)cand[c].n);
		}
		if (!fn)
			fail(g, "LLVM intrinsic '%s' has no form for these argument and return types", name);
		else {
			r = call(g, fn, args, (unsigned)n, "");
			g->intrin_used = 1;
			g->intrin_at = g->at;
			g->intrin_fn = g->f;
		}
	}
	free(args);
	free(tys);
	return r;
}

static LLVMValueRef gen_extern(G *g, Expr *e)
{
	if (e->call.nargs < 1 || e->call.args[0]->kind != EX_STR) {
		fail(g, "call_extern needs the function's name as its first argument");
		return undef_of(g, e->dt);
	}
	int n = e->call.nargs - 1;
	LLVMValueRef *args = xmalloc((size_t)(n + 1) * sizeof *args);
	LLVMTypeRef *tys = xmalloc((size_t)(n + 1) * sizeof *tys);
	for (int i = 0; i < n; i++) {
		args[i] = gen(g, e->call.args[i + 1]);
		tys[i] = LLVMTypeOf(args[i]);
	}
	LLVMTypeRef rt = tty_of(g, e->call.rty);
	LLVMValueRef r = undef_of(g, e->dt);
	if (!g->failed && rt) {
		LLVMValueRef f = extern_fn(g, e->call.args[0]->s, LLVMFunctionType(rt, tys, (unsigned)n, 0));
		if (f)
			r = call(g, f, args, (unsigned)n, "");
		if (LLVMGetTypeKind(rt) == LLVMVoidTypeKind)
			r = i32c(g, 0);
	}
	free(args);
	free(tys);
	return r;
}

static LLVMValueRef gen_stack_alloca(G *g, Expr *e)
{
	int64_t n;
	if (e->call.nargs != 2 || e->call.args[0]->kind != EX_STR ||
	    !const_arg(g, e->call.args[1], &n, "the size of tvm_stack_alloca"))
		return LLVMGetUndef(g->ptr);
	Sym kind = e->call.args[0]->s;
	LLVMTypeRef et = !strcmp(kind, "shape") ? g->i64 : !strcmp(kind, "tvm_ffi_any") ? g->any_t
	                 : !strcmp(kind, "array") ? g->dl_t : NULL;
	if (!et || n < 0 || n > (1 << 20)) {
		fail(g, "tvm_stack_alloca(\"%s\", %lld) is not supported", kind, (long long)n);
		return LLVMGetUndef(g->ptr);
	}
	return entry_alloca(g, LLVMArrayType2(et, (uint64_t)(n ? n : 1)), 8, kind);
}

static LLVMValueRef gen_make_shape(G *g, Expr *e)
{
	int n = e->call.nargs;
	LLVMValueRef a = entry_alloca(g, LLVMArrayType2(g->i64, (uint64_t)(n ? n : 1)), 8, "shape");
	for (int i = 0; i < n; i++) {
		LLVMValueRef v = cast_to(g, e->call.args[i]->dt, DT_I64, gen(g, e->call.args[i]));
		LLVMValueRef ix = i32c(g, i);
		LLVMBuildStore(g->B, v, LLVMBuildInBoundsGEP2(g->B, g->i64, a, &ix, 1, ""));
	}
	return a;
}

static LLVMValueRef gen_workspace(G *g, Expr *e, int alloc)
{
	Expr **a = e->call.args;
	int n = alloc ? 5 : 3;
	if (e->call.nargs != n) {
		fail(g, "%s takes %d arguments", alloc ? "TVMBackendAllocWorkspace" : "TVMBackendFreeWorkspace", n);
		return alloc ? LLVMGetUndef(g->ptr) : i32c(g, 0);
	}
	LLVMTypeRef ps[5] = {g->i32, g->i32, alloc ? g->i64 : g->ptr, g->i32, g->i32};
	static const DType want[5] = {{DT_INT, 32, 1}, {DT_INT, 32, 1}, {DT_UINT, 64, 1}, {DT_INT, 32, 1}, {DT_INT, 32, 1}};
	LLVMValueRef vs[5];
	for (int i = 0; i < n; i++)
		vs[i] = !alloc && i == 2 ? gen(g, a[i]) : cast_to(g, a[i]->dt, want[i], gen(g, a[i]));
	if (g->failed)
		return alloc ? LLVMGetUndef(g->ptr) : i32c(g, 0);
	LLVMValueRef f = extern_fn(g, alloc ? "TVMBackendAllocWorkspace" : "TVMBackendFreeWorkspace",
	                           LLVMFunctionType(alloc ? g->ptr : g->i32, ps, (unsigned)n, 0));
	if (!f)
		return alloc ? LLVMGetUndef(g->ptr) : i32c(g, 0);
	return call(g, f, vs, (unsigned)n, alloc ? "workspace" : "");
}

static LLVMValueRef gen_address_of(G *g, Expr *e)
{
	Expr *l = e->call.nargs == 1 ? e->call.args[0] : NULL;
	if (!l || l->kind != EX_LOAD || l->load.nidx != 1) {
		fail(g, "address_of needs a flat buffer load");
		return LLVMGetUndef(g->ptr);
	}
	LLVMValueRef base = buf_ptr(g, l->load.buf);
	if (!base)
		return LLVMGetUndef(g->ptr);
	Expr *idx = l->load.idx[0];
	if (idx->kind == EX_RAMP)
		idx = idx->ramp.base;
	if (idx->dt.lanes != 1) {
		fail(g, "address_of a vector index");
		return LLVMGetUndef(g->ptr);
	}
	return elem_addr(g, l->load.buf, base, gen(g, idx));
}

/* A call of a function of this module (op NULL). */
static LLVMValueRef gen_func_call(G *g, Expr *e)
{
	LLVMValueRef f = pmap_get(&g->funcs, e->call.fn);
	if (!f) {
		fail(g, "call of '%s', which is not a function of this module", e->call.fn);
		return undef_of(g, e->dt);
	}
	LLVMTypeRef fty = LLVMGlobalGetValueType(f);
	int n = e->call.nargs;
	if ((int)LLVMCountParamTypes(fty) != n) {
		fail(g, "call of '%s' with %d arguments", e->call.fn, n);
		return undef_of(g, e->dt);
	}
	LLVMTypeRef *ps = xmalloc((size_t)(n + 1) * sizeof *ps);
	LLVMValueRef *vs = xmalloc((size_t)(n + 1) * sizeof *vs);
	LLVMGetParamTypes(fty, ps);
	for (int i = 0; i < n; i++) {
		vs[i] = gen(g, e->call.args[i]);
		if (!g->failed && LLVMTypeOf(vs[i]) != ps[i])
			fail(g, "argument %d of the call of '%s' has the wrong type", i, e->call.fn);
	}
	LLVMValueRef r = g->failed ? undef_of(g, e->dt) : call(g, f, vs, (unsigned)n, "");
	free(ps);
	free(vs);
	if (LLVMGetTypeKind(LLVMGetReturnType(fty)) == LLVMVoidTypeKind)
		return i32c(g, 0);
	return r;
}

/* tvm_call_cpacked_lowered(name, stack, begin, end): a direct call of the
 * packed function __tvm_ffi_<name> (of this module, or an external one)
 * on the TVMFFIAny cells [begin, end) with the result in cell end; a
 * non-zero return is returned at once, as TVM does; the value is read
 * from the result cell as the call's type. */
static LLVMValueRef gen_cpacked(G *g, Expr *e)
{
	Expr **a = e->call.args;
	int64_t begin, end;
	if (e->call.nargs != 4 || a[0]->kind != EX_STR || !const_arg(g, a[2], &begin, "the first cell") ||
	    !const_arg(g, a[3], &end, "the result cell") || begin < 0 || end < begin) {
		fail(g, "malformed tvm_call_cpacked_lowered");
		return undef_of(g, e->dt);
	}
	LLVMValueRef stack = gen(g, a[1]);
	if (g->failed)
		return undef_of(g, e->dt);
	Buf name = {0};
	buf_printf(&name, "__tvm_ffi_%s", a[0]->s);
	LLVMTypeRef ps[4] = {g->ptr, g->ptr, g->i32, g->ptr};
	LLVMValueRef f = extern_fn(g, name.s, LLVMFunctionType(g->i32, ps, 4, 0));
	buf_free(&name);
	if (!f)
		return undef_of(g, e->dt);
	LLVMValueRef ib = ci(g->i64, begin), ie = ci(g->i64, end);
	LLVMValueRef args[4] = {LLVMConstNull(g->ptr), LLVMBuildInBoundsGEP2(g->B, g->any_t, stack, &ib, 1, ""),
	                        i32c(g, end - begin), LLVMBuildInBoundsGEP2(g->B, g->any_t, stack, &ie, 1, "")};
	LLVMValueRef rc = call(g, f, args, 4, "rc");
	LLVMBasicBlockRef ok = new_block(g, "call_ok"), bad = new_block(g, "call_fail");
	set_likely(g, LLVMBuildCondBr(g->B, LLVMBuildICmp(g->B, LLVMIntEQ, rc, i32c(g, 0), ""), ok, bad), 1);
	LLVMPositionBuilderAtEnd(g->B, bad);
	ret_code(g, rc);
	LLVMPositionBuilderAtEnd(g->B, ok);
	if (dt_is_void(e->dt))
		return i32c(g, 0);
	LLVMValueRef ix[2] = {ci(g->i64, end), i32c(g, 2)};
	LLVMValueRef vp = LLVMBuildInBoundsGEP2(g->B, g->any_t, stack, ix, 2, "");
	LLVMTypeRef rt = tty_of(g, e->call.rty);
	if (!rt || e->dt.lanes != 1)
		return undef_of(g, e->dt);
	if (e->call.rty.kind == TY_PTR || e->dt.code == DT_HANDLE)
		return LLVMBuildLoad2(g->B, g->ptr, vp, "");
	if (e->dt.code == DT_FLOAT)
		return cast_to(g, dt_make(DT_FLOAT, 64, 1), e->dt, LLVMBuildLoad2(g->B, g->f64, vp, ""));
	return cast_to(g, DT_I64, e->dt, LLVMBuildLoad2(g->B, g->i64, vp, ""));
}

static LLVMValueRef gen_call(G *g, Expr *e)
{
	const Op *op = e->call.op;
	Expr **a = e->call.args;
	int n = e->call.nargs;
	if (!op)
		return gen_func_call(g, e);
	if (op == O.struct_get)
		return gen_struct_get(g, e);
	if (op == O.struct_set)
		return gen_struct_set(g, e);
	if (op == O.isnullptr && n == 1)
		return LLVMBuildIsNull(g->B, gen(g, a[0]), "");
	if (op == O.reinterpret && n == 1) {
		LLVMValueRef v = gen(g, a[0]);
		LLVMTypeRef rt = ty_of(g, e->dt);
		if (g->failed || !rt)
			return undef_of(g, e->dt);
		LLVMTypeRef vt = LLVMTypeOf(v);
		if (vt == rt)
			return v;
		if (LLVMGetTypeKind(vt) == LLVMPointerTypeKind)
			return LLVMBuildPtrToInt(g->B, v, rt, "");
		if (LLVMGetTypeKind(rt) == LLVMPointerTypeKind)
			return LLVMBuildIntToPtr(g->B, v, rt, "");
		if (LLVMABISizeOfType(g->TD, vt) != LLVMABISizeOfType(g->TD, rt) ||
		    LLVMSizeOfTypeInBits(g->TD, vt) != LLVMSizeOfTypeInBits(g->TD, rt)) {
			fail(g, "reinterpret between types of different sizes");
			return undef_of(g, e->dt);
		}
		return LLVMBuildBitCast(g->B, v, rt, "");
	}
	if (op == O.add_byte_offset && n == 2) {
		LLVMValueRef p = gen(g, a[0]);
		LLVMValueRef off = cast_to(g, a[1]->dt, DT_I64, gen(g, a[1]));
		return LLVMBuildInBoundsGEP2(g->B, g->i8, p, &off, 1, "");
	}
	if (op == O.if_then_else)
		return gen_if_then_else(g, e);
	if (op == O.address_of)
		return gen_address_of(g, e);
	if (op == O.stack_alloca)
		return gen_stack_alloca(g, e);
	if (op == O.make_shape)
		return gen_make_shape(g, e);
	if (op == O.alloc_ws || op == O.free_ws)
		return gen_workspace(g, e, op == O.alloc_ws);
	if (op == O.throw_last_error) {
		if (!ret_code(g, i32c(g, -1)))
			dead_block(g);
		return i32c(g, -1);
	}
	if (op == O.check_return && n == 3) {
		int64_t want, code;
		if (!const_arg(g, a[0], &want, "tvm_check_return's expected value") ||
		    !const_arg(g, a[1], &code, "tvm_check_return's error code"))
			return i32c(g, 0);
		LLVMValueRef v = gen(g, a[2]);
		if (g->failed)
			return i32c(g, 0);
		LLVMValueRef ok = LLVMBuildICmp(g->B, LLVMIntEQ, v, LLVMConstInt(LLVMTypeOf(v), (unsigned long long)want, 1), "");
		LLVMBasicBlockRef okb = new_block(g, "call_ok"), bad = new_block(g, "call_fail");
		set_likely(g, LLVMBuildCondBr(g->B, ok, okb, bad), 1);
		LLVMPositionBuilderAtEnd(g->B, bad);
		ret_code(g, i32c(g, code));
		LLVMPositionBuilderAtEnd(g->B, okb);
		return v;
	}
	if (op == O.llvm_intrin || op == O.llvm_pure_intrin)
		return gen_intrin(g, e);
	if (op == O.call_extern || op == O.call_pure_extern)
		return gen_extern(g, e);
	if ((op == O.bit_and || op == O.bit_or || op == O.bit_xor || op == O.shl || op == O.shr) && n == 2) {
		LLVMValueRef x = gen(g, a[0]), y = gen(g, a[1]);
		if (g->failed || LLVMTypeOf(x) != LLVMTypeOf(y)) {
			fail(g, "%s on operands of different types", op->name);
			return undef_of(g, e->dt);
		}
		if (op == O.bit_and)
			return LLVMBuildAnd(g->B, x, y, "");
		if (op == O.bit_or)
			return LLVMBuildOr(g->B, x, y, "");
		if (op == O.bit_xor)
			return LLVMBuildXor(g->B, x, y, "");
		if (op == O.shl)
			return LLVMBuildShl(g->B, x, y, "");
		return is_signed(a[0]->dt) ? LLVMBuildAShr(g->B, x, y, "") : LLVMBuildLShr(g->B, x, y, "");
	}
	if (op == O.bit_not && n == 1)
		return LLVMBuildNot(g->B, gen(g, a[0]), "");
	if (op == O.likely && n == 1)
		return gen(g, a[0]);
	if (op == O.isnan && n == 1) {
		LLVMValueRef x = gen(g, a[0]);
		if (a[0]->dt.code != DT_FLOAT)
			return LLVMConstNull(ty_of(g, e->dt));
		return LLVMBuildFCmp(g->B, LLVMRealUNO, x, x, "");
	}
	if (op == O.assume && n == 1) {
		LLVMValueRef c = gen(g, a[0]);
		if (g->failed)
			return i32c(g, 0);
		LLVMValueRef f = LLVMGetIntrinsicDeclaration(g->M, LLVMLookupIntrinsicID("llvm.assume", 11), NULL, 0);
		call(g, f, &c, 1, "");
		return i32c(g, 0);
	}
	if (op == O.ret && n == 1) {
		LLVMValueRef v = gen(g, a[0]);
		if (g->failed)
			return i32c(g, 0);
		if (LLVMTypeOf(v) != g->fn_ret) {
			fail(g, "T.ret of a value that is not of the function's return type");
			return i32c(g, 0);
		}
		LLVMBuildRet(g->B, v);
		dead_block(g);
		return i32c(g, 0);
	}
	if (op == O.cpacked_lowered)
		return gen_cpacked(g, e);
	if (op == O.packed_lowered) {
		fail(g, "calls of packed functions by name (T.%s: kernel launches, global functions) "
		     "are not supported by the host code generator yet", op->script);
		return undef_of(g, e->dt);
	}
	fail(g, "T.%s is not supported in host code", op->script ? op->script : op->name);
	return undef_of(g, e->dt);
}

static LLVMValueRef gen(G *g, Expr *e)
{
	if (g->failed)
		return undef_of(g, e->dt);
	switch (e->kind) {
	case EX_INT: {
		LLVMTypeRef t = ty_of(g, e->dt);
		if (!t)
			return LLVMGetUndef(g->i32);
		if (e->dt.code == DT_FLOAT)
			return LLVMConstReal(t, (double)e->i);
		if (e->dt.code == DT_HANDLE)
			return e->i ? LLVMConstIntToPtr(LLVMConstInt(g->i64, (unsigned long long)e->i, 0), t)
			            : LLVMConstNull(t);
		LLVMTypeRef et = e->dt.lanes > 1 ? LLVMGetElementType(t) : t;
		unsigned bits = LLVMGetIntTypeWidth(et);
		uint64_t v = (uint64_t)e->i;
		if (bits < 64)
			v &= ((uint64_t)1 << bits) - 1;
		LLVMValueRef c = LLVMConstInt(et, v, 0);
		return e->dt.lanes > 1 ? splat(g, c, e->dt.lanes) : c;
	}
	case EX_FLOAT: {
		LLVMTypeRef t = ty_of(g, e->dt);
		if (!t)
			return LLVMGetUndef(g->i32);
		if (e->dt.code != DT_FLOAT) {
			fail(g, "a float constant of a non-float type");
			return LLVMGetUndef(t);
		}
		LLVMValueRef c = LLVMConstReal(e->dt.lanes > 1 ? LLVMGetElementType(t) : t, e->f);
		return e->dt.lanes > 1 ? splat(g, c, e->dt.lanes) : c;
	}
	case EX_STR:
		return str_const(g, e->s);
	case EX_VAR: {
		LLVMValueRef v = pmap_get(&g->vars, e->var);
		if (!v) {
			fail(g, "variable '%s' is used where it has no value", e->var->name);
			return undef_of(g, e->dt);
		}
		return v;
	}
	case EX_BUFDATA: {
		LLVMValueRef p = buf_ptr(g, e->buf);
		return p ? p : LLVMGetUndef(g->ptr);
	}
	case EX_BUFREF:
		fail(g, "a buffer used as a value is not supported in host code");
		return undef_of(g, e->dt);
	case EX_ADD: case EX_SUB: case EX_MUL: case EX_DIV: case EX_MOD: case EX_FLOORDIV:
	case EX_FLOORMOD: case EX_MIN: case EX_MAX: case EX_EQ: case EX_NE: case EX_LT:
	case EX_LE: case EX_GT: case EX_GE: case EX_AND: case EX_OR:
		return gen_binary(g, e);
	case EX_NOT:
		return LLVMBuildNot(g->B, gen(g, e->bin.a), "");
	case EX_CAST:
		return cast_to(g, e->bin.a->dt, e->dt, gen(g, e->bin.a));
	case EX_SELECT: {
		LLVMValueRef c = gen(g, e->sel.c), t = gen(g, e->sel.t), f = gen(g, e->sel.f);
		if (g->failed || LLVMTypeOf(t) != LLVMTypeOf(f))
			return undef_of(g, e->dt);
		return LLVMBuildSelect(g->B, c, t, f, "");
	}
	case EX_RAMP:
		return gen_ramp(g, e);
	case EX_BROADCAST: {
		LLVMValueRef v = gen(g, e->bcast.value);
		return g->failed ? undef_of(g, e->dt) : splat(g, v, e->dt.lanes);
	}
	case EX_SHUFFLE:
		return gen_shuffle(g, e);
	case EX_LET: {
		LLVMValueRef v = gen(g, e->let.value);
		name_value(v, e->let.var->name);
		pmap_put(&g->vars, e->let.var, v);
		return gen(g, e->let.body);
	}
	case EX_LOAD:
		return gen_load(g, e);
	case EX_CALL:
		return gen_call(g, e);
	}
	fail(g, "unknown expression");
	return undef_of(g, e->dt);
}

/* -------------------------------------------------------- statements */

static void assume_align(G *g, LLVMValueRef p, int align)
{
	LLVMValueRef f = LLVMGetIntrinsicDeclaration(g->M, LLVMLookupIntrinsicID("llvm.assume", 11), NULL, 0);
	LLVMValueRef args[2] = {p, ci(g->i64, align)};
	LLVMOperandBundleRef ob = LLVMCreateOperandBundle("align", 5, args, 2);
	LLVMValueRef t = LLVMConstInt(g->i1, 1, 0);
	LLVMBuildCallWithOperandBundles(g->B, LLVMGlobalGetValueType(f), f, &t, 1, &ob, 1, "");
	LLVMDisposeOperandBundle(ob);
}

static void gen_assert(G *g, Stmt *s)
{
	LLVMValueRef c = gen(g, s->assert.cond);
	if (g->failed)
		return;
	if (g->fn_ret != g->i32) {
		fail(g, "an assert needs a function that returns int32 (its failure returns -1)");
		return;
	}
	LLVMBasicBlockRef ok = new_block(g, "assert_end"), bad = new_block(g, "assert_fail");
	set_likely(g, LLVMBuildCondBr(g->B, c, ok, bad), 1);
	LLVMPositionBuilderAtEnd(g->B, bad);
	int n = s->assert.nparts;
	LLVMValueRef *ps = xmalloc((size_t)(n ? n : 1) * sizeof *ps);
	for (int i = 0; i < n; i++)
		ps[i] = str_const(g, s->assert.parts[i]);
	LLVMValueRef arr = LLVMConstArray2(g->ptr, ps, (uint64_t)n);
	free(ps);
	LLVMValueRef gv = LLVMAddGlobal(g->M, LLVMTypeOf(arr), ".assert_parts");
	LLVMSetInitializer(gv, arr);
	LLVMSetGlobalConstant(gv, 1);
	LLVMSetLinkage(gv, LLVMPrivateLinkage);
	LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
	LLVMTypeRef pt[3] = {g->ptr, g->ptr, g->i32};
	LLVMValueRef f = extern_fn(g, "TVMFFIErrorSetRaisedFromCStrParts", LLVMFunctionType(g->vd, pt, 3, 0));
	if (!f)
		return;
	LLVMValueRef args[3] = {str_const(g, s->assert.kind ? s->assert.kind : sym("RuntimeError")), gv,
	                        i32c(g, n)};
	call(g, f, args, 3, "");
	LLVMBuildRet(g->B, i32c(g, -1));
	LLVMPositionBuilderAtEnd(g->B, ok);
}

static void push_loop(G *g, LLVMBasicBlockRef brk, LLVMBasicBlockRef cont)
{
	if (g->nloops == g->caploops) {
		g->caploops = g->caploops ? 2 * g->caploops : 8;
		g->loops = xrealloc(g->loops, (size_t)g->caploops * sizeof *g->loops);
	}
	g->loops[g->nloops++] = (Loop){brk, cont};
}

/* for (v = begin; v < end; v += step) body */
static void serial_for(G *g, Var *v, LLVMValueRef begin, LLVMValueRef end, LLVMValueRef step, Stmt *body)
{
	DType t = v->dt;
	LLVMBasicBlockRef pre = LLVMGetInsertBlock(g->B);
	LLVMBasicBlockRef head = new_block(g, "for_begin"), bb = new_block(g, "for_body"),
	                  latch = new_block(g, "for_next"), exit = new_block(g, "for_end");
	LLVMBuildBr(g->B, head);
	LLVMPositionBuilderAtEnd(g->B, head);
	LLVMValueRef phi = LLVMBuildPhi(g->B, LLVMTypeOf(begin), v->name);
	LLVMValueRef c = LLVMBuildICmp(g->B, is_signed(t) ? LLVMIntSLT : LLVMIntULT, phi, end, "");
	LLVMBuildCondBr(g->B, c, bb, exit);
	LLVMPositionBuilderAtEnd(g->B, bb);
	pmap_put(&g->vars, v, phi);
	push_loop(g, exit, latch);
	gen_stmt(g, body);
	g->nloops--;
	br(g, latch);
	LLVMPositionBuilderAtEnd(g->B, latch);
	LLVMValueRef next = is_signed(t) && t.bits >= 32 ? LLVMBuildNSWAdd(g->B, phi, step, "")
	                                                  : LLVMBuildAdd(g->B, phi, step, "");
	LLVMBuildBr(g->B, head);
	LLVMValueRef vals[2] = {begin, next};
	LLVMBasicBlockRef bbs[2] = {pre, latch};
	LLVMAddIncoming(phi, vals, bbs, 2);
	LLVMPositionBuilderAtEnd(g->B, exit);
}

static void gen_parallel(G *g, Stmt *s);

static void gen_for(G *g, Stmt *s)
{
	Var *v = s->loop.var;
	if (s->loop.kind == FOR_THREAD_BINDING) {
		fail(g, "a loop bound to '%s' in host code (GPU code is not compiled here)",
		     s->loop.thread ? s->loop.thread : "a thread");
		return;
	}
	if (!dt_is_int(v->dt) || v->dt.lanes != 1) {
		fail(g, "a loop variable must be a scalar integer");
		return;
	}
	if (s->loop.kind == FOR_PARALLEL) {
		gen_parallel(g, s);
		return;
	}
	LLVMValueRef mn = cast_to(g, s->loop.min->dt, v->dt, gen(g, s->loop.min));
	LLVMValueRef ext = cast_to(g, s->loop.extent->dt, v->dt, gen(g, s->loop.extent));
	LLVMValueRef step = LLVMConstInt(ty_of(g, v->dt), 1, 0);
	if (s->loop.step) {
		int64_t st;
		if (!ex_is_const_int(s->loop.step, &st) || st <= 0) {
			fail(g, "a loop step must be a positive constant");
			return;
		}
		step = cast_to(g, s->loop.step->dt, v->dt, gen(g, s->loop.step));
	}
	if (g->failed)
		return;
	LLVMValueRef end = is_signed(v->dt) && v->dt.bits >= 32 ? LLVMBuildNSWAdd(g->B, mn, ext, "")
	                                                         : LLVMBuildAdd(g->B, mn, ext, "");
	serial_for(g, v, mn, end, step, s->loop.body);
}

/* A parallel loop inside a launch: this task's contiguous chunk of the
 * iterations, [min + min(tid*chunk, ext), min + min((tid+1)*chunk, ext))
 * with chunk = ceil(ext / num_task). */
static void parallel_loop(G *g, Stmt *s)
{
	if (g->in_par_loop) {
		fail(g, "nested parallel loops are not supported (fuse them into one)");
		return;
	}
	if (s->loop.step) {
		int64_t st;
		if (!ex_is_const_int(s->loop.step, &st) || st != 1) {
			fail(g, "a parallel loop needs step 1");
			return;
		}
	}
	Var *lv = s->loop.var;
	DType t = lv->dt;
	LLVMTypeRef lt = ty_of(g, t);
	LLVMValueRef mn = cast_to(g, s->loop.min->dt, t, gen(g, s->loop.min));
	LLVMValueRef ext = cast_to(g, s->loop.extent->dt, t, gen(g, s->loop.extent));
	if (g->failed || !lt)
		return;
	LLVMValueRef ntask = LLVMBuildLoad2(g->B, g->i32, LLVMBuildStructGEP2(g->B, g->penv_t, g->penv, 1, ""), "num_task");
	LLVMValueRef tid = LLVMBuildIntCast2(g->B, g->task_id, lt, 1, "");
	LLVMValueRef nt = LLVMBuildIntCast2(g->B, ntask, lt, 1, "");
	LLVMValueRef one = LLVMConstInt(lt, 1, 0);
	LLVMValueRef chunk = LLVMBuildSDiv(g->B, LLVMBuildSub(g->B, LLVMBuildAdd(g->B, ext, nt, ""), one, ""), nt, "");
	LLVMValueRef lo = LLVMBuildMul(g->B, tid, chunk, "");
	LLVMValueRef hi = LLVMBuildMul(g->B, LLVMBuildAdd(g->B, tid, one, ""), chunk, "");
	LLVMIntPredicate lt_p = is_signed(t) ? LLVMIntSLT : LLVMIntULT;
	lo = LLVMBuildSelect(g->B, LLVMBuildICmp(g->B, lt_p, lo, ext, ""), lo, ext, "");
	hi = LLVMBuildSelect(g->B, LLVMBuildICmp(g->B, lt_p, hi, ext, ""), hi, ext, "");
	g->in_par_loop = 1;
	serial_for(g, lv, LLVMBuildAdd(g->B, mn, lo, ""), LLVMBuildAdd(g->B, mn, hi, ""), one, s->loop.body);
	g->in_par_loop = 0;
	g->par_loops++;
}

/* A parallel launch: body (a T.parallel loop, or the body of a
 * pragma_parallel_launch_point attr, whose parallel loops share the
 * launch and may be separated by barriers) goes into a private lambda
 * that TVMBackendParallelLaunch runs on every task; the values it uses
 * from outside travel in a closure struct. */
static void parallel_launch(G *g, Stmt *body, Sym name)
{
	if (g->penv) {
		fail(g, "nested parallel launches are not supported (fuse the loops into one)");
		return;
	}
	if (g->fn_ret != g->i32) {
		fail(g, "a parallel loop needs a function that returns int32 (a failed launch returns "
		     "its error code)");
		return;
	}
	/* the closure: every value the body uses from outside */
	Vec fv = {0}, fb = {0};
	free_vars(body, &fv, &fb);
	int n = 0, nvars;
	void **keys = xmalloc((size_t)(fv.n + fb.n + 1) * sizeof *keys);
	LLVMValueRef *vals = xmalloc((size_t)(fv.n + fb.n + 1) * sizeof *vals);
	LLVMTypeRef *tys = xmalloc((size_t)(fv.n + fb.n + 1) * sizeof *tys);
	for (int i = 0; i < fv.n; i++) {
		LLVMValueRef v = pmap_get(&g->vars, fv.v[i]);
		if (v) {
			keys[n] = fv.v[i];
			vals[n] = v;
			tys[n++] = LLVMTypeOf(v);
		}
	}
	nvars = n;
	for (int i = 0; i < fb.n; i++) {
		LLVMValueRef v = pmap_get(&g->bufs, fb.v[i]);
		if (v) {
			keys[n] = fb.v[i];
			vals[n] = v;
			tys[n++] = g->ptr;
		}
	}
	vec_free(&fv);
	vec_free(&fb);
	char cname[256];
	snprintf(cname, sizeof cname, "closure_%s", name);
	LLVMTypeRef ct = LLVMStructCreateNamed(g->C, cname);
	LLVMStructSetBody(ct, tys, (unsigned)n, 0);
	LLVMValueRef cd = entry_alloca(g, ct, 8, "closure");
	for (int i = 0; i < n; i++)
		LLVMBuildStore(g->B, vals[i], LLVMBuildStructGEP2(g->B, ct, cd, (unsigned)i, ""));

	LLVMTypeRef lps[3] = {g->i32, g->ptr, g->ptr};
	LLVMValueRef lam = LLVMAddFunction(g->M, "__tvm_parallel_lambda", LLVMFunctionType(g->i32, lps, 3, 0));
	LLVMSetLinkage(lam, LLVMPrivateLinkage);
	LLVMTypeRef launch_ps[3] = {g->ptr, g->ptr, g->i32};
	LLVMValueRef launch = extern_fn(g, "TVMBackendParallelLaunch", LLVMFunctionType(g->i32, launch_ps, 3, 0));
	if (!launch)
		goto out;
	LLVMValueRef largs[3] = {lam, cd, i32c(g, 0)};
	LLVMValueRef rc = call(g, launch, largs, 3, "launch_rc");
	LLVMBasicBlockRef ok = new_block(g, "parallel_done"), bad = new_block(g, "parallel_fail");
	set_likely(g, LLVMBuildCondBr(g->B, LLVMBuildICmp(g->B, LLVMIntEQ, rc, i32c(g, 0), ""), ok, bad), 1);
	LLVMPositionBuilderAtEnd(g->B, bad);
	LLVMBuildRet(g->B, rc);

	/* the lambda, with the closure's values as its variables; what it
	 * changes of the function state is put back afterwards */
	PtrMap svars = g->vars, sbufs = g->bufs;
	LLVMValueRef sfn = g->fn;
	LLVMTypeRef sret = g->fn_ret;
	LLVMBasicBlockRef sentry = g->entry;
	Loop *sloops = g->loops;
	int snloops = g->nloops, scaploops = g->caploops;
	memset(&g->vars, 0, sizeof g->vars);
	memset(&g->bufs, 0, sizeof g->bufs);
	g->loops = NULL;
	g->nloops = g->caploops = 0;
	g->fn = lam;
	g->fn_ret = g->i32;
	g->par_loops = 0;
	g->entry = LLVMAppendBasicBlockInContext(g->C, lam, "parallel_closure_entry");
	LLVMPositionBuilderAtEnd(g->B, g->entry);
	g->task_id = LLVMGetParam(lam, 0);
	g->penv = LLVMGetParam(lam, 1);
	LLVMValueRef cdata = LLVMGetParam(lam, 2);
	LLVMSetValueName2(g->task_id, "task_id", 7);
	LLVMSetValueName2(g->penv, "penv", 4);
	LLVMSetValueName2(cdata, "cdata", 5);
	for (int i = 0; i < n; i++) {
		LLVMValueRef v = LLVMBuildLoad2(g->B, tys[i], LLVMBuildStructGEP2(g->B, ct, cdata, (unsigned)i, ""), "");
		if (i < nvars) {
			name_value(v, ((Var *)keys[i])->name);
			pmap_put(&g->vars, keys[i], v);
		} else {
			name_value(v, ((Buffer *)keys[i])->name);
			pmap_put(&g->bufs, keys[i], v);
		}
	}
	gen_stmt(g, body);
	if (!g->failed && !g->par_loops)
		fail(g, "a parallel launch point without a parallel loop");
	if (!g->failed && !terminated(g))
		LLVMBuildRet(g->B, i32c(g, 0));
	pmap_free(&g->vars);
	pmap_free(&g->bufs);
	free(g->loops);
	g->vars = svars;
	g->bufs = sbufs;
	g->fn = sfn;
	g->fn_ret = sret;
	g->entry = sentry;
	g->loops = sloops;
	g->nloops = snloops;
	g->caploops = scaploops;
	g->task_id = g->penv = NULL;
	LLVMPositionBuilderAtEnd(g->B, ok);
out:
	free(keys);
	free(vals);
	free(tys);
}

static void gen_parallel(G *g, Stmt *s)
{
	if (g->penv) {
		parallel_loop(g, s);
		return;
	}
	char name[256];
	snprintf(name, sizeof name, "loop_parallel_%s", s->loop.var->name);
	parallel_launch(g, s, sym(name));
}

static void push_mark(G *g, Sym name, int align)
{
	if (g->nmarks == g->capmarks) {
		g->capmarks = g->capmarks ? 2 * g->capmarks : 8;
		g->marks = xrealloc(g->marks, (size_t)g->capmarks * sizeof *g->marks);
	}
	g->marks[g->nmarks++] = (AlignMark){name, align};
}

static void gen_attr(G *g, Stmt *s)
{
	Sym k = s->attr.key;
	if (!strcmp(k, "storage_alignment")) {
		int64_t al;
		Obj *node = s->attr.node;
		if (!node || node->kind != OB_BUFFER || !ex_is_const_int(s->attr.value, &al) || al < 1 ||
		    al > (1 << 20) || (al & (al - 1))) {
			fail(g, "storage_alignment needs a buffer and a power-of-two alignment");
			return;
		}
		int save = g->nmarks;
		push_mark(g, node->buf->name, (int)al);
		gen_stmt(g, s->attr.body);
		g->nmarks = save;
		return;
	}
	if (!strcmp(k, "compute_scope") || !strcmp(k, "device_id") || !strcmp(k, "device_type") ||
	    !strcmp(k, "pragma_unroll_explicit") || !strcmp(k, "pragma_auto_unroll_max_step")) {
		gen_stmt(g, s->attr.body);
		return;
	}
	if (!strcmp(k, "pragma_parallel_launch_point")) {
		parallel_launch(g, s->attr.body, sym("pragma_parallel"));
		return;
	}
	if (!strcmp(k, "pragma_parallel_barrier_when_finish")) {
		if (!g->penv || g->in_par_loop) {
			fail(g, "a parallel barrier is only valid inside a parallel launch point, outside "
			     "its parallel loops");
			return;
		}
		gen_stmt(g, s->attr.body);
		LLVMTypeRef ps[2] = {g->i32, g->ptr};
		LLVMValueRef f = extern_fn(g, "TVMBackendParallelBarrier", LLVMFunctionType(g->i32, ps, 2, 0));
		if (f) {
			LLVMValueRef args[2] = {g->task_id, g->penv};
			call(g, f, args, 2, "");
		}
		return;
	}
	fail(g, "attribute '%s' is not supported in host code", k);
}

static void gen_decl(G *g, Stmt *s)
{
	Buffer *b = s->decl.buf;
	LLVMValueRef p = gen(g, s->decl.data);
	if (g->failed)
		return;
	if (LLVMGetTypeKind(LLVMTypeOf(p)) != LLVMPointerTypeKind) {
		fail(g, "the data of buffer '%s' is not a pointer", b->name);
		return;
	}
	name_value(p, b->name);
	pmap_put(&g->bufs, b, p);
	/* The alignment promised for this data: a storage_alignment attr on
	 * the buffer (by name, innermost first) when the data is a tensor
	 * argument's data pointer (MakePackedAPI's DeclBuffer), or the
	 * alignment of the buffer it aliases. */
	int align = 0;
	Expr *d = s->decl.data;
	if (d->kind == EX_CALL && d->call.op == O.reinterpret && d->call.nargs == 1)
		d = d->call.args[0];
	int64_t field;
	int tensor_data = d->kind == EX_CALL && d->call.op == O.struct_get && d->call.nargs >= 3 &&
	                  ex_is_const_int(d->call.args[2], &field) && field == F_DATA;
	for (int i = g->nmarks - 1; i >= 0 && !align && tensor_data; i--)
		if (g->marks[i].name == b->name)
			align = g->marks[i].align;
	if (!align && s->decl.data->kind == EX_BUFDATA)
		align = (int)(intptr_t)pmap_get(&g->balign, s->decl.data->buf);
	if (align > 1) {
		pmap_put(&g->balign, b, (void *)(intptr_t)align);
		assume_align(g, p, align);
	}
}

static void gen_alloc(G *g, Stmt *s)
{
	Buffer *b = s->alloc.buf;
	int64_t n = 1, c;
	for (int i = 0; i < b->ndim; i++) {
		if (!ex_is_const_int(b->shape[i], &c) || c < 0 || (c && n > INT64_MAX / c)) {
			fail(g, "the host allocation of '%s' has no constant size (LowerTVMBuiltin turns "
			     "such allocations into workspaces)", b->name);
			return;
		}
		n *= c;
	}
	LLVMTypeRef et = mem_ty(g, b->dt);
	if (!et)
		return;
	if (n > ((int64_t)1 << 24)) {
		fail(g, "the host allocation of '%s' is too large for the stack", b->name);
		return;
	}
	int al = b->align > 0 && b->align <= 64 ? b->align : 64;
	if (al < elem_align(b->dt))
		al = elem_align(b->dt);
	LLVMValueRef a = entry_alloca(g, LLVMArrayType2(et, (uint64_t)(n ? n : 1)), (unsigned)al, b->name);
	pmap_put(&g->bufs, b, a);
}

static void gen_stmt(G *g, Stmt *s)
{
	while (s && !g->failed) {
		Loc saved = g->at;
		if (s->loc.file >= 0)
			g->at = s->loc;
		if (terminated(g))
			dead_block(g);
		switch (s->kind) {
		case ST_BIND: {
			LLVMValueRef v = gen(g, s->bind.value);
			name_value(v, s->bind.var->name);
			pmap_put(&g->vars, s->bind.var, v);
			break;
		}
		case ST_STORE: gen_store(g, s); break;
		case ST_ALLOC: gen_alloc(g, s); break;
		case ST_DECL: gen_decl(g, s); break;
		case ST_ATTR: gen_attr(g, s); break;
		case ST_FOR: gen_for(g, s); break;
		case ST_WHILE: {
			LLVMBasicBlockRef head = new_block(g, "while_cond"), body = new_block(g, "while_body"),
			                  end = new_block(g, "while_end");
			LLVMBuildBr(g->B, head);
			LLVMPositionBuilderAtEnd(g->B, head);
			LLVMValueRef c = gen(g, s->wloop.cond);
			if (g->failed)
				break;
			LLVMBuildCondBr(g->B, c, body, end);
			LLVMPositionBuilderAtEnd(g->B, body);
			push_loop(g, end, head);
			gen_stmt(g, s->wloop.body);
			g->nloops--;
			br(g, head);
			LLVMPositionBuilderAtEnd(g->B, end);
			break;
		}
		case ST_IF: {
			LLVMValueRef c = gen(g, s->ifs.cond);
			if (g->failed)
				break;
			LLVMBasicBlockRef tb = new_block(g, "if_then"), end = new_block(g, "if_end");
			LLVMBasicBlockRef eb = s->ifs.els ? new_block(g, "if_else") : end;
			LLVMBuildCondBr(g->B, c, tb, eb);
			LLVMPositionBuilderAtEnd(g->B, tb);
			gen_stmt(g, s->ifs.then);
			br(g, end);
			if (s->ifs.els) {
				LLVMPositionBuilderAtEnd(g->B, eb);
				gen_stmt(g, s->ifs.els);
				br(g, end);
			}
			LLVMPositionBuilderAtEnd(g->B, end);
			break;
		}
		case ST_SEQ:
			for (int i = 0; i + 1 < s->seq.n && !g->failed; i++)
				gen_stmt(g, s->seq.items[i]);
			if (s->seq.n) {
				/* the last item continues the chain without recursion */
				Stmt *last = s->seq.items[s->seq.n - 1];
				g->at = saved;
				s = last;
				continue;
			}
			break;
		case ST_EVAL:
			gen(g, s->eval.value);
			break;
		case ST_ASSERT: gen_assert(g, s); break;
		case ST_RETURN: {
			if (g->penv) {
				fail(g, "a return inside a parallel loop");
				break;
			}
			if (LLVMGetTypeKind(g->fn_ret) == LLVMVoidTypeKind) {
				if (s->ret.value && !dt_is_void(s->ret.value->dt))
					gen(g, s->ret.value);
				LLVMBuildRetVoid(g->B);
				break;
			}
			if (!s->ret.value) {
				fail(g, "a bare return in a function that returns a value");
				break;
			}
			LLVMValueRef v = gen(g, s->ret.value);
			if (g->failed)
				break;
			if (LLVMTypeOf(v) != g->fn_ret) {
				DType want = g->f->ret.kind == TY_PRIM ? g->f->ret.dt : DT_HANDLE64;
				v = cast_to(g, s->ret.value->dt, want, v);
			}
			if (!g->failed)
				LLVMBuildRet(g->B, v);
			break;
		}
		case ST_BREAK:
		case ST_CONTINUE:
			if (!g->nloops) {
				fail(g, "break or continue outside a loop");
				break;
			}
			LLVMBuildBr(g->B, s->kind == ST_BREAK ? g->loops[g->nloops - 1].brk : g->loops[g->nloops - 1].cont);
			break;
		default:
			fail(g, "this statement is not supported in host code");
		}
		g->at = saved;
		break;
	}
}

/* --------------------------------------------------------- functions */

/* Whether f is compiled here, or why not (an error at f). */
static int check_func(G *g, const Func *f)
{
	g->f = f;
	g->at = f->loc;
	Obj *t = func_target(f);
	Obj *cc = obj_dict_get(f->attrs, "calling_conv");
	if (!t) {
		fail(g, "no target: host code needs a CPU (llvm) target");
		return 0;
	}
	if (!target_is_cpu(t) || (cc && cc->kind == OB_INT && cc->i == 2)) {
		Sym k = target_kind(t);
		fail(g, "target '%s' is not a CPU target: code for GPU targets cannot go into host "
		     "objects yet", k ? k : "?");
		return 0;
	}
	return 1;
}

static LLVMValueRef declare_func(G *g, const Func *f)
{
	int n = f->nparams;
	LLVMTypeRef *ps = xmalloc((size_t)(n + 1) * sizeof *ps);
	g->f = f;
	g->at = f->loc;
	for (int i = 0; i < n && !g->failed; i++)
		ps[i] = f->params[i].buf ? g->ptr : tty_of(g, f->params[i].var->ty);
	LLVMTypeRef rt = tty_of(g, f->ret);
	LLVMValueRef fn = NULL;
	if (!g->failed) {
		Sym gs = func_global_symbol(f);
		char *name = NULL;
		if (!gs) {
			size_t len = strlen(f->name) + 16;
			name = xmalloc(len);
			snprintf(name, len, "_internal_%s", f->name);
		}
		if (gs && LLVMGetNamedFunction(g->M, gs)) {
			fail(g, "two functions export the symbol '%s'", gs);
		} else {
			fn = LLVMAddFunction(g->M, gs ? gs : name, LLVMFunctionType(rt, ps, (unsigned)n, 0));
			LLVMSetLinkage(fn, gs ? LLVMExternalLinkage : LLVMInternalLinkage);
			unsigned nu = LLVMGetEnumAttributeKindForName("nounwind", 8);
			LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(g->C, nu, 0));
		}
		free(name);
	}
	free(ps);
	return fn;
}

static void define_func(G *g, const Func *f, LLVMValueRef fn)
{
	g->f = f;
	g->at = f->loc;
	g->fn = fn;
	g->fn_ret = LLVMGetReturnType(LLVMGlobalGetValueType(fn));
	g->entry = LLVMAppendBasicBlockInContext(g->C, fn, "entry");
	g->nmarks = 0;
	g->nloops = 0;
	g->penv = g->task_id = NULL;
	pmap_clear(&g->vars);
	pmap_clear(&g->bufs);
	pmap_clear(&g->balign);
	LLVMPositionBuilderAtEnd(g->B, g->entry);
	for (int i = 0; i < f->nparams; i++) {
		LLVMValueRef p = LLVMGetParam(fn, (unsigned)i);
		if (f->params[i].buf) {
			name_value(p, f->params[i].buf->name);
			pmap_put(&g->bufs, f->params[i].buf, p);
		} else {
			name_value(p, f->params[i].var->name);
			pmap_put(&g->vars, f->params[i].var, p);
		}
	}
	gen_stmt(g, f->body);
	if (g->failed)
		return;
	/* falling off the end (and dead blocks after a return) */
	if (!terminated(g)) {
		if (LLVMGetTypeKind(g->fn_ret) == LLVMVoidTypeKind)
			LLVMBuildRetVoid(g->B);
		else
			LLVMBuildRet(g->B, LLVMConstNull(g->fn_ret));
	}
	/* blocks left open by dead code after a return */
	for (LLVMBasicBlockRef b = LLVMGetFirstBasicBlock(fn); b; b = LLVMGetNextBasicBlock(b))
		if (!LLVMGetBasicBlockTerminator(b)) {
			LLVMPositionBuilderAtEnd(g->B, b);
			LLVMBuildUnreachable(g->B);
		}
}

/* ------------------------------------------------------------ driver */

/* As TVM: when the module's entry function (tirx.is_entry_func, a packed
 * function) is exported under another name, a weak __tvm_ffi_main
 * forwards to it, so that loaders that call "main" find it. */
static void entry_alias(G *g, const Module *m)
{
	if (LLVMGetNamedFunction(g->M, "__tvm_ffi_main"))
		return;
	for (int i = 0; i < m->nfuncs; i++) {
		const Func *f = m->funcs[i];
		Obj *e = obj_dict_get(f->attrs, "tirx.is_entry_func");
		Obj *cc = obj_dict_get(f->attrs, "calling_conv");
		if (!e || e->kind != OB_BOOL || !e->i || !cc || cc->kind != OB_INT || cc->i != 1 ||
		    !func_global_symbol(f))
			continue;
		LLVMValueRef target = pmap_get(&g->funcs, f->name);
		LLVMTypeRef fty = LLVMGlobalGetValueType(target);
		if (LLVMCountParams(target) != 4)
			return;
		LLVMValueRef w = LLVMAddFunction(g->M, "__tvm_ffi_main", fty);
		LLVMSetLinkage(w, LLVMWeakAnyLinkage);
		LLVMPositionBuilderAtEnd(g->B, LLVMAppendBasicBlockInContext(g->C, w, "entry"));
		LLVMValueRef args[4];
		for (unsigned k = 0; k < 4; k++)
			args[k] = LLVMGetParam(w, k);
		LLVMBuildRet(g->B, LLVMBuildCall2(g->B, fty, target, args, 4, ""));
		return;
	}
}

static int target_init(G *g, int opt, Buf *err)
{
	LLVMInitializeX86TargetInfo();
	LLVMInitializeX86Target();
	LLVMInitializeX86TargetMC();
	LLVMInitializeX86AsmPrinter();
	char *triple = LLVMGetDefaultTargetTriple();
	if (strncmp(triple, "x86_64", 6) != 0) {
		buf_printf(err, "host code is generated for x86-64 only (this LLVM's default target is '%s')", triple);
		LLVMDisposeMessage(triple);
		return 1;
	}
	LLVMTargetRef T;
	char *msg = NULL;
	if (LLVMGetTargetFromTriple(triple, &T, &msg)) {
		buf_printf(err, "LLVM has no target for '%s': %s", triple, msg ? msg : "");
		LLVMDisposeMessage(msg);
		LLVMDisposeMessage(triple);
		return 1;
	}
	static const LLVMCodeGenOptLevel lv[4] = {LLVMCodeGenLevelNone, LLVMCodeGenLevelLess,
	                                          LLVMCodeGenLevelDefault, LLVMCodeGenLevelAggressive};
	g->TM = LLVMCreateTargetMachine(T, triple, "generic", "", lv[opt], LLVMRelocPIC, LLVMCodeModelDefault);
	g->TD = LLVMCreateTargetDataLayout(g->TM);
	LLVMSetTarget(g->M, triple);
	LLVMSetModuleDataLayout(g->M, g->TD);
	LLVMDisposeMessage(triple);
	return 0;
}

static void release(G *g)
{
	pmap_free(&g->vars);
	pmap_free(&g->bufs);
	pmap_free(&g->balign);
	pmap_free(&g->strs);
	pmap_free(&g->funcs);
	pmap_free(&g->fdecl);
	free(g->marks);
	free(g->loops);
	if (g->B)
		LLVMDisposeBuilder(g->B);
	if (g->M)
		LLVMDisposeModule(g->M);
	if (g->TD)
		LLVMDisposeTargetData(g->TD);
	if (g->TM)
		LLVMDisposeTargetMachine(g->TM);
	if (g->C)
		LLVMContextDispose(g->C);
}

int llvm_emit(const Module *m, int kind, int opt, Buf *out)
{
	G g;
	memset(&g, 0, sizeof g);
	g.at = NOLOC;
	g.mod = m;
	if (opt < 0 || opt > 3)
		opt = 2;
	ops_init();
	g.C = LLVMContextCreate();
	g.M = LLVMModuleCreateWithNameInContext("tirxc", g.C);
	LLVMSetSourceFileName(g.M, "tirxc", 5);
	g.B = LLVMCreateBuilderInContext(g.C);
	Buf err = {0};
	if (target_init(&g, opt, &err)) {
		diag_error(NOLOC, "%s", err.s);
		buf_free(&err);
		release(&g);
		return 1;
	}
	g.i1 = LLVMInt1TypeInContext(g.C);
	g.i8 = LLVMInt8TypeInContext(g.C);
	g.i16 = LLVMInt16TypeInContext(g.C);
	g.i32 = LLVMInt32TypeInContext(g.C);
	g.i64 = LLVMInt64TypeInContext(g.C);
	g.f16 = LLVMHalfTypeInContext(g.C);
	g.f32 = LLVMFloatTypeInContext(g.C);
	g.f64 = LLVMDoubleTypeInContext(g.C);
	g.ptr = LLVMPointerTypeInContext(g.C, 0);
	g.vd = LLVMVoidTypeInContext(g.C);
	/* TVMFFIAny {i32 type_index, i32 zero_padding, union (i64/double/ptr)} */
	LLVMTypeRef any[3] = {g.i32, g.i32, g.i64};
	g.any_t = LLVMStructCreateNamed(g.C, "TVMFFIAny");
	LLVMStructSetBody(g.any_t, any, 3, 0);
	/* DLTensor {ptr data, {i32, i32} device, i32 ndim, {i8, i8, i16} dtype,
	 * ptr shape, ptr strides, i64 byte_offset} */
	LLVMTypeRef dev[2] = {g.i32, g.i32}, dtt[3] = {g.i8, g.i8, g.i16};
	LLVMTypeRef dl[7] = {g.ptr, LLVMStructTypeInContext(g.C, dev, 2, 0), g.i32,
	                     LLVMStructTypeInContext(g.C, dtt, 3, 0), g.ptr, g.ptr, g.i64};
	g.dl_t = LLVMStructCreateNamed(g.C, "DLTensor");
	LLVMStructSetBody(g.dl_t, dl, 7, 0);
	/* TVMParallelGroupEnv {ptr sync_handle, i32 num_task} */
	LLVMTypeRef pe[2] = {g.ptr, g.i32};
	g.penv_t = LLVMStructCreateNamed(g.C, "TVMParallelGroupEnv");
	LLVMStructSetBody(g.penv_t, pe, 2, 0);

	if (m->nfuncs == 0)
		diag_error(NOLOC, "no function to generate host code for");
	for (int i = 0; i < m->nfuncs && !g.failed; i++)
		if (check_func(&g, m->funcs[i]))
			pmap_put(&g.funcs, m->funcs[i]->name, declare_func(&g, m->funcs[i]));
	for (int i = 0; i < m->nfuncs && !g.failed; i++)
		define_func(&g, m->funcs[i], pmap_get(&g.funcs, m->funcs[i]->name));
	if (g.failed || m->nfuncs == 0) {
		release(&g);
		return 1;
	}
	entry_alias(&g, m);
	char *msg = NULL;
	int bad = LLVMVerifyModule(g.M, LLVMReturnStatusAction, &msg);
	if (bad && g.intrin_used) {
		/* most likely the intrinsic's types: refused there */
		LLVMDisposeMessage(msg);
		g.at = g.intrin_at;
		g.f = g.intrin_fn;
		fail(&g, "LLVM rejects the code: an LLVM intrinsic called with types it does not take?");
		release(&g);
		return 1;
	}
	if (bad) {
		char *ir = LLVMPrintModuleToString(g.M);
		fprintf(stderr, "%s\n", ir);
		LLVMDisposeMessage(ir);
		die("the LLVM IR does not verify: %s", msg ? msg : "?");
	}
	LLVMDisposeMessage(msg);
	char pipeline[16];
	snprintf(pipeline, sizeof pipeline, "default<O%d>", opt);
	LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
	LLVMErrorRef pe_err = LLVMRunPasses(g.M, pipeline, g.TM, po);
	LLVMDisposePassBuilderOptions(po);
	if (pe_err) {
		char *em = LLVMGetErrorMessage(pe_err);
		buf_printf(&err, "%s", em);
		LLVMDisposeErrorMessage(em);
		die("LLVM's pass pipeline failed: %s", err.s);
	}
	if (kind == LLVM_EMIT_IR) {
		char *ir = LLVMPrintModuleToString(g.M);
		buf_puts(out, ir);
		LLVMDisposeMessage(ir);
	} else {
		LLVMMemoryBufferRef mb = NULL;
		char *em = NULL;
		if (LLVMTargetMachineEmitToMemoryBuffer(g.TM, g.M, kind == LLVM_EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile,
		                                        &em, &mb))
			die("LLVM could not emit code: %s", em ? em : "?");
		buf_put(out, LLVMGetBufferStart(mb), LLVMGetBufferSize(mb));
		LLVMDisposeMemoryBuffer(mb);
	}
	buf_free(&err);
	release(&g);
	return 0;
}
