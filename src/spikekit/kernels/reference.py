"""The reference multi-step loop and backend selection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .._checks import check_choice

BACKENDS = ("auto", "torch")

Step = Callable[[torch.Tensor, Any, Any], tuple[torch.Tensor, torch.Tensor, Any]]


def available_backends(step: Step | None = None) -> list[str]:
    """Backends that can run ``step`` on this machine, fastest first."""
    return ["torch"]


def resolve_backend(backend: str, step: Step | None = None) -> str:
    """Map ``"auto"`` to a concrete backend; raise on an unknown or unavailable one."""
    check_choice(backend, "backend", BACKENDS)
    if backend == "auto":
        return available_backends(step)[0]
    if backend not in available_backends(step):
        raise RuntimeError(
            f"backend {backend!r} is not available here; available: {available_backends(step)}"
        )
    return backend


def multistep(
    step: Step,
    x: torch.Tensor,
    state: Any,
    params: Any,
    *,
    record_v: bool = False,
    backend: str = "torch",
) -> tuple[torch.Tensor, Any, torch.Tensor | None]:
    """Run ``step`` over the time axis of ``x``.

    Args:
        step: a functional core step ``(x_t, state, params) -> (out_t, v_t, state)``.
        x: input ``[T, B, ...]``.
        state: the state before step 0.
        params: the neuron's parameter object.
        record_v: also stack and return the observed membrane of every step.
        backend: ``"torch"`` or ``"auto"``.

    Returns:
        ``(out [T, B, ...], final state, v [T, B, ...] or None)``.
    """
    resolve_backend(backend, step)
    outs, vs = [], []
    # unbind, not x[t]: indexing inside a recorded loop makes backward O(T^2).
    for x_t in x.unbind(0):
        out, v, state = step(x_t, state, params)
        outs.append(out)
        if record_v:
            vs.append(v)
    return torch.stack(outs), state, (torch.stack(vs) if record_v else None)
