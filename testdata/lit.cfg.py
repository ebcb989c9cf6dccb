# lit configuration for tirxc's file tests.  Each test file carries its RUN
# lines; %tirxc is the compiler under test (TIRXC, else build/tirxc).
import os
import shutil
import lit.formats

config.name = "tirxc"
config.test_format = lit.formats.ShTest(True)
config.suffixes = [".tx", ".test"]
config.excludes = ["Inputs", "unit", "lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
root = os.path.dirname(config.test_source_root)
build = os.environ.get("TIRXC_BUILD", os.path.join(root, "build"))
config.test_exec_root = os.path.join(build, "testdata")
tirxc = os.environ.get("TIRXC", os.path.join(build, "tirxc"))
# Sanitizer builds (make check-asan) report crashes their own way.
asan = "asan" in os.path.basename(os.path.normpath(build))
if asan:
    config.available_features.add("asan")
# The runtime library (runtime/, docs/abi.md): tests that link C programs with
# it say `REQUIRES: tirxrt`.  %cc compiles them with the flags of this build
# (the sanitizers of the ASan build, whose library needs them).
tirxrt = os.path.join(build, "libtirxrt.a")
if os.path.exists(tirxrt):
    config.available_features.add("tirxrt")
config.substitutions.append(("%tirxrt", tirxrt))
cc = os.environ.get("CC", "cc") + " -std=c11 -Wall -Wextra -Wno-unused-parameter -Werror -g"
if asan:
    cc += " -fsanitize=address,undefined -fno-sanitize-recover=undefined"
config.substitutions.append(("%cc", cc))
config.substitutions.append(("%build", build))
if shutil.which("pkg-config"):
    config.available_features.add("pkg-config")
config.substitutions.append(("%tirxc", tirxc))
config.substitutions.append(("%root", root))
config.substitutions.append(("%python", "python3"))
# Host-code tests link objects into C programs: %cc is the C compiler and
# %tirxrt the runtime library, build/libtirxrt.a once it is built, else the
# test-only stand-in testdata/llvm/Inputs/stub_rt.c (compiled on the link
# line).
# Under make check-asan the runtime library is instrumented too, so the
# programs that link it are built with the same sanitizers.
cc = os.environ.get("CC", "cc")
if "asan" in config.available_features:
    cc += " -fsanitize=address,undefined"
config.substitutions.append(("%cc", cc))
tirxrt = os.path.join(build, "libtirxrt.a")
if not os.path.exists(tirxrt):
    tirxrt = os.path.join(config.test_source_root, "llvm", "Inputs", "stub_rt.c")
config.substitutions.append(("%tirxrt", tirxrt))
llvm_bin = "/usr/lib/llvm-19/bin"
config.environment["PATH"] = os.pathsep.join([llvm_bin, os.environ.get("PATH", "")])
for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "CUDA_HOME", "HOME"):
    if k in os.environ:
        config.environment[k] = os.environ[k]
config.environment["NO_COLOR"] = "1"
# The CUDA toolkit (CUDA_HOME, else /usr/local/cuda): tests that run nvcc
# say `REQUIRES: nvcc` and are skipped where it is missing.
cuda_home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
nvcc = os.path.join(cuda_home, "bin", "nvcc")
if os.access(nvcc, os.X_OK):
    config.available_features.add("nvcc")
    config.environment["CUDA_HOME"] = cuda_home
config.substitutions.append(("%nvcc", nvcc))


# The CUDA toolkit tirxc uses ($CUDA_HOME, else the one it was built
# against: `tirxc --version` says which).  Device code tests (--emit=ptx,
# cubin, fatbin) REQUIRE cuda-toolkit and are skipped without it;
# cuobjdump, which not every toolkit install has, is a feature of its own.
import re
import shutil
import subprocess
cuda_home = os.environ.get("CUDA_HOME", "")
if not cuda_home:
    try:
        v = subprocess.run([tirxc, "--version"], capture_output=True, text=True, timeout=20).stdout
        m = re.search(r"^CUDA toolkit: (.*) \(", v, re.M)
        cuda_home = m.group(1) if m else ""
    except (OSError, subprocess.SubprocessError):
        cuda_home = ""
def _nvrtc(home):
    for d in ("lib64", "lib"):
        p = os.path.join(home, d)
        if os.path.isdir(p) and any(f.startswith("libnvrtc.so") for f in os.listdir(p)):
            return True
    return False
if cuda_home and all(os.access(os.path.join(cuda_home, "bin", t), os.X_OK)
                     for t in ("ptxas", "fatbinary")) and _nvrtc(cuda_home):
    config.available_features.add("cuda-toolkit")
    config.substitutions.append(("%cuda_home", cuda_home))
    if os.access(os.path.join(cuda_home, "bin", "nvcc"), os.X_OK):
        config.available_features.add("nvcc")
    cuobjdump = os.path.join(cuda_home, "bin", "cuobjdump")
    if not os.access(cuobjdump, os.X_OK):
        cuobjdump = shutil.which("cuobjdump") or ""
    if cuobjdump:
        config.available_features.add("cuobjdump")
        config.substitutions.append(("%cuobjdump", cuobjdump))
