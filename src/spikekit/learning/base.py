"""The common shape of every local rule, and :class:`Plastic`, a rule attached to one layer.

A rule holds only hyperparameters. Everything that changes while it learns is explicit:

- the **weight** belongs to the layer (``nn.Linear`` / ``nn.Conv2d``) and is updated in place, under
  ``torch.no_grad()``, by :meth:`Plastic.step`;
- the **rule state** (its traces) is a ``NamedTuple`` that :meth:`Plastic.step` takes and returns, as a
  neuron's ``step`` does. ``state=None`` starts from rest (all traces zero).

Nothing non-finite reaches a weight: activity (``pre``/``post``), traces, rewards and masks holding NaN or
an infinity, empty batches and empty sequences are refused (``ValueError`` naming the rule and the
argument) before the weight is touched, and an update that would leave a NaN or an infinity in the weight
(a learning rate so large that the change overflows) raises instead of being written. Each check is one
reduction over the tensor.

Example:
    >>> layer = nn.Linear(784, 100, bias=False)
    >>> nn.init.uniform_(layer.weight, 0.0, 0.3)
    >>> syn = sk.learning.STDP(a_plus=1e-2, a_minus=1e-2).attach(layer)
    >>> state = None
    >>> for pre_t in x:                        # x: [T, B, 784] input spikes
    ...     post_t, v = neuron.step(layer(pre_t), v)
    ...     state = syn.step(pre_t, post_t, state)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from .._checks import check_choice, check_finite, check_tensor
from .connection import Connection

__all__ = ["LocalRule", "Plastic", "EmptyState"]

REDUCTIONS = ("sum", "mean")


class EmptyState(NamedTuple):
    """The state of a rule without traces (Hebbian, Oja)."""


class LocalRule:
    """Base class of the local rules.

    Subclasses set ``State`` (a ``NamedTuple``) and ``_state_kinds`` (for each field, ``"pre"`` or
    ``"post"``: shaped like one step of that side; or ``"eligibility"``: ``[B, *weight.shape]``), and
    implement :meth:`delta`. ``w_min``/``w_max`` are the rule's weight bounds (``None``: unbounded).
    """

    State: type[NamedTuple] = EmptyState
    _state_kinds: tuple[str, ...] = ()
    w_min: float | None = None
    w_max: float | None = None
    reduce: str = "sum"
    takes_reward: bool = False

    def _set_reduce(self, reduce: str) -> None:
        self.reduce = check_choice(reduce, f"{type(self).__name__}: reduce", REDUCTIONS)

    # --- attaching --------------------------------------------------------------------------------
    def attach(self, layer: Any, *, mask: torch.Tensor | None = None) -> Plastic:
        """Bind this rule to ``layer``, checking it can drive it and that its weights are in bounds.

        Args:
            layer: ``nn.Linear``, ``nn.Conv2d`` (``groups=1``), either in ``TimeDistributed``, or a 2-D
                weight tensor ``[out, in]``.
            mask: optional 0/1 tensor shaped like the weight; masked-out weights never change.

        Raises:
            TypeError/ValueError: a layer the rule cannot drive; weights outside ``[w_min, w_max]``.
        """
        owner = f"{type(self).__name__}.attach"
        conn = Connection(layer, owner=owner)
        self.check_layer(conn)
        self.check_weight(conn.weight, owner)
        if mask is not None:
            if not isinstance(mask, torch.Tensor) or mask.shape != conn.weight.shape:
                shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
                raise ValueError(
                    f"{owner}: mask must be a tensor shaped like the weight "
                    f"{tuple(conn.weight.shape)}, got {shape}"
                )
            if mask.is_complex():
                raise TypeError(f"{owner}: mask must be a real 0/1 tensor, got dtype {mask.dtype}")
            check_finite(mask, f"{owner}: mask")
            if mask.numel() and (bool((mask < 0).any()) or bool((mask > 1).any())):
                raise ValueError(
                    f"{owner}: mask must hold values in [0, 1] (1: learns, 0: frozen), got values in "
                    f"[{float(mask.min()):.4g}, {float(mask.max()):.4g}]"
                )
            mask = mask.to(device=conn.weight.device, dtype=conn.weight.dtype)
        conn.owner = type(self).__name__  # errors of the later steps name the rule, not attach
        return Plastic(self, conn, mask)

    def check_layer(self, conn: Connection) -> None:
        """Raise if this rule cannot drive ``conn`` (all rules drive dense and conv layers by default)."""

    def check_weight(self, weight: torch.Tensor, owner: str) -> None:
        """Raise ``ValueError`` unless every weight lies in ``[w_min, w_max]`` and is finite."""
        w = weight.detach()
        if not bool(torch.isfinite(w).all()):
            raise ValueError(f"{owner}: the layer's weight holds NaN or infinite values")
        lo, hi = float(w.min()), float(w.max())
        below = self.w_min is not None and lo < self.w_min
        above = self.w_max is not None and hi > self.w_max
        if below or above:
            a = "-inf" if self.w_min is None else f"{self.w_min:g}"
            b = "inf" if self.w_max is None else f"{self.w_max:g}"
            raise ValueError(
                f"{owner}: the layer's weights must lie in the rule's bounds [w_min, w_max] = [{a}, {b}], "
                f"got values in [{lo:.4g}, {hi:.4g}]; initialise them inside the bounds "
                "(e.g. nn.init.uniform_(layer.weight, 0.0, 0.3)) or change w_min/w_max"
            )

    def clamp_(self, weight: torch.Tensor) -> torch.Tensor:
        """Clip ``weight`` in place to ``[w_min, w_max]``."""
        if self.w_min is not None or self.w_max is not None:
            weight.clamp_(self.w_min, self.w_max)
        return weight

    # --- state ------------------------------------------------------------------------------------
    def init_state(self, conn: Connection, pre: torch.Tensor, post: torch.Tensor) -> NamedTuple:
        """All traces at rest (zeros), shaped for one step ``pre [B, ...]`` / ``post [B, ...]``."""
        fields = []
        for kind in self._state_kinds:
            if kind == "eligibility":
                fields.append(pre.new_zeros((pre.shape[0], *conn.weight.shape)))
            else:
                fields.append(torch.zeros_like(pre if kind == "pre" else post))
        return self.State(*fields)

    def check_state(self, state: Any, conn: Connection, pre: torch.Tensor, post: torch.Tensor) -> NamedTuple:
        """Raise unless ``state`` is this rule's ``State`` with shapes matching this step."""
        name = type(self).__name__
        if not isinstance(state, self.State):
            raise TypeError(
                f"{name}: state must be a {self.State.__name__} (as returned by step) or None, "
                f"got {type(state).__name__}"
            )
        for field, kind, value in zip(state._fields, self._state_kinds, state, strict=True):
            if kind == "eligibility":
                want = (pre.shape[0], *conn.weight.shape)
            else:
                want = tuple((pre if kind == "pre" else post).shape)
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != want:
                got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                raise ValueError(
                    f"{name}: state.{field} has shape {got}, expected {want}; pass the state returned for "
                    "this batch, or None to start from rest"
                )
            check_finite(value, f"{name}: state.{field}")
        return state

    # --- the rule ---------------------------------------------------------------------------------
    def delta(
        self,
        conn: Connection,
        pre: torch.Tensor,
        post: torch.Tensor,
        state: NamedTuple,
        reward: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, NamedTuple]:
        """The weight change of one step and the next state (nothing is applied)."""
        raise NotImplementedError

    def delta_sequence(
        self,
        conn: Connection,
        pre: torch.Tensor,
        post: torch.Tensor,
        state: NamedTuple,
        reward: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, NamedTuple]:
        """Sum of :meth:`delta` over ``pre``/``post`` ``[T, B, ...]`` with the weight held fixed.

        Rules override this with a vectorised version (traces by a loop over time, then one contraction).
        """
        total = torch.zeros_like(conn.weight)
        for t in range(pre.shape[0]):
            r = None if reward is None else reward[t]
            dw, state = self.delta(conn, pre[t], post[t], state, r)
            total += dw
        return total, state

    def _reduced(self, dw: torch.Tensor, batch: int) -> torch.Tensor:
        return dw / batch if self.reduce == "mean" else dw

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Plastic:
    """A :class:`LocalRule` attached to one layer (made by :meth:`LocalRule.attach`).

    Weight changes are applied in place to the layer's weight under ``torch.no_grad()``, then clipped to
    the rule's bounds; the weight keeps its ``requires_grad`` (a gradient-trained readout can follow).
    """

    def __init__(self, rule: LocalRule, conn: Connection, mask: torch.Tensor | None = None) -> None:
        self.rule, self.conn, self.mask = rule, conn, mask

    @property
    def layer(self) -> Any:
        """The layer (or tensor) this rule drives."""
        return self.conn.layer

    @property
    def weight(self) -> torch.Tensor:
        """The weight this rule updates."""
        return self.conn.weight

    def init_state(self, pre_t: torch.Tensor, post_t: torch.Tensor) -> NamedTuple:
        """The rule's state at rest for one step of pre/post activity ``[B, ...]``."""
        pre_t, post_t = self.conn.check(pre_t, post_t)
        return self.rule.init_state(self.conn, pre_t, post_t)

    def _prepare(self, pre_t, post_t, state, reward):
        rule = self.rule
        pre_t, post_t = self.conn.check(pre_t, post_t)
        if state is None:
            state = rule.init_state(self.conn, pre_t, post_t)
        else:
            state = rule.check_state(state, self.conn, pre_t, post_t)
        if reward is not None and not rule.takes_reward:
            raise TypeError(
                f"{type(rule).__name__} takes no reward; use RewardSTDP for reward-modulated learning"
            )
        return pre_t, post_t, state

    def delta(
        self,
        pre_t: torch.Tensor,
        post_t: torch.Tensor,
        state: NamedTuple | None = None,
        *,
        reward: Any = None,
    ) -> tuple[torch.Tensor, NamedTuple]:
        """The weight change one step would make, and the next state, without applying it."""
        with torch.no_grad():
            pre_t, post_t, state = self._prepare(pre_t, post_t, state, reward)
            dw, state = self.rule.delta(self.conn, pre_t, post_t, state, reward)
            return (dw if self.mask is None else dw * self.mask), state

    def apply_(self, dw: torch.Tensor) -> torch.Tensor:
        """Add ``dw`` to the weight (masked), clip to the rule's bounds; returns the weight.

        Raises:
            ValueError: ``dw`` not shaped like the weight, or an update that would leave a NaN or an
                infinity in the weight (e.g. a learning rate so large that the change overflows); the
                weight is then left untouched.
        """
        name = type(self.rule).__name__
        w = self.conn.weight
        check_tensor(dw, f"{name}.apply_: dw")
        if dw.shape != w.shape:
            raise ValueError(
                f"{name}.apply_: dw must be shaped like the weight {tuple(w.shape)}, got {tuple(dw.shape)}"
            )
        if dw.device != w.device or dw.is_complex():
            raise ValueError(
                f"{name}.apply_: dw must be a real tensor on the weight's device {w.device}, got "
                f"{dw.dtype} on {dw.device}"
            )
        with torch.no_grad():
            dw = dw.to(w.dtype)  # an overflow in the weight's own dtype counts
            new = w + (dw if self.mask is None else dw * self.mask)
            check_finite_update(new, name)
            w.copy_(new)
            return self.rule.clamp_(w)

    def step(
        self,
        pre_t: torch.Tensor,
        post_t: torch.Tensor,
        state: NamedTuple | None = None,
        *,
        reward: Any = None,
    ) -> NamedTuple:
        """Learn from one time step: update the weight in place and return the new rule state.

        Args:
            pre_t: pre-synaptic activity (spikes) at this step, ``[B, in]`` or ``[B, C_in, H, W]``.
            post_t: post-synaptic activity at this step, ``[B, out]`` or ``[B, C_out, H_out, W_out]``.
            state: the state returned by the previous step, or ``None`` to start from rest.
            reward: for reward-modulated rules only, a scalar or ``[B]``.
        """
        dw, state = self.delta(pre_t, post_t, state, reward=reward)
        self.apply_(dw)
        return state

    def run(
        self,
        pre: torch.Tensor,
        post: torch.Tensor,
        state: NamedTuple | None = None,
        *,
        online: bool = True,
        reward: Any = None,
    ) -> NamedTuple:
        """Learn from whole sequences ``pre``/``post`` ``[T, B, ...]``.

        ``online=True`` applies every step's change before the next (a loop of :meth:`step`).
        ``online=False`` holds the weight fixed over the sequence, sums the changes (one vectorised
        contraction) and applies the sum once: the same result when the changes are small, much faster.

        Args:
            reward: reward-modulated rules only: ``[T]`` or ``[T, B]``.
        """
        owner = f"{type(self.rule).__name__}.run"
        for name, x in (("pre", pre), ("post", post)):
            if not isinstance(x, torch.Tensor) or x.dim() < 2:
                got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
                raise ValueError(f"{owner}: {name} must be a sequence [T, B, ...], got {got}")
        if pre.shape[0] != post.shape[0]:
            raise ValueError(
                f"{owner}: pre and post must have the same number of steps, "
                f"got {pre.shape[0]} and {post.shape[0]}"
            )
        if pre.shape[0] == 0:
            raise ValueError(f"{owner}: pre and post must have at least one time step, got T = 0")
        # the whole sequence before the first step: a NaN at step t must not leave steps < t applied
        for name, x in (("pre", pre), ("post", post)):
            if x.is_complex():
                raise TypeError(f"{owner}: {name} must hold real activity, got dtype {x.dtype}")
            check_finite(x, f"{owner}: {name}")
        if reward is not None:
            reward = as_reward(reward, f"{owner}: reward", self.weight)
            if reward.dim() == 0 or reward.shape[0] != pre.shape[0]:
                raise ValueError(
                    f"{owner}: reward must be [T] or [T, B] with T={pre.shape[0]}, "
                    f"got shape {tuple(reward.shape)}"
                )
        if online:
            for t in range(pre.shape[0]):
                state = self.step(pre[t], post[t], state, reward=None if reward is None else reward[t])
            return state
        with torch.no_grad():
            _, _, state = self._prepare(pre[0], post[0], state, reward)
            w = self.weight
            dw, state = self.rule.delta_sequence(self.conn, pre.to(w.dtype), post.to(w.dtype), state, reward)
        self.apply_(dw)
        return state

    def __repr__(self) -> str:
        return f"Plastic({self.rule!r}, {self.conn!r})"


def as_reward(reward: Any, name: str, like: torch.Tensor) -> torch.Tensor:
    """``reward`` as a finite tensor of ``like``'s dtype and device (``TypeError`` for non-numbers)."""
    if isinstance(reward, torch.Tensor):
        if reward.is_complex() or reward.dtype == torch.bool:
            raise TypeError(f"{name} must be a real number or tensor, got dtype {reward.dtype}")
        r = reward.to(dtype=like.dtype, device=like.device)
    else:
        try:
            r = torch.as_tensor(reward, dtype=like.dtype, device=like.device)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"{name} must be a number, a sequence of numbers or a tensor, got {type(reward).__name__} "
                f"{reward!r:.60}"
            ) from err
    return check_finite(r, name)


def check_finite_update(new: torch.Tensor, rule: str) -> None:
    """Raise ``ValueError`` if the updated weight ``new`` holds NaN or inf (it has not been written yet)."""
    try:
        check_finite(new, "w")
    except ValueError:
        n_bad = int((~torch.isfinite(new)).sum())
        raise ValueError(
            f"{rule}: this update would write {n_bad} NaN or infinite value(s) into the weight (the change "
            "is not finite or overflowed: is a learning rate or amplitude far too large?); the weight was "
            "left unchanged"
        ) from None
