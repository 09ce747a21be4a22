"""The ``spikekit`` command: ``demo``, ``train``, ``compare`` and the tools of the other modules.

Every command prints a human table and, with ``--json PATH``, writes the same facts as JSON.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

__all__ = ["main"]


# --- shared helpers ------------------------------------------------------------------------------------
def _model_args(pairs: Sequence[str]) -> dict[str, Any]:
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


def _write_json(path: str | None, payload: Any) -> None:
    if not path:
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    os.replace(tmp, p)
    print(f"wrote {p}")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with aligned columns."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _add_data_args(p: argparse.ArgumentParser, default: str = "digits") -> None:
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


def _add_train_args(p: argparse.ArgumentParser) -> None:
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


EVENT_DATASETS = ("nmnist", "nmnist-small", "shd")


def _is_events(name: str) -> bool:
    return name.lower().replace("_", "-").replace("n-mnist", "nmnist") in EVENT_DATASETS


def _input_shape(train) -> tuple[int, ...]:
    """One sample's shape without time: ``(1, 28, 28)`` for MNIST, ``(2, 34, 34)`` for N-MNIST frames."""
    shape = getattr(train, "sample_shape", None)
    return tuple(shape) if shape is not None else tuple(train.images.shape[1:])


def _load_data(args: argparse.Namespace):
    from . import data

    if _is_events(args.dataset):
        from .data.events import load_frames

        return load_frames(
            args.dataset,
            args.data_dir,
            n_time_bins=None if args.time_window else args.time_bins,
            time_window=args.time_window,
            download=args.download,
            cache=not args.no_cache,
            train_limit=args.train_limit,
            test_limit=args.test_limit,
            progress=not getattr(args, "no_progress", False),
        )
    train, test = data.load(args.dataset, args.data_dir, download=args.download)
    if args.train_limit is not None:
        train = train.subset(args.train_limit)
    if args.test_limit is not None:
        test = test.subset(args.test_limit)
    return train, test


def _config(args: argparse.Namespace, model: str, input_shape: tuple[int, ...], seed: int):
    from .models.registry import accepts
    from .recipes import recipe
    from .train import PRESETS

    kwargs, cfg = recipe(model, input_shape, events=_is_events(args.dataset))
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
    kwargs.update(_model_args(args.model_arg))
    return kwargs, replace(cfg, **overrides)


def _run_one(
    model_name: str, args, train, test, seed: int, out_dir: Path | None, resume: bool
) -> dict[str, Any]:
    import torch

    from .models import build_model, count_parameters
    from .train import fit

    input_shape = _input_shape(train)
    kwargs, cfg = _config(args, model_name, input_shape, seed)
    torch.manual_seed(seed)
    model = build_model(model_name, input_shape, train.num_classes, **kwargs)
    extra = {
        "model": model_name,
        "model_kwargs": kwargs,
        "dataset": args.dataset,
        "data_dir": args.data_dir,
        "input_shape": input_shape,
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


def _rates_text(rates: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.3f}" for k, v in rates.items()) or "-"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


# --- commands ------------------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    # Under torchrun (WORLD_SIZE > 1) this starts the process group; for one process it does nothing.
    from . import distributed

    started = not distributed.is_initialized() and distributed.init(args.device)
    try:
        return _train(args, distributed)
    finally:
        if started:
            distributed.cleanup()


def _train(args: argparse.Namespace, distributed) -> int:
    if not distributed.is_main():
        args.no_progress = True  # progress bars, tables and --json come from rank 0 only
    # One process per machine (local rank 0) loads first, so downloads and caches are not raced.
    if distributed.local_rank() != 0:
        distributed.barrier()
    train, test = _load_data(args)
    if distributed.local_rank() == 0:
        distributed.barrier()
    out = Path(args.out) if args.out else None
    row = _run_one(args.model, args, train, test, args.seed, out, args.resume)
    if not distributed.is_main():
        return 0
    headers = ["epoch", "lr", "train loss", "train acc %", "test acc %", "seconds"]
    rows = [
        [
            h["epoch"],
            f"{h['lr']:.4g}",
            f"{h['train_loss']:.4f}",
            _pct(h["train_acc"]),
            _pct(h.get("test_acc")),
            f"{h['seconds']:.1f}",
        ]
        for h in row["history"]
    ]
    print(format_table(headers, rows))
    print(
        f"{args.model} on {args.dataset}: test accuracy {_pct(row['test_acc'])} %, "
        f"{row['parameters']:,} parameters, firing rates {_rates_text(row['rates'])}"
    )
    if out is not None:
        print(f"checkpoint and metrics in {out}")
    _write_json(args.json, row)
    return 0


def _compare(args: argparse.Namespace, models: Sequence[str], seeds: Sequence[int]) -> dict[str, Any]:
    from .models import MODELS

    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise SystemExit(f"error: unknown model(s) {unknown}; valid models: {', '.join(MODELS)}")
    train, test = _load_data(args)
    print(
        f"dataset {args.dataset}: {len(train)} training and {len(test)} test samples, "
        f"input {tuple(train.images.shape[1:])}, {train.num_classes} classes"
    )
    runs = []
    for model in models:
        for seed in seeds:
            t0 = time.perf_counter()
            out = Path(args.out) / f"{model}-seed{seed}" if args.out else None
            resume = bool(args.resume and out is not None and (out / "checkpoint.pt").exists())
            runs.append(_run_one(model, args, train, test, seed, out, resume))
            print(
                f"  {model} seed {seed}: {_pct(runs[-1]['test_acc'])} % in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
    rows, summary = [], []
    for model in models:
        mine = [r for r in runs if r["model"] == model]
        accs = [r["test_acc"] for r in mine]
        mean = statistics.mean(accs)
        spread = statistics.stdev(accs) if len(accs) > 1 else 0.0
        spe = statistics.median(r["seconds_per_epoch"] for r in mine)
        acc_text = _pct(mean) + (f" ± {100 * spread:.2f}" if len(accs) > 1 else "")
        rows.append(
            [model, f"{mine[0]['parameters']:,}", acc_text, f"{spe:.2f}", _rates_text(mine[0]["rates"])]
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
    print()
    print(format_table(["model", "parameters", "test acc %", "s/epoch", "firing rate per layer"], rows))
    return {
        "dataset": args.dataset,
        "train_size": len(train),
        "test_size": len(test),
        "summary": summary,
        "runs": runs,
    }


def cmd_compare(args: argparse.Namespace) -> int:
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    seeds = [int(s) for s in str(args.seeds).split(",")]
    _write_json(args.json, _compare(args, models, seeds))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    print("spikekit demo: the original experiment's SNN, its ANN baseline and a surrogate-gradient spiking")
    print("MLP, trained on scikit-learn's 8x8 digits (embedded, no download) with the same data order.\n")
    t0 = time.perf_counter()
    result = _compare(args, ["seed-snn", "seed-ann", "spiking-mlp"], [args.seed])
    print(f"\ndone in {time.perf_counter() - t0:.0f} s")
    _write_json(args.json, result)
    return 0


# --- parser --------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spikekit", description="Spiking neural networks on PyTorch.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="the main job on the embedded digits: SNN vs ANN table")
    _add_data_args(p)
    _add_train_args(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="keep each run's checkpoint in OUT/<model>-seed<k>/")
    p.set_defaults(func=cmd_demo, dataset="digits", resume=False)

    p = sub.add_parser("train", help="train one model")
    p.add_argument("--model", required=True, help="seed-snn | seed-ann | spiking-mlp | spiking-cnn")
    _add_data_args(p)
    _add_train_args(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for checkpoint.pt and metrics.jsonl")
    p.add_argument("--resume", action="store_true", help="continue from --out's checkpoint")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("compare", help="train several models on one dataset and tabulate them")
    p.add_argument("--models", default="seed-snn,seed-ann,spiking-mlp", help="comma-separated model names")
    p.add_argument("--seeds", default="0", help="comma-separated seeds; mean and spread over them")
    p.add_argument("--out", default=None, help="keep each run's checkpoint in OUT/<model>-seed<k>/")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue each run from its checkpoint under --out when there is one (finished runs are reused)",
    )
    _add_data_args(p)
    _add_train_args(p)
    p.set_defaults(func=cmd_compare)

    from . import cli_tools

    cli_tools.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
