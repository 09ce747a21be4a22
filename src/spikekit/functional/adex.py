"""Adaptive exponential integrate-and-fire (AdEx; Brette & Gerstner 2005, J. Neurophysiol. 94), as a pure
function.

    C dV/dt = -g_L (V - E_L) + g_L delta_T exp((V - V_T) / delta_T) - w + I
    tau_w dw/dt = a (V - E_L) - w
    at V >= V_peak (the spike cut-off):  V <- V_r,  w <- w + b

Units: mV, ms, nF, uS, nA (a coherent set: nA / nF = mV / ms, uS * mV = nA). The input ``x`` is the
current ``I`` in nA. Defaults are the paper's (its Table 1 / Fig. 2 cell): ``C = 281 pF = 0.281 nF``,
``g_L = 30 nS = 0.030 uS``, ``E_L = -70.6 mV``, ``V_T = -50.4 mV``, ``delta_T = 2 mV``,
``tau_w = 144 ms``, ``a = 4 nS = 0.004 uS``, ``b = 0.0805 nA``, ``V_r = E_L``; the cut-off
``V_peak = V_T + 5 delta_T = -40.4 mV`` (as in Brian's rendering of the paper's model; past it the
exponential term takes the membrane to any higher cut-off within ~0.03 ms, less than one step, so spike
times do not depend on it).

Discretisation: forward Euler with step ``dt`` ms (default 0.1 ms), both variables from the values at the
start of the step; then fire and reset in the same step:

    E = exp((min(V, V_peak) - V_T) / delta_T)          # capped at the cut-off: never overflows
    V, w = V + dt (-g_L (V - E_L) + g_L delta_T E - w + I) / C,  w + dt (a (V - E_L) - w) / tau_w
    s = H((V - V_peak) / v_scale)
    V = V - s (V - V_r);  w = w + s b

The exponential is evaluated at ``min(V, V_peak)``: a membrane above the cut-off (only possible in a
state passed in by hand, since every step resets a crossing) drives the upswing as hard as one at the
cut-off and no harder, so ``V`` and ``w`` stay finite for any finite input. The membrane returned for
the step is ``V`` before the reset (it overshoots ``V_peak`` by up to a few mV). The surrogate sees
``(V - V_peak) / v_scale``, ``v_scale`` (default 30 mV, about ``V_peak - E_L``) playing the role of a
LIF's threshold. With ``detach_reset`` the reset carries no gradient.

The state starts at rest: ``V = E_L``, ``w = 0`` (:func:`adex_init`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from .._checks import check_all, check_range
from ..surrogate import Surrogate, atan, check_surrogate
from ._common import Scalar
from .spec import NeuronSpec, f64, register

__all__ = ["AdExState", "AdExParams", "adex_init", "adex_step"]


class AdExState(NamedTuple):
    """Membrane ``V`` (mV) and adaptation current ``w`` (nA), each ``[B, ...]``."""

    V: torch.Tensor
    w: torch.Tensor


def _detached(value: Scalar) -> Scalar:
    return value.detach() if isinstance(value, torch.Tensor) else value


@dataclass(frozen=True)
class AdExParams:
    """Brette & Gerstner (2005)'s parameters in mV, ms, nF, uS, nA; ``dt`` and ``v_scale`` as in the
    module doc."""

    C: Scalar = 0.281
    g_L: Scalar = 0.030
    E_L: Scalar = -70.6
    V_T: Scalar = -50.4
    delta_T: Scalar = 2.0
    tau_w: Scalar = 144.0
    a: Scalar = 0.004
    b: Scalar = 0.0805
    V_r: Scalar = -70.6
    V_peak: Scalar = -40.4
    dt: float = 0.1
    v_scale: Scalar = 30.0
    surrogate: Surrogate = field(default_factory=atan)
    detach_reset: bool = True

    def __post_init__(self) -> None:
        for name in ("C", "g_L", "delta_T", "tau_w", "dt", "v_scale"):
            check_range(getattr(self, name), f"AdEx: {name}", 0.0, math.inf, low_open=True, high_open=True)
        for name in ("E_L", "V_T", "a", "b", "V_r", "V_peak"):
            check_range(
                getattr(self, name), f"AdEx: {name}", -math.inf, math.inf, low_open=True, high_open=True
            )
        v_r, peak = torch.as_tensor(_detached(self.V_r)), torch.as_tensor(_detached(self.V_peak))
        check_all(
            ~(v_r >= peak),
            "AdEx: the reset V_r must lie below the cut-off V_peak (else every step fires)",
            lambda: f"V_r up to {float(v_r.max()):.6g} and V_peak {float(peak.min()):.6g}",
        )
        check_surrogate(self.surrogate, "AdEx: surrogate")


def adex_init(x: torch.Tensor, params: AdExParams) -> AdExState:
    """The resting state for one step ``x`` ``[B, ...]``: ``V = E_L``, ``w = 0``."""
    return AdExState(torch.zeros_like(x) + params.E_L, torch.zeros_like(x))


def adex_step(x: torch.Tensor, state: AdExState, params: AdExParams):
    """One Euler step of ``dt`` ms. Returns ``(spikes, V_before_reset, state)``."""
    p = params
    V, w = state.V, state.w
    e = torch.exp((torch.clamp(V, max=p.V_peak) - p.V_T) / p.delta_T)
    dV = (-p.g_L * (V - p.E_L) + p.g_L * p.delta_T * e - w + x) / p.C
    dw = (p.a * (V - p.E_L) - w) / p.tau_w
    V = V + p.dt * dV
    w = w + p.dt * dw
    s = p.surrogate((V - p.V_peak) / p.v_scale)
    s_r = s.detach() if p.detach_reset else s
    return s, V, AdExState(V - s_r * (V - p.V_r), w + s_r * p.b)


SPEC = register(
    NeuronSpec(
        "AdEx",
        adex_step,
        AdExParams,
        AdExState,
        # the passive membrane's decay per step, exp(-dt / tau_m) with tau_m = C / g_L (9.4 ms by default)
        decay=lambda p: torch.exp(-float(p.dt) * f64(p.g_L) / f64(p.C)),
        nir_reason="its membrane has an exponential spike-initiation term and an adaptation current that "
        "jumps at each spike; NIR's neurons are linear (leaky or current-based) integrators",
        fused="adex",
    )
)
