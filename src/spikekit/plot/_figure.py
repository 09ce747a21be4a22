"""What every figure of :mod:`spikekit.plot` shares: a headless Agg figure, one style, saving (PNG at
200 dpi, SVG, PDF; several at once), labelled colour bars, array conversion."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .._io import atomic_open

__all__ = ["DPI", "SAVE_FORMATS", "STYLE", "colorbar", "figure", "save", "styled", "threshold_of", "to_numpy"]

SAVE_FORMATS = (".png", ".svg", ".pdf")
DPI = 200  # PNG resolution: sharp on a slide or in print
#: The one style of every spikekit figure: readable sizes, firm lines, no top or right spine.
STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 8,
    "lines.linewidth": 1.5,
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",  # SVG text stays text (editable in a paper's figure)
    "pdf.fonttype": 42,  # TrueType in PDF, as journals ask
}

F = TypeVar("F", bound=Callable[..., Any])


def styled(fn: F) -> F:
    """Run ``fn`` (which builds, and maybe saves, a figure) inside :data:`STYLE`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context(STYLE):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def colorbar(fig: Figure, mappable: Any, ax: Any, label: str, **kwargs: Any) -> Any:
    """A colour bar beside ``ax`` that says what its colours mean (``label``, with units)."""
    cb = fig.colorbar(mappable, ax=ax, **({"fraction": 0.05} | kwargs))
    cb.set_label(label)
    return cb


def threshold_of(source: Any, neuron: int | None = None) -> float | None:
    """A neuron layer's firing threshold as a float, or ``None`` when unknown.

    ``source`` may be a number, a tensor (one value, or one per neuron: ``neuron`` picks it), a neuron
    module (its ``threshold``), or a Trace or Recording entry carrying ``threshold`` or ``module``.
    """
    for attr in ("threshold", "module", "layer"):
        if not isinstance(source, (int, float, torch.Tensor, np.ndarray)) and hasattr(source, attr):
            return threshold_of(getattr(source, attr), neuron)
    if isinstance(source, bool) or source is None:
        return None
    if isinstance(source, (torch.Tensor, np.ndarray)):
        a = np.asarray(source.detach().cpu() if isinstance(source, torch.Tensor) else source, dtype=float)
        a = a.reshape(-1)
        if a.size == 1:
            source = float(a[0])
        elif neuron is not None and 0 <= neuron < a.size:
            source = float(a[neuron])
        else:
            return None
    if isinstance(source, (int, float)) and math.isfinite(source):
        return float(source)
    return None


def figure(width: float, height: float) -> Figure:
    """A constrained-layout figure on its own Agg canvas (no pyplot, no window, no global registry)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(
    fig: Figure,
    path: str | Path | Sequence[str | Path] | None,
    formats: Sequence[str] = SAVE_FORMATS,
    *,
    dpi: int = DPI,
) -> None:
    """Save ``fig`` to ``path`` (nothing for ``None``), in the format its suffix names (one of ``formats``).

    ``path`` may be several paths, e.g. ``("fig.png", "fig.svg", "fig.pdf")``: the figure is saved in
    each one's format (vector SVG and PDF for a paper, PNG at ``dpi`` for a slide). Every suffix is checked
    before anything is written.
    """
    if path is None:
        return
    paths = [Path(p) for p in ([path] if isinstance(path, (str, Path)) else path)]
    if not paths:
        raise ValueError("path is an empty sequence: give a path, several paths, or None")
    for p in paths:
        if p.suffix.lower() not in formats:
            raise ValueError(f"path must end with one of {', '.join(formats)}; got {str(p)!r}")
    with matplotlib.rc_context(STYLE):
        for p in paths:
            with atomic_open(p, "wb") as f:  # never half a figure, never through a planted link
                fig.savefig(f, format=p.suffix.lower()[1:], dpi=dpi)


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
