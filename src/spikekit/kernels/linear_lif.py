"""A Linear layer followed by a LIF layer over time, with an opt-in low-memory backward.

Per step ``t`` (the LIF of :mod:`spikekit.functional.lif`, driven by a Linear):

    I_t = x_t W^T + b;   v = beta * v + I_t;   s_t = H(v - threshold);   reset (subtract | zero | none)

Two ways to run it, equal in result (spikes bit for bit, gradients to float tolerance; tested):

- ``memory="fast"``: ``F.linear`` then :func:`spikekit.kernels.multistep` of ``lif_step``. Autograd keeps
  the Linear's input ``x`` and the neuron's pre-reset membrane ``h`` (fused backends) for backward.
- ``memory="recompute"``: one :class:`torch.autograd.Function` computes ``I`` (one GEMM over ``[T*B, F]``)
  and runs the fused LIF engine forward, keeping neither ``I`` nor ``h``. It saves only ``x`` (which the
  Linear needs anyway), ``W``, ``b``, the initial membrane and the neuron parameters. Backward recomputes
  ``I`` (one GEMM) and ``h`` (the engine's forward again), runs the engine's backward through time for
  ``dL/dI``, then ``dx = dI W``, ``dW = dI^T x``, ``db = sum dI``. About half the activation memory for one
  more GEMM and one more forward recurrence per backward.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as tf

from .._checks import (
    check_choice,
    check_finite,
    check_floating,
    check_has_values,
    check_tensor,
    compiling,
)
from ..functional.lif import LIFParams, LIFState, lif_step
from ._validate import check_final_state

__all__ = ["MEMORY_MODES", "linear_lif"]

MEMORY_MODES = ("fast", "recompute")


def _check(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, state: LIFState) -> None:
    check_floating(x, "linear_lif: x")
    check_floating(weight, "linear_lif: weight")
    if weight.dim() != 2:
        raise ValueError(f"linear_lif: weight must be [out_features, in_features], got {tuple(weight.shape)}")
    if x.dim() < 3:
        raise ValueError(
            f"linear_lif: x must be a time-first sequence [T, B, ..., in_features] with at least 3 "
            f"dimensions, got shape {tuple(x.shape)}; did you forget the time axis?"
        )
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear_lif: x has {x.shape[-1]} features in its last dimension, but the weight takes "
            f"in_features = {weight.shape[1]} (x shape {tuple(x.shape)})"
        )
    if bias is not None and tuple(check_floating(bias, "linear_lif: bias").shape) != (weight.shape[0],):
        raise ValueError(f"linear_lif: bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    if x.shape[0] == 0:
        raise ValueError(
            f"linear_lif: x must have at least one time step (T >= 1), got shape {tuple(x.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dtype != x.dtype or t.device != x.device):
            raise TypeError(
                f"linear_lif: {name} must have x's dtype and device ({x.dtype}, {x.device}), "
                f"got {t.dtype} on {t.device}"
            )
    if not isinstance(state, LIFState):
        raise TypeError(f"linear_lif: state must be a LIFState, got {type(state).__name__}")
    check_tensor(state.v, "linear_lif: state.v")
    want = (*x.shape[1:-1], weight.shape[0])
    if tuple(state.v.shape) != want:
        raise ValueError(
            f"linear_lif: state.v has shape {tuple(state.v.shape)}, expected {want} (one step of the "
            "output: batch, ..., out_features)"
        )
    check_has_values(state.v, "linear_lif: state.v")
    if state.v.dtype != x.dtype or state.v.device != x.device:
        raise TypeError(
            f"linear_lif: state.v must have x's dtype and device ({x.dtype}, {x.device}), "
            f"got {state.v.dtype} on {state.v.device}"
        )
    for name, t in (("x", x), ("weight", weight), ("bias", bias), ("state.v", state.v)):
        if t is not None:
            check_finite(t, f"linear_lif: {name}")


def linear_lif(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    state: LIFState,
    params: LIFParams,
    *,
    memory: str = "fast",
    backend: str = "torch",
    record_v: bool = False,
) -> tuple[torch.Tensor, LIFState, torch.Tensor | None]:
    """``I = x W^T + b``, then LIF over time (``v = beta v + I_t``; ``s = H(v - thr)``; reset).

    Args:
        x: input ``[T, B, ..., in_features]``.
        weight, bias: the Linear's ``[out_features, in_features]`` and ``[out_features]`` (or ``None``).
        state: the membrane before step 0, ``[B, ..., out_features]``.
        params: the LIF's parameters.
        memory: ``"fast"`` (Linear then the LIF backend) or ``"recompute"`` (see the module docstring).
        backend: the LIF's multi-step backend; ``"recompute"`` needs a fused one (``"fused"``,
            ``"triton"`` or ``"auto"``).
        record_v: also return the pre-reset membrane of every step.

    Returns:
        ``(spikes [T, B, ..., out_features], final state, v or None)``, as
        :func:`~spikekit.kernels.multistep`.
    """
    check_choice(memory, "linear_lif: memory", MEMORY_MODES)
    _check(x, weight, bias, state)
    out, state, v = _linear_lif(x, weight, bias, state, params, memory, backend, record_v)
    check_final_state("LinearLIF", state, x.dtype)  # finite inputs; a non-finite state overflowed
    return out, state, v


def _linear_lif(x, weight, bias, state, params, memory, backend, record_v):
    from .reference import resolve_backend, run_checked

    name = resolve_backend(backend, lif_step, x.device)
    # the inputs are checked (_check); the current is finite unless the Linear overflowed, which shows
    # in the final state, so run_checked: no second pass over the current
    if memory == "fast":
        current = tf.linear(x, weight, bias)
        return run_checked(lif_step, current, state, params, record_v=record_v, backend=name)
    if name == "torch":
        raise ValueError(
            f"linear_lif: memory='recompute' runs a fused LIF engine; backend {backend!r} is the reference "
            "loop. Pass backend='fused', 'triton' or 'auto' (or memory='fast')"
        )
    from . import dispatch
    from ._spec import lif_spec

    engine = dispatch._engine(name, x, params.surrogate)
    spec = lif_spec(lif_step, params, x)
    tensors = (x, weight, bias, state.v, spec.a, spec.thr)
    # compiled: the fast path, which dynamo traces (the autograd function below calls engines it cannot)
    grads = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
    if compiling() or not grads:
        current = tf.linear(x, weight, bias)  # no graph: nothing to save, same as the fast path
        return run_checked(lif_step, current, state, params, record_v=record_v, backend=name)
    s, h, v_end = LinearLIFRecompute.apply(*tensors, spec, engine)
    return s, LIFState(v_end), (h if record_v else None)


def _flat(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return t.to(dtype).reshape(t.shape[0], -1).contiguous()


def _state(v: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    # a copy: compiled engines update the state in place
    return v.to(dtype).reshape(-1).clone(memory_format=torch.contiguous_format)


class LinearLIFRecompute(torch.autograd.Function):
    """``(x, W, b, v0, beta, thr) -> (spikes, h, v_final)``, saving ``x, W, b, v0, beta, thr`` only.

    The engine calls are those of :class:`spikekit.kernels.fused.LIFFunction`; ``I`` and ``h`` are
    recomputed in backward instead of being kept.
    """

    @staticmethod
    def forward(ctx: Any, x, weight, bias, v0, a, thr, spec: Any, engine: ModuleType):
        from ._spec import result_dtype

        current = tf.linear(x, weight, bias)  # [T, B, ..., N]; forward runs without grad
        out_shape, i_dtype = current.shape, current.dtype
        dtype = result_dtype(current, v0, a, thr)
        shape = out_shape[1:]
        pa, pthr = engine.param(a, shape, dtype), engine.param(thr, shape, dtype)
        v0f = _state(v0, dtype)
        s, h, v_end = engine.lif_forward(_flat(current, dtype), v0f.clone(), pa, pthr, spec.form, spec.reset)
        del current
        ctx.set_materialize_grads(False)
        ctx.zero_v0 = not bool(v0f.any())  # a zero initial state is rebuilt in backward, not saved
        ctx.save_for_backward(x, weight, bias, None if ctx.zero_v0 else v0f, a, thr)
        ctx.spec, ctx.engine, ctx.shape = spec, engine, shape
        ctx.dtypes = (i_dtype, v0.dtype, dtype)
        return s.view(out_shape), h.view(out_shape), v_end.view(shape)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, gs, gh, gv_end):
        from ._spec import reduce_to

        x, weight, bias, v0f, a, thr = ctx.saved_tensors
        spec, engine, shape = ctx.spec, ctx.engine, ctx.shape
        i_dtype, v_dtype, dtype = ctx.dtypes
        if ctx.zero_v0:
            v0f = torch.zeros(shape.numel(), dtype=dtype, device=x.device)
        need_x, need_w, need_b, need_v0, need_a, need_thr = ctx.needs_input_grad[:6]
        pa, pthr = engine.param(a, shape, dtype), engine.param(thr, shape, dtype)
        # recompute: I (one GEMM), then h (the engine's forward again)
        h = engine.lif_forward(
            _flat(tf.linear(x, weight, bias), dtype), v0f.clone(), pa, pthr, spec.form, spec.reset
        )[1]
        flat = [None if g is None else _flat(g, dtype) for g in (gs, gh)]
        gv = None if gv_end is None else _state(gv_end, dtype)
        gs, gh = flat
        gi, gv0, ga, gthr = engine.lif_backward(h, v0f, pa, pthr, spec, gs, gh, gv, need_a, need_thr)
        del h
        gi = gi.to(i_dtype).reshape(-1, weight.shape[0])  # dL/dI, [T*B*..., N]
        gx = gw = gb = None
        if need_x:
            gx = gi.mm(weight).view(x.shape)
        if need_w:
            gw = gi.t().mm(x.reshape(-1, x.shape[-1]))
        if need_b:
            gb = gi.sum(0)
        gv0 = gv0.view(shape).to(v_dtype) if need_v0 else None
        ga = reduce_to(ga, a, shape) if need_a else None
        gthr = reduce_to(gthr, thr, shape) if need_thr else None
        return gx, gw, gb, gv0, ga, gthr, None, None
