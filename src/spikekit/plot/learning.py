"""Plots that make local learning visible: receptive fields, neuron labels, thresholds and weights.

Headless: every function builds a :class:`matplotlib.figure.Figure` on an Agg canvas (never through
``pyplot``), returns it, and saves it as PNG when given ``path``.

Example:
    >>> fig = receptive_fields(model.input.weight, (28, 28), labels=model.labels, path="fields.png")
    >>> threshold_histograms(result_history, path="theta.png")
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure

from ._figure import colorbar as _colorbar
from ._figure import figure as _figure
from ._figure import save as _save
from ._figure import styled as _styled
from ._figure import to_numpy as _numpy

__all__ = ["neuron_labels", "receptive_fields", "threshold_histograms", "weight_histograms"]


def _grid(n: int, ncols: int | None) -> tuple[int, int]:
    if ncols is None:
        ncols = math.ceil(math.sqrt(n))
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be an int >= 1, got {ncols!r}")
    return math.ceil(n / ncols), ncols


@_styled
def receptive_fields(
    weight: torch.Tensor | np.ndarray,
    image_shape: Sequence[int] = (28, 28),
    *,
    labels: torch.Tensor | np.ndarray | None = None,
    ncols: int | None = None,
    cmap: str = "hot_r",
    path: str | Path | None = None,
) -> Figure:
    """Every neuron's incoming weights as an image, tiled into one grid (Diehl & Cook's Fig. 2).

    One ``imshow`` of the whole mosaic, so 400 or 1,600 neurons draw quickly. Each tile is scaled to its
    own maximum; tiles are separated by a one-pixel gap.

    Args:
        weight: ``[N, H * W]`` (e.g. ``model.input.weight``).
        image_shape: ``(H, W)`` (or ``(1, H, W)``).
        labels: optional neuron labels ``[N]`` written in each tile's corner (``-1``: none).
        ncols: tiles per row (default: a square grid).
        cmap: colour map (weights are non-negative for STDP layers).
        path: save the figure there (``.png``).

    Returns:
        The Figure.
    """
    w = _numpy(weight, "weight")
    shape = tuple(image_shape)[-2:] if len(tuple(image_shape)) in (2, 3) else None
    if w.ndim != 2 or shape is None or shape[0] * shape[1] != w.shape[1]:
        raise ValueError(
            f"weight must be [N, H * W] matching image_shape {tuple(image_shape)}, got shape {w.shape}"
        )
    n = w.shape[0]
    if n == 0:
        raise ValueError("weight has no neurons: nothing to draw")
    nrows, ncols = _grid(n, ncols)
    h, wd = shape
    mosaic = np.full((nrows * (h + 1) - 1, ncols * (wd + 1) - 1), np.nan)
    for k in range(n):
        r, c = divmod(k, ncols)
        tile = w[k].reshape(h, wd)
        top = float(np.abs(tile).max()) or 1.0
        mosaic[r * (h + 1) : r * (h + 1) + h, c * (wd + 1) : c * (wd + 1) + wd] = tile / top
    side = min(12.0, 0.5 + 0.45 * ncols)
    fig = _figure(side, side * nrows / ncols + 0.4)
    ax = fig.add_subplot()
    im = ax.imshow(mosaic, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()
    _colorbar(fig, im, ax, "weight (/ largest |weight| of its tile)", shrink=0.8)
    if labels is not None:
        lab = _numpy(labels, "labels").astype(int)
        if lab.shape != (n,):
            raise ValueError(f"labels must have one entry per neuron ({n}), got shape {lab.shape}")
        size = max(4.0, min(9.0, 120.0 / ncols))
        for k, value in enumerate(lab):
            if value >= 0:
                r, c = divmod(k, ncols)
                ax.text(
                    c * (wd + 1) + 0.5,
                    r * (h + 1) + 0.5,
                    str(value),
                    color="tab:blue",
                    fontsize=size,
                    ha="left",
                    va="top",
                )
    ax.set_title(f"receptive fields of {n} neurons")
    _save(fig, path)
    return fig


@_styled
def neuron_labels(
    labels: torch.Tensor | np.ndarray,
    num_classes: int,
    *,
    class_names: Sequence[str] | None = None,
    ncols: int | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Neuron labels: how many neurons each class got, and the label of each neuron on the field grid.

    Args:
        labels: ``[N]`` from :func:`spikekit.learning.assign_labels` (``-1``: never fired).
        num_classes: number of classes.
        class_names: names for the bar chart (default ``"0"`` .. ``"C-1"``).
        ncols: grid width, as in :func:`receptive_fields`.
        path: save the figure there (``.png``).
    """
    lab = _numpy(labels, "labels").astype(int)
    if lab.ndim != 1 or lab.size == 0:
        raise ValueError(f"labels must be a non-empty vector [N], got shape {lab.shape}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be an int >= 1, got {num_classes!r}")
    if lab.max() >= num_classes or lab.min() < -1:
        raise ValueError(f"labels must lie in [-1, {num_classes - 1}], got [{lab.min()}, {lab.max()}]")
    names = [str(c) for c in range(num_classes)] if class_names is None else [str(c) for c in class_names]
    if len(names) != num_classes:
        raise ValueError(f"class_names must have {num_classes} entries, got {len(names)}")
    nrows, ncols = _grid(lab.size, ncols)
    fig = _figure(10.0, 4.0)
    bars, grid = fig.subplots(1, 2, width_ratios=[1.3, 1])
    counts = np.bincount(lab[lab >= 0], minlength=num_classes)
    bars.bar(range(num_classes), counts, color="tab:blue")
    bars.set_xticks(range(num_classes), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right")
    bars.set_ylabel("neurons")
    silent = int((lab < 0).sum())
    bars.set_title(f"neurons per class ({silent} never fired)" if silent else "neurons per class")
    cells = np.full(nrows * ncols, np.nan)
    cells[: lab.size] = np.where(lab >= 0, lab, np.nan)
    im = grid.imshow(
        cells.reshape(nrows, ncols),
        cmap="tab10" if num_classes <= 10 else "tab20",
        vmin=-0.5,
        vmax=max(9.5, num_classes - 0.5),
        interpolation="nearest",
    )
    grid.set_xticks([])
    grid.set_yticks([])
    grid.set_title("label of each neuron")
    _colorbar(fig, im, grid, "class the neuron answers most", ticks=range(num_classes), shrink=0.8)
    _save(fig, path)
    return fig


def _snapshots(
    history: Sequence[Mapping[str, Any]], keys: tuple[str, ...]
) -> list[tuple[int, str, np.ndarray]]:
    """``[(images, key found, values)]`` for each snapshot, which must hold ``images`` and one of ``keys``."""
    if isinstance(history, Mapping) or not isinstance(history, Sequence) or not history:
        raise ValueError(f"history must be a non-empty list of snapshots with 'images' and one of {keys}")
    out = []
    for i, snap in enumerate(history):
        key = next((k for k in keys if isinstance(snap, Mapping) and k in snap), None)
        if key is None or "images" not in snap:
            raise ValueError(
                f"history[{i}] must be a mapping with 'images' and one of {keys}, got {snap!r:.80}"
            )
        out.append((int(snap["images"]), key, _numpy(torch.as_tensor(snap[key]), key).ravel()))
    return out


def _histograms(curves, edges: np.ndarray, *, xlabel: str, title: str, log: bool, path) -> Figure:
    if len(curves) > 10:  # at most 10 snapshots, evenly spaced, always the first and the last
        keep = sorted({round(i * (len(curves) - 1) / 9) for i in range(10)})
        curves = [curves[i] for i in keep]
    fig = _figure(7.0, 4.0)
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["viridis"]
    for k, (images, counts) in enumerate(curves):
        ax.stairs(counts, edges, color=cmap(k / max(1, len(curves) - 1)), label=f"{images:,} images")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize="small")
    _save(fig, path)
    return fig


@_styled
def threshold_histograms(history: Sequence[Mapping[str, Any]], *, bins: int = 30, path=None) -> Figure:
    """Histograms of the adaptive thresholds ``theta`` at snapshots taken during training.

    Args:
        history: ``[{"images": n, "theta": [N]}, ...]`` (what :func:`spikekit.cli.stdp.train_diehl_cook`
            records every ``checkpoint_every`` images).
        bins: number of bins.
        path: save the figure there (``.png``).
    """
    snaps = _snapshots(history, ("theta",))
    top = max(float(v.max()) for *_, v in snaps)
    low = min(float(v.min()) for *_, v in snaps)
    edges = np.linspace(low, top if top > low else low + 1.0, bins + 1)
    curves = [(n, np.histogram(v, edges)[0]) for n, _, v in snaps]
    return _histograms(
        curves, edges, xlabel="theta (mV)", title="adaptive thresholds over training", log=False, path=path
    )


@_styled
def weight_histograms(
    history: Sequence[Mapping[str, Any]], *, w_max: float = 1.0, bins: int = 50, path=None
) -> Figure:
    """Histograms of the plastic weights at snapshots taken during training (log counts).

    Args:
        history: ``[{"images": n, "weights": tensor}, ...]`` (raw weights, any shape), or with
            ``"weight_hist"``: counts already binned over ``linspace(0, w_max, bins + 1)`` (what the
            training loop records, to keep checkpoints small).
        w_max: upper end of the bins (the rule's bound).
        bins: number of bins (must match the recorded counts).
        path: save the figure there (``.png``).
    """
    snaps = _snapshots(history, ("weights", "weight_hist"))
    edges = np.linspace(0.0, float(w_max), bins + 1)
    curves = []
    for n, key, v in snaps:
        if key == "weight_hist" and v.size != bins:
            raise ValueError(f"a recorded weight_hist has {v.size} bins, but bins={bins}")
        curves.append((n, v if key == "weight_hist" else np.histogram(np.clip(v, 0.0, w_max), edges)[0]))
    return _histograms(curves, edges, xlabel="weight", title="weights over training", log=True, path=path)
