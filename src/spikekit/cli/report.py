"""``spikekit report``: one self-contained HTML page about a trained model
(:func:`spikekit.plot.report.build_report`)."""

from __future__ import annotations

import argparse
from typing import Any

from . import _common


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("report", help="one self-contained HTML page about a trained model")
    p.add_argument(
        "--checkpoint",
        type=_common.existing_file,
        required=True,
        help="checkpoint.pt written by spikekit train",
    )
    p.add_argument("--dataset", default=None, help="default: the checkpoint's dataset")
    p.add_argument("--data-dir", default=None)
    p.add_argument(
        "--index", type=_common.nonnegative_int, default=0, help="the test image whose activity is shown"
    )
    p.add_argument(
        "--stdp-batch", type=_common.positive_int, default=64, help="test images for the STDP comparison"
    )
    p.add_argument(
        "--eval-limit", type=_common.positive_int, default=None, help="evaluate on the first N test images"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=_common.output_file, default="report.html")
    p.add_argument("--json", type=_common.output_file, default=None, metavar="PATH")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..plot.report import build_report

    path = build_report(
        args.checkpoint,
        args.out,
        dataset=args.dataset,
        data_dir=args.data_dir,
        index=args.index,
        stdp_batch=args.stdp_batch,
        eval_limit=args.eval_limit,
        seed=args.seed,
    )
    print(f"wrote {path} (open it in a browser; it is one self-contained file)")
    _common.write_json_output(args.json, {"report": str(path)})
    return 0
