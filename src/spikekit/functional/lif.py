"""Integrate-and-fire family: IF, LIF and PLIF, as pure functions.

Per step ``t`` (spikekit fires and resets in the same step):

- IF:    ``v = v + x``
- LIF:   ``v = beta * v + x``                      (Lapicque 1907; snnTorch's ``Leaky``)
- PLIF:  ``v = v + k * (x - v)``, ``k = sigmoid(w)`` (Fang et al. 2021; ``k = 1 / tau``, learnable ``w``);
  with ``decay_input=False``: ``v = (1 - k) * v + x``

then ``s = H(v - threshold)`` and the reset of :func:`spikekit.functional._common.reset`.

Each ``*_step(x, state, params)`` returns ``(spikes, v, new_state)`` where ``v`` is the membrane after
integration and before the reset (what a plot of the membrane crossing the threshold shows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from .._checks import check_range
from ..surrogate import Surrogate, atan
from ._common import Scalar, check_common, check_decay, fire, reset, zeros_state
from .spec import NeuronSpec, f64, like, register

__all__ = [
    "LIFState",
    "IFParams",
    "LIFParams",
    "PLIFParams",
    "if_step",
    "lif_step",
    "plif_step",
    "lif_init",
]


class LIFState(NamedTuple):
    """Membrane potential ``v``, shaped like one input step ``[B, ...]``."""

    v: torch.Tensor


@dataclass(frozen=True)
class IFParams:
    """Integrate-and-fire: no leak."""

    threshold: Scalar = 1.0
    reset: str = "subtract"
    surrogate: Surrogate = field(default_factory=atan)
    detach_reset: bool = True

    def __post_init__(self) -> None:
        check_common("IF", self.threshold, self.reset, self.surrogate)


@dataclass(frozen=True)
class LIFParams:
    """Leaky integrate-and-fire with decay ``beta`` in (0, 1] per step."""

    beta: Scalar = 0.9
    threshold: Scalar = 1.0
    reset: str = "subtract"
    surrogate: Surrogate = field(default_factory=atan)
    detach_reset: bool = True

    def __post_init__(self) -> None:
        check_decay(self.beta, "LIF: beta")
        check_common("LIF", self.threshold, self.reset, self.surrogate)


@dataclass(frozen=True)
class PLIFParams:
    """Parametric LIF: ``k = sigmoid(w)`` is the inverse time constant ``1 / tau``."""

    w: Scalar = 0.0
    threshold: Scalar = 1.0
    reset: str = "subtract"
    surrogate: Surrogate = field(default_factory=atan)
    detach_reset: bool = True
    decay_input: bool = True

    def __post_init__(self) -> None:
        check_range(self.w, "PLIF: w", float("-inf"), float("inf"), low_open=True, high_open=True)
        check_common("PLIF", self.threshold, self.reset, self.surrogate)


def lif_init(x: torch.Tensor) -> LIFState:
    """The resting state (``v = 0``) for one input step ``x``."""
    return zeros_state(LIFState, x)


def _fire_reset(v: torch.Tensor, p: IFParams | LIFParams | PLIFParams):
    s = fire(v, p.threshold, p.surrogate)
    return s, v, LIFState(reset(v, s, p.threshold, p.reset, p.detach_reset))


def if_step(x: torch.Tensor, state: LIFState, params: IFParams):
    """One IF step: ``v = v + x``; fire; reset. Returns ``(spikes, v_before_reset, state)``."""
    return _fire_reset(state.v + x, params)


def lif_step(x: torch.Tensor, state: LIFState, params: LIFParams):
    """One LIF step: ``v = beta * v + x``; fire; reset. Returns ``(spikes, v_before_reset, state)``."""
    return _fire_reset(params.beta * state.v + x, params)


def plif_step(x: torch.Tensor, state: LIFState, params: PLIFParams):
    """One PLIF step: ``v = v + sigmoid(w) * (x - v)``; fire; reset."""
    k = torch.sigmoid(torch.as_tensor(params.w, dtype=x.dtype, device=x.device))
    v = state.v + k * (x - state.v) if params.decay_input else (1 - k) * state.v + x
    return _fire_reset(v, params)


def _plif_k(p: PLIFParams) -> torch.Tensor:
    return torch.sigmoid(f64(p.w))


def _plif_restore(beta: torch.Tensor, v_threshold: torch.Tensor, meta: dict):
    """PLIF from NIR's LIF with ``r = 1``: ``k = 1 - beta = sigmoid(w)``; the threshold is in NIR's units
    (``v_nir = k v``) unless the input decays too."""
    k = 1.0 - beta
    decay_input = bool(int(meta["decay_input"]))
    kwargs = {
        "init_tau": 2.0,
        "decay_input": decay_input,
        "threshold": v_threshold if decay_input else v_threshold / k,
    }
    return kwargs, {"w": torch.log(k / (1.0 - k))}


def _plif_form(p: PLIFParams, x: torch.Tensor) -> tuple[str, torch.Tensor]:
    k = torch.sigmoid(torch.as_tensor(p.w, dtype=x.dtype, device=x.device))  # as plif_step computes it
    return ("plif", k) if p.decay_input else ("decay", 1 - k)


IF_SPEC = register(
    NeuronSpec(
        "IF",
        if_step,
        IFParams,
        LIFState,
        decay=lambda p: f64(1.0),
        leaky=lambda p: (f64(1.0), f64(1.0)),
        nir="leaky",
        nir_nodes=("IF", "I"),
        loihi=True,
        fused="lif",
        fused_form=lambda p, x: ("if", None),
        with_decay=lambda d: {},
    )
)
LIF_SPEC = register(
    NeuronSpec(
        "LIF",
        lif_step,
        LIFParams,
        LIFState,
        decay=lambda p: f64(p.beta),
        leaky=lambda p: (f64(p.beta), f64(1.0)),
        nir="leaky",
        nir_nodes=("LIF", "LI"),
        loihi=True,
        fused="lif",
        fused_form=lambda p, x: ("decay", like(p.beta, x)),
        with_decay=lambda d: {"beta": d},
        variants={"detach": {"detach_reset": True}, "zero": {"reset": "zero"}},
    )
)
PLIF_SPEC = register(
    NeuronSpec(
        "PLIF",
        plif_step,
        PLIFParams,
        LIFState,
        decay=lambda p: 1 - _plif_k(p),
        leaky=lambda p: (1 - _plif_k(p), _plif_k(p) if p.decay_input else torch.ones_like(_plif_k(p))),
        nir="leaky",
        nir_meta=lambda p: {"decay_input": int(p.decay_input)},
        nir_restore=_plif_restore,
        fused="lif",
        fused_form=_plif_form,
        with_decay=lambda d: {"init_tau": 1.0 / (1.0 - d)},
    )
)
