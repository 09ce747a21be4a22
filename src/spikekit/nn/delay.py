"""Learnable axonal / synaptic delays over time-first sequences.

``Delay`` shifts every channel of ``x`` ``[T, B, ...]`` by its own delay ``d`` (in steps, learnable, in
``[0, max_delay]``). A fractional delay interpolates linearly between the two neighbouring integer shifts:
with ``k = floor(d)`` and ``f = d - k``,

    y[t] = (1 - f) x[t - k] + f x[t - k - 1]          (x[t] = 0 for t < 0: causal zero padding)

so ``y`` is differentiable in ``d``: ``dy/dd = x[t - k - 1] - x[t - k]`` (tested against finite differences
with ``gradcheck``). At the top of the range (``d = max_delay``) ``k = max_delay - 1, f = 1``; an integer
delay gives the exact shift. There is no hidden state between calls; ``run(x, state)`` carries the last
``max_delay`` input steps, so two chunks give exactly one long call.

``DelayedLinear`` gives every synapse (output x input) its own delay:
``y_j[t] = sum_i W_ji x_i[t - d_ji] + b_j``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .._checks import check_finite, check_floating, check_positive_int, check_tensor, check_time_first

__all__ = ["Delay", "DelayedLinear", "DelayState", "delay_shift"]


class DelayState(NamedTuple):
    """The last ``max_delay`` input steps ``[max_delay, B, ...]`` (zeros at rest)."""

    history: torch.Tensor


def delay_shift(
    x: torch.Tensor, delay: torch.Tensor, max_delay: int, history: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` ``[T, B, *S]`` delayed by ``delay`` (steps, broadcast against ``S``, clamped to
    ``[0, max_delay]``) with linear interpolation; ``history`` ``[max_delay, B, *S]`` precedes ``x`` (zeros if
    ``None``). Returns ``(y, new_history)``. Differentiable in ``x``, ``delay`` and ``history``."""
    t_len = x.shape[0]
    if history is None:
        history = x.new_zeros((max_delay, *x.shape[1:]))
    xp = torch.cat([history, x], 0)  # xp[max_delay + t] = x[t]
    d = delay.to(x.dtype).clamp(0, max_delay).expand(x.shape[2:])
    k = torch.floor(d.detach()).clamp(max=max_delay - 1)
    f = d - k  # in [0, 1]; carries the gradient w.r.t. the delay
    k = k.to(torch.int64)
    shape = (t_len, 1) + tuple(x.shape[2:])
    base = torch.arange(t_len, device=x.device).reshape((t_len,) + (1,) * (x.dim() - 1)) + max_delay
    idx0 = (base - k.unsqueeze(0).unsqueeze(0)).expand(shape).expand(x.shape)
    near = torch.gather(xp, 0, idx0)  # x[t - k]
    far = torch.gather(xp, 0, idx0 - 1)  # x[t - k - 1]
    y = (1 - f) * near + f * far  # exact at f = 0 and f = 1
    return y, xp[xp.shape[0] - max_delay :]


def _init_delay(init: float | str | torch.Tensor, shape: tuple[int, ...], max_delay: int, owner: str):
    if isinstance(init, str):
        if init != "random":
            raise ValueError(f"{owner}: init must be a number, a tensor or 'random', got {init!r}")
        return torch.rand(shape) * max_delay
    if isinstance(init, bool) or not isinstance(init, (int, float, torch.Tensor)):
        raise TypeError(f"{owner}: init must be a number, a tensor or 'random', got {type(init).__name__}")
    t = torch.as_tensor(init, dtype=torch.get_default_dtype()).detach().clone()
    check_floating(t, f"{owner}: init")
    check_finite(t, f"{owner}: init")
    try:
        t = t.expand(shape).clone()
    except RuntimeError:
        raise ValueError(f"{owner}: init of shape {tuple(t.shape)} does not broadcast to {shape}") from None
    if t.numel() and (float(t.min()) < 0 or float(t.max()) > max_delay):
        raise ValueError(
            f"{owner}: init delays must lie in [0, max_delay={max_delay}], got [{float(t.min()):.4g}, "
            f"{float(t.max()):.4g}]"
        )
    return t


def _shape(shape: int | tuple[int, ...], owner: str) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, int) and not isinstance(shape, bool) else shape
    if not isinstance(shape, tuple) or not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
        raise TypeError(f"{owner}: shape must be an int or a tuple of ints, got {shape!r}")
    for s in shape:
        check_positive_int(s, f"{owner}: shape")
    return shape


class Delay(nn.Module):
    """A learnable delay per channel for ``[T, B, N]`` or ``[T, B, C, ...]`` sequences (see the module
    docstring for the interpolation).

    Args:
        shape: the delays' shape, broadcast against one sample ``x.shape[2:]``: ``N`` for ``[T, B, N]``,
            ``(C, 1, 1)`` for one delay per channel of ``[T, B, C, H, W]``.
        max_delay: the largest delay, in steps (>= 1); delays are clamped to ``[0, max_delay]``.
        init: initial delays (steps): a number, a tensor of ``shape``, or ``"random"`` (uniform in
            ``[0, max_delay]``).
        learnable: make the delays a Parameter (else a buffer).

    Shape:
        ``[T, B, *S]`` -> ``[T, B, *S]``.

    Example:
        >>> delay = Delay(4, max_delay=8, init=torch.tensor([0.0, 1.5, 3.0, 8.0]))
        >>> y = delay(torch.rand(20, 2, 4))
        >>> a, state = delay.run(x[:10]); b, _ = delay.run(x[10:], state)   # == delay(x)
    """

    def __init__(
        self,
        shape: int | tuple[int, ...],
        max_delay: int,
        init: float | str | torch.Tensor = 0.0,
        learnable: bool = True,
    ) -> None:
        super().__init__()
        self.shape = _shape(shape, "Delay")
        self.max_delay = check_positive_int(max_delay, "Delay: max_delay")
        d = _init_delay(init, self.shape, self.max_delay, "Delay")
        if learnable:
            self.delay = nn.Parameter(d)
        else:
            self.register_buffer("delay", d)

    def delays(self) -> torch.Tensor:
        """The delays applied (steps): the parameter clamped to ``[0, max_delay]``."""
        return self.delay.detach().clamp(0, self.max_delay)

    def _check(self, x: torch.Tensor, state: DelayState | None) -> torch.Tensor | None:
        check_time_first(x, "Delay: x")
        check_floating(x, "Delay: x")
        check_finite(x, "Delay: x")
        try:
            out = torch.broadcast_shapes(self.shape, x.shape[2:])
        except RuntimeError:
            out = None
        if out != x.shape[2:]:
            raise ValueError(
                f"Delay: delays of shape {self.shape} do not broadcast to one sample of x, shape "
                f"{tuple(x.shape[2:])} (x: {tuple(x.shape)}); use shape=N for [T, B, N], (C, 1, 1) for "
                "[T, B, C, H, W]"
            )
        if state is None:
            return None
        if not isinstance(state, DelayState):
            raise TypeError(f"Delay: state must be a DelayState (from run), got {type(state).__name__}")
        h = check_tensor(state.history, "Delay: state.history")
        want = (self.max_delay, *x.shape[1:])
        if tuple(h.shape) != want:
            raise ValueError(f"Delay: state.history has shape {tuple(h.shape)}, expected {want}")
        if h.dtype != x.dtype or h.device != x.device:
            raise TypeError(f"Delay: state.history is {h.dtype} on {h.device}, x is {x.dtype} on {x.device}")
        check_finite(h, "Delay: state.history")
        return h

    def run(self, x: torch.Tensor, state: DelayState | None = None) -> tuple[torch.Tensor, DelayState]:
        """Delay ``x`` after the steps ``state`` holds (``None``: zeros). Returns ``(y, state)``."""
        history = self._check(x, state)
        y, h = delay_shift(x, self.delay, self.max_delay, history)
        return y, DelayState(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)[0]

    def extra_repr(self) -> str:
        learnable = isinstance(self.delay, nn.Parameter)
        return f"shape={self.shape}, max_delay={self.max_delay}, learnable={learnable}"


class DelayedLinear(nn.Module):
    """A Linear layer with one learnable delay per synapse: ``y_j[t] = sum_i W_ji x_i[t - d_ji] + b_j``.

    Memory grows as ``T B out in``: meant for small layers. Args as ``nn.Linear`` and :class:`Delay`
    (``init``: a number, ``[out, in]`` tensor or ``"random"``).

    Shape:
        ``[T, B, in]`` -> ``[T, B, out]``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        max_delay: int,
        bias: bool = True,
        init: float | str | torch.Tensor = 0.0,
        learnable: bool = True,
    ) -> None:
        super().__init__()
        self.linear = nn.Linear(
            check_positive_int(in_features, "DelayedLinear: in_features"),
            check_positive_int(out_features, "DelayedLinear: out_features"),
            bias=bias,
        )
        self.delay = Delay((out_features, in_features), max_delay, init, learnable)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_time_first(x, "DelayedLinear: x")
        n_out, n_in = self.delay.shape
        if x.dim() != 3 or x.shape[2] != n_in:
            raise ValueError(f"DelayedLinear: x must be [T, B, {n_in}], got {tuple(x.shape)}")
        xs = x.unsqueeze(2).expand(*x.shape[:2], n_out, n_in)
        y = (self.delay(xs) * self.linear.weight).sum(-1)
        return y + self.linear.bias if self.linear.bias is not None else y
