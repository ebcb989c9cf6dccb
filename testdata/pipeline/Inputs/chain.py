# chain.py N: a function whose body is a chain of N bare storage_alignment
# attrs (each wraps the rest of the block without indenting it), as
# MakePackedAPI makes for N buffer parameters.
import sys
n = int(sys.argv[1])
print("# from tvm.script import tirx as T\n")
print("@T.prim_func(s_tir=True)")
print('def main(A: T.Buffer((16,), "float32")):')
print('    T.func_attr({"target": T.target({"keys": ["cpu"], "kind": "llvm", "tag": ""})})')
for i in range(n):
    print('    A_%d = T.decl_buffer((16,), data=A.data)' % i)
    print('    T.attr(A_%d, "storage_alignment", 64)' % i)
print("    A[0] = T.float32(1)")
