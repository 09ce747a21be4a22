"""Peer benchmark: spikekit's backends against snnTorch, SpikingJelly and Norse, in one process.

The same as ``spikekit bench``. Prints the tables and the issue-6 targets; ``--json PATH`` also writes
every measurement. See :mod:`spikekit.cli._bench_measure` for what is measured and how.

    python benchmarks/peers.py --threads 1 --json peers.json     # the full run (10-20 min, 2 cores)
    python benchmarks/peers.py --quick                           # a smoke run
"""

from __future__ import annotations

import argparse

from spikekit.cli.bench import add_arguments, bench_command


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    bench_command(ap.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
