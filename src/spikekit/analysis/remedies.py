r"""The remedies the original experiment proposed for a missing depression lobe.

Its author (G. Chevalier 2018) noted that backpropagation through a decaying membrane gives the causal,
potentiating half of STDP but does not depress an input that arrives after the neuron fired, and proposed
two fixes: L2 weight decay (an option of :func:`spikekit.analysis.controlled_window` and
:func:`spikekit.analysis.network_window`), and having "neurons output a small negative signal shortly after
the positive signal, [...] longer than the positive signal (such that the integral of the whole spike and
its negative following counterpart would be null or close to null)". The second is :class:`AfterPotential`:

.. math::
    o[t] = s[t] - c \, h[t], \qquad h[t] = \rho\, h[t-1] + (1 - \rho)\, s[t-1], \qquad \rho = e^{-1/\tau}

so each output spike is followed by a tail ``-c (1 - rho) rho^(k-1)`` at ``k = 1, 2, ...`` steps, whose sum
is ``-c``: with ``scale c = 1`` the spike and its tail integrate to zero. The tail is part of the neuron's
*output* (what the next layer and the loss see), not of its membrane, and gradients flow through it.
"""

from __future__ import annotations

import copy
import math
from typing import Any, NamedTuple

import torch
from torch import nn

from .._checks import check_finite, check_time_first
from ..nn import Neuron

__all__ = ["AfterPotential", "AfterPotentialState", "with_after_potential"]


class AfterPotentialState(NamedTuple):
    """The wrapped neuron's state and the tail ``h`` of the next step."""

    neuron: Any
    h: torch.Tensor


def _check_tail(tau: float, scale: float) -> tuple[float, float]:
    for name, value in (("tau", tau), ("scale", scale)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise TypeError(f"AfterPotential: {name} must be a finite float, got {value!r}")
    if tau <= 0:
        raise ValueError(f"AfterPotential: tau must be > 0 (steps), got {tau}")
    if scale < 0:
        raise ValueError(f"AfterPotential: scale must be >= 0, got {scale}")
    return float(tau), float(scale)


class AfterPotential(nn.Module):
    """Wrap a neuron so each output spike is followed by a negative tail that cancels its integral.

    ``o[t] = s[t] - scale * h[t]``, ``h[t] = rho h[t-1] + (1 - rho) s[t-1]``, ``rho = exp(-1 / tau)``
    (see :mod:`spikekit.analysis.remedies`). Stateless between calls like every spikekit neuron.

    Args:
        neuron: the spikekit neuron to wrap (its attributes stay reachable through the wrapper).
        tau: time constant of the tail in steps (> 0); make it longer than the membrane's.
        scale: integral of the tail relative to the spike (``1`` cancels it).

    Shape:
        ``[T, B, ...] -> [T, B, ...]``.

    Example:
        >>> ap = AfterPotential(sk.nn.LIF(beta=0.9), tau=20.0)
        >>> out = ap(torch.rand(50, 4, 10))   # spikes of 1 followed by tails summing to -1
    """

    def __init__(self, neuron: Neuron, tau: float = 20.0, scale: float = 1.0) -> None:
        super().__init__()
        if not isinstance(neuron, Neuron):
            raise TypeError(
                f"AfterPotential: neuron must be a spikekit.nn.Neuron, got {type(neuron).__name__}"
            )
        self.neuron = neuron
        self.tau, self.scale = _check_tail(tau, scale)

    @property
    def rho(self) -> float:
        """The tail's decay per step, ``exp(-1 / tau)``."""
        return math.exp(-1.0 / self.tau)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "neuron":
                raise
            return getattr(super().__getattr__("neuron"), name)

    def _run(self, x: torch.Tensor, state: AfterPotentialState | None):
        check_time_first(x, "AfterPotential: x")
        check_finite(x, "AfterPotential: x")
        if state is not None and not isinstance(state, AfterPotentialState):
            raise TypeError(
                f"AfterPotential: state must be an AfterPotentialState or None, got {type(state).__name__}"
            )
        s, v, inner = self.neuron.trace(x, None if state is None else state.neuron)
        h = torch.zeros_like(s[0]) if state is None else state.h
        rho, outs = self.rho, []
        for s_t in s.unbind(0):  # [B, ...]
            outs.append(s_t - self.scale * h)
            h = rho * h + (1 - rho) * s_t
        return torch.stack(outs), v, AfterPotentialState(inner, h)

    def run(self, x: torch.Tensor, state: AfterPotentialState | None = None):
        """Run over ``x`` ``[T, B, ...]`` from ``state`` (``None``: rest). Returns ``(out, state)``."""
        out, _, state = self._run(x, state)
        return out, state

    def trace(self, x: torch.Tensor, state: AfterPotentialState | None = None):
        """Like :meth:`run`, also returning the wrapped neuron's membrane ``[T, B, ...]``."""
        return self._run(x, state)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run over ``x`` ``[T, B, ...]`` from rest; return the output with its tails."""
        return self._run(x, None)[0]

    def step(self, x_t: torch.Tensor, state: AfterPotentialState | None = None):
        """One step ``[B, ...]``. Returns ``(out_t, state)``."""
        out, _, state = self._run(x_t.unsqueeze(0), state)
        return out[0], state

    def extra_repr(self) -> str:
        return f"tau={self.tau:g}, scale={self.scale:g}"


def with_after_potential(model: nn.Module, tau: float = 20.0, scale: float = 1.0) -> nn.Module:
    """A deep copy of ``model`` with every spikekit neuron wrapped in :class:`AfterPotential`.

    Args:
        model: any module holding spikekit neurons as submodules (or a neuron itself).
        tau, scale: as :class:`AfterPotential`.

    Returns:
        The new model; ``model`` is unchanged.
    """
    _check_tail(tau, scale)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    new = copy.deepcopy(model)
    if isinstance(new, Neuron):
        return AfterPotential(new, tau, scale)
    wrapped = 0
    for parent in list(new.modules()):
        if isinstance(parent, AfterPotential):
            continue
        for name, child in list(parent.named_children()):
            if isinstance(child, Neuron):
                setattr(parent, name, AfterPotential(child, tau, scale))
                wrapped += 1
    if wrapped == 0:
        raise ValueError(f"with_after_potential: {type(model).__name__} contains no spikekit neuron layer")
    return new
