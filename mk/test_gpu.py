#!/usr/bin/env python3
"""make test-gpu: testdata kernels on a real GPU against CPU references.

For each case: `tirxc --emit=cuda` (the default pipeline), nvcc builds a
cubin for the device's architecture, mk/gpu_launch.c runs the kernel through
the CUDA driver API on random inputs, and the outputs are compared with a
reference computed here in plain Python (no numpy: the GPU machine may have
no package index).  Kernel parameters are matched to the case's arrays by
the names in the kernel's signature (`A_data`, `A_flat_data` -> A).

Without a CUDA driver or device the tier says so and passes nothing, fails
nothing (exit 0).  Last line: "N passed, N failed".
"""
import argparse, math, os, random, re, struct, subprocess, sys, tempfile

def f32(n, rng, lo=-1.0, hi=1.0):
    return [struct.unpack("f", struct.pack("f", rng.uniform(lo, hi)))[0] for _ in range(n)]

def f16(n, rng):
    return [struct.unpack("e", struct.pack("e", rng.uniform(-1, 1)))[0] for _ in range(n)]

def pack(vals, fmt):
    return struct.pack("%d%s" % (len(vals), fmt), *vals)

def unpack(data, fmt):
    return list(struct.unpack("%d%s" % (len(data) // struct.calcsize(fmt), fmt), data))

def close(got, want, rtol, atol):
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if not (abs(g - w) <= atol + rtol * abs(w))]
    return bad

# Each case: input, grid, block, dynamic shared bytes, arrays (name -> (fmt,
# values)), scalars (name -> value), outputs checked (name -> reference
# function of the inputs returning {index: value}), tolerances.
def cases(rng):
    out = []
    A, B = f32(4096, rng), f32(4096, rng)
    out.append(dict(name="vecadd", file="examples/vecadd.tx", grid=(32, 1, 1), block=(128, 1, 1), smem=0,
                    arrays={"A": ("f", A), "B": ("f", B), "C": ("f", [0.0] * 4096)}, scalars={},
                    check={"C": lambda: {i: A[i] + B[i] for i in range(4096)}}, tol=(1e-6, 1e-7)))
    n = 1000
    X, Y = f32(n, rng), f32(n, rng)
    alpha = 0.5
    out.append(dict(name="scale_dynamic", file="examples/scale_dynamic.tx", grid=((n + 255) // 256, 1, 1),
                    block=(256, 1, 1), smem=0, arrays={"X": ("f", X), "Y": ("f", Y)},
                    scalars={"alpha": alpha, "n": n},
                    check={"Y": lambda: {i: alpha * X[i] + Y[i] for i in range(n)}}, tol=(1e-6, 1e-6)))
    M = 512
    Ah, Bh = f16(M * M, rng), f16(M * M, rng)
    def mm():
        ref = {}
        for _ in range(256):
            i, j = rng.randrange(M), rng.randrange(M)
            ref[i * M + j] = sum(Ah[i * M + k] * Bh[k * M + j] for k in range(M))
        return ref
    out.append(dict(name="matmul_shared", file="examples/matmul_shared.tx", grid=(32, 32, 1), block=(16, 16, 1),
                    smem=1024, arrays={"A": ("e", Ah), "B": ("e", Bh), "C": ("f", [0.0] * (M * M))}, scalars={},
                    check={"C": mm}, tol=(1e-3, 1e-3)))
    Xs = f32(64 * 256, rng, -4, 4)
    def softmax():
        ref = {}
        for r in range(64):
            row = Xs[r * 256:(r + 1) * 256]
            m = max(row)
            s = sum(math.exp(v - m) for v in row)
            for c in range(256):
                ref[r * 256 + c] = math.exp(row[c] - m) / s
        return ref
    out.append(dict(name="softmax_row", file="tx/softmax_row.tx", grid=(64, 1, 1), block=(32, 1, 1), smem=0,
                    arrays={"X": ("f", Xs), "Y": ("f", [0.0] * (64 * 256))}, scalars={},
                    check={"Y": softmax}, tol=(1e-4, 1e-6)))
    Ar = f32(4096, rng)
    out.append(dict(name="thread_binding_reduce", file="pipeline/thread_binding_reduce.tx", grid=(16, 1, 1),
                    block=(256, 1, 1), smem=0, arrays={"A": ("f", Ar), "B": ("f", [0.0] * 16)}, scalars={},
                    check={"B": lambda: {i: sum(Ar[i * 256:(i + 1) * 256]) for i in range(16)}},
                    tol=(1e-4, 1e-5)))
    return out

SIG = re.compile(r'extern "C" __global__ void(?: __launch_bounds__\([^)]*\)| __maxnreg__\([^)]*\))? (\w+)\(([^)]*)\) \{')

def params(cu):
    m = SIG.search(cu)
    if not m:
        return None, []
    ps = []
    for p in m.group(2).split(","):
        toks = p.replace("*", " * ").split()
        ps.append((toks[-1], "*" in toks, toks[0]))
    return m.group(1), ps

def run_case(c, a):
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(a.testdata, c["file"])
        cu, cubin = os.path.join(d, "k.cu"), os.path.join(d, "k.cubin")
        r = subprocess.run([a.tirxc, src, "--emit=cuda", "-o", cu], capture_output=True, text=True)
        if r.returncode:
            return "tirxc: " + r.stderr.strip()
        r = subprocess.run([a.nvcc, "-cubin", "-arch=" + a.arch, "-o", cubin, cu], capture_output=True, text=True)
        if r.returncode:
            return "nvcc: " + r.stderr.strip()
        kernel, ps = params(open(cu).read())
        argv = [a.launch, cubin, kernel, "%d,%d,%d" % c["grid"], "%d,%d,%d" % c["block"], str(c["smem"])]
        outs = {}
        for name, is_ptr, ctype in ps:
            base = re.sub(r"(_flat)?_data$", "", name)
            if is_ptr:
                if base not in c["arrays"]:
                    return "no array for kernel parameter " + name
                fmt, vals = c["arrays"][base]
                path = os.path.join(d, base + ".in")
                open(path, "wb").write(pack(vals, fmt))
                if base in c["check"]:
                    outs[base] = (os.path.join(d, base + ".out"), fmt)
                    argv.append("io:%s:%s" % (path, outs[base][0]))
                else:
                    argv.append("in:" + path)
            else:
                v = c["scalars"].get(name)
                if v is None:
                    return "no value for kernel parameter " + name
                argv.append(("f32:%r" if ctype == "float" else "i64:%d" if "64" in ctype else "i32:%d") % v)
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode:
            return "launch: " + r.stderr.strip()
        for base, (path, fmt) in outs.items():
            got = unpack(open(path, "rb").read(), fmt)
            want = c["check"][base]()
            idx = sorted(want)
            bad = close([got[i] for i in idx], [want[i] for i in idx], *c["tol"])
            if bad:
                i = idx[bad[0]]
                return "%s[%d] = %r, expected %r (%d of %d values differ)" % (base, i, got[i], want[i], len(bad), len(idx))
    return None

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tirxc", required=True)
    ap.add_argument("--launch", required=True)
    ap.add_argument("--testdata", required=True)
    ap.add_argument("--nvcc", default="nvcc")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    r = subprocess.run([a.launch, "--arch"], capture_output=True, text=True)
    if r.returncode == 77:
        print("test-gpu: skipped: " + (r.stderr.strip().replace("gpu_launch: ", "") or "no GPU"))
        print("0 passed, 0 failed")
        return 0
    if r.returncode:
        print("test-gpu: " + r.stderr.strip())
        print("0 passed, 1 failed")
        return 1
    a.arch = r.stdout.strip()
    print("test-gpu: device architecture " + a.arch)
    passed = failed = 0
    for c in cases(random.Random(a.seed)):
        why = run_case(c, a)
        if why:
            failed += 1
            print("FAIL %s: %s" % (c["name"], why))
        else:
            passed += 1
            print("ok   %s" % c["name"])
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
