"""Current-based (second-order) LIF, as a pure function (snnTorch's ``Synaptic``; Norse's ``LIF``).

Per step ``t``:

    i = alpha * i + x        # synaptic current
    v = beta * v + i         # membrane
    s = H(v - threshold); v = reset(v, s)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from ..surrogate import Surrogate, atan
from ._common import Scalar, check_common, check_decay, fire, reset
from .spec import NeuronSpec, f64, register

__all__ = ["SynapticState", "SynapticParams", "synaptic_step"]


class SynapticState(NamedTuple):
    """Synaptic current ``i`` and membrane ``v``, each ``[B, ...]``."""

    i: torch.Tensor
    v: torch.Tensor


@dataclass(frozen=True)
class SynapticParams:
    alpha: Scalar = 0.8
    beta: Scalar = 0.9
    threshold: Scalar = 1.0
    reset: str = "subtract"
    surrogate: Surrogate = field(default_factory=atan)
    detach_reset: bool = True

    def __post_init__(self) -> None:
        check_decay(self.alpha, "Synaptic: alpha")
        check_decay(self.beta, "Synaptic: beta")
        check_common("Synaptic", self.threshold, self.reset, self.surrogate)


def synaptic_step(x: torch.Tensor, state: SynapticState, params: SynapticParams):
    """One step. Returns ``(spikes, v_before_reset, state)``."""
    p = params
    i = p.alpha * state.i + x
    v = p.beta * state.v + i
    s = fire(v, p.threshold, p.surrogate)
    return s, v, SynapticState(i, reset(v, s, p.threshold, p.reset, p.detach_reset))


SPEC = register(
    NeuronSpec(
        "Synaptic",
        synaptic_step,
        SynapticParams,
        SynapticState,
        # the slower of the two decays: the tail of the difference-of-exponentials response
        decay=lambda p: torch.maximum(f64(p.alpha).mean(), f64(p.beta).mean()),
        nir="cuba",
        nir_nodes=("CubaLIF", "CubaLI"),
        loihi=True,
        with_decay=lambda d: {"beta": d},
        fused="synaptic",
    )
)
