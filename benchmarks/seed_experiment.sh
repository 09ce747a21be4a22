#!/usr/bin/env bash
# Issue 3's figures: the original experiment (SeedSNN vs SeedANN, its own schedule: 3 epochs, batch 1000,
# SGD momentum 0.5 at lr 0.1/0.05/0.01) over 3 seeds, then the surrogate-gradient models on Fashion-MNIST.
# Needs the datasets: SPIKEKIT_DATA=../shared/data (or --data-dir). Writes benchmarks/results/*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
SK=${SK:-.venv/bin/spikekit}
OUT=benchmarks/results
mkdir -p "$OUT"
what=${1:-all}
if [[ $what == all || $what == seed ]]; then
  for ds in ${DATASETS:-mnist-10k fashion-mnist mnist}; do
    $SK compare --dataset "$ds" --models seed-snn,seed-ann --seeds 0,1,2 --no-progress --resume --out "runs/seed_$ds" --json "$OUT/seed_$ds.json"
  done
fi
if [[ $what == all || $what == mlp ]]; then
  $SK compare --dataset fashion-mnist --models spiking-mlp --seeds 0 --no-progress --out runs/mlp_fashion --json "$OUT/mlp_fashion-mnist.json"
fi
if [[ $what == all || $what == cnn ]]; then
  # T = 4 and 8 epochs: the recipe's T = 8, 15 epochs did not fit on the 2-core machine (README)
  $SK compare --dataset fashion-mnist --models spiking-cnn --steps 4 --epochs 8 --seeds 0 --no-progress \
    --resume --out runs/cnn_fashion --json "$OUT/cnn_fashion-mnist.json"
fi
if [[ $what == all || $what == digits ]]; then
  $SK compare --dataset digits --models seed-snn,seed-ann,spiking-mlp,spiking-cnn --seeds 0,1,2 --no-progress \
    --json "$OUT/digits.json"
fi
