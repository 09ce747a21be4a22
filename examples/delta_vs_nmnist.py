"""Static images as events: sk.encode.delta on a saccading MNIST digit beside the real N-MNIST recording.

N-MNIST (Orchard et al. 2015) was made by showing MNIST digits on a monitor to an ATIS event camera that
made three saccades: the image moves 3.5 px right and 7 px down, 3.5 px right and 7 px up, then 7 px left,
about 105 ms each, slow-fast-slow. This script replays that motion on the same MNIST digit (training index
0, a 5, which is N-MNIST's first training recording), turns the moving image into ON/OFF events with
``sk.encode.delta`` (a change of at least ``threshold`` in one step), and draws both side by side: what an
idealised sensor sees, and what the real camera adds (background noise events, events spread over time by
each pixel's latency and refractory period, unequal ON and OFF responses). In the recording a stroke's
trailing edge gives ON events and its leading edge OFF events (the events' centroid moves down during the
first saccade with ON events above OFF ones), as for a dark digit on a bright screen, so the script encodes
the inverted digit; the delta encoder works on intensity, where a real pixel responds to log intensity.

Usage (MNIST and the N-MNIST subset from $SPIKEKIT_DATA, e.g. ../shared/data):
    python examples/delta_vs_nmnist.py [--out docs/delta_vs_nmnist.png] [--steps 90] [--threshold 0.1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import spikekit as sk
from spikekit.data.events import load_events
from spikekit.plot.events import bin_events

SIZE = 34  # N-MNIST's sensor is 34 x 34
DURATION_MS = 315.0  # three saccades of 105 ms
WAYPOINTS = np.array([[0.0, 0.0], [3.5, 7.0], [7.0, 0.0], [0.0, 0.0]])  # (dx, dy) in pixels


def saccades(image: torch.Tensor, steps: int) -> torch.Tensor:
    """``[28, 28]`` image -> ``[T, 1, 1, 34, 34]`` sequence moving along the three saccades (bilinear)."""
    canvas = torch.zeros(1, 1, SIZE, SIZE)
    canvas[..., :28, :28] = image
    phase = np.linspace(0, 3, steps, endpoint=False)  # which saccade, and how far into it
    k = phase.astype(int)
    ease = (1 - np.cos(np.pi * (phase - k))) / 2  # slow - fast - slow, like the pan-tilt unit
    shift = WAYPOINTS[k] + ease[:, None] * (WAYPOINTS[k + 1] - WAYPOINTS[k])  # [T, 2]
    theta = torch.zeros(steps, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, :, 2] = -torch.tensor(shift, dtype=torch.float32) * 2 / SIZE  # pixels -> [-1, 1] units
    grid = F.affine_grid(theta, (steps, 1, SIZE, SIZE), align_corners=False)
    moved = F.grid_sample(canvas.expand(steps, -1, -1, -1), grid, align_corners=False)  # [T, 1, 34, 34]
    return (1 - moved).unsqueeze(1)  # a dark digit on a bright screen (module docstring); [T, 1, 1, 34, 34]


def draw(ax, image: np.ndarray, title: str) -> None:
    top = max(float(np.abs(image).max()), 1e-9)
    ax.imshow(image, cmap="bwr", vmin=-top, vmax=top, interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.set_axis_off()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--data-dir", default=None, help="folder holding mnist/ and nmnist-small/ ($SPIKEKIT_DATA)"
    )
    p.add_argument("--out", type=Path, default=Path("docs/delta_vs_nmnist.png"))
    p.add_argument("--steps", type=int, default=90, help="time steps over the 315 ms (3.5 ms each)")
    p.add_argument("--threshold", type=float, default=0.1, help="sk.encode.delta's threshold")
    p.add_argument("--panels", type=int, default=6, help="time windows shown")
    args = p.parse_args()

    mnist = sk.data.load("mnist", args.data_dir, split="train")
    recording = load_events("nmnist-small", args.data_dir, split="train")
    events, label = recording[0]
    assert int(mnist.targets[0]) == label, "N-MNIST's first recording is MNIST's first training digit"

    seq = saccades(mnist.images[0, 0], args.steps)  # [T, 1, 1, 34, 34]
    spikes = sk.encode.delta(seq, threshold=args.threshold)[:, 0, 0].numpy()  # [T, 34, 34] in {-1, 0, 1}
    real, _ = bin_events(events, (SIZE, SIZE, 2), n_bins=args.steps)  # [T, 2, 34, 34] (OFF, ON) counts
    real_signed = real[:, 1] - real[:, 0]  # [T, 34, 34]

    ms = DURATION_MS / args.steps
    fig = Figure(figsize=(1.6 * args.panels, 6.4), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, args.panels)
    windows = np.array_split(np.arange(args.steps), args.panels)
    for i, w in enumerate(windows):
        span = f"{w[0] * ms:.0f}-{(w[-1] + 1) * ms:.0f} ms"
        draw(fig.add_subplot(grid[0, i]), spikes[w].sum(0), f"delta: {span}")
        draw(fig.add_subplot(grid[1, i]), real_signed[w].sum(0), f"N-MNIST: {span}")
    half = args.panels // 2
    rate = fig.add_subplot(grid[2, :half])
    t = (np.arange(args.steps) + 0.5) * ms
    rate.plot(t, np.abs(spikes).sum((1, 2)), label="delta (ideal sensor)", color="tab:purple")
    rate.plot(t, real.sum((1, 2, 3)), label="N-MNIST (ATIS camera)", color="tab:green")
    rate.set_xlabel("time (ms)")
    rate.set_ylabel(f"events per {ms:.1f} ms")
    rate.legend(fontsize=7)
    draw(fig.add_subplot(grid[2, half]), spikes.sum(0), "delta: all, ON - OFF")
    draw(fig.add_subplot(grid[2, half + 1]), real_signed.sum(0), "N-MNIST: all, ON - OFF")
    if args.panels > half + 2:
        draw(fig.add_subplot(grid[2, half + 2]), mnist.images[0, 0].numpy(), f"MNIST digit ({label})")
    fig.suptitle(
        "sk.encode.delta on a saccading MNIST digit vs the real N-MNIST recording (ON red, OFF blue)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)

    on_d, off_d = int((spikes > 0).sum()), int((spikes < 0).sum())
    on_r, off_r = int(real[:, 1].sum()), int(real[:, 0].sum())
    footprint = np.abs(spikes).sum(0) > 0  # pixels the ideal sensor ever reports
    outside = int(real.sum((0, 1))[~footprint].sum())
    print(f"delta encoding: {on_d + off_d} events ({on_d} ON, {off_d} OFF), threshold {args.threshold}")
    print(f"N-MNIST:        {on_r + off_r} events ({on_r} ON, {off_r} OFF)")
    share = outside / (on_r + off_r)
    print(f"N-MNIST events at pixels the ideal sensor never reports (noise, blur): {outside} ({share:.0%})")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
