r"""Reward-modulated STDP: pair STDP writes into an eligibility trace, a reward signal turns it into learning.

After Izhikevich (2007, "Solving the distal reward problem through linkage of STDP and dopamine
signaling") and Florian (2007, MSTDPET). Per step, with the pair-STDP traces of
:class:`~spikekit.learning.STDP` (same step order, same ``dt = 0`` convention):

.. math::
    c_b \leftarrow c_b \, e^{-\Delta t/\tau_c}
        + A_+ \,\mathrm{outer}(s^{post}_b, x^{pre}_b) - A_- \,\mathrm{outer}(x^{post}_b, s^{pre}_b)

    \Delta W = \eta \sum_b r_b \, c_b

The eligibility ``c`` is kept per sample (``[B, *weight.shape]``), since each sample of a batch may be
rewarded differently; ``r`` is a scalar or one reward per sample ``[B]`` at this step (``None``: 0, the
trace only accumulates). Weights are clipped to ``[w_min, w_max]``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from . import validate as V
from .base import LocalRule, as_reward
from .connection import Connection
from .traces import bump, check_pairing

__all__ = ["RewardSTDP", "RewardSTDPState"]


class RewardSTDPState(NamedTuple):
    """Pre trace ``[B, *in]``, post trace ``[B, *out]``, eligibility ``[B, *weight.shape]``."""

    pre: torch.Tensor
    post: torch.Tensor
    eligibility: torch.Tensor


class RewardSTDP(LocalRule):
    """Reward-modulated pair STDP with an eligibility trace (see the module docstring).

    Args:
        a_plus, a_minus: pair-STDP amplitudes written into the eligibility trace (>= 0).
        tau_plus, tau_minus: pre and post trace time constants (> 0).
        tau_c: eligibility time constant (> 0); Izhikevich used 1000 ms.
        lr: learning rate ``eta`` (>= 0) applied to ``reward * eligibility``.
        pairing: ``"all-to-all"`` or ``"nearest"``.
        w_min, w_max: hard weight bounds.
        dt: time step; reduce: ``"sum"`` or ``"mean"`` over the batch.

    Example:
        >>> syn = RewardSTDP(tau_c=200.0).attach(layer)
        >>> state = syn.step(pre_t, post_t, state, reward=torch.tensor([1.0, -1.0]))  # per sample
    """

    State = RewardSTDPState
    _state_kinds = ("pre", "post", "eligibility")
    takes_reward = True

    def __init__(
        self,
        a_plus: float = 1.0,
        a_minus: float = 1.05,
        tau_plus: float = 20.0,
        tau_minus: float = 20.0,
        tau_c: float = 1000.0,
        lr: float = 1e-3,
        *,
        pairing: str = "all-to-all",
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
        self.tau_c = V.time_constant(tau_c, f"{name}: tau_c")
        self.lr = V.nonnegative(lr, f"{name}: lr")
        self.pairing = check_pairing(pairing, name)
        self.w_min, self.w_max = V.bounds(w_min, w_max, name)
        self.dt = V.positive(dt, f"{name}: dt")
        self._set_reduce(reduce)

    def _reward(self, reward: Any, batch: int, like: torch.Tensor) -> torch.Tensor | None:
        if reward is None:
            return None
        r = as_reward(reward, f"{type(self).__name__}: reward", like)
        if r.dim() == 0:
            r = r.expand(batch)
        if tuple(r.shape) != (batch,):
            raise ValueError(
                f"{type(self).__name__}: reward must be a scalar or one value per sample [B] = ({batch},), "
                f"got shape {tuple(r.shape)}"
            )
        return r

    def delta(self, conn: Connection, pre, post, state, reward=None):
        dp, dm, dc = (V.decay(t, self.dt) for t in (self.tau_plus, self.tau_minus, self.tau_c))
        x_pre = bump(state.pre * dp, pre, self.pairing)
        x_post = state.post * dm
        stdp = self.a_plus * conn.outer_per_sample(post, x_pre) - self.a_minus * conn.outer_per_sample(
            x_post, pre
        )
        c = state.eligibility * dc + stdp  # [B, *W]
        new = RewardSTDPState(x_pre, bump(x_post, post, self.pairing), c)
        r = self._reward(reward, pre.shape[0], c)
        if r is None:
            return torch.zeros_like(conn.weight), new
        dw = self.lr * torch.tensordot(r, c, dims=1)
        return self._reduced(dw, pre.shape[0]), new
