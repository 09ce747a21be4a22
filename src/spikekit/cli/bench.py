"""``spikekit bench``: speed and memory of spikekit's backends against snnTorch, SpikingJelly and Norse.

The measurements are in :mod:`spikekit.cli._bench_measure` (``run_bench``, ``bench_layer``,
``bench_train``; see its docstring for the workloads); this module holds the command's arguments, runs it
and prints the results (:func:`format_results`). ``benchmarks/peers.py`` runs the same command.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import _common
from ._bench_spec import GRID, MAIN_WORKLOADS, PEERS, QUICK_WORKLOADS

__all__ = ["add_arguments", "add_parser", "bench_command", "format_results", "parse_shape", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = _common.add_command(
        subparsers,
        "bench",
        "speed and memory against snnTorch, SpikingJelly and Norse",
        "spikekit bench --quick                                # a minute: small shapes, no grid",
        "spikekit bench --shape 500x16x512 --peers snntorch --json bench.json",
        "spikekit bench --device cuda --threads 8",
    )
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def parse_shape(text: str) -> tuple[int, int, int]:
    """``"500x16x512"`` -> ``(500, 16, 512)``."""
    parts = text.lower().split("x")
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"shape must be TxBxF with positive ints, got {text!r}")
    return int(parts[0]), int(parts[1]), int(parts[2])


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The flags of ``spikekit bench`` and ``benchmarks/peers.py``."""
    c = _common
    ap.add_argument("--json", type=c.output_file, metavar="PATH", help="write all results as JSON")
    ap.add_argument(
        "--repeats",
        type=c.positive_int,
        default=7,
        help="timed runs per measurement (the median is reported)",
    )
    ap.add_argument("--warmup", type=c.nonnegative_int, default=1, help="untimed runs first")
    ap.add_argument("--shape", type=parse_shape, action="append", help="TxBxF workload (repeatable)")
    ap.add_argument("--no-grid", action="store_true", help="skip the T x B x F grid")
    ap.add_argument("--no-train", action="store_true", help="skip the original experiment's training step")
    ap.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated subset of {','.join(PEERS)}")
    ap.add_argument("--device", type=c.device, default="cpu", help="cpu or cuda[:N]")
    ap.add_argument("--threads", type=c.positive_int, help="torch.set_num_threads before measuring")
    ap.add_argument("--quick", action="store_true", help="small shapes, 3 repeats, no grid, no training step")


def run(args: argparse.Namespace) -> int:
    bench_command(args)
    return 0


def bench_command(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark ``args`` describe, print its table, write ``--json``; return the result."""
    import torch

    from ._bench_measure import run_bench

    if args.threads:
        torch.set_num_threads(args.threads)
    workloads = args.shape or MAIN_WORKLOADS
    grid = () if args.no_grid else GRID
    train, repeats = not args.no_train, args.repeats
    if args.quick:
        workloads, grid, train, repeats = list(QUICK_WORKLOADS), (), False, 3
    peers = [p for p in args.peers.split(",") if p]
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        raise ValueError(f"--peers: unknown {unknown}; choose from {list(PEERS)}")
    result = run_bench(
        workloads, grid, peers=peers, repeats=repeats, warmup=args.warmup, train=train,
        device=args.device, progress=lambda line: print(f"... {line}", file=sys.stderr, flush=True),
    )  # fmt: skip
    print(format_results(result))
    _common.write_json_output(args.json, result)
    return result


def _seconds(entry: dict[str, Any], name: str) -> float | None:
    row = entry["rows"].get(name)
    return None if row is None else row["seconds"]


def format_results(result: dict[str, Any]) -> str:
    """The results as text tables (seconds, ratio to ``spikekit[torch]``, MB saved for backward)."""
    env = result["environment"]
    lines = [
        f"torch {env['torch']} on {env['device']} ({env['threads']} threads); peers: "
        + ", ".join(f"{k} {v or 'absent'}" for k, v in env["peers"].items()),
        "forward + backward of Linear(F, F) + LIF, median seconds (ratio to spikekit[torch]); "
        "MB saved for backward: layer / neuron alone",
    ]
    for entry in result["layer"]:
        lines.append(f"\nT x B x F = {entry['T']} x {entry['B']} x {entry['F']}")
        base = _seconds(entry, "spikekit[torch]")
        for name, row in entry["rows"].items():
            ratio = f"({row['seconds'] / base:.2f}x)" if base else ""
            mem = ""
            if "saved_bytes" in row:
                mem = f"{row['saved_bytes'] / 1e6:8.1f} MB"
                if "neuron_saved_bytes" in row:
                    mem += f" / {row['neuron_saved_bytes'] / 1e6:.1f} MB"
            check = "" if row.get("spikes_equal_reference", True) else "  SPIKES DIFFER"
            lines.append(f"  {name:28s} {row['seconds']:8.4f} s {ratio:9s} {mem}{check}")
    if result.get("train"):
        tr = result["train"]
        head = f"training step of the original experiment (batch {tr['batch']}, T = {tr['T']}), median s"
        lines.append("\n" + head)
        base = tr["rows"]["original code"]["seconds"]
        for name, row in tr["rows"].items():
            lines.append(f"  {name:28s} {row['seconds']:8.4f} s  ({base / row['seconds']:.2f}x faster)")
        for name, diff in tr["same_mathematics"].items():
            lines.append(f"  {name}: loss and gradients within {diff:.1e} (relative) of the original's")
    if result.get("targets"):
        lines.append("\ntargets (issue 6)")
        for t in result["targets"]:
            verdict = "met" if t["met"] else "MISSED"
            lines.append(f"  {t['figure']}: {t['value']:.3g} (goal {t['goal']}) {verdict}")
    return "\n".join(lines)
