"""Learnable delays: recovering known delays, and what delays add on a timing task.

1. Recovery. ``x`` is smooth noise ``[T, B, 9]`` (white noise low-pass filtered, correlation ~4 steps); the
   target is ``x`` with channel ``i`` delayed by ``i`` steps (0..8) plus 0.5 on odd channels (fractional
   targets). A ``Delay(9, max_delay=12)`` learns them with Adam (MSE) from 0 and from uniform random delays;
   the error of the recovered delays is reported.
2. Coincidence detection. Four input channels spike once each; each of 6 classes is a pattern of relative
   spike times (offsets from {0, 3, ..., 15}, no two channels alike) shifted by a random onset, with +-1
   step jitter per channel. So every class has the same spikes per channel and differs only in timing. Two
   spiking networks, ``[DelayedLinear | Linear](4, 16) -> LIF(beta 0.3) -> Linear(16, 6) -> LIF readout``
   (membrane mean), trained the same way; test accuracy with and without learnable delays, several seeds.

    python benchmarks/delays.py --json benchmarks/results/delays.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as tf

import spikekit as sk


def smooth_noise(t: int, b: int, n: int, gen: torch.Generator, width: float = 4.0) -> torch.Tensor:
    k = torch.arange(-12, 13, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (k / width) ** 2)
    kernel /= kernel.norm()
    white = torch.randn(b * n, 1, t + 24, generator=gen, dtype=torch.float64)
    x = tf.conv1d(white, kernel.view(1, 1, -1)).view(b, n, t)
    return x.permute(2, 0, 1).contiguous()  # [T, B, N]


def recover(true: torch.Tensor, init: str, seed: int, steps: int = 300, t_len: int = 96) -> dict:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    n = true.numel()
    teacher = sk.nn.Delay(n, max_delay=12, init=true, learnable=False).double()
    student = sk.nn.Delay(n, max_delay=12, init=0.0 if init == "zero" else "random").double()
    start = student.delays().clone()
    opt = torch.optim.Adam(student.parameters(), lr=0.1)
    for _ in range(steps):
        x = smooth_noise(t_len, 16, n, gen)
        loss = tf.mse_loss(student(x), teacher(x))
        opt.zero_grad()
        loss.backward()
        opt.step()
    got = student.delays()
    err = (got - true.double()).abs()
    return {
        "init": init,
        "seed": seed,
        "start": start.tolist(),
        "recovered": [round(v, 3) for v in got.tolist()],
        "max_abs_error": float(err.max()),
        "mean_abs_error": float(err.mean()),
        "final_mse": float(loss.detach()),
    }


def coincidence_data(n: int, patterns: torch.Tensor, t_len: int, gen: torch.Generator):
    classes, channels = patterns.shape
    y = torch.randint(0, classes, (n,), generator=gen)
    onset = torch.randint(0, t_len - int(patterns.max()) - 2, (n, 1), generator=gen)
    jitter = torch.randint(-1, 2, (n, channels), generator=gen)
    times = (onset + 1 + patterns[y] + jitter).clamp(0, t_len - 1)
    x = torch.zeros(t_len, n, channels)
    x[times, torch.arange(n)[:, None], torch.arange(channels)[None, :]] = 1.0
    return x, y


class Net(nn.Module):
    def __init__(self, delays: bool, n_in: int, hidden: int, classes: int, max_delay: int) -> None:
        super().__init__()
        if delays:
            self.inp = sk.nn.DelayedLinear(n_in, hidden, max_delay, init="random")
        else:
            self.inp = nn.Linear(n_in, hidden)
        self.lif = sk.nn.LIF(beta=0.3, threshold=1.0, reset="subtract")
        self.out = nn.Linear(hidden, classes)
        self.readout = sk.nn.LIF(beta=0.9, reset="none")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout.trace(self.out(self.lif(self.inp(x))))[1].mean(0)


CLASSES = 6


def coincidence(delays: bool, seed: int, epochs: int) -> dict:
    gen = torch.Generator().manual_seed(1234)  # the task (patterns) is the same for every seed
    grid = torch.arange(0, 16, 3)  # offsets 0, 3, ..., 15: no two channels within 3 steps (before jitter)
    patterns = torch.stack([grid[torch.randperm(len(grid), generator=gen)[:4]] for _ in range(CLASSES)])
    t_len = 40
    xtr, ytr = coincidence_data(2000, patterns, t_len, torch.Generator().manual_seed(seed))
    xte, yte = coincidence_data(1000, patterns, t_len, torch.Generator().manual_seed(10_000 + seed))
    torch.manual_seed(seed)
    net = Net(delays, 4, 16, CLASSES, max_delay=16)
    groups = [{"params": [p for n, p in net.named_parameters() if not n.endswith("delay")], "lr": 1e-2}]
    if delays:
        groups.append({"params": [net.inp.delay.delay], "lr": 0.1})
    opt = torch.optim.Adam(groups)
    for e in range(epochs):
        order = torch.randperm(len(ytr), generator=torch.Generator().manual_seed(seed * 100 + e))
        for i in range(0, len(ytr), 64):
            idx = order[i : i + 64]
            loss = tf.cross_entropy(net(xtr[:, idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        acc = float((net(xte).argmax(1) == yte).float().mean())
    return {"delays": delays, "seed": seed, "test_acc": acc, "patterns": patterns.tolist()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    true = torch.arange(9, dtype=torch.float64) + 0.5 * (torch.arange(9) % 2)
    recovery = [recover(true, init, seed) for init in ("zero", "random") for seed in range(args.seeds)]
    for r in recovery:
        print(
            f"recovery init={r['init']} seed={r['seed']}: max |error| {r['max_abs_error']:.4f} steps",
            flush=True,
        )
    runs = []
    for seed in range(args.seeds):
        for delays in (False, True):
            r = coincidence(delays, seed, args.epochs)
            runs.append(r)
            print(f"coincidence seed={seed} delays={delays}: {r['test_acc']:.3f}", flush=True)
    summary = {}
    for delays in (False, True):
        accs = [r["test_acc"] for r in runs if r["delays"] == delays]
        summary["with delays" if delays else "without delays"] = {
            "mean": sum(accs) / len(accs),
            "runs": accs,
        }
    result = {
        "benchmark": "delays",
        "recovery": {
            "true_delays": true.tolist(),
            "max_abs_error_over_runs": max(r["max_abs_error"] for r in recovery),
            "runs": recovery,
        },
        "coincidence": {
            "task": "4 channels, one spike each; 6 classes = 6 patterns of relative timing (offsets from "
            "{0, 3, ..., 15}, jitter +-1, random onset), T = 40; 2000 train / 1000 test; chance 1/6",
            "network": "[DelayedLinear(max_delay=16) | Linear](4, 16) -> LIF(0.3) -> Linear(16, 6) -> LIF "
            "membrane readout; Adam 1e-2 (delays 0.1), batch 64",
            "epochs": args.epochs,
            "summary": summary,
            "runs": runs,
        },
        "seconds": time.perf_counter() - t0,
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
