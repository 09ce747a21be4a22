r"""Spike-timing-dependent plasticity with exponential traces: pair STDP and triplet STDP.

**Pair STDP** (Bi & Poo 1998; trace form of Song, Miller & Abbott 2000; Morrison et al. 2008). For a
pre-synaptic spike at ``t_pre`` and a post-synaptic spike at ``t_post``, ``dt = t_post - t_pre``:

.. math::
    \Delta w = \begin{cases}
        A_+ \, f_+(w)\, e^{-\Delta t / \tau_+} & \Delta t \ge 0 \text{ (pre before post, or together)}\\
        -A_- \, f_-(w)\, e^{\Delta t / \tau_-} & \Delta t < 0
    \end{cases}

computed online with a pre trace ``x_pre`` (time constant ``tau_plus``) and a post trace ``x_post``
(``tau_minus``). Per step, in this order:

1. decay both traces by ``exp(-dt / tau)``;
2. add this step's pre spikes to ``x_pre`` (see :mod:`spikekit.learning.traces` for the pairing);
3. ``dW = A+ f+(W) * outer(s_post, x_pre) - A- f-(W) * outer(x_post, s_pre)``, summed over the batch;
4. add this step's post spikes to ``x_post``.

So a pre and a post spike in the same step count as causal (``dt = 0``: ``+A+``), which matches
spikekit's neurons, whose input at step ``t`` can make them fire at step ``t``. The weight dependence
is ``"additive"`` (``f = 1``, then clipped to ``[w_min, w_max]``: hard bounds) or ``"multiplicative"``
(soft bounds, Gütig et al. 2003: ``f+(w) = (w_max - w)^mu``, ``f-(w) = (w - w_min)^mu``; ``mu = 1`` is
the multiplicative rule of van Rossum et al. 2000).

**Triplet STDP** (Pfister & Gerstner 2006, eqs. 3-4). Pre traces ``r1`` (``tau_plus``), ``r2``
(``tau_x``), post traces ``o1`` (``tau_minus``), ``o2`` (``tau_y``):

.. math::
    \text{pre spike: } \Delta w = -o_1(t)\,[A_2^- + A_3^- \, r_2(t-\epsilon)] \qquad
    \text{post spike: } \Delta w = r_1(t)\,[A_2^+ + A_3^+ \, o_2(t-\epsilon)]

with the same step order as above (``r1`` includes this step's pre spike, ``o1``, ``r2`` and ``o2`` do
not include this step's spikes). ``A3+ = A3- = 0`` is pair STDP. Diehl & Cook's rule (2015) is the
nearest-spike triplet rule with ``A2+ = 0, A3+ = nu_post, A2- = nu_pre, A3- = 0``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import check_choice
from . import validate as V
from .base import LocalRule
from .connection import Connection
from .traces import bump, check_pairing, trace_sequence

__all__ = ["STDP", "STDPState", "TripletSTDP", "TripletState"]

WEIGHT_DEPENDENCE = ("additive", "multiplicative")


class STDPState(NamedTuple):
    """Pre trace ``[B, *in]`` and post trace ``[B, *out]``."""

    pre: torch.Tensor
    post: torch.Tensor


class TripletState(NamedTuple):
    """Pre traces ``r1``, ``r2`` ``[B, *in]``; post traces ``o1``, ``o2`` ``[B, *out]``."""

    r1: torch.Tensor
    r2: torch.Tensor
    o1: torch.Tensor
    o2: torch.Tensor


class STDP(LocalRule):
    """Pair STDP with exponential traces (see the module docstring for the equations and step order).

    Args:
        a_plus: potentiation amplitude ``A+`` (>= 0).
        a_minus: depression amplitude ``A-`` (>= 0).
        tau_plus: pre-trace time constant ``tau+`` (> 0), in the units of ``dt``.
        tau_minus: post-trace time constant ``tau-`` (> 0).
        pairing: ``"all-to-all"`` (traces add up) or ``"nearest"`` (traces reset to 1 at a spike).
        weight_dependence: ``"additive"`` (hard bounds) or ``"multiplicative"`` (soft bounds).
        mu: exponent of the multiplicative weight dependence (> 0).
        w_min, w_max: weight bounds, ``w_min < w_max``; the attached layer's weights must lie in them.
        dt: time step (> 0), in the units of the time constants.
        reduce: how the batch is combined: ``"sum"`` (a batch of B = B presentations) or ``"mean"``.

    Shape:
        pre ``[B, in]`` / post ``[B, out]`` for ``nn.Linear``; ``[B, C_in, H, W]`` / ``[B, C_out, H', W']``
        for ``nn.Conv2d``.

    Example:
        >>> layer = nn.Linear(2, 1, bias=False); nn.init.constant_(layer.weight, 0.5)
        >>> syn = STDP(a_plus=0.01, a_minus=0.01, tau_plus=20.0, tau_minus=20.0).attach(layer)
        >>> pre = torch.tensor([[[1., 0.]], [[0., 0.]]]); post = torch.tensor([[[0.]], [[1.]]])
        >>> state = syn.run(pre, post)        # pre at t=0, post at t=1: w[0,0] += 0.01 * exp(-1/20)
    """

    State = STDPState
    _state_kinds = ("pre", "post")

    def __init__(
        self,
        a_plus: float = 0.01,
        a_minus: float = 0.0105,
        tau_plus: float = 20.0,
        tau_minus: float = 20.0,
        *,
        pairing: str = "all-to-all",
        weight_dependence: str = "additive",
        mu: float = 1.0,
        w_min: float = 0.0,
        w_max: float = 1.0,
        dt: float = 1.0,
        reduce: str = "sum",
    ) -> None:
        name = type(self).__name__
        self.a_plus = V.nonnegative(a_plus, f"{name}: a_plus")
        self.a_minus = V.nonnegative(a_minus, f"{name}: a_minus")
        self.tau_plus = V.time_constant(tau_plus, f"{name}: tau_plus")
        self.tau_minus = V.time_constant(tau_minus, f"{name}: tau_minus")
        self.pairing = check_pairing(pairing, name)
        self.weight_dependence = check_choice(
            weight_dependence, f"{name}: weight_dependence", WEIGHT_DEPENDENCE
        )
        self.mu = V.positive(mu, f"{name}: mu")
        self.w_min, self.w_max = V.bounds(w_min, w_max, name)
        self.dt = V.positive(dt, f"{name}: dt")
        self._set_reduce(reduce)

    def _decays(self) -> tuple[float, float]:
        return V.decay(self.tau_plus, self.dt), V.decay(self.tau_minus, self.dt)

    def _factors(self, w: torch.Tensor) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        if self.weight_dependence == "additive":
            return 1.0, 1.0
        return (self.w_max - w).clamp_min(0) ** self.mu, (w - self.w_min).clamp_min(0) ** self.mu

    def window(self, dt: torch.Tensor) -> torch.Tensor:
        """The analytic pair window ``dw(dt)`` for one pair of spikes, ``dt = t_post - t_pre`` (``f = 1``)."""
        dt = torch.as_tensor(dt, dtype=torch.float64)
        return torch.where(
            dt >= 0,
            self.a_plus * torch.exp(-dt / self.tau_plus),
            -self.a_minus * torch.exp(dt / self.tau_minus),
        )

    def delta(self, conn: Connection, pre, post, state, reward=None):
        dp, dm = self._decays()
        x_pre = bump(state.pre * dp, pre, self.pairing)
        x_post = state.post * dm
        f_plus, f_minus = self._factors(conn.weight)
        dw = self.a_plus * f_plus * conn.outer(post, x_pre) - self.a_minus * f_minus * conn.outer(x_post, pre)
        return self._reduced(dw, pre.shape[0]), STDPState(x_pre, bump(x_post, post, self.pairing))

    def delta_sequence(self, conn: Connection, pre, post, state, reward=None):
        dp, dm = self._decays()
        x_pre, last_pre = trace_sequence(pre, state.pre, dp, self.pairing, include_current=True)
        x_post, last_post = trace_sequence(post, state.post, dm, self.pairing, include_current=False)
        f_plus, f_minus = self._factors(conn.weight)
        dw = self.a_plus * f_plus * conn.outer(post, x_pre) - self.a_minus * f_minus * conn.outer(x_post, pre)
        return self._reduced(dw, pre.shape[1]), STDPState(last_pre, last_post)


class TripletSTDP(LocalRule):
    """Triplet STDP (Pfister & Gerstner 2006), all-to-all or nearest-spike, hard bounds.

    Defaults are Pfister & Gerstner's visual-cortex fit (all-to-all, full model), time in ms.

    Args:
        a2_plus, a3_plus: pair and triplet potentiation amplitudes (>= 0).
        a2_minus, a3_minus: pair and triplet depression amplitudes (>= 0).
        tau_plus, tau_x: time constants of the pre traces ``r1``, ``r2`` (> 0).
        tau_minus, tau_y: time constants of the post traces ``o1``, ``o2`` (> 0).
        pairing: ``"all-to-all"`` or ``"nearest"``.
        w_min, w_max: hard weight bounds.
        dt: time step; reduce: ``"sum"`` or ``"mean"`` over the batch.

    Example:
        >>> rule = TripletSTDP(pairing="nearest", a2_plus=0.0, a3_plus=1e-2, a2_minus=1e-4, a3_minus=0.0,
        ...                    tau_plus=20.0, tau_minus=20.0, tau_y=40.0)   # Diehl & Cook's rule
    """

    State = TripletState
    _state_kinds = ("pre", "pre", "post", "post")

    def __init__(
        self,
        a2_plus: float = 5e-10,
        a3_plus: float = 6.2e-3,
        a2_minus: float = 7e-3,
        a3_minus: float = 2.3e-4,
        tau_plus: float = 16.8,
        tau_minus: float = 33.7,
        tau_x: float = 101.0,
        tau_y: float = 125.0,
        *,
        pairing: str = "all-to-all",
        w_min: float = 0.0,
        w_max: float = 1.0,
        dt: float = 1.0,
        reduce: str = "sum",
    ) -> None:
        name = type(self).__name__
        self.a2_plus = V.nonnegative(a2_plus, f"{name}: a2_plus")
        self.a3_plus = V.nonnegative(a3_plus, f"{name}: a3_plus")
        self.a2_minus = V.nonnegative(a2_minus, f"{name}: a2_minus")
        self.a3_minus = V.nonnegative(a3_minus, f"{name}: a3_minus")
        self.tau_plus = V.time_constant(tau_plus, f"{name}: tau_plus")
        self.tau_minus = V.time_constant(tau_minus, f"{name}: tau_minus")
        self.tau_x = V.time_constant(tau_x, f"{name}: tau_x")
        self.tau_y = V.time_constant(tau_y, f"{name}: tau_y")
        self.pairing = check_pairing(pairing, name)
        self.w_min, self.w_max = V.bounds(w_min, w_max, name)
        self.dt = V.positive(dt, f"{name}: dt")
        self._set_reduce(reduce)

    def _decays(self) -> tuple[float, float, float, float]:
        return tuple(V.decay(t, self.dt) for t in (self.tau_plus, self.tau_x, self.tau_minus, self.tau_y))

    def _dw(self, conn: Connection, pre, post, r1, r2_before, o1_before, o2_before) -> torch.Tensor:
        pot = conn.outer(post * (self.a2_plus + self.a3_plus * o2_before), r1)
        dep = conn.outer(o1_before, pre * (self.a2_minus + self.a3_minus * r2_before))
        return pot - dep

    def delta(self, conn: Connection, pre, post, state, reward=None):
        d1, dx, dm, dy = self._decays()
        p = self.pairing
        r1 = bump(state.r1 * d1, pre, p)
        r2, o1, o2 = state.r2 * dx, state.o1 * dm, state.o2 * dy
        dw = self._dw(conn, pre, post, r1, r2, o1, o2)
        new = TripletState(r1, bump(r2, pre, p), bump(o1, post, p), bump(o2, post, p))
        return self._reduced(dw, pre.shape[0]), new

    def delta_sequence(self, conn: Connection, pre, post, state, reward=None):
        d1, dx, dm, dy = self._decays()
        p = self.pairing
        r1, r1_last = trace_sequence(pre, state.r1, d1, p, include_current=True)
        o1, o1_last = trace_sequence(post, state.o1, dm, p, include_current=False)
        if self.a3_minus:
            r2, r2_last = trace_sequence(pre, state.r2, dx, p, include_current=False)
        else:  # r2 is multiplied by zero: only its final value is needed
            r2, r2_last = 0.0, _final_trace(pre, state.r2, dx, p)
        if self.a3_plus:
            o2, o2_last = trace_sequence(post, state.o2, dy, p, include_current=False)
        else:
            o2, o2_last = 0.0, _final_trace(post, state.o2, dy, p)
        dw = self._dw(conn, pre, post, r1, r2, o1, o2)
        return self._reduced(dw, pre.shape[1]), TripletState(r1_last, r2_last, o1_last, o2_last)


def _final_trace(s: torch.Tensor, x0: torch.Tensor, decay: float, pairing: str) -> torch.Tensor:
    x = x0
    for t in range(s.shape[0]):
        x = bump(x * decay, s[t], pairing)
    return x
