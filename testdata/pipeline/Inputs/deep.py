# Prints a function whose body nests N levels of `if` (argument N), for an
# llvm target: the deepest input the reader takes is N = 998 (the function
# and its body take the other levels).
import sys

n = int(sys.argv[1])
out = ['# from tvm.script import tirx as T', '',
       '@T.prim_func',
       'def main(A: T.Buffer((4,), "int32"), x: T.int32):',
       '    T.func_attr({"target": T.target("llvm")})']
for k in range(n):
    out.append('    ' * (k + 1) + 'if x > %d:' % k)
out.append('    ' * (n + 1) + 'A[0] = %d' % n)
print('\n'.join(out))
