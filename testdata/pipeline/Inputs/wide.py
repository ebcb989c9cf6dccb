# wide.py N: a function with N buffer parameters for the default pipeline
# (MakePackedAPI nests one storage_alignment attr per buffer parameter).
import sys
n = int(sys.argv[1])
params = ", ".join('A%d: T.Buffer((16,), "float32")' % i for i in range(n))
print("# from tvm.script import tirx as T\n")
print("@T.prim_func(s_tir=True)")
print("def main(%s):" % params)
print('    T.func_attr({"target": T.target({"host": {"keys": ["cpu"], "kind": "llvm", "tag": ""}, '
      '"keys": ["cuda", "gpu"], "kind": "cuda", "max_num_threads": 1024, "tag": "", "thread_warp_size": 32})})')
print('    threadIdx_x = T.launch_thread("threadIdx.x", 16)')
print("    A0[threadIdx_x] = A%d[threadIdx_x]" % (n - 1))
