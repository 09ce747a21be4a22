"""``spikekit compare``: train several models (and seeds) on one dataset and tabulate them."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import _common


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = _common.add_command(
        subparsers,
        "compare",
        "train several models on one dataset and tabulate them",
        "spikekit compare --models seed-snn,spiking-mlp --seeds 0,1,2",
        "spikekit compare --dataset fashion-mnist --download --epochs 1 --out runs/cmp",
        "spikekit compare --dataset mnist --models seed-snn --preset seed   # the original's schedule",
    )
    p.add_argument(
        "--models",
        type=_common.names,
        default="seed-snn,seed-ann,spiking-mlp",
        help="comma-separated model names",
    )
    p.add_argument("--seeds", type=_common.ints, default="0", help="comma-separated seeds; mean and spread")
    p.add_argument(
        "--out",
        type=_common.output_dir,
        default=None,
        help="keep each run's checkpoint in OUT/<model>-seed<k>/",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue each run from its checkpoint under --out when there is one (finished runs are reused)",
    )
    _common.add_data_args(p)
    _common.add_train_args(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    models = _common.csv(args.models)
    seeds = [int(s) for s in _common.csv(str(args.seeds))]
    _common.write_json_output(args.json, compare(args, models, seeds))
    return 0


def compare(args: argparse.Namespace, models: Sequence[str], seeds: Sequence[int]) -> dict[str, Any]:
    """Train every model with every seed, print the runs and the summary table; return both as a dict."""
    from ..models import MODELS

    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise _common.UsageError(f"unknown model(s) {unknown}; valid models: {', '.join(MODELS)}")
    train, test = _common.load_data(args)
    _common.say(
        args,
        f"dataset {args.dataset}: {len(train)} training and {len(test)} test samples, "
        f"input {tuple(train.images.shape[1:])}, {train.num_classes} classes",
        flush=True,
    )
    pct = _common.pct
    runs = []
    for model in models:
        for seed in seeds:
            t0 = time.perf_counter()
            out = Path(args.out) / f"{model}-seed{seed}" if args.out else None
            resume = bool(args.resume and out is not None and (out / "checkpoint.pt").exists())
            runs.append(_common.train_one(model, args, train, test, seed, out, resume))
            _common.say(
                args,
                f"  {model} seed {seed}: {pct(runs[-1]['test_acc'])} % in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
    rows, summary = [], []
    for model in models:
        mine = [r for r in runs if r["model"] == model]
        accs = [r["test_acc"] for r in mine]
        mean = statistics.mean(accs)
        spread = statistics.stdev(accs) if len(accs) > 1 else 0.0
        spe = statistics.median(r["seconds_per_epoch"] for r in mine)
        acc_text = pct(mean) + (f" ± {100 * spread:.2f}" if len(accs) > 1 else "")
        rows.append(
            [
                model,
                f"{mine[0]['parameters']:,}",
                acc_text,
                f"{spe:.2f}",
                _common.rates_text(mine[0]["rates"]),
            ]
        )
        summary.append(
            {
                "model": model,
                "parameters": mine[0]["parameters"],
                "test_acc_mean": mean,
                "test_acc_std": spread,
                "seconds_per_epoch": spe,
                "rates": mine[0]["rates"],
                "epochs": mine[0]["epochs"],
                "seeds": list(seeds),
            }
        )
    _common.say(args)
    headers = ["model", "parameters", "test acc %", "s/epoch", "firing rate per layer"]
    print(_common.format_table(headers, rows))
    return {
        "dataset": args.dataset,
        "train_size": len(train),
        "test_size": len(test),
        "summary": summary,
        "runs": runs,
    }
