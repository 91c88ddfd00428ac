#!/usr/bin/env bash
# Learning-rate and budget sweep on a GPU: many `srcnn train --device cuda` runs side by side.
#
# Samples are what a recipe is judged by, not seconds: a run here back-propagates the same batches
# (same seed, same augmentations) as the same command on the CPU, so its Set5 curve says what the
# CPU run of that budget will reach, in minutes instead of hours. The weights we ship are trained
# on the CPU; these runs only choose the settings.
#
# usage: benchmarks/gpu_sweep.sh DATA_DIR OUT_DIR SECONDS RUNS_FILE
#   DATA_DIR holds T91/, BSDS500-train/ and Set5/; every run is stopped (Ctrl-C, so it saves its
#   checkpoint and log) after SECONDS at the latest. Each line of RUNS_FILE is a run's name and its
#   own `srcnn train` arguments (benchmarks/sweeps/ holds the ones measured).
set -u
data=$1 out=$2 seconds=$3 runs_file=$4
srcnn=(python3 -m srcnn_cli)  # the checkout's code, with the machine's own Python packages
mkdir -p "$out"
common=(--train-dir "$data/T91" --train-dir "$data/BSDS500-train" --val-dir "$data/Set5"
        --device "${DEVICE:-cuda}" --eval-every 15 --no-export -q)

# Extract each scale's sub-images once, before the runs that share them start.
for s in 2 3 4; do
  python3 -c "from srcnn_cli.train.data import PairSpec, load_subimages as l
l(['$data/T91', '$data/BSDS500-train'], PairSpec($s, 1, 33, 14))" &
done
wait

run() {  # name, then srcnn train arguments
  local name=$1; shift
  timeout -s INT -k 30 "$seconds" "${srcnn[@]}" train "${common[@]}" --out "$out/$name" "$@" \
    < /dev/null > "$out/$name.txt" 2>&1 &
}
while read -r name args; do
  [ -n "$name" ] && run "$name" $args
done < "$runs_file"
wait
