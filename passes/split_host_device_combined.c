/* split_host_device_combined.c: SplitHostDeviceCombined, TVM 0.27's
 * tirx.SplitHostDevice (dea2bf933e folded the three stages into one pass).
 *
 * IR expected: every function has a "target" attribute ("SplitHostDevice:
 *   Require the target attribute" otherwise).
 * IR left: what AnnotateDeviceRegions, SplitHostDevice and
 *   LowerDeviceKernelLaunch leave in sequence, with 0.27's details: the
 *   host launches a kernel with `T.call_ffi_kernel("<symbol>", args...,
 *   <launch args>, launch_params=[<the kernel's tags, flags included>],
 *   ret_ty="int32")` instead of T.call_packed; kernel params of captured
 *   buffers are named `<buffer>_ptr`, the dynamic shared memory size is
 *   int64, a CUDA kernel keeps `return 0` as an early exit, and kernels no
 *   longer copy tirx.persistent_kernel / tirx.entry_cluster_sync.
 * Runs after: MergeSharedMemoryAllocations.  MakePackedAPI passes the
 *   launches through; LowerTVMBuiltin lowers them like packed calls.
 *
 * Deviations from TVM 0.27: those of the three passes it runs (see their
 * headers), and one of its own: a virtual thread that reaches the split
 * (no InjectVirtualThread in tirxc) stays defined inside the kernel; TVM
 * 0.27 makes its var a kernel param that the host passes undefined, and a
 * "vthread.x" launch a launch param (its runtime reads it as gridDim.z).
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
