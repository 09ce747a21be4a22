r"""Homeostasis and competition: adaptive thresholds, k-winner-take-all, lateral inhibition, normalisation.

- :class:`AdaptiveThreshold`: a threshold that rises with every spike and slowly relaxes (Diehl & Cook
  2015), ``theta <- theta * exp(-dt / tau_theta) + theta_plus * s``; the firing threshold is
  ``base + theta``.
- :func:`kwta`: k-winner-take-all on one step: of the neurons that spiked, only the ``k`` with the
  highest score (e.g. membrane minus threshold) keep their spike.
- :class:`LateralInhibition`: inhibitory weights among the neurons of one layer,
  ``I_inh[t] = -(s[t-1] @ U^T)`` with ``U >= 0`` and a zero diagonal; fixed, or learned with
  :class:`AntiHebbian` (Földiák 1990): ``dU_ij = lr * (s_i s_j - p^2)``, which strengthens inhibition
  between neurons that fire together and so decorrelates them.
- :func:`normalize_weights`: scale each neuron's incoming weights so they sum to a constant.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from .._checks import check_finite, check_positive_int, check_tensor
from . import validate as V
from .base import EmptyState, LocalRule
from .connection import Connection

__all__ = [
    "AdaptiveThreshold",
    "AntiHebbian",
    "LateralInhibition",
    "ThresholdState",
    "kwta",
    "normalize_weights",
]


class ThresholdState(NamedTuple):
    """Threshold offsets ``theta``: ``[*neurons]`` when shared by the batch, else ``[B, *neurons]``."""

    theta: torch.Tensor


class AdaptiveThreshold:
    r"""Adaptive threshold: ``theta <- theta * exp(-dt / tau_theta) + theta_plus * s``.

    With ``shared=True`` (Diehl & Cook: a property of the neuron, kept across inputs) ``theta`` has one
    value per neuron and the spikes of the whole batch are summed into it; with ``shared=False`` each
    sample has its own ``theta`` (an adaptation that starts from rest with every input).

    Args:
        theta_plus: increase per spike (>= 0), in the units of the threshold (Diehl & Cook: 0.05 mV).
        tau_theta: relaxation time constant (> 0, ``inf`` for none; Diehl & Cook: 1e7 ms).
        dt: time step (> 0), in the units of ``tau_theta``.
        shared: one ``theta`` per neuron for the whole batch (default), or one per sample.

    Example:
        >>> adapt = AdaptiveThreshold(theta_plus=0.05, tau_theta=1e7)
        >>> state = adapt.init_state(torch.zeros(100))      # shared: shape of one sample's neurons
        >>> thr = adapt.threshold(1.0, state)               # base + theta, [100]
        >>> state = adapt.step(spikes_t, state)             # spikes_t: [B, 100]
    """

    def __init__(
        self, theta_plus: float = 0.05, tau_theta: float = 1e7, *, dt: float = 1.0, shared: bool = True
    ) -> None:
        self.theta_plus = V.nonnegative(theta_plus, "AdaptiveThreshold: theta_plus")
        self.tau_theta = V.time_constant(tau_theta, "AdaptiveThreshold: tau_theta")
        self.dt = V.positive(dt, "AdaptiveThreshold: dt")
        self.shared = bool(shared)

    @property
    def decay(self) -> float:
        """Per-step decay factor ``exp(-dt / tau_theta)``."""
        return V.decay(self.tau_theta, self.dt)

    def init_state(self, like: torch.Tensor) -> ThresholdState:
        """``theta = 0`` shaped like ``like`` (one sample's neurons if shared, else ``[B, *neurons]``)."""
        check_tensor(like, "AdaptiveThreshold.init_state: like")
        dtype = like.dtype if like.is_floating_point() else torch.get_default_dtype()
        return ThresholdState(torch.zeros(like.shape, dtype=dtype, device=like.device))

    def step(self, spikes: torch.Tensor, state: ThresholdState) -> ThresholdState:
        """One step: decay, then add ``theta_plus`` per spike (summed over the batch if shared)."""
        if not isinstance(state, ThresholdState):
            raise TypeError(
                f"AdaptiveThreshold.step: state must be a ThresholdState, got {type(state).__name__}"
            )
        _check_activity(spikes, "AdaptiveThreshold.step: spikes")
        theta = check_finite(state.theta, "AdaptiveThreshold.step: state.theta")
        if spikes.dim() == 0 or spikes.shape[0] == 0:
            raise ValueError(
                f"AdaptiveThreshold.step: spikes must hold at least one sample [B, ...], got shape "
                f"{tuple(spikes.shape)}"
            )
        want = (spikes.shape[0], *theta.shape) if self.shared else tuple(theta.shape)
        if tuple(spikes.shape) != want:
            raise ValueError(
                f"AdaptiveThreshold.step: spikes must have shape {want} (the batch of this theta), got "
                f"{tuple(spikes.shape)}"
            )
        added = spikes.sum(0) if self.shared else spikes
        return ThresholdState(theta * self.decay + self.theta_plus * added.to(theta.dtype))

    def threshold(self, base: float | torch.Tensor, state: ThresholdState) -> torch.Tensor:
        """The effective threshold ``base + theta``."""
        if not isinstance(state, ThresholdState):
            raise TypeError(
                f"AdaptiveThreshold.threshold: state must be a ThresholdState, got {type(state).__name__}"
            )
        if isinstance(base, torch.Tensor):
            check_finite(base, "AdaptiveThreshold.threshold: base")
        else:
            base = V.real(base, "AdaptiveThreshold.threshold: base")
        return base + state.theta

    def __repr__(self) -> str:
        return (
            f"AdaptiveThreshold(theta_plus={self.theta_plus:g}, tau_theta={self.tau_theta:g}, "
            f"dt={self.dt:g}, shared={self.shared})"
        )


def kwta(spikes: torch.Tensor, scores: torch.Tensor, k: int = 1, *, dim: int | None = None) -> torch.Tensor:
    """k-winner-take-all on one time step: keep at most ``k`` spikes per sample, those with top ``scores``.

    Ties are broken towards the lower index, so the result is deterministic.

    Args:
        spikes: one step of spikes ``[B, ...]`` (non-zero = spike).
        scores: how strongly each neuron won, same shape (e.g. ``v - threshold``).
        k: number of winners (int >= 1).
        dim: compete along this dimension only (e.g. ``1``: channels at each position of a conv map);
            ``None``: over all neurons of a sample.

    Returns:
        ``spikes`` with all but the winners zeroed, same shape and dtype.

    Example:
        >>> kwta(torch.tensor([[1., 1., 1.]]), torch.tensor([[0.2, 0.9, 0.5]]), k=1)
        tensor([[0., 1., 0.]])
    """
    _check_activity(spikes, "kwta: spikes")
    _check_activity(scores, "kwta: scores")
    k = check_positive_int(k, "kwta: k")
    if spikes.shape != scores.shape or spikes.dim() < 2:
        raise ValueError(
            f"kwta: spikes and scores must have the same shape [B, ...], got {tuple(spikes.shape)} and "
            f"{tuple(scores.shape)}"
        )
    if spikes.shape[0] == 0:
        raise ValueError(f"kwta: spikes must hold at least one sample, got shape {tuple(spikes.shape)}")
    if dim is None:
        flat_s, flat_v = spikes.flatten(1), scores.flatten(1)
        axis = 1
    else:
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError(f"kwta: dim must be an int or None, got {type(dim).__name__} {dim!r}")
        n = spikes.dim()
        if not -n <= dim < n or dim % n == 0:
            raise ValueError(
                f"kwta: dim must name a neuron axis of spikes {tuple(spikes.shape)}, i.e. lie in "
                f"[1, {n - 1}] (or [-{n - 1}, -1]); dim 0 is the batch; got {dim}"
            )
        flat_s, flat_v, axis = spikes, scores, dim % n
    fired = flat_s != 0
    if k >= flat_s.shape[axis]:
        return spikes
    masked = torch.where(fired, flat_v, torch.full_like(flat_v, float("-inf")))
    if k == 1:  # argmax returns the first maximal index
        idx = masked.argmax(axis, keepdim=True)
    else:
        idx = torch.sort(masked, dim=axis, descending=True, stable=True).indices.narrow(axis, 0, k)
    keep = torch.zeros_like(fired).scatter_(axis, idx, True) & fired
    return (flat_s * keep).reshape(spikes.shape)


class LateralInhibition(nn.Linear):
    """Inhibitory weights ``U`` (``>= 0``, zero diagonal) among the ``n`` neurons of one layer.

    ``forward(s_prev)`` returns the inhibitory current ``-(s_prev @ (U * mask)^T)`` ``[B, n]``: add it to
    the layer's input at the next step. It is an ``nn.Linear`` without bias, so any rule can be
    attached to it; :meth:`plastic` attaches :class:`AntiHebbian` with the diagonal masked.

    Args:
        n: number of neurons.
        strength: initial inhibition between every pair (>= 0); all-to-all-but-self.

    Example:
        >>> inh = LateralInhibition(100, strength=17.5)
        >>> syn = inh.plastic(AntiHebbian(lr=1e-3, target_rate=0.01))   # learned; omit to keep it fixed
        >>> current = layer(x_t) + inh(s_prev)
        >>> state = syn.step(s_prev, s_t, state)
    """

    def __init__(self, n: int, strength: float = 1.0) -> None:
        n = check_positive_int(n, "LateralInhibition: n")
        strength = V.nonnegative(strength, "LateralInhibition: strength")
        itemsize = torch.tensor([], dtype=torch.get_default_dtype()).element_size()
        V.fits_in_memory(4 * n * n * itemsize, f"LateralInhibition(n={n}): {n} x {n} weights")
        super().__init__(n, n, bias=False)
        self.weight.requires_grad_(False)
        mask = 1.0 - torch.eye(n)
        self.register_buffer("mask", mask)
        with torch.no_grad():
            self.weight.copy_(strength * mask)

    def forward(self, spikes_prev: torch.Tensor) -> torch.Tensor:
        _check_activity(spikes_prev, "LateralInhibition: spikes_prev")
        if spikes_prev.dim() == 0 or spikes_prev.shape[-1] != self.in_features:
            raise ValueError(
                f"LateralInhibition: spikes_prev must end with {self.in_features} neurons, got shape "
                f"{tuple(spikes_prev.shape)}"
            )
        if spikes_prev.numel() == 0:
            raise ValueError(
                f"LateralInhibition: spikes_prev must hold at least one sample, got shape "
                f"{tuple(spikes_prev.shape)}"
            )
        if not spikes_prev.is_floating_point():
            spikes_prev = spikes_prev.to(self.weight.dtype)
        return -nn.functional.linear(spikes_prev, self.weight * self.mask)

    def plastic(self, rule: LocalRule | None = None) -> Any:
        """Attach ``rule`` (default :class:`AntiHebbian`) with the diagonal masked out."""
        if rule is not None and not isinstance(rule, LocalRule):
            raise TypeError(
                f"LateralInhibition.plastic: rule must be a LocalRule (e.g. AntiHebbian(lr=1e-3)) or None, "
                f"got {type(rule).__name__} {rule!r:.60}"
            )
        return (rule or AntiHebbian()).attach(self, mask=self.mask)


class AntiHebbian(LocalRule):
    r"""Földiák's anti-Hebbian rule for inhibitory weights: ``dU_ij = lr * (s_i s_j - p^2)``.

    ``s_i`` is the post-synaptic (inhibited) neuron's activity, ``s_j`` the pre-synaptic one's, ``p`` the
    target firing probability per step. Summed over the batch, then clipped to ``[w_min, w_max]``.
    Dense connections only (a lateral weight ``[n, n]``).

    Args:
        lr: learning rate (>= 0).
        target_rate: ``p`` in [0, 1].
        w_min, w_max: bounds (default ``[0, inf)``: inhibition stays inhibitory).
    """

    State = EmptyState

    def __init__(
        self,
        lr: float = 1e-3,
        target_rate: float = 0.05,
        *,
        w_min: float = 0.0,
        w_max: float | None = None,
        reduce: str = "sum",
    ) -> None:
        self.lr = V.nonnegative(lr, "AntiHebbian: lr")
        self.target_rate = V.real(target_rate, "AntiHebbian: target_rate")
        if not 0.0 <= self.target_rate <= 1.0:
            raise ValueError(f"AntiHebbian: target_rate must lie in [0, 1], got {self.target_rate!r}")
        self.w_min, self.w_max = V.bounds(w_min, w_max, "AntiHebbian", allow_none=True)
        self._set_reduce(reduce)

    def check_layer(self, conn: Connection) -> None:
        if conn.kind != "dense":
            raise TypeError(
                "AntiHebbian.attach: cannot drive a convolution; it learns lateral weights [n, n] "
                "(a LateralInhibition, an nn.Linear or a 2-D tensor)"
            )

    def delta(self, conn: Connection, pre, post, state, reward=None):
        batch = pre.shape[0]
        dw = conn.outer(post, pre) - batch * self.target_rate**2
        return self._reduced(self.lr * dw, batch), EmptyState()


def normalize_weights(target: Any, total: float, *, eps: float = 0.0) -> torch.Tensor:
    r"""Scale each output neuron's incoming weights so that they sum to ``total`` (in place, no autograd).

    .. math::
        w_{ji} \leftarrow w_{ji} \, \frac{\text{total}}{\sum_i w_{ji}}

    For ``nn.Linear`` the sum runs over each row ``[out, :]``; for ``nn.Conv2d`` over each output
    channel's ``[C_in, kH, kW]`` kernel. Neurons whose incoming weights sum to ``<= eps`` are left as
    they are (there is nothing to scale): in particular a row of zeros (a neuron that lost all its
    input) stays zero, never NaN.

    Args:
        target: ``nn.Linear``, ``nn.Conv2d`` or a 2-D weight tensor.
        total: the sum each neuron's weights get (> 0; Diehl & Cook: 78).
        eps: sums at or below it are not scaled (>= 0).

    Returns:
        The (modified) weight tensor.

    Raises:
        ValueError: ``total <= 0``, ``eps < 0``, NaN or infinite weights, sums that overflow, or negative
            weights (scaling would not give a sum of ``total`` in a meaningful way). The weight is then
            left unchanged.
    """
    total = V.positive(total, "normalize_weights: total")
    eps = V.nonnegative(eps, "normalize_weights: eps")
    w = Connection(target, owner="normalize_weights").weight
    with torch.no_grad():
        check_finite(w, "normalize_weights: the weight")
        if bool((w < 0).any()):
            raise ValueError(
                "normalize_weights: weights must be >= 0 to be normalised to a sum, "
                f"got minimum {float(w.min()):.4g}"
            )
        sums = w.sum(dim=tuple(range(1, w.dim())), keepdim=True)
        if not bool(torch.isfinite(sums).all()):
            raise ValueError(
                f"normalize_weights: a neuron's incoming weights sum to more than {w.dtype} can hold "
                f"(largest weight {float(w.max()):.4g}); the weights are far too large to normalise"
            )
        scale = torch.where(
            sums > eps, total / sums.clamp_min(torch.finfo(w.dtype).tiny), torch.ones_like(sums)
        )
        w.mul_(scale)
    return w


def _check_activity(x: Any, name: str) -> torch.Tensor:
    """A real (bool, integer or floating) tensor without NaN or inf."""
    check_tensor(x, name)
    if x.is_complex():
        raise TypeError(
            f"{name} must be a real tensor (bool, integer or floating point), got dtype {x.dtype}"
        )
    return check_finite(x, name)
