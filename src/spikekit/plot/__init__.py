"""Figures of what the neurons did: rasters, layer heat maps, membrane traces, firing rates, receptive fields,
training curves, an animation of activity through the layers, and STDP windows.

Headless by construction: every function builds a :class:`matplotlib.figure.Figure` on an Agg canvas
(never through ``pyplot``, so no window opens, no backend is switched and no figure is kept alive by
matplotlib's global registry), returns it, and saves it when given ``path`` (``.png`` at 200 dpi, ``.svg`` or
``.pdf``; several paths, e.g. ``("fig.png", "fig.pdf")``, save each format; ``.gif`` for
:func:`animate_layers`). Every figure is drawn in one style (``_figure.STYLE``: font sizes, line widths, no
top or right spine), every heat map has a colour bar saying what its colours mean, membrane traces draw the
threshold when it is known, and a conv layer's raster draws at most ``max_units`` units marked by channel.

Activity comes time-first, as everywhere in spikekit: ``[T, B, ...]`` tensors (one ``sample`` of the batch
is drawn; feature axes are flattened into neurons) or ``[T, N]`` for a single sample. Layer plots also take
what :func:`spikekit.record` returns.

Example:
    >>> with sk.record(model) as rec:
    ...     model(x)
    >>> sk.plot.layer_heatmap(rec, sample=0, path="layers.png")
    >>> sk.plot.raster(rec["lif1"].spikes, path="raster.svg")

Submodules: :mod:`~spikekit.plot.activity` (the functions above, re-exported here),
:mod:`~spikekit.plot.events` (event recordings), :mod:`~spikekit.plot.learning` (receptive fields and
histograms of local learning), :mod:`~spikekit.plot.report` (one self-contained HTML page).
"""

import importlib as _importlib

from .activity import (
    SAVE_FORMATS,
    animate_layers,
    example_neuron,
    layer_heatmap,
    neuron_trace,
    raster,
    rate_histogram,
    receptive_fields,
    stdp_window,
    stdp_window_grid,
    training_curves,
)

_SUBMODULES = ("activity", "events", "learning", "report")

__all__ = [
    "SAVE_FORMATS",
    "animate_layers",
    "example_neuron",
    "layer_heatmap",
    "neuron_trace",
    "raster",
    "rate_histogram",
    "receptive_fields",
    "stdp_window",
    "stdp_window_grid",
    "training_curves",
    *_SUBMODULES,
]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
