"""NIR -> spikekit: one function per node type. The mapping is documented in :mod:`spikekit.interop.nir` and
docs/interop.md.

Which spikekit neuron a NIR neuron node becomes is read from the registered specs: the one whose ``nir`` form
matches and whose ``nir_nodes`` list the node's type (see :func:`neuron_for`), or the one the node's
metadata names (``"spikekit.module"``, written for neurons NIR writes as another's node) through its
``nir_restore``."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import nir
import numpy as np
import torch
from torch import nn

from ..functional.spec import SPECS, NeuronSpec
from ..nn import Delay, Neuron, TimeDistributed
from ..nn.neuron import NEURONS
from .layers import GraphModule, Membrane, Recurrent, Scale, SumPool2d, Threshold

ATOL = 1e-6  # relative tolerance when deciding that a gain is 1 or a decay is 0 (float32 round-off)


def _t(a: Any, dtype: torch.dtype | None = None) -> torch.Tensor:
    if isinstance(a, torch.Tensor):  # Norse and Sinabs store torch tensors in their nodes
        a = a.detach().cpu().numpy()
    return torch.as_tensor(np.array(a, copy=True), dtype=dtype or torch.get_default_dtype())


def _value(arr: Any) -> float | torch.Tensor:
    """A float if every neuron has the same value, else the per-neuron tensor."""
    a = np.asarray(arr, dtype=np.float64)
    if a.size and np.all(a == a.flat[0]):
        return float(a.flat[0])
    return torch.as_tensor(a)


def _shape(*values: Any) -> tuple[int, ...] | None:
    """The per-neuron shape when any value differs between neurons, else ``None`` (shared values)."""
    for v in values:
        if isinstance(v, torch.Tensor):
            return tuple(v.shape)
    return None


def _is_one(x: np.ndarray) -> bool:
    return bool(np.all(np.abs(np.asarray(x, np.float64) - 1.0) <= ATOL))


def _gain(*factors: Any) -> np.ndarray:
    """The product of ``factors`` (float64); exactly 1 where it is 1 up to round-off (float32 writers)."""
    g = np.ones(())
    for f in factors:
        g = g * np.asarray(f, np.float64)
    return np.where(np.abs(g - 1.0) <= ATOL, 1.0, g)


def _zero(key: str, node: Any, field: str) -> None:
    value = getattr(node, field, None)
    if value is not None and np.any(np.asarray(value) != 0):
        raise ValueError(
            f"import_: node {key!r} ({type(node).__name__}) has a nonzero {field}; spikekit's neurons rest "
            "and reset at 0"
        )


def _decay(key: str, node: Any, tau: Any, dt: float, name: str = "tau") -> np.ndarray:
    tau = np.asarray(tau, np.float64)
    if np.any(~np.isfinite(tau)) or np.any(tau <= 0):
        raise ValueError(f"import_: node {key!r} ({type(node).__name__}) needs finite {name} > 0")
    beta = np.array(1.0 - dt / tau, dtype=np.float64)
    beta[np.abs(beta) <= ATOL] = 0.0
    if np.any(beta < 0):
        raise ValueError(
            f"import_: node {key!r} ({type(node).__name__}) has {name} = {float(tau.min()):.3g} < "
            f"dt = {dt:g}; a forward-Euler step that long is unstable. Pass the dt the graph was written for "
            "(import_(graph, dt=...))"
        )
    return beta


def _check_values(key: str, node: Any) -> None:
    """Every array a node holds must be numbers, and finite: a graph with a NaN weight or threshold imports
    to a module that computes NaN."""
    for field, value in vars(node).items():
        if field in ("metadata", "input_type", "output_type") or value is None or isinstance(value, str):
            continue
        if not isinstance(value, np.ndarray | list | tuple | int | float | np.number):
            continue
        try:
            arr = np.asarray(value)
        except ValueError as err:  # a ragged list
            raise ValueError(
                f"import_: node {key!r} ({type(node).__name__}): {field} is not an array ({err})"
            ) from err
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"import_: node {key!r} ({type(node).__name__}): {field} must hold numbers, got {arr.dtype} "
                "values"
            )
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            n_nan, n_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
            raise ValueError(
                f"import_: node {key!r} ({type(node).__name__}): {field} must be finite, got {n_nan} NaN and "
                f"{n_inf} infinite value(s) of {arr.size}"
            )


def _same_shape(key: str, node: Any, *fields: str) -> tuple[int, ...]:
    """The per-neuron shape of a neuron node: its parameters broadcast together (a 0-d or ``(1,)`` value, as
    Norse and snnTorch write shared parameters, stands for every neuron). Parameters that do not broadcast
    are refused."""
    shapes = {f: np.shape(getattr(node, f)) for f in fields if getattr(node, f, None) is not None}
    try:
        return tuple(np.broadcast_shapes(*shapes.values())) if shapes else ()
    except ValueError:
        listing = ", ".join(f"{f} {shape}" for f, shape in shapes.items())
        raise ValueError(
            f"import_: node {key!r} ({type(node).__name__}): its parameters must have one shape (one value "
            f"per neuron) or broadcast to one, got {listing}"
        ) from None


def _arr(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float64 array of the node's per-neuron ``shape`` (broadcast)."""
    return np.array(np.broadcast_to(np.asarray(value, np.float64), shape), dtype=np.float64)


# --- the time step ---------------------------------------------------------------------------------------
DEFAULT_DT = 1e-4  # seconds per step assumed when nothing in the graph says (snnTorch's and SpikingJelly's)
_LEAKY = (nir.LIF, nir.LI, nir.CubaLIF, nir.CubaLI)
_INTEGRATORS = (nir.IF, nir.I)


def _snap(x: float) -> float:
    """``x`` rounded to one significant decimal digit (``1e-4``, ``2e-3``, ``1``) when it lies within 1e-6
    of one: a step length computed from a float32 writer's ``tau / r`` is its ``dt`` up to round-off."""
    if not math.isfinite(x) or x <= 0:
        return x
    e = math.floor(math.log10(x))
    m = x / 10.0**e
    d = round(m)
    if abs(m - d) <= 1e-6 * m:
        return float(f"{d}e{e}") if d < 10 else float(f"1e{e + 1}")
    return x


def _common(values: np.ndarray) -> float | None:
    """The one value every neuron has (within 1e-6 relative), or ``None``."""
    v = np.asarray(values, np.float64).ravel()
    if v.size == 0 or not np.all(np.isfinite(v)) or np.any(v <= 0):
        return None
    ref = float(np.median(v))
    return ref if np.all(np.abs(v - ref) <= 1e-6 * ref) else None


def _not_one(x: Any) -> bool:
    return not _is_one(np.asarray(x, np.float64))


def node_dt(node: Any) -> float | None:
    """The step length a neuron node's own parameters imply, or ``None`` when they leave it open.

    - ``IF``/``I``: ``1 / r`` (one unit of input adds ``r dt = 1`` to the membrane: Sinabs and Norse write
      ``r = 1`` for ``v += x``, SpikingJelly and spikekit ``r = 1 / dt``);
    - ``LIF``/``LI`` with ``r > 1``: ``tau / r`` (the unit-gain form ``r = tau / dt`` of snnTorch, spikekit's
      ``LI`` and SpikingJelly's ``decay_input=False``);
    - ``CubaLIF``/``CubaLI``: ``tau_mem / r`` when ``r > 1``, ``tau_syn / w_in`` when ``w_in > 1`` (both
      must agree);
    - a leaky node with ``r = 1`` (and ``w_in = 1``): ``None``.

    The value is rounded to one significant digit when within 1e-6 of one (float32 writers).
    """
    with np.errstate(all="ignore"):
        if isinstance(node, _INTEGRATORS):
            r = _common(node.r)
            return None if r is None else _snap(1.0 / r)
        pairs = []
        if isinstance(node, nir.LIF | nir.LI):
            pairs.append((node.tau, node.r))
        elif isinstance(node, nir.CubaLIF | nir.CubaLI):
            pairs += [(node.tau_mem, node.r), (node.tau_syn, getattr(node, "w_in", 1.0))]
        found = set()
        for tau, gain in pairs:
            g = np.asarray(gain, np.float64)
            if not _not_one(g) or np.any(g <= 1):
                continue
            dt = _common(np.asarray(tau, np.float64) / g)
            if dt is None:
                return None
            found.add(_snap(dt))
        return found.pop() if len(found) == 1 else None


def _nodes(graph: Any) -> Iterator[tuple[str, Any]]:
    for key, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            yield from ((f"{key}.{k}", n) for k, n in _nodes(node))
        else:
            yield key, node


def _taus(node: Any) -> np.ndarray:
    if isinstance(node, nir.LIF | nir.LI):
        return np.asarray(node.tau, np.float64)
    return np.minimum(np.asarray(node.tau_mem, np.float64).min(), np.asarray(node.tau_syn, np.float64).min())


def plan_dt(graph: Any, dt: float | None) -> dict[int, float]:
    """The step length each neuron node of ``graph`` is imported with, by ``id(node)``.

    ``dt`` given (``import_(graph, dt=...)``, or the graph's ``spikekit.dt``/``dt`` metadata): every node.
    Otherwise each node's own (:func:`node_dt`); a leaky node with ``r = 1`` takes the one step the graph's
    other leaky nodes imply, else the one its integrators imply, if no longer than its time constants; else
    it is ambiguous: ``1`` (time counted in steps, Sinabs' convention) when every time constant is at least
    1, else :data:`DEFAULT_DT`, with a warning naming the nodes and the step assumed.
    """
    neurons = [(k, n) for k, n in _nodes(graph) if isinstance(n, _LEAKY + _INTEGRATORS)]
    if dt is not None:
        return {id(n): dt for _, n in neurons}
    own = {id(n): node_dt(n) for _, n in neurons}
    leaky = {own[id(n)] for _, n in neurons if isinstance(n, _LEAKY) and own[id(n)] is not None}
    integ = {own[id(n)] for _, n in neurons if isinstance(n, _INTEGRATORS) and own[id(n)] is not None}
    graph_dt = leaky.pop() if len(leaky) == 1 else None
    if graph_dt is None and not leaky and len(integ) == 1:
        graph_dt = integ.pop()
    plan: dict[int, float] = {}
    assumed: dict[float, list[str]] = {}
    for key, n in neurons:
        d = own[id(n)]
        if d is None:
            with np.errstate(all="ignore"):
                shortest = float(np.min(_taus(n))) if isinstance(n, _LEAKY) else math.inf
            if graph_dt is not None and graph_dt <= shortest:
                d = graph_dt
            else:
                d = 1.0 if shortest >= 1.0 else DEFAULT_DT
                assumed.setdefault(d, []).append(f"{key!r} ({type(n).__name__})")
        plan[id(n)] = d
    for d, keys in assumed.items():
        why = "time constants counted in steps, as Sinabs writes them" if d == 1.0 else "snnTorch's default"
        warnings.warn(
            f"import_: node(s) {', '.join(keys)} have r = 1 (and w_in = 1), which leaves the time step open, "
            f"and the rest of the graph does not fix it; assumed dt = {d:g} ({why}). Pass import_(graph, "
            "dt=...) if the graph was written for another step (Norse runs its graphs at dt = 1e-3)",
            stacklevel=4,
        )
    return plan


# --- stateless nodes -----------------------------------------------------------------------------------
def _affine(key, node, ctx) -> nn.Module:
    w = np.asarray(node.weight)
    if w.ndim != 2:
        raise ValueError(f"import_: node {key!r} ({type(node).__name__}) has a {w.ndim}-d weight; 2-d only")
    if w.size == 0:
        raise ValueError(
            f"import_: node {key!r} ({type(node).__name__}) has an empty weight of shape {w.shape}"
        )
    bias = getattr(node, "bias", None)
    if bias is not None and np.shape(bias) != (w.shape[0],):
        raise ValueError(
            f"import_: node {key!r} ({type(node).__name__}): its bias must have shape ({w.shape[0]},), one "
            f"value per output of its weight {w.shape}, got {np.shape(bias)}"
        )
    layer = nn.Linear(w.shape[1], w.shape[0], bias=bias is not None, dtype=ctx["dtype"])
    with torch.no_grad():
        layer.weight.copy_(_t(w, ctx["dtype"]))
        if bias is not None:
            layer.bias.copy_(_t(bias, ctx["dtype"]))
    return layer


def _conv(key, node, ctx) -> nn.Module:
    w = np.asarray(node.weight)
    cls = nn.Conv2d if isinstance(node, nir.Conv2d) else nn.Conv1d
    dims = 4 if cls is nn.Conv2d else 3
    if w.ndim != dims or w.size == 0:
        raise ValueError(
            f"import_: node {key!r} ({type(node).__name__}) needs a non-empty {dims}-d weight "
            f"[out, in / groups, kernel...], got shape {w.shape}"
        )
    if node.bias is not None and np.shape(node.bias) != (w.shape[0],):
        raise ValueError(
            f"import_: node {key!r} ({type(node).__name__}): its bias must have shape ({w.shape[0]},), got "
            f"{np.shape(node.bias)}"
        )
    pad = node.padding if isinstance(node.padding, str) else tuple(np.atleast_1d(node.padding).tolist())
    conv = cls(
        w.shape[1] * int(node.groups),
        w.shape[0],
        tuple(w.shape[2:]),
        stride=tuple(np.atleast_1d(node.stride).tolist()),
        padding=pad,
        dilation=tuple(np.atleast_1d(node.dilation).tolist()),
        groups=int(node.groups),
        bias=True,
        dtype=ctx["dtype"],
    )
    with torch.no_grad():
        conv.weight.copy_(_t(w, ctx["dtype"]))
        conv.bias.copy_(_t(node.bias, ctx["dtype"]) if node.bias is not None else torch.zeros(w.shape[0]))
    return TimeDistributed(conv)


def _flatten(key, node, ctx) -> nn.Module:
    """NIR counts ``start_dim``/``end_dim`` without the batch: a dim >= 0 moves one place right (past the
    batch that :class:`~spikekit.nn.TimeDistributed` gives each step); a negative one counts from the end,
    the same with or without the batch."""
    start, end = int(node.start_dim), int(node.end_dim)
    return TimeDistributed(nn.Flatten(start + 1 if start >= 0 else start, end + 1 if end >= 0 else end))


def _pool(key, node, ctx) -> nn.Module:
    k, s, p = (
        tuple(np.atleast_1d(v).astype(int).tolist()) for v in (node.kernel_size, node.stride, node.padding)
    )
    if isinstance(node, nir.AvgPool2d):
        return TimeDistributed(nn.AvgPool2d(k, s, p))
    return TimeDistributed(SumPool2d(k, s, p))


# --- neurons -------------------------------------------------------------------------------------------
def neuron_for(form: str, node_type: str) -> type:
    """The spikekit neuron class that imports a NIR ``node_type`` node (e.g. ``"LIF"``) of ``form``.

    The first registered spec with ``nir == form`` and ``node_type`` in its ``nir_nodes``; its module is
    ``spikekit.nn.neuron.NEURONS[spec.name]``.
    """
    for name in SPECS:
        spec = SPECS[name]
        if spec.nir == form and node_type in spec.nir_nodes and name in NEURONS:
            return NEURONS[name]
    raise ValueError(f"import_: no spikekit neuron imports NIR's {node_type} (as a {form!r} neuron)")


def _restorer(meta: dict[str, Any]) -> NeuronSpec | None:
    """The spec the node's metadata names (``"spikekit.module"``) when it can rebuild itself from the node."""
    name = str(meta.get("spikekit.module", ""))
    if name not in SPECS or name not in NEURONS:
        return None
    spec = SPECS[name]
    return spec if spec.nir == "leaky" and spec.nir_restore is not None else None


def _dt(ctx: dict[str, Any], node: Any) -> float:
    return ctx["plan"].get(id(node), ctx["dt"] if ctx["dt"] is not None else DEFAULT_DT)


def _neuron(cls: type, **kwargs: Any) -> nn.Module:
    """``cls(**kwargs)``, per-neuron values as tensors, with a ``shape`` when any differs between neurons."""
    values = {k: _value(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    return cls(**values, shape=_shape(*values.values()))


def _if(key, node, ctx) -> nn.Module:
    """``dv/dt = r I``: ``v += (r dt) x``; spikekit's IF on the membrane ``v / (r dt)``."""
    shape = _same_shape(key, node, "r", "v_threshold", "v_reset")
    gain = _gain(_arr(node.r, shape), _dt(ctx, node))
    cls = neuron_for("leaky", type(node).__name__)
    if isinstance(node, nir.I):
        return Membrane(cls(threshold=1.0, reset="none"), None if _is_one(gain) else _t(gain))
    _zero(key, node, "v_reset")
    return _neuron(cls, threshold=_arr(node.v_threshold, shape) / gain, reset="zero")


def _lif(key, node, ctx) -> nn.Module:
    """``tau dv/dt = v_leak - v + r I``: ``v = beta v + g x``, ``beta = 1 - dt/tau``, ``g = r dt / tau``."""
    dt = _dt(ctx, node)
    shape = _same_shape(key, node, "tau", "r", "v_leak", "v_threshold", "v_reset")
    _zero(key, node, "v_leak")
    tau = _arr(node.tau, shape)
    beta = _decay(key, node, tau, dt)
    gain = _gain(_arr(node.r, shape), dt, 1.0 / tau)
    cls = neuron_for("leaky", type(node).__name__)
    if isinstance(node, nir.LI):
        if np.any(beta == 0):
            raise ValueError(f"import_: node {key!r} (LI) has tau = dt, a membrane with no memory")
        return Membrane(_neuron(cls, beta=beta, reset="none"), None if _is_one(gain) else _t(gain))
    _zero(key, node, "v_reset")
    v_threshold = _arr(node.v_threshold, shape)
    thr = v_threshold / gain
    if np.all(beta == 0):  # tau = dt: the membrane is forgotten every step, a threshold on g x
        return Threshold(_t(thr) if not np.all(thr == thr.flat[0]) else float(thr.flat[0]))
    if np.any(beta == 0):
        raise ValueError(f"import_: node {key!r} (LIF) mixes tau = dt and tau > dt")
    meta = node.metadata or {}
    spec = _restorer(meta)
    if spec is not None and _is_one(_arr(node.r, shape)):
        return _restore(spec, beta, v_threshold, meta)
    return _neuron(cls, beta=beta, threshold=thr, reset="zero")


def _restore(spec: NeuronSpec, beta: np.ndarray, v_threshold: np.ndarray, meta: dict) -> nn.Module:
    """The neuron ``spec`` names, written as NIR's LIF with ``r = 1``, rebuilt by its ``nir_restore``."""
    values = {k[len("spikekit.") :]: v for k, v in meta.items() if str(k).startswith("spikekit.")}
    kwargs, tensors = spec.nir_restore(torch.as_tensor(beta), torch.as_tensor(v_threshold), values)
    kwargs = {k: _value(v) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    tensors = {k: _value(v) for k, v in tensors.items()}
    shape = _shape(*kwargs.values(), *tensors.values())
    neuron = NEURONS[spec.name](**kwargs, reset="zero", shape=shape)
    with torch.no_grad():
        for name, v in tensors.items():
            target = getattr(neuron, name)
            target.copy_(torch.as_tensor(v, dtype=target.dtype).expand_as(target))
    return neuron


def _cuba_parts(key: str, node: Any, ctx: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``alpha``, ``beta`` and the total input gain of a CubaLIF/CubaLI node (float64, per neuron)."""
    dt = _dt(ctx, node)
    shape = _same_shape(key, node, "tau_syn", "tau_mem", "r", "w_in", "v_leak", "v_threshold", "v_reset")
    _zero(key, node, "v_leak")
    tau_syn, tau_mem = _arr(node.tau_syn, shape), _arr(node.tau_mem, shape)
    alpha = _decay(key, node, tau_syn, dt, "tau_syn")
    beta = _decay(key, node, tau_mem, dt, "tau_mem")
    if np.any(alpha == 0) or np.any(beta == 0):
        raise ValueError(f"import_: node {key!r} ({type(node).__name__}) has a time constant equal to dt")
    w_in = _arr(getattr(node, "w_in", 1.0), shape)
    gain = _gain(_gain(w_in, dt, 1.0 / tau_syn), _gain(_arr(node.r, shape), dt, 1.0 / tau_mem))
    return alpha, beta, gain


def _cuba(key, node, ctx) -> nn.Module:
    """Current ``i = alpha i + (w_in dt / tau_syn) x``; membrane ``v = beta v + (r dt / tau_mem) i``."""
    alpha, beta, gain = _cuba_parts(key, node, ctx)
    cls = neuron_for("cuba", type(node).__name__)
    if isinstance(node, nir.CubaLI):
        return Membrane(
            _neuron(cls, alpha=alpha, beta=beta, reset="none"), None if _is_one(gain) else _t(gain)
        )
    _zero(key, node, "v_reset")
    shape = np.shape(alpha)
    return _neuron(cls, alpha=alpha, beta=beta, threshold=_arr(node.v_threshold, shape) / gain, reset="zero")


def _recurrent(key: str, graph: Any, ctx: dict[str, Any]) -> nn.Module:
    """The subgraph ``input -> N -> output`` with ``N -> Linear/Affine -> N``, ``N`` a LIF or CubaLIF: a
    recurrent layer whose feedback carries last step's spikes. A LIF with a bias-free feedback becomes
    spikekit's RLIF; a CubaLIF (the NIR paper's Braille RNN, snnTorch's RSynaptic), or a feedback with a
    bias, a :class:`~spikekit.interop.layers.Recurrent` around the node's neuron."""
    kinds = {type(n) for n in graph.nodes.values()}
    cells = [k for k, n in graph.nodes.items() if isinstance(n, nir.LIF | nir.CubaLIF)]
    dense = [k for k, n in graph.nodes.items() if isinstance(n, nir.Linear | nir.Affine)]
    ok = len(graph.nodes) == 4 and {nir.Input, nir.Output} <= kinds and len(cells) == 1 and len(dense) == 1
    if ok:
        cell, w = cells[0], dense[0]
        ok = {(cell, w), (w, cell)} <= set(map(tuple, graph.edges))
    if not ok:
        raise ValueError(
            f"import_: subgraph {key!r} has a cycle that is not a recurrent LIF or CubaLIF (input -> N -> "
            "output with N -> Linear/Affine -> N); spikekit imports only that recurrent pattern"
        )
    node, rec = graph.nodes[cell], graph.nodes[w]
    _check_values(key, node)
    _check_values(key, rec)
    weight = np.asarray(rec.weight, np.float64)
    bias = np.asarray(rec.bias, np.float64) if isinstance(rec, nir.Affine) else None
    if bias is not None and not np.any(bias != 0):
        bias = None
    fields = [f for f in ("tau", "tau_mem", "v_threshold") if hasattr(node, f)]
    n = int(np.prod(_same_shape(key, node, *fields)))
    if weight.ndim != 2 or weight.shape[0] != weight.shape[1] or (n > 1 and weight.shape[0] != n):
        raise ValueError(
            f"import_: subgraph {key!r}: the recurrent weight must be square [N, N] for the {n} neuron(s) of "
            f"{cell!r}, got shape {weight.shape}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(
            f"import_: subgraph {key!r}: the recurrent bias must have shape ({weight.shape[0]},), got "
            f"{bias.shape}"
        )
    if isinstance(node, nir.LIF) and bias is None:
        return _rlif(key, node, weight, ctx)
    size = weight.shape[0]
    cell_module = _lif(key, node, ctx) if isinstance(node, nir.LIF) else _cuba(key, node, ctx)
    if not isinstance(cell_module, Neuron):
        raise ValueError(f"import_: subgraph {key!r}: its {type(node).__name__} has tau = dt (no memory)")
    return Recurrent(
        cell_module,
        _t(weight, ctx["dtype"]),
        None if bias is None else _t(bias, ctx["dtype"]),
        size,
    )


def _rlif(key: str, node: Any, weight: np.ndarray, ctx: dict[str, Any]) -> nn.Module:
    dt = _dt(ctx, node)
    cls = neuron_for("recurrent", type(node).__name__)
    shape = _same_shape(key, node, "tau", "r", "v_leak", "v_threshold", "v_reset")
    _zero(key, node, "v_leak")
    _zero(key, node, "v_reset")
    tau = _arr(node.tau, shape)
    beta = _decay(key, node, tau, dt)
    gain = _gain(_arr(node.r, shape), dt, 1.0 / tau)
    b, thr = _value(beta), _value(_arr(node.v_threshold, shape) / gain)
    if isinstance(b, torch.Tensor) or isinstance(thr, torch.Tensor):
        raise ValueError(
            f"import_: node {key!r}: spikekit's {cls.__name__} shares one beta and one threshold per layer"
        )
    diagonal = np.array_equal(weight, np.diag(np.diag(weight)))
    n = weight.shape[0]
    neuron = cls(n, beta=b, threshold=thr, all_to_all=not diagonal, reset="zero")
    with torch.no_grad():
        neuron.weight.copy_(_t(np.diag(weight) if diagonal else weight, neuron.weight.dtype))
    return neuron


def _delay(key, node, ctx) -> nn.Module:
    """``y(t) = x(t - delay)``, delays in seconds: ``Delay`` of ``delay / dt`` steps (fractional ones
    interpolate linearly), one per value of a sample, ``max_delay`` the largest rounded up (at least 1).
    ``dt``: ``import_(graph, dt=...)`` or the graph's metadata, else the one step the graph's neuron nodes
    use, else :data:`DEFAULT_DT`."""
    delay = np.asarray(node.delay, np.float64)
    if delay.size == 0 or np.any(delay < 0):
        raise ValueError(f"import_: node {key!r} (Delay) needs a non-empty delay >= 0 (seconds)")
    dt = ctx["dt"]
    if dt is None:
        steps = set(ctx["plan"].values())
        dt = steps.pop() if len(steps) == 1 else DEFAULT_DT
    d = delay / dt
    near = np.round(d)
    d = np.where(np.abs(d - near) <= ATOL * np.maximum(1.0, near), near, d)  # 3e-4 / 1e-4 is 3, not 2.9999...
    max_delay = max(1, int(math.ceil(float(d.max()))))
    try:  # spikekit writes its max_delay (the clamp of a learnable delay)
        max_delay = max(max_delay, int((node.metadata or {}).get("spikekit.max_delay", 0)))
    except (TypeError, ValueError):
        pass
    return Delay(tuple(delay.shape) or (1,), max_delay, init=_t(d.reshape(delay.shape or (1,)), ctx["dtype"]))


MAPPERS = {
    nir.Affine: _affine,
    nir.Linear: _affine,
    nir.Conv1d: _conv,
    nir.Conv2d: _conv,
    nir.Flatten: _flatten,
    nir.AvgPool2d: _pool,
    nir.SumPool2d: _pool,
    nir.Scale: lambda key, node, ctx: Scale(_t(node.scale, ctx["dtype"])),
    nir.Threshold: lambda key, node, ctx: Threshold(_value(node.threshold)),
    nir.IF: _if,
    nir.I: _if,
    nir.LIF: _lif,
    nir.LI: _lif,
    nir.CubaLIF: _cuba,
    nir.CubaLI: _cuba,
    nir.Delay: _delay,
}
SUPPORTED = sorted(["Input", "Output", "NIRGraph"] + [c.__name__ for c in MAPPERS])


# --- graphs --------------------------------------------------------------------------------------------
def _check_types(graph: Any, where: str = "") -> None:
    for key, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            _check_types(node, f"{where}{key}.")
        elif type(node) not in MAPPERS and not isinstance(node, nir.Input | nir.Output):
            raise ValueError(
                f"import_: node {where + key!r} has type {type(node).__name__}, which spikekit cannot "
                f"import; supported node types: {', '.join(SUPPORTED)}"
            )


def _order(nodes: list[str], edges: list[tuple[str, str]], start: str) -> list[str] | None:
    """A topological order of ``nodes`` (Kahn), or ``None`` if there is a cycle."""
    indeg = {n: 0 for n in nodes}
    for _, b in edges:
        indeg[b] += 1
    ready, order = [n for n in nodes if indeg[n] == 0], []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for a, b in edges:
            if a == n:
                indeg[b] -= 1
                if indeg[b] == 0:
                    ready.append(b)
    return order if len(order) == len(nodes) else None


def _group_recurrent(graph: Any) -> Any:
    """Wrap each top-level 2-cycle LIF/CubaLIF <-> Linear/Affine (as snnTorch writes it unwrapped, and as nir
    flattens a recurrent subgraph on reading: the Braille RNN's ``lif1.lif``/``lif1.w_rec``) in a subgraph."""
    nodes, edges = dict(graph.nodes), [tuple(e) for e in graph.edges]
    for a, b in list(edges):
        if (b, a) not in edges or a not in nodes or b not in nodes:
            continue
        if isinstance(nodes[a], nir.LIF | nir.CubaLIF) and isinstance(nodes[b], nir.Linear | nir.Affine):
            if [e for e in edges if e[0] == b] == [(b, a)] and [e for e in edges if e[1] == b] == [(a, b)]:
                n = np.asarray(nodes[b].weight).shape[0]
                sub = nir.NIRGraph(
                    nodes={
                        "input": nir.Input(np.array([n])),
                        "lif": nodes[a],
                        "w_rec": nodes[b],
                        "output": nir.Output(np.array([n])),
                    },
                    edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
                    type_check=False,
                )
                nodes[a] = sub
                del nodes[b]
                edges = [e for e in edges if b not in e]
    return nodes, edges


def _reach(start: str, edges: list[tuple[str, str]], forward: bool = True) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        n = todo.pop()
        for a, b in edges:
            src, dst = (a, b) if forward else (b, a)
            if src == n and dst not in seen:
                seen.add(dst)
                todo.append(dst)
    return seen


def _check_connected(nodes: dict[str, Any], edges: list[tuple[str, str]], start: str, end: str) -> None:
    """Every node lies on a path from the Input to the Output: a node nothing feeds would run on no input, and
    one that feeds nothing would be dropped without a word."""
    if not any(b == end for _, b in edges):
        raise ValueError(f"import_: the Output node {end!r} has no incoming edge; nothing would be returned")
    fed, feeding = _reach(start, edges), _reach(end, edges, forward=False)
    for key in nodes:
        if key not in fed:
            raise ValueError(
                f"import_: node {key!r} ({type(nodes[key]).__name__}) cannot be reached from the Input node "
                f"{start!r}; every node must lie on a path from the Input to the Output"
            )
        if key not in feeding:
            raise ValueError(
                f"import_: node {key!r} ({type(nodes[key]).__name__}) does not lead to the Output node "
                f"{end!r}; every node must lie on a path from the Input to the Output"
            )


def _safe(name: str, taken: set[str]) -> str:
    base = name.replace(".", "_") or "node"
    out = base
    while out in taken:
        out += "_"
    taken.add(out)
    return out


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Build modules with ``dtype`` as torch's default, so that every constant a constructor stores (decays,
    thresholds, gains) is made from the float64 numbers in that dtype, never rounded through float32."""
    old = torch.get_default_dtype()
    try:
        torch.set_default_dtype(dtype)
    except (TypeError, RuntimeError):  # a dtype torch cannot use as default: built in the old, then cast
        yield
        return
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def import_graph(graph: Any, dt: float | None, dtype: torch.dtype | None = None) -> nn.Module:
    """The module for ``graph`` (see :func:`spikekit.interop.nir.import_`), its tensors in ``dtype``.

    ``dt``: the step for every node, or ``None`` to derive each node's from the graph (:func:`plan_dt`)."""
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(
            f"import_: graph must be a nir.NIRGraph (or a path to a .nir file), got {type(graph).__name__}"
        )
    _check_types(graph)
    for key, node in _nodes(graph):
        if isinstance(node, _LEAKY + _INTEGRATORS):
            _check_values(key, node)
    ctx = {"dt": dt, "dtype": dtype or torch.get_default_dtype(), "plan": plan_dt(graph, dt)}
    with _default_dtype(ctx["dtype"]):
        return _build(graph, ctx).to(ctx["dtype"])


def _build(graph: Any, ctx: dict[str, Any]) -> nn.Module:
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(
            f"import_: graph must be a nir.NIRGraph (or a path to a .nir file), got {type(graph).__name__}"
        )
    _check_types(graph)
    nodes, edges = _group_recurrent(graph)
    inputs = [k for k, n in nodes.items() if isinstance(n, nir.Input)]
    outputs = [k for k, n in nodes.items() if isinstance(n, nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(
            f"import_: the graph needs exactly one Input and one Output node, has inputs {inputs} and "
            f"outputs {outputs}"
        )
    for a, b in edges:
        if a not in nodes or b not in nodes:
            raise ValueError(f"import_: edge ({a!r}, {b!r}) names a node the graph does not have")
    _check_connected(nodes, edges, inputs[0], outputs[0])
    order = _order(list(nodes), edges, inputs[0])
    if order is None:
        raise ValueError(
            "import_: the graph has a cycle outside a recurrent LIF subgraph; spikekit imports feed-forward "
            "graphs and recurrent LIF layers (LIF <-> Linear)"
        )
    modules: dict[str, nn.Module] = {}
    for key in order:
        node = nodes[key]
        if isinstance(node, nir.Input | nir.Output):
            continue
        try:
            if isinstance(node, nir.NIRGraph):
                has_cycle = _order(list(node.nodes), [tuple(e) for e in node.edges], "") is None
                modules[key] = _recurrent(key, node, ctx) if has_cycle else _build(node, ctx)
            else:
                _check_values(key, node)
                modules[key] = MAPPERS[type(node)](key, node, ctx)
        except ValueError as err:
            msg = str(err)
            raise ValueError(
                msg if msg.startswith("import_") else f"import_: node {key!r} ({type(node).__name__}): {msg}"
            ) from err
    chain = [k for k in order if k in modules]
    is_chain = len(edges) == len(chain) + 1 and all(
        (a, b) in edges for a, b in zip([inputs[0], *chain], [*chain, outputs[0]], strict=True)
    )
    taken: set[str] = set()
    names = {k: _safe(k, taken) for k in chain}
    if is_chain:
        return nn.Sequential(OrderedDict((names[k], modules[k]) for k in chain))
    out_src = [a for a, b in edges if b == outputs[0]]
    renamed = [(names.get(a, a), names.get(b, b)) for a, b in edges if b != outputs[0]]
    if len(out_src) != 1:
        raise ValueError(f"import_: the Output node must have exactly one source, has {out_src}")
    return GraphModule(
        {names[k]: modules[k] for k in chain},
        renamed,
        inputs[0],
        names[out_src[0]],
        [names[k] for k in chain],
    )
