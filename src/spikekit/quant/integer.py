"""Integer export of a quantised model, and a pure-integer reference simulation of it.

:func:`export_integer` reads a :func:`~spikekit.quant.quantize_model` model into an :class:`IntegerModel`:
per layer the weight codes (int64 ``[out, in]``), the bias and threshold in membrane units (int64), the
decay as a fixed-point fraction ``decay / 2^decay_shift`` (int64 numerator), the reset, the membrane's bits,
and the float64 scales that give the integers their real meaning (``weight_scale``, ``membrane_scale``;
the simulation never reads them, except to turn the readout's membrane into logits).

:func:`simulate_integer` runs it with int64 tensor arithmetic only (matmul, multiply, arithmetic shift,
compare), per step ``v = clamp(((v * decay) >> shift) + u, lo, hi)``, ``s = v >= theta``, then the reset.
The fake-quantised model computes the same integers (in exact float64), so the two give identical spikes and
membranes (tested).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .._checks import check_tensor
from .fake import quantize
from .modules import QuantConv2d, QuantLIF, QuantLinear

__all__ = [
    "IntegerLayer",
    "IntegerModel",
    "IntegerRun",
    "export_integer",
    "quantize_input",
    "simulate_integer",
]


@dataclass
class IntegerLayer:
    """One ``Linear -> LIF`` layer in integers."""

    name: str
    weight: torch.Tensor  # int64 [out, in], codes of `weight_bits` bits
    bias: torch.Tensor  # int64 [out], membrane units (zeros without a bias)
    threshold: torch.Tensor  # int64 [out], membrane units
    decay: torch.Tensor  # int64 [out], numerator of decay / 2^decay_shift
    decay_shift: int
    reset: str
    state_bits: int
    weight_bits: int
    weight_scale: torch.Tensor  # float64 [out]
    membrane_scale: torch.Tensor  # float64 [out]: the real value of one membrane unit
    has_bias: bool = True


@dataclass
class IntegerModel:
    """A quantised spiking chain in integers (see the module docstring)."""

    layers: list[IntegerLayer]
    input_scale: float
    input_bits: int
    steps: int | None = None  # for static input (direct encoding), else the sequence's T
    readout: str = "spikes"  # "membrane" (mean of the last layer's membrane), "rate" or "spikes"
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class IntegerRun:
    """What :func:`simulate_integer` returns."""

    spikes: list[torch.Tensor]  # per layer, int64 [T, B, N] of 0/1
    membrane: list[torch.Tensor]  # per layer, int64 [T, B, N], before the reset
    logits: torch.Tensor | None  # float64 [B, C] for membrane/rate readouts


def export_integer(model: nn.Module) -> IntegerModel:
    """Read ``model`` (from :func:`~spikekit.quant.quantize_model`) into integers.

    The model must be a chain of :class:`QuantLinear` -> :class:`QuantLIF` pairs (``SpikingMLP``, an
    ``nn.Sequential``); a ``SpikingMLP`` must use direct (or sequence) input.

    Raises:
        ValueError: a convolution, a QuantLinear not followed by its QuantLIF, or a float model.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"export_integer: model must be an nn.Module, got {type(model).__name__}")
    layers: list[IntegerLayer] = []
    pending: tuple[str, QuantLinear] | None = None
    first: QuantLinear | None = None
    for name, m in model.named_modules():
        if isinstance(m, QuantConv2d):
            raise ValueError(
                f"export_integer: {name!r} is a convolution; the integer export covers Linear layers"
            )
        if isinstance(m, QuantLinear):
            if pending is not None:
                raise ValueError(f"export_integer: {pending[0]!r} is not followed by a QuantLIF")
            pending = (name, m)
            first = first or m
        elif isinstance(m, QuantLIF):
            if pending is None or m.driver is not pending[1]:
                raise ValueError(
                    f"export_integer: QuantLIF {name!r} does not follow the layer that drives it"
                )
            lname, lin = pending
            with torch.no_grad():
                sw, sv = lin.weight_scale().cpu(), lin.out_scale().cpu()
                w = quantize(lin.weight.cpu(), sw, lin.bits)
                if lin.bias is not None:
                    b = torch.round(lin.bias.detach().cpu().to(torch.float64) / sv).to(torch.int64)
                else:
                    b = torch.zeros(lin.out_features, dtype=torch.int64)
            n = lin.out_features
            layers.append(
                IntegerLayer(
                    name=f"{lname}->{name}",
                    weight=w,
                    bias=b,
                    threshold=m.int_threshold().cpu().expand(n).clone(),
                    decay=m.decay.cpu().expand(n).clone(),
                    decay_shift=m.decay_bits,
                    reset=m.reset,
                    state_bits=m.state_bits,
                    weight_bits=lin.bits,
                    weight_scale=sw.expand(n).clone(),
                    membrane_scale=sv.expand(n).clone(),
                    has_bias=lin.bias is not None,
                )
            )
            pending = None
    if pending is not None:
        raise ValueError(f"export_integer: {pending[0]!r} is not followed by a QuantLIF")
    if not layers or first is None:
        raise ValueError(
            f"export_integer: {type(model).__name__} has no QuantLinear -> QuantLIF layer; quantise it first "
            "(spikekit.quant.quantize_model)"
        )
    steps, readout, meta = None, "spikes", {}
    if hasattr(model, "steps") and hasattr(model, "readout"):  # SpikingMLP
        if getattr(model, "encoder", "direct") != "direct":
            meta["encoder"] = model.encoder  # the integer model then takes the encoded sequence
        steps, readout = int(model.steps), str(model.readout)
        meta["model"] = type(model).__name__
    return IntegerModel(layers, first.input_scale, first.input_bits, steps, readout, meta)


def quantize_input(model: IntegerModel, x: torch.Tensor) -> torch.Tensor:
    """The input codes (int64) of real input ``x`` on the model's unsigned grid, flattened per sample
    (``[B, ...] -> [B, N]``, ``[T, B, ...] -> [T, B, N]`` when the trailing size is the first layer's
    input)."""
    check_tensor(x, "quantize_input: x")
    n_in = model.layers[0].weight.shape[1]
    if x.dim() >= 2 and x.shape[1:].numel() == n_in:
        x = x.flatten(1)
    elif x.dim() >= 3 and x.shape[2:].numel() == n_in:
        x = x.flatten(2)
    else:
        raise ValueError(f"quantize_input: x must hold {n_in} values per sample, got shape {tuple(x.shape)}")
    return quantize(x, model.input_scale, model.input_bits, signed=False)


def simulate_integer(model: IntegerModel, x_q: torch.Tensor, steps: int | None = None) -> IntegerRun:
    """Run ``model`` on input codes ``x_q`` with int64 arithmetic only.

    Args:
        x_q: int64 codes, ``[B, N]`` (static: presented at each of ``steps`` steps, default the model's) or
            ``[T, B, N]``; from :func:`quantize_input`.

    Raises:
        TypeError: a float ``x_q``. ValueError: codes outside the input grid, a wrong width, no ``steps``.
    """
    if not isinstance(model, IntegerModel):
        raise TypeError(f"simulate_integer: model must be an IntegerModel, got {type(model).__name__}")
    check_tensor(x_q, "simulate_integer: x_q")
    if x_q.is_floating_point() or x_q.is_complex() or x_q.dtype == torch.bool:
        raise TypeError(
            f"simulate_integer: x_q must hold integer codes (int64), got dtype {x_q.dtype}; use "
            "quantize_input"
        )
    x_q = x_q.to(torch.int64)
    n_in = model.layers[0].weight.shape[1]
    if x_q.dim() not in (2, 3) or x_q.shape[-1] != n_in:
        raise ValueError(
            f"simulate_integer: x_q must be [B, {n_in}] or [T, B, {n_in}], got {tuple(x_q.shape)}"
        )
    hi_in = 2**model.input_bits - 1
    if x_q.numel() and (int(x_q.min()) < 0 or int(x_q.max()) > hi_in):
        raise ValueError(
            f"simulate_integer: x_q must lie in [0, {hi_in}], got [{int(x_q.min())}, {int(x_q.max())}]"
        )
    static = x_q.dim() == 2
    t_steps = (steps or model.steps) if static else x_q.shape[0]
    if t_steps is None or t_steps < 1:
        raise ValueError("simulate_integer: static input needs steps (the model's, or steps=...)")
    spikes_all, membranes = [], []
    x = x_q
    for i, layer in enumerate(model.layers):
        lo, hi = -(2 ** (layer.state_bits - 1)), 2 ** (layer.state_bits - 1) - 1
        if i == 0 and static:
            cur = x @ layer.weight.T + layer.bias
            u = [cur] * t_steps
        else:
            u = list(x @ layer.weight.T + layer.bias)
        v = torch.zeros_like(u[0])
        out, vs = [], []
        for t in range(t_steps):
            v = torch.clamp(torch.bitwise_right_shift(v * layer.decay, layer.decay_shift) + u[t], lo, hi)
            s = (v >= layer.threshold).to(torch.int64)
            out.append(s)
            vs.append(v)
            if layer.reset == "subtract":
                v = v - s * layer.threshold
            elif layer.reset == "zero":
                v = v * (1 - s)
        x = torch.stack(out)
        spikes_all.append(x)
        membranes.append(torch.stack(vs))
    logits = None
    last = model.layers[-1]
    if model.readout == "membrane":
        logits = (membranes[-1].to(torch.float64) * last.membrane_scale).mean(0)
    elif model.readout == "rate":
        logits = spikes_all[-1].sum(0).to(torch.float64)
    return IntegerRun(spikes_all, membranes, logits)
