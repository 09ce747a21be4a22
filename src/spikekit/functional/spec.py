"""One description per neuron model: what every layer above the functional core needs to know about it.

Each neuron's core module ends with ``SPEC = register(NeuronSpec(...))``. The module in
:mod:`spikekit.nn` takes its step, parameter and state types from it; the kernels read ``fused`` and
``fused_form``, the STDP analysis ``decay``, ``output_delay``, ``with_decay``, ``variants`` and
``example``, NIR export and import ``nir``, ``nir_reason``, ``leaky``, ``nir_nodes``, ``nir_meta`` and
``nir_restore``, the Loihi check ``loihi``. Adding a neuron therefore means: its core and spec (one file
here), its module (:mod:`spikekit.nn.neurons`) and its entry in the test registry
(``tests/neuron_registry.py``). Nothing in analysis, interop or kernels names a neuron.

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

NIR_FORMS = ("leaky", "cuba", "recurrent")
"""How a neuron is written in NIR (``NeuronSpec.nir``), and what each form needs of the neuron:

- ``"leaky"``: ``v = beta v + gain x`` (NIR's I / IF / LI / LIF); needs ``leaky``. Export reads
  ``params.threshold``; import builds the module with ``threshold``, ``reset``, ``shape`` and (when the node
  leaks) ``beta``, or through ``nir_restore``.
- ``"cuba"``: a current ``i = alpha i + x`` then ``v = beta v + i`` (NIR's CubaLI / CubaLIF); export reads
  ``params.alpha``, ``beta``, ``threshold``; import passes ``alpha``, ``beta``, ``threshold``, ``reset``,
  ``shape``.
- ``"recurrent"``: ``v = beta v + x + W s`` (a subgraph: NIR's LIF with a Linear from its output back to its
  input); export reads ``params.weight`` (``[N, N]``, or ``[N]`` one-to-one), ``beta``, ``threshold``;
  import builds ``Module(N, beta=, threshold=, all_to_all=, reset=)`` and copies ``weight``.

Every form's module has ``reset`` (NIR writes ``reset="zero"``; ``"none"`` only where NIR has a
non-resetting node).
"""


@dataclass(frozen=True)
class NeuronSpec:
    """What spikekit knows about one neuron model.

    Only ``name``, ``step``, ``params``, ``state`` and (when ``nir`` is ``None``) ``nir_reason`` are
    required; every other field has a default meaning "this consumer does nothing special for it" and is
    read by exactly the consumers named below. Functions take the neuron's parameter object (what its
    module's ``params()`` returns) unless said otherwise.

    Args:
        name: the model's name (that of its :mod:`spikekit.nn` module, e.g. ``"LIF"``); the key in
            :data:`SPECS` and in ``spikekit.nn.neuron.NEURONS``.
        step: the functional core, ``step(x_t, state, params) -> (out_t, v_t, state)``.
        params: its frozen parameter dataclass.
        state: its state ``NamedTuple``.
        decay: ``params -> factor`` (a float64 tensor, per-neuron values keep their shape) by which the
            membrane decays per step. The STDP analysis (:mod:`spikekit.analysis`) averages it, predicts
            ``tau = -1 / ln(decay)`` and uses it as the trace decay of pair-based STDP; ``None`` when the
            model has no such factor (no prediction, and in-network analysis needs an explicit ``decay``).
        output_delay: steps between integrating an input and showing it at the output (the STDP
            analysis shifts its timing by it). ``0`` for neurons that fire in the step they integrate.
        leaky: for ``nir="leaky"``: ``params -> (beta, gain)`` (float64 tensors) when the membrane is
            ``v = beta v + gain x``; NIR export writes the node from it (``beta = 1``: NIR's IF / I).
        nir: how NIR writes it, one of :data:`NIR_FORMS` (see there for what each form needs of the
            module), or ``None`` when NIR cannot express it; then ``nir_reason`` says why, and NIR export
            refuses the neuron with ``"<Class> '<name>' cannot be expressed in NIR: <nir_reason>"``.
        nir_reason: why NIR cannot express it (required when ``nir`` is ``None``; a clause, no final stop).
        nir_nodes: the NIR node types (class names in the ``nir`` package, e.g. ``("LIF", "LI")``) that NIR
            import turns into this neuron; with ``nir`` they pick the neuron for a node: a ``nir.LIF`` becomes
            the spec with ``nir="leaky"`` and ``"LIF"`` in ``nir_nodes``; a recurrent subgraph's ``nir.LIF``
            the one with ``nir="recurrent"``. Leave empty for a neuron that NIR writes as another's node
            (it then needs ``nir_restore`` to come back as itself).
        nir_meta: ``params -> {key: value}``: extra values NIR export writes into the node's metadata (as
            ``"spikekit.<key>"``, next to ``"spikekit.module": name``) so that ``nir_restore`` can rebuild
            the neuron; only read when ``nir_restore`` is set.
        nir_restore: for a ``"leaky"`` neuron written as another's node (PLIF as NIR's LIF with ``r = 1``):
            ``(beta, v_threshold, meta) -> (kwargs, tensors)``. ``beta`` and ``v_threshold`` are the node's
            per-step decay and threshold (float64 tensors of the layer's shape), ``meta`` the values
            ``nir_meta`` wrote (without the ``spikekit.`` prefix). It returns its module's constructor
            arguments (tensors among them are made shared floats where all neurons agree, and the module
            gets ``reset="zero"`` and the matching ``shape``) and the parameters/buffers to overwrite in
            the built module. NIR import uses it when the node's metadata names this neuron.
        loihi: whether it is Loihi's current-based LIF (CUBA) neuron, which a Loihi chip runs with
            ``reset="zero"``; :func:`spikekit.interop.loihi_check` reports every other neuron.
        fused: the fused engines' family for it (``"lif"``, ``"refractory"``, ``"alif"``, ``"synaptic"``,
            ``"rlif"``, ``"srm"``, ``"izhikevich"``, ``"adex"``, ``"alpha"``), ``None`` for none: then
            ``backend="auto"`` resolves to the reference loop (``"torch"``) and ``"fused"`` / ``"triton"``
            are refused (``"triton"`` runs ``"lif"`` and ``"refractory"`` only). A family is a kernel of
            :mod:`spikekit.kernels`, not a neuron: ``"lif"`` means ``h = form(v, x)``, fire, reset of
            ``params.threshold`` / ``reset`` / ``detach_reset`` / ``surrogate`` on a ``state`` with one
            field ``v``; ``"refractory"`` the seed neuron's
            arithmetic on ``RefractoryParams``-like params and state ``(inner, out)``; the state-layout
            families read the fields of ``ALIFParams``, ``SynapticParams``, ``RLIFParams`` (one-to-one or
            dense weight), ``SRMParams``, ``IzhikevichParams``, ``AdExParams`` and ``AlphaParams``-like
            params, states ``(v, a)``, ``(i, v)``, ``(v, s)``, ``(m, q, r)``, ``(v, u)``, ``(V, w)``,
            ``(exc, inh, s)`` (:mod:`spikekit.kernels.families`). The tests check every spec with a
            family against its reference loop.
        fused_form: for ``fused="lif"``, ``(params, x) -> (form, a)`` with form ``"if"`` (``h = v + x``),
            ``"decay"`` (``h = a v + x``) or ``"plif"`` (``h = v + a (x - v)``), ``a`` computed exactly as
            the core does so that spikes are bit-identical.
        with_decay: ``d -> kwargs``: constructor arguments of its module that give a membrane decay of
            ``d`` per step (``d`` in ``(0, 1]``; e.g. LIF: ``{"beta": d}``). The STDP table
            (:func:`spikekit.analysis.run_stdp_window`) lists exactly the neurons that have it, by ``name``.
        variants: named option sets worth comparing, ``{suffix: kwargs}``: the STDP table adds a row
            ``"<name>-<suffix>"`` built with ``{**with_decay(d), **kwargs}`` (e.g. LIF's
            ``{"detach": {"detach_reset": True}}`` gives ``"LIF-detach"``).
        example: constructor arguments that build a minimal module, beyond the defaults (RLIF:
            ``{"size": 1}``); code that builds a neuron by name (the STDP analysis) starts from them.
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
    nir_nodes: tuple[str, ...] = ()
    nir_meta: Callable[[Any], dict[str, Any]] | None = None
    nir_restore: (
        Callable[[torch.Tensor, torch.Tensor, dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]] | None
    ) = None
    loihi: bool = False
    fused: str | None = None
    fused_form: Callable[[Any, torch.Tensor], tuple[str, torch.Tensor | None]] | None = None
    with_decay: Callable[[float], dict[str, Any]] | None = None
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    example: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.nir is not None and self.nir not in NIR_FORMS:
            raise ValueError(f"NeuronSpec {self.name}: nir must be one of {NIR_FORMS} or None")
        if self.nir is None and not self.nir_reason:
            raise ValueError(f"NeuronSpec {self.name}: say why NIR cannot express it (nir_reason)")
        if self.fused == "lif" and self.fused_form is None:
            raise ValueError(f"NeuronSpec {self.name}: fused='lif' needs fused_form")
        if self.nir == "leaky" and self.leaky is None:
            raise ValueError(f"NeuronSpec {self.name}: nir='leaky' needs leaky")
        if self.nir_restore is not None and self.nir != "leaky":
            raise ValueError(f"NeuronSpec {self.name}: nir_restore is for nir='leaky' neurons")


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
    """``value`` as is when it is a tensor, else a 0-d float64 tensor on ``x``'s device (as the kernels take
    it: they cast it to the computing dtype as PyTorch casts a Python number, without rounding it first)."""
    if isinstance(value, torch.Tensor):
        return value
    return torch.tensor(float(value), dtype=torch.float64, device=x.device)
