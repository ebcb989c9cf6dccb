#!/usr/bin/env python3
"""Writes a synthetic lowered TIRx module of about N lines to stdout.

The module is a sequence of host functions with a CUDA target, each launching
one kernel region with shared memory, lets, loops, conditionals, vector loads
and stores: the constructs the mission passes work on.  Same N, same bytes.
usage: gen.py LINES [--kernels K]"""
import sys

TARGET = ('T.target({"host": {"keys": ["cpu"], "kind": "llvm", "tag": ""}, '
          '"keys": ["cuda", "gpu"], "kind": "cuda", "max_num_threads": 1024, '
          '"tag": "", "thread_warp_size": 32})')


def func(k, body_lines):
    out = []
    w = out.append
    w("    @T.prim_func(s_tir=True)")
    w(f'    def f{k:06d}(A: T.Buffer((4096,), "float32"), B: T.Buffer((4096,), "float32"), n: T.int32):')
    w(f'        T.func_attr({{"target": {TARGET}}})')
    w('        blockIdx_x = T.launch_thread("blockIdx.x", 32)')
    w('        threadIdx_x = T.launch_thread("threadIdx.x", 128)')
    w('        A_sh = T.alloc_buffer((128,), scope="shared.dyn")')
    w('        B_sh = T.alloc_buffer((128,), scope="shared.dyn")')
    w('        A_sh[threadIdx_x] = A[blockIdx_x * 128 + threadIdx_x]')
    w('        T.tvm_storage_sync("shared.dyn")')
    i = 0
    while len(out) < body_lines:
        w(f'        x{i}: T.let[T.int32] = blockIdx_x * 128 + threadIdx_x + {i + 1}')
        w(f'        if x{i} < n:')
        w(f'            B_sh[threadIdx_x] = A_sh[threadIdx_x] * T.float32({i}.5) + B[x{i} % 4096]')
        w(f'        for j in range({i % 7 + 1}):')
        w(f'            B[(x{i} + j) % 4096] = T.max(B_sh[threadIdx_x], T.float32(0.0))')
        i += 1
    w('        B[blockIdx_x * 128 + threadIdx_x] = B_sh[threadIdx_x]')
    w("")
    return out


def main():
    lines = int(sys.argv[1])
    per = 60
    if "--kernels" in sys.argv:
        k = int(sys.argv[sys.argv.index("--kernels") + 1])
        per = max(12, lines // k)
    nfunc = max(1, lines // per)
    out = ["# from tvm.script import ir as I", "# from tvm.script import tirx as T",
           "# from tvm.tirx.layout import Axis", "", "@I.ir_module", "class Module:"]
    for k in range(nfunc):
        out.extend(func(k, per))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
