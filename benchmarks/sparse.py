"""Sparse vs dense spike Linear (``sk.nn.SpikeLinear``): speed by firing rate, crossover, and accuracy.

    python benchmarks/sparse.py [--epochs 2] [--reps 9] [--out benchmarks/results/sparse.json]

1. Trains ``sk.models.SpikingMLP`` (784-100-10, T = 25, direct input) on Fashion-MNIST twice from the same
   seed: once with its output layer (fed by the hidden LIF's spikes) an ``nn.Linear`` (``sparse=False``),
   once a ``SpikeLinear(sparse=True)``. Reports both test accuracies, the largest parameter difference
   and the hidden layer's firing rate (``sk.record`` on the test set).
2. Times forward, backward (input and weight gradients) and backward without an input gradient (the
   layer's input is data, e.g. Poisson spikes) of ``nn.Linear`` and ``SpikeLinear(sparse=True)`` on the
   shapes T=25, B=128, 784->100 and 100->10, and T=100, B=16, 512->512, at firing rates 1 %, 5 %, 20 %,
   the trained hidden rate and a grid for the crossover. The 100->10 layer at the trained rate also runs
   on the trained network's own hidden spikes. One thread; the two paths interleaved, medians.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

import spikekit as sk
from spikekit._io import write_json
from spikekit.kernels import sparse as S

SHAPES = [(25, 128, 784, 100), (25, 128, 100, 10), (100, 16, 512, 512)]
RATES = [0.01, 0.05, 0.2]
GRID = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]


def train(epochs: int, sparse: bool, seed: int = 0):
    train_set, test_set = sk.data.load("fashion-mnist")
    torch.manual_seed(seed)
    model = sk.models.SpikingMLP(784, (100,), 10, steps=25)
    model.out = sk.nn.SpikeLinear.from_linear(model.out, sparse=sparse)
    config = sk.train.TrainConfig(epochs=epochs, batch_size=128, lr=1e-3, seed=seed, device="cpu")
    t0 = time.perf_counter()
    result = sk.train.fit(model, train_set, test_set, config, progress=False, log=False)
    seconds = time.perf_counter() - t0
    return model, result, seconds, test_set


def first_step_gradients(seed: int = 0) -> dict:
    """Loss and gradients of one batch, dense vs sparse output layer, same weights: relative differences."""
    train_set, _ = sk.data.load("fashion-mnist")
    x, y = train_set[:128]
    grads = {}
    for sparse in (False, True):
        torch.manual_seed(seed)
        model = sk.models.SpikingMLP(784, (100,), 10, steps=25)
        model.out = sk.nn.SpikeLinear.from_linear(model.out, sparse=sparse)
        loss = nn.functional.cross_entropy(model(x.float()), y)
        grads[sparse] = [loss.detach()] + list(torch.autograd.grad(loss, list(model.parameters())))
        used = model.out.last_sparse
    rel = [
        float((a - b).norm() / b.norm().clamp_min(1e-30))
        for a, b in zip(grads[True], grads[False], strict=True)
    ]
    return {"sparse_path_used": used, "max_relative_difference": max(rel), "loss_relative_difference": rel[0]}


def hidden_spikes(model, test_set, n: int = 1000) -> torch.Tensor:
    x, _ = test_set[:n]
    with torch.no_grad(), sk.nn.record(model) as rec:
        model(x.float())
    name = next(k for k in rec if "hidden" in k)
    return rec[name].spikes


def _median_times(fns, reps):
    times = {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            times[k].append(f())
    return {k: statistics.median(v) for k, v in times.items()}


def time_layer(shape, rate, reps, x=None):
    T, B, F, O = shape
    torch.manual_seed(0)
    dense = nn.Linear(F, O)
    sparse = sk.nn.SpikeLinear.from_linear(dense, sparse=True)
    auto = sk.nn.SpikeLinear.from_linear(dense, sparse="auto")
    if x is None:
        x = (torch.rand(T, B, F) < rate).float()
    rate = float(x.count_nonzero()) / x.numel()
    g = torch.randn(T, B, O)
    xg = x.clone().requires_grad_()

    def fwd(layer):
        def f():
            t = time.perf_counter()
            layer(xg)
            return time.perf_counter() - t

        return f

    def bwd(layer, with_input):
        inp = xg if with_input else x
        wrt = (inp, layer.weight, layer.bias) if with_input else (layer.weight, layer.bias)

        def f():
            out = layer(inp)
            t = time.perf_counter()
            torch.autograd.grad(out, wrt, g)
            return time.perf_counter() - t

        return f

    fns = {}
    for name, layer in (("dense", dense), ("sparse", sparse)):
        fns[f"fwd_{name}"] = fwd(layer)
        fns[f"bwd_{name}"] = bwd(layer, True)
        fns[f"bwdw_{name}"] = bwd(layer, False)
    for f in fns.values():
        f()  # warm up
    t = _median_times(fns, reps)
    with torch.no_grad():
        auto(x)
    row = {"T": T, "B": B, "in": F, "out": O, "rate": round(rate, 5), "auto_picks_sparse": auto.last_sparse}
    for k in ("fwd", "bwd", "bwdw"):
        row[f"{k}_dense_ms"] = round(1e3 * t[f"{k}_dense"], 4)
        row[f"{k}_sparse_ms"] = round(1e3 * t[f"{k}_sparse"], 4)
        row[f"{k}_speedup"] = round(t[f"{k}_dense"] / t[f"{k}_sparse"], 3)
    step_d = t["fwd_dense"] + t["bwd_dense"]
    step_s = t["fwd_sparse"] + t["bwd_sparse"]
    row["step_speedup"] = round(step_d / step_s, 3)
    row["step_w_speedup"] = round(
        (t["fwd_dense"] + t["bwdw_dense"]) / (t["fwd_sparse"] + t["bwdw_sparse"]), 3
    )
    return row


def crossing(rows, key):
    """The rate where ``key`` (a speedup) falls through 1, interpolated in log rate; None if it never does."""
    pts = sorted((r["rate"], r[key]) for r in rows)
    for (r0, s0), (r1, s1) in zip(pts, pts[1:], strict=False):
        if s0 >= 1 > s1:
            a = (math.log(s0)) / (math.log(s0) - math.log(s1))
            return round(math.exp(math.log(r0) + a * (math.log(r1) - math.log(r0))), 4)
    return None if pts and pts[0][1] < 1 else ">" + str(pts[-1][0])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--reps", type=int, default=9)
    p.add_argument("--skip-train", action="store_true")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "sparse.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    S.sparse_available()  # build before timing
    result: dict = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, 1 torch thread",
        "torch": torch.__version__,
        "kernel": "compiled" if S.sparse_available() else "pytorch fallback",
        "load_average_start": os.getloadavg()[0],
    }

    trained_rate, hidden = 0.1, None
    if not args.skip_train:
        result["first_step"] = first_step_gradients()
        print(result["first_step"], file=sys.stderr)
        runs = {}
        for sparse in (False, True):
            model, res, seconds, test_set = train(args.epochs, sparse)
            runs[sparse] = model
            result[f"train_{'sparse' if sparse else 'dense'}"] = {
                "history": res.history,
                "wall_s": round(seconds, 1),
            }
            print(f"sparse={sparse}: {res.final}  {seconds:.0f} s", file=sys.stderr)
        diff = max(
            float((a - b).detach().abs().max())
            for a, b in zip(runs[False].parameters(), runs[True].parameters(), strict=True)
        )
        result["max_param_diff_after_training"] = diff
        hidden = hidden_spikes(runs[False], test_set)
        trained_rate = float(hidden.count_nonzero()) / hidden.numel()
        per_step = hidden.float().mean(dim=(1, 2))
        result["trained_hidden_rate"] = round(trained_rate, 5)
        result["trained_hidden_rate_per_step_min_max"] = [
            round(float(per_step.min()), 5),
            round(float(per_step.max()), 5),
        ]
        print(f"hidden rate {trained_rate:.4f}", file=sys.stderr)

    rows = []
    for shape in SHAPES:
        for rate in sorted(set(GRID + RATES + [round(trained_rate, 4)])):
            row = time_layer(shape, rate, args.reps)
            row["set"] = "trained-rate" if rate == round(trained_rate, 4) else "grid"
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    if hidden is not None:
        x = hidden[:, :128].contiguous().float()
        row = time_layer((25, 128, 100, 10), None, args.reps, x=x)
        row["set"] = "trained-spikes"
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    result["rows"] = rows
    result["crossover"] = []
    for T, B, F, O in SHAPES:
        mine = [
            r
            for r in rows
            if (r["T"], r["B"], r["in"], r["out"]) == (T, B, F, O) and r["set"] != "trained-spikes"
        ]
        result["crossover"].append(
            {
                "shape": f"T={T} B={B} {F}->{O}",
                "model_rate": round(S.crossover(F, O), 4),
                "measured_fwd": crossing(mine, "fwd_speedup"),
                "measured_bwd_weight_only": crossing(mine, "bwdw_speedup"),
                "measured_step": crossing(mine, "step_speedup"),
            }
        )
    result["load_average_end"] = os.getloadavg()[0]
    write_json(args.out, result)
    print(json.dumps(result["crossover"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
