"""Adaptive LIF (ALIF), after Bellec et al. 2018 ("Long short-term memory and learning-to-learn in
networks of spiking neurons"), as a pure function.

Per step ``t``, with adaptation ``a`` carried from the previous step:

    v = beta * v + x
    A = threshold + adapt * a          # the adaptive threshold
    s = H(v - A)
    v = reset(v, s, A)                 # subtract A, to zero, or none
    a = rho * a + (1 - rho) * s

``rho = exp(-1 / tau_a)`` sets how slowly the threshold relaxes; ``adapt`` (Bellec's beta) its jump.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from .._checks import check_range
from ..surrogate import Surrogate, atan
from ._common import Scalar, check_common, check_decay, fire, reset
from .spec import NeuronSpec, f64, register

__all__ = ["ALIFState", "ALIFParams", "alif_step"]


class ALIFState(NamedTuple):
    """Membrane ``v`` and threshold adaptation ``a``, each ``[B, ...]``."""

    v: torch.Tensor
    a: torch.Tensor


@dataclass(frozen=True)
class ALIFParams:
    beta: Scalar = 0.9
    rho: Scalar = 0.99
    adapt: Scalar = 1.8
    threshold: Scalar = 1.0
    reset: str = "subtract"
    surrogate: Surrogate = field(default_factory=atan)
    detach_reset: bool = True

    def __post_init__(self) -> None:
        check_decay(self.beta, "ALIF: beta")
        check_decay(self.rho, "ALIF: rho")
        check_range(self.adapt, "ALIF: adapt", 0.0, float("inf"), high_open=True)
        check_common("ALIF", self.threshold, self.reset, self.surrogate)


def alif_step(x: torch.Tensor, state: ALIFState, params: ALIFParams):
    """One ALIF step. Returns ``(spikes, v_before_reset, state)``."""
    p = params
    v = p.beta * state.v + x
    thr = p.threshold + p.adapt * state.a
    s = fire(v, thr, p.surrogate)
    v_next = reset(v, s, thr, p.reset, p.detach_reset)
    a = p.rho * state.a + (1 - p.rho) * s
    return s, v, ALIFState(v_next, a)


SPEC = register(
    NeuronSpec(
        "ALIF",
        alif_step,
        ALIFParams,
        ALIFState,
        decay=lambda p: f64(p.beta),
        with_decay=lambda d: {"beta": d},
        nir_reason="its threshold adapts (a second state variable raised by each spike); NIR has no adaptive "
        "neuron",
        fused="alif",
    )
)
