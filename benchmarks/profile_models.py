"""Synaptic operations and energy of the README's reference models on Fashion-MNIST test images.

``sk.analysis.profile`` on the first ``--batch`` test images for SeedSNN (784-100-10, T = 128, flicker
input), SpikingMLP (784-100-10, T = 25, direct input) and SpikingCNN (conv32-conv64-fc128, T = 4, direct
input, as the README's trained row), each against its equivalent ANN (the same layers once per image on
dense activations). Weights are untrained (seed 0) unless ``--checkpoint NAME=PATH`` gives a checkpoint
from ``spikekit train`` (then both rows are reported). Energy: arithmetic only, 32-bit float at 45 nm
(Horowitz 2014): AC 0.9 pJ, MAC 4.6 pJ.

    SPIKEKIT_DATA=../shared/data python benchmarks/profile_models.py \\
        --checkpoint spiking-mlp=runs/mlp/checkpoint.pt --json benchmarks/results/profile_models.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import torch

import spikekit as sk
from spikekit.analysis import profile
from spikekit.models import model_from_checkpoint
from spikekit.train import load_checkpoint

MODELS = {
    "seed-snn": lambda: sk.models.SeedSNN(),
    "spiking-mlp": lambda: sk.models.SpikingMLP(),
    "spiking-cnn": lambda: sk.models.SpikingCNN(steps=4),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None, help="folder holding fashion-mnist/ (else $SPIKEKIT_DATA)")
    p.add_argument("--batch", type=int, default=256, help="test images profiled")
    p.add_argument("--checkpoint", action="append", default=[], metavar="NAME=PATH", help="trained weights")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", default=None, metavar="PATH")
    p.add_argument("--note", default=None, help="stored in the JSON: how the checkpoints were made")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data_dir = args.data_dir or os.environ.get("SPIKEKIT_DATA")
    if not data_dir:
        data_dir = str(Path(__file__).resolve().parents[2] / "shared" / "data")
    test = sk.data.load("fashion-mnist", data_dir, split="test")
    images = test.images[: args.batch]
    checkpoints = dict(c.split("=", 1) for c in args.checkpoint)
    unknown = set(checkpoints) - set(MODELS)
    if unknown:
        p.error(f"--checkpoint: unknown model {sorted(unknown)}; known: {sorted(MODELS)}")

    runs = []
    for name, make in MODELS.items():
        variants = [("untrained", None)] + ([("trained", checkpoints[name])] if name in checkpoints else [])
        for weights, path in variants:
            torch.manual_seed(args.seed)
            if path is None:
                model = make()
            else:
                ckpt = load_checkpoint(path)
                model = model_from_checkpoint(ckpt)
                acc = (ckpt.get("history") or [{}])[-1].get("test_acc")
                acc_text = f", test accuracy {100 * acc:.2f} %" if acc is not None else ""
                weights = f"trained ({ckpt['epoch']} epochs{acc_text})"
            torch.manual_seed(args.seed)
            prof = profile(model.eval(), images)
            run = {"model": name, "weights": weights, "checkpoint": path, "profile": prof.to_dict()}
            runs.append({**run, "_prof": prof})
            print(f"## {name}, {weights}\n{prof.table()}\n", flush=True)

    headers = ["model", "weights", "T", "spikes", "rate", "ACs", "MACs", "dense", "ANN MACs", "SNN nJ",
               "ANN nJ", "ANN/SNN"]  # fmt: skip
    rows = []
    for r in runs:
        prof = r.pop("_prof")
        ops, ann = prof.synaptic_operations, prof.ann_operations
        rows.append(
            [
                r["model"],
                r["weights"].split(" (")[0],
                prof.steps,
                f"{prof.spikes:,.0f}",
                f"{prof.firing_rate:.4f}",
                f"{ops['Effective_ACs']:,.0f}",
                f"{ops['Effective_MACs']:,.0f}",
                f"{ops['Dense']:,.0f}",
                f"{ann['MACs']:,.0f}",
                f"{prof.energy_pj / 1e3:,.1f}",
                f"{prof.ann_energy_pj / 1e3:,.1f}",
                f"{prof.ann_energy_pj / prof.energy_pj:.3g}",
            ]
        )
    from spikekit._io import format_table

    print(f"per test image, first {len(images)} Fashion-MNIST test images:")
    print(format_table(headers, rows))
    if args.json:
        payload = {
            "dataset": "fashion-mnist",
            "test_images": len(images),
            "seed": args.seed,
            "energy_per_op_pj": {
                "ac": 0.9,
                "mac": 4.6,
                "source": "Horowitz, ISSCC 2014, 45 nm, 32-bit float",
            },
            "torch": torch.__version__,
            "machine": platform.machine(),
            "runs": runs,
        }
        if args.note:
            payload["checkpoints_note"] = args.note
        Path(args.json).write_text(json.dumps(payload, indent=1) + "\n")
        print(f"written to {args.json}")


if __name__ == "__main__":
    main()
