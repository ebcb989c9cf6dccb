/* Stand-ins for the external device functions that testdata kernels call
 * with T.call_extern (user code a real build would link or include), so
 * mk/cuda-build.sh can compile those modules on their own.  Included
 * with nvcc -include; never part of what tirxc emits. */
template <class... A> __device__ inline void consume(A...) {}
template <class... A> __device__ inline void load_tile(A...) {}
