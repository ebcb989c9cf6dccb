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

/* ---------------------------------------------- backends/cuda/cuda_tools.c */
/* Device code from the CUDA C: PTX through NVRTC (loaded with dlopen at
 * first use, so that --emit=cuda needs no toolkit) or nvcc, cubin through
 * ptxas, fatbin through fatbinary.  Tools are spawned with argv arrays (no
 * shell); intermediates are mkstemp files in $TMPDIR, removed on every path
 * (cuda_tools_cleanup covers signals).  A tool's diagnostics are relayed at
 * the location of the device function the reported line lies in. */
enum { CT_PTX, CT_CUBIN, CT_FATBIN };

typedef struct CudaTools {
	const char *home;          /* the toolkit's root ($CUDA_HOME) */
	const char *const *archs;  /* "sm_80", "sm_90a"; narch 0: the target's */
	int narch;
	const char *const *xptxas; /* options for ptxas, one per entry */
	int nxptxas;
	int nvcc;                  /* PTX through nvcc instead of NVRTC */
	int verbose;               /* print each invocation on stderr */
	int dry_run;               /* -###: print the invocations, run nothing */
	const char *keep_dir;      /* keep .cu/.ptx/.cubin there; NULL: don't */
	const char *stem;          /* base name of the intermediates ("vecadd") */
	int resource_usage;        /* print registers, memory, spills per kernel */
} CudaTools;

/* Whether arch is spelled sm_NN or sm_NNa (NN >= 10); says why not in why. */
int cuda_arch_spelled(const char *arch, Buf *why);

/* Builds kind (CT_*) from cu, the CUDA C that cuda_emit_c printed for m,
 * into out (nothing with dry_run).  Returns 0; 1 after reporting an error
 * through diag (a tool rejected the code, the toolkit is missing); 2 with
 * a usage message in usage (an --arch the toolkit does not support, more
 * than one for ptx or cubin); 70 after reporting an internal error (a tool
 * died of a signal).  Temporary files are gone on return. */
int cuda_build(const CudaTools *t, const Module *m, const char *cu, size_t ncu, int kind,
               Buf *out, Buf *usage);

/* Async-signal-safe: removes the temporary files of a build in progress
 * and stops the tool it runs.  For the driver's exit and signal paths. */
void cuda_tools_cleanup(void);
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
