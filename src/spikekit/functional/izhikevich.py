"""Izhikevich's simple model of spiking neurons (Izhikevich 2003, IEEE Trans. Neural Netw. 14(6)), as a
pure function.

The model, in mV and ms, driven by a current ``I`` (the input ``x``, in the model's units: ``I = 10``
makes a regular-spiking cell fire tonically):

    v' = 0.04 v^2 + 5 v + 140 - u + I
    u' = a (b v - u)
    if v >= v_peak (30 mV):  v <- c,  u <- u + d

Discretisation: one step is ``dt`` ms (default 0.5 ms). ``v`` advances in two Euler half-steps of
``dt / 2`` (both with the old ``u``), then ``u`` in one Euler step of ``dt`` with the new ``v``, as in
Izhikevich's published code (there ``dt = 1``); fire and reset in the same step. Per step ``t``:

    v = v + dt/2 (0.04 v^2 + 5 v + 140 - u + I)
    m = min(v, v_peak)
    v = v + dt/2 (0.04 m^2 + 5 m + 140 - u + I)
    u = u + dt a (b min(v, v_peak) - u)
    s = H((v - v_peak) / v_scale)                      # fires when v reaches v_peak
    v = v - s (v - c);  u = u + s d                    # the reset, in the step it fires

One departure from Izhikevich's code: the second half-step and ``u`` see ``v`` capped at ``v_peak``. Past
the peak the quadratic term explodes (a step from 29 mV ends above 1000 mV), and uncapped, that overshoot
feeds ``u`` a jump comparable to ``d``, which at ``dt = 1`` makes inter-spike intervals of a constant
current irregular (regular spiking: 27, 48, 62, 54, 48 ms, ...). Capped, the intervals are regular and
within a few per cent of the ``dt -> 0`` limit at ``dt = 0.5`` (regular spiking, ``I = 10``: 26, then
46 ms against 45.1 ms), and the overshoot no longer compounds. The membrane returned for the step
is ``v`` before the reset (above ``v_peak`` where it fired). The surrogate sees ``(v - v_peak) / v_scale``:
``v_scale`` (default 100 mV, about the span from rest to the peak) plays the role a LIF's threshold plays
for its surrogate. With ``detach_reset`` the reset carries no gradient.

The state starts where Izhikevich's code starts it: ``v = -65`` mV and ``u = b v``
(:func:`izhikevich_init`; the true resting point for ``b = 0.2`` is ``v = -70``, ``u = -14``).

Presets (:data:`IZHIKEVICH_PRESETS`, ``(a, b, c, d)`` from the paper's Fig. 2): ``"RS"`` regular spiking,
``"IB"`` intrinsically bursting, ``"CH"`` chattering, ``"FS"`` fast spiking, ``"LTS"`` low-threshold
spiking.
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

__all__ = ["IZHIKEVICH_PRESETS", "IzhikevichState", "IzhikevichParams", "izhikevich_init", "izhikevich_step"]

IZHIKEVICH_PRESETS: dict[str, tuple[float, float, float, float]] = {
    "RS": (0.02, 0.2, -65.0, 8.0),  # regular spiking: tonic, adapting
    "IB": (0.02, 0.2, -55.0, 4.0),  # intrinsically bursting: a burst, then tonic spikes
    "CH": (0.02, 0.2, -50.0, 2.0),  # chattering: repeated bursts
    "FS": (0.1, 0.2, -65.0, 2.0),  # fast spiking: high rate, little adaptation
    "LTS": (0.02, 0.25, -65.0, 2.0),  # low-threshold spiking
}
"""Izhikevich (2003)'s parameter sets ``(a, b, c, d)`` by the name of the firing pattern."""

V_INIT = -65.0
"""The membrane (mV) at which Izhikevich's code starts every cell (``u = b * V_INIT``)."""

_FINITE = (-math.inf, math.inf)


def _check_finite(value: Scalar, name: str) -> None:
    check_range(value, name, *_FINITE, low_open=True, high_open=True)


class IzhikevichState(NamedTuple):
    """Membrane ``v`` (mV) and recovery ``u``, each ``[B, ...]``."""

    v: torch.Tensor
    u: torch.Tensor


@dataclass(frozen=True)
class IzhikevichParams:
    """``a`` (recovery rate, 1/ms), ``b`` (recovery sensitivity), ``c`` (reset, mV), ``d`` (recovery jump);
    defaults: regular spiking. ``v_peak`` (mV), ``dt`` (ms) and ``v_scale`` (mV) as in the module doc."""

    a: Scalar = 0.02
    b: Scalar = 0.2
    c: Scalar = -65.0
    d: Scalar = 8.0
    v_peak: Scalar = 30.0
    dt: float = 0.5
    v_scale: Scalar = 100.0
    surrogate: Surrogate = field(default_factory=atan)
    detach_reset: bool = True

    def __post_init__(self) -> None:
        check_range(self.a, "Izhikevich: a", 0.0, math.inf, high_open=True)
        for name in ("b", "c", "d", "v_peak"):
            _check_finite(getattr(self, name), f"Izhikevich: {name}")
        check_range(self.dt, "Izhikevich: dt", 0.0, math.inf, low_open=True, high_open=True)
        check_range(self.v_scale, "Izhikevich: v_scale", 0.0, math.inf, low_open=True, high_open=True)
        c, peak = torch.as_tensor(_detached(self.c)), torch.as_tensor(_detached(self.v_peak))
        check_all(
            ~(c >= peak),
            "Izhikevich: the reset c must lie below v_peak (else every step fires)",
            lambda: f"c up to {float(c.max()):.6g} and v_peak {float(peak.min()):.6g}",
        )
        check_surrogate(self.surrogate, "Izhikevich: surrogate")


def _detached(value: Scalar) -> Scalar:
    return value.detach() if isinstance(value, torch.Tensor) else value


def izhikevich_init(x: torch.Tensor, params: IzhikevichParams) -> IzhikevichState:
    """The starting state for one step ``x`` ``[B, ...]``: ``v = -65`` mV, ``u = b v`` (Izhikevich's code)."""
    v = torch.full_like(x, V_INIT)
    return IzhikevichState(v, (params.b * v).to(x.dtype))


def izhikevich_step(x: torch.Tensor, state: IzhikevichState, params: IzhikevichParams):
    """One step of ``dt`` ms. Returns ``(spikes, v_before_reset, state)``."""
    p = params
    h = 0.5 * p.dt
    v, u = state.v, state.u
    v = v + h * (0.04 * v * v + 5.0 * v + 140.0 - u + x)
    m = torch.clamp(v, max=p.v_peak)
    v = v + h * (0.04 * m * m + 5.0 * m + 140.0 - u + x)
    u = u + p.dt * p.a * (p.b * torch.clamp(v, max=p.v_peak) - u)
    s = p.surrogate((v - p.v_peak) / p.v_scale)
    s_r = s.detach() if p.detach_reset else s
    return s, v, IzhikevichState(v - s_r * (v - p.c), u + s_r * p.d)


def _decay(p: IzhikevichParams) -> torch.Tensor:
    """``exp(lambda dt)``, ``lambda = 0.08 v* + 5 = b - sqrt(D)``: the membrane's relaxation rate at the
    resting point ``v*`` (the stable root of ``0.04 v^2 + (5 - b) v + 140 = 0``, ``D = (5 - b)^2 - 22.4``)
    with ``u`` held at rest (it is slow: ``a << 1``). Without a resting point (``D < 0``), 1."""
    b = f64(p.b)
    rate = b - torch.sqrt(torch.clamp((5.0 - b) ** 2 - 22.4, min=0.0))
    return torch.exp(torch.clamp(rate, max=0.0) * float(p.dt))


SPEC = register(
    NeuronSpec(
        "Izhikevich",
        izhikevich_step,
        IzhikevichParams,
        IzhikevichState,
        decay=_decay,
        nir_reason="its membrane is quadratic in v with a second (recovery) variable that jumps at each "
        "spike; NIR's neurons are linear (leaky or current-based) integrators",
        fused="izhikevich",
    )
)
