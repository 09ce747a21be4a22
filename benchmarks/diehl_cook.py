"""Diehl & Cook (2015) with spikekit: accuracy on MNIST subsets and datasets, speed, and what batching costs.

Runs (pick with ``--runs``, comma-separated):

- ``mnist10k-100``, ``mnist10k-400``: 100 / 400 excitatory neurons, trained on the 8,000-digit MNIST
  subset (``mnist-10k``), tested on its 2,000 test digits (targets: >= 80 % and >= 85 %).
- ``mnist-100``: full MNIST, 100 neurons, one pass over the 60,000 training digits (the paper: 82.9 %).
  Its training time is the wall time of one pass over 60,000 images (target: < 20 minutes on 2 cores).
- ``fashion-100``: full Fashion-MNIST, 100 neurons, one pass.
- ``batching``: ``mnist-10k``, 100 neurons, one epoch, presented in batches of 1 (online: strictly
  sequential, the paper's algorithm), 10, 32 and 100: the accuracy that batching costs.

Each run trains with :func:`spikekit.cli.stdp.run_stdp`, labels the neurons on (up to 10,000)
training images, and tests on the whole test set. Prints a table; ``--json PATH`` writes every result.

    python benchmarks/diehl_cook.py --runs mnist10k-100 --json /tmp/dc.json
    python benchmarks/diehl_cook.py --runs mnist10k-100 --quick          # a smoke run (minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from spikekit.cli.stdp import run_stdp

EPOCHS_400 = 3  # 400 neurons need more than 8,000 presentations (the paper: 3 x 60,000)
RUNS = {
    "mnist10k-100": dict(neurons=100, dataset="mnist-10k", epochs=1, target=0.80),
    "mnist10k-400": dict(neurons=400, dataset="mnist-10k", epochs=EPOCHS_400, target=0.85),
    "mnist-100": dict(neurons=100, dataset="mnist", epochs=1, paper=0.829),
    "mnist-400": dict(neurons=400, dataset="mnist", epochs=1, paper=0.870),
    "fashion-100": dict(neurons=100, dataset="fashion-mnist", epochs=1),
}
BATCHING = (("online", 1), ("batch", 10), ("batch", 32), ("batch", 100))
BATCHING_SPEC = dict(neurons=100, dataset="mnist-10k", epochs=1)


def _data_dir(arg: str | None) -> str:
    if arg:
        return arg
    return os.environ.get("SPIKEKIT_DATA") or str(Path(__file__).resolve().parents[2] / "shared" / "data")


def _one(name: str, spec: dict, args: argparse.Namespace, *, mode: str, batch: int) -> dict:
    out = None if args.out is None else Path(args.out) / f"{name}-{mode}-b{batch}"
    load0 = os.getloadavg()[0]
    cpu0 = time.process_time()
    r = run_stdp(
        spec["neurons"],
        spec["dataset"],
        args.data_dir,
        epochs=args.epochs or spec["epochs"],
        batch=batch,
        mode=mode,
        seed=args.seed,
        out_dir=out,
        plots=out is not None,
        progress=not args.no_progress,
        limit_train=args.limit_train,
        limit_test=args.limit_test,
    )
    r.update(
        command="python benchmarks/diehl_cook.py " + " ".join(sys.argv[1:]),
        run=name,
        target=spec.get("target"),
        paper=spec.get("paper"),
        process_cpu_seconds=time.process_time() - cpu0,
        load_average_start=load0,
        load_average_end=os.getloadavg()[0],
    )
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="mnist10k-100,mnist10k-400", help="comma-separated: %(default)s")
    ap.add_argument("--data-dir", default=None, help="folder holding mnist/, mnist-10k/, fashion-mnist/")
    ap.add_argument("--epochs", type=int, default=None, help="override every run's epochs")
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy machine)")
    ap.add_argument("--out", default=None, help="write checkpoints and figures under this folder")
    ap.add_argument("--json", default=None, help="write all results to this file")
    ap.add_argument("--append", action="store_true", help="add to the results already in --json")
    ap.add_argument("--quick", action="store_true", help="1,000 training and 500 test images")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    args.data_dir = _data_dir(args.data_dir)
    args.limit_train, args.limit_test = (1000, 500) if args.quick else (None, None)
    torch.set_num_threads(args.threads)
    previous = []
    if args.append and args.json and Path(args.json).exists():
        previous = json.loads(Path(args.json).read_text())["results"]
    results = []
    for name in args.runs.split(","):
        if name == "batching":
            for mode, batch in BATCHING:
                results.append(_one("batching", BATCHING_SPEC, args, mode=mode, batch=batch))
        elif name in RUNS:
            results.append(_one(name, RUNS[name], args, mode="batch", batch=args.batch))
        else:
            ap.error(f"unknown run {name!r}; choose from {', '.join([*RUNS, 'batching'])}")
        if args.json:  # after every run, so a long session keeps what it has measured
            _write(args, previous + results)
    head = (
        f"{'run':<14} {'dataset':<14} {'N':>4} {'mode':>6} {'B':>4} {'ep':>3} {'vote':>7} {'logreg':>7} "
        f"{'target':>7} {'train s':>8} {'img/s':>7} {'load':>5}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        target = r["target"] or r["paper"]
        print(
            f"{r['run']:<14} {r['dataset']:<14} {r['neurons']:>4} {r['mode']:>6} {r['batch']:>4} "
            f"{r['epochs']:>3} {100 * r['accuracy_vote']:>6.2f}% "
            f"{100 * (r['accuracy_logistic'] or 0):>6.2f}% "
            f"{'' if target is None else f'{100 * target:.1f}%':>7} {r['train_seconds']:>8.0f} "
            f"{r['train_images_per_second']:>7.1f} {r['load_average_start']:>5.1f}"
        )
    return 0


def _write(args: argparse.Namespace, results: list[dict]) -> None:
    doc = {
        "benchmark": "diehl_cook",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__},
        "results": results,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
