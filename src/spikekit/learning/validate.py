"""Argument checks shared by the learning rules and the models built on them (loud errors naming the
argument, its value and what is accepted).

Public so that :mod:`spikekit.models.diehl_cook` (another package) validates its parameters the same way.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .._checks import available_memory

__all__ = ["bounds", "decay", "fits_in_memory", "nonnegative", "positive", "real", "time_constant"]


def real(value: Any, name: str) -> float:
    """``value`` as a finite float (``TypeError`` for non-numbers and bools, ``ValueError`` for NaN/inf)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def positive(value: Any, name: str) -> float:
    """A finite float > 0 (time constants, time steps)."""
    v = real(value, name)
    if v <= 0:
        raise ValueError(f"{name} must be > 0, got {v!r}")
    return v


def time_constant(value: Any, name: str) -> float:
    """A time constant: a float > 0, possibly ``inf`` (no decay)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == math.inf:
        return math.inf
    v = real(value, name)
    if v <= 0:
        raise ValueError(f"{name} must be a time constant > 0 (in the units of dt), got {v!r}")
    return v


def nonnegative(value: Any, name: str) -> float:
    """A finite float >= 0 (learning rates, amplitudes)."""
    v = real(value, name)
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {v!r}")
    return v


def decay(tau: float, dt: float) -> float:
    """Per-step decay factor ``exp(-dt / tau)`` of an exponential trace (1.0 for ``tau = inf``)."""
    return 1.0 if math.isinf(tau) else math.exp(-dt / tau)


def bounds(
    w_min: Any, w_max: Any, owner: str, *, allow_none: bool = False
) -> tuple[float | None, float | None]:
    """Validate a weight interval ``[w_min, w_max]`` (``None`` = unbounded where ``allow_none``)."""
    lo = None if (w_min is None and allow_none) else real(w_min, f"{owner}: w_min")
    hi = None if (w_max is None and allow_none) else real(w_max, f"{owner}: w_max")
    if lo is not None and hi is not None and not lo < hi:
        raise ValueError(f"{owner}: w_min must be smaller than w_max, got w_min={lo:g}, w_max={hi:g}")
    return lo, hi


def fits_in_memory(nbytes: int, what: str, device: torch.device | str | None = None) -> int:
    """Raise ``ValueError`` if ``nbytes`` (what ``what`` would allocate) exceed the machine's memory.

    Called before allocating, so that an absurd size is refused by name instead of failing deep in the
    allocator (or being killed by the operating system). For one tensor of known shape use
    :func:`spikekit._checks.check_allocation`; this takes a total over several tensors of mixed dtypes.
    """
    total = available_memory(device)
    if total is not None and nbytes > total:
        raise ValueError(
            f"{what} needs about {nbytes / 2**30:,.1f} GiB, more than the {total / 2**30:,.1f} GiB of memory "
            "of this machine; use smaller sizes"
        )
    return nbytes
