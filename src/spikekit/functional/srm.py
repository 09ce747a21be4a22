"""Spike response model (SRM0, Gerstner & Kistler 2002) with exponential kernels, as a pure function.

    u(t) = eta(t - t_last) + sum_j w_j sum_f eps(t - t_j^f)
    eps(s) = exp(-s / tau_m) - exp(-s / tau_s)       (s >= 0; eps(0) = 0)
    eta(s) = -threshold * exp(-s / tau_r)            (only the neuron's last spike counts)
    spike where u(t) >= threshold

The input ``x`` of each step is the weighted presynaptic activity ``sum_j w_j s_j(t)`` (a preceding
Linear's output). The kernels are computed recursively with three traces, exactly equal to the sums:

    m = exp(-1/tau_m) * m + x;   q = exp(-1/tau_s) * q + x;   psp = m - q
    r = exp(-1/tau_r) * r                      # refractory trace, eta(t - t_last)
    u = psp + r;  s = H(u - threshold);  r = r * (1 - s) - threshold * s
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from .._checks import check_range
from ..surrogate import Surrogate, atan, check_surrogate
from ._common import Scalar
from .spec import NeuronSpec, f64, register

__all__ = ["SRMState", "SRMParams", "srm_step"]


class SRMState(NamedTuple):
    """Membrane-kernel trace ``m``, synaptic-kernel trace ``q`` and refractory trace ``r``."""

    m: torch.Tensor
    q: torch.Tensor
    r: torch.Tensor


@dataclass(frozen=True)
class SRMParams:
    tau_m: float = 10.0
    tau_s: float = 2.5
    tau_r: float = 5.0
    threshold: Scalar = 1.0
    surrogate: Surrogate = field(default_factory=atan)
    detach_reset: bool = True

    def __post_init__(self) -> None:
        for name in ("tau_m", "tau_s", "tau_r"):
            check_range(getattr(self, name), f"SRM: {name}", 0.0, float("inf"), low_open=True, high_open=True)
        if self.tau_m == self.tau_s:
            raise ValueError(f"SRM: tau_m and tau_s must differ (eps would vanish), got both {self.tau_m}")
        check_range(self.threshold, "SRM: threshold", 0.0, float("inf"), low_open=True, high_open=True)
        check_surrogate(self.surrogate, "SRM: surrogate")


def srm_step(x: torch.Tensor, state: SRMState, params: SRMParams):
    """One step. Returns ``(spikes, u, state)``."""
    p = params
    m = math.exp(-1 / p.tau_m) * state.m + x
    q = math.exp(-1 / p.tau_s) * state.q + x
    r = math.exp(-1 / p.tau_r) * state.r
    u = (m - q) + r
    s = p.surrogate(u - p.threshold)
    s_r = s.detach() if p.detach_reset else s
    r = r * (1 - s_r) - p.threshold * s_r
    return s, u, SRMState(m, q, r)


SPEC = register(
    NeuronSpec(
        "SRM",
        srm_step,
        SRMParams,
        SRMState,
        decay=lambda p: f64(math.exp(-1.0 / max(float(p.tau_m), float(p.tau_s)))),
        with_decay=lambda d: {"tau_m": -1.0 / math.log(d)},
        nir_reason="its refractory kernel (a decaying negative trace set at each spike) has no NIR "
        "counterpart; NIR's neurons reset to a fixed v_reset",
        fused="srm",
    )
)
