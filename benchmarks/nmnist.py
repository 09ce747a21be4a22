"""N-MNIST on the shared 1,000 + 100 recordings: the data pipeline's speed and a spiking CNN's accuracy.

1. Events to frames (Tonic's reader and ``ToFrame``, ``n_time_bins`` bins): seconds per recording without
   the cache, filling the cache (first epoch) and from the cache (later epochs); medians of ``--repeats``.
2. One training epoch of the spiking CNN through a DataLoader, first (cache cold) and second (cache warm):
   the seconds spent waiting for data and their share of the epoch.
3. ``SpikingCNN(in_channels=2, image_size=34)`` on the frames ``[T, B, 2, 34, 34]`` trained with
   :func:`spikekit.train.fit` over ``--seeds``, beside the same CNN as an ordinary (ReLU) network on the
   frames summed over time: test accuracy (100 recordings: one recording is one point), spread, s/epoch.

Usage:
    SPIKEKIT_DATA=../shared/data python benchmarks/nmnist.py [--epochs 8] [--seeds 0,1,2] [--bins 8]
        [--json benchmarks/results/nmnist.json] [--skip-train]

The machine is shared: timings are medians or ratios taken within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from spikekit.data.events import EventCollate, load_events, materialize
from spikekit.models import SpikingCNN, count_parameters
from spikekit.train import TrainConfig, fit


class TimeFirst(nn.Module):
    """Feeds a batch-first ``[B, T, ...]`` batch (what ``fit`` slices from a FrameDataset) time first."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.movedim(1, 0))


def frame_cnn(channels: tuple[int, int], hidden: int, dropout: float) -> nn.Module:
    """The SpikingCNN's layers with ReLU in place of LIF, for one summed frame ``[B, 2, 34, 34]``."""
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(2, c1, 3, padding=1, bias=False),
        nn.BatchNorm2d(c1),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Conv2d(c1, c2, 3, padding=1, bias=False),
        nn.BatchNorm2d(c2),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(c2 * 8 * 8, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, 10),
    )


def spiking_cnn(channels: tuple[int, int], hidden: int, dropout: float) -> nn.Module:
    return SpikingCNN(in_channels=2, image_size=34, channels=channels, hidden=hidden, dropout=dropout)


def to_frame(bins: int):
    import tonic

    return tonic.transforms.ToFrame(sensor_size=(34, 34, 2), n_time_bins=bins)


def one_pass(dataset) -> float:
    """Seconds per recording to fetch every sample once."""
    t0 = time.perf_counter()
    for i in range(len(dataset)):
        dataset[i]
    return (time.perf_counter() - t0) / len(dataset)


def pipeline(root: str | None, bins: int, repeats: int, scratch: Path) -> dict:
    plain = load_events("nmnist-small", root, split="train", transform=to_frame(bins))
    no_cache = statistics.median(one_pass(plain) for _ in range(repeats))
    cold, warm = [], []
    for r in range(repeats):
        folder = scratch / f"pipeline-{r}"
        cached = load_events("nmnist-small", root, split="train", transform=to_frame(bins), cache=folder)
        cold.append(one_pass(cached))
        warm.append(statistics.median(one_pass(cached) for _ in range(repeats)))
        shutil.rmtree(folder)
    out = {
        "recordings": len(plain),
        "no_cache_s_per_sample": no_cache,
        "cache_fill_s_per_sample": statistics.median(cold),
        "cached_s_per_sample": statistics.median(warm),
    }
    out["speedup_cached_vs_no_cache"] = out["no_cache_s_per_sample"] / out["cached_s_per_sample"]
    out["speedup_cached_vs_fill"] = out["cache_fill_s_per_sample"] / out["cached_s_per_sample"]
    return out


def loader_epochs(root: str | None, bins: int, args, scratch: Path) -> list[dict]:
    """Two training epochs through a DataLoader over the cached dataset: data wait vs total time."""
    train = load_events(
        "nmnist-small", root, split="train", transform=to_frame(bins), cache=scratch / "epochs"
    )
    torch.manual_seed(0)
    model = spiking_cnn(args.channels, args.hidden, args.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    rows = []
    for epoch, label in enumerate(("first (cache filled)", "second (cache read)")):
        g = torch.Generator().manual_seed(epoch)
        loader = DataLoader(
            train, batch_size=args.batch_size, shuffle=True, generator=g, collate_fn=EventCollate()
        )
        wait, t0 = 0.0, time.perf_counter()
        it = iter(loader)
        while True:
            t1 = time.perf_counter()
            batch = next(it, None)
            wait += time.perf_counter() - t1
            if batch is None:
                break
            loss = nn.functional.cross_entropy(model(batch.frames), batch.targets)
            opt.zero_grad()
            loss.backward()
            opt.step()
        total = time.perf_counter() - t0
        rows.append({"epoch": label, "loading_s": wait, "epoch_s": total, "loading_share": wait / total})
        print(
            f"  epoch {label}: loading {wait:.2f} s of {total:.1f} s ({100 * wait / total:.1f} %)", flush=True
        )
    return rows


def train_runs(root: str | None, args, scratch: Path) -> dict:
    train_ev, test_ev = load_events(
        "nmnist-small", root, transform=to_frame(args.bins), cache=scratch / "train"
    )
    train, test = materialize(train_ev, progress=False), materialize(test_ev, progress=False)
    summed_train, summed_test = train.sum_over_time(), test.sum_over_time()
    print(f"  frames: train {list(train.frames.shape)}, test {list(test.frames.shape)}", flush=True)
    results: dict[str, list[dict]] = {"spiking-cnn": [], "cnn-summed-frames": []}
    for seed in args.seeds:
        cfg = TrainConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            optimizer="adam",
            lr=args.lr,
            schedule="cosine",
            seed=seed,
            device="cpu",
            eval_batch_size=100,
        )
        for name, build, tr, te in (
            (
                "spiking-cnn",
                lambda: TimeFirst(spiking_cnn(args.channels, args.hidden, args.dropout)),
                train,
                test,
            ),
            (
                "cnn-summed-frames",
                lambda: frame_cnn(args.channels, args.hidden, args.dropout),
                summed_train,
                summed_test,
            ),
        ):
            torch.manual_seed(seed)
            model = build()
            result = fit(model, tr, te, cfg, progress=False)
            row = {
                "seed": seed,
                "test_acc": result.final["test_acc"],
                "train_acc": result.final["train_acc"],
                "seconds_per_epoch": statistics.median(h["seconds"] for h in result.history),
                "parameters": count_parameters(model),
                "history": result.history,
            }
            results[name].append(row)
            print(
                f"  {name} seed {seed}: test {100 * row['test_acc']:.0f} %, "
                f"{row['seconds_per_epoch']:.1f} s/epoch",
                flush=True,
            )
    summary = {}
    for name, rows in results.items():
        accs = [r["test_acc"] for r in rows]
        summary[name] = {
            "test_acc_mean": statistics.mean(accs),
            "test_acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
            "test_acc_min": min(accs),
            "test_acc_max": max(accs),
            "seconds_per_epoch": statistics.median(r["seconds_per_epoch"] for r in rows),
            "parameters": rows[0]["parameters"],
        }
    return {"summary": summary, "runs": results}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=None, help="nmnist-small or its parent (default: $SPIKEKIT_DATA)")
    p.add_argument("--bins", type=int, default=8, help="time bins T per recording")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--channels", default="16,32")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--repeats", type=int, default=3, help="repeats of each pipeline timing (median)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--skip-train", action="store_true", help="only the data pipeline figures")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.channels = tuple(int(c) for c in args.channels.split(","))
    torch.set_num_threads(args.threads)
    started = time.time()
    data: dict = {
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
        },
    }
    with tempfile.TemporaryDirectory(prefix="nmnist-bench-") as tmp:
        scratch = Path(tmp)
        print("data pipeline (events -> frames, 1,000 training recordings)", flush=True)
        pipe = data["pipeline"] = pipeline(args.data_dir, args.bins, args.repeats, scratch)
        print(
            f"  ms per recording: no cache {1e3 * pipe['no_cache_s_per_sample']:.3f}, filling the cache "
            f"{1e3 * pipe['cache_fill_s_per_sample']:.3f}, "
            f"from the cache {1e3 * pipe['cached_s_per_sample']:.3f}"
            f" ({pipe['speedup_cached_vs_no_cache']:.1f}x faster than no cache)",
            flush=True,
        )
        print(f"training epochs through a DataLoader (batch {args.batch_size})", flush=True)
        data["epochs"] = loader_epochs(args.data_dir, args.bins, args, scratch)
        first, second = data["epochs"]
        data["cached_loading_speedup"] = first["loading_s"] / second["loading_s"]
        if not args.skip_train:
            print(f"training {args.epochs} epochs x seeds {args.seeds}", flush=True)
            data["training"] = train_runs(args.data_dir, args, scratch)
    data["machine"]["load_average_at_end"] = os.getloadavg()
    data["wall_seconds"] = time.time() - started

    print()
    print("| data pipeline | ms per recording |")
    print("|---|---|")
    print(f"| events -> frames, no cache | {1e3 * pipe['no_cache_s_per_sample']:.3f} |")
    print(f"| first epoch: events -> frames + cache write | {1e3 * pipe['cache_fill_s_per_sample']:.3f} |")
    print(f"| later epochs: frames from the cache | {1e3 * pipe['cached_s_per_sample']:.3f} |")
    print()
    print("| epoch | loading s | epoch s | loading share |")
    print("|---|---|---|---|")
    for row in data["epochs"]:
        print(
            f"| {row['epoch']} | {row['loading_s']:.2f} | {row['epoch_s']:.1f} | "
            f"{100 * row['loading_share']:.1f} % |"
        )
    print(f"cached epoch's loading {data['cached_loading_speedup']:.1f}x faster than the first epoch's")
    if "training" in data:
        print()
        print("| model | input | parameters | test acc % (mean ± sd, min-max) | s/epoch |")
        print("|---|---|---|---|---|")
        for name, s in data["training"]["summary"].items():
            shape = (
                f"[T={args.bins}, B, 2, 34, 34]" if name == "spiking-cnn" else "[B, 2, 34, 34] (sum over T)"
            )
            print(
                f"| {name} | {shape} | {s['parameters']:,} | {100 * s['test_acc_mean']:.1f} ± "
                f"{100 * s['test_acc_std']:.1f} "
                f"({100 * s['test_acc_min']:.0f}-{100 * s['test_acc_max']:.0f}) | "
                f"{s['seconds_per_epoch']:.1f} |"
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=1, default=str))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
