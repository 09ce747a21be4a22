"""Activity figures (rasters, heat maps, traces, rates, receptive fields, curves, animations, STDP windows);
see :mod:`spikekit.plot` for the conventions they share."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.animation import PillowWriter
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from .._io import atomic_open
from ._figure import SAVE_FORMATS, threshold_of, to_numpy
from ._figure import colorbar as _colorbar
from ._figure import figure as _figure
from ._figure import save as _save
from ._figure import styled as _styled

__all__ = [
    "raster",
    "example_neuron",
    "layer_heatmap",
    "neuron_trace",
    "rate_histogram",
    "receptive_fields",
    "training_curves",
    "animate_layers",
    "stdp_window",
    "stdp_window_grid",
    "SAVE_FORMATS",
]


# --- helpers --------------------------------------------------------------------------------------------
def _array(x: Any, name: str, finite: bool = True) -> np.ndarray:
    """``x`` (tensor or array) as float64 numpy, finite unless ``finite=False``."""
    return to_numpy(x, name, finite)


def _check_index(value: Any, name: str, size: int, axis: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if not 0 <= value < size:
        raise ValueError(f"{name} must lie in [0, {size}) ({axis} has {size}), got {value}")
    return int(value)


def _sample(x: Any, name: str, sample: int) -> np.ndarray:
    """One sample of time-first activity, ``[T, N]``: ``[T, N]`` as is, ``[T, B, ...]`` at ``sample``."""
    a = _array(x, name)
    if a.ndim < 2:
        raise ValueError(
            f"{name} must be time-first activity [T, N] or [T, B, ...] with at least 2 dimensions, "
            f"got shape {a.shape}"
        )
    if a.shape[0] == 0:
        raise ValueError(f"{name} must have at least one time step, got shape {a.shape}")
    if a.ndim == 2:
        return a
    b = _check_index(sample, "sample", a.shape[1], f"the batch of {name}")
    return a[:, b].reshape(a.shape[0], -1)


def _ax(ax: Axes | None, width: float, height: float) -> tuple[Figure, Axes]:
    if ax is None:
        fig = _figure(width, height)
        return fig, fig.add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax.figure, ax


def _layer_items(layers: Any) -> list[tuple[str, Any, Any]]:
    """``[(name, v or None, output or None)]`` from a Recording, a mapping, a Trace or a tensor."""
    if hasattr(layers, "spikes") and hasattr(layers, "v"):  # one Trace
        return [("layer", layers.v, layers.spikes)]
    if isinstance(layers, (torch.Tensor, np.ndarray)):
        return [("layer", None, layers)]
    if not isinstance(layers, Mapping):
        raise TypeError(
            "layers must be a spikekit Recording (from sk.record), a mapping {name: Trace | (v, spikes) | "
            f"spikes}}, a Trace or a tensor; got {type(layers).__name__}"
        )
    if not layers:
        raise ValueError("layers is empty: nothing to plot")
    items = []
    for name, value in layers.items():
        if hasattr(value, "spikes") and hasattr(value, "v"):
            items.append((str(name) or "layer", value.v, value.spikes))
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            items.append((str(name) or "layer", value[0], value[1]))
        elif isinstance(value, (torch.Tensor, np.ndarray)):
            items.append((str(name) or "layer", None, value))
        else:
            raise TypeError(
                f"layers[{name!r}] must be a Trace, a pair (v, spikes) or a spikes tensor, "
                f"got {type(value).__name__}"
            )
    return items


# --- activity -------------------------------------------------------------------------------------------
def _conv_units(s: np.ndarray, max_units: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_units`` units of one sample's conv activity ``[T, C, ...]``, as ``(indices, channel)``.

    Units that fired come first (chosen at random when there are more), silent ones fill what is left, so a
    layer that fires never draws an empty raster; units are sorted by channel, then position.
    """
    per_channel = int(np.prod(s.shape[2:]))
    flat = s.reshape(s.shape[0], -1)
    fired = np.flatnonzero((flat != 0).any(0))
    silent = np.flatnonzero(~(flat != 0).any(0))
    rng = np.random.default_rng(seed)
    take = rng.permutation(fired)[:max_units]
    if len(take) < max_units:
        take = np.concatenate([take, rng.permutation(silent)[: max_units - len(take)]])
    take = np.sort(take)
    return take, take // per_channel


@_styled
def raster(
    spikes: torch.Tensor | np.ndarray,
    *,
    sample: int = 0,
    max_units: int = 256,
    channels: Sequence[int] | None = None,
    seed: int = 0,
    ax: Axes | None = None,
    title: str | None = None,
    path: str | Path | Sequence[str | Path] | None = None,
) -> Figure:
    """Spike raster: a mark at ``(t, neuron)`` wherever the output is non-zero.

    Args:
        spikes: ``[T, B, ...]`` (one ``sample`` drawn, features flattened) or ``[T, N]``. A conv layer's
            ``[T, B, C, H, W]`` is not flattened into thousands of rows: at most ``max_units`` units are drawn
            (those that fired first, picked at random with ``seed``; silent ones fill the rest), sorted by
            channel, with each channel's band marked on the y axis.
        sample: which batch element.
        max_units: the most rows a conv raster draws.
        channels: draw only these channels of a conv layer (default all).
        seed: the random choice of conv units.
        ax: draw into this Axes instead of a new figure.
        title: the title.
        path: save the figure there (``.png``, ``.svg``, ``.pdf``; several paths save several formats).

    Returns:
        The Figure.

    Example:
        >>> raster(lif(x), sample=0, path=("raster.png", "raster.pdf"))
    """
    a_in = _array(spikes, "spikes")
    conv = a_in.ndim >= 4
    if conv:
        if isinstance(max_units, bool) or not isinstance(max_units, int) or max_units < 1:
            raise ValueError(f"max_units must be an int >= 1, got {max_units!r}")
        b = _check_index(sample, "sample", a_in.shape[1], "the batch of spikes")
        one = a_in[:, b]  # [T, C, ...]
        chans = list(range(one.shape[1])) if channels is None else list(channels)
        chans = [_check_index(c, "channels entry", one.shape[1], "the channels") for c in chans]
        if not chans:
            raise ValueError("channels is empty: nothing to plot")
        units, ch = _conv_units(one[:, chans], max_units, seed)
        s = one[:, chans].reshape(one.shape[0], -1)[:, units]
        ch = np.asarray(chans)[ch]
    else:
        s = _sample(spikes, "spikes", sample)  # [T, N]
    fig, a = _ax(ax, 8, 4)
    t, n = np.nonzero(s)
    a.scatter(t, n, marker="|", s=30, linewidths=1.2, color="black")
    a.set_xlim(-0.5, s.shape[0] - 0.5)
    a.set_ylim(-0.5, s.shape[1] - 0.5)
    a.set_xlabel("time step")
    if conv:
        starts = np.flatnonzero(np.r_[True, ch[1:] != ch[:-1]])
        for k in starts[1:]:
            a.axhline(k - 0.5, color="grey", lw=0.5, alpha=0.6)
        step = max(1, math.ceil(len(starts) / 16))  # at most ~16 channel labels
        a.set_yticks(starts[::step], [f"c{ch[k]}" for k in starts[::step]])
        a.set_ylabel(f"channel ({s.shape[1]} units drawn)")
        a.set_title(
            title
            or f"spike raster ({len(t)} spikes, {s.shape[1]} of {a_in[0, 0].size} units, "
            f"{len(set(ch.tolist()))} channels)"
        )
    else:
        a.set_ylabel("neuron")
        a.set_title(title or f"spike raster ({len(t)} spikes, {s.shape[1]} neurons)")
    _save(fig, path)
    return fig


def example_neuron(
    spikes: Any, *, sample: int | None = None, target: float = 0.2, low: float = 0.0, high: float = 0.9
) -> int:
    """An informative neuron to show: the one whose firing rate is closest to ``target`` among those with
    ``low < rate < high`` (it fires, but not at every step); the most active one below ``high`` (else
    neuron 0) when none qualifies.

    Args:
        spikes: ``[T, B, ...]``, ``[T, N]``, or a Trace (its spikes). Features are flattened, as in
            :func:`neuron_trace`'s ``neuron``.
        sample: rate over this batch element only (default: over every sample).
        target, low, high: the rate sought and the open interval it must lie in (spikes per step).

    Returns:
        The neuron's index into the flattened features.
    """
    if hasattr(spikes, "spikes") and hasattr(spikes, "v"):
        spikes = spikes.spikes
    s = _array(spikes, "spikes")
    if s.ndim < 2:
        raise ValueError(f"spikes must be [T, N] or [T, B, ...], got shape {s.shape}")
    if s.ndim == 2:
        fired = s != 0
    elif sample is None:
        fired = (s != 0).reshape(s.shape[0] * s.shape[1], -1)
    else:
        fired = _sample(s, "spikes", sample) != 0
    rates = fired.mean(0)
    ok = np.flatnonzero((rates > low) & (rates < high))
    if len(ok):
        return int(ok[np.argmin(np.abs(rates[ok] - target))])
    below = np.flatnonzero(rates < high)
    return int(below[np.argmax(rates[below])]) if len(below) else 0


@_styled
def layer_heatmap(
    layers: Any,
    *,
    sample: int = 0,
    path: str | Path | None = None,
    cmap_v: str = "viridis",
    cmap_out: str = "Greys",
) -> Figure:
    """Per layer, neurons x time heat maps of the membrane and of the output (the original's figure).

    Args:
        layers: a :class:`spikekit.nn.Recording` (``with sk.record(model) as rec``), a mapping
            ``{name: Trace | (v, spikes) | spikes}`` (``v`` may be ``None``), a Trace, or a spikes tensor.
            Each tensor is ``[T, B, ...]`` or ``[T, N]``.
        sample: which batch element.
        path: save the figure there.
        cmap_v, cmap_out: colour maps of the membrane and of the output.

    Returns:
        The Figure: one row per layer, membrane on the left, output on the right.
    """
    items = _layer_items(layers)
    fig = _figure(11, 2.6 * len(items))
    grid = fig.subplots(len(items), 2, squeeze=False)
    for row, (name, v, out) in zip(grid, items, strict=True):
        for a, data, what, cmap in ((row[0], v, "membrane", cmap_v), (row[1], out, "output", cmap_out)):
            if data is None:
                a.set_axis_off()
                a.set_title(f"{name}: no {what} recorded")
                continue
            d = _sample(data, f"{name} {what}", sample)  # [T, N]
            scale = {} if what == "membrane" else {"vmin": min(0.0, d.min()), "vmax": max(1.0, d.max())}
            im = a.imshow(d.T, aspect="auto", origin="lower", interpolation="nearest", cmap=cmap, **scale)
            _colorbar(fig, im, a, "membrane potential (v)" if what == "membrane" else "spikes per step")
            a.set_title(f"{name}: {what}")
            a.set_xlabel("time step")
            a.set_ylabel("neuron")
    _save(fig, path)
    return fig


@_styled
def neuron_trace(
    v: Any,
    spikes: torch.Tensor | np.ndarray | None = None,
    *,
    neuron: int = 0,
    sample: int = 0,
    threshold: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    path: str | Path | None = None,
) -> Figure:
    """One neuron's membrane over time, with its threshold and its spikes.

    Args:
        v: the membrane ``[T]``, ``[T, N]`` or ``[T, B, ...]``, or a Trace (``rec["layer"]``; then its spikes
            are used unless ``spikes`` is given).
        spikes: the output, shaped like ``v`` (optional); non-zero steps are marked.
        neuron: which neuron (index into the flattened features).
        sample: which batch element.
        threshold: draw the threshold at this value (``None``: the Trace's layer threshold if it carries
            one, else no line). A neuron module or a per-neuron threshold tensor is accepted too.
        ax, title, path: as :func:`raster`.

    Returns:
        The Figure.
    """
    if hasattr(v, "v") and hasattr(v, "spikes"):
        if threshold is None:  # a Trace that carries its layer (or its threshold): draw that threshold
            threshold = threshold_of(v, neuron if isinstance(neuron, int) else None)
        v, spikes = v.v, (v.spikes if spikes is None else spikes)
    va = _array(v, "v")
    if va.ndim == 1:
        va = va[:, None]
    vs = _sample(va, "v", sample)
    i = _check_index(neuron, "neuron", vs.shape[1], "the layer")
    fig, a = _ax(ax, 8, 3)
    steps = np.arange(vs.shape[0])
    a.plot(steps, vs[:, i], color="tab:blue", lw=1.5, label="membrane")
    if isinstance(threshold, (torch.Tensor, np.ndarray, torch.nn.Module)):
        threshold = threshold_of(threshold, i)
    if threshold is not None:
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not math.isfinite(threshold)
        ):
            raise TypeError(f"threshold must be a finite float or None, got {threshold!r}")
        a.axhline(threshold, color="tab:red", ls="--", lw=1, label=f"threshold {threshold:g}")
    if spikes is not None:
        sa = _array(spikes, "spikes")
        if sa.ndim == 1:
            sa = sa[:, None]
        if sa.shape != va.shape:
            raise ValueError(f"spikes must have the shape of v, {va.shape}; got {sa.shape}")
        ss = _sample(sa, "spikes", sample)[:, i]
        times = np.nonzero(ss)[0]
        for t in times:
            a.axvline(t, color="tab:orange", alpha=0.35, lw=1)
        top = max(float(vs[:, i].max()), threshold if threshold is not None else -np.inf)
        a.plot(times, np.full(times.shape, top), "v", color="tab:orange", label=f"spikes ({len(times)})")
    a.set_xlabel("time step")
    a.set_ylabel("membrane")
    a.set_title(title or f"neuron {i}")
    a.legend(loc="best", fontsize="small")
    _save(fig, path)
    return fig


@_styled
def rate_histogram(layers: Any, *, bins: int = 20, path: str | Path | None = None) -> Figure:
    """Histogram, per layer, of each neuron's firing rate (share of steps and samples it spiked at).

    Args:
        layers: as :func:`layer_heatmap` (only the outputs are used); all samples of the batch count.
        bins: number of bins over [0, 1].
        path: save the figure there.

    Returns:
        The Figure: one panel per layer.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be an int >= 1, got {bins!r}")
    items = _layer_items(layers)
    ncols = min(len(items), 4)
    nrows = math.ceil(len(items) / ncols)
    fig = _figure(3.6 * ncols, 2.8 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for a, (name, _, out) in zip(axes, items, strict=False):
        s = _array(out, f"{name} output")
        if s.ndim < 2:
            raise ValueError(f"{name} output must be [T, N] or [T, B, ...], got shape {s.shape}")
        fired = (s != 0).reshape(s.shape[0], -1) if s.ndim == 2 else (s != 0).reshape(*s.shape[:2], -1)
        rates = fired.mean(axis=tuple(range(fired.ndim - 1)))  # [N]
        a.hist(rates, bins=bins, range=(0.0, 1.0), color="tab:blue", edgecolor="white")
        a.set_title(f"{name} (mean {rates.mean():.3f})")
        a.set_xlabel("firing rate (spikes / step)")
        a.set_ylabel("neurons")
    for a in axes[len(items) :]:
        a.set_axis_off()
    _save(fig, path)
    return fig


@_styled
def receptive_fields(
    weight: torch.Tensor | np.ndarray,
    image_shape: Sequence[int],
    *,
    neurons: Sequence[int] | None = None,
    ncols: int = 10,
    cmap: str = "RdBu_r",
    titles: Sequence[str] | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Each neuron's input weights drawn as an image (for a class's output neuron: the class's pattern).

    Args:
        weight: ``[N, H * W]``, e.g. ``model.fc1.weight``.
        image_shape: ``(H, W)`` (or ``(1, H, W)``).
        neurons: which rows to draw (default all).
        ncols: panels per row.
        cmap: a diverging colour map; each panel is symmetric around 0.
        titles: one title per drawn neuron (default ``"#i"``).
        path: save the figure there.

    Returns:
        The Figure.
    """
    w = _array(weight, "weight")
    if w.ndim != 2:
        raise ValueError(f"weight must be [N, H*W] (2 dimensions), got shape {w.shape}")
    shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else None
    if shape is not None and len(shape) == 3 and shape[0] == 1:
        shape = shape[1:]
    if shape is None or len(shape) != 2 or not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError(f"image_shape must be (H, W) of positive ints, got {image_shape!r}")
    if shape[0] * shape[1] != w.shape[1]:
        raise ValueError(
            f"image_shape {shape} holds {shape[0] * shape[1]} pixels but weight has {w.shape[1]} inputs "
            "per neuron"
        )
    idx = (
        list(range(w.shape[0]))
        if neurons is None
        else [_check_index(i, "neurons entry", w.shape[0], "weight") for i in neurons]
    )
    if not idx:
        raise ValueError("neurons is empty: nothing to draw")
    if titles is not None and len(titles) != len(idx):
        raise ValueError(f"titles must have one entry per drawn neuron ({len(idx)}), got {len(titles)}")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be an int >= 1, got {ncols!r}")
    ncols = min(ncols, len(idx))
    nrows = math.ceil(len(idx) / ncols)
    fig = _figure(1.4 * ncols, 1.5 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for k, a in enumerate(axes):
        a.set_axis_off()
        if k >= len(idx):
            continue
        img = w[idx[k]].reshape(shape)
        m = float(np.abs(img).max()) or 1.0
        a.imshow(img, cmap=cmap, vmin=-m, vmax=m, interpolation="nearest")
        a.set_title(titles[k] if titles is not None else f"#{idx[k]}", fontsize="small")
    scale = ScalarMappable(Normalize(-1.0, 1.0), cmap)  # each panel spans its own -max..max
    _colorbar(fig, scale, axes, "weight (/ largest |weight| of its panel)", shrink=0.8)
    _save(fig, path)
    return fig


# --- training -------------------------------------------------------------------------------------------
def _read_metrics(metrics: str | Path | Sequence[Mapping]) -> list[dict]:
    if isinstance(metrics, (str, Path)):
        p = Path(metrics)
        if not p.is_file():
            raise FileNotFoundError(f"metrics file {str(p)!r} does not exist")
        rows = []
        for n, line in enumerate(p.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{p}: line {n} is not JSON ({e.msg}): {line[:80]!r}") from None
            if not isinstance(row, dict):
                raise ValueError(f"{p}: line {n} must be a JSON object, got {type(row).__name__}")
            rows.append(row)
    elif isinstance(metrics, Sequence) and all(isinstance(r, Mapping) for r in metrics):
        rows = [dict(r) for r in metrics]
    else:
        raise TypeError(
            f"metrics must be a JSON-lines file path or a list of dicts, got {type(metrics).__name__}"
        )
    if not rows:
        raise ValueError("metrics holds no epoch: nothing to plot")
    return rows


@_styled
def training_curves(metrics: str | Path | Sequence[Mapping], *, path: str | Path | None = None) -> Figure:
    """Loss, accuracy and learning rate per epoch from the trainer's metrics (JSON lines).

    Args:
        metrics: a JSON-lines file (one object per epoch, e.g. ``{"epoch": 1, "train_loss": ...,
            "train_acc": ..., "test_loss": ..., "test_acc": ..., "lr": ..., "seconds": ...}``) or a list of
            such dicts. Keys ending in ``loss`` go to the loss panel, in ``acc``/``accuracy`` to the accuracy
            panel, ``lr`` to its own; missing values are skipped.
        path: save the figure there.

    Returns:
        The Figure.
    """
    rows = _read_metrics(metrics)
    x = [r.get("epoch", i + 1) for i, r in enumerate(rows)]
    numeric = {
        k for r in rows for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    keys = sorted(numeric, key=lambda k: (not k.startswith("train"), k))  # train before test
    groups = {
        "loss": [k for k in keys if k.endswith("loss")],
        "accuracy": [k for k in keys if k.endswith(("acc", "accuracy"))],
        "learning rate": [k for k in keys if k == "lr"],
    }
    groups = {g: ks for g, ks in groups.items() if ks}
    if not groups:
        raise ValueError(f"metrics have no loss, accuracy or lr key to plot; keys found: {keys}")
    fig = _figure(4.2 * len(groups), 3.2)
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for a, (group, ks) in zip(axes, groups.items(), strict=True):
        for k in ks:
            pts = [(xi, r[k]) for xi, r in zip(x, rows, strict=True) if isinstance(r.get(k), (int, float))]
            a.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, label=k)
        a.set_xlabel("epoch")
        a.set_title(group)
        if group == "learning rate" and all(r.get("lr", 1) > 0 for r in rows if "lr" in r):
            a.set_yscale("log")
        a.legend(fontsize="small")
    _save(fig, path)
    return fig


# --- animation ------------------------------------------------------------------------------------------
def _square(n: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


@_styled
def animate_layers(
    layers: Any,
    path: str | Path | None = None,
    *,
    sample: int = 0,
    kind: str = "spikes",
    fps: int = 8,
    dpi: int = 80,
) -> Figure:
    """An animation (GIF) of activity spreading through the layers: one frame per time step.

    Each layer's neurons are laid out on a near-square grid. Written with matplotlib's ``PillowWriter``.

    Args:
        layers: as :func:`layer_heatmap`; all layers must have the same number of steps.
        path: write the GIF there (``.gif``); ``None`` draws only the last frame.
        sample: which batch element.
        kind: ``"spikes"`` (the outputs) or ``"v"`` (the membranes).
        fps: frames per second.
        dpi: resolution of the frames.

    Returns:
        The Figure, showing the last frame.
    """
    if kind not in ("spikes", "v"):
        raise ValueError(f"kind must be one of 'spikes', 'v'; got {kind!r}")
    if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
        raise ValueError(f"fps must be an int >= 1, got {fps!r}")
    data = []
    for name, v, out in _layer_items(layers):
        x = out if kind == "spikes" else v
        if x is None:
            raise ValueError(f"layer {name!r} has no {'membrane' if kind == 'v' else 'output'} recorded")
        data.append((name, _sample(x, f"{name} {kind}", sample)))  # [T, N]
    steps = {d.shape[0] for _, d in data}
    if len(steps) != 1:
        raise ValueError(f"all layers must have the same number of steps, got {sorted(steps)}")
    n_steps = steps.pop()
    fig = _figure(2.8 * len(data), 3.2)
    axes = fig.subplots(1, len(data), squeeze=False)[0]
    images, frames = [], []
    for a, (name, d) in zip(axes, data, strict=True):
        rows, cols = _square(d.shape[1])
        padded = np.full((n_steps, rows * cols), np.nan)
        padded[:, : d.shape[1]] = d
        grid = padded.reshape(n_steps, rows, cols)
        lo, hi = (
            (0.0, max(float(np.nanmax(d)), 1e-12)) if kind == "spikes" else (float(d.min()), float(d.max()))
        )
        images.append(
            a.imshow(
                grid[0], vmin=lo, vmax=hi if hi > lo else lo + 1, cmap="inferno", interpolation="nearest"
            )
        )
        frames.append(grid)
        a.set_title(f"{name} ({d.shape[1]})")
        a.set_axis_off()
        _colorbar(
            fig,
            images[-1],
            a,
            "spikes per step" if kind == "spikes" else "membrane potential (v)",
            location="bottom",
            shrink=0.8,
        )
    label = fig.suptitle("t = 0")

    def draw(t: int) -> None:
        for im, grid in zip(images, frames, strict=True):
            im.set_data(grid[t])
        label.set_text(f"t = {t}")

    if path is not None:
        p = Path(path)
        if p.suffix.lower() != ".gif":
            raise ValueError(f"path must end with .gif, got {str(path)!r}")
        writer = PillowWriter(fps=fps)
        with atomic_open(p, "wb") as f, writer.saving(fig, f.name, dpi):  # Pillow writes our temp file
            for t in range(n_steps):
                draw(t)
                writer.grab_frame()
    draw(n_steps - 1)
    return fig


# --- STDP windows ---------------------------------------------------------------------------------------
def _windows(windows: Any) -> list[tuple[np.ndarray, np.ndarray, Callable | None, str | None]]:
    def one(w: Any, i: int):
        dt, dw = _array(w.dt, f"windows[{i}].dt"), _array(w.dw, f"windows[{i}].dw", finite=False)
        if dt.ndim != 1 or dt.shape != dw.shape:
            raise ValueError(
                f"windows[{i}]: dt and dw must be 1-D of the same length, got {dt.shape} and {dw.shape}"
            )
        return dt, dw, getattr(w, "fitted", None), getattr(w, "label", None)

    if hasattr(windows, "dt"):
        return [one(windows, 0)]
    if isinstance(windows, (tuple, list)) and windows and all(hasattr(w, "dt") for w in windows):
        return [one(w, i) for i, w in enumerate(windows)]
    if isinstance(windows, tuple) and len(windows) == 2:
        dt, dw = _array(windows[0], "dt"), _array(windows[1], "dw", finite=False)
        if dt.ndim != 1 or dt.shape != dw.shape:
            raise ValueError(f"dt and dw must be 1-D of the same length, got {dt.shape} and {dw.shape}")
        return [(dt, dw, None, None)]
    raise TypeError(
        "windows must be a window (e.g. sk.analysis.controlled_window(...), or a layer of network_window), "
        f"a list of them, or a pair (dt, dw); got {type(windows).__name__}"
    )


@_styled
def stdp_window(
    windows: Any,
    *,
    labels: Sequence[str] | None = None,
    normalize: bool = False,
    ax: Axes | None = None,
    title: str | None = None,
    ylabel: str | None = None,
    path: str | Path | None = None,
) -> Figure:
    """STDP window(s): ``dt = t_post - t_pre`` on x, the weight change ``-dL/dw`` on y, with the fit.

    Args:
        windows: a result of :func:`spikekit.analysis.controlled_window` (or a layer of
            :func:`~spikekit.analysis.network_window`), a list of them (overlaid), a pair ``(dt, dw)``, or a
            whole :func:`~spikekit.analysis.network_window` result (each layer's reconstructed window
            ``window - baseline``, overlaid). Where the result has ``fitted(dt)``, the fitted two-sided
            exponential is drawn as a line.
        labels: legend entries (default each window's ``label``).
        normalize: divide each window by its largest ``|dw|``.
        ylabel: the y axis label (default ``"-dL/dw"``; ``"-dL/dW per pair - mean"`` for a
            ``network_window`` result).
        ax, title, path: as :func:`raster` (a ``network_window`` result's default title:
            ``"window reconstructed from pairs"``).

    Returns:
        The Figure.

    Example:
        >>> sk.plot.stdp_window(sk.analysis.network_window(model, x, y), path="layers.png")
    """
    if hasattr(windows, "layers") and not hasattr(windows, "dt"):  # a NetworkWindow: its layers
        windows = list(windows.layers)
        ylabel = "-dL/dW per pair - mean" if ylabel is None else ylabel
        title = title or "window reconstructed from pairs"
    ylabel = "-dL/dw" if ylabel is None else ylabel
    items = _windows(windows)
    if labels is not None and len(labels) != len(items):
        raise ValueError(f"labels must have one entry per window ({len(items)}), got {len(labels)}")
    fig, a = _ax(ax, 7, 4)
    for i, (dt, dw, fitted, label) in enumerate(items):
        scale = float(np.nanmax(np.abs(dw))) if normalize and np.isfinite(dw).any() else 1.0
        scale = scale or 1.0
        color = f"C{i % 10}"
        name = labels[i] if labels is not None else (label or f"window {i}")
        marker, hollow = "os^Dv"[i % 5], i % 2 == 1  # overlapping windows stay visible
        a.plot(
            dt,
            dw / scale,
            marker,
            ms=4 if hollow else 3.5,
            color=color,
            label=name,
            ls="none",
            mfc="none" if hollow else color,
        )
        if fitted is not None:
            dense = np.linspace(dt.min(), dt.max(), 400)
            a.plot(dense, fitted(dense) / scale, "-", lw=1.2, color=color)
    a.axhline(0, color="grey", lw=0.8)
    a.axvline(0, color="grey", lw=0.8, ls=":")
    a.set_xlabel("dt = t_post - t_pre (steps)")
    a.set_ylabel(ylabel + (" (normalised)" if normalize else ""))
    a.set_title(title or "STDP window implied by backpropagation")
    a.legend(fontsize="x-small")
    _save(fig, path)
    return fig


def _panel(w: Any) -> str:
    """A window's default panel: its neuron and surrogate, and its remedy if any."""
    remedy = getattr(w, "remedy", "none")
    name = f"{getattr(w, 'neuron', '')} / {getattr(w, 'surrogate', '')}"
    return name if remedy in (None, "none") else f"{name}\n+ {remedy}"


@_styled
def stdp_window_grid(
    windows: Sequence[Any],
    *,
    key: Callable[[Any], str] | None = None,
    ncols: int = 4,
    normalize: bool = True,
    path: str | Path | None = None,
) -> Figure:
    """Several STDP windows, one panel per group (``key(window)``), overlaid within a panel by loss.

    Args:
        windows: results of :func:`spikekit.analysis.controlled_window` (anything :func:`stdp_window` takes),
            or a table of them (:func:`spikekit.analysis.run_stdp_window`'s result: its ``rows``).
        key: the panel a window goes to (default: its neuron and surrogate, and its remedy if any).
        ncols: panels per row.
        normalize: normalise each window by its largest ``|dw|``.
        path: save the figure there.

    Returns:
        The Figure.

    Example:
        >>> sk.plot.stdp_window_grid(sk.analysis.run_stdp_window(), path="stdp.png")
    """
    if hasattr(windows, "rows") and not hasattr(windows, "dt"):  # an STDPTable
        windows = windows.rows
    windows = list(windows)
    if not windows:
        raise ValueError("windows is empty: nothing to plot")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be an int >= 1, got {ncols!r}")
    key = key or _panel
    groups: dict[str, list] = {}
    for w in windows:
        groups.setdefault(key(w), []).append(w)
    ncols = min(ncols, len(groups))
    nrows = math.ceil(len(groups) / ncols)
    fig = _figure(4.2 * ncols, 3.0 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for a, (name, ws) in zip(axes, groups.items(), strict=False):
        labels = [str(getattr(w, "loss", getattr(w, "label", i))) for i, w in enumerate(ws)]
        stdp_window(ws, labels=labels, normalize=normalize, ax=a, title=name)
        a.title.set_fontsize("small")
    for a in axes[len(groups) :]:
        a.set_axis_off()
    _save(fig, path)
    return fig
