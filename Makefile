# lab: GNU make, C11 everywhere but shim/ (C++17, the only C++).
# Every build product goes under $(BUILD); `make BUILD=build-x` keeps builds apart.
BUILD    ?= build
PREFIX   ?= /usr/local
VERSION  := 0.1.0

CC       ?= cc
CXX      ?= c++
PKGS     := jansson sqlite3 libarchive libcurl libcrypto libpng libjpeg cairo zlib
SAN      ?=

CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-format-truncation -O2 -g $(SAN)
CXXFLAGS_BASE := -std=c++17 -Wall -Wextra -Werror -O2 -g -fPIC -fvisibility=hidden $(SAN)
DEFS := -DLAB_VERSION='"$(VERSION)"' -I. -I$(BUILD)/gen

# libtorch: Debian's libtorch-dev by default, or a pip/NGC layout at TORCH_DIR.
ifdef TORCH_DIR
TORCH_INC  := -isystem $(TORCH_DIR)/include -isystem $(TORCH_DIR)/include/torch/csrc/api/include
TORCH_LIBS := -L$(TORCH_DIR)/lib -Wl,-rpath,$(TORCH_DIR)/lib
TORCH_LIBDIR := $(TORCH_DIR)/lib
else
TORCH_INC  := -isystem /usr/include/torch/csrc/api/include
TORCH_LIBS :=
TORCH_LIBDIR := /usr/lib/$(shell $(CC) -print-multiarch 2>/dev/null)
endif
ifneq ($(TORCH_CXX11_ABI),)
TORCH_INC += -D_GLIBCXX_USE_CXX11_ABI=$(TORCH_CXX11_ABI)
endif
# libtorch_cuda registers its kernels from static initializers and nothing
# references it by symbol, so --as-needed would drop it and CUDA would vanish.
ifneq ($(wildcard $(TORCH_LIBDIR)/libtorch_cuda.so),)
TORCH_LIBS += -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed
TORCH_BUILD := cuda
# libtorch's CUDA headers include the toolkit's (cuda_runtime_api.h, cuBLAS),
# which pip, NGC and Debian keep outside the compiler's search path: without
# them shim/runtime.cpp builds without its per-device fields.
CUDA_HOME ?= /usr/local/cuda
ifneq ($(wildcard $(CUDA_HOME)/include/cuda_runtime_api.h),)
TORCH_INC += -isystem $(CUDA_HOME)/include
endif
else
TORCH_BUILD := cpu
endif
TORCH_LIBS += -ltorch -ltorch_cpu -lc10

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# lab itself does not link libtorch: shim/lazy.c loads liblabtorch.so (the C++
# shim with libtorch) on the first tensor call. The library reports errors
# through lab_err (and reads it back with lab_err_message), which the
# executable exports to it.
LDLIBS     := $(PKG_LIBS) -lpthread -ldl -lm -Wl,--export-dynamic-symbol=lab_err \
              -Wl,--export-dynamic-symbol=lab_err_message
SHIM_SO    := $(BUILD)/liblabtorch.so
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

CFLAGS   := $(CFLAGS_BASE) $(DEFS) $(PKG_CFLAGS) -DLAB_BUILD_FLAGS='"$(strip $(CFLAGS_BASE))"' -DLAB_TORCH_BUILD='"$(TORCH_BUILD)"'
CXXFLAGS := $(CXXFLAGS_BASE) -I. $(TORCH_INC)

# Sources are found, not listed: a new file in a module directory is built.
C_DIRS   := base shim datasets store labs labs/* labs/models grader containers doctor runner
C_SRCS   := $(filter-out runner/main.c,$(sort $(wildcard $(addsuffix /*.c,$(C_DIRS)))))
CXX_SRCS := $(sort $(wildcard shim/*.cpp))
EMBED    := $(sort $(wildcard labs/*/lab.json datasets/*.json docs/troubleshooting/TS-*.md))
OBJS     := $(C_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/shim_stubs.o $(BUILD)/obj/embedded.o
CXX_OBJS := $(CXX_SRCS:%.cpp=$(BUILD)/pic/%.o)
SHIM_HEADERS := shim/torchshim.h shim/pth.h
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard tests/unit/*.c)))
SUITES    := $(patsubst tests/unit/test_%.c,%,$(UNIT_SRCS))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all deps run test unit asan bench install clean fuzz fuzz-smoke check-layers check-quick test-trixie test-trixie-quick check-cuda-build
all: $(BUILD)/lab $(SHIM_SO)

deps:
	@scripts/install-deps.sh

# The main job on a fresh machine: install what is missing, build, run.
run: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/lab run 2.2.1 --quick --device cpu

# The Debian 12 suite, the fuzz targets, and the libtorch 2.6 line in a
# Debian 13 root (its quick suites), the root made while the rest runs.
test: deps check-layers
	@MAKE="$(MAKE)" BUILD=$(BUILD) scripts/test.sh

# Every fuzz target a few seconds under ASan/UBSan, from its seeds.
fuzz-smoke:
	@scripts/fuzz-smoke.sh

# Every unit suite on Debian 13 / libtorch 2.6, and lab built the way the
# Containerfile builds it (TORCH_DIR): before closing work on the shim.
test-trixie:
	@scripts/test-trixie.sh

# The libtorch 2.6 line in short: the shim's parity suites and a graded quick
# 2.2.1 run in the Debian 13 root; the last part of `make test`.
test-trixie-quick:
	@scripts/test-trixie.sh --quick

# The shim and lab compiled and linked against Debian 13's CUDA libtorch 2.6
# with the CUDA headers on; no GPU needed (docs/platforms.md, docs/perf.md).
check-cuda-build:
	@scripts/check-cuda-build.sh

# Every include points down (docs/architecture.md).
check-layers:
	@scripts/check-layers.sh

unit: $(BUILD)/lab $(SHIM_SO) $(BUILD)/tests/unit
	$(TEST_ENV) LAB_BIN=$(abspath $(BUILD)/lab) LAB_SRC=$(CURDIR) $(BUILD)/tests/unit

# intercept_tls_get_addr=0: libtorch is dlopen'ed (shim/lazy.c), so its
# thread-locals are dynamic TLS, and LeakSanitizer's tracking of those crashes
# its own tracer at exit ("Tracer caught signal 11") once OpenMP threads ran.
# CK_TIMEOUT_MULTIPLIER: sanitized, the quick-lab e2e scripts run several
# times slower than the 300 s a test gets.
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" unit \
	  TEST_ENV="CK_TIMEOUT_MULTIPLIER=4 ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:intercept_tls_get_addr=0 UBSAN_OPTIONS=print_stacktrace=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0"

# Every lab's full quick mode against its 5-minute budget and its targets (minutes).
check-quick: $(BUILD)/lab $(SHIM_SO)
	LAB=$(BUILD)/lab scripts/check-quick.sh $(BUILD) $(LABS)

bench: $(BUILD)/lab $(SHIM_SO)
	scripts/bench.sh $(BUILD)

install: $(BUILD)/lab $(SHIM_SO)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/lab
	install -m 0755 $(BUILD)/lab $(DESTDIR)$(PREFIX)/bin/lab
	install -m 0644 $(SHIM_SO) $(DESTDIR)$(PREFIX)/lib/lab/liblabtorch.so

clean:
	rm -rf build build-asan build-*

# Fuzz targets (clang's libFuzzer): each tests/fuzz/fuzz_<name>.c is linked
# with the plain-C sources in FUZZ_DEPS; built in build-fuzz, run by hand
# (docs/weights.md shows how).
FUZZ_CC     ?= clang
FUZZ_BUILD  := build-fuzz
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -I. $(shell pkg-config --cflags jansson) \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_DEPS   := shim/safetensors.c base/error.c base/fsutil.c grader/lms_names.c containers/engine_ps.c
fuzz: $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)

# The .pth unpickler is C++ over libtorch (libtorch itself is not instrumented).
FUZZ_CXX    ?= clang++
$(FUZZ_BUILD)/fuzz_pth: tests/fuzz/fuzz_pth.c shim/pth.cpp base/error.c $(wildcard tests/fuzz/*.h shim/*.h base/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) -std=c++17 -g -O1 -I. $(TORCH_INC) -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr \
	  -c -o $(FUZZ_BUILD)/pth.o shim/pth.cpp
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $(FUZZ_BUILD)/fuzz_pth.o $<
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $(FUZZ_BUILD)/error.o base/error.c
	$(FUZZ_CXX) -fsanitize=fuzzer,address,undefined -o $@ $(FUZZ_BUILD)/fuzz_pth.o $(FUZZ_BUILD)/error.o \
	  $(FUZZ_BUILD)/pth.o $(TORCH_LIBS)

# The submission reader: student uploads, read from a directory or an archive.
SUBMISSION_FUZZ_SRCS := grader/submission.c grader/tensors.c grader/weights_q4.c grader/checks.c datasets/unpack.c base/fsutil.c \
                        base/jsonio.c base/utf8.c base/error.c shim/safetensors.c
$(FUZZ_BUILD)/fuzz_submission: tests/fuzz/fuzz_submission.c $(SUBMISSION_FUZZ_SRCS) $(wildcard grader/*.h base/*.h shim/*.h datasets/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(shell pkg-config --cflags libarchive) -o $@ $< $(SUBMISSION_FUZZ_SRCS) \
	  $(shell pkg-config --libs jansson libarchive zlib) -lm

# Slurm's output (sacct, scontrol), read by the batch grader on a cluster.
SLURM_FUZZ_SRCS := base/slurm.c base/proc.c base/host.c base/argv.c base/error.c base/log.c base/progress.c
$(FUZZ_BUILD)/fuzz_slurm: tests/fuzz/fuzz_slurm.c $(SLURM_FUZZ_SRCS) $(wildcard base/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(SLURM_FUZZ_SRCS) $(shell pkg-config --libs jansson)

# The detect task's predictions reader and the evaluators the grader runs on it.
DETECT_FUZZ_SRCS := labs/tasks/detect_read.c labs/tasks/coco_eval.c labs/tasks/ultra_eval.c shim/safetensors.c base/error.c base/fsutil.c
# eval_set, which the grader parses to render its own ground truth (lab 2.2.3)
DETECT_FUZZ_SRCS += datasets/mosaic_set.c
$(FUZZ_BUILD)/fuzz_detections: tests/fuzz/fuzz_detections.c $(DETECT_FUZZ_SRCS) $(wildcard labs/tasks/*.h shim/*.h base/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(DETECT_FUZZ_SRCS) $(shell pkg-config --libs jansson) -lm

# The YOLO-format label and data.yaml parsers (a student's own dataset).
$(FUZZ_BUILD)/fuzz_yolo_format: tests/fuzz/fuzz_yolo_format.c datasets/yolo_format.c base/error.c $(wildcard datasets/*.h base/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< datasets/yolo_format.c base/error.c $(shell pkg-config --libs jansson) -lm

# timm's config.json (lab 2.2.2's pretrained_cfg), from the Hub or a shared cache.
$(FUZZ_BUILD)/fuzz_pretrained_cfg: tests/fuzz/fuzz_pretrained_cfg.c labs/pretrained_cfg.c base/error.c base/fsutil.c $(wildcard labs/*.h base/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< labs/pretrained_cfg.c base/error.c base/fsutil.c $(shell pkg-config --libs jansson) -lm

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS) $(wildcard tests/fuzz/*.h shim/*.h base/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_DEPS) $(shell pkg-config --libs jansson)

$(BUILD)/lab: $(BUILD)/obj/runner/main.o $(BUILD)/liblab.a | $(SHIM_SO)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

# Bound to itself (-Bsymbolic) so the shim's calls between its own functions
# never reach the executable's stubs of the same names.
$(SHIM_SO): $(CXX_OBJS)
	$(CXX) $(SAN) -shared -Wl,-Bsymbolic -o $@ $^ $(TORCH_LIBS) -lpthread

$(BUILD)/gen/shim_stubs.c: $(SHIM_HEADERS) scripts/gen-shim-stubs.sh
	@mkdir -p $(dir $@)
	scripts/gen-shim-stubs.sh $@ $(SHIM_HEADERS)

$(BUILD)/obj/gen/shim_stubs.o: $(BUILD)/gen/shim_stubs.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"; $(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/liblab.a: $(OBJS)
	@rm -f $@
	ar rcsP $@ $^

$(BUILD)/tests/unit: $(UNIT_OBJS) $(BUILD)/liblab.a | $(SHIM_SO)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

# Rewritten whenever the list differs (make unit SUITES="a b" runs those
# only), and left alone otherwise so that nothing relinks.
$(BUILD)/gen/suites.h: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' $(foreach s,$(SUITES),'SUITE($(s))') > $@.tmp && \
	  { cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@; }

.PHONY: FORCE
FORCE:

$(BUILD)/obj/tests/unit/main.o: $(BUILD)/gen/suites.h

$(BUILD)/gen/embedded.S: $(EMBED) scripts/embed.sh
	@mkdir -p $(dir $@)
	scripts/embed.sh $@ $(EMBED)

$(BUILD)/obj/embedded.o: $(BUILD)/gen/embedded.S
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -c -o $@ $<

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"; $(CC) $(CFLAGS) $(shell pkg-config --cflags check) -MMD -MP -c -o $@ $<

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"; $(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/pic/%.o: %.cpp
	@mkdir -p $(dir $@)
	@echo "  CXX $<"; $(CXX) $(CXXFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(BUILD)/obj $(BUILD)/pic -name '*.d' 2>/dev/null)

# libFuzzer target for the archive unpacker (datasets/unpack.c): make fuzz-unpack,
# then build-fuzz/fuzz_unpack -max_total_time=60 [corpus-dir]
FUZZ_CC ?= clang-14
fuzz: fuzz-unpack
fuzz-unpack: build-fuzz/fuzz_unpack
build-fuzz/fuzz_unpack: tests/fuzz/fuzz_unpack.c datasets/unpack.c datasets/unpack.h base/error.c base/fsutil.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -I. -fsanitize=fuzzer,address,undefined -o $@ \
	  tests/fuzz/fuzz_unpack.c datasets/unpack.c base/error.c base/fsutil.c $(shell pkg-config --cflags --libs libarchive)
.PHONY: fuzz-unpack
