/* identity.c: Identity, the pass that does nothing.
 *
 * IR expected: any module that passes tir_verify.
 * IR left:     the same module, untouched (same pointer, same nodes).
 * Runs after:  nothing; it may run anywhere in a pipeline.
 *
 * It is in no pipeline: it gives the pass manager and its instruments
 * (--print-after, --dump-dir, --time-passes, --verify-each) a pass that
 * changes nothing, to wrap in tests. */
#include "tir.h"

int pass_identity(Module **m, PassCtx *cx)
{
	(void)m;
	(void)cx;
	return 0;
}
