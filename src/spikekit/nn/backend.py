"""Choosing and reporting the multi-step engine of every neuron in a model.

Every neuron module defaults to ``backend="auto"``: the fastest engine proven equal to the functional
core for its configuration, device and dtype (:meth:`spikekit.nn.Neuron.engine` says which).
:func:`set_backend` changes it for a whole model; :func:`engines` reports what each neuron runs.

Example:
    >>> import spikekit as sk
    >>> model = sk.models.SpikingMLP()
    >>> sk.nn.engines(model)
    {'hidden.0': 'fused:cpp', 'out_lif': 'fused:cpp'}
    >>> sk.nn.set_backend(model, "torch")     # the reference loop everywhere (same spikes, slower)
"""

from __future__ import annotations

from collections import Counter

import torch
from torch import nn

from ..kernels import resolve_backend
from .neuron import Neuron

__all__ = ["engines", "engines_text", "set_backend"]


def set_backend(module: nn.Module, backend: str) -> nn.Module:
    """Set ``backend`` on every neuron of ``module`` (itself included); return ``module``.

    Raises:
        ValueError: an unknown backend name.
        RuntimeError: a backend that one of the neurons cannot run here (nothing is changed then).
    """
    neurons = [m for m in module.modules() if isinstance(m, Neuron)]
    for m in neurons:  # check all before changing any
        resolve_backend(backend, type(m).core_step)
    for m in neurons:
        m.backend = backend
    return module


def engines(module: nn.Module, device: torch.device | str | None = None) -> dict[str, str]:
    """``{name: engine}`` for every neuron of ``module`` (see :meth:`spikekit.nn.Neuron.engine`), for an
    input on ``device`` (``None``: where each neuron's tensors are) in the neuron's dtype."""
    return {
        name or type(m).__name__: m.engine(device=device)
        for name, m in module.named_modules()
        if isinstance(m, Neuron)
    }


def engines_text(module: nn.Module, device: torch.device | str | None = None) -> str:
    """One line for a log: ``"LIF x2 fused:cpp"``, ``"RLIF reference, LIF fused:cpp"``; ``"none (...)"`` for a
    model without neuron modules (an ANN, or a model that steps a functional core itself, as the LSNN)."""
    counts: Counter[tuple[str, str]] = Counter()
    named = dict(module.named_modules())
    for name, engine in engines(module, device).items():
        counts[(type(named.get(name, module)).__name__, engine)] += 1
    if not counts:
        return "none (no spikekit.nn neuron module)"
    return ", ".join(f"{kind}{f' x{n}' if n > 1 else ''} {engine}" for (kind, engine), n in counts.items())
