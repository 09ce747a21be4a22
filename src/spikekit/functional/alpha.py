"""snnTorch's ``Alpha`` neuron (snnTorch 1.0, ``snntorch/_neurons/alpha.py``), exactly, as a pure function.

The input feeds an excitatory current decaying with ``alpha`` and, with the opposite sign, an inhibitory
one decaying with ``beta`` (``alpha > beta``); the membrane is their sum scaled by
``tau_alpha = ln(alpha) / (ln(beta) - ln(alpha)) + 1``. For a single input at step ``t0`` the membrane is
``tau_alpha (alpha^k - beta^k)`` at ``t0 + k``: zero at the input step, then rising and falling, an
alpha-shaped response that peaks after the input.

Reset timing. snnTorch's ``Alpha`` has no ``reset_delay`` option: the spike of step ``t - 1`` (``r``) is
applied while step ``t`` integrates, and it also decides what happens to step ``t``'s input. No reset in
the step of the spike reproduces that (zeroing the inhibitory current one step early would keep step
``t``'s input in it), so this neuron keeps snnTorch's timing and carries its last spike in its state.
Per step ``t``, with ``r`` the previous step's spike:

    exc = alpha exc + x;  inh = beta inh - x;  v = tau_alpha (exc + inh)       # (exc, inh from t - 1)
    subtract: exc = exc - threshold r;  inh = inh (1 - r);  v = v + r inh_prev
    zero:     exc, inh, v = exc (1 - r), inh (1 - r), v (1 - r)
    s = H(v - threshold)

(``subtract`` adds the previous inhibitory current to the membrane, as snnTorch's ``mem - (-syn_inh)``
does; ``inh_prev`` is the state's ``inh``.) The membrane returned is ``v``: the value the spike is taken
from, snnTorch's ``mem``. Since ``exc + inh`` cancels the step's own input, ``v`` at step ``t`` depends on
inputs up to ``t - 1`` only: the output lags the input by one step (``output_delay = 1``).

Mapping to snnTorch: ``Alpha(alpha, beta, threshold, reset)`` here = ``snntorch.Alpha(alpha, beta,
threshold, reset_mechanism=reset)``, spike for spike (``tests/test_peers.py``), with these differences:
spikekit fires at ``v >= threshold``, snnTorch at ``v > threshold`` (a set of measure zero);
snnTorch always detaches the reset from the gradient (``detach_reset=True`` here), spikekit by default
does not; snnTorch clamps ``alpha`` and ``beta`` into [0, 1], spikekit refuses values outside (0, 1].
The default reset is snnTorch's, ``"zero"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from .._checks import check_all
from ..surrogate import Surrogate, atan
from ._common import Scalar, check_common, check_decay, fire
from .spec import NeuronSpec, f64, register

__all__ = ["AlphaState", "AlphaParams", "alpha_step"]


class AlphaState(NamedTuple):
    """Excitatory current ``exc``, inhibitory current ``inh`` and the last step's spikes ``s``."""

    exc: torch.Tensor
    inh: torch.Tensor
    s: torch.Tensor


@dataclass(frozen=True)
class AlphaParams:
    alpha: Scalar = 0.9
    beta: Scalar = 0.8
    threshold: Scalar = 1.0
    reset: str = "zero"
    surrogate: Surrogate = field(default_factory=atan)
    detach_reset: bool = True

    def __post_init__(self) -> None:
        check_decay(self.alpha, "Alpha: alpha")
        check_decay(self.beta, "Alpha: beta")
        a, b = (
            torch.as_tensor(v.detach() if isinstance(v, torch.Tensor) else v) for v in (self.alpha, self.beta)
        )
        check_all(
            ~(a <= b),
            "Alpha: alpha must be greater than beta (the excitatory current must outlast the inhibitory "
            "one for a positive input to raise the membrane)",
            lambda: f"alpha {_show(a)} and beta {_show(b)}",
        )
        check_common("Alpha", self.threshold, self.reset, self.surrogate)


def _show(t: torch.Tensor) -> str:
    return f"{float(t):.6g}" if t.numel() == 1 else f"values in [{float(t.min()):.4g}, {float(t.max()):.4g}]"


def _log(value: Scalar) -> Scalar:
    return torch.log(value) if isinstance(value, torch.Tensor) else math.log(value)


def tau_alpha(params: AlphaParams) -> Scalar:
    """``ln(alpha) / (ln(beta) - ln(alpha)) + 1``, computed as snnTorch does."""
    la = _log(params.alpha)
    return la / (_log(params.beta) - la) + 1


def alpha_step(x: torch.Tensor, state: AlphaState, params: AlphaParams):
    """One step. Returns ``(spikes, v, state)``; the reset of the previous step's spike is applied here."""
    p = params
    r = state.s.detach() if p.detach_reset else state.s
    exc = p.alpha * state.exc + x
    inh = p.beta * state.inh - x
    v = tau_alpha(p) * (exc + inh)
    if p.reset == "subtract":
        exc = exc - p.threshold * r
        inh = inh - inh * r
        v = v + state.inh * r
    elif p.reset == "zero":
        exc, inh, v = exc - exc * r, inh - inh * r, v - v * r
    s = fire(v, p.threshold, p.surrogate)
    return s, v, AlphaState(exc, inh, s)


SPEC = register(
    NeuronSpec(
        "Alpha",
        alpha_step,
        AlphaParams,
        AlphaState,
        # the slower of the two decays (alpha > beta): the tail of the alpha-shaped response
        decay=lambda p: torch.maximum(f64(p.alpha).mean(), f64(p.beta).mean()),
        output_delay=1,
        nir_reason="its membrane is tau_alpha (exc + inh), the difference of two currents fed the same "
        "input, and it resets the currents one step after the spike; NIR's CubaLIF integrates one "
        "current into a leaky membrane and resets the membrane",
        fused="alpha",
    )
)
