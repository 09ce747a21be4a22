r"""The original experiment's flicker input and its first Linear layer, streamed over time.

.. math::
    I[t] = (x \odot u[t])\, W^\top + b, \qquad u[t]_{b f} = \mathrm{philox}(\text{seed},\ tBF + bF + f)

with ``u`` uniform on ``[0, 1)`` from the counter-based generator :mod:`spikekit.kernels.rng`. The plain
way (:func:`spikekit.encode.flicker`, then ``nn.Linear``) materialises the ``[T, B, F]`` mask and the
masked input (400 MB each at ``T = 128``, ``B = 1000``, ``F = 784``) and keeps the latter for backward.
:func:`flicker_linear` works through time in chunks of ``chunk`` steps in one reused buffer: each chunk's
masked input is generated and multiplied by ``x`` in one pass, then goes through one GEMM. It saves only
``x``, ``W`` and the seed; backward regenerates each chunk (counter-based: any piece of the stream can be
recomputed) for

.. math::
    \frac{\partial L}{\partial W} = \sum_t g[t]^\top (x \odot u[t]), \quad
    \frac{\partial L}{\partial b} = \sum_{t, b} g[t], \quad
    \frac{\partial L}{\partial x} = \sum_t (g[t]\, W) \odot u[t].

:func:`flicker_masks` returns the same ``u`` explicitly, so the plain computation can be fed identical
masks (the tests and the benchmark's same-mathematics check do). The stream is not ``torch.rand``'s: the
same distribution, different numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .._checks import check_allocation, check_finite, check_no_overflow, check_positive_int, check_tensor
from . import rng

__all__ = ["CHUNK_VALUES", "flicker_linear", "flicker_masks"]

CHUNK_VALUES = 2**20  # values of x * u per chunk and CPU thread when flicker_linear's chunk is None


def flicker_masks(
    shape: tuple[int, ...] | torch.Size,
    steps: int,
    seed: int,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The masks :func:`flicker_linear` uses for an input of ``shape`` (``[B, F]``): ``[T, *shape]``.

    Element ``(t, b, f)`` is stream element ``t B F + b F + f`` of ``seed`` (float32 values, exact in
    ``float64``).
    """
    steps = check_positive_int(steps, "flicker_masks: steps")
    shape = tuple(shape)
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in shape):
        raise ValueError(f"flicker_masks: shape must be a tuple of ints >= 0, got {shape}")
    if not dtype.is_floating_point:
        raise TypeError(f"flicker_masks: dtype must be floating point, got {dtype}")
    check_allocation((steps, *shape), dtype, "flicker_masks: the masks", device)
    return rng.uniform((steps, *shape), seed, dtype=dtype, device=device)


def _check(x: Any, weight: Any, bias: Any, steps: Any, seed: Any, chunk: Any) -> None:
    check_tensor(x, "flicker_linear: x")
    check_tensor(weight, "flicker_linear: weight")
    for name, t in (("x", x), ("weight", weight), ("bias", bias)):
        if t is not None and not t.is_floating_point():
            raise TypeError(f"flicker_linear: {name} must be a floating-point tensor, got {t.dtype}")
    if x.dim() != 2:
        raise ValueError(
            f"flicker_linear: x must be one static input per sample, [B, F], got shape {tuple(x.shape)} "
            "(flatten images first; the time axis is made here)"
        )
    if weight.dim() != 2 or weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"flicker_linear: weight must be [out_features, {x.shape[1]}] for x of shape "
            f"{tuple(x.shape)}, got {tuple(weight.shape)}"
        )
    if bias is not None and tuple(check_tensor(bias, "flicker_linear: bias").shape) != (weight.shape[0],):
        raise ValueError(
            f"flicker_linear: bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dtype != x.dtype or t.device != x.device):
            raise TypeError(
                f"flicker_linear: {name} must have x's dtype and device ({x.dtype}, {x.device}), "
                f"got {t.dtype} on {t.device}"
            )
    check_positive_int(steps, "flicker_linear: steps")
    if chunk is not None:
        check_positive_int(chunk, "flicker_linear: chunk")
    rng._check_seed(seed, "flicker_linear: seed")
    for name, t in (("x", x), ("weight", weight), ("bias", bias)):
        if t is not None:
            check_finite(t, f"flicker_linear: {name}")  # refuses the meta device too
    check_allocation((steps, x.shape[0], weight.shape[0]), x.dtype, "flicker_linear: the output", x.device)


def flicker_linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    steps: int,
    seed: int,
    chunk: int | None = None,
) -> torch.Tensor:
    r"""``I[t] = (x * u[t]) @ W^T + b`` for ``t < steps``, without materialising ``x * u`` over time.

    Args:
        x: the static input ``[B, F]`` (the seed network's shifted image), floating point.
        weight, bias: the Linear's ``[H, F]`` and ``[H]`` (or ``None``), ``x``'s dtype and device.
        steps: time steps ``T`` (int >= 1).
        seed: the Philox stream, an int in ``[0, 2**63)``; the masks are ``flicker_masks(x.shape,
            steps, seed)``.
        chunk: steps per GEMM (int >= 1); the buffer holds ``chunk * B * F`` values. ``None``: as many
            steps as fit in about ``2**20`` values (4 MB of float32) per CPU thread, so that the GEMM
            reads the chunk from cache (one step at ``B = 1000``, ``F = 784`` on one thread: measured
            fastest there). Results do not depend on it beyond the float rounding of the GEMMs.

    Returns:
        The input current ``[T, B, H]``.

    Raises:
        TypeError: non-tensor or non-floating inputs, mismatched dtypes/devices, non-int sizes or seed.
        ValueError: wrong shapes, ``steps``/``chunk`` < 1, seed outside ``[0, 2**63)``, NaN or infinite
            inputs, meta tensors, an output larger than the device's memory, a current that overflowed.

    Example:
        >>> x, w, b = torch.rand(8, 784) - 0.5, torch.randn(100, 784), torch.zeros(100)
        >>> flicker_linear(x, w, b, steps=128, seed=7).shape
        torch.Size([128, 8, 100])
    """
    _check(x, weight, bias, steps, seed, chunk)
    if chunk is None:  # about CHUNK_VALUES values per CPU thread
        threads = torch.get_num_threads() if x.device.type == "cpu" else 1
        chunk = max(1, CHUNK_VALUES * threads // max(1, x.numel()))
    out = _FlickerLinear.apply(x, weight, bias, steps, seed, min(chunk, steps))
    check_no_overflow((out,), "flicker_linear: the current (x * u) W^T + b", x.dtype)
    return out


def _chunks(steps: int, chunk: int):
    for t0 in range(0, steps, chunk):
        yield t0, min(chunk, steps - t0)


def _flicker_into(x: torch.Tensor, seed: int) -> Callable[[torch.Tensor, int], Any]:
    """``fill(out, offset)``: ``out[t] = x * u[offset / |x| + t]`` (the C++ call itself where it runs)."""
    if rng._use_cpp(x):
        ext = rng._load()
        return lambda out, offset: ext.flicker_(out, x, seed, offset)
    return lambda out, offset: rng.flicker_fill(out, x, seed, offset)


class _FlickerLinear(torch.autograd.Function):
    """``(x, W, b) -> I [T, B, H]``, saving ``x``, ``W`` and the seed (see the module docstring)."""

    @staticmethod
    def forward(ctx: Any, x, weight, bias, steps: int, seed: int, chunk: int):
        x = x.contiguous()
        (b, f), h = x.shape, weight.shape[0]
        fill = _flicker_into(x, seed)
        out = x.new_empty(steps, b, h)
        buf = x.new_empty(chunk, b, f)  # one chunk of x * u, reused
        wt = weight.t()
        for t0, n in _chunks(steps, chunk):
            xu = buf[:n]
            fill(xu, t0 * b * f)
            xu = xu.view(n * b, f)
            o = out[t0 : t0 + n].view(n * b, h)
            if bias is None:
                torch.mm(xu, wt, out=o)
            else:
                torch.addmm(bias, xu, wt, out=o)
        ctx.save_for_backward(x, weight)
        ctx.seed, ctx.chunk, ctx.has_bias = seed, chunk, bias is not None
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g: torch.Tensor):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        steps, (b, f), h = g.shape[0], x.shape, weight.shape[0]
        seed, chunk = ctx.seed, ctx.chunk
        g = g.contiguous()
        gx = gw = gb = None
        if need_b and ctx.has_bias:
            gb = g.sum((0, 1))
        if need_w or need_x:
            buf = x.new_empty(chunk, b, f)
        if need_w:  # dW = sum_t g[t]^T (x * u[t]), one GEMM per chunk
            fill = _flicker_into(x, seed)
            gw = torch.zeros_like(weight)
            for t0, n in _chunks(steps, chunk):
                xu = buf[:n]
                fill(xu, t0 * b * f)
                gw.addmm_(g[t0 : t0 + n].view(n * b, h).t(), xu.view(n * b, f))
        if need_x:  # dx = sum_t (g[t] W) * u[t]
            gx = torch.zeros_like(x)
            for t0, n in _chunks(steps, chunk):
                gwu = torch.mm(g[t0 : t0 + n].view(n * b, h), weight, out=buf[:n].view(n * b, f))
                rng.mul_uniform(gwu, seed, t0 * b * f)
                gx += buf[:n].sum(0)
        return gx, gw, gb, None, None, None
