"""The ``spikekit`` command: one module per subcommand, each with ``add_parser(subparsers)`` (argparse only,
so every ``--help`` is instant and needs neither matplotlib nor tqdm) and ``run(args) -> int`` (which does
the work and imports what it needs).

This package is spikekit's application layer: the only place that parses arguments, prints tables and
turns exceptions into exit codes. It has one error boundary (:func:`spikekit.cli._common.run_command`):
option values are checked while parsing (a bad one: ``error: ...`` naming it and what is accepted, exit
status 2); at run time a bad input (``ValueError``, ``TypeError``, a missing file) is ``error: ...`` and 2, a
failure (a corrupt checkpoint, a diverging run, an I/O error, anything unexpected) ``error: ...`` and 1,
Ctrl-C 130. ``--debug`` (anywhere on the command line, or ``SPIKEKIT_DEBUG=1``) shows the traceback
instead. Every command prints a human table and, with ``--json PATH``, writes the same facts as JSON.

Output is made for log files as well as terminals: progress bars only when stderr is a terminal, else one
line per epoch (and every tenth of a long epoch, or ``--log-every N`` batches) on stderr; ``--quiet`` keeps
errors and the final table, ``--verbose`` adds a line per batch. ``spikekit --version`` prints spikekit's
and torch's versions. Every option has help text and shows its default in ``--help``; options renamed for
one vocabulary across commands keep their old spelling as a hidden alias.

Example:
    >>> from spikekit.cli import main
    >>> main(["demo", "--epochs", "1"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import bench, compare, convert, demo, export_nir, plot, report, stdp, stdp_window, train
from ._common import ArgumentParser, add_global_args, examples, run_command

__all__ = ["COMMANDS", "build_parser", "main"]

# In the order ``spikekit --help`` lists them.
COMMANDS = (demo, train, compare, stdp, convert, export_nir, bench, stdp_window, plot, report)


class _Version(argparse.Action):
    """``--version``: ``spikekit X.Y.Z (torch A.B.C)``; torch is imported only when it is asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs) -> None:
        kwargs.setdefault("help", "print spikekit's and torch's versions and exit")
        super().__init__(option_strings, dest=dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        # the package's version, without importing the spikekit facade (the layer rules forbid it)
        __version__ = getattr(sys.modules.get(__package__.rpartition(".")[0]), "__version__", None)
        if __version__ is None:  # pragma: no cover - spikekit.cli is always imported through spikekit
            from importlib.metadata import version

            __version__ = version("spikekit")
        try:
            import torch

            torch_version = torch.__version__
        except ImportError:  # pragma: no cover - torch is a dependency
            torch_version = "not installed"
        print(f"spikekit {__version__} (torch {torch_version})")
        parser.exit(0)


def _leaves(parser: argparse.ArgumentParser):
    """Every parser that runs a command (``plot model`` and ``plot events`` for ``plot``)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield parser
        return
    for sub in subs:
        for child in dict.fromkeys(sub.choices.values()):
            yield from _leaves(child)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="spikekit",
        description="Spiking neural networks on PyTorch.",
        epilog=examples(
            "spikekit demo                                   # SNN vs ANN on the embedded digits",
            "spikekit train --model spiking-mlp --dataset fashion-mnist --download --out runs/mlp",
            "spikekit report --checkpoint runs/mlp/checkpoint.pt --out report.html",
            "spikekit COMMAND --help                         # each command's options and examples",
        ),
    )
    parser.add_argument("--version", action=_Version)
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (also anywhere after COMMAND)"
    )
    add_global_args(parser, top=True)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    for leaf in _leaves(parser):
        if leaf is not parser:
            add_global_args(leaf)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``spikekit`` with ``argv`` (default: the process's arguments); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("SPIKEKIT_DEBUG", "") not in ("", "0")
    try:
        args = build_parser().parse_args([a for a in argv if a != "--debug"])
    except SystemExit as exc:  # a bad option: argparse printed one line "error: ..."
        if exc.code in (0, None):  # --help
            raise
        return int(exc.code) if isinstance(exc.code, int) else 2
    args.debug = debug
    return run_command(args.func, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
