"""Helpers the ``spikekit`` subcommands share: argument groups, ``--model-arg`` parsing, data loading,
one training run, JSON output and the exception -> exit code mapping.

Nothing heavy is imported at module level (the ``--help`` of every command works without torch's import
time, matplotlib or tqdm); torch, the models and the data loaders are imported inside the functions.
"""

from __future__ import annotations

import argparse
import ast
import math
import os
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .._io import format_table, write_json

__all__ = [
    "ArgumentParser",
    "UsageError",
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


class UsageError(ValueError):
    """A bad option value or combination found after parsing: ``error: ...`` and exit status 2."""

    exit_code = 2


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every option's default in ``--help`` (``(default: 10)``), except ``None``/``False`` (no value: the
    help says what happens then); descriptions and epilogs (the examples) keep their line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or default == []
            or not action.option_strings
            or isinstance(action, (argparse._HelpAction, argparse._VersionAction))
        ):
            return text
        return text + " (default: %(default)s)"


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors (``error: MESSAGE (see 'PROG --help')``, exit status 2) and the defaults
    shown in ``--help`` (:class:`HelpFormatter`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def examples(*lines: str) -> str:
    """An ``epilog`` listing example command lines."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def add_command(subparsers: Any, name: str, help: str, *example_lines: str, **kwargs: Any):
    """A subcommand parser with a one-line ``help`` (also its description) and example runs as its epilog."""
    kwargs.setdefault("description", help[0].upper() + help[1:] + ".")
    if example_lines:
        kwargs.setdefault("epilog", examples(*example_lines))
    return subparsers.add_parser(name, help=help, **kwargs)


def deprecated_alias(p: argparse.ArgumentParser, old: str, dest: str, **kwargs: Any) -> None:
    """``old`` still works as another spelling of the option stored in ``dest``, hidden from ``--help``
    (kept so that scripts written for it keep running)."""
    p.add_argument(old, dest=dest, help=argparse.SUPPRESS, default=argparse.SUPPRESS, **kwargs)


def add_global_args(p: argparse.ArgumentParser, top: bool = False) -> None:
    """``--quiet`` and ``--verbose``: before the command (``top``) or after it (then they do not override
    what was given before it)."""
    g = p.add_argument_group("output") if not top else p
    extra: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    g.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only errors and the final table (no progress bars, no per-epoch lines)",
        **extra,
    )
    g.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print a line for every training batch",
        **extra,
    )


def verbosity(args: argparse.Namespace) -> int:
    """0 with ``--quiet``, 2 with ``--verbose``, else 1 (both given: a usage error)."""
    quiet, verbose = bool(getattr(args, "quiet", False)), bool(getattr(args, "verbose", False))
    if quiet and verbose:
        raise UsageError("--quiet and --verbose exclude each other")
    return 0 if quiet else 2 if verbose else 1


def say(args: argparse.Namespace, *parts: Any, **kwargs: Any) -> None:
    """``print`` unless ``--quiet`` (for what is not the final result: headers, notes, per-run lines)."""
    if verbosity(args) > 0:
        print(*parts, **kwargs)


def log_line(text: str) -> None:
    """One progress line (epochs, batches) on stderr, flushed: what a log file or a cluster job keeps."""
    print(text, file=sys.stderr, flush=True)


def warn(args: argparse.Namespace, text: str) -> None:
    """``warning: TEXT`` on stderr (also under ``--quiet``: a warning may explain a surprising result)."""
    print(f"warning: {text}", file=sys.stderr, flush=True)


# --- option types: values are checked while parsing, before any work ---------------------------------
def _typed(name: str, fn: Callable[[str], Any]) -> Callable[[str], Any]:
    fn.__name__ = name
    return fn


def _int(text: str, least: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def _float(text: str, ok: Callable[[float], bool], what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(value) or not ok(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
    return value


positive_int = _typed("positive_int", lambda t: _int(t, 1, "an integer >= 1"))
nonnegative_int = _typed("nonnegative_int", lambda t: _int(t, 0, "an integer >= 0"))
positive_float = _typed("positive_float", lambda t: _float(t, lambda v: v > 0, "a finite number > 0"))
nonnegative_float = _typed("nonnegative_float", lambda t: _float(t, lambda v: v >= 0, "a finite number >= 0"))
finite_float = _typed("finite_float", lambda t: _float(t, lambda v: True, "a finite number"))
unit_float = _typed("unit_float", lambda t: _float(t, lambda v: 0 < v <= 1, "a number in (0, 1]"))
momentum_float = _typed("momentum", lambda t: _float(t, lambda v: 0 <= v < 1, "a number in [0, 1)"))
percentile_float = _typed("percentile", lambda t: _float(t, lambda v: 0 < v <= 100, "a number in (0, 100]"))
LR_MAX = 10.0
learning_rate = _typed(
    "learning_rate",
    lambda t: _float(
        t, lambda v: 0 < v <= LR_MAX, f"a learning rate in (0, {LR_MAX:g}] (larger ones diverge)"
    ),
)


def device(text: str) -> str:
    """``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``, refused when this machine does not have it."""
    if text == "auto":
        return text
    import torch

    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(
                f"{text!r}: CUDA is not available on this machine; use --device cpu (or auto)"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            n = torch.cuda.device_count()
            raise argparse.ArgumentTypeError(
                f"{text!r}: this machine has {n} CUDA device(s), cuda:0..{n - 1}"
            )
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise argparse.ArgumentTypeError(
                f"{text!r}: MPS is not available on this machine; use --device cpu"
            )
    elif dev.type != "cpu":
        raise argparse.ArgumentTypeError(f"unsupported device {text!r}; use auto, cpu, cuda or cuda:N")
    return text


def existing_file(text: str) -> str:
    """A path to an existing regular file."""
    p = Path(text)
    if not text or not p.exists():
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    if not p.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a file")
    return text


def existing_path(text: str) -> str:
    """A path to an existing file or folder."""
    if not text or not Path(text).exists():
        raise argparse.ArgumentTypeError(f"no such file or folder: {text!r}")
    return text


def _writable_parents(p: Path, text: str) -> None:
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise argparse.ArgumentTypeError(
                    f"cannot write {text!r}: {str(parent)!r} is a file, not a folder"
                )
            if not os.access(parent, os.W_OK | os.X_OK):
                raise argparse.ArgumentTypeError(f"cannot write {text!r}: {str(parent)!r} is not writable")
            return


def output_file(text: str) -> str:
    """A file to write: not a folder, and every existing folder above it is a folder."""
    p = Path(text)
    if not text:
        raise argparse.ArgumentTypeError("expected a file name, got ''")
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file name")
    _writable_parents(p, text)
    return text


FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def figure_file(text: str) -> str:
    """A figure file to write: :func:`output_file` ending in .png, .svg or .pdf."""
    if Path(text).suffix.lower() not in FIGURE_SUFFIXES:
        raise argparse.ArgumentTypeError(f"a figure must end with {', '.join(FIGURE_SUFFIXES)}; got {text!r}")
    return output_file(text)


def output_dir(text: str) -> str:
    """A folder to write into: an existing folder, or a path where one can be made."""
    p = Path(text)
    if not text:
        raise argparse.ArgumentTypeError("expected a folder, got ''")
    if p.exists() and not p.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder")
    _writable_parents(p, text)
    return text


def names(text: str) -> str:
    """A comma-separated list with at least one name (returned as given; :func:`csv` splits it)."""
    if not csv(text):
        raise argparse.ArgumentTypeError(f"expected one or more comma-separated names, got {text!r}")
    return text


def ints(text: str) -> str:
    """A comma-separated list of one or more integers (returned as given)."""
    items = csv(text)
    if not items or not all(i.lstrip("-").isdigit() for i in items):
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, e.g. 0,1,2; got {text!r}")
    return text


def positive_ints(text: str) -> str:
    """A comma-separated list of one or more integers >= 1 (returned as given)."""
    items = csv(ints(text))
    if any(int(i) < 1 for i in items):
        raise argparse.ArgumentTypeError(f"expected comma-separated integers >= 1, got {text!r}")
    return text


def model_arg(text: str) -> str:
    """``KEY=VALUE`` (checked here; :func:`model_args` parses the values)."""
    key, sep, _ = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return text


# --- parsing -------------------------------------------------------------------------------------------
def model_args(pairs: Sequence[str]) -> dict[str, Any]:
    """``["hidden=(256,128)", "steps=10"]`` -> ``{"hidden": (256, 128), "steps": 10}``."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--model-arg expects KEY=VALUE, got {pair!r}")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def csv(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [t.strip() for t in text.split(",") if t.strip()]


DATASET_HELP = "digits | mnist | fashion-mnist | mnist-10k | idx | nmnist[-small] | shd"
DATA_DIR_HELP = "folder with the dataset (default: $SPIKEKIT_DATA, then the cache)"


def add_dataset_arg(p: argparse.ArgumentParser, default: str | None, what: str = "") -> None:
    """``--dataset`` and ``--data-dir``; ``default=None``: the checkpoint's dataset."""
    text = what or (DATASET_HELP if default else "the test data (default: the checkpoint's dataset)")
    p.add_argument("--dataset", default=default, help=text)
    p.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)


def add_limit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--download", action="store_true", help="download the dataset if it is not found")
    p.add_argument(
        "--train-limit", type=positive_int, default=None, help="use only the first N training samples"
    )
    p.add_argument("--test-limit", type=positive_int, default=None, help="use only the first N test samples")


def add_seed_arg(
    p: argparse.ArgumentParser, what: str = "seeds the weights, the data order and the encoders"
):
    p.add_argument("--seed", type=int, default=0, help=what)


def add_json_arg(p: argparse.ArgumentParser, what: str = "also write the results as JSON to PATH") -> None:
    p.add_argument("--json", type=output_file, default=None, metavar="PATH", help=what)


def add_progress_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (bars are drawn only when stderr is a terminal anyway)",
    )


def add_data_args(p: argparse.ArgumentParser, default: str = "digits") -> None:
    add_dataset_arg(p, default)
    add_limit_args(p)
    p.add_argument("--time-bins", type=positive_int, default=10, help="event data: frames per recording")
    p.add_argument(
        "--time-window", type=positive_float, default=None, metavar="US", help="event data: frame length"
    )
    p.add_argument("--no-cache", action="store_true", help="event data: do not cache frames on disk")


def add_log_every_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--log-every",
        type=positive_int,
        default=None,
        metavar="N",
        help="without a progress bar, a line every N training batches (default: every tenth of an epoch "
        "when an epoch lasts more than 30 s; --verbose: every batch)",
    )


def add_train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--preset",
        choices=["seed"],
        default=None,
        help="the original experiment's schedule (SGD, batch 1000, 3 epochs at lr 0.1, 0.05, 0.01)",
    )
    recipe = "default: the model's recipe"
    p.add_argument("--epochs", type=positive_int, default=None, help=f"training epochs ({recipe})")
    p.add_argument("--batch-size", type=positive_int, default=None, help=f"training batch size ({recipe})")
    p.add_argument(
        "--optimizer", choices=["sgd", "adam", "adamw"], default=None, help=f"optimizer ({recipe})"
    )
    p.add_argument(
        "--lr",
        type=learning_rate,
        nargs="+",
        default=None,
        help=f"learning rate: one value, or one per epoch (0 < lr <= {LR_MAX:g}; {recipe})",
    )
    p.add_argument("--momentum", type=momentum_float, default=None, help=f"SGD momentum in [0, 1) ({recipe})")
    p.add_argument(
        "--weight-decay", type=nonnegative_float, default=None, help=f"L2 penalty, >= 0 ({recipe})"
    )
    p.add_argument(
        "--schedule",
        choices=["constant", "cosine", "per-epoch"],
        default=None,
        help=f"learning-rate schedule; per-epoch: one --lr per epoch ({recipe})",
    )
    p.add_argument("--device", type=device, default="auto", help="auto (CUDA when present) | cpu | cuda[:N]")
    p.add_argument("--steps", type=positive_int, default=None, help="time steps T (model argument)")
    p.add_argument(
        "--backend",
        choices=["auto", "fused", "triton", "torch"],
        default="auto",
        help="every neuron's multi-step engine: auto (default: the fastest proven equal to the reference "
        "loop for the neuron and device; the run's first line says which), fused (C++ on the CPU), "
        "triton (CUDA), torch (the reference loop); same spikes with each, gradients equal to float "
        "rounding",
    )
    p.add_argument(
        "--allocator",
        choices=["tuned", "default"],
        default="tuned",
        help="tuned (default): glibc keeps freed memory for the next step (faster CPU steps, the process "
        "keeps its peak memory; spikekit.train.tune_allocator); default: the C library's own policy",
    )
    p.add_argument(
        "--model-arg",
        type=model_arg,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra model argument",
    )
    add_progress_arg(p)
    add_log_every_arg(p)
    add_json_arg(p)
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a run already in --out (else it is refused; see --resume)",
    )


def show_progress(args: argparse.Namespace) -> bool | None:
    """``False`` with ``--no-progress`` or ``--quiet``, else ``None``: bars only when stderr is a terminal."""
    return False if getattr(args, "no_progress", False) or verbosity(args) == 0 else None


def fit_logging(args: argparse.Namespace) -> dict[str, Any]:
    """The ``progress``, ``log`` and ``log_every`` arguments of :func:`spikekit.train.fit` for ``args``."""
    level = verbosity(args)
    return {
        "progress": show_progress(args),
        "log": log_line if level > 0 else False,
        "log_every": 1 if level == 2 else getattr(args, "log_every", None),
    }


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


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def exit_code_of(err: BaseException) -> int:
    """2 for bad input (a usage error, a bad value or name, a missing file), 1 for a failure at run time
    (a corrupt checkpoint, a diverging run, an I/O error, anything unexpected)."""
    code = getattr(err, "exit_code", None)
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    if isinstance(err, (ValueError, TypeError, LookupError, FileNotFoundError, NotADirectoryError)):
        return 2
    if isinstance(err, (IsADirectoryError, FileExistsError)):
        return 2
    return 1


def run_command(func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Run a command behind the CLI's one error boundary: any exception becomes one line ``error: ...`` on
    stderr and exit status 2 (bad input) or 1 (a failure at run time; :func:`exit_code_of`), Ctrl-C 130.
    With ``--debug`` (``args.debug``) exceptions propagate, with their traceback."""
    debug = bool(getattr(args, "debug", False))
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:
        if isinstance(exc.code, str):
            msg = _one_line(exc.code)
            print(msg if msg.startswith("error:") else f"error: {msg}", file=sys.stderr)
            return 2
        raise
    except Exception as err:  # noqa: BLE001 - this is the boundary
        if debug:
            raise
        msg = _one_line(str(err)) or type(err).__name__
        expected = isinstance(
            err, (ValueError, TypeError, LookupError, OSError, ImportError, ArithmeticError)
        )
        if not expected and getattr(err, "exit_code", None) is None:
            msg = f"unexpected {type(err).__name__}: {msg} (rerun with --debug to see the traceback)"
        print(f"error: {msg}", file=sys.stderr)
        return exit_code_of(err)


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
        progress=show_progress(args),
        **events,
    )


def load_trained(checkpoint: str | os.PathLike):
    """``(checkpoint dict, model in eval mode)`` from a checkpoint written by ``spikekit train --out`` (or
    ``compare``, ``demo``) or by :func:`spikekit.train.fit` (a file, or the folder holding checkpoint.pt)."""
    from ..models import model_from_checkpoint
    from ..train import load_checkpoint

    path = Path(checkpoint)
    ckpt = load_checkpoint(path / "checkpoint.pt" if path.is_dir() else path)
    try:
        model = model_from_checkpoint(ckpt)
    except RuntimeError as err:  # load_state_dict: the weights do not fit the model the checkpoint names
        first = str(err).strip().splitlines()[0]
        raise ValueError(f"{path}: the weights do not fit the model it names ({first})") from None
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

    kwargs, cfg = recipe(model, shape, events=is_events(args.dataset), dataset=args.dataset)
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
        ("tbptt", "tbptt"),
        ("checkpoint_every", "checkpoint_every"),
    ):
        if getattr(args, flag, None) is not None:
            overrides[key] = getattr(args, flag)
    if args.lr is not None:
        overrides["lr"] = args.lr[0] if len(args.lr) == 1 else tuple(args.lr)
        if len(args.lr) > 1 and args.schedule is None:
            overrides["schedule"] = "per-epoch"
        elif len(args.lr) == 1 and cfg.schedule == "per-epoch" and args.schedule is None:
            overrides["schedule"] = "constant"
    if (
        "epochs" in overrides
        and cfg.schedule == "per-epoch"
        and "lr" not in overrides
        and overrides.get("schedule", "per-epoch") == "per-epoch"
    ):
        overrides["lr"] = stretch_schedule(cfg.lr, overrides["epochs"])  # type: ignore[arg-type]
        if overrides["epochs"] != cfg.epochs and not getattr(args, "_stretch_noted", False):
            say(
                args,
                f"note: --epochs {overrides['epochs']} stretches the per-epoch learning rates "
                f"{', '.join(f'{v:g}' for v in cfg.lr)} to "  # type: ignore[union-attr]
                f"{', '.join(f'{v:g}' for v in overrides['lr'])}; give one --lr per epoch to choose them",
            )
            args._stretch_noted = True
    if args.steps is not None and accepts(model, "steps"):
        kwargs["steps"] = args.steps
    kwargs.update(model_args(args.model_arg))
    return kwargs, replace(cfg, **overrides)


def stretch_schedule(lrs: Sequence[float], epochs: int) -> tuple[float, ...]:
    """A per-epoch schedule stretched (or shrunk) to ``epochs``: epoch ``e`` gets the rate at the same share
    of the original schedule, ``lrs[e * len(lrs) // epochs]``; ``(0.1, 0.05, 0.01)`` over 6 epochs is
    ``0.1, 0.1, 0.05, 0.05, 0.01, 0.01``, over 1 epoch ``0.1``."""
    n = len(lrs)
    return tuple(float(lrs[e * n // epochs]) for e in range(epochs))


def _plain(x: Any) -> Any:
    """Lists as tuples, recursively, so that a value read back from a checkpoint compares equal."""
    if isinstance(x, (list, tuple)):
        return tuple(_plain(v) for v in x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def check_out_dir(out_dir: Path | None, resume: bool, overwrite: bool, extra: dict[str, Any]) -> None:
    """Refuse to replace a run in ``out_dir`` (unless ``overwrite``), and to resume one that was trained with
    another model, model arguments or dataset (naming what differs)."""
    if out_dir is None:
        return
    ckpt_path = out_dir / "checkpoint.pt"
    if not resume:
        if ckpt_path.exists() and not overwrite:
            raise UsageError(
                f"--out {out_dir} already holds a run ({ckpt_path}); give --resume to continue it, "
                "--overwrite to replace it, or another --out"
            )
        return
    if not ckpt_path.exists():
        raise UsageError(f"--resume: no checkpoint to resume from at {ckpt_path}")
    from ..train import load_checkpoint

    saved = load_checkpoint(ckpt_path).get("extra") or {}
    keys = ("model", "model_kwargs", "dataset", "input_shape", "num_classes")
    diff = {k: (saved.get(k), extra[k]) for k in keys if k in saved and _plain(saved[k]) != _plain(extra[k])}
    if diff:
        text = "; ".join(f"{k}: {a!r} in the checkpoint, {b!r} now" for k, (a, b) in diff.items())
        raise UsageError(
            f"--resume: {ckpt_path} was trained with other model arguments ({text}); give the same ones, "
            "or --overwrite / another --out to start a new run"
        )


# BatchNorm's running statistics (momentum 0.1, so about the last 10 batches) follow the weights only when
# an epoch has a few dozen batches, or when many epochs let the weights settle while they catch up.
BATCHNORM_MIN_BATCHES = 50
BATCHNORM_MIN_TOTAL = 500


def batchnorm_hint(args: argparse.Namespace, name: str, model: Any, n_train: int, cfg: Any) -> bool:
    """Warn (one line) when a model with BatchNorm gets fewer than :data:`BATCHNORM_MIN_BATCHES` training
    batches per epoch and fewer than :data:`BATCHNORM_MIN_TOTAL` in all: its running statistics, which
    evaluation uses, may be under-trained (a 1-epoch CNN on 300 digits: 33 % training, 14.5 % test
    accuracy). Returns whether it warned."""
    import torch

    if not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return False
    batches = math.ceil(n_train / cfg.batch_size)
    if batches >= BATCHNORM_MIN_BATCHES or batches * cfg.epochs >= BATCHNORM_MIN_TOTAL:
        return False
    warn(
        args,
        f"{name} has BatchNorm but trains on {batches} batch(es) per epoch ({n_train} samples, batch size "
        f"{cfg.batch_size}, {cfg.epochs} epoch(s)): its running statistics, which evaluation uses, may be "
        f"under-trained and the test accuracy far below the training accuracy; use more data "
        f"(--train-limit), a smaller --batch-size or more --epochs",
    )
    return True


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
    if getattr(args, "allocator", "tuned") == "tuned":
        from ..train import tune_allocator

        tune_allocator()
    backend = getattr(args, "backend", "auto")
    if backend != "auto":
        from ..nn import set_backend

        try:
            set_backend(model, backend)
        except RuntimeError as err:  # not available here: a usage error, not a crash
            raise ValueError(f"--backend {backend}: {err}") from None
    say(args, run_header(model_name, model, args.dataset, cfg))
    extra = {
        "model": model_name,
        "model_kwargs": kwargs,
        "dataset": args.dataset,
        "data_dir": args.data_dir,
        "input_shape": shape,
        "num_classes": train.num_classes,
    }
    check_out_dir(out_dir, resume, getattr(args, "overwrite", False), extra)
    batchnorm_hint(args, model_name, model, len(train), cfg)
    result = fit(model, train, test, cfg, out_dir=out_dir, resume=resume, extra=extra, **fit_logging(args))
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
        "profile": profile_row(model, test if test is not None else train),
    }


def _lr_text(lr: Any) -> str:
    return ", ".join(f"{v:g}" for v in lr) if isinstance(lr, (tuple, list)) else f"{lr:g}"


def run_header(model_name: str, model: Any, dataset: str, cfg: Any) -> str:
    """The line a training run starts with: what is trained on what, how, and which engines run it."""
    from ..models import count_parameters
    from ..nn import engines_text
    from ..train import allocator_text, resolve_device

    device = resolve_device(cfg.device)
    steps = getattr(model, "steps", None)
    return (
        f"training {model_name} on {dataset}: {count_parameters(model):,} parameters"
        + (f", T = {steps}" if steps else "")
        + f", {cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''} of batch {cfg.batch_size}"
        + f", {cfg.optimizer} lr {_lr_text(cfg.lr)}, on {device}; engines: {engines_text(model, device)}"
        + f"; allocator: {allocator_text()}"
    )


def profile_row(model: Any, data: Any, samples: int = 64) -> dict[str, Any] | None:
    """:func:`spikekit.train.profile_dataset` on ``data``; ``None`` for a model without spiking neurons."""
    from ..nn import Neuron
    from ..train import profile_dataset

    if not any(isinstance(m, Neuron) for m in model.modules()):
        return None
    return profile_dataset(model, data, samples)
