"""Exponential spike traces, the memory of every STDP rule.

Between spikes a trace decays as ``x <- x * exp(-dt / tau)``. At a spike ``s`` (1 for a spike) it is

- ``"all-to-all"``: incremented, ``x <- x + s``, so it sums every past spike and each spike pairs with
  all earlier spikes of the other side;
- ``"nearest"``: reset to the spike, ``x <- s`` where ``s > 0``, so only the most recent spike counts
  (the symmetric nearest-spike scheme of Morrison, Diesmann & Gerstner 2008).
"""

from __future__ import annotations

import torch

from .._checks import check_choice

__all__ = ["PAIRINGS", "bump", "trace_sequence"]

PAIRINGS = ("all-to-all", "nearest")


def check_pairing(pairing: str, owner: str) -> str:
    return check_choice(pairing, f"{owner}: pairing", PAIRINGS)


def bump(x: torch.Tensor, s: torch.Tensor, pairing: str) -> torch.Tensor:
    """Add this step's spikes ``s`` to the (already decayed) trace ``x``."""
    if pairing == "all-to-all":
        return x + s
    return torch.where(s > 0, s, x)


def trace_sequence(
    s: torch.Tensor, x0: torch.Tensor, decay: float, pairing: str, *, include_current: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Trace values at every step of ``s`` ``[T, B, ...]``, starting from ``x0``.

    Args:
        include_current: ``True`` gives the trace after this step's spike was added; ``False`` the trace
            just before it (decayed only), as the ``t - epsilon`` values of the rules need.

    Returns:
        ``(values [T, B, ...], final trace)``; the final trace always includes the last step's spikes.
    """
    out = torch.empty_like(s)
    x = x0
    for t in range(s.shape[0]):
        x = x * decay
        if include_current:
            x = bump(x, s[t], pairing)
            out[t] = x
        else:
            out[t] = x
            x = bump(x, s[t], pairing)
    return out, x
