"""``spikekit stdp-window``: does backpropagation engender STDP? Controlled mode (one neuron, every
surrogate and loss) or, with ``--checkpoint``, in a trained network."""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from . import _common


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    c = _common
    p = c.add_command(
        subparsers,
        "stdp-window",
        "does backpropagation engender STDP? (controlled or in a network)",
        "spikekit stdp-window                                  # every neuron x surrogate x loss, + remedies",
        "spikekit stdp-window --neurons LIF --surrogates atan --remedies '' --out window.png",
        "spikekit stdp-window --checkpoint runs/seed/checkpoint.pt --batch-size 64 --json net.json",
    )
    g = p.add_argument_group("controlled mode (one neuron)")
    g.add_argument(
        "--neurons", type=c.names, default="RefractoryLIF,LIF", help="comma-separated neuron names"
    )
    g.add_argument(
        "--surrogates",
        type=c.names,
        default="atan,sigmoid,fast_sigmoid,triangle,rectangle,straight_through",
        help="comma-separated surrogate names (each with its default parameters)",
    )
    g.add_argument(
        "--losses",
        type=c.names,
        default="post,all,rate",
        help="post: the post spike alone; all: all its spikes; rate: a target-rate loss",
    )
    g.add_argument(
        "--remedies",
        default="weight_decay,after_potential",
        help='comma-separated remedies, "" for none (in-network mode: weight_decay only)',
    )
    g.add_argument("--decay", type=c.unit_float, default=0.9, help="membrane decay per step, in (0, 1]")
    g.add_argument("--threshold", type=c.positive_float, default=1.0, help="firing threshold")
    p.add_argument(
        "--max-dt", type=c.positive_int, default=30, help="the window spans dt = t_post - t_pre in [-N, N]"
    )
    g.add_argument(
        "--steps-after", type=c.positive_int, default=50, help="steps simulated after the latest spike"
    )
    g.add_argument("--weight", type=c.finite_float, default=0.05, help="weight_decay remedy: the weight w")
    p.add_argument(
        "--weight-decay", type=c.nonnegative_float, default=0.05, help="weight_decay remedy: L2 coefficient"
    )
    g.add_argument(
        "--after-potential-tau",
        type=c.positive_float,
        default=20.0,
        help="after_potential remedy: its time constant in steps",
    )
    g.add_argument(
        "--after-potential-scale",
        type=c.finite_float,
        default=1.0,
        help="after_potential remedy: its integral (negative tails)",
    )
    g.add_argument(
        "--target-rate",
        type=c.unit_float,
        default=0.8,
        help="rate loss: the firing rate asked for, in (0, 1]",
    )
    n = p.add_argument_group("in-network mode (a trained model)")
    n.add_argument(
        "--checkpoint",
        type=c.existing_path,
        default=None,
        help="a model trained by spikekit train or spikekit.train.fit (checkpoint.pt or its folder)",
    )
    n.add_argument("--dataset", default=None, help="the test data (default: the checkpoint's dataset)")
    n.add_argument("--data-dir", default=None, help=c.DATA_DIR_HELP)
    n.add_argument("--batch-size", type=c.positive_int, default=64, help="test images compared")
    c.add_seed_arg(p, "in-network mode: seeds the choice of test images and the encoders")
    p.add_argument(
        "--out",
        type=c.figure_file,
        default=None,
        metavar="PATH",
        help="the figure to write: .png, .svg or .pdf",
    )
    c.deprecated_alias(p, "--figure", "out", type=c.figure_file, metavar="PATH")
    c.add_json_arg(p)
    c.add_progress_arg(p)
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
        progress=_common.show_progress(args),
    )
    if args.out:
        from ..plot import stdp_window_grid

        stdp_window_grid(table, path=args.out)
    print(table.markdown())
    print()
    print(textwrap.fill("Conclusion: " + table.conclusion(), width=110))
    for path in (args.json, args.out):
        if path:
            _common.say(args, f"wrote {path}")
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
    if args.out:
        from ..plot import stdp_window

        stdp_window(res, path=args.out)
        _common.say(args, f"wrote {args.out}")
    _common.write_json_output(args.json, res.to_dict())
    return 0
