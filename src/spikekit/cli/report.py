"""``spikekit report``: one self-contained HTML page about a trained model
(:func:`spikekit.plot.report.build_report`)."""

from __future__ import annotations

import argparse
from typing import Any

from . import _common


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    c = _common
    p = c.add_command(
        subparsers,
        "report",
        "one self-contained HTML page about a trained model",
        "spikekit report --checkpoint runs/mlp/checkpoint.pt --out report.html",
        "spikekit report --checkpoint runs/mlp --test-limit 1000 --batch-size 32   # faster",
    )
    p.add_argument(
        "--checkpoint",
        type=c.existing_path,
        required=True,
        help="checkpoint.pt written by spikekit train or spikekit.train.fit (or the folder holding it)",
    )
    c.add_dataset_arg(p, None)
    p.add_argument(
        "--index", type=c.nonnegative_int, default=0, help="the test image whose activity is shown"
    )
    p.add_argument(
        "--batch-size", type=c.positive_int, default=64, help="test images for the BPTT-vs-STDP comparison"
    )
    c.deprecated_alias(p, "--stdp-batch", "batch_size", type=c.positive_int)
    p.add_argument(
        "--test-limit", type=c.positive_int, default=None, help="evaluate on the first N test images only"
    )
    c.deprecated_alias(p, "--eval-limit", "test_limit", type=c.positive_int)
    c.add_seed_arg(p, "seeds the stochastic encoders and the STDP comparison's images")
    p.add_argument("--out", type=c.output_file, default="report.html", help="the HTML file to write")
    c.add_json_arg(p, "also write the report's path as JSON to PATH")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..plot.report import build_report

    checkpoint = Path(args.checkpoint)
    path = build_report(
        checkpoint / "checkpoint.pt" if checkpoint.is_dir() else checkpoint,
        args.out,
        dataset=args.dataset,
        data_dir=args.data_dir,
        index=args.index,
        stdp_batch=args.batch_size,
        eval_limit=args.test_limit,
        seed=args.seed,
    )
    print(f"wrote {path} (open it in a browser; it is one self-contained file)")
    _common.write_json_output(args.json, {"report": str(path)})
    return 0
