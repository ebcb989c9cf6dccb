/* legalize.h: what legalize_bf16.c and legalize_fp8.c share (private to
 * passes/; legalize_float.c implements it).
 *
 * The compute legalizer computes in a wider float type (P) on targets
 * without native arithmetic for a narrow type; the storage legalizer then
 * stores the narrow type as unsigned integers of the same width.  Both are
 * TVM's ComputeLegalizer/StorageLegalizer, parameterised by the narrow
 * types they match and the sm_XY from which a cuda target has native
 * support. */
#ifndef LEGALIZE_H
#define LEGALIZE_H

#include "tir.h"

/* The narrow float families, as bits: what the four legalizers match. */
enum { LZ_BF16 = 1, LZ_FP8 = 2 };
int lz_family(DType t); /* LZ_BF16, LZ_FP8 or 0 */

typedef struct Legalize {
	int (*match)(DType t); /* the narrow types this pass handles */
	int family;            /* LZ_BF16 or LZ_FP8: the family match() accepts */
	int native_sm;         /* cuda targets from this sm_XY keep them */
	DType promote;         /* compute legalize: the type computed in (lanes 1) */
} Legalize;

/* 1 when f's target computes the matched types natively: cuda with an
 * arch of at least native_sm.  Functions without a target, host targets and
 * cuda without an arch are legalized. */
int lz_native(const Legalize *lz, const Func *f);

/* Rewrite every function that is not native; 0, or 1 after a diagnostic.
 * lz_storage first runs the compute legalizer on a function that still
 * computes in a matched type (see lz_storage). */
int lz_compute(Module *m, const PassCtx *cx, const Legalize *lz);
int lz_storage(Module *m, const PassCtx *cx, const Legalize *lz);

/* The value of x converted to the float type `to` (same lanes), exactly:
 * widening is exact, narrowing rounds to nearest even, NaN stays NaN (quiet),
 * overflow goes to infinity in formats that have one and saturates to the
 * largest finite value in those that do not (fn, fnuz).  Built from
 * reinterpret, integer shifts, bitwise ops, compares and Select (both arms
 * always defined, so that the result vectorizes).
 * lz_convertible says whether the pair is supported (NULL) or why not. */
const char *lz_convertible(DType from, DType to);
Expr *lz_convert(Arena *a, Expr *x, DType to);

#endif
