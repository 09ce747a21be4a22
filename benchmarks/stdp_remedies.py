"""What the original experiment's two STDP remedies cost in accuracy (issue 4).

Trains SpikingMLP 784-100-10 (its Fashion-MNIST recipe: LIF, atan, T = 25, membrane readout, Adam 1e-3
cosine) once per remedy, with the same seed and data order:

- ``none``: the recipe as is;
- ``l2=<lambda>``: L2 weight decay (Adam's coupled ``weight_decay``, i.e. ``lambda * w`` added to the
  gradient, the form the original proposed);
- ``after_potential``: every neuron's output spike followed by a negative tail of time constant 20 steps
  whose integral cancels the spike (:func:`spikekit.analysis.with_after_potential`).

For each trained model it reports test accuracy and the in-network STDP comparison
(:func:`spikekit.analysis.network_window` on 64 test images): cosine similarity and sign agreement of the
BPTT weight gradient with pair-based STDP per layer, and whether the window reconstructed from the
gradient has a depression lobe (A- > 0).

Usage:
    SPIKEKIT_DATA=../shared/data python benchmarks/stdp_remedies.py [--epochs 15] [--l2 1e-4,1e-3]
        [--json benchmarks/results/stdp_remedies.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch

import spikekit as sk
from spikekit.analysis import network_window, with_after_potential
from spikekit.cli.recipes import recipe
from spikekit.models import build_model
from spikekit.train import evaluate, fit


def run_one(remedy: str, train, test, args) -> dict:
    shape = tuple(train.images.shape[1:])
    kwargs, cfg = recipe("spiking-mlp", shape)
    l2 = float(remedy.split("=")[1]) if remedy.startswith("l2=") else 0.0
    cfg = replace(cfg, seed=args.seed, weight_decay=l2, device="cpu", epochs=args.epochs or cfg.epochs)
    torch.manual_seed(args.seed)
    model = build_model("spiking-mlp", shape, train.num_classes, **kwargs)
    if remedy == "after_potential":
        model = with_after_potential(model, tau=args.after_potential_tau, scale=1.0)
    t0 = time.perf_counter()
    result = fit(model, train, test, cfg, progress=not args.no_progress)
    seconds = time.perf_counter() - t0
    acc = evaluate(model, test, batch_size=1000)["acc"]
    g = torch.Generator().manual_seed(args.seed)
    idx = torch.randperm(len(test), generator=g)[: args.batch]
    torch.manual_seed(args.seed)
    win = network_window(model, test.images[idx], test.targets[idx], weight_decay=l2)
    layers = [
        {
            "layer": lw.label,
            "cosine": lw.cosine,
            "sign_agreement": lw.sign_agreement,
            "causal_fraction": lw.causal_fraction,
            "a_minus": lw.fit.a_minus,
            "depression": bool(lw.depression),
        }
        for lw in win.layers
    ]
    return {
        "remedy": remedy,
        "weight_decay": l2,
        "test_acc": acc,
        "epochs": cfg.epochs,
        "train_seconds": seconds,
        "history": result.history,
        "layers": layers,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=os.environ.get("SPIKEKIT_DATA"))
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--epochs", type=int, default=None, help="default: the recipe's (15)")
    ap.add_argument("--l2", default="1e-4,1e-3", help="comma-separated L2 coefficients")
    ap.add_argument("--after-potential-tau", type=float, default=20.0)
    ap.add_argument("--remedies", default=None, help="override: e.g. none,l2=1e-4,after_potential")
    ap.add_argument("--batch", type=int, default=64, help="test images for the STDP comparison")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-limit", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    if not args.data_dir and args.dataset != "digits":
        ap.error("set --data-dir or SPIKEKIT_DATA (e.g. ../shared/data)")
    train, test = sk.data.load(args.dataset, root=args.data_dir)
    if args.train_limit:
        train = train.subset(args.train_limit)
    remedies = (
        args.remedies.split(",")
        if args.remedies
        else [
            "none",
            *[f"l2={v}" for v in args.l2.split(",") if v],
            "after_potential",
        ]
    )
    rows = []
    for remedy in remedies:
        rows.append(run_one(remedy, train, test, args))
        r = rows[-1]
        print(f"{remedy}: {100 * r['test_acc']:.2f} % in {r['train_seconds']:.0f} s", flush=True)
        if args.json:
            doc = {
                "benchmark": "stdp_remedies",
                "command": "python benchmarks/stdp_remedies.py " + " ".join(argv or []),
                "dataset": args.dataset,
                "machine": {
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "torch": torch.__version__,
                },
                "results": rows,
            }
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(doc, indent=1))
    base = rows[0]["test_acc"] if rows[0]["remedy"] == "none" else None
    print("\n| remedy | test accuracy | accuracy lost vs none | layer: cosine, sign agreement, depression |")
    print("|---|---|---|---|")
    for r in rows:
        cost = "-" if base is None else f"{100 * (base - r['test_acc']):+.2f} points"
        cells = "; ".join(
            f"{lw['layer']}: {lw['cosine']:.2f}, {lw['sign_agreement']:.2f}, "
            + ("yes" if lw["depression"] else "no")
            for lw in r["layers"]
        )
        print(f"| {r['remedy']} | {100 * r['test_acc']:.2f} % | {cost} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
