"""The sparse path where it pays: a Fashion-MNIST SNN whose first layer reads low-rate spikes (issue 16).

``benchmarks/sparse.py`` shows that the trained ``SpikingMLP`` fires at 35 %, above every crossover. This
script trains a network whose spike-fed layer is wide and runs at 1-5 %: Poisson spikes from the image
(``sk.encode.poisson(images, T, gain=g)``, ``g`` chosen from the training set's mean pixel for the target
rate) -> ``SpikeLinear(784, 256)`` -> LIF -> ``Linear(256, 10)`` -> LIF membrane readout, T = 25, batch 128,
Adam 1e-3, ``sk.train.fit`` (seeded), one thread. For each rate it trains twice from the same seed, the
first layer dense (``sparse=False``: ``torch.nn.functional.linear``) and sparse (``sparse=True``), and
reports both test accuracies, the seconds per epoch of each, and the first layer alone (forward; backward
without an input gradient, its input being data) timed on a real batch of the encoded spikes (medians of
``--reps`` interleaved runs).

    python benchmarks/sparse_lowrate.py --json benchmarks/results/sparse_lowrate.json   # $SPIKEKIT_DATA set
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from sparse import time_layer  # benchmarks/ is on sys.path: this script's folder
from torch import nn

import spikekit as sk
from spikekit._io import format_table, write_json

T, BATCH, HIDDEN = 25, 128, 256


class PoissonNet(nn.Module):
    """Poisson(images x gain) -> SpikeLinear -> LIF -> Linear -> LIF, mean output membrane as logits."""

    def __init__(self, gain: float, sparse: bool) -> None:
        super().__init__()
        self.gain = gain
        self.fc1 = sk.nn.SpikeLinear(784, HIDDEN, sparse=sparse)
        self.lif1 = sk.nn.LIF(0.9)
        self.fc2 = nn.Linear(HIDDEN, 10)
        self.out_lif = sk.nn.LIF(0.9, reset="none")

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return sk.encode.poisson(images.flatten(1), T, gain=self.gain)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = self.lif1(self.fc1(self.encode(images)))
        return self.out_lif.trace(self.fc2(h))[1].mean(0)


def run(rate: float, epochs: int, reps: int, train_set, test_set) -> dict:
    images, _ = train_set.tensors
    gain = rate / float(images.float().mean())
    row: dict = {"target_rate": rate, "gain": round(gain, 4)}
    for sparse in (False, True):
        torch.manual_seed(0)
        model = PoissonNet(gain, sparse)
        cfg = sk.train.TrainConfig(epochs=epochs, batch_size=BATCH, lr=1e-3, seed=0, device="cpu")
        t0 = time.perf_counter()
        res = sk.train.fit(model, train_set, test_set, cfg, progress=False, log=False)
        key = "sparse" if sparse else "dense"
        row[f"{key}_test_acc"] = res.final["test_acc"]
        row[f"{key}_s_per_epoch"] = round((time.perf_counter() - t0) / epochs, 1)
        row[f"{key}_history"] = res.history
    torch.manual_seed(1)
    x = PoissonNet(gain, False).encode(images[:BATCH].float()).contiguous()
    layer = time_layer((T, BATCH, 784, HIDDEN), None, reps, x=x)
    row["input_rate"] = layer["rate"]
    row["first_layer"] = layer
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="0.01,0.05", help="input firing rates, comma-separated")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    train_set, test_set = sk.data.load("fashion-mnist", progress=False)
    load = [os.getloadavg()[0]]
    rows = [run(float(r), args.epochs, args.reps, train_set, test_set) for r in args.rates.split(",")]
    load.append(os.getloadavg()[0])
    table = [
        [
            f"{100 * r['input_rate']:.2f} %",
            f"{100 * r['dense_test_acc']:.2f} / {100 * r['sparse_test_acc']:.2f}",
            f"{r['dense_s_per_epoch']} / {r['sparse_s_per_epoch']}",
            f"{r['first_layer']['fwd_speedup']:.1f}x",
            f"{r['first_layer']['bwdw_speedup']:.1f}x",
            f"{r['first_layer']['step_w_speedup']:.1f}x",
        ]
        for r in rows
    ]
    heads = ["input rate", "test acc % dense / sparse", "s/epoch dense / sparse", "layer fwd", "bwd"]
    heads.append("fwd+bwd")
    print(f"Poisson 784 -> SpikeLinear(784, {HIDDEN}) -> LIF -> 10, T = {T}, batch {BATCH}, ", end="")
    print(f"{args.epochs} epochs")
    print(format_table(heads, table))
    if args.json:
        write_json(args.json, {"load_average": load, "epochs": args.epochs, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
