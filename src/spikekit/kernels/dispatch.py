"""Which steps each fast backend supports, and which engine runs them.

A step is supported when its :class:`~spikekit.functional.spec.NeuronSpec` names a fused family
(:data:`FAMILIES`); any other step runs on the reference loop only. ``"triton"`` has kernels for the
:data:`TRITON_FAMILIES` only.

``"fused"`` runs the fused autograd functions of :mod:`spikekit.kernels.fused` with the C++ engine on
the CPU (built-in surrogates, floating dtypes) and with the PyTorch engine everywhere else (any device,
user-defined surrogates). ``"triton"`` runs them with the Triton engine (CUDA tensors, or any tensor
under ``TRITON_INTERPRET=1``), and with the PyTorch engine for user-defined surrogates.
:func:`engine_name` says which engine a call would use.

Under ``torch.compile`` (:func:`spikekit._checks.compiling`) the engines' autograd functions are not
traced: :func:`run` runs the reference loop (which dynamo traces and inductor fuses), and
:func:`engine_name` says ``"reference"``.
"""

from __future__ import annotations

import copy
import dataclasses
from types import ModuleType
from typing import Any

import torch

from .._checks import compiling
from ..functional.spec import spec_of
from . import families, fused, torch_engine
from ._spec import lif_spec, refractory_spec, surrogate_code
from ._validate import check_per_neuron
from .loop import loop

FAMILIES = ("lif", "refractory", *families.FAMILY_CODES)  # the fused engines' families (NeuronSpec.fused)
TRITON_FAMILIES = ("lif", "refractory")  # those with Triton kernels
_CPP_DTYPES = (torch.float32, torch.float64, torch.bfloat16)


def supports(step: Any, backend: str = "fused") -> bool:
    """Whether ``backend`` (``"fused"`` or ``"triton"``) implements ``step`` (its spec's ``fused``)."""
    spec = spec_of(step)
    return spec is not None and spec.fused in (TRITON_FAMILIES if backend == "triton" else FAMILIES)


def _engine(backend: str, x: torch.Tensor, surrogate: Any) -> ModuleType:
    if compiling():  # never run there (module docstring); the PyTorch engine, without probing the C++ one
        return torch_engine
    builtin = surrogate_code(surrogate) is not None
    if backend == "triton":
        from . import triton_engine

        return triton_engine if builtin else torch_engine
    if builtin and x.device.type == "cpu" and x.dtype in _CPP_DTYPES:
        from . import cpp

        if cpp.available():
            return cpp
    return torch_engine


def engine_name(step: Any, x: torch.Tensor, params: Any, backend: str) -> str:
    """The engine ``"fused"``/``"triton"`` would use for this call: ``"cpp"``, ``"triton"``, ``"torch"``,
    or ``"reference"`` (the reference loop, for a state-layout family where its C++ engine does not apply,
    and under compilation)."""
    if compiling():
        return "reference"
    family = spec_of(step).fused
    if family in families.FAMILY_CODES:
        return "cpp" if families.native_ok(families.family_spec(family, params, x), x) else "reference"
    return _engine(backend, x, params.surrogate).NAME


def run(step: Any, x: torch.Tensor, state: Any, params: Any, *, record_v: bool, backend: str):
    """Run a supported ``step`` over ``x`` with the fused functions. Same contract as ``multistep``."""
    if compiling():  # the engines' autograd functions call code dynamo cannot trace
        return loop(step, x, state, params, record_v=record_v)
    owner, family = spec_of(step).name, spec_of(step).fused
    order = _memory_order(x, state, params) if family != "rlif" else None
    if order is not None:
        return _run_in_order(order, step, x, state, params, record_v=record_v, backend=backend)
    if family in families.FAMILY_CODES:
        return _run_family(step, family, x, state, params, record_v=record_v)
    engine = _engine(backend, x, params.surrogate)
    if spec_of(step).fused == "refractory":
        for name in ("decay", "threshold", "penalty"):
            p = getattr(params, name)
            if isinstance(p, torch.Tensor):
                check_per_neuron(owner, name, p, x.shape[1:])
        spec = refractory_spec(params, x)
        out, (c, o), v = fused.refractory_run(spec, x, state.inner, state.out, engine, record_v)
        return out, type(state)(c, o), v
    spec = lif_spec(step, params, x)
    for name, p in (("decay", spec.a), ("threshold", spec.thr)):
        if p is not None:
            check_per_neuron(owner, name, p, x.shape[1:])
    out, v_end, v = fused.lif_run(spec, x, state.v, engine, record_v)
    return out, type(state)(v_end), v


def _run_family(step: Any, family: str, x: torch.Tensor, state: Any, params: Any, *, record_v: bool):
    spec = families.family_spec(family, params, x)
    if not families.native_ok(spec, x, tuple(state)):
        return loop(step, x, state, params, record_v=record_v)
    owner = spec_of(step).name
    for name, p in families.per_neuron_params(spec):
        if p.dim() > 0:
            check_per_neuron(owner, name, p, x.shape[1:])
    from . import cpp

    out, h, finals = families.run(spec, x, tuple(state), cpp)
    return out, type(state)(*finals), (h if record_v else None)


# --- inputs laid out in another order (channels_last) ----------------------------------------------------
# The engines read a step as one contiguous block of neurons. A step stored densely in another order (a
# channels_last convolution's output: [B, C, H, W] with C innermost) is run as the permuted view that is
# contiguous, and the results permuted back: each neuron's arithmetic is its own (the "rlif" family,
# whose dense weight mixes neurons, is left out), so the spikes are the same bits, with no copy of x, and
# the output keeps x's layout for the next layer.
def _memory_order(x: torch.Tensor, state: Any, params: Any) -> list[int] | None:
    """The order of one step's dims from outermost to innermost in memory, when ``x [T, ...]`` is not
    contiguous but every step is one dense block in that order (``None`` otherwise, or when the state or
    the parameters cannot follow the permutation)."""
    if x.dim() < 3 or x.is_contiguous() or not dataclasses.is_dataclass(params):
        return None
    step = x[0]
    order = sorted(range(step.dim()), key=lambda d: -step.stride(d))
    if order == list(range(step.dim())) or not step.permute(order).is_contiguous():
        return None
    if x.shape[0] > 1 and x.stride(0) not in (0, step.numel()):
        return None
    if any(not isinstance(t, torch.Tensor) or t.shape != step.shape for t in state):
        return None
    fields = (getattr(params, f.name) for f in dataclasses.fields(params))
    if any(isinstance(t, torch.Tensor) and t.dim() > step.dim() for t in fields):
        return None
    return order


def _permute_params(params: Any, order: list[int]) -> Any:
    """``params`` with every tensor that has dimensions (broadcast against one step) as a view permuted
    by ``order``; through autograd, so gradients reach the original tensors."""
    n, new = len(order), copy.copy(params)
    for f in dataclasses.fields(params):
        t = getattr(params, f.name)
        if isinstance(t, torch.Tensor) and t.dim() > 0:
            t = t.reshape((1,) * (n - t.dim()) + tuple(t.shape)).permute(order)
            object.__setattr__(new, f.name, t)
    return new


def _run_in_order(order: list[int], step: Any, x, state, params, *, record_v: bool, backend: str):
    inverse = sorted(range(len(order)), key=order.__getitem__)
    seq = [0, *(d + 1 for d in order)]
    seq_inverse = [0, *(d + 1 for d in inverse)]
    state_p = type(state)(*(s.permute(order) for s in state))
    out, final, v = run(step, x.permute(seq), state_p, _permute_params(params, order),
                        record_v=record_v, backend=backend)  # fmt: skip
    final = type(final)(*(s.permute(inverse) for s in final))
    return out.permute(seq_inverse), final, (None if v is None else v.permute(seq_inverse))
