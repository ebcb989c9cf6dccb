#!/usr/bin/env python3
"""robust.py: seeded mutation testing of the whole tirxc pipeline.

Takes every well-formed module in testdata (the selection of
testdata/pipeline/all.sh: no error or verifier tests, no expected-failure
inputs, and it must parse and verify unchanged), makes mutants of it that
mostly still parse (constants and extents, dtypes, storage scopes, thread
tags, targets and arch, deleted and duplicated statements, undefined
names) and runs each through one of the pipelines default, head and
mission with --verify-each, on the build given by --tirxc (`make
check-robust` uses the ASan+UBSan build in build-asan).

A run passes when, within --timeout seconds, it
  - exits 0, leaves its output file, and that output parses and verifies
    again, or
  - exits 1 with a located first error (`FILE:LINE:COL: error:`, or the
    whole-file form `FILE: error:` naming the input) and leaves no output
    file (not even a temporary one),
and prints no sanitizer report.  Anything else (exit 70 or 2, a signal, a
timeout, a sanitizer report, an unlocated error, a leftover file) fails.

Mutant SEED-I is a function of the seed, the index and the corpus only, so
`--seed SEED --only I` regenerates it; every failing mutant is also written
to --out as SEED-I.tx with SEED-I.txt beside it (command, exit status,
stderr), and the line printed for it is a command that reproduces it.
Output ends with "robust: N passed, N failed"; exit status 1 when any
mutant failed, 2 on a usage error.
"""
import argparse
import concurrent.futures
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

PIPELINES = ("default", "head", "mission")

# Sanitizer options: exit codes of their own, so that a report is never
# mistaken for exit 1 ("errors in the input").
SAN_ENV = {
    "ASAN_OPTIONS": "exitcode=86:detect_leaks=1:abort_on_error=0:handle_abort=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=87",
    "LSAN_OPTIONS": "exitcode=86",
    "NO_COLOR": "1",
}
SAN_TEXT = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                      r"runtime error:|MemorySanitizer|ThreadSanitizer")

# ------------------------------------------------------------ the corpus

SKIP_TEXT = re.compile(r"not %tirxc|test \$\? (-eq|=) 1|--no-verify")


def candidates(testdata):
    """The .tx files that all.sh would consider, sorted (paths relative)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(testdata):
        dirnames.sort()
        rel = os.path.relpath(dirpath, testdata)
        parts = rel.split(os.sep)
        if parts[0] in ("errors", "verify"):
            continue
        for f in sorted(filenames):
            if not f.endswith(".tx"):
                continue
            path = os.path.join(dirpath, f)
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            if SKIP_TEXT.search(text):
                continue
            out.append((os.path.relpath(path, testdata), text))
    out.sort()
    return out


def well_formed(tirxc, path, env):
    try:
        r = subprocess.run([tirxc, path, "-o", os.devnull], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=env, timeout=60)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0


# ------------------------------------------------------------ mutations

INTS = ["0", "0", "1", "-1", "2", "3", "7", "-8", "31", "32", "33", "63", "64", "255",
        "1023", "1024", "1025", "4096", "49152", "65536", "2147483647", "2147483648",
        "-2147483648", "4294967296", "9223372036854775807", "-9223372036854775808",
        "18446744073709551616", "100000000000000000000000000000"]
FLOATS = ["0.0", "-0.0", "1.0", "-1.5", "0.5", "65504.0", "3.4028234663852886e+38",
          "1e+300", "1e-45"]
DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "uint32", "uint64",
          "float16", "float32", "float64", "bfloat16", "float8_e4m3fn", "float8_e5m2",
          "float8_e4m3fnuz", "float8_e8m0fnu", "float4_e2m1fn", "float6_e2m3fn",
          "float32x4", "float16x2", "int32x4", "bfloat16x2", "float8_e4m3fnx4", "handle"]
SCOPES = ["global", "shared", "shared.dyn", "local", "warp", "local.fragment"]
TAGS = ["threadIdx.x", "threadIdx.y", "threadIdx.z", "blockIdx.x", "blockIdx.y",
        "blockIdx.z", "vthread", "vthread.x", "vthread.y"]
KINDS = ["cuda", "llvm", "c", "rocm", "metal", "opencl", "vulkan", "nvptx", "webgpu"]
ARCHS = ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_89", "sm_90",
         "sm_90a", "sm_100a", "sm_120", "sm_3", "sm_", "", "gfx90a", "compute_80"]
# Command-line targets for functions without one (all.sh: cuda + llvm).
CLI_TARGETS = [("cuda", "llvm")] * 6 + [("llvm", None), (None, None), ("cuda", "c"),
                                        ("c", None), ("cuda", None)]

RE_INT = re.compile(r"(?<![\w.])\d+(?![\w.])")
RE_FLOAT = re.compile(r"(?<![\w.])\d+\.\d*(e[+-]?\d+)?(?![\w.])")
DT_ALT = "|".join(sorted((re.escape(d) for d in DTYPES), key=len, reverse=True))
RE_DTYPE_STR = re.compile(r'"(u?int\d+|float\d+(_e\d+m\d+\w*)?|bfloat16|bool|handle)(x\d+)?"')
RE_DTYPE_CALL = re.compile(r"T\.(u?int\d+|float\d+(_e\d+m\d+\w*)?|bfloat16|bool)(x\d+)?\(")
RE_SCOPE = re.compile(r'"(global|shared|shared\.dyn|local|warp|local\.fragment)"')
RE_TAG = re.compile(r'"((threadIdx|blockIdx)\.[xyz]|vthread(\.[xyz])?)"')
RE_KIND = re.compile(r'"kind": "(\w+)"|T\.target\("(\w+)"')
RE_ARCH = re.compile(r'"arch": "(\w*)"')
RE_TARGET_OPEN = re.compile(r"T\.target\(\{")
RE_EXTENT_LINE = re.compile(r"launch_thread|range\(|T\.(serial|parallel|vectorized|unroll|"
                            r"grid|thread_binding)|T\.Buffer|alloc|decl_buffer")
RE_IDENT = re.compile(r"(?<![\w.\"])([A-Za-z_]\w*)(?![\w\"(])")
KEYWORDS = {"for", "in", "if", "else", "elif", "while", "def", "return", "and", "or",
            "not", "True", "False", "None", "with", "as", "T", "range", "break",
            "continue", "pass", "lambda", "is"}


def body_lines(lines):
    """Indices of statement lines inside a function (indented, not comments)."""
    return [i for i, l in enumerate(lines)
            if l.startswith(" ") and l.strip() and not l.lstrip().startswith("#")]


def block_end(lines, i):
    """One past the last line of the statement at i (with its nested block)."""
    ind = len(lines[i]) - len(lines[i].lstrip())
    j = i + 1
    while j < len(lines):
        l = lines[j]
        if l.strip() and len(l) - len(l.lstrip()) <= ind:
            break
        j += 1
    return j


def sub_one(rng, lines, regex, repl, line_filter=None):
    """Replaces one random match of regex in the body lines with repl(m)."""
    sites = []
    for i in body_lines(lines) + [i for i, l in enumerate(lines) if l.startswith("def ")]:
        if line_filter and not line_filter.search(lines[i]):
            continue
        for m in regex.finditer(lines[i]):
            sites.append((i, m))
    if not sites:
        return None
    i, m = rng.choice(sites)
    new = repl(m)
    lines[i] = lines[i][:m.start()] + new + lines[i][m.end():]
    return "line %d: %r -> %r" % (i + 1, m.group(0), new)


def m_int(rng, lines):
    return sub_one(rng, lines, RE_INT, lambda m: rng.choice(INTS))


def m_extent(rng, lines):
    return sub_one(rng, lines, RE_INT, lambda m: rng.choice(INTS), RE_EXTENT_LINE)


def m_float(rng, lines):
    return sub_one(rng, lines, RE_FLOAT, lambda m: rng.choice(FLOATS))


def m_dtype(rng, lines):
    if rng.random() < 0.7:
        return sub_one(rng, lines, RE_DTYPE_STR, lambda m: '"%s"' % rng.choice(DTYPES))
    return sub_one(rng, lines, RE_DTYPE_CALL,
                   lambda m: "T.%s(" % rng.choice([d for d in DTYPES if d != "handle"]))


def m_scope(rng, lines):
    return sub_one(rng, lines, RE_SCOPE, lambda m: '"%s"' % rng.choice(SCOPES))


def m_tag(rng, lines):
    return sub_one(rng, lines, RE_TAG, lambda m: '"%s"' % rng.choice(TAGS))


def m_target(rng, lines):
    r = rng.random()
    if r < 0.4:
        def kind(m):
            k = rng.choice(KINDS)
            return '"kind": "%s"' % k if m.group(1) is not None else 'T.target("%s"' % k
        return sub_one(rng, lines, RE_KIND, kind)
    if r < 0.8:
        got = sub_one(rng, lines, RE_ARCH, lambda m: '"arch": "%s"' % rng.choice(ARCHS))
        if got:
            return got
    return sub_one(rng, lines, RE_TARGET_OPEN,
                   lambda m: 'T.target({"arch": "%s", ' % rng.choice(ARCHS))


def m_delete(rng, lines):
    sites = body_lines(lines)
    if not sites:
        return None
    i = rng.choice(sites)
    j = block_end(lines, i)
    what = lines[i].strip()
    del lines[i:j]
    return "line %d: deleted %r (%d lines)" % (i + 1, what[:60], j - i)


def m_duplicate(rng, lines):
    sites = body_lines(lines)
    if not sites:
        return None
    i = rng.choice(sites)
    j = block_end(lines, i)
    lines[j:j] = lines[i:j]
    return "line %d: duplicated %r (%d lines)" % (i + 1, lines[i].strip()[:60], j - i)


def m_undefined(rng, lines):
    def repl(m):
        return m.group(1) if m.group(1) in KEYWORDS else "undefined_" + m.group(1)
    sites = []
    for i in body_lines(lines):
        code = lines[i].split("#", 1)[0]
        # Identifiers outside string literals only.
        stripped = re.sub(r'"[^"]*"', lambda s: " " * len(s.group(0)), code)
        for m in RE_IDENT.finditer(stripped):
            if m.group(1) not in KEYWORDS:
                sites.append((i, m))
    if not sites:
        return None
    i, m = rng.choice(sites)
    lines[i] = lines[i][:m.start()] + repl(m) + lines[i][m.end():]
    return "line %d: %r undefined" % (i + 1, m.group(1))


MUTATORS = [(m_int, 3), (m_extent, 5), (m_float, 1), (m_dtype, 5), (m_scope, 3),
            (m_tag, 3), (m_target, 3), (m_delete, 4), (m_duplicate, 3), (m_undefined, 2)]


def make_mutant(seed, index, corpus):
    """(source path, mutant text, pipeline, target, host, what was done)."""
    rng = random.Random("%s-%d" % (seed, index))
    rel, text = corpus[rng.randrange(len(corpus))]
    # Lit directives are not part of the module; keep the mutant short.
    lines = [l for l in text.split("\n") if not re.match(r"#\s*(RUN|CHECK|REQUIRES)", l)]
    done = []
    want = rng.choice([1, 1, 1, 2, 2, 3])
    fns = [f for f, _ in MUTATORS]
    weights = [w for _, w in MUTATORS]
    for _ in range(want * 4):
        if len(done) == want:
            break
        f = rng.choices(fns, weights)[0]
        got = f(rng, lines)
        if got:
            done.append("%s %s" % (f.__name__[2:], got))
    pipeline = PIPELINES[index % len(PIPELINES)]
    target, host = rng.choice(CLI_TARGETS)
    return rel, "\n".join(lines), pipeline, target, host, done


# ------------------------------------------------------------ running

LOCATED = re.compile(r"^(.+?):(\d+):(\d+): error: ")


def command(tirxc, pipeline, target, host, src, out):
    cmd = [tirxc, "--pipeline=" + pipeline, "--verify-each"]
    if target:
        cmd.append("--target=" + target)
    if host:
        cmd.append("--host=" + host)
    return cmd + [src, "-o", out]


def run(cmd, env, timeout):
    t = time.monotonic()
    try:
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env=env, timeout=timeout)
        return r.returncode, r.stderr.decode("utf-8", "replace"), time.monotonic() - t
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"").decode("utf-8", "replace")
        return None, err, time.monotonic() - t


def judge(args, env, src, outdir, cmd):
    """"lowered" (exit 0) or "refused" (exit 1) when the run keeps every
    promise, else (kind, detail, stderr)."""
    out = os.path.join(outdir, "out.tx")
    rc, err, secs = run(cmd, env, args.timeout)
    if rc is None:
        return ("timeout", "no exit after %gs" % args.timeout, err)
    if SAN_TEXT.search(err) or rc in (86, 87):
        line = next((l for l in err.splitlines() if SAN_TEXT.search(l)), "exit %d" % rc)
        return ("sanitizer", line.strip(), err)
    if rc < 0:
        return ("signal", "killed by signal %d" % -rc, err)
    left = sorted(os.listdir(outdir))
    if rc == 0:
        if "out.tx" not in left:
            return ("no-output", "exit 0 but no output file", err)
        rc2, err2, _ = run([args.tirxc, out, "-o", os.devnull], env, args.timeout)
        if rc2 != 0:
            first = (err2.splitlines() or ["exit %s" % rc2])[0]
            return ("output-rejected", "its output does not read back: " + first, err2)
        return "lowered"
    first = next((l for l in err.splitlines() if ": error: " in l or "internal error" in l),
                 (err.splitlines() or ["(no message)"])[0])
    if rc != 1:
        return ("exit-%d" % rc, first, err)
    if left:
        return ("output-left", "exit 1 but left %s" % ", ".join(left), err)
    m = LOCATED.match(first)
    if not (m and m.group(1) == src) and not first.startswith(src + ": error: "):
        return ("unlocated", first, err)
    return "refused"


def check(args, env, corpus, index, workroot):
    rel, text, pipeline, target, host, done = make_mutant(args.seed, index, corpus)
    mid = "%s-%d" % (args.seed, index)
    work = tempfile.mkdtemp(prefix=mid + ".", dir=workroot)
    try:
        src = os.path.join(work, "mutant.tx")
        outdir = os.path.join(work, "out")
        os.mkdir(outdir)
        with open(src, "w", encoding="utf-8") as f:
            f.write(text)
        cmd = command(args.tirxc, pipeline, target, host, src, os.path.join(outdir, "out.tx"))
        bad = judge(args, env, src, outdir, cmd)
        if isinstance(bad, str):
            return mid, bad
        kind, detail, err = bad
        os.makedirs(args.out, exist_ok=True)
        keep = os.path.join(args.out, mid + ".tx")
        with open(keep, "w", encoding="utf-8") as f:
            f.write(text)
        shown = command(args.tirxc, pipeline, target, host, keep, os.path.join(args.out, mid + ".out.tx"))
        if kind == "output-rejected":
            shown += ["&&", args.tirxc, os.path.join(args.out, mid + ".out.tx"), "-o", os.devnull]
        with open(os.path.join(args.out, mid + ".txt"), "w", encoding="utf-8") as f:
            f.write("mutant %s of %s: %s\n" % (mid, rel, "; ".join(done)))
            f.write("command: %s\n%s: %s\n--- stderr\n%s" % (" ".join(shown), kind, detail, err))
        return mid, (kind, detail, rel, done, " ".join(shown))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tirxc", default="build-asan/tirxc")
    ap.add_argument("--testdata", default=os.path.join(os.path.dirname(__file__), "..", "testdata"))
    ap.add_argument("--seed", default="1", help="any string; mutants are SEED-0 .. SEED-(N-1)")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--first", type=int, default=0, help="first mutant index")
    ap.add_argument("--only", type=int, action="append", help="run just mutant SEED-ONLY (repeatable)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per run")
    ap.add_argument("--out", default="build-asan/robust", help="where failing mutants go")
    ap.add_argument("--show", action="store_true", help="print the mutant(s) and exit")
    args = ap.parse_args()
    if not os.access(args.tirxc, os.X_OK):
        print("robust: %s: not an executable (make check-robust builds it)" % args.tirxc)
        return 2
    env = dict(os.environ)
    env.update(SAN_ENV)

    cands = candidates(args.testdata)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        ok = list(pool.map(lambda c: well_formed(args.tirxc, os.path.join(args.testdata, c[0]), env),
                           cands))
    corpus = [c for c, good in zip(cands, ok) if good]
    if not corpus:
        print("robust: no well-formed module under %s" % args.testdata)
        return 2
    indices = args.only if args.only else range(args.first, args.first + args.count)
    if args.show:
        for i in indices:
            rel, text, pipeline, target, host, done = make_mutant(args.seed, i, corpus)
            print("# mutant %s-%d of %s, --pipeline=%s --target=%s --host=%s\n# %s\n%s"
                  % (args.seed, i, rel, pipeline, target, host, "\n# ".join(done), text))
        return 0
    print("robust: %d well-formed modules (of %d), seed %s, %d mutants, %s"
          % (len(corpus), len(cands), args.seed, len(indices), args.tirxc), flush=True)

    workroot = tempfile.mkdtemp(prefix="tirxc-robust.")
    passed = failed = 0
    kinds = {}
    outcomes = {"lowered": 0, "refused": 0}
    try:
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            futs = [pool.submit(check, args, env, corpus, i, workroot) for i in indices]
            for fut in futs:
                mid, bad = fut.result()
                if isinstance(bad, str):
                    outcomes[bad] += 1
                    passed += 1
                    continue
                failed += 1
                kind, detail, rel, done, cmd = bad
                kinds[kind] = kinds.get(kind, 0) + 1
                print("FAIL %s (%s) %s [%s]: %s\n  mutation: %s\n  reproduce: %s\n"
                      "  or: python3 mk/robust.py --tirxc %s --seed %s --only %s"
                      % (mid, kind, rel, cmd.split()[1], detail, "; ".join(done), cmd,
                         args.tirxc, args.seed, mid.rsplit("-", 1)[1]), flush=True)
    finally:
        shutil.rmtree(workroot, ignore_errors=True)
    if kinds:
        print("robust: failures by kind: " + ", ".join("%s %d" % kv for kv in sorted(kinds.items())))
        print("robust: failing mutants are in %s" % args.out)
    print("robust: %d lowered (exit 0), %d refused with a located error (exit 1), %.0fs"
          % (outcomes["lowered"], outcomes["refused"], time.monotonic() - t0))
    print("robust: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
