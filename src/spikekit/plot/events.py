"""Seeing event data: a camera recording as an animation (GIF) and as an x-y-t scatter, a grid of frames,
and the raster of a cochlea recording; :func:`plot_recording` draws them all for one recording.

Events are NumPy structured arrays in Tonic's layout, as :mod:`spikekit.data.events` returns them: a camera's
``x, y, t, p`` (``t`` in microseconds, ``p`` 1 = ON, 0 = OFF), a cochlea's ``t, x, p`` (``x`` the channel).
ON events are drawn red, OFF events blue. Like :mod:`spikekit.plot`, every function builds a
:class:`~matplotlib.figure.Figure` on an Agg canvas (no ``pyplot``, no window), returns it, and saves it
when given ``path``.

Example:
    >>> events = sk.data.events.read_nmnist("nmnist-small/1.bs2")  # doctest: +SKIP
    >>> animate_events(events, "digit.gif", time_window=10_000)  # doctest: +SKIP
    >>> event_scatter(events, "digit-xyt.png")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.animation import PillowWriter
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._io import atomic_open
from ._figure import colorbar as _colorbar
from ._figure import figure as _figure
from ._figure import save as _save
from ._figure import styled as _styled

__all__ = [
    "animate_events",
    "event_scatter",
    "frame_grid",
    "cochlea_raster",
    "bin_events",
    "plot_recording",
]


# --- helpers --------------------------------------------------------------------------------------------
def _events(events: Any, fields: Sequence[str], what: str) -> np.ndarray:
    names = getattr(getattr(events, "dtype", None), "names", None)
    if not isinstance(events, np.ndarray) or names is None or not set(fields) <= set(names):
        got = f"fields {names}" if names else type(events).__name__
        raise TypeError(
            f"events must be a structured array of {what} events with fields {', '.join(fields)} "
            f"(Tonic's layout, as spikekit.data.events returns), got {got}"
        )
    return events


def _camera_sensor(events: np.ndarray, sensor_size: Sequence[int] | None) -> tuple[int, int]:
    if sensor_size is not None:
        if len(sensor_size) < 2 or int(sensor_size[0]) < 1 or int(sensor_size[1]) < 1:
            raise ValueError(f"sensor_size must be (W, H[, P]) with W, H >= 1, got {sensor_size!r}")
        return int(sensor_size[0]), int(sensor_size[1])
    if len(events) == 0:
        raise ValueError("sensor_size is needed for an empty recording (it cannot be read off the events)")
    return int(events["x"].max()) + 1, int(events["y"].max()) + 1


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def bin_events(
    events: np.ndarray,
    sensor_size: Sequence[int] | None = None,
    *,
    n_bins: int | None = None,
    time_window: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Count camera events per pixel and polarity in equal time bins from ``t = 0``.

    Args:
        events: structured array ``x, y, t, p``.
        sensor_size: ``(W, H[, P])``; by default read off the events.
        n_bins: this many bins spanning ``[0, last time]`` ...
        time_window: ... or bins of this many microseconds (exactly one of the two).

    Returns:
        ``(frames [T, 2, H, W] float (OFF, ON), edges [T + 1] in microseconds)``.
    """
    events = _events(events, ("x", "y", "t", "p"), "camera")
    if (n_bins is None) == (time_window is None):
        raise ValueError(f"give exactly one of n_bins, time_window; got {n_bins!r} and {time_window!r}")
    width, height = _camera_sensor(events, sensor_size)
    end = float(events["t"].max()) + 1 if len(events) else 1.0
    if n_bins is not None:
        edges = np.linspace(0.0, end, _positive_int(n_bins, "n_bins") + 1)
    else:
        if not time_window > 0:
            raise ValueError(f"time_window must be > 0 microseconds, got {time_window!r}")
        edges = np.arange(0.0, end + time_window, time_window)[: math.ceil(end / time_window) + 1]
    steps = len(edges) - 1
    frames = np.zeros((steps, 2, height, width))
    if len(events):
        t = np.clip(np.searchsorted(edges, events["t"], side="right") - 1, 0, steps - 1)
        p = (events["p"] > 0).astype(np.int64)
        np.add.at(frames, (t, p, events["y"], events["x"]), 1.0)
    return frames, edges


def _signed(frames: np.ndarray) -> np.ndarray:
    """``[T, P, H, W]`` -> ``[T, H, W]``: ON minus OFF for two polarities, the sum otherwise."""
    if frames.shape[1] == 2:
        return frames[:, 1] - frames[:, 0]
    return frames.sum(1)


def _frames_array(frames: Any) -> np.ndarray:
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().double().numpy()
    if not isinstance(frames, np.ndarray) or frames.dtype.names is not None:
        raise TypeError(
            f"frames must be a tensor or numpy array [T, P, H, W] or [T, H, W], got {type(frames)}"
        )
    frames = frames.astype(np.float64)
    if frames.ndim == 3:
        frames = frames[:, None]
    if frames.ndim != 4 or frames.shape[0] == 0:
        raise ValueError(f"frames must be [T, P, H, W] or [T, H, W] with T >= 1, got shape {frames.shape}")
    if not np.isfinite(frames).all():
        raise ValueError("frames must be finite")
    return frames


# --- camera ---------------------------------------------------------------------------------------------
@_styled
def animate_events(
    events: np.ndarray,
    path: str | Path | None = None,
    *,
    sensor_size: Sequence[int] | None = None,
    time_window: float = 10_000.0,
    fps: int = 10,
    dpi: int = 80,
) -> Figure:
    """An event stream as an animation: one frame per ``time_window`` microseconds, ON red, OFF blue.

    Args:
        events: camera events ``x, y, t, p``.
        path: write a GIF there (``.gif``, matplotlib's ``PillowWriter``); ``None`` draws only the last frame.
        sensor_size: ``(W, H[, P])``; by default read off the events.
        time_window: microseconds per frame (N-MNIST's ~300 ms at 10 ms: 31 frames).
        fps: frames per second of the GIF.
        dpi: resolution.

    Returns:
        The Figure, showing the last frame.
    """
    fps = _positive_int(fps, "fps")
    frames, edges = bin_events(events, sensor_size, time_window=time_window)
    signed = _signed(frames)  # [T, H, W]
    top = max(float(np.abs(signed).max()), 1.0)
    fig = _figure(3.2, 3.4)
    ax = fig.add_subplot()
    image = ax.imshow(signed[0], cmap="bwr", vmin=-top, vmax=top, interpolation="nearest")
    ax.set_axis_off()
    _colorbar(fig, image, ax, "events per pixel (ON - OFF)", shrink=0.8)
    title = ax.set_title("")

    def draw(i: int) -> None:
        image.set_data(signed[i])
        title.set_text(f"{edges[i] / 1000:.0f}-{edges[i + 1] / 1000:.0f} ms  ({int(frames[i].sum())} events)")

    if path is not None:
        p = Path(path)
        if p.suffix.lower() != ".gif":
            raise ValueError(f"path must end with .gif, got {str(path)!r}")
        writer = PillowWriter(fps=fps)
        with atomic_open(p, "wb") as f, writer.saving(fig, f.name, dpi):  # Pillow writes our temp file
            for i in range(len(signed)):
                draw(i)
                writer.grab_frame()
    draw(len(signed) - 1)
    return fig


@_styled
def event_scatter(
    events: np.ndarray,
    path: str | Path | None = None,
    *,
    max_events: int = 20_000,
    marker_size: float = 1.0,
    seed: int = 0,
) -> Figure:
    """Camera events as points in (x, time, y) space, ON red, OFF blue: the saccades show as sheets.

    Args:
        events: camera events ``x, y, t, p``.
        path: save the figure there (``.png``, ``.svg``, ``.pdf``).
        max_events: draw at most this many (a fixed random subset, ``seed``) to keep files small.
        marker_size: point size.
        seed: seeds the subset.
    """
    events = _events(events, ("x", "y", "t", "p"), "camera")
    max_events = _positive_int(max_events, "max_events")
    if len(events) > max_events:
        keep = np.sort(np.random.default_rng(seed).choice(len(events), max_events, replace=False))
        events = events[keep]
    fig = _figure(5.0, 4.2)
    ax = fig.add_subplot(projection="3d")
    for polarity, colour, label in ((1, "tab:red", "ON"), (0, "tab:blue", "OFF")):
        e = events[events["p"] == polarity]
        ax.scatter(e["x"], e["t"] / 1000, e["y"], s=marker_size, c=colour, label=label, depthshade=False)
    ax.set_xlabel("x")
    ax.set_ylabel("time (ms)")
    ax.set_zlabel("y")
    ax.invert_zaxis()  # image rows grow downwards
    ax.legend(loc="upper left", markerscale=4)
    ax.set_title(f"{len(events)} events")
    _save(fig, path)
    return fig


@_styled
def frame_grid(
    frames: Any,
    path: str | Path | None = None,
    *,
    ncols: int | None = None,
    titles: Sequence[str] | None = None,
    panel: float = 1.3,
) -> Figure:
    """A grid of frames ``[T, P, H, W]`` (or ``[T, H, W]``): ON minus OFF in red/blue for two polarities.

    Args:
        frames: a tensor or array; one sample's frames, time first (e.g. ``batch.frames[:, 0]``).
        path: save the figure there.
        ncols: panels per row (default: near-square).
        titles: one title per frame (default ``t = i``).
        panel: inches per panel.
    """
    frames = _frames_array(frames)
    signed = _signed(frames)
    steps = len(signed)
    cols = _positive_int(ncols, "ncols") if ncols is not None else math.ceil(math.sqrt(steps))
    rows = math.ceil(steps / cols)
    if titles is not None and len(titles) != steps:
        raise ValueError(f"titles must have one entry per frame ({steps}), got {len(titles)}")
    top = max(float(np.abs(signed).max()), 1e-12)
    two = frames.shape[1] == 2
    fig = _figure(panel * cols, panel * rows + 0.2)
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= steps:
            continue
        cmap, lo = ("bwr", -top) if two else ("gray_r", 0.0)
        image = ax.imshow(signed[i], cmap=cmap, vmin=lo, vmax=top, interpolation="nearest")
        ax.set_title(titles[i] if titles is not None else f"t = {i}", fontsize=8)
    if steps:
        what = "events per pixel (ON - OFF)" if two else "events per pixel"
        _colorbar(fig, image, axes, what, shrink=0.8)
    _save(fig, path)
    return fig


# --- cochlea --------------------------------------------------------------------------------------------
@_styled
def cochlea_raster(
    events: np.ndarray,
    path: str | Path | None = None,
    *,
    channels: int | None = None,
    ax: Axes | None = None,
    marker_size: float = 1.5,
) -> Figure:
    """The raster of a cochlea recording: one dot per spike at (time, channel).

    Args:
        events: cochlea events ``t, x`` (``t`` in microseconds, ``x`` the channel), as SHD's reader gives.
        path: save the figure there.
        channels: the y range (700 for SHD; default: the largest channel + 1).
        ax: draw into this Axes instead of a new figure.
        marker_size: dot size.
    """
    events = _events(events, ("t", "x"), "cochlea")
    if ax is None:
        fig = _figure(6.0, 3.2)
        ax = fig.add_subplot()
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    else:
        fig = ax.figure
    ax.scatter(events["t"] / 1000, events["x"], s=marker_size, c="k", marker=".", linewidths=0)
    top = channels if channels is not None else (int(events["x"].max()) + 1 if len(events) else 1)
    ax.set_ylim(-0.5, top - 0.5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("channel")
    ax.set_title(f"{len(events)} spikes")
    _save(fig, path)
    return fig


# --- one recording, every figure ------------------------------------------------------------------------
CAMERA_PLOTS = ("animation", "scatter", "frames")
COCHLEA_PLOTS = ("raster",)


@_styled
def plot_recording(
    events: np.ndarray,
    out: str | Path,
    name: str,
    *,
    kind: str = "camera",
    plots: Sequence[str] | None = None,
    sensor_size: Sequence[int] = (34, 34, 2),
    time_window: float = 10_000.0,
    fps: int = 10,
    bins: int = 8,
) -> list[Path]:
    """Draw a recording's figures into the folder ``out``; return the files written.

    Args:
        events: a camera recording ``x, y, t, p`` or a cochlea recording ``t, x``.
        out: the folder (created if needed).
        name: the files' stem: ``<name>.gif``, ``<name>-xyt.png``, ``<name>-frames.png``,
            ``<name>-raster.png``.
        kind: ``"camera"`` or ``"cochlea"``.
        plots: which of ``"animation"``, ``"scatter"``, ``"frames"`` (camera) or ``"raster"`` (cochlea);
            default: all that apply.
        sensor_size: the camera's ``(W, H, P)`` (default N-MNIST's).
        time_window: animation: microseconds per frame.
        fps: animation: frames per second.
        bins: frame grid: number of time bins.

    Raises:
        ValueError: an unknown ``kind``, or a plot that does not apply to it.
    """
    applicable = {"camera": CAMERA_PLOTS, "cochlea": COCHLEA_PLOTS}.get(kind)
    if applicable is None:
        raise ValueError(f"kind must be 'camera' or 'cochlea', got {kind!r}")
    wanted = set(applicable if plots is None else plots)
    wrong = sorted(wanted - set(applicable))
    if wrong:
        raise ValueError(f"{', '.join(wrong)} does not apply to a {kind} recording")
    out = Path(out)
    files = []
    if "animation" in wanted:
        files.append(out / f"{name}.gif")
        animate_events(events, files[-1], sensor_size=sensor_size, time_window=time_window, fps=fps)
    if "scatter" in wanted:
        files.append(out / f"{name}-xyt.png")
        event_scatter(events, files[-1])
    if "frames" in wanted:
        frames, edges = bin_events(events, sensor_size, n_bins=bins)
        titles = [f"{a / 1000:.0f}-{b / 1000:.0f} ms" for a, b in zip(edges[:-1], edges[1:], strict=True)]
        files.append(out / f"{name}-frames.png")
        frame_grid(frames, files[-1], titles=titles)
    if "raster" in wanted:
        files.append(out / f"{name}-raster.png")
        cochlea_raster(events, files[-1])
    return files
