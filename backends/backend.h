/* backend.h: the one header of backends/: what a code generator offers the
 * driver.  A backend consumes the module the passes leave (after the
 * default or head pipeline: device functions split out, launches lowered,
 * intrinsics lowered) and never re-derives what a pass computed.
 *
 * Errors are reported through diag at the statement they concern (a
 * construct the backend cannot print correctly is refused, never passed
 * through) and the entry points return 1; the output buffer is then
 * meaningless. */
#ifndef BACKEND_H
#define BACKEND_H

#include "tir.h"

/* ------------------------------------------------- backends/cuda/cuda_c.c */
/* Whether f is a function the CUDA code generator prints: its target is a
 * CUDA target (device functions after the host/device split). */
int cuda_is_device_func(const Func *f);

/* The CUDA C of every device function of m, in module order: kernels
 * (calling_conv 2) as `extern "C" __global__`, their callees (calling_conv
 * 0) as `extern "C" __device__`, forward declarations first, after our
 * preamble and the helper functions the code uses.  The kernels and helpers
 * are TVM 0.27's CodeGenCUDA output token for token, except where
 * docs/compatibility.md says otherwise; the preamble is tirxc's own.
 * Returns 0, or 1 after reporting an error (also when m has no device
 * function: nothing to generate is an error for --emit=cuda). */
int cuda_emit_c(const Module *m, Buf *out);

/* ------------------------------------------------- backends/llvm/llvm.c */
/* Host code through LLVM 19: every function of m (after the default
 * pipeline; all must have a CPU target) compiled into one LLVM module,
 * optimized with LLVM's "default<O<opt>>" pipeline (opt 0..3) and written
 * to out as textual IR, assembly or an x86-64 ELF object (PIC, CPU
 * "generic": the same input and opt give the same bytes).  Packed entry
 * functions are exported under their global_symbol (`__tvm_ffi_<name>`),
 * the others are internal.  Returns 0, or 1 after reporting an error
 * through diag (constructs the host code generator does not handle are
 * refused at their statement, docs/backends.md). */
enum { LLVM_EMIT_IR, LLVM_EMIT_ASM, LLVM_EMIT_OBJ };
int llvm_emit(const Module *m, int kind, int opt, Buf *out);

#endif
