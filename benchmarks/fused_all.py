"""Fused engines against the reference loop, for every neuron: ``Linear(N, N)`` + neuron, forward + backward.

For each neuron of ``sk.nn.NEURONS`` (RLIF twice: one-to-one and dense), one training step's forward and
backward of ``Linear(N, N)`` followed by the neuron, at ``T x B x N`` (default 100 x 16 x 512), with
``backend="torch"`` (the reference loop) and ``backend="fused"``. Both backends are timed in the same
process, interleaved, ``--reps`` times; the table gives medians and the ratio reference / fused (above 1:
fused is faster). The neuron alone (its input precomputed) is timed the same way. Every neuron whose spec
names a fused family gets a row with the engine that ran it (``cpp``, or ``reference`` where the C++
engine does not apply): since issue 16 that is every neuron, Izhikevich, AdEx, Alpha and the dense RLIF
included; a neuron without one gets its reference time only. Also checks, once per neuron, that both give
the same spikes.

On a loaded machine, more threads than free cores hurt the fused engines most: each call is one parallel
region, and its end waits for a thread the scheduler may have parked (tens of ms), while the reference
loop's per-step ops are too small to use threads at all. ``--threads 2 1`` measures both; the JSON records
the load average of each run.

    python benchmarks/fused_all.py --threads 2 1 --json benchmarks/results/fused_all.json
    python benchmarks/fused_all.py --threads 1 --only RLIF --features 256 --batch 32   # issue 16's dense case
    python benchmarks/fused_all.py --quick        # a smoke run (T = 10, 2 repetitions)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

import spikekit as sk
from spikekit._io import format_table, write_json

GAIN = {"Izhikevich": 40.0, "AdEx": 6.0, "SRM": 6.0, "ALIF": 4.0}  # input currents that make each one fire


def _neuron(name: str, n: int, backend: str, dense: bool = False):
    cls = sk.nn.NEURONS[name]
    if name == "RLIF":
        torch.manual_seed(1)
        return cls(n, all_to_all=dense, backend=backend)
    return cls(backend=backend)


def _step(layer, neuron, x, gain):
    """One forward + backward; returns the spikes."""
    for p in layer.parameters():
        p.grad = None
    out = neuron(layer(x) * gain)
    out.sum().backward()
    return out.detach()


def _neuron_only(neuron, current):
    cur = current.detach().requires_grad_(True)
    out = neuron(cur)
    out.sum().backward()
    return out.detach()


def measure(name: str, steps: int, batch: int, n: int, reps: int, dense: bool = False) -> dict:
    spec = sk.nn.NEURONS[name].spec
    backends = ["torch", "fused"] if spec.fused is not None else ["torch"]
    torch.manual_seed(0)
    layer = torch.nn.Linear(n, n)
    x = torch.rand(steps, batch, n)
    gain = GAIN.get(name, 3.0)
    with torch.no_grad():
        current = layer(x) * gain
    neurons = {b: _neuron(name, n, b, dense) for b in backends}
    spikes = {b: _step(layer, neurons[b], x, gain) for b in backends}  # warm-up (and the C++ build)
    layer_t: dict[str, list[float]] = {b: [] for b in backends}
    alone_t: dict[str, list[float]] = {b: [] for b in backends}
    for _ in range(reps):
        for b in backends:  # interleaved: the load of the moment hits both
            t0 = time.perf_counter()
            _step(layer, neurons[b], x, gain)
            layer_t[b].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _neuron_only(neurons[b], current)
            alone_t[b].append(time.perf_counter() - t0)
    row = {
        "neuron": name + ("-dense" if dense else ("-one-to-one" if name == "RLIF" else "")),
        "family": spec.fused,
        "firing_rate": float(spikes["torch"].ne(0).float().mean()),
        "reference_s": statistics.median(layer_t["torch"]),
        "reference_neuron_s": statistics.median(alone_t["torch"]),
    }
    if "fused" in backends:
        probe = current[:, :1]
        row["engine"] = sk.kernels.engine_name(spec.step, probe, neurons["fused"].params(), "fused")
        row["same_spikes"] = bool(torch.equal(spikes["torch"], spikes["fused"]))
        row["fused_s"] = statistics.median(layer_t["fused"])
        row["fused_neuron_s"] = statistics.median(alone_t["fused"])
        row["ratio"] = row["reference_s"] / row["fused_s"]
        row["ratio_neuron"] = row["reference_neuron_s"] / row["fused_neuron_s"]
    return row


def run(args: argparse.Namespace, threads: int) -> dict:
    """Measure every neuron with ``threads`` threads; print the table; return the config and the rows."""
    torch.set_num_threads(threads)
    names = args.only or list(sk.nn.NEURONS)
    rows = []
    for name in names:
        rows.append(measure(name, args.steps, args.batch, args.features, args.reps))
        if name == "RLIF":
            rows.append(measure(name, args.steps, args.batch, args.features, args.reps, dense=True))

    def ms(v):
        return "-" if v is None else f"{1e3 * v:.1f}"

    def x(v):
        return "-" if v is None else f"{v:.2f}x"

    table = [
        (
            r["neuron"], r.get("engine", "-"), f"{r['firing_rate']:.2f}", ms(r["reference_s"]),
            ms(r.get("fused_s")), x(r.get("ratio")), ms(r["reference_neuron_s"]), ms(r.get("fused_neuron_s")),
            x(r.get("ratio_neuron")), {True: "yes", False: "NO"}.get(r.get("same_spikes"), "-"),
        )
        for r in rows
    ]  # fmt: skip
    headers = (
        "neuron", "engine", "rate", "ref ms", "fused ms", "ratio", "ref neuron ms", "fused neuron ms",
        "ratio neuron", "same spikes",
    )  # fmt: skip
    print(
        f"Linear({args.features}) + neuron, forward + backward, T={args.steps} B={args.batch} "
        f"N={args.features}, {threads} threads, median of {args.reps}"
    )
    print(format_table(headers, table))
    config = {
        "T": args.steps, "B": args.batch, "N": args.features, "reps": args.reps, "threads": threads,
        "torch": torch.__version__, "machine": platform.machine(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(), "loadavg": _loadavg(),
    }  # fmt: skip
    return {"config": config, "rows": rows}


def _loadavg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - not on this platform
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--features", type=int, default=512)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, nargs="+", default=[2], help="one run per thread count")
    ap.add_argument("--only", nargs="*", help="neuron names (default: all)")
    ap.add_argument("--quick", action="store_true", help="T = 10, 2 repetitions")
    ap.add_argument("--json", help="write every measurement here")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.reps = 10, 2
    runs = [run(args, threads) for threads in args.threads]
    if args.json:
        write_json(args.json, {"runs": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
