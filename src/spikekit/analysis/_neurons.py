"""What the STDP analysis needs to know about a neuron, read from its spec
(:class:`spikekit.functional.spec.NeuronSpec`): its membrane decay and its output delay, and how to build
one by name."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from ..functional.spec import NeuronSpec
from ..nn import Neuron
from ..nn.neuron import NEURONS
from ..surrogate import Surrogate, check_surrogate

__all__ = [
    "membrane_decay",
    "predicted_tau",
    "output_delay",
    "inner_neuron",
    "build_neuron",
    "spec_of_module",
]


def inner_neuron(module: nn.Module) -> Neuron:
    """The spikekit neuron inside ``module`` (itself, or the one a wrapper such as AfterPotential holds)."""
    seen = module
    while not isinstance(seen, Neuron):
        inner = getattr(seen, "neuron", None)
        if not isinstance(inner, nn.Module):
            raise TypeError(
                f"neuron must be a spikekit neuron module (spikekit.nn.Neuron) or a wrapper around one, "
                f"got {type(module).__name__}"
            )
        seen = inner
    return seen


def spec_of_module(module: nn.Module) -> NeuronSpec | None:
    """The spec of the neuron inside ``module`` (``None`` for a neuron class that declares none)."""
    spec = getattr(type(inner_neuron(module)), "spec", None)
    return spec if isinstance(spec, NeuronSpec) else None


def membrane_decay(module: nn.Module) -> float | None:
    """The factor by which the membrane decays per step, or ``None`` if the neuron has no such factor.

    Its spec's ``decay`` of the neuron's parameters (IF: 1; LIF, ALIF, RLIF: ``beta``; PLIF:
    ``1 - sigmoid(w)``; RefractoryLIF: ``decay``; Synaptic and SRM: the slower of their two decays, the tail
    of the difference-of-exponentials response). Per-neuron values are averaged.
    """
    n = inner_neuron(module)
    spec = spec_of_module(n)
    if spec is None or spec.decay is None:
        return None
    return float(torch.as_tensor(spec.decay(n.params())).detach().double().mean())


def predicted_tau(module: nn.Module) -> float | None:
    """``-1 / ln(decay)`` in steps (``inf`` for ``decay = 1``), or ``None`` if the decay is unknown."""
    d = membrane_decay(module)
    if d is None:
        return None
    return math.inf if d >= 1.0 else -1.0 / math.log(d)


def output_delay(module: nn.Module) -> int:
    """Steps between integrating an input and showing the result (its spec's ``output_delay``)."""
    spec = spec_of_module(module)
    return 0 if spec is None else int(spec.output_delay)


def build_neuron(
    neuron: str | type | nn.Module, surrogate: Surrogate | None, kwargs: dict | None
) -> nn.Module:
    """A float64 copy of ``neuron`` (a name, a class or an instance) with ``surrogate`` if given.

    A name is one of ``spikekit.nn.neuron.NEURONS``; a name or class is built from its spec's ``example``
    arguments updated with ``kwargs``.
    """
    kwargs = dict(kwargs or {})
    if isinstance(neuron, str):
        if neuron not in NEURONS:
            raise ValueError(f"neuron must be one of {', '.join(map(repr, NEURONS))}; got {neuron!r}")
        neuron = NEURONS[neuron]
    if surrogate is not None:
        check_surrogate(surrogate)
    if isinstance(neuron, type):
        if not issubclass(neuron, Neuron):
            raise TypeError(f"neuron must be a spikekit.nn.Neuron subclass, got the class {neuron.__name__}")
        spec = getattr(neuron, "spec", None)
        if isinstance(spec, NeuronSpec):
            kwargs = {**spec.example, **kwargs}
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
