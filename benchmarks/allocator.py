"""What glibc's allocator policy costs a SpikingCNN training step (issue 16; docs/performance.md).

``spikekit train --model spiking-cnn --dataset fashion-mnist``'s model and step (T = 8, batch 128, Adam
1e-3, cross-entropy), on random images (the time does not depend on the pixels), 1 thread. Each setting
runs in a fresh process (``mallopt`` cannot be undone), the settings interleaved over ``--rounds`` rounds;
each process times ``--steps`` steps after two warm-up steps and reports its median; the table gives the
median over rounds. Settings: glibc's own policy; ``M_MMAP_THRESHOLD`` alone; ``M_MMAP_THRESHOLD`` with
trimming off (what :func:`spikekit.train.tune_allocator` sets, at 64 MiB) at several thresholds.

    python benchmarks/allocator.py --json benchmarks/results/allocator.json     # about 3 minutes
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from overhead import _load  # benchmarks/ is on sys.path: this script's folder

from spikekit._io import format_table, write_json

MIB = 1 << 20
SETTINGS = {  # name -> (mmap threshold or None, trim off)
    "glibc default": (None, False),
    "mmap 32 MiB": (32 * MIB, False),
    "mmap 32 MiB, no trim": (32 * MIB, True),
    "mmap 64 MiB, no trim (tune_allocator)": (64 * MIB, True),
    "mmap 256 MiB, no trim": (256 * MIB, True),
    "mmap 2047 MiB, no trim": (2047 * MIB, True),
}

CHILD = """
import ctypes, json, statistics, sys, time
import torch
import torch.nn.functional as F
from spikekit.models import build_model
mmap, trim, steps = json.loads(sys.argv[1])
libc = ctypes.CDLL("libc.so.6")
if mmap is not None:
    assert libc.mallopt(-3, mmap) == 1
if trim:
    assert libc.mallopt(-1, 2**31 - 1) == 1
torch.set_num_threads(1)
torch.manual_seed(0)
model = build_model("spiking-cnn", (1, 28, 28), 10, steps=8, dropout=0.2)
opt = torch.optim.Adam(model.parameters(), 1e-3)
x, y = torch.rand(128, 1, 28, 28), torch.randint(0, 10, (128,))
times = []
for _ in range(steps + 2):
    t = time.perf_counter()
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()
    times.append(time.perf_counter() - t)
print(statistics.median(times[2:]))
"""


def one(setting: tuple[int | None, bool], steps: int) -> float:
    arg = json.dumps([setting[0], setting[1], steps])
    out = subprocess.run([sys.executable, "-c", CHILD, arg], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="processes per setting (median; default 3)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per process (default 10)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    load_start = _load()
    times: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for _ in range(args.rounds):
        for name, setting in SETTINGS.items():
            times[name].append(one(setting, args.steps))
    base = statistics.median(times["glibc default"])
    rows = [
        [name, f"{1000 * statistics.median(t):.0f}", f"{base / statistics.median(t):.2f}x"]
        for name, t in times.items()
    ]
    print(f"SpikingCNN training step, T = 8, batch 128, 1 thread; load {load_start} -> {_load()}")
    print(format_table(["allocator", "ms / step (median)", "speed vs glibc default"], rows))
    if args.json:
        write_json(
            args.json,
            {
                "load_average": [load_start, _load()],
                "steps_per_process": args.steps,
                "settings": {n: {"mmap_threshold": s[0], "trim_off": s[1]} for n, s in SETTINGS.items()},
                "seconds_per_step": times,
            },
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
