"""``spikekit stdp-window``: does backpropagation engender STDP? Controlled mode (one neuron, every
surrogate and loss) or, with ``--checkpoint``, in a trained network."""

from __future__ import annotations

import argparse
from typing import Any

from . import _common


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "stdp-window", help="does backpropagation engender STDP? (controlled or in a network)"
    )
    c = _common
    p.add_argument("--neurons", type=c.names, default="RefractoryLIF,LIF")
    p.add_argument(
        "--surrogates", type=c.names, default="atan,sigmoid,fast_sigmoid,triangle,rectangle,straight_through"
    )
    p.add_argument("--losses", type=c.names, default="post,all,rate")
    p.add_argument("--remedies", default="weight_decay,after_potential", help='comma list, "" for none')
    p.add_argument("--decay", type=c.unit_float, default=0.9)
    p.add_argument("--threshold", type=c.positive_float, default=1.0)
    p.add_argument("--max-dt", type=c.positive_int, default=30)
    p.add_argument("--steps-after", type=c.positive_int, default=50)
    p.add_argument("--weight", type=c.finite_float, default=0.05)
    p.add_argument("--weight-decay", type=c.nonnegative_float, default=0.05)
    p.add_argument("--after-potential-tau", type=c.positive_float, default=20.0)
    p.add_argument("--after-potential-scale", type=c.finite_float, default=1.0)
    p.add_argument("--target-rate", type=c.unit_float, default=0.8)
    p.add_argument(
        "--checkpoint",
        type=c.existing_file,
        default=None,
        help="in-network mode: a model trained by spikekit train",
    )
    p.add_argument("--dataset", default=None, help="in-network mode: dataset (default: the checkpoint's)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--batch-size", type=c.positive_int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--figure", type=c.figure_file, default=None, metavar="PATH", help=".png, .svg or .pdf")
    p.add_argument("--json", type=c.output_file, default=None, metavar="PATH")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    if args.checkpoint:
        return _network_window(args)
    from ..analysis import run_stdp_window

    csv = _common.csv
    table = run_stdp_window(
        csv(args.neurons),
        csv(args.surrogates),
        csv(args.losses),
        decay=args.decay,
        threshold=args.threshold,
        max_dt=args.max_dt,
        steps_after=args.steps_after,
        remedies=csv(args.remedies),
        weight=args.weight,
        weight_decay=args.weight_decay,
        after_potential_tau=args.after_potential_tau,
        after_potential_scale=args.after_potential_scale,
        target_rate=args.target_rate,
        json_path=args.json,
        progress=not args.no_progress,
    )
    if args.figure:
        from ..plot import stdp_window_grid

        stdp_window_grid(table, path=args.figure)
    print(table.markdown())
    for path in (args.json, args.figure):
        if path:
            print(f"wrote {path}")
    return 0


def _network_window(args: argparse.Namespace) -> int:
    import torch

    from ..analysis import network_window

    ckpt, model = _common.load_trained(args.checkpoint)
    images, targets = _common.load_test_set(ckpt, args)
    g = torch.Generator().manual_seed(args.seed)
    idx = torch.randperm(len(images), generator=g)[: args.batch_size]
    torch.manual_seed(args.seed)
    res = network_window(
        model,
        images[idx],
        targets[idx],
        weight_decay=args.weight_decay if args.remedies and "weight_decay" in args.remedies else 0.0,
        max_dt=args.max_dt,
    )
    print(res.markdown())
    if args.figure:
        from ..plot import stdp_window

        stdp_window(res, path=args.figure)
        print(f"wrote {args.figure}")
    _common.write_json_output(args.json, res.to_dict())
    return 0
