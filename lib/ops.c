/* ops.c: the op registry.  One static table lists every op tirxc knows:
 * its canonical TVM name, the name the printer writes after "T.", its arity,
 * where the printer puts its return type, its return-type rule and its side
 * effect.  Lookup goes through a hash table built on first use that holds
 * every spelling (canonical without "tirx.", script name, aliases).
 *
 * The set follows TVM 0.27 (src/tirx/op/builtin.cc, op.cc, the CUDA target
 * builtins) for the ops that appear in lowered TIRx.  Unknown ops are
 * rejected by the parser rather than guessed.
 *
 * PTX.  TVM 0.27's T.ptx is table driven: each instruction family
 * (T.ptx.cp, T.ptx.fence, ...) covers several table entries, each its own
 * op, and a call prints as `T.ptx.<family>(operands..., modifier tokens...,
 * flags)`.  tirxc keeps one op per family ("tirx.ptx.<family>", printed
 * verbatim, opaque to every pass) and resolves a printed call to TVM's entry
 * op only for the entries it models (ptx_entries below: the cp.async copy,
 * commit and wait instructions), so that passes see one op for each.  The
 * older spellings of the same instructions are aliases of those ops:
 * `T.ptx_cp_async` / `T.ptx.cp_async` (element offsets, dtype first) is
 * `tirx.s_tir.cp_async_raw`, `T.ptx_commit_group()` /
 * `T.ptx.cp_async_commit_group()` is `tirx.ptx.cp_async_commit_group`, and
 * the parser completes their arguments (ptx_complete). */
#include <string.h>
#include "tir.h"

#define F DTLOC_FIRST
#define L DTLOC_LAST
#define N DTLOC_NONE

static const Op ops[] = {
	/* math: pure, type of argument 0 (LowerIntrin maps them to externs) */
	{"tirx.exp", "exp", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.exp2", "exp2", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.exp10", "exp10", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.log", "log", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.log2", "log2", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.log10", "log10", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.log1p", "log1p", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.sqrt", "sqrt", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.rsqrt", "rsqrt", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.sin", "sin", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.cos", "cos", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.tan", "tan", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.sinh", "sinh", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.cosh", "cosh", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.tanh", "tanh", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.asin", "asin", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.acos", "acos", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.atan", "atan", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.asinh", "asinh", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.acosh", "acosh", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.atanh", "atanh", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.erf", "erf", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.sigmoid", "sigmoid", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.fabs", "fabs", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.floor", "floor", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.ceil", "ceil", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.trunc", "trunc", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.round", "round", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.nearbyint", "nearbyint", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.atan2", "atan2", 2, N, RT_ARG0, EFF_PURE},
	{"tirx.pow", "pow", 2, N, RT_ARG0, EFF_PURE},
	{"tirx.fmod", "fmod", 2, N, RT_ARG0, EFF_PURE},
	{"tirx.hypot", "hypot", 2, N, RT_ARG0, EFF_PURE},
	{"tirx.copysign", "copysign", 2, N, RT_ARG0, EFF_PURE},
	{"tirx.ldexp", "ldexp", 2, N, RT_ARG0, EFF_PURE},
	{"tirx.nextafter", "nextafter", 2, N, RT_ARG0, EFF_PURE},
	{"tirx.fma", "fma", 3, N, RT_ARG0, EFF_PURE},
	{"tirx.clz", "clz", 1, N, RT_INT32, EFF_PURE},
	{"tirx.popcount", "popcount", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.q_multiply_shift", "q_multiply_shift", 4, N, RT_ARG0, EFF_PURE},
	{"tirx.large_uint_imm", "large_uint_imm", 2, N, RT_UINT64, EFF_PURE},

	/* bitwise and shifts: operands are matched by the parser first */
	{"tirx.bitwise_and", "bitwise_and", 2, N, RT_ARG0, EFF_PURE},
	{"tirx.bitwise_or", "bitwise_or", 2, N, RT_ARG0, EFF_PURE},
	{"tirx.bitwise_xor", "bitwise_xor", 2, N, RT_ARG0, EFF_PURE},
	{"tirx.bitwise_not", "bitwise_not", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.shift_left", "shift_left", 2, N, RT_ARG0, EFF_PURE},
	{"tirx.shift_right", "shift_right", 2, N, RT_ARG0, EFF_PURE},

	/* predicates and selection */
	{"tirx.if_then_else", "if_then_else", 3, N, RT_ARG1, EFF_PURE},
	{"tirx.likely", "likely", 1, N, RT_ARG0, EFF_PURE},
	{"tirx.isnan", "isnan", 1, N, RT_BOOL, EFF_PURE},
	{"tirx.isnullptr", "isnullptr", 1, N, RT_BOOL, EFF_PURE},
	{"tirx.assume", "assume", 1, N, RT_BOOL, EFF_EMBED},
	{"tirx.undef", "undef", 0, N, RT_INT32, EFF_READSTATE},
	{"tirx.vscale", "vscale", 0, N, RT_INT32, EFF_PURE},
	{"tirx.tvm_thread_invariant", "tvm_thread_invariant", 1, N, RT_ARG0, EFF_PURE},

	/* typed ops: the return type is printed among the arguments */
	{"tirx.reinterpret", "reinterpret", 1, F, RT_GIVEN, EFF_PURE},
	{"tirx.call_extern", "call_extern", -1, F, RT_GIVEN, EFF_OPAQUE},
	{"tirx.call_pure_extern", "call_pure_extern", -1, F, RT_GIVEN, EFF_PURE},
	{"tirx.call_llvm_intrin", "call_llvm_intrin", -1, F, RT_GIVEN, EFF_OPAQUE},
	{"tirx.call_llvm_pure_intrin", "call_llvm_pure_intrin", -1, F, RT_GIVEN, EFF_PURE},
	{"tirx.vectorhigh", "vectorhigh", 1, F, RT_GIVEN, EFF_PURE},
	{"tirx.vectorlow", "vectorlow", 1, F, RT_GIVEN, EFF_PURE},
	{"tirx.vectorcombine", "vectorcombine", 2, F, RT_GIVEN, EFF_PURE},
	{"tirx.dp4a", "dp4a", 3, F, RT_GIVEN, EFF_PURE},
	{"tirx.get_active_lane_mask", "get_active_lane_mask", 2, F, RT_GIVEN, EFF_PURE},
	{"tirx.type_annotation", "type_annotation", 0, F, RT_GIVEN, EFF_PURE},
	{"tirx.tvm_struct_get", "tvm_struct_get", 3, L, RT_GIVEN, EFF_READSTATE},

	/* the packed calling convention and its lowering */
	{"tirx.tvm_call_packed", "call_packed", -1, N, RT_INT32, EFF_OPAQUE},
	{"tirx.tvm_call_cpacked", "call_cpacked", -1, N, RT_INT32, EFF_OPAQUE},
	{"tirx.tvm_call_packed_lowered", "call_packed_lowered", -1, N, RT_INT32, EFF_OPAQUE},
	{"tirx.tvm_call_cpacked_lowered", "call_cpacked_lowered", -1, N, RT_INT32, EFF_OPAQUE},
	/* TVM 0.27's kernel launch from the host: ("symbol", kernel args...,
	 * launch values...) with the launch tags in the call's attrs; the
	 * printer and parser spell it with launch_params= and ret_ty= */
	{"tirx.call_ffi_kernel", "call_ffi_kernel", -1, N, RT_GIVEN, EFF_OPAQUE},
	{"tirx.tvm_call_trace_packed", "tvm_call_trace_packed", -1, N, RT_INT32, EFF_OPAQUE},
	{"tirx.tvm_call_trace_packed_lowered", "tvm_call_trace_packed_lowered", -1, N, RT_INT32, EFF_OPAQUE},
	{"tirx.tvm_struct_set", "tvm_struct_set", 4, N, RT_INT32, EFF_UPDATESTATE},
	{"tirx.tvm_stack_alloca", "tvm_stack_alloca", 2, N, RT_STACK, EFF_OPAQUE},
	{"tirx.tvm_stack_make_shape", "tvm_stack_make_shape", -1, N, RT_PTR_INT64, EFF_OPAQUE},
	{"tirx.tvm_stack_make_array", "tvm_stack_make_array", 6, N, RT_HANDLE, EFF_OPAQUE},
	{"tirx.tvm_throw_last_error", "tvm_throw_last_error", 0, N, RT_INT32, EFF_OPAQUE},
	{"tirx.tvm_check_return", "tvm_check_return", 3, N, RT_INT32, EFF_OPAQUE},
	{"tirx.tvm_context_id", "tvm_context_id", 0, N, RT_HANDLE, EFF_READSTATE},
	{"tirx.tvm_static_handle", "tvm_static_handle", 0, N, RT_HANDLE, EFF_OPAQUE},
	{"tirx.TVMBackendAllocWorkspace", "TVMBackendAllocWorkspace", 5, N, RT_HANDLE, EFF_OPAQUE},
	{"tirx.TVMBackendFreeWorkspace", "TVMBackendFreeWorkspace", 3, N, RT_INT32, EFF_OPAQUE},

	/* pointers */
	{"tirx.address_of", "address_of", 1, N, RT_PTR_ARG0, EFF_PURE},
	{"tirx.handle_add_byte_offset", "handle_add_byte_offset", 2, N, RT_PTR_SCOPE_ARG0, EFF_PURE},
	/* TVM's kind is SpecialCallArg: not pure, so passes never drop or hoist it */
	{"tirx.tvm_access_ptr", "tvm_access_ptr", 5, N, RT_ACCESS_PTR, EFF_OPAQUE},

	/* control flow */
	{"tirx.ret", "ret", 1, N, RT_ARG0, EFF_CONTROL},
	{"tirx.thread_return", "thread_return", 0, N, RT_VOID, EFF_CONTROL},
	{"tirx.break_loop", "break_loop", 0, N, RT_VOID, EFF_CONTROL},
	{"tirx.continue_loop", "continue_loop", 0, N, RT_VOID, EFF_CONTROL},

	/* threads and synchronisation (lowered by codegen) */
	{"tirx.tvm_storage_sync", "tvm_storage_sync", -1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.tvm_thread_allreduce", "tvm_thread_allreduce", -1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.tvm_warp_shuffle", "tvm_warp_shuffle", 5, N, RT_ARG1, EFF_OPAQUE},
	{"tirx.tvm_warp_shuffle_up", "tvm_warp_shuffle_up", 5, N, RT_ARG1, EFF_OPAQUE},
	{"tirx.tvm_warp_shuffle_down", "tvm_warp_shuffle_down", 5, N, RT_ARG1, EFF_OPAQUE},
	{"tirx.tvm_warp_shuffle_xor", "tvm_warp_shuffle_xor", 5, N, RT_ARG1, EFF_OPAQUE},
	{"tirx.tvm_warp_activemask", "tvm_warp_activemask", 0, N, RT_UINT32, EFF_OPAQUE},
	{"tirx.tvm_global_barrier_kinit", "tvm_global_barrier_kinit", 0, N, RT_VOID, EFF_OPAQUE},
	{"tirx.tvm_kernel_replace_point", "tvm_kernel_replace_point", 0, N, RT_VOID, EFF_OPAQUE},

	/* tensor cores (wmma and the mma fragment helpers) */
	{"tirx.tvm_fill_fragment", "tvm_fill_fragment", 6, N, RT_VOID, EFF_OPAQUE},
	{"tirx.tvm_load_matrix_sync", "tvm_load_matrix_sync", 8, N, RT_VOID, EFF_READSTATE},
	{"tirx.tvm_mma_sync", "tvm_mma_sync", 8, N, RT_VOID, EFF_OPAQUE},
	{"tirx.tvm_bmma_sync", "tvm_bmma_sync", 8, N, RT_VOID, EFF_OPAQUE},
	{"tirx.tvm_store_matrix_sync", "tvm_store_matrix_sync", 8, N, RT_VOID, EFF_OPAQUE},
	{"tirx.mma_store", "mma_store", 6, F, RT_GIVEN, EFF_OPAQUE},
	{"tirx.mma_fill", "mma_fill", 3, F, RT_GIVEN, EFF_OPAQUE},
	{"tirx.mma_store_legacy", "mma_store_legacy", 6, F, RT_GIVEN, EFF_OPAQUE},
	{"tirx.mma_fill_legacy", "mma_fill_legacy", 3, F, RT_GIVEN, EFF_OPAQUE},

	/* s_tir device intrinsics */
	{"tirx.s_tir.cp_async_raw", "s_tir.cp_async_raw", -1, F, RT_GIVEN, EFF_OPAQUE},
	{"tirx.s_tir.ldg32", "s_tir.ldg32", 4, N, RT_VOID, EFF_PURE},

	/* TVM 0.27's T.ptx instruction families, one op each, listed before
	 * the entries below so that "ptx.<family>" names the family op.  A
	 * family op is a void statement whose arguments are kept as printed:
	 * operands, then one modifier token per slot ("" for an omitted one),
	 * then the flags string.  Python keywords print with a trailing '_'. */
#define PTXF(f) {"tirx.ptx." #f, "ptx." #f, -1, N, RT_VOID, EFF_OPAQUE}
#define PTXK(f) {"tirx.ptx." #f, "ptx." #f "_", -1, N, RT_VOID, EFF_OPAQUE}
	PTXF(abs), PTXF(activemask), PTXF(add), PTXK(and), PTXF(applypriority), PTXF(atom), PTXF(bar),
	PTXF(barrier), PTXF(bfe), PTXF(bfi), PTXF(bfind), PTXF(bmsk), PTXF(brev), PTXF(clmad),
	PTXF(clusterlaunchcontrol), PTXF(clz), PTXF(cnot), PTXF(copysign), PTXF(cos), PTXF(cp),
	PTXF(createpolicy), PTXF(cvt), PTXF(cvt_pack), PTXF(cvta), PTXF(discard), PTXF(div),
	PTXF(dp2a), PTXF(dp4a), PTXF(elect_sync), PTXF(ex2), PTXF(fabric), PTXF(fence), PTXF(fma),
	PTXF(fns), PTXF(getctarank), PTXF(griddepcontrol), PTXF(isspacep), PTXF(ld), PTXF(ldmatrix),
	PTXF(ldu), PTXF(lg2), PTXF(lop3), PTXF(mad), PTXF(mad24), PTXF(mapa), PTXF(match), PTXF(max),
	PTXF(mbarrier), PTXF(min), PTXF(mma), PTXF(mov), PTXF(movmatrix), PTXF(mul), PTXF(mul24),
	PTXF(multimem_cp), PTXF(multimem_ld_reduce), PTXF(multimem_red), PTXF(multimem_red_async),
	PTXF(multimem_st), PTXF(multimem_st_async), PTXF(neg), PTXK(not), PTXK(or), PTXF(popc),
	PTXF(prefetch), PTXF(prefetchu), PTXF(prmt), PTXF(rcp), PTXF(red), PTXF(red_async),
	PTXF(redux_sync), PTXF(rem), PTXF(rsqrt), PTXF(sad), PTXF(selp), PTXF(set), PTXF(setmaxnreg),
	PTXF(setp), PTXF(shf), PTXF(shfl_sync), PTXF(shl), PTXF(shr), PTXF(sin), PTXF(slct),
	PTXF(spcompress), PTXF(spdecompress), PTXF(sqrt), PTXF(st), PTXF(st_async), PTXF(st_bulk),
	PTXF(stmatrix), PTXF(sub), PTXF(szext), PTXF(tanh), PTXF(tcgen05),
	PTXF(tensormap_cp_fenceproxy), PTXF(tensormap_replace), PTXF(testp), PTXF(vote_sync),
	PTXF(wgmma), PTXF(xor),
#undef PTXF
#undef PTXK
	/* The modelled entries of the cp family (ptx_entries): TVM's op names,
	 * printed as the family; the arguments are those of the family op. */
	{"tirx.ptx.cp_async_ca", "ptx.cp", -1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.ptx.cp_async_ca_src_size", "ptx.cp", -1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.ptx.cp_async_ca_ignore_src", "ptx.cp", -1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.ptx.cp_async_cg", "ptx.cp", -1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.ptx.cp_async_cg_src_size", "ptx.cp", -1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.ptx.cp_async_cg_ignore_src", "ptx.cp", -1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.ptx.cp_async_commit_group", "ptx.cp", -1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.ptx.cp_async_wait_group", "ptx.cp", -1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.ptx.cp_async_wait_all", "ptx.cp", -1, N, RT_VOID, EFF_OPAQUE},
	/* TVM 0.27 keeps the pre-table ldmatrix and mma under ptx_legacy */
	{"tirx.ptx_legacy.ldmatrix", "ptx_legacy.ldmatrix", -1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.ptx_legacy.mma", "ptx_legacy.mma", -1, N, RT_VOID, EFF_OPAQUE},

	/* CUDA device intrinsics; return types as the script builders give them */
	{"tirx.cuda.atomic_add", "cuda.atomic_add", 2, N, RT_ARG1, EFF_OPAQUE},
	{"tirx.cuda.atomic_cas", "cuda.atomic_cas", 3, N, RT_ARG1, EFF_OPAQUE},
	{"tirx.cuda.__shfl_sync", "cuda.__shfl_sync", 4, N, RT_ARG1, EFF_OPAQUE},
	{"tirx.cuda.__shfl_up_sync", "cuda.__shfl_up_sync", 4, N, RT_ARG1, EFF_OPAQUE},
	{"tirx.cuda.__shfl_down_sync", "cuda.__shfl_down_sync", 4, N, RT_ARG1, EFF_OPAQUE},
	{"tirx.cuda.__shfl_xor_sync", "cuda.__shfl_xor_sync", 4, N, RT_ARG1, EFF_OPAQUE},
	{"tirx.cuda.printf", "cuda.printf", -1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.cuda.__activemask", "cuda.__activemask", 0, N, RT_UINT32, EFF_PURE},
	/* a generic pointer to a shared-window address, as T.ptx's shared
	 * address operands take it */
	{"tirx.cuda.cvta_generic_to_shared", "cuda.cvta_generic_to_shared", 1, N, RT_UINT32, EFF_OPAQUE},
	/* the type is given by return_type= (printed by the printer) */
	{"tirx.cuda.func_call", "cuda.func_call", -1, N, RT_GIVEN, EFF_OPAQUE},
	{"tirx.cuda.cluster_sync", "cuda.cluster_sync", 0, N, RT_VOID, EFF_OPAQUE},
	{"tirx.cuda.cta_sync", "cuda.cta_sync", 0, N, RT_VOID, EFF_OPAQUE},
	{"tirx.cuda.warp_sync", "cuda.warp_sync", 0, N, RT_VOID, EFF_OPAQUE},
	{"tirx.cuda.grid_sync", "cuda.grid_sync", 0, N, RT_VOID, EFF_OPAQUE},
	{"tirx.cuda.warpgroup_sync", "cuda.warpgroup_sync", -1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.cuda.syncthreads_and", "cuda.syncthreads_and", 1, N, RT_INT64, EFF_OPAQUE},
	{"tirx.cuda.syncthreads_or", "cuda.syncthreads_or", 1, N, RT_INT64, EFF_OPAQUE},
	{"tirx.cuda.thread_fence", "cuda.thread_fence", 0, N, RT_VOID, EFF_OPAQUE},
	{"tirx.cuda.nano_sleep", "cuda.nano_sleep", 1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.cuda.fdividef", "cuda.fdividef", 2, N, RT_FLOAT32, EFF_PURE},
	{"tirx.cuda.any_sync", "cuda.any_sync", 2, N, RT_INT32, EFF_PURE},
	{"tirx.cuda.ballot_sync", "cuda.ballot_sync", 2, N, RT_UINT32, EFF_OPAQUE},
	{"tirx.cuda.clock64", "cuda.clock64", 0, N, RT_UINT64, EFF_OPAQUE},
	{"tirx.cuda.thread_rank", "cuda.thread_rank", 0, N, RT_INT32, EFF_PURE},
	{"tirx.cuda.elect_sync", "cuda.elect_sync", 0, N, RT_UINT32, EFF_OPAQUE},
	{"tirx.cuda.half2float", "cuda.half2float", 1, N, RT_FLOAT32, EFF_OPAQUE},
	{"tirx.cuda.bfloat162float", "cuda.bfloat162float", 1, N, RT_FLOAT32, EFF_OPAQUE},
	{"tirx.cuda.warp_reduce", "cuda.warp_reduce", 3, N, RT_ARG0, EFF_OPAQUE},
	{"tirx.cuda.cta_reduce", "cuda.cta_reduce", 4, N, RT_ARG0, EFF_OPAQUE},
	{"tirx.cuda.mbarrier_wait", "cuda.mbarrier_wait", 2, N, RT_VOID, EFF_OPAQUE},
	{"tirx.cuda.trap_when_assert_failed", "cuda.trap_when_assert_failed", 1, N, RT_VOID, EFF_OPAQUE},
	{"tirx.cuda.ldg", "cuda.ldg", -1, N, RT_GIVEN, EFF_OPAQUE},

	/* NVSHMEM */
	{"tirx.nvshmem.my_pe", "nvshmem.my_pe", 0, N, RT_INT32, EFF_OPAQUE},
	{"tirx.nvshmem.n_pes", "nvshmem.n_pes", 0, N, RT_INT32, EFF_OPAQUE},
	{"tirx.nvshmem.fence", "nvshmem.fence", 0, N, RT_VOID, EFF_OPAQUE},
	{"tirx.nvshmem.quiet", "nvshmem.quiet", 0, N, RT_VOID, EFF_OPAQUE},
	{"tirx.nvshmem.barrier_all", "nvshmem.barrier_all", 0, N, RT_VOID, EFF_OPAQUE},
	{"tirx.nvshmem.wait_until", "nvshmem.wait_until", 4, N, RT_VOID, EFF_OPAQUE},
	{"tirx.nvshmem.getmem_nbi", "nvshmem.getmem_nbi", 4, N, RT_VOID, EFF_OPAQUE},
	{"tirx.nvshmem.getmem_nbi_warp", "nvshmem.getmem_nbi_warp", 4, N, RT_VOID, EFF_OPAQUE},
	{"tirx.nvshmem.getmem_nbi_block", "nvshmem.getmem_nbi_block", 4, N, RT_VOID, EFF_OPAQUE},
	{"tirx.nvshmem.putmem_nbi", "nvshmem.putmem_nbi", 4, N, RT_VOID, EFF_OPAQUE},
	{"tirx.nvshmem.putmem_nbi_warp", "nvshmem.putmem_nbi_warp", 4, N, RT_VOID, EFF_OPAQUE},
	{"tirx.nvshmem.putmem_nbi_block", "nvshmem.putmem_nbi_block", 4, N, RT_VOID, EFF_OPAQUE},
};

#undef F
#undef L
#undef N

#define NOPS ((int)(sizeof ops / sizeof ops[0]))

/* Extra spellings: OLD flat names whose namespaced form is not simply
 * "<ns>_rest" -> "<ns>.rest", and the printer's short forms. */
static const struct { const char *alias, *name; } aliases[] = {
	{"ptx_ldg32", "tirx.s_tir.ldg32"},
	/* pre-0.27 spellings of the cp.async ops (ptx_complete adds the
	 * tokens TVM 0.27's entry ops carry) */
	{"ptx.cp_async", "tirx.s_tir.cp_async_raw"},
	{"ptx_commit_group", "tirx.ptx.cp_async_commit_group"},
	{"ptx_wait_group", "tirx.ptx.cp_async_wait_group"},
	{"ptx.commit_group", "tirx.ptx.cp_async_commit_group"},
	{"ptx.wait_group", "tirx.ptx.cp_async_wait_group"},
	{"ptx_ldmatrix_legacy", "tirx.ptx_legacy.ldmatrix"},
	{"ptx_mma_legacy", "tirx.ptx_legacy.mma"},
	{"nvshmem.getmem_nbi.warp", "tirx.nvshmem.getmem_nbi_warp"},
	{"nvshmem.getmem_nbi.block", "tirx.nvshmem.getmem_nbi_block"},
	{"nvshmem.putmem_nbi.warp", "tirx.nvshmem.putmem_nbi_warp"},
	{"nvshmem.putmem_nbi.block", "tirx.nvshmem.putmem_nbi_block"},
};

/* Namespaces of the OLD flat device ops, longest first so that
 * "ptx_legacy_mma" is not read as "ptx.legacy_mma". */
static const char *const flat_ns[] = {"ptx_legacy", "s_tir", "nvshmem", "webgpu", "cuda", "ptx"};

/* Open-addressing hash table from a spelling to its op. */
#define HSIZE 2048
static struct { const char *key; size_t len; const Op *op; } htab[HSIZE];
static int hbuilt;

static uint32_t hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static const Op *hget(const char *s, size_t n)
{
	for (uint32_t i = hash(s, n) & (HSIZE - 1);; i = (i + 1) & (HSIZE - 1)) {
		if (!htab[i].key)
			return NULL;
		if (htab[i].len == n && memcmp(htab[i].key, s, n) == 0)
			return htab[i].op;
	}
}

/* Keys are static strings.  A spelling already present keeps its first
 * op, so a canonical name always wins over an alias. */
static void hput(const char *s, const Op *op)
{
	size_t n = strlen(s);
	uint32_t i = hash(s, n) & (HSIZE - 1);
	while (htab[i].key) {
		if (htab[i].len == n && memcmp(htab[i].key, s, n) == 0)
			return;
		i = (i + 1) & (HSIZE - 1);
	}
	htab[i].key = s;
	htab[i].len = n;
	htab[i].op = op;
}

static void build(void)
{
	for (int i = 0; i < NOPS; i++) {
		if (strncmp(ops[i].name, "tirx.", 5) != 0)
			die("op %s: canonical name lacks the tirx. prefix", ops[i].name);
		hput(ops[i].name + 5, &ops[i]);
	}
	for (int i = 0; i < NOPS; i++)
		hput(ops[i].script, &ops[i]);
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
		const Op *op = hget(aliases[i].name + 5, strlen(aliases[i].name + 5));
		if (!op)
			die("op alias %s: no op %s", aliases[i].alias, aliases[i].name);
		hput(aliases[i].alias, op);
	}
	hbuilt = 1;
}

const Op *op_find(const char *name, size_t n)
{
	if (!hbuilt)
		build();
	if (n > 5 && memcmp(name, "tirx.", 5) == 0)
		name += 5, n -= 5;
	const Op *op = hget(name, n);
	if (op)
		return op;
	/* A flat legacy spelling: "ptx_cp_async" is "ptx.cp_async". */
	for (size_t i = 0; i < sizeof flat_ns / sizeof flat_ns[0]; i++) {
		size_t k = strlen(flat_ns[i]);
		char tmp[128];
		if (n <= k + 1 || n >= sizeof tmp || memcmp(name, flat_ns[i], k) != 0 || name[k] != '_')
			continue;
		memcpy(tmp, name, n);
		tmp[k] = '.';
		return hget(tmp, n);
	}
	return NULL;
}

const Op *op_get(const char *canonical)
{
	const Op *op = op_find(canonical, strlen(canonical));
	if (!op || strcmp(op->name, canonical) != 0)
		die("no op named %s", canonical);
	return op;
}

int op_count(void)
{
	return NOPS;
}

const Op *op_at(int i)
{
	return i >= 0 && i < NOPS ? &ops[i] : NULL;
}

static int str_arg(Expr *const *args, int nargs, int i, const char *s)
{
	return i < nargs && args[i] && args[i]->kind == EX_STR && strcmp(args[i]->s, s) == 0;
}

/* The type of an argument value: pointers keep their pointee and scope. */
static TType arg_type(const Expr *e)
{
	if (e->kind == EX_VAR)
		return e->var->ty;
	if (e->kind == EX_CALL)
		return e->call.rty;
	if (e->kind == EX_BUFDATA)
		return buf_data_type(e->buf);
	return ty_prim(e->dt);
}

/* The storage scope of a pointer-typed expression; "global" otherwise. */
static Sym ptr_scope(const Expr *e)
{
	if (e) {
		TType t = arg_type(e);
		if (t.kind == TY_PTR && t.scope)
			return t.scope;
	}
	return sym("global");
}

int op_ret_type(const Op *op, Expr *const *args, int nargs, TType *out)
{
	Expr *a0 = nargs > 0 ? args[0] : NULL;
	Expr *a1 = nargs > 1 ? args[1] : NULL;
	switch (op->rule) {
	case RT_ARG0:
		if (!a0)
			return 0;
		*out = arg_type(a0);
		return 1;
	case RT_ARG1:
		if (!a1)
			return 0;
		*out = arg_type(a1);
		return 1;
	case RT_BOOL:
		*out = ty_prim(dt_make(DT_BOOL, 1, a0 && a0->dt.lanes ? a0->dt.lanes : 1));
		return 1;
	case RT_INT32: *out = ty_prim(DT_I32); return 1;
	case RT_UINT32: *out = ty_prim(dt_make(DT_UINT, 32, 1)); return 1;
	case RT_INT64: *out = ty_prim(DT_I64); return 1;
	case RT_UINT64: *out = ty_prim(dt_make(DT_UINT, 64, 1)); return 1;
	case RT_FLOAT32: *out = ty_prim(DT_F32); return 1;
	case RT_VOID: *out = ty_void(); return 1;
	case RT_HANDLE: *out = ty_ptr(DT_VOID, sym("global")); return 1;
	case RT_PTR_INT64: *out = ty_ptr(DT_I64, sym("global")); return 1;
	case RT_STACK:
		if (str_arg(args, nargs, 0, "shape"))
			*out = ty_ptr(DT_I64, sym("global"));
		else if (str_arg(args, nargs, 0, "arg_tcode"))
			*out = ty_ptr(DT_I32, sym("global"));
		else
			*out = ty_ptr(DT_VOID, sym("global"));
		return 1;
	case RT_PTR_ARG0:
		/* address_of(A[i]) points at A's elements in A's scope. */
		if (a0 && a0->kind == EX_LOAD)
			*out = ty_ptr(a0->load.buf->dt, a0->load.buf->scope);
		else if (a0 && a0->kind == EX_VAR && a0->var->ty.kind == TY_TENSORMAP)
			*out = ty_prim(dt_make(DT_UINT, 64, 1));
		else if (a0 && a0->kind == EX_VAR && a0->var->ty.kind == TY_PRIM)
			*out = ty_ptr(a0->var->dt, sym("global"));
		else
			*out = ty_ptr(DT_VOID, sym("global"));
		return 1;
	case RT_PTR_SCOPE_ARG0:
		*out = ty_ptr(DT_VOID, ptr_scope(a0));
		return 1;
	case RT_ACCESS_PTR:
		/* tvm_access_ptr(T.type_annotation(dt), data, ...) */
		*out = ty_ptr(a0 && a0->kind == EX_CALL ? ty_dtype(a0->call.rty) : DT_VOID, ptr_scope(a1));
		return 1;
	default:
		return 0;
	}
}

/* ----------------------------------------------------------------- T.ptx */

/* The entries of TVM 0.27's PTX table that tirxc models.  slots: the
 * modifier slots in order, each its tokens separated by '|', a leading '?'
 * marking it optional.  operands: one letter per operand, in order:
 * 's' a shared-space address (uint32, or a pointer the sugar form wraps in
 * T.cuda.cvta_generic_to_shared), 'g' a global address (a pointer), 'i' an
 * immediate (an integer constant; imm lists the allowed values, or NULL),
 * 'u' a .u32 register, 'p' a .pred register, 'c' the .u64 cache policy,
 * present only when the "cache" slot (slot 4) holds a token. */
static const PtxEntry ptx_entries[] = {
	{"tirx.ptx.cp_async_ca", "cp",
	 {"async", "ca", "shared|shared::cta", "global", "?L2::cache_hint", "?L2::64B|L2::128B|L2::256B"},
	 6, "sgic", "4|8|16"},
	{"tirx.ptx.cp_async_ca_src_size", "cp",
	 {"async", "ca", "shared|shared::cta", "global", "?L2::cache_hint", "?L2::64B|L2::128B|L2::256B"},
	 6, "sgiuc", "4|8|16"},
	{"tirx.ptx.cp_async_ca_ignore_src", "cp",
	 {"async", "ca", "shared|shared::cta", "global", "?L2::cache_hint", "?L2::64B|L2::128B|L2::256B"},
	 6, "sgipc", "4|8|16"},
	{"tirx.ptx.cp_async_cg", "cp",
	 {"async", "cg", "shared|shared::cta", "global", "?L2::cache_hint", "?L2::64B|L2::128B|L2::256B"},
	 6, "sgic", "16"},
	{"tirx.ptx.cp_async_cg_src_size", "cp",
	 {"async", "cg", "shared|shared::cta", "global", "?L2::cache_hint", "?L2::64B|L2::128B|L2::256B"},
	 6, "sgiuc", "16"},
	{"tirx.ptx.cp_async_cg_ignore_src", "cp",
	 {"async", "cg", "shared|shared::cta", "global", "?L2::cache_hint", "?L2::64B|L2::128B|L2::256B"},
	 6, "sgipc", "16"},
	{"tirx.ptx.cp_async_commit_group", "cp", {"async", "commit_group"}, 2, "", NULL},
	{"tirx.ptx.cp_async_wait_group", "cp", {"async", "wait_group"}, 2, "i", NULL},
	{"tirx.ptx.cp_async_wait_all", "cp", {"async", "wait_all"}, 2, "", NULL},
};
#define NPTX ((int)(sizeof ptx_entries / sizeof ptx_entries[0]))

int ptx_entry_count(void)
{
	return NPTX;
}

const PtxEntry *ptx_entry_at(int i)
{
	return i >= 0 && i < NPTX ? &ptx_entries[i] : NULL;
}

const PtxEntry *ptx_entry_of(const Op *op)
{
	for (int i = 0; op && i < NPTX; i++)
		if (!strcmp(ptx_entries[i].op, op->name))
			return &ptx_entries[i];
	return NULL;
}

int ptx_is_family(const Op *op)
{
	return op && !strncmp(op->name, "tirx.ptx.", 9) && !ptx_entry_of(op);
}

int ptx_slot_accepts(const char *slot, const char *tok)
{
	if (*slot == '?') {
		if (!*tok)
			return 1;
		slot++;
	}
	size_t n = strlen(tok);
	if (!n)
		return 0;
	for (const char *s = slot;;) {
		const char *bar = strchr(s, '|');
		size_t k = bar ? (size_t)(bar - s) : strlen(s);
		if (k == n && !memcmp(s, tok, n))
			return 1;
		if (!bar)
			return 0;
		s = bar + 1;
	}
}

const char *ptx_operands(const PtxEntry *e, const char *const *toks, char *buf)
{
	size_t j = 0;
	for (const char *o = e->operands; *o; o++)
		if (*o != 'c' || (e->nslots > 4 && toks[4][0]))
			buf[j++] = *o;
	buf[j] = 0;
	return buf;
}

/* The flags string: "pred" (a trailing predicate operand), "keep", "p<i>"
 * (operand i is a .pred register) and "s<i>" (lane i is the sink symbol),
 * comma separated.  Reports them as a pred flag and a bit set of p<i>;
 * returns 0 for anything else (keep, sinks: not in the modelled entries). */
static int ptx_flags(const char *f, int *pred, uint32_t *pmask)
{
	*pred = 0, *pmask = 0;
	while (*f) {
		const char *c = strchr(f, ',');
		size_t k = c ? (size_t)(c - f) : strlen(f);
		if (k == 4 && !memcmp(f, "pred", 4)) {
			*pred = 1;
		} else if (k >= 2 && k <= 3 && f[0] == 'p' && f[1] >= '0' && f[1] <= '9' &&
			   (k == 2 || (f[2] >= '0' && f[2] <= '9'))) {
			int i = f[1] - '0';
			if (k == 3)
				i = i * 10 + f[2] - '0';
			if (i >= 32)
				return 0;
			*pmask |= 1u << i;
		} else {
			return 0;
		}
		if (!c)
			break;
		f = c + 1;
	}
	return 1;
}

const Op *ptx_resolve(const Op *family, Expr *const *args, int nargs)
{
	const char *fam = family->name + 9; /* after "tirx.ptx." */
	int k = nargs;
	while (k > 0 && args[k - 1]->kind == EX_STR)
		k--;
	int nstr = nargs - k;
	if (nstr == 0)
		return NULL;
	int pred;
	uint32_t pmask;
	if (!ptx_flags(args[nargs - 1]->s, &pred, &pmask))
		return NULL;
	const char *toks[PTX_MAXSLOTS];
	for (int i = 0; i < NPTX; i++) {
		const PtxEntry *e = &ptx_entries[i];
		if (strcmp(e->family, fam) != 0 || e->nslots != nstr - 1)
			continue;
		int ok = 1;
		for (int j = 0; j < e->nslots && ok; j++) {
			toks[j] = args[k + j]->s;
			ok = ptx_slot_accepts(e->slots[j], toks[j]);
		}
		if (!ok)
			continue;
		char kinds[PTX_MAXOPERANDS + 1];
		ptx_operands(e, toks, kinds);
		int n = (int)strlen(kinds);
		if (k != n + pred)
			continue;
		uint32_t want = 0;
		for (int j = 0; j < n; j++)
			if (kinds[j] == 'p')
				want |= 1u << j;
		if (want != pmask)
			continue;
		return op_get(e->op);
	}
	return NULL;
}
