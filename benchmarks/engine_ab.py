"""The C++ family engines of two revisions, side by side in one process: forward and backward per neuron.

Builds the engine source (``src/spikekit/kernels/_cpp_source.py``) of ``--base`` (a git revision) as a
second extension next to this checkout's, then times each state-layout family's C++ forward and backward
(``cpp.family_forward`` / ``family_backward``, the neuron alone, ``T x B x F``, float32) with both,
interleaved, ``--reps`` times; medians and the ratio base / this checkout (above 1: this checkout is
faster). Also checks that both give the same spikes and the same input gradient bit for bit.

    python benchmarks/engine_ab.py --base ffd3804 --json benchmarks/results/engine_ab.json
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from pathlib import Path
from unittest import mock

import torch
from fused_all import GAIN  # the input currents that make each neuron fire; benchmarks/ is on sys.path

import spikekit as sk
from spikekit._io import format_table, write_json
from spikekit.kernels import cpp, families

ROOT = Path(__file__).resolve().parents[1]
NEURONS = ("ALIF", "Synaptic", "RLIF", "SRM", "Izhikevich", "AdEx", "Alpha")


def base_engine(rev: str):
    """The engine module built from revision ``rev``'s source."""
    text = subprocess.run(
        ["git", "show", f"{rev}:src/spikekit/kernels/_cpp_source.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    namespace: dict = {}
    exec(compile(text, f"{rev}:_cpp_source.py", "exec"), namespace)
    ext = cpp.build(
        "spikekit_fused_base", f"the C++ engine of {rev}", namespace["SOURCE"], namespace["FUNCTIONS"],
        cpp._engine_flags(), "cannot compare",
    )  # fmt: skip
    if ext is None:
        raise SystemExit(f"the engine of {rev} could not be built")
    return ext


def build(name: str, features: int):
    return sk.nn.RLIF(features, all_to_all=False) if name == "RLIF" else getattr(sk.nn, name)()


def one(ext, spec, x, s0, pp, g):
    """(forward seconds, backward seconds, spikes, gx) with engine module ``ext``."""
    ns = len(s0)
    with mock.patch.object(cpp, "_ext", lambda: ext):
        t0 = time.perf_counter()
        out, saved, _ = cpp.family_forward(spec.family, x, [a.clone() for a in s0], pp, spec.reset)
        t1 = time.perf_counter()
        gx, _, _ = cpp.family_backward(
            spec.family, list(saved), s0, pp, spec, g, None, [torch.zeros_like(s0[0]) for _ in range(ns)]
        )
        t2 = time.perf_counter()
    return t1 - t0, t2 - t1, out, gx


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="HEAD~1", help="the git revision to compare with")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--features", type=int, default=512)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sk.train.tune_allocator()  # freed buffers reused: no page faults in the timings
    old, new = base_engine(args.base), cpp._ext()
    T, B, F = args.steps, args.batch, args.features
    M = B * F
    rows = []
    for name in NEURONS:
        n = build(name, F)
        spec = families.family_spec(n.spec.fused, n.params(), torch.zeros(1))
        ns = families.FAMILY_LAYOUT[spec.family][0]
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(T, M, generator=gen) * GAIN.get(name, 2.0) * 0.5
        g = torch.randn(T, M, generator=gen)
        s0 = [torch.zeros(M) for _ in range(ns)]
        pp = families._engine_params(spec.family, spec.params, torch.Size([B, F]), torch.float32)
        _, _, o_out, o_gx = one(old, spec, x, s0, pp, g)  # also the warm-up
        _, _, n_out, n_gx = one(new, spec, x, s0, pp, g)
        same, rate = torch.equal(o_out, n_out) and torch.equal(o_gx, n_gx), float(n_out.mean())
        del o_out, o_gx, n_out, n_gx
        times = {k: [] for k in ("old_f", "old_b", "new_f", "new_b")}
        for rep in range(args.reps):  # alternating which goes first
            for which in ("old", "new") if rep % 2 == 0 else ("new", "old"):
                f, b, _, _ = one(old if which == "old" else new, spec, x, s0, pp, g)
                times[f"{which}_f"].append(f)
                times[f"{which}_b"].append(b)
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append({
            "neuron": name, "family": spec.family, "firing_rate": rate,
            **{f"{k}_s": v for k, v in med.items()},
            "forward_ratio": med["old_f"] / med["new_f"], "backward_ratio": med["old_b"] / med["new_b"],
            "same_spikes_and_gx": same,
        })  # fmt: skip
    table = [
        [r["neuron"], f"{r['firing_rate']:.2f}", f"{r['old_f_s'] * 1e3:.2f}", f"{r['new_f_s'] * 1e3:.2f}",
         f"{r['forward_ratio']:.2f}x", f"{r['old_b_s'] * 1e3:.2f}", f"{r['new_b_s'] * 1e3:.2f}",
         f"{r['backward_ratio']:.2f}x", "yes" if r["same_spikes_and_gx"] else "NO"]
        for r in rows
    ]  # fmt: skip
    print(f"C++ engine of {args.base} vs this checkout, T={T} B={B} F={F} float32, {args.threads} thread(s), "
          f"median of {args.reps}")  # fmt: skip
    print(format_table(
        ["neuron", "rate", "base fwd ms", "fwd ms", "fwd", "base bwd ms", "bwd ms", "bwd", "same spikes, gx"],
        table,
    ))  # fmt: skip
    if args.json:
        config = {"base": args.base, "T": T, "B": B, "F": F, "reps": args.reps, "threads": args.threads,
                  "torch": torch.__version__}  # fmt: skip
        write_json(args.json, {"config": config, "rows": rows})


if __name__ == "__main__":
    main()
