"""Fused multi-step autograd functions, shared by every engine (PyTorch, C++, Triton).

One :class:`torch.autograd.Function` per neuron family runs the whole sequence in a single engine call
outside autograd's graph and saves only what its hand-written backward needs:

- ``"lif"`` family, forms ``if`` and ``decay``: the pre-reset membrane ``h [T, B, ...]``. Spikes are
  not saved: ``s = H(h - threshold)`` is recomputed bit for bit. Form ``plif`` (the input decays too) saves
  the input ``x`` instead (the gradient of ``a`` needs ``x - v``) and recomputes ``h`` in backward. The C++
  engine saves the input for every form, and the state every ``K`` steps (checkpoints: ``1/K`` of ``h``,
  ``K`` about 16 at 8192 neurons): its forward writes spikes only (and ``h`` when the membrane is recorded),
  and its backward recomputes ``h`` one chunk of ``K`` steps at a time from the chunk's checkpoint, while it
  is in the cache (the same arithmetic, so the same ``h`` bit for bit).
- ``"refractory"`` family (the seed neuron): the pre-reset ``inner`` ``[T, B, ...]``.

That is one value per neuron and step (plus the C++ engine's checkpoints), in the input's dtype; the
reference loop keeps two or more.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import torch

from ._spec import (
    FORM_PLIF,
    LIFSpec,
    RefractorySpec,
    reduce_to,
    result_dtype,
)


def _flat(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return x.to(dtype).reshape(x.shape[0], -1).contiguous()


def _state(v: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    # a copy: compiled engines update the state in place
    return v.to(dtype).reshape(-1).clone(memory_format=torch.contiguous_format)


def _rows(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``x [T, ...]`` as ``[T, M]`` for an engine that reads rows broadcast over time
    (``engine.BROADCAST_ROWS``): a sequence that is the same at every step (the direct encoding's input,
    the gradient of a sum: ``expand``-ed) stays one row, without a ``[T, M]`` copy."""
    x2 = x.to(dtype).reshape(x.shape[0], -1)
    if x2.is_contiguous():
        return x2
    if x2.stride(0) == 0:
        return x2[0].contiguous().expand(x2.shape)
    return x2.contiguous()


def _flattener(engine: ModuleType):
    return _rows if getattr(engine, "BROADCAST_ROWS", False) else _flat


def _needs(t: torch.Tensor | None) -> bool:
    return t is not None and t.requires_grad


class LIFFunction(torch.autograd.Function):
    """``(x, v0, a, thr) -> (spikes, h, v_final)`` for one :class:`LIFSpec`, through ``engine``.

    An engine that recomputes ``h`` in its backward (``engine.RECOMPUTES_H``, the C++ one) saves the input
    and the state every few steps (its checkpoints) instead of ``h``; without ``record_v`` the forward then
    writes no membrane at all and returns an empty ``h``.
    """

    @staticmethod
    def forward(ctx, x, v0, a, thr, spec: LIFSpec, engine: ModuleType, record_v: bool = True):
        dtype = result_dtype(x, v0, a, thr)
        shape = x.shape[1:]
        x2 = _flattener(engine)(x, dtype)
        pa, pthr = engine.param(a, shape, dtype), engine.param(thr, shape, dtype)
        v0f = _state(v0, dtype)
        ctx.checkpoints = None
        if getattr(engine, "RECOMPUTES_H", False):  # save x and the state every few steps, not h
            s, h, v_end, ctx.checkpoints = engine.lif_forward_checkpointed(
                x2, v0f.clone(), pa, pthr, spec.form, spec.reset, record_v
            )
        else:
            s, h, v_end = engine.lif_forward(x2, v0f.clone(), pa, pthr, spec.form, spec.reset)
        ctx.set_materialize_grads(False)
        saved_is_x = spec.form == FORM_PLIF or ctx.checkpoints is not None
        ck, ctx.checkpoint_steps = ctx.checkpoints if ctx.checkpoints is not None else (None, None)
        ctx.checkpoints = ctx.checkpoints is not None
        ctx.save_for_backward(x2 if saved_is_x else h, v0f, a, thr, ck)  # ck: counted with the rest
        ctx.spec, ctx.engine, ctx.shape, ctx.dtypes = spec, engine, shape, (x.dtype, v0.dtype, dtype)
        if h is None:
            h = s.new_empty(0)
            ctx.mark_non_differentiable(h)
            return s.view(x.shape), h, v_end.view(shape)
        return s.view(x.shape), h.view(x.shape), v_end.view(shape)

    @staticmethod
    def backward(ctx, gs, gh, gv_end):
        saved, v0f, a, thr, ck = ctx.saved_tensors
        spec, engine, shape = ctx.spec, ctx.engine, ctx.shape
        x_dtype, v_dtype, dtype = ctx.dtypes
        need_a, need_thr = ctx.needs_input_grad[2], ctx.needs_input_grad[3]
        pa, pthr = engine.param(a, shape, dtype), engine.param(thr, shape, dtype)
        steps = saved.shape[0]
        rows = _flattener(engine)
        flat = [None if g is None or g.numel() == 0 else rows(g, dtype) for g in (gs, gh)]
        gv = None if gv_end is None else _state(gv_end, dtype)
        # only an engine that recomputes h made checkpoints; it gets them with x in place of h
        extra = {"checkpoints": (ck, ctx.checkpoint_steps)} if ctx.checkpoints else {}
        gx, gv0, ga, gthr = engine.lif_backward(
            saved, v0f, pa, pthr, spec, flat[0], flat[1], gv, need_a, need_thr, **extra
        )
        gx = gx.view(steps, *shape).to(x_dtype)
        gv0 = gv0.view(shape).to(v_dtype)
        ga = reduce_to(ga, a, shape) if need_a else None
        gthr = reduce_to(gthr, thr, shape) if need_thr else None
        return gx, gv0, ga, gthr, None, None, None


class RefractoryFunction(torch.autograd.Function):
    """``(x, c0, o0, d, thr, cp) -> (out, v, c_final, o_final)`` for one :class:`RefractorySpec`."""

    @staticmethod
    def forward(ctx, x, c0, o0, d, thr, cp, spec: RefractorySpec, engine: ModuleType, record_v: bool):
        dtype = result_dtype(x, c0, o0, d, thr, cp)
        shape = x.shape[1:]
        x2 = _flat(x, dtype)
        pd, pthr, pcp = (engine.param(p, shape, dtype) for p in (d, thr, cp))
        c0f = _state(c0, dtype)
        out, v, h, c_end, o_end = engine.refractory_forward(
            x2, c0f.clone(), _state(o0, dtype), pd, pthr, pcp, spec, record_v
        )
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(h, c0f, d, thr, cp)
        ctx.spec, ctx.engine, ctx.shape = spec, engine, shape
        ctx.dtypes = (x.dtype, c0.dtype, o0.dtype, dtype)
        v = v.view(x.shape) if record_v else out.new_empty(0)
        if not record_v:
            ctx.mark_non_differentiable(v)
        return out.view(x.shape), v, c_end.view(shape), o_end.view(shape)

    @staticmethod
    def backward(ctx, g_out, g_v, gc_end, go_end):
        h, c0f, d, thr, cp = ctx.saved_tensors
        spec, engine, shape = ctx.spec, ctx.engine, ctx.shape
        x_dtype, c_dtype, o_dtype, dtype = ctx.dtypes
        needs = tuple(ctx.needs_input_grad[3:6])
        pd, pthr, pcp = (engine.param(p, shape, dtype) for p in (d, thr, cp))
        g_out = None if g_out is None else _flat(g_out, dtype)
        g_v = None if g_v is None or g_v.numel() == 0 else _flat(g_v, dtype)
        gc_end = None if gc_end is None else _state(gc_end, dtype)
        go_end = None if go_end is None else _state(go_end, dtype)
        gx, gc0, go0, gd, gthr, gcp = engine.refractory_backward(
            h, c0f, pd, pthr, pcp, spec, g_out, g_v, gc_end, go_end, needs
        )
        grads = [gx.view(h.shape[0], *shape).to(x_dtype), gc0.view(shape).to(c_dtype)]
        grads.append(go0.reshape(shape).to(o_dtype))
        for need, g, p in zip(needs, (gd, gthr, gcp), (d, thr, cp), strict=True):
            grads.append(reduce_to(g, p, shape) if need else None)
        return (*grads, None, None, None)


def lif_run(spec: LIFSpec, x: torch.Tensor, v0: torch.Tensor, engine: ModuleType, record_v: bool):
    """Run the LIF family: returns ``(spikes, final v, h or None)``."""
    if not torch.is_grad_enabled() or not any(map(_needs, (x, v0, spec.a, spec.thr))):
        return _lif_no_grad(spec, x, v0, engine, record_v)
    s, h, v_end = LIFFunction.apply(x, v0, spec.a, spec.thr, spec, engine, record_v)
    return s, v_end, (h if record_v else None)


def _lif_no_grad(spec: LIFSpec, x, v0, engine, record_v):
    dtype = result_dtype(x, v0, spec.a, spec.thr)
    shape = x.shape[1:]
    with torch.no_grad():
        pa, pthr = engine.param(spec.a, shape, dtype), engine.param(spec.thr, shape, dtype)
        x2, v0f = _flattener(engine)(x, dtype), _state(v0, dtype)
        if not record_v and getattr(engine, "RECOMPUTES_H", False):  # no membrane to write
            s, _, v_end, _ = engine.lif_forward_checkpointed(
                x2, v0f, pa, pthr, spec.form, spec.reset, False, keep=False
            )
            return s.view(x.shape), v_end.view(shape), None
        s, h, v_end = engine.lif_forward(x2, v0f, pa, pthr, spec.form, spec.reset)
    return s.view(x.shape), v_end.view(shape), (h.view(x.shape) if record_v else None)


def refractory_run(spec: RefractorySpec, x, c0, o0, engine: ModuleType, record_v: bool):
    """Run the refractory neuron: returns ``(out, (final c, final o), v or None)``."""
    tensors = (x, c0, o0, spec.d, spec.thr, spec.cp)
    if not torch.is_grad_enabled() or not any(map(_needs, tensors)):
        with torch.no_grad():
            out, v, c_end, o_end = RefractoryFunction.forward(_Null(), *tensors, spec, engine, record_v)
    else:
        out, v, c_end, o_end = RefractoryFunction.apply(*tensors, spec, engine, record_v)
    return out, (c_end, o_end), (v if record_v else None)


class _Null:
    """A stand-in ``ctx`` for running a forward without autograd (nothing is kept)."""

    def __setattr__(self, key: str, value: Any) -> None:
        pass

    def set_materialize_grads(self, value: bool) -> None:
        pass

    def save_for_backward(self, *tensors: Any) -> None:
        pass

    def mark_non_differentiable(self, *tensors: Any) -> None:
        pass
