"""Quantisation-aware training and integer export of spiking models (layer 4, like ``convert``).

- :mod:`~spikekit.quant.fake`: fake quantisation (symmetric int8/int4..., per-tensor or per-channel scales)
  with straight-through gradients.
- :func:`quantize_model`: wraps a model's Linear/Conv2d weights and LIF/IF membranes
  (:class:`QuantLinear`, :class:`QuantConv2d`, :class:`QuantLIF`) for QAT; its forward is exactly the
  integer arithmetic below.
- :func:`export_integer` / :func:`simulate_integer`: integer weights and scales, fixed-point thresholds and
  decays, and a pure int64 reference simulation that matches the quantised model bit for bit.

See docs/delays-and-quantization.md.
"""

from .fake import check_bits, fake_quant, floor_ste, qrange, quantize, round_ste, weight_scale
from .integer import IntegerLayer, IntegerModel, IntegerRun, export_integer, quantize_input, simulate_integer
from .modules import (
    DECAY_BITS,
    QuantConv2d,
    QuantLIF,
    QuantLinear,
    QuantState,
    quantize_model,
    record_integer,
)

__all__ = [
    "fake_quant",
    "quantize",
    "weight_scale",
    "qrange",
    "check_bits",
    "round_ste",
    "floor_ste",
    "QuantLinear",
    "QuantConv2d",
    "QuantLIF",
    "QuantState",
    "DECAY_BITS",
    "quantize_model",
    "record_integer",
    "IntegerLayer",
    "IntegerModel",
    "IntegerRun",
    "export_integer",
    "quantize_input",
    "simulate_integer",
]
