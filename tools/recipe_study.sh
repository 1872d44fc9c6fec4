#!/bin/sh
# tools/recipe_study.sh: which parts of the U-Net recipe matter at a fixed, short wall-clock budget? (issue 15)
# Trains each variant below with ./ch2 --train --minutes M on ONE thread, two variants at a time (one per core:
# a one-thread run keeps its core even beside other low-priority work, so the budget stays fair), then draws
# 1000 images with NFE deterministic steps from its EMA weights and scores them (./score: Frechet distance to
# the test set, its floors at N = 1000, mean max-softmax). Every variant changes one thing of the centre recipe;
# "old" is the recipe chapter 2 shipped before the study.
# Usage: sh tools/recipe_study.sh [MINUTES [DIR]]     (default 5 minutes each, DIR /tmp/recipe_study)
# Results: DIR/results.txt, one line per variant.
set -eu
M=${1:-5}
DIR=${2:-/tmp/recipe_study}
NFE=${NFE:-25}
mkdir -p "$DIR"
[ -x ./ch2 ] && [ -x ./score ] || { echo "recipe_study: run make first"; exit 1; }
CENTRE="width=24,attention=0,T=1000,schedule=cosine,target=eps,batch=64,lr=1e-3,lr_min=1e-5,warmup=100,ema=0.999,ema_warmup=1,snr_gamma=0"   # the 5-minute study's centre, explicit: the defaults moved since
# name  changes to the centre (later keys win)
VARIANTS="centre:
width16:width=16
width32:width=32
linear:schedule=linear
target_v:target=v
target_x0:target=x0
constant_lr:lr=2e-4,lr_min=2e-4,warmup=0
attention:attention=1
no_ema_warmup:ema_warmup=0
old:width=16,T=250,schedule=linear,lr=2e-4,lr_min=2e-4,warmup=0,ema_warmup=0"
echo "budget $M min per variant on 1 thread (two variants at a time), $NFE deterministic steps, N = 1000; centre $CENTRE" | tee -a "$DIR/results.txt"
run() {   # name change
    recipe=$CENTRE${2:+,$2}
    ./ch2 --train --quiet --overwrite --threads 1 --minutes "$M" --recipe "$recipe" --ckpt "$DIR/$1.safetensors" > "$DIR/$1.train.txt" 2>&1
    OMP_NUM_THREADS=1 ./score --samples 1000 --nfe "$NFE" --sampler ddim "$DIR/$1.safetensors" > "$DIR/$1.score.txt" 2>&1
    steps=$(sed -n 's/.*at step \([0-9]*\) after.*/\1/p' "$DIR/$1.train.txt")
    fid=$(sed -n 's/.*FID \([0-9.]*\) at N.*/\1/p' "$DIR/$1.score.txt")
    floor=$(sed -n 's/.*real-data floor \([0-9.]*\) .*/\1/p' "$DIR/$1.score.txt")
    soft=$(sed -n 's/.*max-softmax \([0-9.]*\).*/\1/p' "$DIR/$1.score.txt")
    secs=$(sed -n 's/.*took \([0-9.]*\) s.*/\1/p' "$DIR/$1.score.txt")
    echo "$1 ${2:-(centre)} steps $steps FID $fid floor $floor max-softmax $soft sampling ${secs}s" | tee -a "$DIR/results.txt"
}
echo "$VARIANTS" | while IFS=: read -r n1 c1 && IFS=: read -r n2 c2; do
    run "$n1" "$c1" & run "$n2" "$c2"
    wait
done
