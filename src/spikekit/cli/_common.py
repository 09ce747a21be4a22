"""Helpers the ``spikekit`` subcommands share: argument groups, ``--model-arg`` parsing, data loading,
one training run, JSON output and the exception -> exit code mapping.

Nothing heavy is imported at module level (the ``--help`` of every command works without torch's import
time, matplotlib or tqdm); torch, the models and the data loaders are imported inside the functions.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .._io import format_table, write_json

__all__ = [
    "add_data_args",
    "add_train_args",
    "config",
    "csv",
    "format_table",
    "input_shape",
    "is_events",
    "load_data",
    "load_trained",
    "model_args",
    "pct",
    "rates_text",
    "run_command",
    "show_progress",
    "load_test_set",
    "train_one",
    "write_json_output",
]


# --- parsing -------------------------------------------------------------------------------------------
def model_args(pairs: Sequence[str]) -> dict[str, Any]:
    """``["hidden=(256,128)", "steps=10"]`` -> ``{"hidden": (256, 128), "steps": 10}``."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: --model-arg expects KEY=VALUE, got {pair!r}")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def csv(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [t.strip() for t in text.split(",") if t.strip()]


def add_data_args(p: argparse.ArgumentParser, default: str = "digits") -> None:
    p.add_argument(
        "--dataset",
        default=default,
        help="digits | mnist | fashion-mnist | mnist-10k | idx | nmnist[-small] | shd",
    )
    p.add_argument(
        "--data-dir", default=None, help="folder with the dataset (else $SPIKEKIT_DATA, the cache)"
    )
    p.add_argument("--download", action="store_true", help="download the dataset if it is not found")
    p.add_argument("--train-limit", type=int, default=None, help="use only the first N training samples")
    p.add_argument("--test-limit", type=int, default=None, help="use only the first N test samples")
    p.add_argument("--time-bins", type=int, default=10, help="event data: frames per recording")
    p.add_argument("--time-window", type=float, default=None, metavar="US", help="event data: frame length")
    p.add_argument("--no-cache", action="store_true", help="event data: do not cache frames on disk")


def add_train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=["seed"], default=None, help="the original experiment's schedule")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default=None)
    p.add_argument("--lr", type=float, nargs="+", default=None, help="one value, or one per epoch")
    p.add_argument("--momentum", type=float, default=None)
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument("--schedule", choices=["constant", "cosine", "per-epoch"], default=None)
    p.add_argument("--device", default="auto", help="auto (CUDA when present) | cpu | cuda")
    p.add_argument("--steps", type=int, default=None, help="time steps T (model argument)")
    p.add_argument(
        "--model-arg", action="append", default=[], metavar="KEY=VALUE", help="extra model argument"
    )
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--json", default=None, metavar="PATH", help="write the results as JSON")


def show_progress(args: argparse.Namespace) -> bool | None:
    """``False`` with ``--no-progress``, else ``None``: bars only when stderr is a terminal."""
    return False if getattr(args, "no_progress", False) else None


# --- output --------------------------------------------------------------------------------------------
def write_json_output(path: str | None, payload: Any) -> None:
    """Write ``payload`` as JSON to ``path`` (atomically) and say so; nothing when ``path`` is empty."""
    if not path:
        return
    print(f"wrote {write_json(path, payload)}")


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def rates_text(rates: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.3f}" for k, v in rates.items()) or "-"


def run_command(func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Run a command; a bad argument or missing file is ``error: ...`` and exit code 2, Ctrl-C 130."""
    try:
        return int(func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


# --- data ----------------------------------------------------------------------------------------------
def is_events(name: str) -> bool:
    """Whether ``name`` is an event dataset of :data:`spikekit.data.DATASETS` (an unknown name raises)."""
    from ..data import dataset_kind

    return dataset_kind(name) == "event"


def input_shape(train: Any) -> tuple[int, ...]:
    """One sample's shape without time: ``(1, 28, 28)`` for MNIST, ``(2, 34, 34)`` for N-MNIST frames."""
    shape = getattr(train, "sample_shape", None)
    return tuple(shape) if shape is not None else tuple(train.images.shape[1:])


def load_data(args: argparse.Namespace):
    """``(train, test)`` for the data arguments of :func:`add_data_args`: one :func:`spikekit.data.load`."""
    from .. import data

    events = {}
    if is_events(args.dataset):
        events = dict(
            time_bins=None if args.time_window else args.time_bins,
            time_window=args.time_window,
            cache=not args.no_cache,
        )
    return data.load(
        args.dataset,
        args.data_dir,
        download=args.download,
        train_limit=args.train_limit,
        test_limit=args.test_limit,
        progress=not getattr(args, "no_progress", False),
        **events,
    )


def load_trained(checkpoint: str):
    """``(checkpoint dict, model in eval mode)`` from a ``spikekit train --out`` checkpoint."""
    from ..models import model_from_checkpoint
    from ..train import load_checkpoint

    ckpt = load_checkpoint(checkpoint)
    model = model_from_checkpoint(ckpt)
    model.eval()
    return ckpt, model


def load_test_set(ckpt: dict[str, Any], args: argparse.Namespace):
    """The test images and targets of ``--dataset`` (default: the checkpoint's dataset)."""
    from .. import data

    extra = ckpt.get("extra", {})
    name = args.dataset or extra.get("dataset")
    if not name:
        raise ValueError("give --dataset: the checkpoint does not name its dataset")
    test = data.load(name, args.data_dir or extra.get("data_dir"), split="test")
    return test.images, test.targets


# --- one training run ----------------------------------------------------------------------------------
def config(args: argparse.Namespace, model: str, shape: tuple[int, ...], seed: int):
    """``(model kwargs, TrainConfig)``: the model's recipe, then the command-line overrides."""
    from ..models.registry import accepts
    from ..train import PRESETS
    from .recipes import recipe

    kwargs, cfg = recipe(model, shape, events=is_events(args.dataset))
    if args.preset:
        cfg = PRESETS[args.preset]
    overrides: dict[str, Any] = {"seed": seed, "device": args.device}
    for flag, key in (
        ("epochs", "epochs"),
        ("batch_size", "batch_size"),
        ("optimizer", "optimizer"),
        ("momentum", "momentum"),
        ("weight_decay", "weight_decay"),
        ("schedule", "schedule"),
    ):
        if getattr(args, flag) is not None:
            overrides[key] = getattr(args, flag)
    if args.lr is not None:
        overrides["lr"] = args.lr[0] if len(args.lr) == 1 else tuple(args.lr)
        if len(args.lr) > 1 and args.schedule is None:
            overrides["schedule"] = "per-epoch"
        elif len(args.lr) == 1 and cfg.schedule == "per-epoch" and args.schedule is None:
            overrides["schedule"] = "constant"
    if "epochs" in overrides and cfg.schedule == "per-epoch" and "lr" not in overrides:
        raise SystemExit("error: --epochs changes a per-epoch schedule; give one --lr per epoch too")
    if args.steps is not None and accepts(model, "steps"):
        kwargs["steps"] = args.steps
    kwargs.update(model_args(args.model_arg))
    return kwargs, replace(cfg, **overrides)


def train_one(
    model_name: str, args, train, test, seed: int, out_dir: Path | None, resume: bool
) -> dict[str, Any]:
    """Train one model with its recipe and the overrides of ``args``; return a JSON-ready row."""
    import torch

    from ..models import build_model, count_parameters
    from ..train import fit

    shape = input_shape(train)
    kwargs, cfg = config(args, model_name, shape, seed)
    torch.manual_seed(seed)
    model = build_model(model_name, shape, train.num_classes, **kwargs)
    extra = {
        "model": model_name,
        "model_kwargs": kwargs,
        "dataset": args.dataset,
        "data_dir": args.data_dir,
        "input_shape": shape,
        "num_classes": train.num_classes,
    }
    result = fit(
        model, train, test, cfg, out_dir=out_dir, resume=resume, progress=not args.no_progress, extra=extra
    )
    final = result.final
    return {
        "model": model_name,
        "seed": seed,
        "parameters": count_parameters(model),
        "test_acc": final.get("test_acc"),
        "test_loss": final.get("test_loss"),
        "train_acc": final["train_acc"],
        "seconds_per_epoch": statistics.median(h["seconds"] for h in result.history),
        "rates": final.get("rates", {}),
        "epochs": cfg.epochs,
        "config": cfg.to_dict(),
        "model_kwargs": kwargs,
        "history": result.history,
    }
