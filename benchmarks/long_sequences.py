"""Peak memory against sequence length: plain BPTT, time-chunked checkpointing and truncated BPTT.

One forward and backward pass of a Linear + LIF stack ``Linear(F, H) -> LIF -> Linear(H, H) -> LIF ->
Linear(H, C)`` over ``x [T, B, F]`` (default 32 x 64 -> 256 -> 10, float32, LIF ``backend="fused"``:
the C++ engine), with a cross-entropy loss on the time mean of the output, for T = 100, 1000, 5000, four
ways:

- ``plain``: one call, backpropagation through the whole sequence;
- ``checkpoint K``: ``sk.nn.checkpoint_time(net, x, every=K)`` (what ``fit(checkpoint_every=K)`` does to a
  model's chunkable part): the same gradients, each chunk of K steps recomputed in backward; K = 50 and
  K = sqrt(T);
- ``tbptt K``: the chunks of K = 50 steps in one ``sk.nn.Stream``, a loss and a backward pass per chunk,
  the states detached between chunks (what ``fit(tbptt=K)`` does, without the optimizer steps): other,
  truncated gradients.

Each configuration runs in a fresh subprocess with one torch thread: a warm-up at T = 10 (loads the C++
engine), then the measured pass. Two memory figures:

- ``peak RSS``: the growth of the process's peak resident set (``ru_maxrss``) during the measured pass,
  over its value before it (after the input was made): what the pass really cost. glibc keeps freed
  blocks resident below its (dynamic) mmap threshold, which makes this figure jump between runs; the
  memory process therefore runs with ``MALLOC_MMAP_THRESHOLD_=65536``, and the default allocator's figure
  (from the timing process) is reported too (``peak RSS default malloc``);
- ``held for backward``: the distinct storages the graph holds between forward and backward (parameters
  and the input ``x`` excluded: they exist anyway; ``x`` is ``T B F`` floats): those packed by autograd
  (``torch.autograd.graph.saved_tensors_hooks``) outside the checkpointed chunks, plus the chunk inputs
  and boundary states that the checkpoints keep (counted by wrapping ``torch.utils.checkpoint.checkpoint``
  in ``spikekit.nn.stream``); for tbptt, the most any one chunk holds. Measured in a second pass.

``time/step`` is the fastest of 3 measured passes' wall time over T, in a process with the default
allocator (its peak RSS is taken after the first): each configuration in its own process, so a loaded
machine skews the comparison. The ratios to read are those of the last line: the three modes at the middle
T (K = 50) interleaved in one process, median of 7.

    python benchmarks/long_sequences.py --json benchmarks/results/long_sequences.json
    python benchmarks/long_sequences.py --quick        # T = 20, 50: a smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

MMAP_THRESHOLD = 65536
REPEATS = 3  # timed passes in the timing process (the fastest is reported)


# --- in a subprocess --------------------------------------------------------------------------------------
def _setup(cfg: dict):
    """``(net, loss_of, step)``: the stack, its loss, and ``step(x, mode, k)``, one forward + backward."""
    import torch
    import torch.nn.functional as tf
    from torch import nn

    import spikekit as sk

    torch.set_num_threads(1)
    torch.manual_seed(0)
    b, f, h, c = cfg["batch"], cfg["features"], cfg["hidden"], cfg["classes"]
    net = nn.Sequential(
        nn.Linear(f, h),
        sk.nn.LIF(backend=cfg["backend"]),
        nn.Linear(h, h),
        sk.nn.LIF(backend=cfg["backend"]),
        nn.Linear(h, c),
    )
    labels = torch.arange(b) % c

    def loss_of(y: torch.Tensor) -> torch.Tensor:
        return tf.cross_entropy(y.mean(0), labels)

    def step(x: torch.Tensor, mode: str, k: int | None) -> None:
        if mode == "plain":
            loss_of(net(x)).backward()
        elif mode == "checkpoint":
            loss_of(sk.nn.checkpoint_time(net, x, every=k)).backward()
        else:  # tbptt
            with sk.nn.Stream(net) as stream:
                for t0 in range(0, x.shape[0], k):
                    loss_of(net(x[t0 : t0 + k])).backward()
                    stream.detach()

    return net, loss_of, step


def _interleaved(cfg: dict) -> dict:
    """Median seconds of each mode at one ``T``, the modes interleaved in one process (the load of the
    moment hits them all)."""
    import statistics

    import torch

    _, _, step = _setup(cfg)
    x = torch.rand(cfg["T"], cfg["batch"], cfg["features"])
    modes = [tuple(m) for m in cfg["modes"]]
    times: dict = {f"{m} {k}": [] for m, k in modes}
    for m, k in modes:
        step(x, m, k)  # warm-up
    for _ in range(cfg["repeats"]):
        for m, k in modes:
            t0 = time.perf_counter()
            step(x, m, k)
            times[f"{m} {k}"].append(time.perf_counter() - t0)
    return {name: statistics.median(v) for name, v in times.items()}


def _measure(cfg: dict) -> dict:
    import resource
    import weakref

    import torch

    import spikekit as sk
    import spikekit.nn.stream as stream_module

    b, f = cfg["batch"], cfg["features"]
    net, loss_of, step_of = _setup(cfg)
    mode, k = cfg["mode"], cfg["k"]

    def step(x: torch.Tensor) -> None:
        step_of(x, mode, k)

    step(torch.rand(10, b, f))  # warm-up: loads the engine, allocates the parameters' gradients
    x = torch.rand(cfg["T"], b, f)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for i in range(cfg.get("repeats", 1)):
        t0 = time.perf_counter()
        step(x)
        times.append(time.perf_counter() - t0)
        if i == 0:
            rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds = min(times)

    # what the graph holds between forward and backward
    skip = {p.untyped_storage().data_ptr() for p in net.parameters()} | {x.untyped_storage().data_ptr()}
    boxes: list = []

    class Box:
        def __init__(self, t: torch.Tensor) -> None:
            self.t = t

    def pack(t: torch.Tensor) -> Box:
        box = Box(t)
        boxes.append(weakref.ref(box))
        return box

    real_checkpoint = stream_module.checkpoint
    held_inputs: list = []

    def counting_checkpoint(fn, *args, **kwargs):
        held_inputs.extend(weakref.ref(a) for a in args if isinstance(a, torch.Tensor))
        return real_checkpoint(fn, *args, **kwargs)

    def held() -> int:
        storages = {}
        alive = [r() for r in boxes]
        tensors = [bx.t for bx in alive if bx is not None] + [r() for r in held_inputs]
        for t in tensors:
            if t is not None:
                s = t.untyped_storage()
                if s.data_ptr() not in skip:
                    storages[s.data_ptr()] = s.nbytes()
        return sum(storages.values())

    stream_module.checkpoint = counting_checkpoint
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda box: box.t):
            if mode == "tbptt":
                most = 0
                with sk.nn.Stream(net) as stream:
                    for t0 in range(0, x.shape[0], k):
                        boxes.clear()
                        loss = loss_of(net(x[t0 : t0 + k]))
                        most = max(most, held())
                        loss.backward()
                        stream.detach()
                saved = most
            else:
                y = sk.nn.checkpoint_time(net, x, every=k) if mode == "checkpoint" else net(x)
                loss = loss_of(y)
                del y
                saved = held()
                loss.backward()
    finally:
        stream_module.checkpoint = real_checkpoint
    return {
        **cfg,
        "peak_rss_mb": max(0, rss1 - rss0) / 1024,  # ru_maxrss is in KiB on Linux
        "held_for_backward_mb": saved / 2**20,
        "seconds": seconds,
        "us_per_step": 1e6 * seconds / cfg["T"],
        "engine": net[1].engine(x) if hasattr(net[1], "engine") else cfg["backend"],
    }


def _subprocess(cfg: dict, **env: str) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **env}
    done = subprocess.run(
        [sys.executable, __file__, "--one", json.dumps(cfg)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"configuration {cfg} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _run_one(cfg: dict) -> dict:
    """Two processes: memory with glibc's mmap threshold fixed at 64 KiB (a freed block of 64 KiB or more
    goes back to the system, so the peak RSS follows the live bytes), time with the default allocator."""
    memory = _subprocess(cfg, MALLOC_MMAP_THRESHOLD_=str(MMAP_THRESHOLD))
    timing = _subprocess(dict(cfg, repeats=REPEATS))
    return {
        **memory,
        "peak_rss_default_malloc_mb": timing["peak_rss_mb"],
        "seconds": timing["seconds"],
        "us_per_step": timing["us_per_step"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lengths", default="100,1000,5000", help="sequence lengths T, comma separated")
    ap.add_argument("--k", type=int, default=50, help="steps per chunk for checkpoint and tbptt (50)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--features", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--backend", default="fused", help="the LIF layers' backend (fused)")
    ap.add_argument("--quick", action="store_true", help="T = 20, 50 and K = 5: a smoke run")
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        cfg = json.loads(args.one)
        print(json.dumps(_interleaved(cfg) if "modes" in cfg else _measure(cfg)))
        return
    lengths = [20, 50] if args.quick else [int(t) for t in args.lengths.split(",")]
    k = 5 if args.quick else args.k
    base = dict(batch=args.batch, features=args.features, hidden=args.hidden, classes=10)
    base["backend"] = args.backend
    rows = []
    for t in lengths:
        ks = sorted({k, max(1, round(math.sqrt(t)))})
        configs = [("plain", None)] + [("checkpoint", kk) for kk in ks] + [("tbptt", k)]
        for mode, kk in configs:
            cfg = dict(base, T=t, mode=mode, k=kk)
            row = _run_one(cfg)
            rows.append(row)
            label = mode if mode == "plain" else f"{mode} K={kk}"
            print(
                f"T={t:5d}  {label:16s} held for backward {row['held_for_backward_mb']:8.1f} MB   peak RSS "
                f"{row['peak_rss_mb']:8.1f} MB   {row['us_per_step']:8.1f} us/step",
                flush=True,
            )
    # time: the modes interleaved in one process, at the middle length
    t_mid = lengths[len(lengths) // 2]
    modes = [("plain", None), ("checkpoint", k), ("tbptt", k)]
    medians = _subprocess(dict(base, T=t_mid, modes=modes, repeats=3 if args.quick else 7))
    plain_s = medians["plain None"]
    interleaved = {
        "T": t_mid,
        "repeats": 3 if args.quick else 7,
        "median_seconds": medians,
        "vs_plain": {name: sec / plain_s for name, sec in medians.items()},
    }
    parts = [f"{n.replace(' None', '')} {sec:.3f} s ({sec / plain_s:.2f}x)" for n, sec in medians.items()]
    print(f"\ntime at T={t_mid}, interleaved, median: " + ", ".join(parts))
    from spikekit._io import format_table, write_json

    headers = ["T", "mode", "K", "held for backward MB", "peak RSS MB", "(default malloc)", "us / step"]
    table = [
        [
            r["T"],
            r["mode"],
            "" if r["mode"] == "plain" else r["k"],
            f"{r['held_for_backward_mb']:.1f}",
            f"{r['peak_rss_mb']:.1f}",
            f"{r['peak_rss_default_malloc_mb']:.1f}",
            f"{r['us_per_step']:.1f}",
        ]
        for r in rows
    ]
    print()
    print(format_table(headers, table))
    if args.json:
        import torch

        write_json(
            args.json,
            {
                "what": "one forward + backward of Linear(F,H)-LIF-Linear(H,H)-LIF-Linear(H,C), loss on the "
                "time mean; each row in a fresh process, 1 thread",
                "shape": base,
                "input_mb_at_T": {t: t * args.batch * args.features * 4 / 2**20 for t in lengths},
                "malloc": f"memory processes: MALLOC_MMAP_THRESHOLD_={MMAP_THRESHOLD}; timing: default",
                "machine": {"platform": platform.platform(), "torch": torch.__version__, "threads": 1},
                "command": "python benchmarks/long_sequences.py --json " + args.json,
                "rows": rows,
                "time_interleaved": interleaved,
            },
        )
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
