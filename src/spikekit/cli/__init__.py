"""The ``spikekit`` command: one module per subcommand, each with ``add_parser(subparsers)`` (argparse only,
so every ``--help`` is instant and needs neither matplotlib nor tqdm) and ``run(args) -> int`` (which does
the work and imports what it needs).

This package is spikekit's application layer: the only place that parses arguments, prints tables and
turns exceptions into exit codes (``ValueError``/``TypeError``/``FileNotFoundError`` -> ``error: ...`` on
stderr and 2, Ctrl-C -> 130). Every command prints a human table and, with ``--json PATH``, writes the
same facts as JSON.

Example:
    >>> from spikekit.cli import main
    >>> main(["demo", "--epochs", "1"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import bench, compare, convert, demo, export_nir, plot, report, stdp, stdp_window, train
from ._common import run_command

__all__ = ["COMMANDS", "build_parser", "main"]

# In the order ``spikekit --help`` lists them.
COMMANDS = (demo, train, compare, stdp, convert, export_nir, bench, stdp_window, plot, report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spikekit", description="Spiking neural networks on PyTorch.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``spikekit`` with ``argv`` (default: the process's arguments); return the exit code."""
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
