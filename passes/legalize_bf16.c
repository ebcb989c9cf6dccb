/* legalize_bf16.c: BF16ComputeLegalize and BF16StorageLegalize (TVM's
 * tirx.BF16ComputeLegalize / tirx.BF16StorageLegalize), for targets without
 * native bfloat16: every function except cuda ones with an arch of sm_80 or
 * newer.  The work is done by legalize_float.c.
 *
 * BF16ComputeLegalize
 *   IR expected: flattened buffers (after FlattenBuffer), any bf16 use.
 *   IR left:     bf16 arithmetic, casts, calls and constants computed in
 *                float32, with exact conversions where bf16 values are
 *                loaded or stored; internal bf16 allocations whose pointer is
 *                not passed around (`B.data`) become float32.
 * BF16StorageLegalize
 *   IR expected: after MakePackedAPI (no buffer parameters).
 *   IR left:     bf16 pointers, buffers, loads and stores as uint16;
 *                reinterprets to bf16 become the uint16 bits themselves.
 *   Runs after:  MakePackedAPI, and the compute legalizer.  bf16
 *                arithmetic still present (a function compute legalize
 *                skipped as native before MakePackedAPI moved it to the
 *                host) is computed in float32 first; TVM would compute it
 *                on the uint16 bits. */
#include "legalize.h"

static int is_bf16(DType t)
{
	return lz_family(t) == LZ_BF16;
}

static const Legalize bf16 = {is_bf16, LZ_BF16, 80, {DT_FLOAT, 32, 1}};

int pass_bf16_compute_legalize(Module **m, PassCtx *cx)
{
	return lz_compute(*m, cx, &bf16);
}

int pass_bf16_storage_legalize(Module **m, PassCtx *cx)
{
	return lz_storage(*m, cx, &bf16);
}
