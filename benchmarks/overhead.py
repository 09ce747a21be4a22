"""What the LIF layer costs on top of its GEMM, and the default neuron against snnTorch (issue 16, figure A).

``Linear(F, F)`` then a LIF layer over ``T`` steps, batch ``B`` (default 500 x 16 x 512, the peer
benchmark's main shape: the same input, weights and loss, ``output.sum()``, as ``spikekit bench``), forward
+ backward, four ways in one process:

- ``Linear alone``: the floor the neuron adds to;
- ``spikekit LIF(backend="auto")``: the default module (``sk.nn.LIF()``: beta 0.9, threshold 1, reset
  by subtraction, arc-tangent surrogate), which on a CPU runs the fused C++ engine;
- ``spikekit LIF(backend="torch")``: the reference loop over the functional core;
- ``snntorch Leaky``: ``snn.Leaky(beta=0.9)`` in its tutorials' style (a Python loop over the steps),
  exactly the layer ``spikekit bench`` times.

Each row is timed ``--repeats`` times (default 9), interleaved (round r times every row once), after two
warm-up calls; the figures are medians. Also reported: the median over rounds of each round's ratio (the
same figure, less sensitive to load that changes between rounds), the load average at the start and end,
and whether the fused spikes equal the reference loop's.

Figures: the fused LIF's overhead over the Linear alone (``auto / Linear - 1``; target <= 25 %), and
snnTorch's time over the default ``sk.nn.LIF()``'s (target >= 4x). The Linear is the same in both rows, so
that ratio cannot exceed snnTorch's time over the Linear alone's (reported as the bound); the neurons'
own ratio (each row's time over the Linear's) is reported too.

    python benchmarks/overhead.py --json benchmarks/results/overhead.json      # 1 thread, ~1 minute
    python benchmarks/overhead.py --threads 2 --shape 500x64x512
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import statistics
import time
from typing import Any

import torch

import spikekit as sk
from spikekit._io import format_table, write_json
from spikekit.cli._bench_measure import _layer_input, _snntorch_layer


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def measure(shape: tuple[int, int, int], repeats: int, peers: bool = True) -> dict[str, Any]:
    steps, batch, features = shape
    torch.manual_seed(0)
    x, linear = _layer_input(steps, batch, features, torch.device("cpu"))
    default = sk.nn.LIF()
    neurons: dict[str, Any] = {"Linear alone": None}
    neurons['spikekit LIF(backend="auto")'] = sk.nn.LIF(backend="auto")
    if default.backend != "auto":  # the default module, if it is not "auto" yet
        neurons["spikekit LIF() default"] = default
    neurons['spikekit LIF(backend="torch")'] = sk.nn.LIF(backend="torch")
    if peers and _version("snntorch") is not None:
        neurons["snntorch Leaky"] = _snntorch_layer()

    def step(neuron: Any) -> None:
        linear.zero_grad(set_to_none=True)
        out = linear(x) if neuron is None else neuron(linear(x))
        out.sum().backward()

    for neuron in neurons.values():  # warm-up (the C++ engine is built or loaded on the first call)
        step(neuron)
        step(neuron)
    times: dict[str, list[float]] = {name: [] for name in neurons}
    for _ in range(repeats):
        for name, neuron in neurons.items():
            start = time.perf_counter()
            step(neuron)
            times[name].append(time.perf_counter() - start)
    rows = {name: {"seconds": statistics.median(t), "times": t} for name, t in times.items()}
    with torch.no_grad():
        cur = linear(x)
        auto = neurons['spikekit LIF(backend="auto")']
        spikes_equal = torch.equal(auto(cur), neurons['spikekit LIF(backend="torch")'](cur))
        engine = auto.engine(cur) if hasattr(auto, "engine") else auto.backend
    return {
        "T": steps, "B": batch, "F": features, "repeats": repeats, "rows": rows,
        "default_backend": default.backend, "auto_engine": engine, "spikes_equal_reference": spikes_equal,
        "figures": figures(times),
    }  # fmt: skip


def figures(times: dict[str, list[float]]) -> dict[str, Any]:
    """The issue's two figures from medians, and the same from each round's ratio (median over rounds)."""
    med = {name: statistics.median(t) for name, t in times.items()}
    base, auto = "Linear alone", 'spikekit LIF(backend="auto")'
    paired = lambda a, b: statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))  # noqa: E731
    out: dict[str, Any] = {
        "overhead_auto": med[auto] / med[base] - 1,
        "overhead_auto_paired": paired(auto, base) - 1,
        "overhead_torch": med['spikekit LIF(backend="torch")'] / med[base] - 1,
        "neuron_seconds_auto": med[auto] - med[base],
        "targets": {"overhead_auto": "<= 0.25"},
    }
    if "snntorch Leaky" in med:
        out["snntorch_over_auto"] = med["snntorch Leaky"] / med[auto]
        # the most any neuron could give: snnTorch's layer over the Linear alone (a neuron that cost nothing)
        out["snntorch_over_linear_alone_bound"] = med["snntorch Leaky"] / med[base]
        # the neurons alone: each one's time over the Linear's
        out["snntorch_over_auto_neuron_only"] = (med["snntorch Leaky"] - med[base]) / (med[auto] - med[base])
        out["snntorch_over_auto_paired"] = paired("snntorch Leaky", auto)
        out["snntorch_over_torch"] = med["snntorch Leaky"] / med['spikekit LIF(backend="torch")']
        out["targets"]["snntorch_over_auto"] = ">= 4"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="500x16x512", help="T x B x F (default 500x16x512)")
    ap.add_argument("--repeats", type=int, default=9, help="timed rounds (median; default 9, at least 7)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--no-peers", action="store_true", help="skip snnTorch")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    shape = tuple(int(v) for v in args.shape.lower().split("x"))
    if len(shape) != 3:
        ap.error(f"--shape must be TxBxF, got {args.shape!r}")
    torch.set_num_threads(args.threads)
    load_start = _load()
    result = measure(shape, args.repeats, peers=not args.no_peers)  # type: ignore[arg-type]
    result["environment"] = {
        "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu_capability":
        torch.backends.cpu.get_cpu_capability(), "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(), "snntorch": _version("snntorch"),
        "load_average_start": load_start, "load_average_end": _load(),
    }  # fmt: skip
    base = result["rows"]["Linear alone"]["seconds"]
    table = [
        [
            name,
            f"{row['seconds'] * 1e3:.2f}",
            f"{row['seconds'] / base - 1:+.1%}" if name != "Linear alone" else "-",
        ]
        for name, row in result["rows"].items()
    ]
    print(f"T x B x F = {args.shape}, {args.threads} thread(s), medians of {args.repeats} interleaved rounds")
    print(format_table(["layer", "ms (fwd + bwd)", "over Linear alone"], table))
    fig = result["figures"]
    print(
        f"fused LIF overhead over its GEMM: {fig['overhead_auto']:.1%} "
        f"(paired {fig['overhead_auto_paired']:.1%}; target <= 25 %); "
        f"neuron alone {fig['neuron_seconds_auto'] * 1e3:.2f} ms"
    )
    if "snntorch_over_auto" in fig:
        print(
            f"snnTorch / default LIF(): {fig['snntorch_over_auto']:.2f}x "
            f"(paired {fig['snntorch_over_auto_paired']:.2f}x; target >= 4x); at most "
            f"{fig['snntorch_over_linear_alone_bound']:.2f}x with a neuron that cost nothing "
            f"(snnTorch / Linear alone); the neurons alone (time over the Linear's): "
            f"{fig['snntorch_over_auto_neuron_only']:.1f}x"
        )
    env = result["environment"]
    print(
        f"default backend {result['default_backend']!r} -> {result['auto_engine']}; spikes equal the "
        f"reference loop's: {result['spikes_equal_reference']}; load average "
        f"{env['load_average_start']} -> {env['load_average_end']}"
    )
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
