"""Recurrent LIF, as a pure function (snnTorch's ``RLeaky`` without its recurrent bias).

Per step ``t``, with the layer's own spikes ``s`` from the previous step fed back:

    v = beta * v + x + rec(s)       # dense: s @ W.T (W is [N, N]); one-to-one: w * s (w is [N])
    s = H(v - threshold); v = reset(v, s)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from .._checks import check_tensor
from ..surrogate import Surrogate, atan
from ._common import Scalar, check_common, check_decay, fire, reset
from .spec import NeuronSpec, f64, register

__all__ = ["RLIFState", "RLIFParams", "rlif_step"]


class RLIFState(NamedTuple):
    """Membrane ``v`` and last step's spikes ``s``, each ``[B, N]``."""

    v: torch.Tensor
    s: torch.Tensor


@dataclass(frozen=True)
class RLIFParams:
    """``weight`` is ``[N, N]`` (dense, ``W[i, j]`` from neuron j to i) or ``[N]`` (one-to-one)."""

    weight: torch.Tensor
    beta: Scalar = 0.9
    threshold: Scalar = 1.0
    reset: str = "subtract"
    surrogate: Surrogate = field(default_factory=atan)
    detach_reset: bool = True

    def __post_init__(self) -> None:
        check_tensor(self.weight, "RLIF: weight")
        w = self.weight
        if not (w.dim() == 1 or (w.dim() == 2 and w.shape[0] == w.shape[1])):
            raise ValueError(f"RLIF: weight must be [N, N] (dense) or [N] (one-to-one), got {tuple(w.shape)}")
        check_decay(self.beta, "RLIF: beta")
        check_common("RLIF", self.threshold, self.reset, self.surrogate)


def rlif_step(x: torch.Tensor, state: RLIFState, params: RLIFParams):
    """One step over ``x`` of shape ``[B, N]``. Returns ``(spikes, v_before_reset, state)``."""
    p = params
    w = p.weight
    if x.shape[-1] != w.shape[-1]:
        raise ValueError(
            f"RLIF: input has {x.shape[-1]} features but the recurrent weight is for {w.shape[-1]}"
        )
    rec = state.s @ w.T if w.dim() == 2 else state.s * w
    v = p.beta * state.v + x + rec
    s = fire(v, p.threshold, p.surrogate)
    return s, v, RLIFState(reset(v, s, p.threshold, p.reset, p.detach_reset), s)


SPEC = register(
    NeuronSpec(
        "RLIF",
        rlif_step,
        RLIFParams,
        RLIFState,
        decay=lambda p: f64(p.beta),
        nir="recurrent",
        nir_nodes=("LIF",),
        loihi=True,
        example={"size": 1},
        fused="rlif",
    )
)
