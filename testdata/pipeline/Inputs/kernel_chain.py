# Prints a CUDA kernel whose body is a chain of N bare attrs, each followed
# by a shared-memory store (argument N): the shape that makes ThreadSync
# and the split walk a chain as long as the input.
import sys

n = int(sys.argv[1])
out = ['# from tvm.script import tirx as T', '',
       '@T.prim_func',
       'def main(A: T.Buffer((64,), "float32")):',
       '    T.func_attr({"target": T.target("cuda")})',
       '    tx = T.launch_thread("threadIdx.x", 64)',
       '    S = T.alloc_shared((64,), "float32")']
for i in range(n):
    out.append('    T.attr(0, "pragma_x%d", %d)' % (i % 7, i))
    out.append('    S[tx] = A[tx] + T.float32(%d)' % i)
out.append('    A[tx] = S[63 - tx]')
print('\n'.join(out))
