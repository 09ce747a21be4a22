"""What every figure of :mod:`spikekit.plot` shares: a headless Agg figure, saving, array conversion."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .._io import atomic_open

__all__ = ["SAVE_FORMATS", "figure", "save", "to_numpy"]

SAVE_FORMATS = (".png", ".svg", ".pdf")


def figure(width: float, height: float) -> Figure:
    """A constrained-layout figure on its own Agg canvas (no pyplot, no window, no global registry)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: str | Path | None, formats: Sequence[str] = SAVE_FORMATS) -> None:
    """Save ``fig`` to ``path`` (nothing for ``None``); the suffix must be one of ``formats``."""
    if path is None:
        return
    p = Path(path)
    if p.suffix.lower() not in formats:
        raise ValueError(f"path must end with one of {', '.join(formats)}; got {str(path)!r}")
    with atomic_open(p, "wb") as f:  # never half a figure, never through a planted link
        fig.savefig(f, format=p.suffix.lower()[1:], dpi=100)


def to_numpy(x: Any, name: str, finite: bool = False) -> np.ndarray:
    """``x`` (a tensor or an array) as float64 NumPy; ``finite=True`` refuses NaN and infinities."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    elif isinstance(x, np.ndarray):
        x = x.astype(np.float64)
    else:
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    if finite and not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(x)).sum())} NaN/infinite value(s)")
    return x
