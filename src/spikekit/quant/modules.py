"""Quantisation-aware modules and :func:`quantize_model`.

The fake-quantised forward *is* the integer arithmetic of :mod:`spikekit.quant.integer`, carried out on
integer-valued float64 numbers (exact: every intermediate stays below 2^53):

- a :class:`QuantLinear` (or :class:`QuantConv2d`) rounds its input to ``input_bits`` codes of scale ``s_x``
  (pixels: unsigned 8 bits, ``s_x = 1/255``; spikes: 0/1, ``s_x = 1``) and its weight to ``bits``-bit
  symmetric codes of scale ``s_w`` (per output channel or per tensor). Its current is then
  ``s_v (W_q x_q + b_q)`` exactly, with the membrane scale ``s_v = s_w s_x`` and ``b_q = round(b / s_v)``;
- the :class:`QuantLIF` that follows it works in units of ``s_v``: the integer current
  ``u = round(I / s_v)`` (exact: ``I / s_v`` is an integer up to float64 round-off), the integer threshold
  ``theta = max(1, round(threshold / s_v))``, the fixed-point decay ``d = round(beta 2^k)`` (``k = 12``:
  Loihi's 12-bit decays), and per step

      v = clamp(floor(v d / 2^k) + u, -2^(b-1), 2^(b-1) - 1)     # (v * d) >> k, arithmetic shift
      s = [v >= theta]
      v = v - s theta  (reset "subtract") | v (1 - s)  ("zero") | v  ("none")

  ``floor(v d / 2^k)`` is ``(v d) >> k`` of two's-complement integers (rounding towards minus infinity,
  negative membranes included).

Gradients: the roundings and the floor are straight-through (identity), the clips pass gradient inside
their range and none outside, the spike uses the neuron's surrogate on the real-valued ``(v - theta) s_v``.
Scales are computed from the current weights at every call (max scaling) and carry no gradient.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.nn import functional as tf

from .._checks import check_choice, check_floating, check_tensor, check_time_first
from ..nn import IF, LIF, Neuron, TimeDistributed
from ..surrogate import Surrogate, atan, check_surrogate
from .fake import check_bits, fake_quant, floor_ste, round_ste, weight_scale

__all__ = [
    "QuantLinear",
    "QuantConv2d",
    "QuantLIF",
    "QuantState",
    "quantize_model",
    "record_integer",
    "DECAY_BITS",
]

DECAY_BITS = 12  # Loihi's du/dv: fractions of 4096


class _QuantWeighted:
    """What :class:`QuantLinear` and :class:`QuantConv2d` share: the weight, input and bias quantisers."""

    bits: int
    per_channel: bool
    input_scale: float
    input_bits: int
    weight: nn.Parameter
    bias: nn.Parameter | None

    def _setup(self, bits: int, per_channel: bool, input_scale: float, input_bits: int) -> None:
        self.bits = check_bits(bits, f"{type(self).__name__}: bits")
        if not isinstance(per_channel, bool):
            raise TypeError(f"{type(self).__name__}: per_channel must be a bool, got {per_channel!r}")
        self.per_channel = per_channel
        if isinstance(input_scale, bool) or not isinstance(input_scale, (int, float)):
            raise TypeError(f"{type(self).__name__}: input_scale must be a float, got {input_scale!r}")
        if not math.isfinite(input_scale) or input_scale <= 0:
            raise ValueError(f"{type(self).__name__}: input_scale must be finite and > 0, got {input_scale}")
        self.input_scale = float(input_scale)
        self.input_bits = check_bits(input_bits, f"{type(self).__name__}: input_bits", 1, 16)

    def weight_scale(self) -> torch.Tensor:
        """``s_w``, float64, one per output channel (equal for all with ``per_channel=False``)."""
        return weight_scale(self.weight, self.bits, self.per_channel)

    def out_scale(self) -> torch.Tensor:
        """The membrane scale ``s_v = s_w s_x`` of the neurons this layer drives (float64, per channel)."""
        return self.weight_scale() * self.input_scale

    def _quantised(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        check_floating(x, f"{type(self).__name__}: x")
        xq = fake_quant(x.to(torch.float64), self.input_scale, self.input_bits, signed=False)
        wq = fake_quant(self.weight.to(torch.float64), self.weight_scale(), self.bits)
        bq = None
        if self.bias is not None:
            sv = self.out_scale()
            bq = round_ste(self.bias.to(torch.float64) / sv) * sv
        return xq, wq, bq

    def _extra(self) -> str:
        return (
            f"bits={self.bits}, per_channel={self.per_channel}, input_scale={self.input_scale:.6g}, "
            f"input_bits={self.input_bits}"
        )


class QuantLinear(_QuantWeighted, nn.Linear):
    """``nn.Linear`` with fake-quantised input, weight and bias (see the module docstring). Its output is
    float64 (integer multiples of ``out_scale()``, exactly).

    Args:
        in_features, out_features, bias: as ``nn.Linear``.
        bits: weight bits (symmetric, 2..16). per_channel: one scale per output feature (else one).
        input_scale, input_bits: the input's unsigned grid (pixels in [0, 1]: ``1/255``, 8; spikes: 1, 1).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        bits: int = 8,
        per_channel: bool = True,
        input_scale: float = 1.0,
        input_bits: int = 1,
    ) -> None:
        nn.Linear.__init__(self, in_features, out_features, bias)
        self._setup(bits, per_channel, input_scale, input_bits)

    @classmethod
    def from_linear(cls, layer: nn.Linear, **kwargs: Any) -> QuantLinear:
        """A QuantLinear holding a copy of ``layer``'s weight and bias."""
        q = cls(layer.in_features, layer.out_features, layer.bias is not None, **kwargs)
        q.to(device=layer.weight.device, dtype=layer.weight.dtype)
        with torch.no_grad():
            q.weight.copy_(layer.weight)
            if layer.bias is not None:
                q.bias.copy_(layer.bias)
        return q

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xq, wq, bq = self._quantised(x)
        return tf.linear(xq, wq, bq)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {self._extra()}"


class QuantConv2d(_QuantWeighted, nn.Conv2d):
    """``nn.Conv2d`` with fake-quantised input, weight and bias (as :class:`QuantLinear`). Trained with QAT;
    the integer export (:func:`spikekit.quant.export_integer`) covers Linear layers only."""

    def __init__(
        self,
        *args: Any,
        bits: int = 8,
        per_channel: bool = True,
        input_scale: float = 1.0,
        input_bits: int = 1,
        **kwargs: Any,
    ) -> None:
        nn.Conv2d.__init__(self, *args, **kwargs)
        self._setup(bits, per_channel, input_scale, input_bits)

    @classmethod
    def from_conv(cls, layer: nn.Conv2d, **kwargs: Any) -> QuantConv2d:
        if layer.padding_mode != "zeros":
            raise ValueError(f"QuantConv2d: padding_mode {layer.padding_mode!r}; only 'zeros' is quantised")
        q = cls(
            layer.in_channels,
            layer.out_channels,
            layer.kernel_size,
            stride=layer.stride,
            padding=layer.padding,
            dilation=layer.dilation,
            groups=layer.groups,
            bias=layer.bias is not None,
            **kwargs,
        )
        q.to(device=layer.weight.device, dtype=layer.weight.dtype)
        with torch.no_grad():
            q.weight.copy_(layer.weight)
            if layer.bias is not None:
                q.bias.copy_(layer.bias)
        return q

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xq, wq, bq = self._quantised(x)
        return tf.conv2d(xq, wq, bq, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {self._extra()}"


class QuantState(NamedTuple):
    """The integer membrane (integer-valued float64), shaped like one input step."""

    v: torch.Tensor


class QuantLIF(nn.Module):
    """A LIF (or IF: ``beta = 1``) layer computing in integer membrane units (see the module docstring).

    It reads its membrane scale from the layer that drives it (``driver``, a :class:`QuantLinear` or
    :class:`QuantConv2d`), at every call. ``forward``/``run``/``trace`` as :class:`spikekit.nn.Neuron`, for
    ``[T, B, N]`` (Linear) or ``[T, B, C, ...]`` (Conv) currents in real units; outputs are float64 (spikes
    0/1; ``trace``'s membrane in real units, ``v s_v``, before the reset).

    Args:
        driver: the weighted layer whose output this layer integrates.
        beta: decay in (0, 1] (a number or one per neuron), frozen to
            ``round(beta 2^decay_bits) / 2^decay_bits``.
        threshold: in real units (> 0); the integer threshold follows the scale.
        reset, surrogate, detach_reset: as :class:`spikekit.nn.LIF`.
        state_bits: signed bits of the membrane (saturating; Loihi 1: 24). decay_bits: the shift ``k``.
    """

    def __init__(
        self,
        driver: _QuantWeighted,
        beta: float | torch.Tensor = 0.9,
        threshold: float = 1.0,
        reset: str = "subtract",
        surrogate: Surrogate | None = None,
        detach_reset: bool = False,
        state_bits: int = 24,
        decay_bits: int = DECAY_BITS,
    ) -> None:
        super().__init__()
        if not isinstance(driver, _QuantWeighted):
            raise TypeError(
                f"QuantLIF: driver must be a QuantLinear or QuantConv2d, got {type(driver).__name__}"
            )
        self.__dict__["driver"] = driver  # a reference, not a submodule (it is its parent's)
        self.state_bits = check_bits(state_bits, "QuantLIF: state_bits", 2, 32)
        self.decay_bits = check_bits(decay_bits, "QuantLIF: decay_bits", 1, 16)
        b = torch.as_tensor(beta, dtype=torch.float64).detach().cpu()
        if not bool(torch.isfinite(b).all()) or bool((b <= 0).any()) or bool((b > 1).any()):
            raise ValueError(f"QuantLIF: beta must lie in (0, 1], got {beta!r}")
        self.register_buffer("decay", torch.round(b * 2**self.decay_bits).to(torch.int64))
        if bool((self.decay < 1).any()):
            raise ValueError(f"QuantLIF: beta {beta!r} rounds to 0 at {decay_bits} decay bits")
        t = torch.as_tensor(threshold, dtype=torch.float64).detach().cpu()
        if not bool(torch.isfinite(t).all()) or bool((t <= 0).any()):
            raise ValueError(f"QuantLIF: threshold must be finite and > 0, got {threshold!r}")
        self.threshold = t  # float64 on the CPU, not a buffer: .float() must not round it
        self.reset = check_choice(reset, "QuantLIF: reset", ("subtract", "zero", "none"))
        self.surrogate = atan() if surrogate is None else check_surrogate(surrogate)
        self.detach_reset = bool(detach_reset)
        self.recording: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    @classmethod
    def from_neuron(cls, neuron: Neuron, driver: _QuantWeighted, **kwargs: Any) -> QuantLIF:
        """The quantised form of a spikekit ``LIF`` or ``IF`` module."""
        if type(neuron) not in (LIF, IF):
            raise ValueError(
                f"quantize_model: {type(neuron).__name__} has no integer form here; LIF and IF are quantised"
            )
        p = neuron.params()
        beta = p.beta if isinstance(neuron, LIF) else 1.0
        return cls(driver, beta, p.threshold, p.reset, p.surrogate, p.detach_reset, **kwargs)

    # --- integer parameters ----------------------------------------------------------------------
    def _channels(self, like: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Per-channel ``values`` shaped to broadcast against ``like`` ([B, N] or [B, C, H, W])."""
        values = values.to(device=like.device)
        if values.dim() == 0 or values.numel() == 1:
            return values.reshape(())
        return values.reshape(-1, *([1] * (like.dim() - 2))) if like.dim() > 2 else values

    def membrane_scale(self) -> torch.Tensor:
        """``s_v``: the real value of one membrane unit, per channel (float64)."""
        return self.driver.out_scale()

    def int_threshold(self) -> torch.Tensor:
        """``max(1, round(threshold / s_v))`` per channel (int64)."""
        sv = self.membrane_scale()
        return torch.round(self.threshold.to(sv.device) / sv).clamp(min=1).to(torch.int64)

    def beta_quantised(self) -> torch.Tensor:
        """The decay the layer applies: ``decay / 2^decay_bits``."""
        return self.decay.to(torch.float64) / 2**self.decay_bits

    # --- running ---------------------------------------------------------------------------------
    def _run(self, x: torch.Tensor, state: QuantState | None):
        name = type(self).__name__
        check_time_first(x, f"{name}: x")
        check_floating(x, f"{name}: x")
        x = x.to(torch.float64)
        sv = self._channels(x[0], self.membrane_scale().detach().to(x.device))
        theta = self._channels(x[0], self.int_threshold().to(x.device, torch.float64))
        d = self._channels(x[0], self.decay.to(x.device, torch.float64))
        shift = float(2**self.decay_bits)
        lo, hi = -(2 ** (self.state_bits - 1)), 2 ** (self.state_bits - 1) - 1
        u = round_ste(x / sv)
        if state is None:
            v = torch.zeros_like(x[0])
        else:
            if not isinstance(state, QuantState):
                raise TypeError(f"{name}: state must be a QuantState, got {type(state).__name__}")
            check_tensor(state.v, f"{name}: state.v")
            if state.v.shape != x[0].shape:
                raise ValueError(
                    f"{name}: state.v has shape {tuple(state.v.shape)}, one step is {tuple(x[0].shape)}"
                )
            v = state.v.to(x)
        out, vs, ints = [], [], []
        for t in range(x.shape[0]):
            v = torch.clamp(floor_ste(v * d / shift) + u[t], lo, hi)
            s = self.surrogate((v - theta) * sv)
            out.append(s)
            vs.append(v * sv)
            ints.append(v.detach())
            if self.reset != "none":
                r = s.detach() if self.detach_reset else s
                v = v - r * theta if self.reset == "subtract" else v * (1 - r)
        spikes, v_int = torch.stack(out), torch.stack(ints)
        if self.recording is not None:
            self.recording.append((spikes.detach(), v_int))
        return spikes, torch.stack(vs), QuantState(v)

    def run(self, x: torch.Tensor, state: QuantState | None = None) -> tuple[torch.Tensor, QuantState]:
        out, _, state = self._run(x, state)
        return out, state

    def trace(self, x: torch.Tensor, state: QuantState | None = None):
        """``(spikes, membrane s_v v before the reset, final_state)``."""
        return self._run(x, state)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, None)[0]

    def extra_repr(self) -> str:
        beta = self.beta_quantised()
        b = f"{beta.item():.6g}" if beta.numel() == 1 else f"tensor{tuple(beta.shape)}"
        return (
            f"beta={b} (decay {self.decay.flatten()[0].item()}/2^{self.decay_bits}), reset={self.reset!r}, "
            f"state_bits={self.state_bits}"
        )


_PASS = (nn.Flatten, nn.Dropout, nn.Identity, nn.Sequential, TimeDistributed, nn.MaxPool1d, nn.MaxPool2d)


def quantize_model(
    model: nn.Module,
    bits: int = 8,
    per_channel: bool = True,
    state_bits: int = 24,
    *,
    input_scale: float = 1 / 255,
    input_bits: int = 8,
    decay_bits: int = DECAY_BITS,
) -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear``/``nn.Conv2d`` a :class:`QuantLinear`/:class:`QuantConv2d`
    and every ``LIF``/``IF`` a :class:`QuantLIF` on the layer before it. ``model`` is not modified.

    The model must be a chain in ``named_modules()`` order (``SpikingMLP``, an ``nn.Sequential``): weighted
    layer, neuron, weighted layer, neuron, ... with Flatten, Dropout, Identity or max pooling (of spikes)
    between. The first weighted layer reads the model's input on the unsigned ``input_bits`` grid of step
    ``input_scale`` (pixels in [0, 1]: 8 bits of 1/255); every later one reads spikes (0/1).

    Args:
        bits: weight bits (int8: 8, int4: 4). per_channel: one weight scale per output channel.
        state_bits: the membrane's signed bits (saturating). decay_bits: the decay's fixed-point shift.

    Raises:
        ValueError: a neuron other than LIF/IF, a neuron with no weighted layer before it, BatchNorm,
            average pooling or another module between layers (named).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"quantize_model: model must be an nn.Module, got {type(model).__name__}")
    check_bits(bits, "quantize_model: bits")
    check_bits(state_bits, "quantize_model: state_bits", 2, 32)
    work = copy.deepcopy(model)
    driver: _QuantWeighted | None = None
    first = True
    replace: list[tuple[str, nn.Module]] = []
    for name, m in work.named_modules():
        label = name or type(model).__name__
        if isinstance(m, nn.Linear | nn.Conv2d):
            grid = {"input_scale": input_scale, "input_bits": input_bits} if first else {}
            kw = {"bits": bits, "per_channel": per_channel, **grid}
            q = (
                QuantLinear.from_linear(m, **kw)
                if isinstance(m, nn.Linear)
                else QuantConv2d.from_conv(m, **kw)
            )
            replace.append((name, q))
            driver, first = q, False
        elif isinstance(m, Neuron):
            if driver is None:
                raise ValueError(
                    f"quantize_model: neuron {label!r} ({type(m).__name__}) has no Linear/Conv2d before it"
                )
            replace.append(
                (name, QuantLIF.from_neuron(m, driver, state_bits=state_bits, decay_bits=decay_bits))
            )
            driver = None
        elif m is not work and not isinstance(m, _PASS) and list(m.children()) == []:
            raise ValueError(
                f"quantize_model: {label!r} ({type(m).__name__}) cannot be quantised here; chains of Linear/"
                "Conv2d and LIF/IF (with Flatten, Dropout, Identity, max pooling) are (fold BatchNorm first: "
                "spikekit.convert.fold_batchnorm)"
            )
    for name, q in replace:
        if not name:  # the model itself is one layer
            return q
        parent_name, _, attr = name.rpartition(".")
        setattr(work.get_submodule(parent_name), attr, q)
    return work


@contextlib.contextmanager
def record_integer(model: nn.Module) -> Iterator[dict[str, list[tuple[torch.Tensor, torch.Tensor]]]]:
    """Collect every :class:`QuantLIF`'s ``(spikes, integer membrane before the reset)`` per call, by name.

    Example:
        >>> with record_integer(qmodel) as rec:
        ...     qmodel(images)
        >>> spikes, v_int = rec["hidden.0"][0]
    """
    layers = {n: m for n, m in model.named_modules() if isinstance(m, QuantLIF)}
    out: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
    for n, m in layers.items():
        out[n] = m.recording = []
    try:
        yield out
    finally:
        for m in layers.values():
            m.recording = None
