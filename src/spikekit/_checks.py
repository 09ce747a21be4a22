"""Input validation shared by the whole package.

Every check raises ``ValueError`` or ``TypeError`` whose message names the argument, what was given
and what is accepted. Nothing is clamped, broadcast or re-created silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


def check_tensor(x: Any, name: str) -> torch.Tensor:
    """Raise ``TypeError`` unless ``x`` is a tensor."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    return x


def check_finite(x: torch.Tensor, name: str) -> torch.Tensor:
    """Raise ``ValueError`` if ``x`` holds NaN or an infinity."""
    check_tensor(x, name)
    # One reduction first: a NaN or an infinity makes the sum non-finite; only then (or if a large sum
    # overflowed) look element by element.
    if (
        x.is_floating_point()
        and not bool(torch.isfinite(x.detach().sum()))
        and not bool(torch.isfinite(x.detach()).all())
    ):
        n_nan = int(torch.isnan(x).sum())
        n_inf = int(torch.isinf(x).sum())
        raise ValueError(
            f"{name} must be finite, got {n_nan} NaN and {n_inf} infinite value(s) "
            f"in a tensor of shape {tuple(x.shape)}"
        )
    return x


def check_time_first(x: torch.Tensor, name: str, min_dim: int = 3) -> torch.Tensor:
    """Raise ``ValueError`` unless ``x`` is a time-first sequence ``[T, B, ...]`` with ``T >= 1``."""
    check_tensor(x, name)
    if x.dim() < min_dim:
        layout = "[T, B, N]" if min_dim == 3 else "[T, B, ...]"
        raise ValueError(
            f"{name} must be a time-first sequence {layout} with at least {min_dim} dimensions, "
            f"got shape {tuple(x.shape)}; add the missing time (or batch) axis, "
            "or use step() for a single time step"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name} must have at least one time step, got shape {tuple(x.shape)}")
    return x


def check_probability(x: torch.Tensor, name: str) -> torch.Tensor:
    """Raise ``ValueError`` unless every value of ``x`` lies in [0, 1] (NaN included)."""
    check_finite(x, name)
    if x.numel() and (bool((x < 0).any()) or bool((x > 1).any())):
        raise ValueError(
            f"{name} must hold probabilities in [0, 1], got values in "
            f"[{float(x.min()):.4g}, {float(x.max()):.4g}]"
        )
    return x


def check_positive_int(value: Any, name: str) -> int:
    """Raise unless ``value`` is an int >= 1 (``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= 1, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be an int >= 1, got {value}")
    return value


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_range(
    value: float | torch.Tensor,
    name: str,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float | torch.Tensor:
    """Raise ``ValueError`` unless every value lies in the interval between ``low`` and ``high``.

    ``low_open``/``high_open`` exclude that end. Works for floats and tensors.
    """
    t = torch.as_tensor(value.detach() if isinstance(value, torch.Tensor) else value)
    bad_low = (t <= low) if low_open else (t < low)
    bad_high = (t >= high) if high_open else (t > high)
    if bool(torch.isnan(t).any()) or bool(bad_low.any()) or bool(bad_high.any()):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        shown = (
            f"{float(t):.6g}" if t.numel() == 1 else f"values in [{float(t.min()):.4g}, {float(t.max()):.4g}]"
        )
        raise ValueError(f"{name} must lie in {interval}, got {shown}")
    return value
