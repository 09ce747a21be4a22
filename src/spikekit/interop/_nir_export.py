"""spikekit -> NIR: one function per kind of layer, and per NIR form of neuron (``NeuronSpec.nir``). The
mapping is documented in :mod:`spikekit.interop.nir` and docs/interop.md.

What a neuron is comes from its spec (``type(module).spec``): ``nir`` picks the writer, ``nir_reason`` says
why there is none, ``leaky`` gives a leaky neuron's decay and gain, ``nir_meta`` what a neuron written as
another's node needs to come back as itself."""

from __future__ import annotations

import copy
import math
from typing import Any

import nir
import numpy as np
import torch
from torch import nn

from ..functional.spec import SPECS, NeuronSpec
from ..nn import Delay, Neuron
from ._lower import Step, apply, fold, lower_structure, sample_sequence

Nodes = list[tuple[str, Any]]  # (key suffix, NIR node); a chain

LAYERS = (
    "Linear, Conv2d, Flatten, AvgPool2d, MaxPool2d (of spikes), BatchNorm (folded), Dropout, Identity, "
    "Delay, TimeDistributed(...)"
)


def exportable() -> str:
    """What the exporter writes: the layers above and every registered neuron with a NIR form."""
    return ", ".join([LAYERS, *(name for name in SPECS if SPECS[name].nir is not None)])


def neuron_spec(module: nn.Module) -> NeuronSpec | None:
    """The spec of a spikekit neuron module (``type(module).spec``), ``None`` for any other module."""
    spec = getattr(type(module), "spec", None)
    return spec if isinstance(module, Neuron) and isinstance(spec, NeuronSpec) else None


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


def _full(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A float64 array of ``shape`` from a scalar or a broadcastable per-neuron tensor."""
    arr = np.asarray(value.detach().cpu().double() if isinstance(value, torch.Tensor) else value, np.float64)
    return np.broadcast_to(arr, shape).copy()


def _what(step: Step) -> str:
    return f"{type(step.module).__name__} {step.name!r}"


# --- stateless layers ----------------------------------------------------------------------------------
def _linear(step: Step, shape_in, shape_out, ctx) -> Nodes:
    m = step.module
    if m.bias is None:
        return [("", nir.Linear(weight=_np(m.weight)))]
    return [("", nir.Affine(weight=_np(m.weight), bias=_np(m.bias)))]


def _conv2d(step: Step, shape_in, shape_out, ctx) -> Nodes:
    m = step.module
    if m.padding_mode != "zeros":
        raise ValueError(f"export: {_what(step)} pads with {m.padding_mode!r}; NIR's Conv2d pads with zeros")
    if m.groups != 1:
        raise ValueError(
            f"export: {_what(step)} has groups={m.groups}; nir 1.0's type check reads a Conv2d's input "
            "channels from its weight (in_channels / groups), so a grouped convolution cannot be read back"
        )
    bias = _np(m.bias) if m.bias is not None else np.zeros(m.out_channels, dtype=_np(m.weight).dtype)
    node = nir.Conv2d(
        input_shape=tuple(shape_in[1:]),
        weight=_np(m.weight),
        stride=tuple(m.stride),
        padding=m.padding if isinstance(m.padding, str) else tuple(m.padding),
        dilation=tuple(m.dilation),
        groups=m.groups,
        bias=bias,
    )
    return [("", node)]


def _flatten(step: Step, shape_in, shape_out, ctx) -> Nodes:
    m = step.module
    offset = 1 if step.wrapped else 2  # torch counts the batch (and, unwrapped, the time) axis; NIR does not
    ndim = len(shape_in) + offset
    start = (m.start_dim % ndim) - offset
    end = (m.end_dim % ndim) - offset
    if start < 0:
        raise ValueError(f"export: {_what(step)} flattens the batch or time axis; NIR's Flatten cannot")
    end = -1 if end == len(shape_in) - 1 else end
    return [("", nir.Flatten(input_type={"input": np.array(shape_in)}, start_dim=start, end_dim=end))]


def _pair(v: Any) -> np.ndarray:
    return np.array(v if isinstance(v, (tuple, list)) else (v, v))


def _avgpool(step: Step, shape_in, shape_out, ctx) -> Nodes:
    """NIR's AvgPool2d; right after a Conv2d, SumPool2d with the 1/k^2 folded into the convolution (exact
    for power-of-two windows, and Norse reads SumPool2d but not AvgPool2d)."""
    m = step.module
    if (
        m.ceil_mode
        or m.divisor_override is not None
        or (not m.count_include_pad and np.any(_pair(m.padding)))
    ):
        raise ValueError(
            f"export: {_what(step)} needs ceil_mode=False, no divisor_override and count_include_pad=True "
            "to be NIR's AvgPool2d"
        )
    stride = m.stride if m.stride is not None else m.kernel_size
    kernel, stride, padding = _pair(m.kernel_size), _pair(stride), _pair(m.padding)
    prev = ctx["prev_node"]
    if isinstance(prev, nir.Conv2d) and not np.any(padding):
        area = float(np.prod(kernel))
        prev.weight = (prev.weight / area).astype(prev.weight.dtype)
        prev.bias = (prev.bias / area).astype(prev.bias.dtype)
        return [("", nir.SumPool2d(kernel_size=kernel, stride=stride, padding=padding))]
    return [("", nir.AvgPool2d(kernel_size=kernel, stride=stride, padding=padding))]


def _maxpool(step: Step, shape_in, shape_out, ctx) -> Nodes:
    """Max of 0/1 spikes = [sum > 0]: SumPool2d, then a LIF with tau = dt (it forgets every step) and
    threshold 0.5 (no tie with an integer count). Exact for binary input only."""
    m = step.module
    if not ctx["binary"]:
        raise ValueError(
            f"export: {_what(step)} max-pools a signal that is not 0/1 spikes (it does not follow a spiking "
            "neuron); NIR has no max pooling, and a max of real values cannot be built from its nodes. "
            "spikekit exports max pooling of spikes only (exactly, as SumPool2d and a threshold); "
            "use AvgPool2d"
        )
    if np.any(_pair(m.padding)) or np.any(_pair(m.dilation) != 1) or m.ceil_mode or m.return_indices:
        raise ValueError(f"export: {_what(step)} needs padding=0, dilation=1, ceil_mode=False to be exported")
    stride = m.stride if m.stride is not None else m.kernel_size
    pool = nir.SumPool2d(kernel_size=_pair(m.kernel_size), stride=_pair(stride), padding=np.array([0, 0]))
    dt = ctx["dt"]
    shape = tuple(shape_out)
    any_spike = nir.LIF(
        tau=_full(dt, shape),
        r=_full(1.0, shape),
        v_leak=_full(0.0, shape),
        v_threshold=_full(0.5, shape),
        v_reset=_full(0.0, shape),
        metadata={"spikekit.lowered_from": "MaxPool2d"},
    )
    return [("sum", pool), ("any", any_spike)]


def _delay(step: Step, shape_in, shape_out, ctx) -> Nodes:
    """``Delay`` -> NIR's ``Delay(delay)``, ``y(t) = x(t - delay)``, the delays in seconds (steps x dt), one
    per value of a sample (broadcast to the input's shape). A fractional delay is written as it is: spikekit
    interpolates linearly between the neighbouring steps (NIR does not say how a reader samples it)."""
    m = step.module
    if step.wrapped:
        raise ValueError(f"export: {_what(step)} inside TimeDistributed would delay along the batch axis")
    node = nir.Delay(delay=_full(m.delays(), tuple(shape_in)) * ctx["dt"])
    node.metadata = {"spikekit.max_delay": int(m.max_delay)}
    return [("", node)]


# --- neurons -------------------------------------------------------------------------------------------
def _check_reset(step: Step, allowed: tuple[str, ...]) -> str:
    reset = step.module.reset
    if reset == "subtract":
        raise ValueError(
            f"export: {_what(step)} uses reset='subtract', which NIR cannot express: NIR's neurons set the "
            "membrane to v_reset after a spike. Build and train it with reset='zero' (NIR's reset to 0)"
        )
    if reset not in allowed:
        raise ValueError(f"export: {_what(step)} uses reset={reset!r}; NIR can express {allowed} here")
    return reset


def _leaky(step: Step, shape_in, shape_out, ctx) -> Nodes:
    """Form ``"leaky"``: ``v = beta v + gamma x`` (the spec's ``leaky``); Euler with step dt of
    ``tau dv/dt = -v + r I``."""
    m, dt, shape = step.module, ctx["dt"], tuple(shape_in)
    spec, params = neuron_spec(m), m.params()
    reset = _check_reset(step, ("zero", "none"))
    beta, gamma = spec.leaky(params)
    beta, gamma = _full(beta, shape), _full(gamma, shape)
    thr = _full(params.threshold, shape)
    meta = {}
    if spec.nir_restore is not None:  # written as another neuron's node: say which, and what it needs
        extra = spec.nir_meta(params) if spec.nir_meta is not None else {}
        meta = {"spikekit.module": spec.name, **{f"spikekit.{k}": v for k, v in extra.items()}}
    if np.all(beta == 1.0):  # no leak: NIR's IF / I, dv/dt = r I, with r = gamma / dt
        if reset == "none":
            nodes: Nodes = [("", nir.I(r=gamma / dt, metadata=meta))]
            return nodes if step.readout else nodes + [("spike", nir.Threshold(threshold=thr))]
        return [("", nir.IF(r=gamma / dt, v_threshold=thr, v_reset=np.zeros(shape), metadata=meta))]
    if np.any(beta == 1.0):
        raise ValueError(
            f"export: {_what(step)} mixes beta = 1 (no leak) and beta < 1; NIR's LIF needs beta < 1"
        )
    tau = dt / (1.0 - beta)
    zeros = np.zeros(shape)
    if reset == "none":  # the membrane itself leaves the node: r = gamma tau / dt keeps spikekit's units
        nodes = [("", nir.LI(tau=tau, r=gamma * tau / dt, v_leak=zeros, metadata=meta))]
        return nodes if step.readout else nodes + [("spike", nir.Threshold(threshold=thr))]
    # spikes leave the node: r = 1 (as Norse and SpikingJelly write it), membrane (1 - beta) / gamma of ours
    node = nir.LIF(
        tau=tau, r=np.ones(shape), v_leak=zeros, v_threshold=thr * (1.0 - beta) / gamma, v_reset=zeros
    )
    node.metadata = meta
    return [("", node)]


def _cuba(step: Step, shape_in, shape_out, ctx) -> Nodes:
    """Form ``"cuba"``: current ``i = alpha i + x``, membrane ``v = beta v + i`` (NIR's CubaLIF / CubaLI)."""
    m, dt, shape = step.module, ctx["dt"], tuple(shape_in)
    p = m.params()
    reset = _check_reset(step, ("zero", "none"))
    alpha, beta = _full(p.alpha, shape), _full(p.beta, shape)
    if np.any(alpha == 1.0) or np.any(beta == 1.0):
        raise ValueError(f"export: {_what(step)} has alpha or beta = 1 (an infinite time constant in NIR)")
    tau_syn, tau_mem = dt / (1.0 - alpha), dt / (1.0 - beta)
    common = {
        "tau_syn": tau_syn,
        "tau_mem": tau_mem,
        "r": tau_mem / dt,
        "v_leak": np.zeros(shape),
        "w_in": tau_syn / dt,
    }
    if reset == "none":
        nodes: Nodes = [("", nir.CubaLI(**common))]
        return (
            nodes if step.readout else nodes + [("spike", nir.Threshold(threshold=_full(p.threshold, shape)))]
        )
    return [("", nir.CubaLIF(**common, v_threshold=_full(p.threshold, shape), v_reset=np.zeros(shape)))]


def _recurrent(step: Step, shape_in, shape_out, ctx) -> Nodes:
    """Form ``"recurrent"``: a subgraph ``input -> lif -> output`` with ``lif -> w_rec -> lif``, as snnTorch
    writes RLeaky."""
    m, dt = step.module, ctx["dt"]
    p = m.params()
    _check_reset(step, ("zero",))
    n = p.weight.shape[0]
    beta = float(p.beta)
    if beta == 1.0:
        raise ValueError(f"export: {_what(step)} has beta = 1 (an infinite time constant in NIR)")
    tau = np.full(n, dt / (1.0 - beta))
    w = _np(p.weight) if p.weight.dim() == 2 else np.diag(_np(p.weight))
    lif = nir.LIF(
        tau=tau,
        r=tau / dt,
        v_leak=np.zeros(n),
        v_threshold=np.full(n, float(p.threshold)),
        v_reset=np.zeros(n),
    )
    sub = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n])),
            "lif": lif,
            "w_rec": nir.Linear(weight=w),
            "output": nir.Output(np.array([n])),
        },
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
    )
    return [("", sub)]


EMITTERS = [
    (nn.Linear, _linear),
    (nn.Conv2d, _conv2d),
    (nn.Flatten, _flatten),
    (nn.AvgPool2d, _avgpool),
    (nn.MaxPool2d, _maxpool),
    (Delay, _delay),
]
NEURON_EMITTERS = {"leaky": _leaky, "cuba": _cuba, "recurrent": _recurrent}  # by NeuronSpec.nir


def _emitter(step: Step):
    """The function that writes ``step``, or a ``ValueError`` saying why there is none."""
    m = step.module
    for cls, fn in EMITTERS:
        if isinstance(m, cls):
            return fn
    if isinstance(m, Neuron):
        spec = neuron_spec(m)
        if spec is not None and spec.nir in NEURON_EMITTERS:
            return NEURON_EMITTERS[spec.nir]
        raise ValueError(
            f"export: {_what(step)} is a neuron the NIR exporter does not know; exportable: {exportable()}"
        )
    if not list(m.parameters()) and type(m).__module__.startswith("torch.nn.modules.activation"):
        raise ValueError(
            f"export: {_what(step)} is a non-spiking activation, which NIR cannot express; convert the "
            "network to spiking neurons first (spikekit.convert)"
        )
    raise ValueError(f"export: {_what(step)} has no NIR counterpart here; exportable: {exportable()}")


def check_expressible(model: nn.Module) -> None:
    """Raise ``ValueError`` naming the first neuron of ``model`` that NIR cannot express, and why (its
    spec's ``nir_reason``)."""
    for name, m in model.named_modules():
        spec = neuron_spec(m)
        if spec is not None and spec.nir is None:
            label = name or type(model).__name__
            raise ValueError(
                f"export: {type(m).__name__} {label!r} cannot be expressed in NIR: {spec.nir_reason}"
            )


def _readout_check(step: Step) -> None:
    if step.readout and getattr(step.module, "reset", "none") != "none":
        raise ValueError(
            f"export: the membrane readout {_what(step)} resets (reset={step.module.reset!r}); only a "
            "non-resetting membrane (reset='none') is a NIR LI node"
        )


def export_model(model: nn.Module, sample: torch.Tensor, dt: float, include_readout: bool) -> nir.NIRGraph:
    if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not math.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt must be a finite float > 0 (seconds per step), got {dt!r}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"export: model must be an nn.Module, got {type(model).__name__}")
    check_expressible(model)
    work = copy.deepcopy(model).eval()
    lowered = lower_structure(work)
    steps = fold(lowered.steps)
    if not include_readout and steps and steps[-1].readout:
        steps = steps[:-1]
    if not steps:
        raise ValueError(f"export: {type(model).__name__} has no layer to export")
    param = next(work.parameters(), None)
    x = sample_sequence(work, sample)
    x = x.to(param.dtype) if param is not None and x.is_floating_point() else x
    nodes: dict[str, Any] = {"input": nir.Input(np.array(x.shape[2:]))}
    edges: list[tuple[str, str]] = []
    prev, ctx = "input", {"dt": float(dt), "binary": False, "prev_node": None}
    with torch.no_grad():
        for i, step in enumerate(steps):
            _readout_check(step)
            emit = _emitter(step)
            try:
                y = apply(step, x)
            except RuntimeError as err:
                if type(err) is not RuntimeError:  # out of memory and the like: not a shape problem
                    raise
                raise ValueError(
                    f"export: {_what(step)} cannot run on its input of shape {tuple(x.shape)} (from sample "
                    f"of shape {tuple(sample.shape)}); give a sample the model takes: {err}"
                ) from err
            base = (step.name or f"layer{i}").strip(".")
            for suffix, node in emit(step, tuple(x.shape[2:]), tuple(y.shape[2:]), ctx):
                key = f"{base}.{suffix}" if suffix else base
                while key in nodes:
                    key += "_"
                nodes[key] = node
                edges.append((prev, key))
                prev, ctx["prev_node"] = key, node
            if isinstance(step.module, Neuron):
                ctx["binary"] = not step.readout
            elif isinstance(
                step.module, Delay
            ):  # an integer delay moves spikes; a fractional one blends them
                ctx["binary"] = ctx["binary"] and bool((step.module.delays() % 1 == 0).all())
            elif not isinstance(step.module, nn.MaxPool2d | nn.Flatten):
                ctx["binary"] = False
            x = y
    nodes["output"] = nir.Output(np.array(x.shape[2:]))
    edges.append((prev, "output"))
    meta = {**lowered.meta, "spikekit.dt": float(dt)}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)
