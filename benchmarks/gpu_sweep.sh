#!/usr/bin/env bash
# Learning-rate and budget sweep on a GPU: many `srcnn train --device cuda` runs side by side.
#
# Samples are what a recipe is judged by, not seconds: a run here back-propagates the same batches
# (same seed, same augmentations) as the same command on the CPU, so its Set5 curve says what the
# CPU run of that budget will reach, in minutes instead of hours. The weights we ship are trained
# on the CPU; these runs only choose the settings.
#
# usage: benchmarks/gpu_sweep.sh DATA_DIR OUT_DIR SECONDS
#   DATA_DIR holds T91/, BSDS500-train/ and Set5/; every run is stopped (Ctrl-C, so it saves its
#   checkpoint and log) after SECONDS at the latest.
set -u
data=$1 out=$2 seconds=$3
srcnn() { python3 -m srcnn_cli "$@"; }
mkdir -p "$out"
common=(--train-dir "$data/T91" --train-dir "$data/BSDS500-train" --val-dir "$data/Set5"
        --device "${DEVICE:-cuda}" --eval-every 15 --no-export -q)

# Extract each scale's sub-images once, before the runs that share them start.
for s in 2 3 4; do
  python3 -c "from srcnn_cli.train.data import load_subimages as l; import sys
l(['$data/T91', '$data/BSDS500-train'], $s, 1, 33, 14)" &
done
wait

run() {  # name, then srcnn train arguments
  local name=$1; shift
  timeout -s INT -k 30 "$seconds" python3 -m srcnn_cli train "${common[@]}" --out "$out/$name" "$@" \
    > "$out/$name.txt" 2>&1 &
}
runs=training/runs
run x3_lr2e-4_3.2M --arch 9-5-5 -s 3 --init $runs/955x3_identity/checkpoint.pt --lr 2e-4 --samples 3200000
run x3_lr5e-4_3.2M --arch 9-5-5 -s 3 --init $runs/955x3_identity/checkpoint.pt --lr 5e-4 --samples 3200000
run x3_lr1e-3_3.2M --arch 9-5-5 -s 3 --init $runs/955x3_identity/checkpoint.pt --lr 1e-3 --samples 3200000
run x3_lr5e-4_10M --arch 9-5-5 -s 3 --init $runs/955x3_identity/checkpoint.pt --lr 5e-4 --samples 10000000
run x2_lr1e-4_3.2M --arch 9-5-5 -s 2 --init $runs/955x2_continued/checkpoint.pt --lr 1e-4 --samples 3200000
run x2_lr3e-4_3.2M --arch 9-5-5 -s 2 --init $runs/955x2_continued/checkpoint.pt --lr 3e-4 --samples 3200000
run x4_lr5e-4_3.2M --arch 9-5-5 -s 4 --init $runs/955x4_from_identity_x3/checkpoint.pt --lr 5e-4 --samples 3200000
run 935_lr5e-4_3.2M --arch 9-3-5 -s 3 --init $runs/935x3_from_955/checkpoint.pt --lr 5e-4 --samples 3200000
run 915_lr5e-4_3.2M --arch 9-1-5 -s 3 --init $runs/915x3_long/checkpoint.pt --lr 5e-4 --samples 3200000
run 915_lr1e-3_3.2M --arch 9-1-5 -s 3 --init $runs/915x3_long/checkpoint.pt --lr 1e-3 --samples 3200000
wait
