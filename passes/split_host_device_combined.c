/* split_host_device_combined.c: SplitHostDeviceCombined, TVM HEAD's
 * tirx.SplitHostDevice (dea2bf933e folded the three stages into one pass).
 *
 * IR expected: every function has a "target" attribute ("SplitHostDevice:
 *   Require the target attribute" otherwise).
 * IR left: what AnnotateDeviceRegions, SplitHostDevice and
 *   LowerDeviceKernelLaunch leave in sequence, with HEAD's details: kernel
 *   params of captured buffers are named `<buffer>_ptr`, the dynamic shared
 *   memory size is int64, a CUDA kernel keeps `return 0` as an early exit,
 *   and kernels no longer copy tirx.persistent_kernel /
 *   tirx.entry_cluster_sync.
 * Runs after: MergeSharedMemoryAllocations.
 *
 * The stages are the three passes' own code (shd_* in lib/tir.h). */
#include "tir.h"

int pass_split_host_device_combined(Module **m, PassCtx *cx)
{
	if (shd_annotate(*m, 0, (*m)->nfuncs, "SplitHostDevice"))
		return 1;
	if (shd_split(*m, 1))
		return 1;
	return shd_lower_launch(*m, cx, 1);
}
