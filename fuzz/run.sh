#!/bin/sh
# make fuzz: build the fuzz drivers and run each for FUZZ_SECONDS (default 60) under ASan + UBSan.
#   libFuzzer (coverage-guided) through clang when `clang -fsanitize=fuzzer` links, else fuzz/mutate.c with gcc.
#   FUZZ_SECONDS=30 make fuzz          shorter runs (CI)
#   FUZZ_TARGETS="idx" make fuzz       one driver
#   FUZZ_ENGINE=builtin make fuzz      the built-in mutator even where clang is present
# Inputs: the committed seeds fuzz/corpus/<target>/ and dictionaries fuzz/<target>.dict; inputs libFuzzer finds
# go to build-fuzz/libfuzzer/corpus/<target>/ (never committed). A crash input is written to fuzz/regressions/<target>/:
# commit it; tests/test_fuzz.c replays every file there in make test. Exit 1 if any driver crashed.
set -u
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-"safetensors idx cli"}
SAN="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer"
B=build-fuzz   # the probe; each engine then builds in its own directory
mkdir -p $B
if [ "${FUZZ_ENGINE:-}" != builtin ] && command -v clang >/dev/null 2>&1 && echo 'int LLVMFuzzerTestOneInput(const char *d, long n){return 0;}' > $B/probe.c &&
   clang -fsanitize=fuzzer $B/probe.c -o $B/probe 2>/dev/null; then
    ENGINE=libfuzzer; CC=clang; LIBFLAGS="-fsanitize=fuzzer-no-link"; DRIVER=fuzz/libfuzzer.c; LINK="-fsanitize=fuzzer"
else
    ENGINE=builtin; CC=${CC:-gcc}; LIBFLAGS=""; DRIVER=fuzz/mutate.c; LINK=""
    [ "$CC" = cc ] && CC=gcc
fi
B=build-fuzz/$ENGINE
echo "fuzz: engine $ENGINE ($CC), $SECONDS_EACH s per driver, targets: $TARGETS"
# the library, instrumented, in its own build directory (serial: OpenMP adds nothing to a loader)
make -s BUILD=$B CC=$CC NO_OMP=1 OPT="-O1 -g $SAN $LIBFLAGS" $B/libcommon.a || exit 1
status=0
for t in $TARGETS; do
    $CC -O1 -g $SAN $LINK -std=c11 -D_POSIX_C_SOURCE=200809L -Icommon -Ifuzz -DFUZZ_TARGET=fuzz_$t \
        $DRIVER fuzz/targets.c $B/libcommon.a -lz -lm -o $B/fuzz_$t || exit 1
    mkdir -p $B/corpus/$t fuzz/regressions/$t
    log=$B/fuzz_$t.log
    if [ $ENGINE = libfuzzer ]; then
        ASAN_OPTIONS=detect_leaks=1 ./$B/fuzz_$t -max_total_time=$SECONDS_EACH -print_final_stats=1 -timeout=10 \
            -rss_limit_mb=2048 -dict=fuzz/$t.dict -artifact_prefix=fuzz/regressions/$t/ $B/corpus/$t fuzz/corpus/$t > $log 2>&1
    else
        ./$B/fuzz_$t -max_total_time=$SECONDS_EACH -dict=fuzz/$t.dict -artifact_prefix=fuzz/regressions/$t/ fuzz/corpus/$t > $log 2>&1
    fi
    rc=$?
    if [ $ENGINE = libfuzzer ]; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' $log | grep -o '[0-9]*$')
        cov=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' $log | tail -1 | grep -o 'cov: [0-9]* ft: [0-9]*')
        echo "fuzz $t: ${runs:-?} inputs run, $cov (edges, features), corpus $(ls $B/corpus/$t | wc -l) new + $(ls fuzz/corpus/$t | wc -l) seeds, exit $rc"
    else
        echo "fuzz $t: $(tail -1 $log), exit $rc"
    fi
    if [ $rc -ne 0 ]; then
        echo "fuzz $t: CRASH; the input is in fuzz/regressions/$t/ (commit it; make test replays it). Log:"; tail -40 $log
        status=1
    fi
done
exit $status
