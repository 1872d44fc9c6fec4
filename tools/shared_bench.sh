#!/bin/sh
# tools/shared_bench.sh: do the programs behave on a shared machine? (issue 13)
# Runs a 2D cell (./ch2 --cell 2.8: trains the toy eps-network, samples) and an image cell (./ch2 --cell 2.8i:
# samples with the U-Net) alone and beside one CPU-bound busy loop, on 2 threads and on 1, each the best of
# RUNS runs (default 3), with the default OpenMP wait policy of the programs (a spin of about 20 us, then sleep: see common/cli.c) and
# with OMP_WAIT_POLICY=active (spinning: what they did before).
# Usage: sh tools/shared_bench.sh [RUNS]     (CELLS="2.8" sh tools/shared_bench.sh 1 for one cell, one run;
#        POLICIES="default passive spin3000": the default beside passive waiting and a 3000-round spin)
#
# Fair share: beside one busy loop on 2 cores, 3 runnable threads share 2 cores, so a perfectly parallel
# 2-thread program gets 2/3 of the machine and takes 1.5x as long as alone. The issue asks for at most 1.5x
# that: busy / (1.5 alone) <= 1.5. And never slower on 2 threads than on 1 (2t / 1t <= 1), alone or busy.
# Wall-clock times: run it on an otherwise quiet machine (it says the load average it started under).
set -u
RUNS=${1:-3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"; [ -n "${BUSY:-}" ] && kill "$BUSY" 2>/dev/null' EXIT INT TERM
[ -x ./ch2 ] || { echo "shared_bench: ./ch2 missing (run make first)"; exit 1; }

now() { date +%s.%N; }
# best wall seconds of RUNS runs of: env VARS ./ch2 --cell CELL
best_of() {
    best=""
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        t0=$(now)
        env "$@" --quiet --out "$OUT" >/dev/null 2>&1 || { echo "shared_bench: '$*' failed" >&2; exit 1; }
        t=$(echo "$(now) - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
        i=$((i + 1))
    done
    echo "$best"
}

echo "shared_bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start, best of $RUNS runs"
printf '%-5s %-8s %9s %9s %9s %9s  %16s  %s\n' cell policy "alone 2t" "alone 1t" "busy 2t" "busy 1t" \
       "busy/(1.5 alone)" "2t/1t alone, busy"
for cell in ${CELLS:-2.8 2.8i}; do
    for policy in ${POLICIES:-default active}; do
        case $policy in
            default) pol="" ;;
            active)  pol="OMP_WAIT_POLICY=active" ;;
            passive) pol="OMP_WAIT_POLICY=passive" ;;
            spin*)   pol="GOMP_SPINCOUNT=${policy#spin}" ;;   # spinN: spin N rounds, then sleep (libgomp)
            *) echo "shared_bench: unknown policy '$policy' (default, active, passive, spinN)" >&2; exit 2 ;;
        esac
        a2=$(best_of $pol OMP_NUM_THREADS=2 ./ch2 --cell $cell)
        a1=$(best_of $pol OMP_NUM_THREADS=1 ./ch2 --cell $cell)
        sh -c 'while :; do :; done' & BUSY=$!
        b2=$(best_of $pol OMP_NUM_THREADS=2 ./ch2 --cell $cell)
        b1=$(best_of $pol OMP_NUM_THREADS=1 ./ch2 --cell $cell)
        kill "$BUSY"; wait "$BUSY" 2>/dev/null; BUSY=""
        printf '%-5s %-8s %9.2f %9.2f %9.2f %9.2f  %16.2f  %.2f, %.2f\n' $cell $policy $a2 $a1 $b2 $b1 \
               "$(echo "$b2 / (1.5 * $a2)" | bc -l)" "$(echo "$a2 / $a1" | bc -l)" "$(echo "$b2 / $b1" | bc -l)"
    done
done
