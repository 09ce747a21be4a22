"""ANN-to-SNN conversion on Fashion-MNIST: a small CNN trained a few epochs, converted (Rueckauer et al.
2017), and its accuracy at T = 32, 64, 128, 256 beside the ANN's, for one or more normalisation percentiles.

The ANN is trained once (``--epochs``, Adam, cosine schedule); each percentile converts that same ANN.
Prints one table per percentile and, with ``--json``, writes every figure.

    SPIKEKIT_DATA=../shared/data python benchmarks/convert_fashion.py --json /tmp/convert_fashion.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from spikekit.cli.convert import run_convert


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None, help="folder holding fashion-mnist/ (else $SPIKEKIT_DATA)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--steps", default="32,64,128,256")
    p.add_argument("--percentiles", default="99.99,100", help="comma-separated; 100 = max normalisation")
    p.add_argument("--calibration", type=int, default=1000, help="training images used for normalisation")
    p.add_argument("--no-bias", action="store_true", help="bias-free ANN (no BatchNorm) and SNN")
    p.add_argument("--eval-batch-size", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", default=None, metavar="PATH")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data_dir = args.data_dir or os.environ.get("SPIKEKIT_DATA")
    if not data_dir:
        data_dir = str(Path(__file__).resolve().parents[2] / "shared" / "data")
    steps = [int(s) for s in args.steps.split(",")]
    percentiles = [float(s) for s in args.percentiles.split(",")]
    runs = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ann_path = str(Path(tmp) / "ann.pt")
        for i, pct in enumerate(percentiles):
            runs.append(
                run_convert(
                    dataset="fashion-mnist",
                    data_dir=data_dir,
                    ann="cnn",
                    epochs=args.epochs,
                    seed=args.seed,
                    steps=steps,
                    percentile=pct,
                    calibration_size=args.calibration,
                    bias=not args.no_bias,
                    eval_batch_size=args.eval_batch_size,
                    save_ann=ann_path if i == 0 else None,
                    ann_checkpoint=ann_path if i > 0 else None,
                    progress=False,
                )
            )
            print(flush=True)
    result = {
        "benchmark": "convert_fashion",
        "epochs": args.epochs,
        "threads": args.threads,
        "seconds": time.perf_counter() - t0,
        "runs": runs,
    }
    print(f"total {result['seconds']:.0f} s")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
