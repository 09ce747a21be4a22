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
