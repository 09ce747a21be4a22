"""Which steps each fast backend supports, and which engine runs them.

A step is supported when its :class:`~spikekit.functional.spec.NeuronSpec` names a fused family
(``fused="lif"`` or ``"refractory"``); any other step runs on the reference loop only.

``"fused"`` runs the fused autograd functions of :mod:`spikekit.kernels.fused` with the C++ engine on
the CPU (built-in surrogates, floating dtypes) and with the PyTorch engine everywhere else (any device,
user-defined surrogates). ``"triton"`` runs them with the Triton engine (CUDA tensors, or any tensor
under ``TRITON_INTERPRET=1``), and with the PyTorch engine for user-defined surrogates.
:func:`engine_name` says which engine a call would use.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import torch

from ..functional.spec import spec_of
from . import fused, torch_engine
from ._spec import lif_spec, refractory_spec, surrogate_code
from ._validate import check_per_neuron

FAMILIES = ("lif", "refractory")  # the fused engines' families (NeuronSpec.fused)
_CPP_DTYPES = (torch.float32, torch.float64, torch.bfloat16)


def supports(step: Any) -> bool:
    """Whether the fused backends (``"fused"``, ``"triton"``) implement ``step`` (its spec's ``fused``)."""
    spec = spec_of(step)
    return spec is not None and spec.fused in FAMILIES


def _engine(backend: str, x: torch.Tensor, surrogate: Any) -> ModuleType:
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
    """The engine ``"fused"``/``"triton"`` would use for this call: ``"cpp"``, ``"triton"`` or ``"torch"``."""
    return _engine(backend, x, params.surrogate).NAME


def run(step: Any, x: torch.Tensor, state: Any, params: Any, *, record_v: bool, backend: str):
    """Run a supported ``step`` over ``x`` with the fused functions. Same contract as ``multistep``."""
    engine = _engine(backend, x, params.surrogate)
    owner = spec_of(step).name
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
