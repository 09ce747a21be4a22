r"""Spikes, synaptic operations and an energy estimate per layer: :func:`profile`.

``profile(model, x)`` runs ``model(x)`` once (without gradients, in the model's current mode: call
``.eval()`` first for inference numbers) and counts, per layer and **per sample** (totals over the batch
divided by its size ``B``):

- **neuron layers** (every :class:`~spikekit.nn.Neuron`, through :func:`spikekit.record`, and
  :class:`~spikekit.nn.LinearLIF`): spikes (non-zero outputs, graded ones included), firing rate (the
  share of (neuron, step) pairs with a non-zero output, as everywhere in spikekit) and membrane updates
  (neurons x steps);
- **connection layers** (``nn.Linear``, ``nn.Conv1d/2d/3d``, the recurrent weight of
  :class:`~spikekit.nn.RLIF`, the Linear of a ``LinearLIF``, through forward hooks on what each one
  receives): the **synaptic operations**. Each non-zero input element triggers one operation per
  non-zero weight it meets, i.e. per synapse of its *fan-out*:

  .. math::
      \text{ops} = \sum_{\text{calls}}\ \sum_{j:\ x_j \ne 0} \#\{i : W_{ij} \ne 0\}

  For a Linear layer the fan-out of an input is ``out_features``. For a convolution it is computed
  exactly, position by position (borders, stride, padding, dilation, groups and padding mode included):
  the fan-out map is the gradient of ``sum(conv(x, W != 0))`` with respect to ``x``, a transposed
  convolution of ones. The dense recurrence of ``RLIF`` (``s[t-1] @ W.T``) costs the previous step's
  spikes x ``N``; the one-to-one one, the previous step's spikes. Biases are not counted (as NeuroBench).
  A layer whose input holds only ``{-1, 0, 1}`` (spikes) performs **accumulates** (ACs: an addition of
  the weight); any other input (images, currents, graded spikes) performs **multiply-accumulates** (MACs);
- **pooling layers** (``nn.AvgPool1d/2d/3d``, ``nn.MaxPool1d/2d/3d``, when ``pooling=True``): one AC per
  non-zero input element and window that covers it (a sum-pool's additions, or a max-pool's comparisons;
  the average's constant ``1/k`` folds into the next layer's weights). The window count is exact at the
  borders and with ``ceil_mode``. NeuroBench counts no pooling: ``pooling=False`` gives its count.

The vocabulary and the counting rules are NeuroBench's (Yik et al., "The neurobench framework for
benchmarking neuromorphic computing algorithms and systems", Nature Communications 16, 1545, 2025;
arXiv:2304.04640): ``synaptic_operations`` is ``{"Effective_MACs", "Effective_ACs", "Dense"}`` per sample
(effective: non-zero input x non-zero weight; ``Dense``: every input and weight taken as non-zero, in
every call, i.e. the operations of a dense implementation of the same network over the same steps);
``activation_sparsity`` is the share of zero outputs over all neuron layers, steps and samples;
``footprint`` the bytes of parameters and buffers; ``connection_sparsity`` the share of zero weights in
the connection layers. Other layers (BatchNorm, Dropout, the neurons' own updates) are not counted as
synaptic operations.

**The equivalent ANN** is the same connection and pooling layers run on dense activations once per sample
for static input (once per input step for a sequence ``[T, B, ...]``): each layer's dense operations per
call, times ``min(its calls per sample, input steps)``. Its weighted layers perform MACs, its pooling
additions (ACs). A direct-encoded first layer, which the SNN runs once per sample, costs the same in both;
a layer the SNN runs at each of ``T`` steps costs it ``T`` sparse calls against the ANN's one dense call.

**Energy** is an estimate of the arithmetic alone (no memory access, no neuron update, no data movement):
``E = ACs x E_AC + MACs x E_MAC`` per sample. The default energies are 32-bit floating point in a 45 nm
process (M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, pp. 10-14):
add 0.9 pJ, multiply 3.7 pJ, so ``E_AC = 0.9 pJ`` and ``E_MAC = 3.7 + 0.9 = 4.6 pJ``. The same paper gives
32-bit integer add 0.1 pJ and multiply 3.1 pJ (``ac_pj=0.1, mac_pj=3.2``), 8-bit integer add 0.03 pJ and
multiply 0.2 pJ (``ac_pj=0.03, mac_pj=0.23``).

Layers computed outside a module call (``torch.nn.functional`` in a ``forward``, ``SeedSNN(input=
"streamed")``'s fused flicker-and-Linear) are invisible to the hooks and not counted.

Example:
    >>> prof = sk.analysis.profile(model.eval(), images)
    >>> print(prof.table())
    >>> prof.synaptic_operations          # {"Effective_MACs": ..., "Effective_ACs": ..., "Dense": ...}
    >>> prof.energy_pj, prof.ann_energy_pj
    >>> json.dumps(prof.to_dict())
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._io import format_table
from ..nn import RLIF, LinearLIF, Neuron, record

__all__ = ["profile", "Profile", "ConnectionProfile", "NeuronProfile", "HOROWITZ_45NM"]

HOROWITZ_45NM = {"ac_pj": 0.9, "mac_pj": 4.6}
"""Energy per operation, 32-bit float at 45 nm (Horowitz, ISSCC 2014): add 0.9 pJ; multiply 3.7 pJ."""

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_POOL_DIMS = ((nn.AvgPool1d, nn.MaxPool1d), (nn.AvgPool2d, nn.MaxPool2d), (nn.AvgPool3d, nn.MaxPool3d))
_POOL = tuple(kind for kinds in _POOL_DIMS for kind in kinds)


@dataclass(frozen=True)
class ConnectionProfile:
    """One connection or pooling layer; every count is per sample (summed over its calls and steps).

    Attributes:
        name: the module's name in ``model.named_modules()`` (``"<rlif>.recurrent"`` for an RLIF's weight).
        kind: ``"linear"``, ``"conv"``, ``"recurrent"`` or ``"pool"``.
        module: the module's class name.
        op: ``"AC"`` (spike input, or pooling) or ``"MAC"`` (any other input).
        calls: how many times per sample it ran (``T`` in a time-stepped layer, 1 in a direct-encoded one).
        inputs: input elements it received; ``events``: the non-zero ones.
        ops: effective operations (non-zero input x non-zero weight), of type ``op``.
        dense: the same with every input and weight non-zero (NeuroBench's ``Dense``).
        fanout: mean fan-out of an input element (``dense / inputs``).
        ann_ops: the equivalent ANN's operations (MACs, additions for pooling).
    """

    name: str
    kind: str
    module: str
    op: str
    calls: float
    inputs: float
    events: float
    ops: float
    dense: float
    fanout: float
    ann_ops: float


@dataclass(frozen=True)
class NeuronProfile:
    """One neuron layer, per sample: ``neurons`` per step, ``steps``, ``spikes`` (non-zero outputs),
    ``firing_rate`` (``spikes / (neurons x steps)``), ``membrane_updates`` (``neurons x steps``)."""

    name: str
    module: str
    neurons: int
    steps: int
    spikes: float
    firing_rate: float
    membrane_updates: float


@dataclass(frozen=True)
class Profile:
    """What :func:`profile` measured: per-layer rows, NeuroBench's metrics and the energy estimate.

    Every count is per sample. ``samples`` and ``steps`` are the batch size and the number of steps of the
    profiled call; ``ac_pj`` / ``mac_pj`` the energies per operation used.
    """

    connections: list[ConnectionProfile]
    neurons: list[NeuronProfile]
    samples: int
    steps: int
    input_steps: int
    footprint: int
    connection_sparsity: float
    ac_pj: float
    mac_pj: float
    notes: list[str] = field(default_factory=list)

    # --- totals -----------------------------------------------------------------------------------
    def _sum(self, attr: str, op: str | None = None) -> float:
        return float(sum(getattr(r, attr) for r in self.connections if op is None or r.op == op))

    @property
    def synaptic_operations(self) -> dict[str, float]:
        """NeuroBench's ``{"Effective_MACs", "Effective_ACs", "Dense"}`` per sample."""
        return {
            "Effective_MACs": self._sum("ops", "MAC"),
            "Effective_ACs": self._sum("ops", "AC"),
            "Dense": self._sum("dense"),
        }

    @property
    def synops(self) -> float:
        """All effective synaptic operations per sample (ACs + MACs)."""
        return self._sum("ops")

    @property
    def spikes(self) -> float:
        """Spikes (non-zero outputs) of every neuron layer per sample."""
        return float(sum(r.spikes for r in self.neurons))

    @property
    def activation_sparsity(self) -> float:
        """Share of zero outputs over all neuron layers, steps and samples (NeuroBench); ``nan``: none."""
        total = sum(r.membrane_updates for r in self.neurons)
        return 1.0 - self.spikes / total if total else math.nan

    @property
    def firing_rate(self) -> float:
        """Share of (neuron, step) pairs with a non-zero output, over all neuron layers."""
        return 1.0 - self.activation_sparsity

    @property
    def membrane_updates(self) -> float:
        """Neuron state updates per sample (neurons x steps, summed over layers)."""
        return float(sum(r.membrane_updates for r in self.neurons))

    @property
    def ann_operations(self) -> dict[str, float]:
        """The equivalent ANN's ``{"MACs", "ACs"}`` per sample (ACs: its pooling additions)."""
        macs = sum(r.ann_ops for r in self.connections if r.kind != "pool")
        acs = sum(r.ann_ops for r in self.connections if r.kind == "pool")
        return {"MACs": float(macs), "ACs": float(acs)}

    @property
    def energy_pj(self) -> float:
        """The SNN's estimated energy per sample, in pJ: ``ACs x ac_pj + MACs x mac_pj``."""
        ops = self.synaptic_operations
        return ops["Effective_ACs"] * self.ac_pj + ops["Effective_MACs"] * self.mac_pj

    @property
    def ann_energy_pj(self) -> float:
        """The equivalent ANN's estimated energy per sample, in pJ."""
        ann = self.ann_operations
        return ann["MACs"] * self.mac_pj + ann["ACs"] * self.ac_pj

    def layer(self, name: str) -> ConnectionProfile | NeuronProfile:
        """The row of layer ``name`` (connection rows first)."""
        for row in [*self.connections, *self.neurons]:
            if row.name == name:
                return row
        names = [r.name for r in [*self.connections, *self.neurons]]
        raise KeyError(f"no profiled layer named {name!r}; layers: {names}")

    # --- output -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the totals in NeuroBench's names, the energy, and every row."""
        return {
            "samples": self.samples,
            "steps": self.steps,
            "input_steps": self.input_steps,
            "synaptic_operations": self.synaptic_operations,
            "synops": self.synops,
            "spikes": self.spikes,
            "activation_sparsity": _finite(self.activation_sparsity),
            "firing_rate": _finite(self.firing_rate),
            "membrane_updates": self.membrane_updates,
            "footprint": self.footprint,
            "connection_sparsity": _finite(self.connection_sparsity),
            "ann_operations": self.ann_operations,
            "energy": {
                "snn_pj": self.energy_pj,
                "ann_pj": self.ann_energy_pj,
                "ann_over_snn": _finite(self.ann_energy_pj / self.energy_pj if self.energy_pj else math.nan),
                "ac_pj": self.ac_pj,
                "mac_pj": self.mac_pj,
                "model": "arithmetic only: ACs x ac_pj + MACs x mac_pj per sample",
            },
            "connections": [asdict(r) for r in self.connections],
            "neurons": [asdict(r) for r in self.neurons],
            "notes": list(self.notes),
        }

    def table(self) -> str:
        """The rows and totals as plain text (per sample)."""
        conn = format_table(
            ["layer", "module", "op", "calls", "inputs", "events", "ops", "fan-out", "dense", "ANN ops"],
            [
                [r.name, r.module, r.op, _si(r.calls), _si(r.inputs), _si(r.events), _si(r.ops),
                 f"{r.fanout:.4g}", _si(r.dense), _si(r.ann_ops)]
                for r in self.connections
            ],
        )  # fmt: skip
        neur = format_table(
            ["neuron layer", "module", "neurons", "steps", "spikes", "firing rate"],
            [
                [r.name, r.module, r.neurons, r.steps, _si(r.spikes), f"{r.firing_rate:.4f}"]
                for r in self.neurons
            ],
        )
        ops, ann = self.synaptic_operations, self.ann_operations
        ratio = self.ann_energy_pj / self.energy_pj if self.energy_pj else math.nan
        lines = [
            f"per sample ({self.samples} samples, {self.steps} steps):",
            conn,
            "",
            neur,
            "",
            f"synaptic operations: {_si(ops['Effective_ACs'])} ACs + {_si(ops['Effective_MACs'])} MACs "
            f"(dense {_si(ops['Dense'])}); equivalent ANN: {_si(ann['MACs'])} MACs + {_si(ann['ACs'])} adds",
            f"energy (ACs x {self.ac_pj:g} pJ + MACs x {self.mac_pj:g} pJ): SNN {_energy(self.energy_pj)}, "
            f"ANN {_energy(self.ann_energy_pj)} (ANN / SNN = {ratio:.3g})",
            f"activation sparsity {self.activation_sparsity:.4f}, connection sparsity "
            f"{self.connection_sparsity:.4f}, footprint {self.footprint:,} bytes",
        ]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _si(v: float) -> str:
    """``v`` with 4 significant digits and an SI suffix (k, M, G, T)."""
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:.4g}{suffix}"
    return f"{v:.4g}"


def _energy(pj: float) -> str:
    for scale, unit in ((1e6, "uJ"), (1e3, "nJ")):
        if pj >= scale:
            return f"{pj / scale:.4g} {unit}"
    return f"{pj:.4g} pJ"


# --- counting --------------------------------------------------------------------------------------
class _Count:
    """Totals of one layer over every call of the profiled forward (over the whole batch)."""

    def __init__(self, name: str, kind: str, module: nn.Module) -> None:
        self.name, self.kind, self.module = name, kind, type(module).__name__
        self.rows = 0.0  # input rows: batch x calls (leading elements)
        self.inputs = self.events = self.ops = self.dense = 0.0
        self.binary = True

    def add(self, x: torch.Tensor, rows: int, counts: torch.Tensor, fan: torch.Tensor, dense_fan: float):
        """``counts``: non-zero inputs per position (summed over rows); ``fan``: fan-out per position."""
        self.rows += rows
        self.inputs += x.numel()
        self.events += float(counts.sum())
        self.ops += float((counts * fan).sum())
        self.dense += rows * dense_fan
        self.binary = self.binary and _is_binary(x)

    def result(self, samples: int, input_steps: int) -> ConnectionProfile:
        calls = self.rows / samples
        per_call = self.dense / self.rows if self.rows else 0.0
        op = "AC" if self.binary or self.kind == "pool" else "MAC"
        return ConnectionProfile(
            name=self.name,
            kind=self.kind,
            module=self.module,
            op=op,
            calls=calls,
            inputs=self.inputs / samples,
            events=self.events / samples,
            ops=self.ops / samples,
            dense=self.dense / samples,
            fanout=self.dense / self.inputs if self.inputs else 0.0,
            ann_ops=per_call * min(calls, input_steps),
        )


def _is_binary(x: torch.Tensor) -> bool:
    """NeuroBench's test for spikes: every value in {-1, 0, 1}."""
    return bool(((x == 0) | (x == 1) | (x == -1)).all())


def _nonzero_weights(w: torch.Tensor) -> torch.Tensor:
    return (w.detach() != 0).to(device="cpu", dtype=torch.float64)


def _grad_fanout(fn: Callable[[torch.Tensor], torch.Tensor], shape: tuple[int, ...]) -> torch.Tensor:
    """``d sum(fn(x)) / dx`` at ``x = 0`` of shape ``[1, *shape]``: how many outputs each input reaches
    (with ``fn`` linear and its weights 0/1, the fan-out of every input position)."""
    x = torch.zeros((1, *shape), dtype=torch.float64, requires_grad=True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(fn(x).sum(), x)
    return g[0]


def _conv_fanout(conv: nn.Module, shape: tuple[int, ...], w: torch.Tensor) -> torch.Tensor:
    """The fan-out map ``[C_in, *spatial]`` of ``conv`` for one input of ``shape``, with 0/1 weights ``w``."""
    return _grad_fanout(lambda x: conv._conv_forward(x, w, None), shape)


def _pool_fanout(pool: nn.Module, spatial: tuple[int, ...]) -> torch.Tensor | None:
    """How many windows of ``pool`` cover each position of one channel ``spatial`` (``None``: unsupported)."""
    nd = len(spatial)
    kernel = _tuple(pool.kernel_size, nd)
    stride = _tuple(pool.stride if pool.stride is not None else pool.kernel_size, nd)
    padding = _tuple(pool.padding, nd)
    dilation = _tuple(getattr(pool, "dilation", 1), nd)
    ceil = bool(pool.ceil_mode)
    if all(d == 1 for d in dilation):
        # a sum pool (divisor 1) has the windows of both avg and max pooling (same output size rule)
        def fn(x: torch.Tensor) -> torch.Tensor:
            x = x.unsqueeze(1)  # [1, 1, *spatial]
            if nd == 1:  # avg_pool1d has no divisor_override: pool [1, L] in 2-D
                return F.avg_pool2d(x.unsqueeze(-2), (1, *kernel), (1, *stride), (0, *padding), ceil, True, 1)
            pool_fn = F.avg_pool2d if nd == 2 else F.avg_pool3d
            return pool_fn(x, kernel, stride, padding, ceil, True, 1)
    elif not ceil:
        ones = torch.ones((1, 1, *kernel), dtype=torch.float64)
        conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]

        def fn(x: torch.Tensor) -> torch.Tensor:
            return conv(x.unsqueeze(1), ones, None, stride, padding, dilation)
    else:
        return None
    return _grad_fanout(fn, spatial)


def _tuple(v: Any, nd: int) -> tuple[int, ...]:
    return tuple(v) if isinstance(v, (tuple, list)) else (int(v),) * nd


class _Hooks:
    """Forward hooks that count what each connection and pooling layer receives."""

    def __init__(self, model: nn.Module, pooling: bool) -> None:
        self.counts: dict[str, _Count] = {}
        self.neurons: dict[str, tuple[str, list[torch.Tensor]]] = {}  # LinearLIF outputs
        self.notes: list[str] = []
        self._maps: dict[tuple[str, tuple[int, ...]], tuple[torch.Tensor, float]] = {}
        self._handles = []
        inside_fused = set()
        for name, m in model.named_modules():
            if isinstance(m, LinearLIF):
                inside_fused |= {f"{name}.linear" if name else "linear", f"{name}.lif" if name else "lif"}
        for name, m in model.named_modules():
            if name in inside_fused:
                continue
            if isinstance(m, LinearLIF):
                hook = self._linear_lif
            elif isinstance(m, nn.Linear):
                hook = self._linear
            elif isinstance(m, _CONV):
                hook = self._conv
            elif pooling and isinstance(m, _POOL):
                hook = self._pool
            else:
                continue
            self._handles.append(m.register_forward_hook(_bind(hook, name)))

    def remove(self) -> None:
        for h in self._handles:
            h.remove()

    def _count(self, name: str, kind: str, module: nn.Module) -> _Count:
        if name not in self.counts:
            self.counts[name] = _Count(name, kind, module)
        return self.counts[name]

    def _cached(self, key: tuple[str, tuple[int, ...]], make: Callable[[], tuple[torch.Tensor, float]]):
        if key not in self._maps:
            self._maps[key] = make()
        return self._maps[key]

    def _linear(self, name: str, m: nn.Module, inputs: tuple, output: Any, weight=None) -> None:
        x = inputs[0].detach()
        w = m.weight if weight is None else weight
        n_in = w.shape[1]
        xs = x.reshape(-1, n_in)
        fan = self._cached((name, ()), lambda: (_nonzero_weights(w).sum(0), float(w.numel())))
        counts = (xs != 0).sum(0, dtype=torch.float64).cpu()
        self._count(name, "linear", m).add(x, xs.shape[0], counts, fan[0], fan[1])

    def _linear_lif(self, name: str, m: LinearLIF, inputs: tuple, output: torch.Tensor) -> None:
        self._linear(name, m, inputs, output, weight=m.weight)
        self.counts[name].module = type(m).__name__
        self.neurons.setdefault(name, (type(m).__name__, []))[1].append(output.detach())

    def _conv(self, name: str, m: nn.Module, inputs: tuple, output: Any) -> None:
        x = inputs[0].detach()
        nd = len(m.kernel_size)
        if x.dim() == nd + 1:  # unbatched [C, *spatial]
            x = x.unsqueeze(0)
        shape = tuple(x.shape[1:])

        def make() -> tuple[torch.Tensor, float]:
            fan = _conv_fanout(m, shape, _nonzero_weights(m.weight))
            dense = _conv_fanout(m, shape, torch.ones(m.weight.shape, dtype=torch.float64))
            return fan, float(dense.sum())

        fan, dense = self._cached((name, shape), make)
        counts = (x != 0).sum(0, dtype=torch.float64).cpu()
        self._count(name, "conv", m).add(x, x.shape[0], counts, fan, dense)

    def _pool(self, name: str, m: nn.Module, inputs: tuple, output: Any) -> None:
        x = inputs[0].detach()
        nd = next(i + 1 for i, kinds in enumerate(_POOL_DIMS) if isinstance(m, kinds))
        if x.dim() == nd + 1:
            x = x.unsqueeze(0)
        spatial = tuple(x.shape[2:])

        def make() -> tuple[torch.Tensor | None, float]:
            fan = _pool_fanout(m, spatial)
            return fan, float(fan.sum()) if fan is not None else 0.0

        fan, dense = self._cached((name, spatial), make)
        if fan is None:
            note = f"{name}: {type(m).__name__} with dilation and ceil_mode is not counted"
            if note not in self.notes:
                self.notes.append(note)
            return
        counts = (x != 0).sum((0, 1), dtype=torch.float64).cpu()  # every channel has the same windows
        self._count(name, "pool", m).add(x, x.shape[0], counts, fan, x.shape[1] * dense)


def _bind(hook: Callable, name: str) -> Callable:
    return lambda module, inputs, output: hook(name, module, inputs, output)


def _recurrent(name: str, layer: RLIF, spikes: torch.Tensor) -> _Count:
    """The recurrent weight of ``layer``: step ``t`` applies it to the spikes of step ``t - 1``."""
    w = layer.weight
    fan = _nonzero_weights(w).sum(0) if w.dim() == 2 else _nonzero_weights(w)  # per presynaptic neuron
    c = _Count(f"{name}.recurrent" if name else "recurrent", "recurrent", layer)
    prev = spikes[:-1].reshape(-1, spikes.shape[-1])
    counts = (prev != 0).sum(0, dtype=torch.float64).cpu()
    c.add(prev, 0, counts, fan, 0.0)
    # every step applies the weight (the first to the resting state's zeros): T x B rows, all weights
    c.rows = float(spikes.shape[0] * spikes.shape[1])
    c.dense = c.rows * w.numel()
    c.inputs = float(spikes.numel())
    return c


def _neuron_row(name: str, module: str, spikes: torch.Tensor, samples: int) -> NeuronProfile:
    steps, neurons = spikes.shape[0], spikes[0, 0].numel()
    n_spikes = float(torch.count_nonzero(spikes)) / samples
    updates = float(steps * neurons)
    return NeuronProfile(name, module, neurons, steps, n_spikes, n_spikes / updates, updates)


def profile(
    model: nn.Module,
    x: Any,
    *,
    ac_pj: float = HOROWITZ_45NM["ac_pj"],
    mac_pj: float = HOROWITZ_45NM["mac_pj"],
    pooling: bool = True,
    samples: int | None = None,
    input_steps: int | None = None,
) -> Profile:
    """Count spikes, synaptic operations and their energy for ``model(x)``, per layer and per sample.

    See :mod:`spikekit.analysis.profile` for what is counted and how. The model runs once, under
    ``torch.no_grad()``, in its current mode (call ``.eval()`` first).

    Args:
        model: any module; its neuron layers, ``Linear``/``Conv``/pooling layers and ``RLIF`` recurrences
            are profiled.
        x: the model's input (a batch of static samples ``[B, ...]`` or a sequence ``[T, B, ...]``).
        ac_pj, mac_pj: energy of an accumulate and of a multiply-accumulate, in pJ (default: 32-bit float
            at 45 nm, Horowitz 2014: 0.9 and 3.7 + 0.9 = 4.6).
        pooling: count pooling layers' additions / comparisons (NeuroBench counts none: ``False``).
        samples: the batch size ``B`` (default: the neuron layers' batch dimension; required for a model
            without neuron layers).
        input_steps: how many steps of input the equivalent ANN processes per sample (default: ``T`` when
            ``x`` is a sequence ``[T, B, ...]`` of the model's ``T`` and ``B``, else 1).

    Returns:
        A :class:`Profile` (``.table()``, ``.to_dict()``, ``.synaptic_operations``, ``.energy_pj``, ...).

    Example:
        >>> prof = sk.analysis.profile(sk.models.SpikingMLP().eval(), torch.rand(16, 784))
        >>> prof.synaptic_operations["Effective_ACs"], prof.energy_pj, prof.ann_energy_pj
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"profile: model must be an nn.Module, got {type(model).__name__}")
    for value, what in ((ac_pj, "ac_pj"), (mac_pj, "mac_pj")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
            raise ValueError(f"profile: {what} must be a finite energy >= 0 in pJ, got {value!r}")
    for value, what in ((samples, "samples"), (input_steps, "input_steps")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"profile: {what} must be an int >= 1 or None, got {value!r}")

    has_neurons = any(isinstance(m, Neuron) for m in model.modules())
    hooks = _Hooks(model, pooling)
    try:
        with torch.no_grad():
            if has_neurons:
                with record(model) as rec:
                    model(x)
                traces = {n: t.spikes for n, t in rec.items() if t.chunks_spikes}
            else:
                model(x)
                traces = {}
    finally:
        hooks.remove()

    modules = dict(model.named_modules())
    outputs = {n: (type(modules[n]).__name__, s) for n, s in traces.items()}
    outputs.update({n: (kind, torch.cat(chunks)) for n, (kind, chunks) in hooks.neurons.items()})
    if samples is None:
        batches = {s.shape[1] for _, s in outputs.values() if s.dim() >= 2}
        if len(batches) != 1:
            raise ValueError(
                "profile: cannot tell the batch size from the neuron layers "
                f"({'none ran' if not batches else f'they disagree: {sorted(batches)}'}); pass samples="
            )
        samples = batches.pop()
    steps = max((s.shape[0] for _, s in outputs.values()), default=1)
    if input_steps is None:
        seq = isinstance(x, torch.Tensor) and x.dim() >= 3 and x.shape[0] == steps and x.shape[1] == samples
        input_steps = steps if seq else 1

    counts = dict(hooks.counts)
    for name, spikes in traces.items():
        if isinstance(modules[name], RLIF):
            c = _recurrent(name, modules[name], spikes)
            counts[c.name] = c
    order = {n: i for i, n in enumerate(modules)}
    rank = lambda n: order.get(n, order.get(n.rsplit(".", 1)[0], 0) + 0.5)  # noqa: E731
    connections = [counts[n].result(samples, input_steps) for n in sorted(counts, key=rank)]
    neurons = [
        _neuron_row(n, kind, s, samples) for n, (kind, s) in sorted(outputs.items(), key=lambda i: rank(i[0]))
    ]

    return Profile(
        connections=connections,
        neurons=neurons,
        samples=samples,
        steps=steps,
        input_steps=input_steps,
        footprint=_footprint(model),
        connection_sparsity=_connection_sparsity(model),
        ac_pj=float(ac_pj),
        mac_pj=float(mac_pj),
        notes=hooks.notes,
    )


def _footprint(model: nn.Module) -> int:
    """Bytes of the model's parameters and buffers (NeuroBench's ``footprint``)."""
    tensors = [*model.parameters(), *model.buffers()]
    return int(sum(t.numel() * t.element_size() for t in tensors))


def _connection_sparsity(model: nn.Module) -> float:
    """Share of zero weights in the Linear, Conv and recurrent (RLIF) weights (NeuroBench's definition)."""
    zeros = total = 0
    for m in model.modules():
        if isinstance(m, (nn.Linear, *_CONV, RLIF)):
            zeros += int((m.weight == 0).sum())
            total += m.weight.numel()
    return zeros / total if total else math.nan
