"""One description per neuron model: what every layer above the functional core needs to know about it.

Each neuron's core module ends with ``SPEC = register(NeuronSpec(...))``. The module in
:mod:`spikekit.nn` takes its step, parameter and state types from it; the kernels read ``fused`` and
``fused_form``, the STDP analysis ``decay`` and ``output_delay``, NIR export ``nir`` (and ``leaky``), the
Loihi check ``loihi``. Adding a neuron therefore means: its core and spec (one file here), its module
(:mod:`spikekit.nn.neurons`) and its entry in the test registry (``tests/neuron_registry.py``). Nothing
in analysis, interop or kernels names a neuron.

Functions in a spec take the neuron's parameter object. ``decay`` and ``leaky`` return float64 tensors
(per-neuron values keep their shape) detached from autograd; they describe, they do not compute the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from .._registry import Registry

__all__ = ["NIR_FORMS", "NeuronSpec", "SPECS", "f64", "like", "register", "spec_of"]

# How a neuron is written in NIR: "leaky" (v = beta v + gain x: NIR's I / IF / LI / LIF), "cuba"
# (current then membrane: CubaLI / CubaLIF), "recurrent" (a LIF subgraph with a recurrent Linear).
NIR_FORMS = ("leaky", "cuba", "recurrent")


@dataclass(frozen=True)
class NeuronSpec:
    """What spikekit knows about one neuron model.

    Args:
        name: the model's name (that of its :mod:`spikekit.nn` module, e.g. ``"LIF"``).
        step: the functional core, ``step(x_t, state, params) -> (out_t, v_t, state)``.
        params: its frozen parameter dataclass; ``state``: its state ``NamedTuple``.
        decay: ``params -> factor`` by which the membrane decays per step (the STDP analysis predicts
            ``tau = -1 / ln(decay)``); ``None`` when the model has no such factor.
        output_delay: steps between integrating an input and showing it at the output.
        leaky: ``params -> (beta, gain)`` when the membrane is ``v = beta v + gain x`` (NIR export).
        nir: one of :data:`NIR_FORMS`, or ``None`` with ``nir_reason`` saying why NIR cannot express it.
        loihi: whether it is Loihi's current-based LIF (CUBA) neuron (with ``reset="zero"``).
        fused: the fused engines' family for it (``"lif"``, ``"refractory"``), ``None`` for none.
        fused_form: for ``fused="lif"``, ``(params, x) -> (form, a)`` with form ``"if"`` (``h = v + x``),
            ``"decay"`` (``h = a v + x``) or ``"plif"`` (``h = v + a (x - v)``), ``a`` computed exactly as
            the core does so that spikes are bit-identical.
        example: constructor arguments that build a minimal module (for code that builds by name).
    """

    name: str
    step: Callable[..., tuple[torch.Tensor, torch.Tensor, Any]]
    params: type
    state: type
    decay: Callable[[Any], torch.Tensor] | None = None
    output_delay: int = 0
    leaky: Callable[[Any], tuple[torch.Tensor, torch.Tensor]] | None = None
    nir: str | None = None
    nir_reason: str = ""
    loihi: bool = False
    fused: str | None = None
    fused_form: Callable[[Any, torch.Tensor], tuple[str, torch.Tensor | None]] | None = None
    example: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.nir is not None and self.nir not in NIR_FORMS:
            raise ValueError(f"NeuronSpec {self.name}: nir must be one of {NIR_FORMS} or None, ")
        if self.nir is None and not self.nir_reason:
            raise ValueError(f"NeuronSpec {self.name}: say why NIR cannot express it (nir_reason)")
        if self.fused == "lif" and self.fused_form is None:
            raise ValueError(f"NeuronSpec {self.name}: fused='lif' needs fused_form")


SPECS: Registry[NeuronSpec] = Registry("neuron", normalize=str.lower)
_BY_STEP: dict[Callable, NeuronSpec] = {}


def register(spec: NeuronSpec) -> NeuronSpec:
    """Add ``spec`` to :data:`SPECS` (by name) and to the step lookup of :func:`spec_of`; return it."""
    SPECS.register(spec.name, spec)
    _BY_STEP[spec.step] = spec
    return spec


def spec_of(step: Callable) -> NeuronSpec | None:
    """The spec of the neuron whose core is ``step``; ``None`` for a step no neuron registered."""
    return _BY_STEP.get(step)


def f64(value: Any) -> torch.Tensor:
    """``value`` (a float or a tensor) as a detached float64 tensor: what spec functions return."""
    return torch.as_tensor(value).detach().to(torch.float64)


def like(value: Any, x: torch.Tensor) -> torch.Tensor:
    """``value`` as is when it is a tensor, else a 0-d tensor on ``x``'s device (as the kernels take it)."""
    return value if isinstance(value, torch.Tensor) else torch.tensor(float(value), device=x.device)
