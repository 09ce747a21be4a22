"""``spikekit train``: train one model (also under ``torchrun``, one process per GPU)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import _common


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = _common.add_command(
        subparsers,
        "train",
        "train one model",
        "spikekit train --model spiking-mlp --out runs/mlp             # the embedded digits",
        "spikekit train --model spiking-cnn --dataset fashion-mnist --download --out runs/cnn",
        "spikekit train --model seed-snn --dataset mnist --preset seed --out runs/seed",
        "spikekit train --model spiking-mlp --out runs/mlp --epochs 30 --resume   # continue a run",
        "torchrun --nproc_per_node 4 -m spikekit train --model spiking-cnn --dataset mnist --out runs/ddp",
        "spikekit train --model spiking-mlp --out runs/mlp > train.log 2>&1   # one line per epoch",
        "spikekit train --dataset randman --out runs/randman   # the dataset's default model",
        "spikekit train --model lsnn --dataset store-recall --out runs/lsnn",
        "spikekit train --model spiking-mlp --steps 1000 --checkpoint-every 50   # long sequences",
    )
    p.add_argument(
        "--model",
        default=None,
        help="seed-snn | seed-ann | spiking-mlp | spiking-cnn | spiking-rnn (events) | lsnn (default: the "
        "dataset's model for yin-yang, store-recall and randman; required for the others)",
    )
    _common.add_data_args(p)
    _common.add_train_args(p)
    _common.add_seed_arg(p)
    p.add_argument(
        "--out", type=_common.output_dir, default=None, help="folder for checkpoint.pt and metrics.jsonl"
    )
    p.add_argument("--resume", action="store_true", help="continue from --out's checkpoint")
    p.add_argument(
        "--tbptt",
        type=_common.positive_int,
        default=None,
        metavar="K",
        help="truncated backpropagation through time: an optimizer step every K time steps, the neuron "
        "states carried over and detached (default: plain BPTT; K >= T is the same)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=_common.positive_int,
        default=None,
        metavar="K",
        help="run the model's time-first part in checkpointed chunks of K time steps: backward keeps the "
        "neuron states at chunk boundaries and recomputes each chunk (far less memory for long sequences, "
        "one more forward pass, same results; default: off)",
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    # Under torchrun (WORLD_SIZE > 1) this starts the process group; for one process it does nothing.
    from .. import distributed

    started = not distributed.is_initialized() and distributed.init(args.device)
    try:
        return _train(args, distributed)
    finally:
        if started:
            distributed.cleanup()


def _train(args: argparse.Namespace, distributed: Any) -> int:
    if args.model is None:
        from .recipes import default_model

        args.model = default_model(args.dataset)
        if args.model is None:
            raise _common.UsageError(f"give --model: the dataset {args.dataset!r} has no default model")
    if not distributed.is_main():
        args.no_progress = True  # progress bars, tables and --json come from rank 0 only
    # One process per machine (local rank 0) loads first, so downloads and caches are not raced.
    if distributed.local_rank() != 0:
        distributed.barrier()
    train, test = _common.load_data(args)
    if distributed.local_rank() == 0:
        distributed.barrier()
    out = Path(args.out) if args.out else None
    row = _common.train_one(args.model, args, train, test, args.seed, out, args.resume)
    if not distributed.is_main():
        return 0
    pct = _common.pct
    headers = ["epoch", "lr", "train loss", "train acc %", "test acc %", "seconds"]
    rows = [
        [
            h["epoch"],
            f"{h['lr']:.4g}",
            f"{h['train_loss']:.4f}",
            pct(h["train_acc"]),
            pct(h.get("test_acc")),
            f"{h['seconds']:.1f}",
        ]
        for h in row["history"]
    ]
    print(_common.format_table(headers, rows))
    print(
        f"{args.model} on {args.dataset}: test accuracy {pct(row['test_acc'])} %, "
        f"{row['parameters']:,} parameters, firing rates {_common.rates_text(row['rates'])}"
    )
    if out is not None:
        print(f"checkpoint and metrics in {out}")
    _common.write_json_output(args.json, row)
    return 0
