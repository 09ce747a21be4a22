"""Fused engines of the state-layout families: ALIF, Synaptic, one-to-one RLIF and SRM.

A family (``NeuronSpec.fused``) names an arithmetic on a state layout, not a neuron; each reads its
parameter object's fields by name, as the ``"refractory"`` family does:

==============  ===============  =============================================================  ========
family          state            one step (the core's expressions, in its order)                 saved
==============  ===============  =============================================================  ========
``"alif"``      ``(v, a)``       ``h = beta v + x; A = threshold + adapt a; s = H(h - A);``        h, a
                                 ``v = reset(h, s, A); a = rho a + (1 - rho) s``
``"synaptic"``  ``(i, v)``       ``i = alpha i + x; h = beta v + i; s = H(h - thr);``              h, i
                                 ``v = reset(h, s, thr)``
``"rlif"``      ``(v, s)``       ``h = (beta v + x) + s w`` (one-to-one ``w [N]``); ``s = H(h -   h
                                 thr); v = reset(h, s, thr)``
``"srm"``       ``(m, q, r)``    ``m = e_m m + x; q = e_s q + x; r' = e_r r; u = (m - q) + r';``   u, r'
                                 ``s = H(u - thr); r = r' (1 - s) - thr s``
==============  ===============  =============================================================  ========

Derived parameters (``1 - rho``, ``exp(-1 / tau)``) are computed from the parameter object with the
core's own expressions (:data:`FAMILY_PARAMS`), in the dtype the core computes them in, so that every
operation the engine runs is the core's, on the same values: spikes and membranes are bit-identical to
the reference loop. A Python number becomes a 0-d float64 tensor, which the engine casts to ``x``'s dtype
as PyTorch casts a scalar operand.

The engine is the C++ one (:func:`spikekit.kernels.cpp.family_forward`, float32 and float64, built-in
surrogates, CPU). Everywhere else (other dtypes or devices, a user-defined surrogate, a per-neuron
parameter whose dtype differs from ``x``'s, whose promotion the core applies operation by operation, a
dense RLIF weight ``[N, N]``), ``backend="fused"`` runs the reference loop itself:
:func:`engine_name` says ``"reference"`` then.

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

``v_prev`` is recomputed from the saved membrane of the step before (the same reset arithmetic as
forward), spikes from the membrane and the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch

from .. import surrogate as sg
from ._spec import FAMILY_CODES as FAMILY_CODES  # re-exported: the families this module runs
from ._spec import FAMILY_LAYOUT, per_neuron, reduce_to, surrogate_code

FAMILY_PARAMS: dict[str, Callable[[Any], tuple[Any, ...]]] = {
    "alif": lambda p: (p.beta, p.rho, 1 - p.rho, p.adapt, p.threshold),
    "synaptic": lambda p: (p.alpha, p.beta, p.threshold),
    "rlif": lambda p: (p.weight, p.beta, p.threshold),
    "srm": lambda p: (math.exp(-1 / p.tau_m), math.exp(-1 / p.tau_s), math.exp(-1 / p.tau_r), p.threshold),
}
"""Each family's parameters, from the neuron's parameter object, with its core's expressions."""

PARAM_NAMES = {
    "alif": ("beta", "rho", "1 - rho", "adapt", "threshold"),
    "synaptic": ("alpha", "beta", "threshold"),
    "rlif": ("weight", "beta", "threshold"),
    "srm": ("exp(-1/tau_m)", "exp(-1/tau_s)", "exp(-1/tau_r)", "threshold"),
}

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
    return FamilySpec(family, tensors, reset, bool(params.detach_reset), params.surrogate)


def native_ok(spec: FamilySpec, x: torch.Tensor) -> bool:
    """Whether the C++ engine runs this call exactly as the core would (module docstring)."""
    if x.device.type != "cpu" or x.dtype not in DTYPES or surrogate_code(spec.surrogate) is None:
        return False
    for p in spec.params:
        if p.dim() > 0 and p.dtype != x.dtype:
            return False  # the core promotes operation by operation: the reference loop mirrors that
    if spec.family == "rlif" and spec.params[0].dim() != 1:
        return False  # dense recurrence: a GEMM per step, the reference loop
    from . import cpp

    return cpp.available()


class FamilyFunction(torch.autograd.Function):
    """``(x, *state, *params) -> (spikes, membrane, *final state)`` for one :class:`FamilySpec`."""

    @staticmethod
    def forward(ctx, spec: FamilySpec, engine: ModuleType, x, *tensors):
        n_state, _, n_saved = FAMILY_LAYOUT[spec.family]
        states, params = tensors[:n_state], tensors[n_state:]
        shape, dtype = x.shape[1:], x.dtype
        x2 = x.reshape(x.shape[0], -1).contiguous()
        s0 = [s.reshape(-1).contiguous() for s in states]
        pp = [per_neuron(p, shape, dtype) for p in params]
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
        pp = [per_neuron(p, shape, dtype) for p in params]

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
        grads_p = [reduce_to(g, p, shape) if n else None for g, p, n in zip(gp, params, needs, strict=True)]
        grads_s = [g.view(shape) for g in gs0]
        return (None, None, gx.view(x_shape), *grads_s, *grads_p)


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
