"""The Triton engine of the ``"triton"`` backend (CUDA; any device under ``TRITON_INTERPRET=1``).

Each program holds a block of ``BLOCK`` neurons in registers and loops over all ``T`` steps: forward
reads ``x[t]`` and writes the spikes and the pre-reset membrane; backward walks time in reverse with
the state's gradient in registers (math in :mod:`spikekit.kernels.torch_engine`). Kernels are built on
first use (so ``TRITON_INTERPRET`` is read then, not at import) and launched with
``enable_fp_fusion=False`` so that no multiply-add is fused and spikes equal the reference loop's.
16-bit inputs compute in float32. Same functions and contract as :mod:`spikekit.kernels.torch_engine`.
"""

from __future__ import annotations

import functools
import math
import os

import torch
import triton
import triton.language as tl

from ._spec import FORM_PLIF, RESETS, opmath, per_neuron, surrogate_code
from ._validate import check_codes, check_engine

NAME = "triton"
BLOCK = 128
DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _check(fn: str, x, **groups) -> None:
    """Validate before launching: CUDA tensors (any device under ``TRITON_INTERPRET=1``) of the sizes the
    kernels index (``x [T, M]``, states ``[M]``, parameters ``[M]`` in the arithmetic dtype)."""
    device = None if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    check_engine(
        f"triton_engine.{fn}", x, dtypes=DTYPES, device=device, param_dtype=opmath(x.dtype), **groups
    )


def param(p: torch.Tensor | None, step_shape: torch.Size, dtype: torch.dtype) -> torch.Tensor | None:
    """Parameters as ``[M]`` arrays in the arithmetic dtype (float32 for 16-bit inputs)."""
    return None if p is None else per_neuron(p, step_shape, opmath(dtype))


def _lif_forward(x_ptr, s_ptr, h_ptr, v_ptr, a_ptr, thr_ptr, T, M, FORM: tl.constexpr, RESET: tl.constexpr,
                 BLOCK: tl.constexpr):  # fmt: skip
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < M
    v = tl.load(v_ptr + offs, mask=mask, other=0.0).to(thr_ptr.dtype.element_ty)
    thr = tl.load(thr_ptr + offs, mask=mask, other=1.0)
    a = thr
    if FORM != 0:
        a = tl.load(a_ptr + offs, mask=mask, other=1.0)
    for t in range(T):
        x = tl.load(x_ptr + t * M + offs, mask=mask, other=0.0).to(thr.dtype)
        if FORM == 0:
            h = v + x
        elif FORM == 1:
            h = a * v + x
        else:
            h = v + a * (x - v)
        fired = h >= thr
        tl.store(s_ptr + t * M + offs, tl.where(fired, 1.0, 0.0).to(s_ptr.dtype.element_ty), mask=mask)
        tl.store(h_ptr + t * M + offs, h.to(h_ptr.dtype.element_ty), mask=mask)
        if RESET == 0:
            v = tl.where(fired, h - thr, h)
        elif RESET == 1:
            v = tl.where(fired, 0.0, h)
        else:
            v = h
    tl.store(v_ptr + offs, v.to(v_ptr.dtype.element_ty), mask=mask)


def _lif_backward(h_ptr, x_ptr, v0_ptr, a_ptr, thr_ptr, gs_ptr, gh_ptr, gu_ptr, gx_ptr, ga_ptr, gt_ptr, T, M,
                  P, C, FORM: tl.constexpr, RESET: tl.constexpr, DETACH: tl.constexpr, KIND: tl.constexpr,
                  HAS_GS: tl.constexpr, HAS_GH: tl.constexpr, NEED_A: tl.constexpr, NEED_THR: tl.constexpr,
                  BLOCK: tl.constexpr):  # fmt: skip
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < M
    thr = tl.load(thr_ptr + offs, mask=mask, other=1.0)
    a = thr
    if FORM != 0:
        a = tl.load(a_ptr + offs, mask=mask, other=1.0)
    v0 = tl.load(v0_ptr + offs, mask=mask, other=0.0).to(thr.dtype)
    gu = tl.load(gu_ptr + offs, mask=mask, other=0.0).to(thr.dtype)
    ga = thr * 0.0
    gt = thr * 0.0
    for i in range(T):
        t = T - 1 - i
        tt = offs * 0 + t  # the step as a block, for masks
        h = tl.load(h_ptr + t * M + offs, mask=mask, other=0.0).to(thr.dtype)
        z = h - thr
        fired = z >= 0.0
        # P'(z) of the built-in surrogates (codes of _spec.SURROGATE_CODES)
        if KIND == 0:
            u = C * z
            ds = P / 2.0 / (1.0 + u * u)
        elif KIND == 1:
            sig = 1.0 / (1.0 + tl.exp(-P * z))
            ds = P * sig * (1.0 - sig)
        elif KIND == 2:
            q = 1.0 + P * tl.abs(z)
            ds = 1.0 / (q * q)
        elif KIND == 3:
            ds = tl.maximum(1.0 - tl.abs(z) / P, 0.0) / P
        elif KIND == 4:
            ds = tl.where(tl.abs(z) < P / 2.0, 1.0 / P, 0.0)
        else:
            ds = z * 0.0 + P
        du_ds = thr * 0.0
        if not DETACH:
            if RESET == 0:
                du_ds = -thr
            elif RESET == 1:
                du_ds = -h
        du_dh = thr * 0.0 + 1.0
        if RESET == 1:
            du_dh = tl.where(fired, 0.0, 1.0)
        gsig = gu * du_ds
        if HAS_GS:
            gsig += tl.load(gs_ptr + t * M + offs, mask=mask, other=0.0).to(thr.dtype)
        gh = gsig * ds + gu * du_dh
        if HAS_GH:
            gh += tl.load(gh_ptr + t * M + offs, mask=mask, other=0.0).to(thr.dtype)
        if NEED_THR:
            gt += -gsig * ds
            if RESET == 0:
                gt -= tl.where(fired, gu, 0.0)
        if NEED_A or FORM == 2:
            hp = tl.load(h_ptr + (t - 1) * M + offs, mask=mask & (tt > 0), other=0.0).to(thr.dtype)
            if RESET == 0:
                up = tl.where(hp >= thr, hp - thr, hp)
            elif RESET == 1:
                up = tl.where(hp >= thr, 0.0, hp)
            else:
                up = hp
            prev = tl.where(tt > 0, up, v0)
        if FORM == 0:
            gx = gh
            gu = gh
        elif FORM == 1:
            gx = gh
            if NEED_A:
                ga += gh * prev
            gu = a * gh
        else:
            gx = a * gh
            if NEED_A:
                x = tl.load(x_ptr + t * M + offs, mask=mask, other=0.0).to(thr.dtype)
                ga += gh * (x - prev)
            gu = gh - gx
        tl.store(gx_ptr + t * M + offs, gx.to(gx_ptr.dtype.element_ty), mask=mask)
    tl.store(gu_ptr + offs, gu.to(gu_ptr.dtype.element_ty), mask=mask)
    tl.store(ga_ptr + offs, ga, mask=mask)
    tl.store(gt_ptr + offs, gt, mask=mask)


def _refractory_forward(x_ptr, out_ptr, v_ptr, h_ptr, c_ptr, o_ptr, d_ptr, thr_ptr, cp_ptr, T, M,
                        SEED: tl.constexpr, GRADED: tl.constexpr, RECORD_V: tl.constexpr,
                        BLOCK: tl.constexpr):  # fmt: skip
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < M
    d = tl.load(d_ptr + offs, mask=mask, other=1.0)
    thr = tl.load(thr_ptr + offs, mask=mask, other=1.0)
    cp = tl.load(cp_ptr + offs, mask=mask, other=0.0)
    c = tl.load(c_ptr + offs, mask=mask, other=0.0).to(thr.dtype)
    o = tl.load(o_ptr + offs, mask=mask, other=0.0).to(thr.dtype)
    for t in range(T):
        tl.store(out_ptr + t * M + offs, o.to(out_ptr.dtype.element_ty), mask=mask)
        if RECORD_V:
            tl.store(v_ptr + t * M + offs, c.to(v_ptr.dtype.element_ty), mask=mask)
        h = tl.load(x_ptr + t * M + offs, mask=mask, other=0.0).to(thr.dtype) + d * c
        z = h - thr
        if GRADED:
            gate = z > 0.0
            o = tl.where(gate, z, 0.0)
        else:
            gate = z >= 0.0
            o = tl.where(gate, 1.0, 0.0)
        if SEED:
            c = tl.where(gate, h - cp * h, h)
        else:
            c = tl.where(gate, h - (cp + o), h)
        tl.store(h_ptr + t * M + offs, h.to(h_ptr.dtype.element_ty), mask=mask)
    tl.store(c_ptr + offs, c.to(c_ptr.dtype.element_ty), mask=mask)
    tl.store(o_ptr + offs, o.to(o_ptr.dtype.element_ty), mask=mask)


def _refractory_backward(h_ptr, c0_ptr, d_ptr, thr_ptr, cp_ptr, gout_ptr, gv_ptr, gce_ptr, goe_ptr, gx_ptr,
                         car_ptr, gd_ptr, gt_ptr, gcp_ptr, T, M, P, C, SEED: tl.constexpr,
                         GRADED: tl.constexpr, KIND: tl.constexpr, HAS_GOUT: tl.constexpr,
                         HAS_GV: tl.constexpr, HAS_GCE: tl.constexpr, HAS_GOE: tl.constexpr,
                         NEED_D: tl.constexpr, BLOCK: tl.constexpr):  # fmt: skip
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < M
    d = tl.load(d_ptr + offs, mask=mask, other=1.0)
    thr = tl.load(thr_ptr + offs, mask=mask, other=1.0)
    cp = tl.load(cp_ptr + offs, mask=mask, other=0.0)
    c0 = tl.load(c0_ptr + offs, mask=mask, other=0.0).to(thr.dtype)
    zero = thr * 0.0
    carry = zero
    gd = zero
    gt = zero
    gcp = zero
    for i in range(T):
        t = T - 1 - i
        tt = offs * 0 + t  # the step as a block, for masks
        last = tt == T - 1
        go = zero
        gce = zero
        if HAS_GOUT:
            go = tl.load(gout_ptr + (t + 1) * M + offs, mask=mask & (tt + 1 < T), other=0.0).to(thr.dtype)
        if HAS_GOE:
            go = tl.where(last, tl.load(goe_ptr + offs, mask=mask, other=0.0).to(thr.dtype), go)
        if HAS_GV:
            gce = tl.load(gv_ptr + (t + 1) * M + offs, mask=mask & (tt + 1 < T), other=0.0).to(thr.dtype)
        if HAS_GCE:
            gce = tl.where(last, tl.load(gce_ptr + offs, mask=mask, other=0.0).to(thr.dtype), gce)
        gc = gce + carry
        h = tl.load(h_ptr + t * M + offs, mask=mask, other=0.0).to(thr.dtype)
        z = h - thr
        if GRADED:
            gate = z > 0.0
            do_dh = tl.where(gate, 1.0, 0.0)
        else:
            gate = z >= 0.0
            if KIND == 0:
                u = C * z
                do_dh = P / 2.0 / (1.0 + u * u)
            elif KIND == 1:
                sig = 1.0 / (1.0 + tl.exp(-P * z))
                do_dh = P * sig * (1.0 - sig)
            elif KIND == 2:
                q = 1.0 + P * tl.abs(z)
                do_dh = 1.0 / (q * q)
            elif KIND == 3:
                do_dh = tl.maximum(1.0 - tl.abs(z) / P, 0.0) / P
            elif KIND == 4:
                do_dh = tl.where(tl.abs(z) < P / 2.0, 1.0 / P, 0.0)
            else:
                do_dh = z * 0.0 + P
        if SEED:
            dc_dh = tl.where(gate, 1.0 - cp, 1.0)
            dc_do = zero
            gcp += tl.where(gate, -gc * h, 0.0)
        else:
            dc_dh = zero + 1.0
            dc_do = tl.where(gate, -1.0, 0.0)
            gcp += tl.where(gate, -gc, 0.0)
        gtot = go + gc * dc_do
        gh = gc * dc_dh + gtot * do_dh
        gt += -gtot * do_dh
        if NEED_D:
            hp = tl.load(h_ptr + (t - 1) * M + offs, mask=mask & (tt > 0), other=0.0).to(thr.dtype)
            zp = hp - thr
            if GRADED:
                gp = zp > 0.0
                op = zp
            else:
                gp = zp >= 0.0
                op = zero + 1.0
            if SEED:
                cprev = tl.where(gp, hp - cp * hp, hp)
            else:
                cprev = tl.where(gp, hp - (cp + op), hp)
            gd += gh * tl.where(tt > 0, cprev, c0)
        tl.store(gx_ptr + t * M + offs, gh.to(gx_ptr.dtype.element_ty), mask=mask)
        carry = d * gh
    tl.store(car_ptr + offs, carry.to(car_ptr.dtype.element_ty), mask=mask)
    tl.store(gd_ptr + offs, gd, mask=mask)
    tl.store(gt_ptr + offs, gt, mask=mask)
    tl.store(gcp_ptr + offs, gcp, mask=mask)


_KERNELS = {
    "lif_forward": _lif_forward,
    "lif_backward": _lif_backward,
    "refractory_forward": _refractory_forward,
    "refractory_backward": _refractory_backward,
}


@functools.lru_cache(maxsize=2)
def _kernels(interpret: bool) -> dict:
    """JIT (or, under ``TRITON_INTERPRET=1``, interpreted) kernels, built when first needed.

    ``interpret`` is the cache key: ``triton.jit`` reads ``TRITON_INTERPRET`` when it wraps a function.
    """
    del interpret
    return {name: triton.jit(fn) for name, fn in _KERNELS.items()}


def _k(name: str):
    return _kernels(os.environ.get("TRITON_INTERPRET") == "1")[name]


def _launch(kernel, m: int, *args, **meta):
    grid = (triton.cdiv(m, BLOCK),)
    if os.environ.get("TRITON_INTERPRET") != "1":
        meta["enable_fp_fusion"] = False
    kernel[grid](*args, BLOCK=BLOCK, **meta)


def _code(spec) -> tuple[int, float, float]:
    code = surrogate_code(spec.surrogate)
    kind, p = code if code is not None else (0, 2.0)
    return kind, p, (math.pi / 2 * p if kind == 0 else p)


def lif_forward(x, v, a, thr, form: int, reset: str):
    check_codes("triton_engine.lif_forward", form, reset, a)
    _check("lif_forward", x, vecs={"v": v}, params={"a": a, "thr": thr})
    steps, m = x.shape
    s, h = torch.empty_like(x), torch.empty_like(x)
    _launch(_k("lif_forward"), m, x, s, h, v, thr if a is None else a, thr, steps, m, FORM=form,
            RESET=RESETS[reset])  # fmt: skip
    return s, h, v


def lif_backward(saved, v0, a, thr, spec, gs, gh, gv_end, need_a: bool, need_thr: bool):
    check_codes("triton_engine.lif_backward", spec.form, spec.reset, a)
    _check(
        "lif_backward", saved, seqs={"gs": gs, "gh": gh}, vecs={"v0": v0, "gv_end": gv_end},
        params={"a": a, "thr": thr},
    )  # fmt: skip
    x, h = None, saved
    if spec.form == FORM_PLIF:
        x = saved
        h = lif_forward(saved, v0.clone(), a, thr, spec.form, spec.reset)[1]
    steps, m = h.shape
    gu = gv_end.clone() if gv_end is not None else torch.zeros_like(v0)
    gx = torch.empty_like(h)
    ga, gthr = torch.zeros_like(thr), torch.zeros_like(thr)
    kind, p, c = _code(spec)
    _launch(_k("lif_backward"), m, h, h if x is None else x, v0, thr if a is None else a, thr,
            h if gs is None else gs, h if gh is None else gh, gu, gx, ga, gthr, steps, m, p, c,
            FORM=spec.form, RESET=RESETS[spec.reset], DETACH=spec.detach, KIND=kind, HAS_GS=gs is not None,
            HAS_GH=gh is not None, NEED_A=need_a, NEED_THR=need_thr)  # fmt: skip
    return gx, gu, (ga if need_a else None), (gthr if need_thr else None)


def refractory_forward(x, c, o, d, thr, cp, spec, record_v: bool):
    _check("refractory_forward", x, vecs={"c": c, "o": o}, params={"d": d, "thr": thr, "cp": cp})
    steps, m = x.shape
    out, h = torch.empty_like(x), torch.empty_like(x)
    v = torch.empty_like(x) if record_v else None
    o = o.clone()
    _launch(_k("refractory_forward"), m, x, out, out if v is None else v, h, c, o, d, thr, cp, steps, m,
            SEED=spec.reset == "seed", GRADED=spec.spike == "graded", RECORD_V=record_v)  # fmt: skip
    return out, v, h, c, o


def refractory_backward(h_all, c0, d, thr, cp, spec, g_out, g_v, gc_end, go_end, needs):
    _check(
        "refractory_backward", h_all, seqs={"g_out": g_out, "g_v": g_v},
        vecs={"c0": c0, "gc_end": gc_end, "go_end": go_end}, params={"d": d, "thr": thr, "cp": cp},
    )  # fmt: skip
    steps, m = h_all.shape
    gx = torch.empty_like(h_all)
    carry = torch.zeros_like(c0)
    gd, gthr, gcp = torch.zeros_like(thr), torch.zeros_like(thr), torch.zeros_like(thr)
    kind, p, cc = _code(spec)
    _launch(_k("refractory_backward"), m, h_all, c0, d, thr, cp, h_all if g_out is None else g_out,
            h_all if g_v is None else g_v, c0 if gc_end is None else gc_end, c0 if go_end is None else go_end,
            gx, carry, gd, gthr, gcp, steps, m, p, cc, SEED=spec.reset == "seed",
            GRADED=spec.spike == "graded", KIND=kind, HAS_GOUT=g_out is not None, HAS_GV=g_v is not None,
            HAS_GCE=gc_end is not None, HAS_GOE=go_end is not None, NEED_D=needs[0])  # fmt: skip
    gc0 = carry if g_v is None else carry + g_v[0]
    go0 = g_out[0] if g_out is not None else torch.zeros_like(c0)
    return gx, gc0, go0, (gd if needs[0] else None), (gthr if needs[1] else None), (gcp if needs[2] else None)
