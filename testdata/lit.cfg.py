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

