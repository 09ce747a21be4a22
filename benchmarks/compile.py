"""What ``torch.compile`` buys on the CPU: ``Linear(N, N)`` + neuron, forward + backward, for every neuron.

For each neuron of ``sk.nn.NEURONS``, one training step's forward and backward of ``Linear(N, N)``
followed by the neuron at ``T x B x N`` (default 100 x 16 x 512), three ways, in one process:

- ``eager``: the reference loop (``backend="torch"``), one small operator at a time;
- ``fused``: the fused engine (``backend="fused"``: C++ on the CPU), for the neurons that have one;
- ``compiled``: ``torch.compile`` (inductor) of the same layer and neuron. Under compilation every backend
  runs the reference loop, which dynamo unrolls over the T steps and inductor fuses (see "Backends" in
  docs/conventions.md), so this is the loop's maths in generated C++.

Each is timed ``--reps`` times (median; interleaved, so the load of the moment hits all three) after a
warm-up call. The first compiled call (tracing, both graphs, code generation and the C++ compiler) is
reported apart as the compile time; inductor's on-disk cache is turned off for it (``--cache`` keeps it).
Also checks that the compiled spikes equal eager mode's.

On a loaded machine use ``--threads 1``: the compiled graph is many generated kernels, each its own
parallel region, and with more threads than free cores each region's end waits for a parked thread (a
first run at 2 threads on a shared 2-core machine measured LIF's compiled step 6x slower than eager).

    python benchmarks/compile.py --threads 1 --json benchmarks/results/compile.json
    python benchmarks/compile.py --quick --only LIF      # a smoke run (T = 10, 2 repetitions)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings

import torch
from fused_all import GAIN  # the input currents that make each neuron fire; benchmarks/ is on sys.path
from torch import nn

import spikekit as sk
from spikekit._io import format_table, write_json


class Layer(nn.Module):
    """``neuron(gain * Linear(x))``."""

    def __init__(self, linear: nn.Linear, neuron: nn.Module, gain: float) -> None:
        super().__init__()
        self.linear, self.neuron, self.gain = linear, neuron, gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.neuron(self.linear(x) * self.gain)


def _neuron(name: str, n: int, backend: str):
    cls = sk.nn.NEURONS[name]
    if name == "RLIF":
        torch.manual_seed(1)
        return cls(n, all_to_all=False, backend=backend)
    return cls(backend=backend)


def _step(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """One forward + backward; returns the spikes."""
    for p in model.parameters():
        p.grad = None
    out = model(x)
    out.sum().backward()
    return out.detach()


def measure(name: str, steps: int, batch: int, n: int, reps: int) -> dict:
    spec = sk.nn.NEURONS[name].spec
    torch.manual_seed(0)
    linear = nn.Linear(n, n)
    x = torch.rand(steps, batch, n)
    gain = GAIN.get(name, 3.0)
    models = {"eager": Layer(linear, _neuron(name, n, "torch"), gain)}
    if spec.fused is not None:
        models["fused"] = Layer(linear, _neuron(name, n, "fused"), gain)
    spikes = {k: _step(m, x) for k, m in models.items()}  # warm-up (and the C++ engine's build)
    torch._dynamo.reset()
    compiled = torch.compile(Layer(linear, _neuron(name, n, "torch"), gain))
    t0 = time.perf_counter()
    spikes["compiled"] = _step(compiled, x)
    first = time.perf_counter() - t0
    _step(compiled, x)  # a second warm-up call
    models["compiled"] = compiled
    times: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(reps):
        for k, m in models.items():
            t0 = time.perf_counter()
            _step(m, x)
            times[k].append(time.perf_counter() - t0)
    row = {
        "neuron": name,
        "family": spec.fused,
        "firing_rate": float(spikes["eager"].ne(0).float().mean()),
        "eager_s": statistics.median(times["eager"]),
        "compiled_s": statistics.median(times["compiled"]),
        "compile_s": first,
        "compiled_same_spikes": bool(torch.equal(spikes["eager"], spikes["compiled"])),
    }
    row["speedup_compiled"] = row["eager_s"] / row["compiled_s"]
    if "fused" in models:
        probe = x[:, :1, :1]
        row["engine"] = sk.kernels.engine_name(spec.step, probe, models["fused"].neuron.params(), "fused")
        row["fused_s"] = statistics.median(times["fused"])
        row["speedup_fused"] = row["eager_s"] / row["fused_s"]
        row["fused_same_spikes"] = bool(torch.equal(spikes["eager"], spikes["fused"]))
    return row


def run(args: argparse.Namespace, threads: int, done: list[dict]) -> dict:
    """Measure every neuron with ``threads`` threads; print the table; return the config and the rows."""
    torch.set_num_threads(threads)
    rows = []
    for name in args.only or list(sk.nn.NEURONS):
        rows.append(measure(name, args.steps, args.batch, args.features, args.reps))
        r = rows[-1]
        print(f"  {name}: compiled in {r['compile_s']:.1f} s", flush=True)
        if args.json:  # so far (compiling every neuron takes a while)
            write_json(args.json, {"runs": [*done, {"config": _config(args, threads), "rows": rows}]})

    def ms(v):
        return "-" if v is None else f"{1e3 * v:.1f}"

    def x(v):
        return "-" if v is None else f"{v:.2f}x"

    def same(r):
        return "yes" if r["compiled_same_spikes"] and r.get("fused_same_spikes", True) else "NO"

    table = [
        (
            r["neuron"], r.get("engine", "-"), f"{r['firing_rate']:.2f}", ms(r["eager_s"]),
            ms(r.get("fused_s")), ms(r["compiled_s"]), x(r.get("speedup_fused")), x(r["speedup_compiled"]),
            f"{r['compile_s']:.1f}", same(r),
        )
        for r in rows
    ]  # fmt: skip
    headers = (
        "neuron", "fused engine", "rate", "eager ms", "fused ms", "compiled ms", "fused vs eager",
        "compiled vs eager", "compile s", "same spikes",
    )  # fmt: skip
    print(
        f"Linear({args.features}) + neuron, forward + backward, T={args.steps} B={args.batch} "
        f"N={args.features}, {threads} threads, median of {args.reps}"
    )
    print(format_table(headers, table))
    return {"config": _config(args, threads), "rows": rows}


def _config(args: argparse.Namespace, threads: int) -> dict:
    return {
        "T": args.steps, "B": args.batch, "N": args.features, "reps": args.reps, "threads": threads,
        "torch": torch.__version__, "machine": platform.machine(), "inductor_cache": args.cache,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(), "loadavg": _loadavg(),
    }  # fmt: skip


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
    ap.add_argument("--cache", action="store_true", help="keep inductor's on-disk caches (compile time)")
    ap.add_argument("--quick", action="store_true", help="T = 10, 2 repetitions")
    ap.add_argument("--json", help="write every measurement here")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.reps = 10, 2
    if not args.cache:
        torch._inductor.config.fx_graph_cache = False
        torch._inductor.config.autotune_local_cache = False
    warnings.filterwarnings("ignore", module="torch")
    runs: list[dict] = []
    for threads in args.threads:
        runs.append(run(args, threads, runs))
    if args.json:
        write_json(args.json, {"runs": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
