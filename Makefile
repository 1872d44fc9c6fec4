# The diffusion tutorial companion. Start with:  make figures  and  make test
#
# Every target, and when to use it:
#   make all        build every chapter program (ch1 ch2 ch3 ch4 ch5 ddim flow) that exists, and score
#   make chN, ddim, flow  build one chapter program: make ch3 && ./ch3 --list
#   make score      the image quality score: ./score figures/ch2_fmnist_samples.png
#   make figures    build everything and regenerate every figure in figures/
#   make test       build and run every Check suite (CK_RUN_SUITE=ch2 make test for one)
#   make bench      measure the kernels and training speeds (prints a table and JSON lines)
#   make sanitize   run the whole test suite under AddressSanitizer + UBSan (heavy cases with fewer samples)
#   make valgrind   run a short chapter cell under valgrind (leak check)
#   make debug      build everything with -O0 -g into build-debug/
#   make fuzz       fuzz the loaders (safetensors, IDX, flags) for FUZZ_SECONDS each (default 60): fuzz/run.sh
#   make deps       check (and, as root, install) the Debian packages we need
#   make clean      remove build outputs (never figures/ or checkpoints/)
# CC is make's own default (cc; make CC=clang to change it). NO_OMP=1 gives a serial build. Never -Ofast / -ffast-math: they make isnan() false.

BUILD   ?= build
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wshadow -Icommon -Ichapters
LDLIBS  += -lz -lm
LDFLAGS += $(SANITIZE_LD)
ifndef NO_OMP
CFLAGS  += -fopenmp
LDFLAGS += -fopenmp
endif
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lpthread -lm)

# PDF chapter N is always program chN; DDIM has its own program.
SRC_ch1  = chapters/ch1_vae.c
SRC_ch2  = chapters/ch2_ddpm.c
SRC_ch3  = chapters/ch3_smld.c
SRC_ch4  = chapters/ch4_sde.c
SRC_ch5  = chapters/ch5_fokker_planck.c
SRC_ddim = chapters/ddim.c
SRC_flow = chapters/flow.c
SRC_score = tools/score.c
ALL_PROGRAMS = ch1 ch2 ddim ch3 ch4 ch5 flow
# Programs that are not chapters (no cells, not run by make figures): the image quality score.
TOOLS = score
PROGRAMS = $(foreach p,$(ALL_PROGRAMS),$(if $(wildcard $(SRC_$(p))),$(p)))
# A program that calls another chapter's functions links that chapter's main-less object.
LINK_ddim = $(BUILD)/nomain/ch2_ddpm.o
LINK_flow = $(BUILD)/nomain/ch2_ddpm.o

COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:%.c=$(BUILD)/%.o)
LIB        = $(BUILD)/libcommon.a
TEST_SRC   = $(wildcard tests/test_*.c)
TEST_OBJ   = $(TEST_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/main.o
# Chapters compiled without main() so tests can call their functions (cells are then unused: no warning).
NOMAIN_OBJ = $(foreach p,$(PROGRAMS),$(BUILD)/nomain/$(notdir $(SRC_$(p):.c=.o)))
DEPS_OK    = $(BUILD)/.deps-ok

.PHONY: all figures test bench sanitize valgrind debug deps clean fuzz $(ALL_PROGRAMS) $(TOOLS)
.DEFAULT_GOAL := all

all: $(PROGRAMS) $(TOOLS)

deps: $(DEPS_OK)
$(DEPS_OK): tools/deps.sh
	@sh tools/deps.sh
	@mkdir -p $(BUILD) && touch $@

# stb_image_write is compiled in one file only, with its own relaxed warnings.
$(BUILD)/common/image.o: CFLAGS += -Wno-missing-field-initializers -Wno-sign-compare -Wno-unused-parameter -Wno-shadow
# Adam's loop vectorises only without errno from sqrtf (its argument is >= 0; results are the same bits).
$(BUILD)/common/optim.o: CFLAGS += -fno-math-errno
$(BUILD)/%.o: %.c $(wildcard common/*.h chapters/*.h) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(COMMON_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/nomain/%.o: chapters/%.c $(wildcard common/*.h chapters/*.h) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DCHAPTER_NO_MAIN -Wno-unused-function -Wno-unused-const-variable -c $< -o $@

define PROGRAM_RULE
$(1): $(BUILD)/$(1)
	@cp $(BUILD)/$(1) $(1).new && mv -f $(1).new $(1)   # a new file: a running ./$(1) keeps its own
$(BUILD)/$(1): $(BUILD)/$(SRC_$(1):.c=.o) $(LINK_$(1)) $(LIB)
	$(CC) $(LDFLAGS) $$^ -o $$@ $(LDLIBS)
endef
$(foreach p,$(PROGRAMS) $(TOOLS),$(eval $(call PROGRAM_RULE,$(p))))

# The test runner: every tests/test_*.c defines `Suite *suite_<name>(void)`;
# the list of suites is generated so adding a test file needs no other edit.
$(BUILD)/suites.h: $(TEST_SRC)
	@mkdir -p $(BUILD)
	@sh tools/gen_suites.sh $(TEST_SRC) > $@
$(BUILD)/tests/main.o: tests/main.c $(BUILD)/suites.h | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I$(BUILD) -c $< -o $@
$(BUILD)/test_runner: $(TEST_OBJ) $(NOMAIN_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $^ -o $@ $(CHECK_LIBS) $(LDLIBS)

# The fuzz targets are linked into the test runner: tests/test_fuzz.c replays fuzz/corpus/ and fuzz/regressions/.
$(BUILD)/test_runner: $(BUILD)/fuzz/targets.o
$(BUILD)/fuzz/targets.o $(BUILD)/tests/test_fuzz.o: CFLAGS += -Ifuzz
$(BUILD)/fuzz/targets.o: fuzz/targets.h
# tests/test_programs.c runs the programs built beside the runner (not under make sanitize, which skips it).
ifeq (,$(findstring TEST_SANITIZE,$(OPT)))
$(BUILD)/test_runner: | $(foreach p,$(PROGRAMS) $(TOOLS),$(BUILD)/$(p))
endif

# tests/test_train.c runs the built programs (NaN guard, Ctrl-C) from $(BUILD)/.
$(BUILD)/tests/test_train.o: CFLAGS += -DBUILD_DIR='"$(BUILD)"'
test: $(BUILD)/test_runner $(PROGRAMS:%=$(BUILD)/%)
	CK_DEFAULT_TIMEOUT=300 ./$(BUILD)/test_runner

figures: all
	@for p in $(PROGRAMS); do echo "== ./$$p"; ./$$p --quiet || exit 1; done

$(BUILD)/bench_run: $(BUILD)/bench/bench.o $(LIB)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) -ldl
# The full bench on this build, then the GEMM table of an AVX2 build (x86-64-v3) when the CPU has AVX2.
bench: $(BUILD)/bench_run
	@sh tools/deps.sh bench || echo "bench: going on without the missing references"
	./$(BUILD)/bench_run
	@if grep -q avx2 /proc/cpuinfo; then \
	    $(MAKE) --no-print-directory BUILD=build-v3 OPT="-O3 -march=x86-64-v3" build-v3/bench_run >/dev/null && \
	    echo && echo "== the same GEMM, AVX2 build (-march=x86-64-v3) ==" && ./build-v3/bench_run --only gemm; fi

# Every sanitizer report is fatal (-fno-sanitize-recover); GCC's "undefined" omits float-cast-overflow, so it is named.
# -DTEST_SANITIZE: the heaviest statistical tests draw fewer samples (tests/heavy.h); make test keeps them all.
SAN_FLAGS = -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all
sanitize:
	CK_TIMEOUT_MULTIPLIER=10 $(MAKE) BUILD=build-san OPT="-O1 $(SAN_FLAGS) -fno-omit-frame-pointer -DTEST_SANITIZE" \
	        SANITIZE_LD="$(SAN_FLAGS)" test

# valgrind cannot run AVX-512 code: this build targets x86-64-v3 (AVX2) in build-valgrind/. The wait policy is
# set so that the program does not re-execute itself (common/cli.c), which would leave valgrind behind.
valgrind:
	$(MAKE) BUILD=build-valgrind OPT="-O2 -march=x86-64-v3" build-valgrind/ch2
	OMP_WAIT_POLICY=passive valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 \
	        ./build-valgrind/ch2 --cell 2.5 --out /tmp/valgrind-figures --quiet

fuzz:
	sh fuzz/run.sh

debug:
	$(MAKE) BUILD=build-debug OPT="-O0" all

clean:
	rm -rf build build-san build-debug build-valgrind build-v3 build-fuzz $(ALL_PROGRAMS) $(TOOLS)
