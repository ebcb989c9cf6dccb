# tirxc: GNU make, C11.  `make demo` and `make test` install what is missing.
.SUFFIXES:
.DELETE_ON_ERROR:

BUILD   ?= build
CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
CUDA_HOME ?= /usr/local/cuda
LLVM_CONFIG ?= $(shell command -v llvm-config-19 2>/dev/null || echo /usr/lib/llvm-19/bin/llvm-config)

# LLVM (C API, later issues) and the CUDA toolkit are found here; the driver
# reports what it was built against in --version.
LLVM_VERSION := $(shell $(LLVM_CONFIG) --version 2>/dev/null || echo none)
CUDA_VERSION := $(shell $(CUDA_HOME)/bin/nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
CONFIG_DEFS = -DTIRXC_LLVM_VERSION='"$(LLVM_VERSION)"' -DTIRXC_LLVM_CONFIG='"$(LLVM_CONFIG)"' \
              -DTIRXC_CUDA_HOME='"$(CUDA_HOME)"' -DTIRXC_CUDA_VERSION='"$(or $(CUDA_VERSION),none)"'

OPT      ?= -O2 -g
SANITIZE ?=
CFLAGS_ALL = -std=c11 -D_POSIX_C_SOURCE=200809L -pthread -Wall -Wextra -Wshadow -Wno-unused-parameter \
             $(OPT) $(SANITIZE) -Ilib -Ibackends $(CFLAGS)
LDFLAGS_ALL = -pthread $(SANITIZE) $(LDFLAGS)
# -ldl: NVRTC is loaded with dlopen (backends/cuda/cuda_tools.c)
LDLIBS_ALL = -lm -ldl $(LDLIBS)

LIB_SRC    = $(sort $(wildcard lib/*.c))
PASS_SRC   = $(sort $(wildcard passes/*.c))
BACKEND_SRC = $(sort $(wildcard backends/*/*.c))
CMD_SRC    = cmd/tirxc.c
UNIT_SRC   = $(sort $(wildcard testdata/unit/*.c))
RT_SRC     = $(sort $(wildcard runtime/*.c))

LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o) $(PASS_SRC:%.c=$(BUILD)/%.o) $(BACKEND_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ  = $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ = $(UNIT_SRC:%.c=$(BUILD)/%.o)
RT_OBJ   = $(RT_SRC:%.c=$(BUILD)/%.o)

# The runtime library (runtime/tirxrt.h; docs/abi.md) is a separate layer: it
# sees only its own header, and its objects are position independent so that
# it can also go into a shared object.
RT_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -pthread -fPIC -Wall -Wextra -Wshadow \
            -Wno-unused-parameter $(OPT) $(SANITIZE) $(CFLAGS)
TIRXC_VERSION_STR := $(shell sed -n 's/^\#define TIRXC_VERSION "\(.*\)"/\1/p' lib/tir.h)

.PHONY: all demo test test-gpu check-asan check-robust check-tvm install clean deps fuzz bench unit

all: $(BUILD)/tirxc $(BUILD)/libtirxrt.a

$(BUILD)/tirxc: $(CMD_OBJ) $(BUILD)/libtirxc.a
	$(CC) $(LDFLAGS_ALL) -o $@ $(CMD_OBJ) $(BUILD)/libtirxc.a $(LLVM_LIBS) $(LDLIBS_ALL)

$(BUILD)/libtirxc.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

$(BUILD)/libtirxrt.a: $(RT_OBJ)
	rm -f $@
	$(AR) rcs $@ $(RT_OBJ)

$(RT_OBJ): $(BUILD)/runtime/%.o: runtime/%.c runtime/tirxrt.h
	@mkdir -p $(dir $@)
	$(CC) $(RT_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/unittest: $(UNIT_OBJ) $(BUILD)/libtirxc.a
	$(CC) $(LDFLAGS_ALL) -o $@ $(UNIT_OBJ) $(BUILD)/libtirxc.a $(LLVM_LIBS) $(LDLIBS_ALL)

$(BUILD)/%.o: %.c lib/tir.h $(wildcard $(dir %)*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/cmd/tirxc.o: CFLAGS_ALL += $(CONFIG_DEFS)

# backends/llvm uses LLVM's C API (headers from llvm-config; the shared
# libLLVM-19 at link time, for tirxc and unittest).
LLVM_CFLAGS := $(shell $(LLVM_CONFIG) --cflags 2>/dev/null)
LLVM_LIBS   := $(shell $(LLVM_CONFIG) --ldflags --libs core target x86 passes analysis 2>/dev/null)
$(BUILD)/backends/llvm/%.o: CFLAGS_ALL += $(LLVM_CFLAGS)

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(RT_OBJ:.o=.d)

# Installs the Debian packages the build and the tests need, when missing.
deps:
	@sh mk/deps.sh

# deps first, then a fresh make: the toolchain probes above (llvm-config)
# must see what deps installed.
demo: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/tirxc --verify-each --pipeline=default testdata/examples/vecadd.tx --emit=tir -o -

test: deps
	@$(MAKE) --no-print-directory all $(BUILD)/unittest
	@sh mk/test.sh $(BUILD)

# Kernels on a real GPU against CPU references (mk/test_gpu.py); says
# "skipped" and passes where there is no CUDA driver or device.
test-gpu: all $(BUILD)/gpu_launch
	python3 mk/test_gpu.py --tirxc $(BUILD)/tirxc --launch $(BUILD)/gpu_launch \
	  --testdata testdata --nvcc $(CUDA_HOME)/bin/nvcc

$(BUILD)/gpu_launch: mk/gpu_launch.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -o $@ mk/gpu_launch.c -ldl

ASAN_MAKE = $(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

# tirxc's passes against apache-tvm 0.27 (pip, into $(BUILD)/tvm-venv, once):
# docs/compatibility.md, "The make check-tvm tier".  CHECK_TVM_ARGS passes
# options to mk/check_tvm.py (--only=PASS,..., --filter=GLOB).
check-tvm: all
	@sh mk/check-tvm.sh $(BUILD) $(CHECK_TVM_ARGS)

check-asan:
	$(ASAN_MAKE) test

# Mutants of every well-formed module in testdata through the pipelines on
# the ASan+UBSan build (mk/robust.py; docs/development.md).  A failing mutant
# is kept in build-asan/robust/ with the command that reproduces it.
ROBUST_SEED  ?= 1
ROBUST_COUNT ?= 3000
ROBUST_JOBS  ?= 2
check-robust: deps
	@$(ASAN_MAKE) --no-print-directory all
	python3 mk/robust.py --tirxc build-asan/tirxc --seed $(ROBUST_SEED) \
	  --count $(ROBUST_COUNT) --jobs $(ROBUST_JOBS) --out build-asan/robust

# libFuzzer targets (clang only): the parser, and the whole default
# pipeline with verification (docs/development.md).  UBSan recovers here:
# run them with UBSAN_OPTIONS=halt_on_error=1 so that a report stops the run
# (and a suppressions file can set a known, recorded finding aside).
fuzz: deps
	$(MAKE) BUILD=build-fuzz CC=clang OPT="-O1 -g" \
	  SANITIZE="-fsanitize=fuzzer-no-link,address,undefined" build-fuzz/libtirxc.a
	clang -fsanitize=fuzzer,address,undefined -Ilib -o build-fuzz/fuzz-parse \
	  bench/fuzz_parse.c build-fuzz/libtirxc.a -lm
	clang -fsanitize=fuzzer,address,undefined -Ilib \
	  -o build-fuzz/fuzz-pipeline bench/fuzz_pipeline.c build-fuzz/libtirxc.a -lm

bench: all
	sh bench/run.sh $(BUILD)
	sh bench/pipeline.sh $(BUILD) testdata

# Device code (needs the CUDA toolkit): our CUDA C next to NVRTC, ptxas and
# nvcc (bench/device.sh; figures in docs/performance.md).
.PHONY: bench-device
bench-device: all
	sh bench/device.sh $(BUILD)

# The driver and its man page; the runtime library, its header and a
# pkg-config file (docs/abi.md, "Install layout").
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BUILD)/tirxc $(DESTDIR)$(PREFIX)/bin/tirxc
	install -m 644 man/tirxc.1 $(DESTDIR)$(PREFIX)/share/man/man1/tirxc.1
	install -m 644 $(BUILD)/libtirxrt.a $(DESTDIR)$(PREFIX)/lib/libtirxrt.a
	install -m 644 runtime/tirxrt.h $(DESTDIR)$(PREFIX)/include/tirxrt.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(TIRXC_VERSION_STR)|' \
	  runtime/tirxrt.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/tirxrt.pc
	chmod 644 $(DESTDIR)$(PREFIX)/lib/pkgconfig/tirxrt.pc

clean:
	rm -rf build build-asan build-fuzz
