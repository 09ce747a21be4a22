"""Should the reset carry gradient? Test accuracy with ``detach_reset`` False vs True, 3 seeds (issue 15).

(a) ``tutorial5``: snnTorch's tutorial 5 ported to spikekit (784-1000-10, beta 0.95, T = 25, image as a
    constant current, per-step cross-entropy on the output membrane summed over time, Adam 5e-4, batch 128,
    1 epoch; accuracy by spike count), with ``sk.nn.LIF(beta=0.95, detach_reset=...)`` in both layers
    (spikekit's reset timing), and for reference snnTorch's own neuron as ``sk.compat.snntorch.Leaky``
    (delayed, detached reset).
(b) ``mlp``: spikekit's SpikingMLP recipe (784-100-10, LIF beta 0.9, atan, T = 25, direct input, membrane
    readout; Adam 1e-3 cosine, batch 128) on Fashion-MNIST, the hidden LIF's ``detach_reset`` set after
    construction (the membrane readout's output layer has no reset); ``--mlp-epochs`` epochs (recipe: 15).
(c) ``mlp-rate``: the same with ``readout="rate"`` (output LIF with reset by subtraction, spike count as
    logits), where the reset sits on the path from the loss as in tutorial 5; ``--mlp-rate-epochs`` epochs.

``--keep`` keeps the rows of studies not run this time from the existing ``--json`` file (to add a study
to earlier results).

Usage:
    SPIKEKIT_DATA=../shared/data nice python benchmarks/reset_gradient.py [--seeds 0,1,2]
        [--studies tutorial5,mlp,mlp-rate] [--tutorial-dataset mnist] [--mlp-epochs 15] [--keep]
        [--json benchmarks/results/reset_gradient.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

import spikekit as sk
from spikekit._io import format_table, write_json
from spikekit.cli.recipes import recipe
from spikekit.models import build_model
from spikekit.train import evaluate, fit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ported_tutorials import T5, Tutorial5, train_tutorial5  # noqa: E402

NEURONS = {
    "LIF detach_reset=False (spikekit default)": lambda: sk.nn.LIF(beta=T5["beta"], detach_reset=False),
    "LIF detach_reset=True": lambda: sk.nn.LIF(beta=T5["beta"], detach_reset=True),
    "compat.snntorch.Leaky (snnTorch default)": lambda: sk.compat.snntorch.Leaky(beta=T5["beta"]),
}


def run_tutorial5(args, rows: list[dict], save) -> None:
    train, test = sk.data.load(args.tutorial_dataset, root=args.data_dir)
    for name, neuron in NEURONS.items():
        for seed in args.seeds:
            torch.manual_seed(seed)
            net = Tutorial5(neuron=neuron)
            r = train_tutorial5(
                net, sk.decode.ce_membrane_per_step_loss, train, test, seed=seed, epochs=args.tutorial_epochs
            )
            rows.append(
                {
                    "study": "tutorial5",
                    "dataset": args.tutorial_dataset,
                    "neuron": name,
                    "seed": seed,
                    "epochs": args.tutorial_epochs,
                    **r,
                }
            )
            print(f"tutorial5 {name} seed {seed}: {100 * r['test_acc']:.2f} %", flush=True)
            save()


def run_mlp(args, rows: list[dict], save, readout: str = "membrane") -> None:
    train, test = sk.data.load(args.mlp_dataset, root=args.data_dir)
    shape = tuple(train.images.shape[1:])
    kwargs, cfg = recipe("spiking-mlp", shape)
    kwargs = {**kwargs, "readout": readout}
    study = "mlp" if readout == "membrane" else f"mlp-{readout}"
    epochs = args.mlp_epochs if readout == "membrane" else args.mlp_rate_epochs
    for detach in (False, True):
        for seed in args.seeds:
            c = replace(cfg, seed=seed, device="cpu", epochs=epochs)
            torch.manual_seed(seed)
            model = build_model("spiking-mlp", shape, train.num_classes, **kwargs)
            for m in model.modules():
                if isinstance(m, sk.nn.LIF) and m.reset != "none":
                    m.detach_reset = detach
            t0 = time.perf_counter()
            fit(model, train, test, c, progress=False)
            seconds = time.perf_counter() - t0
            acc = evaluate(model, test, batch_size=1000, firing_rates=False)["acc"]
            rows.append(
                {
                    "study": study,
                    "dataset": args.mlp_dataset,
                    "neuron": f"LIF detach_reset={detach}",
                    "seed": seed,
                    "test_acc": acc,
                    "epochs": c.epochs,
                    "train_seconds": seconds,
                }
            )
            print(f"{study} detach_reset={detach} seed {seed}: {100 * acc:.2f} %", flush=True)
            save()


def summary(rows: list[dict]) -> list[list[str]]:
    out = []
    keys = dict.fromkeys((r["study"], r["dataset"], r["neuron"]) for r in rows)
    for study, dataset, neuron in keys:
        accs = [
            100 * r["test_acc"]
            for r in rows
            if (r["study"], r["dataset"], r["neuron"]) == (study, dataset, neuron)
        ]
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        out.append(
            [
                study,
                dataset,
                neuron,
                f"{statistics.mean(accs):.2f} ± {sd:.2f}",
                ", ".join(f"{a:.2f}" for a in accs),
            ]
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=os.environ.get("SPIKEKIT_DATA"))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--studies", default="tutorial5,mlp,mlp-rate")
    ap.add_argument("--tutorial-dataset", default="mnist")
    ap.add_argument("--tutorial-epochs", type=int, default=1)
    ap.add_argument("--mlp-dataset", default="fashion-mnist")
    ap.add_argument("--mlp-epochs", type=int, default=15)
    ap.add_argument("--mlp-rate-epochs", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep other studies' rows from the existing --json")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    torch.set_num_threads(args.threads)
    studies = args.studies.split(",")
    rows: list[dict] = []
    this = "python benchmarks/reset_gradient.py " + " ".join(sys.argv[1:] if argv is None else argv)
    commands = [this]
    if args.keep and args.json and args.json.exists():
        previous = json.loads(args.json.read_text())
        rows = [r for r in previous["results"] if r["study"] not in studies]
        commands = [c for c in previous.get("commands", [previous.get("command")]) if c] + commands
    t0 = time.perf_counter()

    def save() -> None:
        if args.json:
            write_json(
                args.json,
                {
                    "benchmark": "reset_gradient",
                    "commands": commands,
                    "config": {
                        "tutorial5": {**T5, "epochs": args.tutorial_epochs, "dataset": args.tutorial_dataset},
                        "mlp": {
                            "recipe": "spiking-mlp images",
                            "epochs": args.mlp_epochs,
                            "dataset": args.mlp_dataset,
                        },
                        "mlp-rate": {"readout": "rate", "epochs": args.mlp_rate_epochs},
                        "note": "each result row names its study, dataset, seed and epochs",
                        "threads": args.threads,
                    },
                    "machine": {
                        "cpus": os.cpu_count(),
                        "platform": platform.platform(),
                        "torch": torch.__version__,
                        "load_average": os.getloadavg(),
                    },
                    "seconds": time.perf_counter() - t0,
                    "summary": [
                        dict(zip(["study", "dataset", "neuron", "mean ± sd", "seeds"], s, strict=True))
                        for s in summary(rows)
                    ],
                    "results": rows,
                },
            )

    if "tutorial5" in studies:
        run_tutorial5(args, rows, save)
    if "mlp" in studies:
        run_mlp(args, rows, save)
    if "mlp-rate" in studies:
        run_mlp(args, rows, save, readout="rate")
    print(
        format_table(["study", "dataset", "neuron", "test accuracy % (mean ± sd)", "per seed"], summary(rows))
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
