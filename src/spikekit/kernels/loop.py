"""The reference loop itself: the functional core's ``step`` applied over time, recorded by autograd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

Step = Callable[[torch.Tensor, Any, Any], tuple[torch.Tensor, torch.Tensor, Any]]


def loop(step: Step, x: torch.Tensor, state: Any, params: Any, *, record_v: bool):
    """``(out [T, ...], final state, v [T, ...] or None)``: ``step`` over the time axis of ``x``."""
    outs, vs = [], []
    # unbind, not x[t]: indexing inside a recorded loop makes backward O(T^2).
    for x_t in x.unbind(0):
        out, v, state = step(x_t, state, params)
        outs.append(out)
        if record_v:
            vs.append(v)
    return torch.stack(outs), state, (torch.stack(vs) if record_v else None)
