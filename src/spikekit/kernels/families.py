"""Fused engines of the state-layout families: ALIF, Synaptic, RLIF, SRM, Izhikevich, AdEx and Alpha.

A family (``NeuronSpec.fused``) names an arithmetic on a state layout, not a neuron; each reads its
parameter object's fields by name, as the ``"refractory"`` family does:

================  =============  ================================================================  ========
family            state          one step (the core's expressions, in its order)                   saved
================  =============  ================================================================  ========
``"alif"``        ``(v, a)``     ``h = beta v + x; A = threshold + adapt a; s = H(h - A);``        h, a
                                 ``v = reset(h, s, A); a = rho a + (1 - rho) s``
``"synaptic"``    ``(i, v)``     ``i = alpha i + x; h = beta v + i; s = H(h - thr);``              h, i
                                 ``v = reset(h, s, thr)``
``"rlif"``        ``(v, s)``     ``h = (beta v + x) + s w`` (one-to-one ``w [N]``); ``s = H(h -    h
                                 thr); v = reset(h, s, thr)``
``"srm"``         ``(m, q, r)``  ``m = e_m m + x; q = e_s q + x; r' = e_r r; u = (m - q) + r';``   u, r'
                                 ``s = H(u - thr); r = r' (1 - s) - thr s``
``"izhikevich"``  ``(v, u)``     ``v1 = v + h f(v); v2 = v1 + h f(min(v1, pk)); u' = u + dta``     v2, u,
                                 ``(b min(v2, pk) - u); s = H((v2 - pk) / vs); v = v2 - s``        v1
                                 ``(v2 - c); u = u' + s d`` (``f(v) = 0.04 v v + 5 v + 140 - u``
                                 ``+ x``, ``h = dt / 2``, ``dta = dt a``)
``"adex"``        ``(V, w)``     ``E = exp((min(V, pk) - V_T) / D); dV = (ng (V - E_L) + gd E``    V1, w,
                                 ``- w + x) / C; V1 = V + dt dV; w1 = w + dt (a (V - E_L) - w)``   dV
                                 ``/ tau_w; s = H((V1 - pk) / vs); V = V1 - s (V1 - V_r); w =``
                                 ``w1 + s b`` (``ng = -g_L``, ``gd = g_L D``)
``"alpha"``       ``(e, i, r)``  ``E = alpha e + x; I = beta i - x; v = tau (E + I)``; reset by    v, E, I
                                 the previous spike ``r``: subtract ``e = E - thr r, i = I - I
                                 r, v = v + i_prev r``; zero ``e, i, v = E - E r, I - I r, v -
                                 v r``; ``s = H(v - thr)``, ``r <- s``
================  =============  ================================================================  ========

The dense RLIF (weight ``W [N, N]``) is the ``"rlif"`` row with ``s w`` replaced by ``rec = s @ W^T``,
which the engine computes with ATen's own GEMM (``at::mm`` on a spike tensor ``[B, N]`` of its own,
allocated as the core's are: MKL's double-precision GEMM rounds differently for operands at other
alignments), so its spikes and membranes are bit-identical to the loop's too. AdEx's exponential is
``torch.exp`` itself (called from C++ on each chunk of neurons), since the C library's ``exp`` rounds
differently from PyTorch's vectorized one.

Derived parameters (``1 - rho``, ``exp(-1 / tau)``) are computed from the parameter object with the
core's own expressions (:data:`FAMILY_PARAMS`), in the dtype the core computes them in, so that every
operation the engine runs is the core's, on the same values: spikes and membranes are bit-identical to
the reference loop. A Python number becomes a 0-d float64 tensor, which the engine casts to ``x``'s dtype
as PyTorch casts a scalar operand.

The engine is the C++ one (:func:`spikekit.kernels.cpp.family_forward`, float32 and float64, built-in
surrogates, CPU). Everywhere else (other dtypes or devices, a user-defined surrogate, a per-neuron
parameter whose dtype differs from ``x``'s, whose promotion the core applies operation by operation, a
dense RLIF weight that is not contiguous or a state whose spikes do not lie 64-byte aligned (another
GEMM, other roundings), an Izhikevich ``dt`` tensor that needs a gradient), ``backend="fused"`` runs the
reference loop itself: :func:`engine_name` says ``"reference"`` then.

Backward through time (``g*`` the loss's gradient with respect to ``*``; ``gv``, ``ga``, ... carried from
``t = T - 1`` down to 0, starting at the final state's gradient; ``P'`` the surrogate's derivative;
``dR/ds`` is ``-A`` (subtract), ``-h`` (zero) or 0 (none, or ``detach_reset``), ``dR/dh`` is ``1 - s``
(zero) or 1):

- alif: ``gs = gout + gv dR/ds + ga (1 - rho)``; ``gz = gs P'(h - A)``; ``gh = gv_rec + gz + gv dR/dh``;
  ``gA = -gz - s gv [subtract]``; ``gx = gh``; ``gbeta += gh v_prev``; ``grho += ga a_prev``;
  ``g(1 - rho) += ga s``; ``gadapt += gA a_prev``; ``gthr += gA``; ``gv <- beta gh``;
  ``ga <- adapt gA + rho ga``.
- synaptic: ``gs = gout + gv dR/ds``; ``gz``, ``gh`` as above; ``gc = gi + gh``; ``gx = gc``;
  ``galpha += gc i_prev``; ``gbeta += gh v_prev``; ``gthr += -gz - s gv [subtract]``; ``gi <- alpha gc``;
  ``gv <- beta gh``.
- rlif: ``gs = gout + gs_state + gv dR/ds``; ``gx = gh``; ``gw += gh s_prev``; ``gbeta += gh v_prev``;
  ``gv <- beta gh``; ``gs_state <- w gh``.
- srm: ``gs = gout + gr (-r' - thr)`` (0 with ``detach_reset``); ``gu = gu_rec + gs P'(u - thr)``;
  ``gthr += -gs P' - gr s``; ``gm = gm + gu``, ``gq = gq - gu``, ``gx = gm + gq``; ``gm <- e_m gm``,
  ``gq <- e_s gq``, ``gr <- e_r (gu + gr (1 - s))``.
- dense rlif: as rlif, with ``gs_state <- gh @ W`` (one GEMM per step) and ``gW = sum_t gh_t^T s_{t-1}``,
  one GEMM ``[N, T B] x [T B, N]`` after the loop.
- izhikevich (``z = (v2 - pk) / vs``, ``[.]`` 1 where true): ``gs = gout + keep (-gv (v2 - c) + gu d)``;
  ``gz = gs P'(z) / vs``; ``gc += gv s``; ``gd += gu s``; ``gvs += -gz z``; ``gv2 = gv_rec + gv (1 - s) +
  gz + gw b [v2 <= pk]`` with ``gw = gu dta``; ``gdta += gu (b min(v2, pk) - u)``; ``gb += gw min(v2, pk)``;
  ``gy = h gv2``; ``gv1 = gv2 + gy (0.08 m + 5) [v1 <= pk]`` (``m = min(v1, pk)``); ``gy0 = h gv1``;
  ``gpk += -gz + gw b [v2 > pk] + gy (0.08 m + 5) [v1 > pk]``; ``gx = gy + gy0``;
  ``gv <- gv1 + gy0 (0.08 v + 5)``; ``gu <- gu - gw - gy - gy0``. (No gradient for ``h``: ``dt`` is a
  number; a ``dt`` tensor that needs one runs the reference loop.)
- adex (``z = (V1 - pk) / vs``, ``y = (min(V, pk) - V_T) / D``, ``dw = (a (V - E_L) - w) / tau_w``):
  ``gs = gout + keep (-gV (V1 - V_r) + gw b)``; ``gz = gs P'(z) / vs``; ``gvs += -gz z``;
  ``gV_r += gV s``; ``gb += gw s``; ``gV1 = gV_rec + gV (1 - s) + gz``; ``gdt += gw dw + gV1 dV``;
  ``gq = gw dt / tau_w``; ``gtau_w += -gq dw``; ``ga += gq (V - E_L)``; ``gP = gV1 dt / C``;
  ``gC += -gP dV``; ``gng += gP (V - E_L)``; ``gE_L += -gq a - gP ng``; ``ggd += gP E``;
  ``gc = gP gd E / D``; ``gV_T += -gc``; ``gD += -gc y``; ``gpk += -gz + gc [V > pk]``; ``gx = gP``;
  ``gV <- gV1 + gq a + gP ng + gc [V <= pk]``; ``gw <- gw - gq - gP``.
- alpha (``gE``, ``gI``, ``gS``: the state's gradients; ``r`` the previous spike, ``e0``, ``i0`` the state
  before the step): ``gz = (gout + gS) P'(v - thr)``; ``gv = gv_rec + gz``; ``gthr += -gz``; subtract:
  ``gthr += -gE r``, ``gI *= 1 - r``, ``gr = -gE thr - gI I + gv i0``, ``gi0 = gv r``; zero:
  ``gE, gI, gv *= 1 - r``, ``gr = -gE E - gI I - gv v_pre``; ``gtau += gv (E + I)``; ``gE += tau gv``;
  ``gI += tau gv``; ``galpha += gE e0``; ``gbeta += gI i0``; ``gx = gE - gI``; ``gE <- alpha gE``;
  ``gI <- beta gI + gi0``; ``gS <- keep gr``.

``v_prev`` is recomputed from the saved membrane of the step before (the same reset arithmetic as
forward), spikes from the membrane and the threshold (Alpha's state before a step from the step before's
saved currents and the spike of the step before that).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch

from .. import surrogate as sg
from ..functional.alpha import tau_alpha
from ._spec import DENSE_RLIF, FAMILY_LAYOUT, FAMILY_MATRIX, per_neuron, reduce_to, surrogate_code
from ._spec import FAMILY_CODES as FAMILY_CODES  # re-exported: the families this module runs

FAMILY_PARAMS: dict[str, Callable[[Any], tuple[Any, ...]]] = {
    "alif": lambda p: (p.beta, p.rho, 1 - p.rho, p.adapt, p.threshold),
    "synaptic": lambda p: (p.alpha, p.beta, p.threshold),
    "rlif": lambda p: (p.weight, p.beta, p.threshold),
    "srm": lambda p: (math.exp(-1 / p.tau_m), math.exp(-1 / p.tau_s), math.exp(-1 / p.tau_r), p.threshold),
    "izhikevich": lambda p: (0.5 * p.dt, p.v_peak, p.dt * p.a, p.b, p.c, p.d, p.v_scale),
    "adex": lambda p: (
        (p.C, -p.g_L, p.E_L, p.V_T, p.delta_T, p.g_L * p.delta_T, p.tau_w)
        + (p.a, p.b, p.V_r, p.V_peak, p.dt, p.v_scale)
    ),
    "alpha": lambda p: (p.alpha, p.beta, tau_alpha(p), p.threshold),
}
"""Each family's parameters, from the neuron's parameter object, with its core's expressions."""

PARAM_NAMES = {
    "alif": ("beta", "rho", "1 - rho", "adapt", "threshold"),
    "synaptic": ("alpha", "beta", "threshold"),
    "rlif": ("weight", "beta", "threshold"),
    "srm": ("exp(-1/tau_m)", "exp(-1/tau_s)", "exp(-1/tau_r)", "threshold"),
    "izhikevich": ("dt/2", "v_peak", "dt*a", "b", "c", "d", "v_scale"),
    "adex": ("C", "-g_L", "E_L", "V_T", "delta_T", "g_L*delta_T", "tau_w", "a", "b", "V_r", "V_peak", "dt",
             "v_scale"),
    "alpha": ("alpha", "beta", "tau_alpha", "threshold"),
    DENSE_RLIF: ("weight", "beta", "threshold"),
}  # fmt: skip

DTYPES = (torch.float32, torch.float64)


@dataclass(frozen=True)
class FamilySpec:
    """One call's family, parameters (tensors, keeping their autograd history) and options."""

    family: str
    params: tuple[torch.Tensor, ...]
    reset: str
    detach: bool
    surrogate: sg.Surrogate


def family_spec(family: str, params: Any, x: torch.Tensor) -> FamilySpec:
    """The :class:`FamilySpec` of a neuron of ``family`` with parameter object ``params`` for input ``x``."""
    values = FAMILY_PARAMS[family](params)
    tensors = tuple(
        v if isinstance(v, torch.Tensor) else torch.tensor(float(v), dtype=torch.float64) for v in values
    )
    reset = getattr(params, "reset", "subtract")
    if family == "rlif" and tensors[0].dim() == 2:
        family = DENSE_RLIF
    return FamilySpec(family, tensors, reset, bool(params.detach_reset), params.surrogate)


def per_neuron_params(spec: FamilySpec) -> list[tuple[str, torch.Tensor]]:
    """``(name, tensor)`` of the parameters the engine expands to one value per neuron (not a matrix)."""
    matrix = FAMILY_MATRIX.get(spec.family)
    names = PARAM_NAMES[spec.family]
    return [(n, p) for j, (n, p) in enumerate(zip(names, spec.params, strict=True)) if j != matrix]


def native_ok(spec: FamilySpec, x: torch.Tensor, state: tuple | None = None) -> bool:
    """Whether the C++ engine runs this call exactly as the core would (module docstring); ``state``, when
    given, is checked too (the dense RLIF's first GEMM reads the state's spikes where they lie)."""
    if x.device.type != "cpu" or x.dtype not in DTYPES or surrogate_code(spec.surrogate) is None:
        return False
    for p in spec.params:
        if p.dim() > 0 and p.dtype != x.dtype:
            return False  # the core promotes operation by operation: the reference loop mirrors that
    if spec.family == "izhikevich" and spec.params[0].requires_grad:
        return False  # a dt that needs a gradient: the engine gives none for dt / 2
    if spec.family == DENSE_RLIF:
        w = spec.params[0]
        if x.dim() < 2 or x.shape[-1] != w.shape[0] or not w.is_contiguous():
            return False  # the core refuses the size itself; a strided W is another GEMM
        if state is not None and not _aligned(state[1]):
            return False  # MKL's GEMM rounds by alignment: the engine's own spike tensor is aligned
    from . import cpp

    return cpp.available()


def _aligned(t: torch.Tensor) -> bool:
    return t.is_contiguous() and t.data_ptr() % 64 == 0


class FamilyFunction(torch.autograd.Function):
    """``(x, *state, *params) -> (spikes, membrane, *final state)`` for one :class:`FamilySpec`."""

    @staticmethod
    def forward(ctx, spec: FamilySpec, engine: ModuleType, x, *tensors):
        n_state, _, n_saved = FAMILY_LAYOUT[spec.family]
        states, params = tensors[:n_state], tensors[n_state:]
        shape, dtype = x.shape[1:], x.dtype
        x2 = x.reshape(x.shape[0], -1).contiguous()
        s0 = [s.reshape(-1).contiguous() for s in states]
        pp = _engine_params(spec.family, params, shape, dtype)
        out, saved, finals = engine.family_forward(spec.family, x2, [s.clone() for s in s0], pp, spec.reset)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(*saved, *s0, *params)
        ctx.spec, ctx.engine, ctx.x_shape = spec, engine, x.shape
        return (out.view(x.shape), saved[0].view(x.shape), *(f.view(shape) for f in finals))

    @staticmethod
    def backward(ctx, gout, gh, *gfinal):
        spec, engine, x_shape = ctx.spec, ctx.engine, ctx.x_shape
        n_state, _, n_saved = FAMILY_LAYOUT[spec.family]
        tensors = ctx.saved_tensors
        saved, s0 = tensors[:n_saved], tensors[n_saved : n_saved + n_state]
        params = tensors[n_saved + n_state :]
        shape, dtype = x_shape[1:], saved[0].dtype
        pp = _engine_params(spec.family, params, shape, dtype)

        def seq(g):
            return None if g is None else g.to(dtype).reshape(x_shape[0], -1).contiguous()

        gstate = [
            torch.zeros_like(s0[i]) if g is None else g.to(dtype).reshape(-1).contiguous()
            for i, g in enumerate(gfinal)
        ]
        gx, gs0, gp = engine.family_backward(
            spec.family, list(saved), list(s0), pp, spec, seq(gout), seq(gh), gstate
        )
        needs = ctx.needs_input_grad[3 + n_state :]
        matrix = FAMILY_MATRIX.get(spec.family)
        grads_p = [
            (g.to(p.dtype) if j == matrix else reduce_to(g, p, shape)) if n else None
            for j, (g, p, n) in enumerate(zip(gp, params, needs, strict=True))
        ]
        grads_s = [g.view(shape) for g in gs0]
        return (None, None, gx.view(x_shape), *grads_s, *grads_p)


def _engine_params(family: str, params, shape: torch.Size, dtype: torch.dtype) -> list[torch.Tensor]:
    """Parameters as the engine takes them: ``[M]`` per neuron, a matrix (dense RLIF's ``W``) whole."""
    matrix = FAMILY_MATRIX.get(family)
    return [
        p.detach().to(dtype).contiguous() if j == matrix else per_neuron(p, shape, dtype)
        for j, p in enumerate(params)
    ]


def run(spec: FamilySpec, x: torch.Tensor, state: tuple, engine: ModuleType):
    """Run a family over ``x`` from ``state``: ``(spikes, membrane, final state fields)``."""
    tensors = (*state, *spec.params)
    if torch.is_grad_enabled() and any(t.requires_grad for t in (x, *tensors)):
        out, h, *finals = FamilyFunction.apply(spec, engine, x, *tensors)
    else:
        with torch.no_grad():
            out, h, *finals = FamilyFunction.forward(_Null(), spec, engine, x, *tensors)
    return out, h, finals


class _Null:
    """A stand-in ``ctx`` for running a forward without autograd (nothing is kept)."""

    def __setattr__(self, key: str, value: Any) -> None:
        pass

    def set_materialize_grads(self, value: bool) -> None:
        pass

    def save_for_backward(self, *tensors: Any) -> None:
        pass
