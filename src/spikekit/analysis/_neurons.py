"""What the STDP analysis needs to know about a neuron: its membrane decay and its output delay."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .. import nn as snn
from ..surrogate import Surrogate, check_surrogate

__all__ = ["membrane_decay", "predicted_tau", "output_delay", "inner_neuron", "build_neuron"]


def inner_neuron(module: nn.Module) -> snn.Neuron:
    """The spikekit neuron inside ``module`` (itself, or the one a wrapper such as AfterPotential holds)."""
    seen = module
    while not isinstance(seen, snn.Neuron):
        inner = getattr(seen, "neuron", None)
        if not isinstance(inner, nn.Module):
            raise TypeError(
                f"neuron must be a spikekit neuron module (spikekit.nn.Neuron) or a wrapper around one, "
                f"got {type(module).__name__}"
            )
        seen = inner
    return seen


def _scalar(value: torch.Tensor | float) -> float:
    t = torch.as_tensor(value).detach().double()
    return float(t.mean())


def membrane_decay(module: nn.Module) -> float | None:
    """The factor by which the membrane decays per step, or ``None`` if the neuron has no such factor.

    IF: 1; LIF, ALIF, RLIF: ``beta``; PLIF: ``1 - sigmoid(w)``; RefractoryLIF: ``decay``; Synaptic: the
    slower of ``alpha`` and ``beta`` (the tail of its difference-of-exponentials response); SRM:
    ``exp(-1 / max(tau_m, tau_s))``, likewise. Per-neuron values are averaged.
    """
    n = inner_neuron(module)
    if isinstance(n, snn.IF):
        return 1.0
    if isinstance(n, (snn.LIF, snn.ALIF, snn.RLIF)):
        return _scalar(n.beta)
    if isinstance(n, snn.PLIF):
        return 1.0 - _scalar(torch.sigmoid(n.w.detach()))
    if isinstance(n, snn.RefractoryLIF):
        return _scalar(n.decay)
    if isinstance(n, snn.Synaptic):
        return max(_scalar(n.alpha), _scalar(n.beta))
    if isinstance(n, snn.SRM):
        return math.exp(-1.0 / max(float(n.tau_m), float(n.tau_s)))
    return None


def predicted_tau(module: nn.Module) -> float | None:
    """``-1 / ln(decay)`` in steps (``inf`` for ``decay = 1``), or ``None`` if the decay is unknown."""
    d = membrane_decay(module)
    if d is None:
        return None
    return math.inf if d >= 1.0 else -1.0 / math.log(d)


def output_delay(module: nn.Module) -> int:
    """Steps between integrating an input and showing the result: 1 for RefractoryLIF, else 0."""
    return 1 if isinstance(inner_neuron(module), snn.RefractoryLIF) else 0


_NEURON_CLASSES = {
    "IF": snn.IF,
    "LIF": snn.LIF,
    "PLIF": snn.PLIF,
    "ALIF": snn.ALIF,
    "Synaptic": snn.Synaptic,
    "RLIF": snn.RLIF,
    "RefractoryLIF": snn.RefractoryLIF,
    "SRM": snn.SRM,
}


def build_neuron(
    neuron: str | type | nn.Module, surrogate: Surrogate | None, kwargs: dict | None
) -> nn.Module:
    """A float64 copy of ``neuron`` (a name, a class or an instance) with ``surrogate`` if given."""
    kwargs = dict(kwargs or {})
    if isinstance(neuron, str):
        if neuron not in _NEURON_CLASSES:
            raise ValueError(f"neuron must be one of {', '.join(map(repr, _NEURON_CLASSES))}; got {neuron!r}")
        neuron = _NEURON_CLASSES[neuron]
    if surrogate is not None:
        check_surrogate(surrogate)
    if isinstance(neuron, type):
        if not issubclass(neuron, snn.Neuron):
            raise TypeError(f"neuron must be a spikekit.nn.Neuron subclass, got the class {neuron.__name__}")
        if neuron is snn.RLIF:
            kwargs.setdefault("size", 1)
        if surrogate is not None:
            kwargs["surrogate"] = surrogate
        module = neuron(**kwargs)
    elif isinstance(neuron, nn.Module):
        if kwargs:
            raise ValueError(
                f"neuron_kwargs is only used to build a neuron from its class or name; got an instance "
                f"of {type(neuron).__name__} and neuron_kwargs={kwargs}"
            )
        inner_neuron(neuron)  # raises unless it is (or wraps) a neuron
        module = copy.deepcopy(neuron)
        if surrogate is not None:
            inner_neuron(module).surrogate = surrogate
    else:
        raise TypeError(
            "neuron must be a spikekit neuron name (e.g. 'LIF'), class (spikekit.nn.LIF) or instance, "
            f"got {type(neuron).__name__}"
        )
    module = module.double()
    for p in module.parameters():
        p.requires_grad_(False)
    return module
