#!/usr/bin/env python3
"""check-tvm: tirxc's passes against apache-tvm 0.27 itself.

Run by `make check-tvm` with the Python of the virtual environment that holds
apache-tvm (mk/check-tvm.sh makes it).  For every module in testdata and every
pass that both tools have, TVM runs its pass on the module, tirxc runs ours on
the same text (a subprocess of build/tirxc, `--passes=P --emit=tir -o -`), TVM
parses our output and `tvm.ir.assert_structural_equal(map_free_vars=True)`
compares the two.  The `head` pipeline is compared with TVM 0.27's own
lowering pipeline restricted to the same passes, in TVM's order.  Row `print`
runs no pass: TVM's reading of our printed input against its reading of the
input.  Row `cuda` compares generated code: `tirxc --pipeline=default
--emit=cuda` against TVM 0.27's CUDA C code generator run on the device
functions (target kind cuda) of `tirxc --pipeline=default --emit=tir` on the
same input, text for text once the preamble is removed from both (cuda_strip).

Case outcomes:
  equal           structurally equal; also when equal only with TVM's
                  result as TVM reads its own print back (printed without
                  syntax sugar, or read without TVM's well-formedness
                  check, where TVM cannot read it otherwise: read_back),
                  when equal only after TVM's StmtSimplify on both sides
                  (arithmetic form: `127 - tx` against `tx * -1 + 127`),
                  or, where TVM cannot parse our
                  output, when `tirxc --compare` finds our output equal to
                  TVM's printed result
  different       unequal; or tirxc refuses what TVM's pass accepts; or tirxc
                  fails internally (always, whatever TVM does)
  known deviation a difference listed in the known-deviation file
  not comparable  TVM cannot parse the input, TVM's pass fails, or neither
                  tool can read the other's output (reasons in the log)

Row `cuda`: equal also when the two prints hold the same functions and
helpers in another order (~order: ours are in module order); different when
the code differs, or tirxc refuses (or fails on) a module that TVM prints
code for; not comparable when tirxc's default pipeline refuses the input,
TVM cannot parse its output, the output has no cuda function, or TVM's code
generator fails.

Where TVM refuses a module's text but tirxc accepts it, both tools get
tirxc's canonical print of it instead, when TVM parses that.

The known-deviation file has one entry a line: PASS INPUT REASON, INPUT a
path under testdata (shell wildcards allowed).  An entry that matches no
difference is stale: it fails the run, so the list stays honest.

Prints one table, the failures, and a last line "N passed, N failed":
passed = equal + known deviations, failed = unlisted differences + stale
entries.  Exit status 0 only when nothing failed.  One TVM process does all
TVM work; tirxc runs beside it in one worker thread (two processes at most).
"""

import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

# The device target of BindTarget and of the pipeline runs.  An explicit
# arch: TVM completes a bare "cuda" from the CUDA toolkit it finds (sm_50
# without one), tirxc does not guess.  sm_75 has neither native bf16 nor
# fp8, so the legalizers have work to do.
TARGET_TIRXC = ["--target=cuda -arch=sm_75", "--host=llvm"]
TARGET_TVM = ({"kind": "cuda", "arch": "sm_75"}, {"kind": "llvm"})

# Our passes in pipeline order: (tirxc name, what TVM 0.27 runs, or None with
# the reason there is nothing to compare with).
PASSES = [
    ("BindTarget", "BindTarget", None),
    ("FlattenBuffer", "FlattenBuffer", None),
    ("BF16ComputeLegalize", "BF16ComputeLegalize", None),
    ("VectorizeLoop", "VectorizeLoop", None),
    ("FP8ComputeLegalize", "FP8ComputeLegalize", None),
    ("VerifyMemory", "VerifyMemory", None),
    ("AnnotateEntryFunc", "AnnotateEntryFunc", None),
    ("ThreadSync", "ThreadSync", None),
    ("MergeSharedMemoryAllocations", "MergeSharedMemoryAllocations", None),
    ("AnnotateDeviceRegions", None, "no TVM 0.27 pass: the three-pass split was merged into SplitHostDevice"),
    ("SplitHostDevice", None, "the three-pass split's middle pass; TVM 0.27's SplitHostDevice is our SplitHostDeviceCombined"),
    ("LowerDeviceKernelLaunch", None, "no TVM 0.27 pass: the three-pass split was merged into SplitHostDevice"),
    ("SplitHostDeviceCombined", "SplitHostDevice", None),
    ("MakePackedAPI", "MakePackedAPI", None),
    ("FP8StorageLegalize", "FP8StorageLegalize", None),
    ("BF16StorageLegalize", "BF16StorageLegalize", None),
    ("LowerTVMBuiltin", "LowerTVMBuiltin", None),
    ("LowerIntrin", "LowerIntrin", None),
]
# Our `head` pipeline and TVM 0.27's lowering (tvm.tirx.build with the s_tir
# pipeline) restricted to the passes we have, in TVM's order; the last two
# steps are TVM's finalization of the host and the device modules.  Both of
# TVM 0.27's pipelines lower thread-binding loops before FlattenBuffer (the
# tirx one with LowerTIRxOpaque, the s_tir one with LowerOpaqueBlock); ours
# runs LowerTIRxOpaque, so TVM's side does too.
HEAD_TVM = [
    "BindTarget", "LowerTIRxOpaque", "FlattenBuffer", "BF16ComputeLegalize", "VectorizeLoop",
    "FP8ComputeLegalize", "VerifyMemory", "AnnotateEntryFunc", "ThreadSync",
    "MergeSharedMemoryAllocations", "SplitHostDevice", "MakePackedAPI",
    "FP8StorageLegalize", "BF16StorageLegalize",
]
# A module whose text has a line `# check-tvm: skip REASON` is not given to
# TVM (n/c in every row): for inputs that TVM's passes take exponential time
# or memory on, such as deep nests that TVM's LowerIntrin copies at each
# level.
SKIP_RE = re.compile(r"^# check-tvm: skip (.+)$", re.M)
ROWS = ["print"] + [p for p, _, _ in PASSES] + ["head", "cuda"]
RESULTS = ("equal", "different", "known", "n/c")
# How an equal case was made equal, each counted in a column of its own.
HOW = ("read", "simp", "ours", "order")

# The cuda row's target on TVM's side (under `with target:`): the device
# functions carry their own targets; this one picks TVM's code generator
# and the arch it assumes (TVM completes a bare "cuda" from the toolkit it
# finds).
CUDA_TARGET = {"kind": "cuda", "arch": "sm_80"}
# A line that starts a helper or a function in either tool's CUDA C: what
# comes before the first one is the preamble (includes, typedefs, macros),
# which each tool writes its own way (ours: only what the code uses).
CUDA_START = re.compile(r'^(extern "C"|__forceinline__ |template <|__noinline__ )')


def cuda_strip(text):
    """The code of a CUDA C print without its preamble.  TVM's header ends
    with an `#ifdef _WIN32` ... `#endif` block, which goes first (it holds
    nothing that CUDA_START matches); then everything before the first line
    that starts a helper or a function.  A print with no such line keeps
    what is left, so that it cannot compare equal to an empty one."""
    lines = text.split("\n")
    if "#ifdef _WIN32" in lines:
        k = lines.index("#ifdef _WIN32")
        while k < len(lines) and lines[k] != "#endif":
            k += 1
        lines = lines[k + 1:]
    for i, line in enumerate(lines):
        if CUDA_START.match(line):
            return "\n".join(lines[i:]).rstrip("\n")
    return "\n".join(lines).rstrip("\n")


def cuda_blocks(code):
    """The helpers, declarations and definitions of stripped code, each a
    block from one CUDA_START line to the next, sorted."""
    out, cur = [], []
    for line in code.split("\n"):
        if CUDA_START.match(line) and cur:
            out.append("\n".join(cur).rstrip("\n"))
            cur = []
        cur.append(line)
    out.append("\n".join(cur).rstrip("\n"))
    return sorted(out)


def cuda_diff(theirs, ours, limit=12):
    """The first lines of a unified diff, TVM's print against ours."""
    import difflib
    d = list(difflib.unified_diff(theirs.split("\n"), ours.split("\n"), "TVM", "tirxc",
                                  n=0, lineterm=""))
    return d[2:2 + limit]

tvm = None  # imported in main(), after stderr goes to the log


def patch_if_then_else():
    """TVM 0.27 cannot read its own output of MakePackedAPI: the packed
    argument unpacking is `T.if_then_else(c, T.handle_add_byte_offset(..),
    T.tvm_struct_get(..))`, and the script's if_then_else accepts only
    primitive-typed branches.  With pointer-typed branches it builds here
    the call MakePackedAPI builds (a void pointer result); everything else
    goes to TVM's own function unchanged."""
    from tvm import tirx
    import tvm.script.parser.tirx  # noqa: F401  (loads the script modules)
    orig = tirx.op.if_then_else

    def if_then_else(cond, t, f, span=None):
        if isinstance(getattr(t, "ty", None), tvm.ir.PointerType):
            return tirx.call_intrin(tvm.ir.PointerType(tvm.ir.PrimType("void")),
                                    "prim.if_then_else", cond, t, f)
        return orig(cond, t, f, span)

    for name, mod in list(sys.modules.items()):
        if name.startswith("tvm") and mod is not None:
            v = getattr(mod, "if_then_else", None)
            if v is not None and (v is orig or getattr(v, "__wrapped__", None) is orig):
                mod.if_then_else = if_then_else


def patch_int1():
    """TVM 0.27 prints an int1 constant (LowerIntrin's `llvm.ctlz` flag)
    as `T.int1(1)`, its printer's form for a constant of a type other than
    int32 and bool, but its script has no `int1` constructor, so it cannot
    read that print back.  Here `T.int1(v)` builds what the printer wrote
    it for: the int1 IntImm v."""
    import tvm.tirx.script
    import tvm.tirx.script.parser

    def int1(value, span=None):
        return tvm.tirx.IntImm("int1", value, span)

    for mod in (tvm.tirx.script, tvm.tirx.script.parser):
        if not hasattr(mod, "int1"):
            mod.int1 = int1


# True while Tvm.read_back parses TVM's print of its own result.
READING_BACK = False


def patch_decl_buffer():
    """TVM 0.27 prints a buffer's elem_offset 0 as nothing, and reads a
    `T.decl_buffer(..., data=p, offset_factor=8)` without elem_offset as
    one with a fresh elem_offset variable, which no DeclBuffer defines (its
    well-formedness check refuses it).  So, in a well-formed result, a
    DeclBuffer printed with an offset factor and no elem_offset has
    elem_offset 0 (of its first dimension's type, as the printer checks);
    while read_back reads such a print, that is what `T.decl_buffer` builds
    (FlattenBuffer's flat alias of a buffer with an offset factor).  An
    offset factor of 1 is printed only beside a fresh variable, and is left
    alone.  Input modules are read as TVM reads them."""
    import inspect
    import tvm.tirx.script.parser as parser
    orig = parser.decl_buffer
    sig = inspect.signature(orig)

    def decl_buffer(*args, **kwargs):
        if READING_BACK:
            b = sig.bind(*args, **kwargs)
            b.apply_defaults()
            a = b.arguments
            if (a["data"] is not None and a["elem_offset"] is None and a["byte_offset"] is None
                    and a["offset_factor"] not in (0, 1)):
                shape = a["shape"]
                shape = shape if isinstance(shape, (list, tuple)) else [shape]
                ty = getattr(shape[0], "dtype", "int32") if len(shape) else "int32"
                a["elem_offset"] = tvm.tirx.IntImm(str(ty), 0)
                return orig(*b.args, **b.kwargs)
        return orig(*args, **kwargs)

    parser.decl_buffer = decl_buffer


def first_line(text, limit=300):
    for line in str(text).splitlines():
        line = line.strip()
        if line and not line.startswith("File ") and not set(line) <= set("|^ -"):
            return line[:limit]
    return str(text).strip()[:limit]


def tvm_error(exc):
    """One line that says why TVM refused: its `error:` line, else the
    exception's last meaningful line."""
    s = str(exc)
    m = re.search(r"error: (.*)", s)
    if m:
        msg = m.group(1)
        loc = re.search(r"--> <str>:(\d+):(\d+)", s)
        return msg[:300] + (f" (line {loc.group(1)})" if loc else "")
    lines = [l.strip() for l in s.splitlines() if l.strip()]
    for l in reversed(lines):
        if not set(l) <= set("|^ -") and not l.startswith("File "):
            return (type(exc).__name__ + ": " + l)[:300]
    return type(exc).__name__


def tirxc_error(stderr):
    for line in stderr.splitlines():
        if "error:" in line:
            return line.strip()[:300]
    return first_line(stderr) or "(no message)"


class Tvm:
    """All TVM work: parsing (cached per text), passes, comparison."""

    def __init__(self):
        self.cache = {}
        self.triple = None
        t, h = TARGET_TVM
        self.target = tvm.target.Target(t, host=h)

    def parse(self, text, check=True):
        """An IRModule (a bare function wrapped as TVM does it), or the
        exception TVM raised."""
        return self.parse_raw(text, check)[0]

    def parse_raw(self, text, check=True):
        """(module or exception, whether the text was a bare function).
        check=False: without TVM's well-formedness check (read_back)."""
        key = (text, check, READING_BACK)
        hit = self.cache.get(key)
        if hit is None:
            try:
                m = tvm.script.from_source(text, check_well_formed=check)
                bare = not isinstance(m, tvm.IRModule)
                if bare:
                    m = tvm.IRModule.from_expr(m)
                hit = (m, bare)
            except Exception as e:  # TVM raises many kinds
                hit = (e, False)
            self.cache[key] = hit
        return hit

    def make_pass(self, name):
        T, S = tvm.tirx.transform, tvm.s_tir.transform
        if name == "BindTarget":
            return [T.BindTarget(self.target)]
        if name == "VectorizeLoop":
            return [T.VectorizeLoop(True)]
        if name == "ThreadSync":
            return [S.ThreadSync("shared"), S.ThreadSync("shared.dyn")]
        if name == "MergeSharedMemoryAllocations":
            return [S.MergeSharedMemoryAllocations()]
        return [getattr(T, name)()]

    @staticmethod
    def fresh(mod):
        """A new module over the same functions: TVM's passes take their
        module as an rvalue and may change it in place, and the parsed
        modules are cached and reused."""
        return tvm.IRModule(dict(mod.functions), attrs=mod.attrs)

    def run(self, names, mod):
        mod = self.fresh(mod)
        for n in names:
            for p in self.make_pass(n):
                mod = p(mod)
        return mod

    def head(self, mod):
        mod = self.run(HEAD_TVM, mod)
        # tvm.tirx.build: split by target, finalize each side, here merged
        # back into one module to compare with ours.
        def is_host(f):
            t = f.attrs.get("target", None) if f.attrs else None
            return t is None or t.kind.name in ("llvm", "c", "cuda_host")
        T = tvm.tirx.transform
        host = T.Filter(is_host)(mod)
        dev = T.Filter(lambda f: not is_host(f))(mod)
        host = T.LowerIntrin()(T.LowerTVMBuiltin()(host))
        dev = T.LowerIntrin()(dev)
        out = tvm.IRModule({}, attrs=mod.attrs)
        for part in (host, dev):
            for gv, f in part.functions.items():
                out[gv] = f
        return out

    def read_back(self, mod):
        """mod as TVM reads its own print of it back (or the exception of
        the first try), and how it had to be read ("" for the plain way):

        - TVM 0.27 prints a DeclBuffer that retypes a layout-less buffer's
          storage as `X = P.view("float32")` and its parser cannot read
          that (Buffer.view with a dtype packs P's layout, which is None);
          printed without syntax sugar the same node is `X =
          T.decl_buffer(shape, dtype, data=P.data, ...)`, which reads back
          exactly.
        - A result that is not well-formed (LowerIntrin copies a Let, so
          its variable is defined twice) is read without TVM's
          well-formedness check: the comparison then shows the difference
          that matters instead of stopping at what no text carries.

        Each way is tried only when the ones before it fail.  While TVM
        reads, `T.decl_buffer` reads a missing elem_offset as TVM's printer
        meant it (patch_decl_buffer)."""
        global READING_BACK
        READING_BACK = True
        try:
            return self.read_back_ways(mod)
        finally:
            READING_BACK = False

    def read_back_ways(self, mod):
        first = None
        for check in (True, False):
            for sugar in (True, False):
                m = self.parse(mod.script(show_meta=True, syntax_sugar=sugar), check)
                if not isinstance(m, Exception):
                    how = [] if sugar else ["printed without syntax sugar"]
                    if not check:
                        how.append("read without TVM's well-formedness check")
                    return m, (" " + " and ".join(how)) if how else ""
                first = first or m
        return first, ""

    def equal(self, a, b):
        """None when equal, else TVM's first difference (one line)."""
        try:
            tvm.ir.assert_structural_equal(a, b, map_free_vars=True)
            return None
        except ValueError as e:
            m = re.search(r"caused by lhs at (\S+)", str(e))
            return ("at " + m.group(1)) if m else first_line(e)
        except Exception as e:
            return "comparison failed: " + first_line(e)

    def drop_default_triple(self, text):
        """text without the mtriple TVM gives every llvm target that has
        none (the triple of the machine TVM was built for): TVM's reading of
        our text would add it too, but `tirxc --compare` reads the text
        as it is."""
        if self.triple is None:
            self.triple = str(tvm.target.Target({"kind": "llvm"}).attrs.get("mtriple", "")) or ""
        if not self.triple:
            return text
        return text.replace(', "mtriple": "%s"' % self.triple, "").replace(
            '"mtriple": "%s", ' % self.triple, "")

    def simplify(self, mod):
        return tvm.tirx.transform.StmtSimplify()(self.fresh(mod))

    def cuda_source(self, text):
        """TVM 0.27's CUDA C for the functions of text (our --emit=tir
        output) whose target kind is cuda: ("code", source), ("none", None)
        when there is no such function, or ("parse", exception) /
        ("build", exception) when TVM cannot read the text or its code
        generator fails."""
        mod = self.parse(text)
        if isinstance(mod, Exception):
            return "parse", mod
        dev = {}
        for gv, f in mod.functions.items():
            t = f.attrs.get("target", None) if getattr(f, "attrs", None) else None
            if t is not None and t.kind.name == "cuda":
                dev[gv] = f
        if not dev:
            return "none", None
        try:
            target = tvm.target.Target(CUDA_TARGET)
            with target:
                return "code", self.build_cuda(tvm.IRModule(dev), target).inspect_source()
        except Exception as e:  # TVM raises many kinds
            return "build", e

    @property
    def build_cuda(self):
        return tvm.get_global_func("target.build.cuda")


class Checker:
    def __init__(self, args):
        self.a = args
        self.tmp = tempfile.mkdtemp(prefix="check-tvm-")
        self.log = open(args.log, "w")
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.counts = {r: dict.fromkeys(RESULTS + HOW, 0) for r in ROWS}
        self.fails = []
        self.tirxc_only = []
        self.skipped = {}  # module -> why TVM is not run on it
        self.known = self.read_known(args.known)
        self.nfile = 0
        self.via = ""  # how the case's input was chosen, for the log

    # --- known deviations -------------------------------------------------
    def read_known(self, path):
        entries = []
        with open(path) as f:
            for no, line in enumerate(f, 1):
                s = line.strip()
                if not s or s.startswith("#"):
                    continue
                parts = s.split(None, 2)
                if len(parts) < 3 or parts[0] not in ROWS:
                    sys.exit(f"{path}:{no}: expected PASS INPUT REASON, PASS one of {', '.join(ROWS)}")
                entries.append({"pass": parts[0], "input": parts[1], "reason": parts[2],
                                "line": no, "used": 0})
        return entries

    def lookup(self, row, rel):
        for e in self.known:
            if e["pass"] == row and fnmatch.fnmatchcase(rel, e["input"]):
                return e
        return None

    # --- tirxc --------------------------------------------------------------
    def tirxc(self, argv, stdin=None):
        try:
            r = subprocess.run([self.a.tirxc] + argv, capture_output=True, text=True,
                               timeout=120, input=stdin)
            return r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired:
            return -999, "", "tirxc did not finish in 120 s"

    def tmpfile(self, name, text):
        self.nfile += 1
        path = os.path.join(self.tmp, f"{self.nfile}-{name}.tx")
        with open(path, "w") as f:
            f.write(text)
        return path

    # --- one outcome ----------------------------------------------------------
    def note(self, row, rel, result, why="", how=None, detail=()):
        """Counts one outcome and logs it; detail: lines logged below it,
        indented (the cuda row's diff)."""
        c = self.counts[row]
        why += self.via
        if result == "different":
            e = self.lookup(row, rel)
            if e:
                e["used"] += 1
                result = "known"
                why += f" [known: {e['reason']}]"
            else:
                self.fails.append(f"FAIL: {row} {rel}: {why}")
        c[result] += 1
        if how:
            c[how] += 1
        self.log.write(f"{result:9} {row:28} {rel}{(': ' + why) if why else ''}\n")
        for line in detail:
            self.log.write(f"    {line}\n")

    def compare_cuda(self, rel, tir, code):
        """Judges one case of the cuda row: tir and code are the results of
        `tirxc --pipeline=default --emit=tir` and `--emit=cuda` on the
        module."""
        (trc, tout, terr), (crc, cout, cerr) = tir, code
        for what, rc, err in (("--emit=tir", trc, terr), ("--emit=cuda", crc, cerr)):
            if rc not in (0, 1):
                return self.note("cuda", rel, "different",
                                 f"tirxc {what} failed internally (exit {rc}): {tirxc_error(err)}")
        if trc != 0:
            if crc == 0:
                return self.note("cuda", rel, "different",
                                 "tirxc prints CUDA C for a module its --emit=tir refuses: " +
                                 tirxc_error(terr))
            return self.note("cuda", rel, "n/c", "tirxc's default pipeline refuses the input: " +
                             tirxc_error(terr))
        kind, theirs = self.tv.cuda_source(tout)
        ours_says = "tirxc prints code" if crc == 0 else "tirxc refuses: " + tirxc_error(cerr)
        if kind == "parse":
            return self.note("cuda", rel, "n/c", "TVM cannot parse our --emit=tir output: " +
                             tvm_error(theirs) + "; " + ours_says)
        if kind == "none":
            if crc == 0:
                return self.note("cuda", rel, "different",
                                 "tirxc prints CUDA C, but our --emit=tir output has no function "
                                 "whose target kind TVM reads as cuda")
            return self.note("cuda", rel, "n/c", "no device function; " + ours_says)
        if kind == "build":
            if crc == 0:
                self.tirxc_only.append(f"cuda {rel}: {tvm_error(theirs)}")
                ours_says = "tirxc accepts"
            return self.note("cuda", rel, "n/c", "TVM's CUDA code generator fails: " +
                             tvm_error(theirs) + "; " + ours_says)
        if crc != 0:
            return self.note("cuda", rel, "different",
                             "tirxc refuses what TVM prints code for: " + tirxc_error(cerr))
        a, b = cuda_strip(cout), cuda_strip(theirs)
        if a == b:
            return self.note("cuda", rel, "equal")
        if cuda_blocks(a) == cuda_blocks(b):
            return self.note("cuda", rel, "equal", "the same functions and helpers in another order",
                             "order")
        d = cuda_diff(b, a)
        first = next((l for l in d if l.startswith(("-", "+"))), "")
        return self.note("cuda", rel, "different", "the code differs (first: " + first[:200] + ")",
                         detail=d)

    def compare(self, row, rel, tv, ours_rc, ours_out, ours_err):
        """Judges one case: tv is TVM's module or its exception; ours the
        result of the tirxc subprocess."""
        internal = ours_rc not in (0, 1)
        if internal:
            return self.note(row, rel, "different",
                             f"tirxc failed internally (exit {ours_rc}): {tirxc_error(ours_err)}")
        if isinstance(tv, Exception):
            why = "TVM fails: " + tvm_error(tv)
            if ours_rc == 0:
                why += "; tirxc accepts"
                self.tirxc_only.append(f"{row} {rel}: {tvm_error(tv)}")
            else:
                why += "; tirxc refuses too: " + tirxc_error(ours_err)
            return self.note(row, rel, "n/c", why)
        if ours_rc != 0:
            return self.note(row, rel, "different",
                             "tirxc refuses what TVM accepts: " + tirxc_error(ours_err))
        ours, bare = self.tv.parse_raw(ours_out)
        if bare and len(tv.functions) == 1 and len(ours.functions) == 1:
            # A single function prints bare (docs/language.md); TVM names
            # such a function after its global_symbol, which MakePackedAPI
            # changes.  It keeps the name TVM's module gives it.
            gv = list(tv.functions.keys())[0]
            ours = tvm.IRModule({gv.name_hint: list(ours.functions.values())[0]}, attrs=ours.attrs)
        if isinstance(ours, Exception):
            # TVM cannot read our output: compare on our side.
            theirs = self.tmpfile("tvm", self.tv.drop_default_triple(tv.script()))
            mine = self.tmpfile("ours", self.tv.drop_default_triple(ours_out))
            rc, out, err = self.tirxc(["--compare", mine, theirs])
            if rc == 0:
                return self.note(row, rel, "equal",
                                 "TVM cannot parse our output (" + tvm_error(ours) +
                                 "); tirxc --compare: equal", "ours")
            if rc == 1 and out.strip():
                d = first_line(out.replace(mine, "ours").replace(theirs, "TVM's"))
                return self.note(row, rel, "different",
                                 "TVM cannot parse our output (" + tvm_error(ours) +
                                 "); tirxc --compare: " + d)
            return self.note(row, rel, "n/c",
                             "TVM cannot parse our output (" + tvm_error(ours) +
                             ") nor tirxc TVM's (" + tirxc_error(err) + ")")
        d = self.tv.equal(tv, ours)
        if d is None:
            return self.note(row, rel, "equal")
        # What TVM's text cannot carry (the type of a call TVM prints the
        # same way, a sequence nested in a sequence, ...) does not count:
        # TVM's result as TVM reads it back.  With its metadata section:
        # TVM prints a string repeated in messages (MakePackedAPI's) as
        # metadata["ir.StringImm"][i], which it reads back only with it.
        again, how = self.tv.read_back(tv)
        tried = [tv]
        if not isinstance(again, Exception):
            d1 = self.tv.equal(again, ours)
            if d1 is None:
                return self.note(row, rel, "equal", "equal as TVM reads its own output back" + how +
                                 " (" + d + ")", "read")
            # The read-back can also lose what the result had (TVM prints a
            # parameter's zero elem_offset beside an offset factor as
            # nothing and reads a fresh variable back): StmtSimplify is
            # tried on both.
            tried.insert(0, again)
            d = d1 + "; TVM's result as TVM reads its own output back" + how
        for t in tried:
            try:
                d2 = self.tv.equal(self.tv.simplify(t), self.tv.simplify(ours))
            except Exception as e:
                d2 = "StmtSimplify fails: " + tvm_error(e)
            if d2 is None:
                on = " on TVM's result itself" if len(tried) > 1 and t is not again else ""
                return self.note(row, rel, "equal", "equal after StmtSimplify" + on + " (" + d + ")",
                                 "simp")
        return self.note(row, rel, "different", d)

    # --- the run --------------------------------------------------------------
    def modules(self):
        root = self.a.testdata
        out = []
        for d, subs, files in os.walk(root):
            subs.sort()
            for f in files:
                if f.endswith(".tx"):
                    rel = os.path.relpath(os.path.join(d, f), root)
                    if self.a.filter and not fnmatch.fnmatchcase(rel, self.a.filter):
                        continue
                    out.append(rel)
        return sorted(out)

    def jobs_for(self, path):
        """The tirxc runs of one module, submitted to the worker now."""
        sub = self.pool.submit
        j = {}
        skip = dict((p, t) for p, t, _ in PASSES)
        for row in self.rows:
            if row in ("print", "cuda") or (row in skip and skip[row] is None):
                continue
            if row == "head":
                argv = ["--pipeline=head"] + TARGET_TIRXC
            elif row == "BindTarget":
                argv = ["--passes=BindTarget"] + TARGET_TIRXC
            else:
                argv = ["--passes=" + row]
            j[row] = sub(self.tirxc, argv + ["--emit=tir", "-o", "-", path])
        return j

    def main(self):
        a = self.a
        t0 = time.time()
        self.tv = Tvm()
        self.rows = [r for r in ROWS if not a.only or r in a.only.split(",")]
        mods = self.modules()
        # The canonical prints first (the worker runs them while TVM parses).
        canon = {rel: self.pool.submit(self.tirxc, [os.path.join(a.testdata, rel), "--emit=tir", "-o", "-"])
                 for rel in mods}
        pending = {}
        inputs = {}
        cuda = {}  # module -> the cuda row's two tirxc runs
        # Decide each module's common input, then queue its tirxc runs, so
        # the worker stays ahead of the TVM work.
        for rel in mods:
            path = os.path.join(a.testdata, rel)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            m = SKIP_RE.search(text)
            if m:
                self.skipped[rel] = m.group(1)
                inputs[rel] = (None, 0, "", "", None)
                continue
            orig = self.tv.parse(text)
            crc, cout, cerr = canon[rel].result()
            src = None
            if crc != 0:
                pass  # tirxc refuses the input: row `print` says whether TVM does
            elif not isinstance(orig, Exception):
                src = (path, orig, "")
            elif crc == 0:
                again = self.tv.parse(cout)
                if not isinstance(again, Exception):
                    src = (self.tmpfile("canon", cout), again,
                           " (input: tirxc's print; TVM refuses the file: " + tvm_error(orig) + ")")
            inputs[rel] = (orig, crc, cout, cerr, src)
            if src:
                pending[rel] = self.jobs_for(src[0])
            if "cuda" in self.rows:
                # The module file itself: TVM reads only our output.
                cuda[rel] = tuple(self.pool.submit(self.tirxc, ["--pipeline=default", "--emit=" + e,
                                                                "-o", "-", path])
                                  for e in ("tir", "cuda"))
        for rel in mods:
            orig, crc, cout, cerr, src = inputs[rel]
            self.case_module(rel, orig, crc, cout, cerr, src, pending.get(rel), cuda.get(rel))
            self.tv.cache.clear()
        self.pool.shutdown()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.report(mods, time.time() - t0)

    def case_module(self, rel, orig, crc, cout, cerr, src, jobs, cuda):
        self.log.write(f"# {rel}\n")
        self.log.flush()
        if rel in self.skipped:
            for row in self.rows:
                self.note(row, rel, "n/c", "not run (the module says why): " + self.skipped[rel])
            return
        if "print" in self.rows:
            if crc not in (0, 1):
                self.note("print", rel, "different",
                          f"tirxc failed internally (exit {crc}): {tirxc_error(cerr)}")
            elif isinstance(orig, Exception):
                why = "TVM refuses the input: " + tvm_error(orig)
                if crc == 0:
                    why += "; tirxc accepts"
                    self.tirxc_only.append(f"print {rel}: {tvm_error(orig)}")
                self.note("print", rel, "n/c", why)
            elif crc != 0:
                self.note("print", rel, "different", "tirxc refuses the input, TVM accepts it: " + tirxc_error(cerr))
            else:
                self.compare("print", rel, orig, crc, cout, cerr)
        for row in self.rows:
            if row == "print":
                continue
            if row == "cuda":
                self.log.flush()
                self.compare_cuda(rel, cuda[0].result(), cuda[1].result())
                continue
            tvm_name = dict((p, t) for p, t, _ in PASSES).get(row, "head")
            if tvm_name is None:
                continue  # nothing to compare with: a note in the table
            if src is None:
                why = "tirxc refuses the input" if crc != 0 else \
                    "TVM refuses the input: " + tvm_error(orig)
                self.note(row, rel, "n/c", why)
                continue
            path, mod, how = src
            self.log.flush()
            try:
                tv = self.tv.head(mod) if row == "head" else self.tv.run([tvm_name], mod)
            except Exception as e:
                tv = e
            rc, out, err = jobs[row].result()
            self.via = how
            self.compare(row, rel, tv, rc, out, err)
            self.via = ""

    def report(self, mods, secs):
        out = sys.stdout
        w = max(len(r) for r in ROWS)
        out.write(f"check-tvm: {len(mods)} modules of testdata against apache-tvm {tvm.__version__}\n")
        cols = [("equal", "equal"), ("~read", "read"), ("~simp", "simp"), ("~ours", "ours"),
                ("~order", "order"), ("differ", "different"), ("known", "known"), ("n/c", "n/c")]

        def line(name, cells):
            return f"{name:{w}}  " + " ".join(f"{x:>6}" for x in cells)

        hdr = line("pass", [h for h, _ in cols])
        out.write(hdr + "\n")
        out.write("-" * len(hdr) + "\n")
        tot = dict.fromkeys(RESULTS + HOW, 0)
        notes = dict((p, w) for p, _, w in PASSES)
        for r in self.rows:
            c = self.counts[r]
            for k in tot:
                tot[k] += c[k]
            if notes.get(r):
                out.write(line(r, ["-"] * len(cols)) + f"  (not comparable: {notes[r]})\n")
                continue
            out.write(line(r, [c[k] for _, k in cols]) + "\n")
        out.write("-" * len(hdr) + "\n")
        out.write(line("total", [tot[k] for _, k in cols]) + "\n")
        out.write("equal: structurally equal (~read: only with TVM's result as TVM reads its printed form back; "
                  "~simp: only after StmtSimplify on both sides;\n"
                  "~ours: TVM cannot parse our output, `tirxc --compare` with TVM's print; "
                  "cuda: the same CUDA C text, ~order: in another order of functions);\n"
                  "known: a listed deviation; n/c: not comparable (TVM refuses the input or "
                  f"its pass fails); reasons per case in {self.a.log}\n")
        if self.tirxc_only:
            out.write(f"{len(self.tirxc_only)} cases where tirxc accepts what TVM refuses "
                      f"(grep 'tirxc accepts' in the log)\n")
        stale = []
        if not self.a.only and not self.a.filter:
            for e in self.known:
                if not e["used"]:
                    stale.append(f"STALE: {self.a.known}:{e['line']}: {e['pass']} {e['input']}: "
                                 "no longer differs; remove the entry")
        for line in self.fails + stale:
            out.write(line + "\n")
        passed = tot["equal"] + tot["known"]
        failed = len(self.fails) + len(stale)
        out.write(f"check-tvm took {secs:.0f} s\n")
        out.write(f"{passed} passed, {failed} failed\n")
        self.failed = failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tirxc", required=True)
    ap.add_argument("--testdata", required=True)
    ap.add_argument("--known", required=True, help="the known-deviation list")
    ap.add_argument("--log", required=True, help="per-case outcomes and TVM's messages")
    ap.add_argument("--only", help="comma-separated rows (passes, print, head, cuda); no stale check")
    ap.add_argument("--filter", help="modules matching this wildcard only; no stale check")
    a = ap.parse_args()
    global tvm
    # TVM logs warnings (no CUDA toolkit found) on fd 2: into the log.
    sys.stdout.flush()
    keep = os.dup(2)
    logerr = os.open(a.log + ".stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(logerr, 2)
    try:
        import tvm as _tvm
        import tvm.s_tir.transform  # noqa: F401
        tvm = _tvm
        patch_if_then_else()
        patch_int1()
        patch_decl_buffer()
        c = Checker(a)
        c.main()
    finally:
        os.dup2(keep, 2)
    sys.exit(1 if c.failed else 0)


if __name__ == "__main__":
    main()
