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
from ._common import ArgumentParser, run_command

__all__ = ["COMMANDS", "build_parser", "main"]

# In the order ``spikekit --help`` lists them.
COMMANDS = (demo, train, compare, stdp, convert, export_nir, bench, stdp_window, plot, report)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="spikekit", description="Spiking neural networks on PyTorch.")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (also anywhere after COMMAND)"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
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
