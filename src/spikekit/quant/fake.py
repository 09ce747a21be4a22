"""Fake quantisation: the rounding, clipping and scales every quantised module uses, with straight-through
gradients.

Symmetric signed integers of ``bits`` bits hold ``[-(2^(bits-1) - 1), 2^(bits-1) - 1]`` (int8: -127..127,
int4: -7..7; the most negative code is left out so that zero sits in the middle). Unsigned ones (inputs such
as pixels, spikes) hold ``[0, 2^bits - 1]``. A scale ``s`` maps the integer ``q`` to the real value ``s q``.

The gradient of :func:`fake_quant` is the straight-through estimator: 1 where the input lies inside the clip
range ``[lo s, hi s]`` and 0 outside (the clip's own gradient), the rounding passed through unchanged.
"""

from __future__ import annotations

import torch

from .._checks import check_floating

__all__ = [
    "qrange",
    "check_bits",
    "weight_scale",
    "fake_quant",
    "quantize",
    "round_ste",
    "floor_ste",
]


def check_bits(bits: object, name: str, low: int = 2, high: int = 16) -> int:
    """``bits`` if it is an int in ``[low, high]``, else ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise TypeError(f"{name} must be an int in [{low}, {high}], got {type(bits).__name__} {bits!r}")
    if not low <= bits <= high:
        raise ValueError(f"{name} must be an int in [{low}, {high}], got {bits}")
    return bits


def qrange(bits: int, signed: bool = True) -> tuple[int, int]:
    """The integer range ``(lo, hi)``: symmetric ``(-(2^(b-1) - 1), 2^(b-1) - 1)`` or ``(0, 2^b - 1)``."""
    if signed:
        hi = 2 ** (bits - 1) - 1
        return -hi, hi
    return 0, 2**bits - 1


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """``round(x)`` (half to even, as ``torch.round``) forward, identity backward."""
    return x + (torch.round(x) - x).detach()


def floor_ste(x: torch.Tensor) -> torch.Tensor:
    """``floor(x)`` forward, identity backward (the fixed-point decay's ``>>``)."""
    return x + (torch.floor(x) - x).detach()


def weight_scale(w: torch.Tensor, bits: int, per_channel: bool = True) -> torch.Tensor:
    """Symmetric max scaling, ``max |w| / (2^(bits-1) - 1)``, one per output channel (dim 0) or one for the
    tensor, returned (detached, float64) with one value per output channel either way. An all-zero channel
    gets scale 1 (its weights quantise to 0)."""
    check_floating(w, "weight_scale: w")
    if w.dim() == 0:
        raise ValueError("weight_scale: w must have at least one dimension (the output channels)")
    _, hi = qrange(check_bits(bits, "weight_scale: bits"))
    a = w.detach().to(torch.float64).abs()
    amax = a.flatten(1).amax(1) if per_channel and w.dim() > 1 else a.max().expand(w.shape[0])
    return torch.where(amax > 0, amax / hi, torch.ones_like(amax)).contiguous()


def _broadcast(scale: torch.Tensor | float, x: torch.Tensor, axis: int) -> torch.Tensor:
    s = torch.as_tensor(scale, dtype=x.dtype, device=x.device)
    if s.dim() == 0 or s.numel() == 1:
        return s.reshape(())
    if s.dim() != 1 or x.dim() <= axis % max(x.dim(), 1) or s.shape[0] != x.shape[axis]:
        raise ValueError(
            f"scale must be one number or one per channel ({x.shape[axis] if x.dim() else '?'} along "
            f"axis {axis}), got shape {tuple(s.shape)}"
        )
    shape = [1] * x.dim()
    shape[axis] = -1
    return s.reshape(shape)


def _check_scale(scale: torch.Tensor | float) -> None:
    s = torch.as_tensor(scale)
    if not bool(torch.isfinite(s).all()) or bool((s <= 0).any()):
        raise ValueError(f"scale must be finite and > 0, got {s if s.numel() < 8 else tuple(s.shape)}")


def quantize(
    x: torch.Tensor, scale: torch.Tensor | float, bits: int, signed: bool = True, axis: int = 0
) -> torch.Tensor:
    """The integer codes ``clamp(round(x / s), lo, hi)`` of ``x`` as int64 (what :func:`fake_quant` keeps,
    divided by the scale). ``scale``: one number, or one per channel along ``axis``."""
    check_floating(x, "quantize: x")
    _check_scale(scale)
    lo, hi = qrange(check_bits(bits, "quantize: bits", 1, 32), signed)
    xd = x.detach().to(torch.float64)
    s = _broadcast(scale, xd, axis)
    xc = torch.clamp(xd, lo * s, hi * s)
    return torch.round(xc / s).clamp(lo, hi).to(torch.int64)


def fake_quant(
    x: torch.Tensor, scale: torch.Tensor | float, bits: int, signed: bool = True, axis: int = 0
) -> torch.Tensor:
    """``s * clamp(round(x / s), lo, hi)`` with the straight-through gradient (1 inside ``[lo s, hi s]``,
    0 outside). ``scale``: one number, or one per channel along ``axis`` (dim 0 of a weight)."""
    check_floating(x, "fake_quant: x")
    _check_scale(scale)
    lo, hi = qrange(check_bits(bits, "fake_quant: bits", 1, 32), signed)
    s = _broadcast(scale, x, axis).detach()
    xc = torch.clamp(x, lo * s, hi * s)  # gradient 1 inside (ends included), 0 outside
    return xc + (torch.round(xc / s).clamp(lo, hi) * s - xc).detach()
