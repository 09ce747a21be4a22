"""Does backpropagation engender STDP? The controlled-mode table (issue 4's README figures).

For RefractoryLIF (the original experiment's neuron) and LIF with each surrogate, and each loss (the post
spike alone, all spikes, a target rate): the window -dL/dw against dt = t_post - t_pre, its fitted tau+
beside the -1/ln(decay) the membrane predicts, A-, the causal fraction; then the two remedies the original
proposed (L2 weight decay, a negative after-potential). LIF rows also show the tau+ predicted when the
gradient flows through the subtractive reset: at rest (v = 0) each step multiplies the carried gradient by
beta * (1 - threshold * P'(-threshold)), P' the surrogate's derivative.

Usage:
    python benchmarks/stdp_window.py [--neurons RefractoryLIF,LIF,LIF-detach] [--json out.json]
                                     [--figure out.png]

Prints a markdown table; ``--json`` writes every window (dt, dw, fit) and the settings.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

import torch

import spikekit as sk
from spikekit.analysis import LOSSES, REMEDIES, SURROGATES, run_stdp_window


def reset_path_tau(row, decay: float, threshold: float) -> float | None:
    """tau+ predicted with the reset's gradient, for LIF with a non-detached subtractive reset."""
    if row.neuron != "LIF" or row.remedy != "none" or row.loss != "post":
        return None
    s = getattr(sk.surrogate, row.surrogate)()
    x = torch.tensor(-threshold, dtype=torch.float64, requires_grad=True)
    (dp,) = torch.autograd.grad(s.primitive(x), x)
    eff = decay * (1 - threshold * float(dp))
    return 0.0 if eff <= 0 else -1 / math.log(eff)


def fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return f"{v:.3g}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--neurons", default="RefractoryLIF,LIF,LIF-detach")
    p.add_argument("--surrogates", default=",".join(SURROGATES))
    p.add_argument("--losses", default=",".join(LOSSES))
    p.add_argument("--remedies", default=",".join(REMEDIES))
    p.add_argument("--decay", type=float, default=0.9)
    p.add_argument("--threshold", type=float, default=1.0)
    p.add_argument("--max-dt", type=int, default=30)
    p.add_argument("--steps-after", type=int, default=50)
    p.add_argument("--weight", type=float, default=0.05)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--after-potential-tau", type=float, default=20.0)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--figure", type=Path, default=None)
    a = p.parse_args()

    start = time.perf_counter()
    table = run_stdp_window(
        a.neurons,
        a.surrogates,
        a.losses,
        decay=a.decay,
        threshold=a.threshold,
        max_dt=a.max_dt,
        steps_after=a.steps_after,
        remedies=a.remedies,
        weight=a.weight,
        weight_decay=a.weight_decay,
        after_potential_tau=a.after_potential_tau,
    )
    seconds = time.perf_counter() - start

    print(
        "| neuron | surrogate | loss | remedy | tau+ predicted | tau+ (reset path) | tau+ fitted | A+ | A- | "
        "tau- | causal fraction | depression (A- > 0) |"
    )
    print("|" + "---|" * 12)
    extra = []
    for r in table.rows:
        rp = reset_path_tau(r, a.decay, a.threshold)
        extra.append(rp)
        print(
            f"| {r.neuron} | {r.surrogate} | {r.loss} | {r.remedy} | {fmt(r.predicted_tau)} | {fmt(rp)} | "
            f"{fmt(r.tau_plus)} | {fmt(r.a_plus)} | {fmt(r.a_minus)} | {fmt(r.tau_minus)} | "
            f"{fmt(r.causal_fraction)} | {'yes' if r.depression else 'no'} |"
        )
    print(f"\n{len(table.rows)} windows in {seconds:.1f} s (torch {torch.__version__}, {platform.machine()})")
    if a.json:
        data = table.to_dict()
        for row, rp in zip(data["rows"], extra, strict=True):
            row["tau_plus_reset_path"] = rp
        data["seconds"] = seconds
        data["command"] = "python benchmarks/stdp_window.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(a).items() if v is not None
        )
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(data, indent=1, allow_nan=False))
        print(f"wrote {a.json}")
    if a.figure:
        sk.plot.stdp_window_grid(table, path=a.figure)
        print(f"wrote {a.figure}")


if __name__ == "__main__":
    main()
