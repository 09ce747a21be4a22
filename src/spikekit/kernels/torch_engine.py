"""The fused algorithm in plain PyTorch: the readable reference for the compiled engines.

Forward is one loop over time with no autograd graph; backward is written by hand. Every compiled engine
(:mod:`spikekit.kernels.cpp`, :mod:`spikekit.kernels.triton_engine`) implements these four functions with
the same arguments and is tested against this one and against the reference loop. It runs on any device
and with any surrogate (it calls ``surrogate.derivative``), so the ``"fused"`` backend uses it wherever
no compiled engine applies.

Conventions (all engines): sequences are flattened to ``[T, M]`` (``M`` neurons = one step's elements),
states to ``[M]``, in the result dtype ``D``; parameters come from :func:`param`.

Backward through time of the LIF family (``u`` the state after the reset, ``z = h - thr``, ``g*`` the
gradient of the loss with respect to ``*``), from ``t = T - 1`` down to 0, with ``gu`` starting at the
final state's gradient:

    gsig_t = gs_t + gu_t * du/ds            (du/ds = -thr | -h | 0, and 0 with detach_reset)
    gh_t   = gv_t + gsig_t * P'(z_t) + gu_t * du/dh     (du/dh = 1 | 1 - s | 1)
    gu_{t-1} = dh/dv * gh_t,   gx_t = dh/dx * gh_t
    gthr  += -gsig_t * P'(z_t) - gu_t * s_t [subtract]
    ga    += gh_t * dh/da       (u_{t-1} for FORM_DECAY, x_t - u_{t-1} for FORM_PLIF)
"""

from __future__ import annotations

import torch

from ._spec import FORM_DECAY, FORM_IF, FORM_PLIF, per_neuron
from ._validate import check_codes, check_engine

NAME = "torch"
DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _check(fn: str, x, **groups) -> None:
    # any device; parameters [M] in any floating dtype, or shared (0-d)
    check_engine(
        f"torch_engine.{fn}", x, dtypes=DTYPES, device=None, param_dtype=None, scalar_params=True, **groups
    )


def param(p: torch.Tensor | None, step_shape: torch.Size, dtype: torch.dtype) -> torch.Tensor | None:
    """Shared (0-d) parameters stay 0-d in their own dtype, as the core uses them; others become ``[M]``."""
    if p is None:
        return None
    return p.detach() if p.dim() == 0 else per_neuron(p, step_shape, dtype)


def _integrate(v: torch.Tensor, x_t: torch.Tensor, a: torch.Tensor | None, form: int) -> torch.Tensor:
    if form == FORM_IF:
        return v + x_t
    if form == FORM_DECAY:
        return a * v + x_t
    return v + a * (x_t - v)


def _reset(h: torch.Tensor, s: torch.Tensor, thr: torch.Tensor, reset: str) -> torch.Tensor:
    if reset == "subtract":
        return h - s * thr
    if reset == "zero":
        return h * (1 - s)
    return h


def lif_forward(x, v, a, thr, form: int, reset: str):
    """``x [T, M]``, ``v [M]`` -> ``(spikes [T, M], h [T, M] before reset, final v [M])``."""
    check_codes("torch_engine.lif_forward", form, reset, a)
    _check("lif_forward", x, vecs={"v": v}, params={"a": a, "thr": thr})
    s_all, h_all = torch.empty_like(x), torch.empty_like(x)
    for t, x_t in enumerate(x.unbind(0)):
        h = _integrate(v, x_t, a, form)
        s = (h - thr >= 0).to(x.dtype)
        s_all[t], h_all[t] = s, h
        v = _reset(h, s, thr, reset)
    return s_all, h_all, v


def _previous(h_all, v0, thr, reset):
    """``u_{t-1}`` for every ``t``: the initial state, then each step's post-reset membrane."""
    s = (h_all[:-1] - thr >= 0).to(h_all.dtype)
    return torch.cat([v0.unsqueeze(0).to(h_all.dtype), _reset(h_all[:-1], s, thr, reset)])


def lif_backward(saved, v0, a, thr, spec, gs, gh_in, gv_end, need_a: bool, need_thr: bool):
    """Hand-written backward. ``saved`` is ``h [T, M]`` (or ``x`` for ``FORM_PLIF``, then ``h`` is
    recomputed). Returns ``(gx [T, M], gv0 [M], ga [M] | None, gthr [M] | None)``."""
    check_codes("torch_engine.lif_backward", spec.form, spec.reset, a)
    _check(
        "lif_backward", saved, seqs={"gs": gs, "gh": gh_in}, vecs={"v0": v0, "gv_end": gv_end},
        params={"a": a, "thr": thr},
    )  # fmt: skip
    form, reset = spec.form, spec.reset
    x = saved if form == FORM_PLIF else None
    h_all = lif_forward(saved, v0, a, thr, form, reset)[1] if form == FORM_PLIF else saved
    z = h_all - thr
    s = (z >= 0).to(h_all.dtype)
    dsur = spec.surrogate.derivative(z)
    zero = torch.zeros((), dtype=h_all.dtype, device=h_all.device)
    du_dh = (1 - s) if reset == "zero" else torch.ones_like(zero)
    if spec.detach or reset == "none":
        du_ds = zero
    else:
        du_ds = -h_all if reset == "zero" else -thr
    a_part = dsur * gs if gs is not None else torch.zeros_like(h_all)  # [T, M]
    if gh_in is not None:
        a_part = a_part + gh_in
    b_part = du_dh + du_ds * dsur  # gh_t = a_part_t + b_part_t * gu_t
    dv = None if form == FORM_IF else (a if form == FORM_DECAY else 1 - a)
    gu = gv_end if gv_end is not None else torch.zeros_like(h_all[0])
    gu_all, gh_all = torch.empty_like(h_all), torch.empty_like(h_all)
    for t in range(h_all.shape[0] - 1, -1, -1):
        gu_all[t] = gu
        gh = a_part[t] + b_part[t] * gu
        gh_all[t] = gh
        gu = gh if dv is None else gh * dv
    gx = gh_all * a if form == FORM_PLIF else gh_all
    ga = gthr = None
    if need_a and form != FORM_IF:
        prev = _previous(h_all, v0, thr, reset)
        ga = (gh_all * (prev if form == FORM_DECAY else x - prev)).sum(0)
    if need_thr:
        gsig = (gs if gs is not None else zero) + gu_all * du_ds
        gthr = -(gsig * dsur)
        if reset == "subtract":
            gthr = gthr - gu_all * s
        gthr = gthr.sum(0)
    return gx, gu, ga, gthr


def refractory_forward(x, c, o, d, thr, cp, spec, record_v: bool):
    """``x [T, M]``, ``c, o [M]`` -> ``(out [T, M], v [T, M] | None, h [T, M], final c, final o)``.

    ``out[t]`` and ``v[t]`` are the previous step's ``o`` and ``c`` (the neuron's one-step delay).
    """
    _check("refractory_forward", x, vecs={"c": c, "o": o}, params={"d": d, "thr": thr, "cp": cp})
    out = torch.empty_like(x)
    v_all = torch.empty_like(x) if record_v else None
    h_all = torch.empty_like(x)
    for t, x_t in enumerate(x.unbind(0)):
        out[t] = o
        if record_v:
            v_all[t] = c
        h = x_t + d * c
        o = torch.relu(h - thr) if spec.spike == "graded" else (h - thr >= 0).to(x.dtype)
        g = (o > 0).to(x.dtype)
        c = h - (cp * h) * g if spec.reset == "seed" else h - (cp + o) * g
        h_all[t] = h
    return out, v_all, h_all, c, o


def _refractory_parts(h_all, thr, spec):
    """Per step: gate ``g``, ``do/dh``, ``dc/dh``, ``dc/do`` (``dc/dcp`` is ``-h g`` or ``-g``)."""
    z = h_all - thr
    if spec.spike == "graded":
        g = (z > 0).to(h_all.dtype)
        do_dh = g
    else:
        g = (z >= 0).to(h_all.dtype)
        do_dh = spec.surrogate.derivative(z)
    return g, do_dh


def refractory_backward(h_all, c0, d, thr, cp, spec, g_out, g_v, gc_end, go_end, needs):
    """Hand-written backward of :func:`refractory_forward`.

    ``needs`` = ``(d, thr, cp)`` flags. Returns ``(gx, gc0, go0, gd, gthr, gcp)``, ``[M]`` per neuron
    (``None`` where not needed).
    """
    _check(
        "refractory_backward", h_all, seqs={"g_out": g_out, "g_v": g_v},
        vecs={"c0": c0, "gc_end": gc_end, "go_end": go_end}, params={"d": d, "thr": thr, "cp": cp},
    )  # fmt: skip
    steps = h_all.shape[0]
    g, do_dh = _refractory_parts(h_all, thr, spec)
    zeros = torch.zeros_like(h_all[0])
    go_next = [g_out[t + 1] if g_out is not None else zeros for t in range(steps - 1)]
    go_next.append(go_end if go_end is not None else zeros)
    go = torch.stack(go_next)  # gradient reaching o_t, [T, M]
    gce = [g_v[t + 1] if g_v is not None else zeros for t in range(steps - 1)]
    gce.append(gc_end if gc_end is not None else zeros)
    if spec.reset == "seed":
        dc_dh, dc_do = 1 - cp * g, torch.zeros_like(g)
    else:
        dc_dh, dc_do = torch.ones_like(g), -g
    a_part = go * do_dh
    b_part = dc_dh + dc_do * do_dh  # gh_t = a_part_t + b_part_t * gc_t
    gc_all, gh_all = torch.empty_like(h_all), torch.empty_like(h_all)
    carry = zeros
    for t in range(steps - 1, -1, -1):
        gc = gce[t] + carry
        gc_all[t] = gc
        gh = a_part[t] + b_part[t] * gc
        gh_all[t] = gh
        carry = d * gh
    gc0 = carry if g_v is None else carry + g_v[0]
    go0 = g_out[0] if g_out is not None else zeros
    gd = gthr = gcp = None
    if needs[0]:
        prev = torch.cat([c0.unsqueeze(0).to(h_all.dtype), _refractory_c(h_all[:-1], thr, cp, spec)])
        gd = (gh_all * prev).sum(0)
    if needs[1]:
        gthr = -((go + gc_all * dc_do) * do_dh).sum(0)
    if needs[2]:
        gcp = -(gc_all * (h_all * g if spec.reset == "seed" else g)).sum(0)
    return gh_all, gc0, go0, gd, gthr, gcp


def _refractory_c(h, thr, cp, spec):
    """The state after the gated reset, from the pre-reset ``h`` (as :func:`refractory_forward`)."""
    o = torch.relu(h - thr) if spec.spike == "graded" else (h - thr >= 0).to(h.dtype)
    g = (o > 0).to(h.dtype)
    return h - (cp * h) * g if spec.reset == "seed" else h - (cp + o) * g
