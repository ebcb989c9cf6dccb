/* legalize_fp8.c: FP8ComputeLegalize and FP8StorageLegalize (TVM's
 * tirx.FP8ComputeLegalize / tirx.FP8StorageLegalize), for targets without
 * native fp8: every function except cuda ones with an arch of sm_89 or
 * newer.  All float8 variants match, as in TVM; float8_e8m0fnu has no
 * exact conversion here and is refused when it would need one.
 *
 * FP8ComputeLegalize
 *   IR expected: flattened buffers, any fp8 use.
 *   IR left:     fp8 arithmetic in the promote type, float32 unless
 *                --pass-config tirx.fp8_promote_dtype=float16 (TVM's
 *                promote_dtype argument), with exact conversions at loads
 *                and stores; internal fp8 allocations become the promote type.
 * FP8StorageLegalize
 *   IR expected: after MakePackedAPI (no buffer parameters).
 *   IR left:     fp8 pointers, buffers, loads and stores as uint8.
 *   Runs after:  MakePackedAPI and the compute legalizer. */
#include <string.h>
#include "legalize.h"

static int is_fp8(DType t)
{
	return lz_family(t) == LZ_FP8;
}

/* The fp8 legalizer, computing in the type --pass-config chose; 0, or 1
 * after a diagnostic. */
static int fp8_legalize(const PassCtx *cx, Legalize *lz)
{
	*lz = (Legalize){is_fp8, LZ_FP8, 89, DT_F32};
	const char *p = pass_config(cx, "tirx.fp8_promote_dtype");
	if (p && !strcmp(p, "float16")) {
		lz->promote = dt_make(DT_FLOAT, 16, 1);
	} else if (p && strcmp(p, "float32")) {
		diag_error(NOLOC, "tirx.fp8_promote_dtype must be float16 or float32, not '%s'", p);
		return 1;
	}
	return 0;
}

int pass_fp8_compute_legalize(Module **m, PassCtx *cx)
{
	Legalize lz;
	return fp8_legalize(cx, &lz) || lz_compute(*m, cx, &lz);
}

/* The promote type matters here only for fp8 arithmetic that compute
 * legalize left in a function now on the host (see lz_storage). */
int pass_fp8_storage_legalize(Module **m, PassCtx *cx)
{
	Legalize lz;
	return fp8_legalize(cx, &lz) || lz_storage(*m, cx, &lz);
}
