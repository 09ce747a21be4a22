"""``spikekit demo``: the original experiment's SNN, its ANN baseline and a spiking MLP on the digits."""

from __future__ import annotations

import argparse
import time
from typing import Any

from . import _common


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = _common.add_command(
        subparsers,
        "demo",
        "the main job on the embedded digits: SNN vs ANN table",
        "spikekit demo                          # 3 models x 15 epochs on 8x8 digits, a few minutes on a CPU",
        "spikekit demo --epochs 1 --train-limit 300 --test-limit 100   # a quick look",
        "spikekit demo --out runs/demo --json demo.json > demo.log 2>&1   # a log file: one line per epoch",
    )
    _common.add_data_args(p)
    _common.add_train_args(p)
    _common.add_seed_arg(p)
    p.add_argument(
        "--out",
        type=_common.output_dir,
        default=None,
        help="keep each run's checkpoint in OUT/<model>-seed<k>/",
    )
    p.set_defaults(func=run, dataset="digits", resume=False)
    return p


def run(args: argparse.Namespace) -> int:
    from .compare import compare

    say = _common.say
    say(
        args,
        "spikekit demo: the original experiment's SNN, its ANN baseline and a surrogate-gradient spiking",
    )
    say(args, "MLP, trained on scikit-learn's 8x8 digits (embedded, no download) with the same data order.\n")
    t0 = time.perf_counter()
    result = compare(args, ["seed-snn", "seed-ann", "spiking-mlp"], [args.seed])
    say(args, f"\ndone in {time.perf_counter() - t0:.0f} s")
    _common.write_json_output(args.json, result)
    return 0
