"""The reference multi-step loop and backend selection.

Backends:

- ``"torch"``: the plain loop over the functional core's ``step``, recorded by autograd. The reference;
  runs every neuron on every device.
- ``"fused"``: one loop over time outside autograd's graph with a hand-written backward through time
  (:mod:`spikekit.kernels.fused`), compiled C++ on the CPU, PyTorch elsewhere. The neurons whose
  spec names a fused family (``NeuronSpec.fused``).
- ``"triton"``: the same with Triton kernels; CUDA tensors (or any tensor with ``TRITON_INTERPRET=1``,
  for testing on a CPU). Needs the ``triton`` package.
- ``"auto"``: the fastest available for the step and the input's device: ``triton`` then ``fused`` then
  ``torch`` on CUDA, ``fused`` then ``torch`` on the CPU.

Asking for a backend that is not available raises ``RuntimeError`` naming the available ones; there is
no silent fallback to another backend.

Under ``torch.compile`` every backend runs the reference loop: the backend is still resolved (an
unavailable one still raises), but the fused engines' autograd functions call compiled code that dynamo
cannot trace, while the loop over the functional core is plain PyTorch that dynamo traces and inductor
fuses into a kernel of its own (see "Backends" in docs/conventions.md).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

import torch

from .._checks import check_choice, compiling
from .loop import loop

BACKENDS = ("auto", "torch", "fused", "triton")

Step = Callable[[torch.Tensor, Any, Any], tuple[torch.Tensor, torch.Tensor, Any]]


def triton_usable(device: torch.device | str | None = None) -> bool:
    """Whether Triton kernels can run on ``device`` (``None``: on some device of this machine)."""
    if importlib.util.find_spec("triton") is None:
        return False
    if os.environ.get("TRITON_INTERPRET") == "1":
        return True
    if device is None:
        return torch.cuda.is_available()
    return torch.device(device).type == "cuda" and torch.cuda.is_available()


def available_backends(step: Step | None = None, device: torch.device | str | None = None) -> list[str]:
    """Backends that can run ``step`` on ``device`` here, fastest first.

    Without ``step``: every backend that runs some neuron here. Without ``device``: any device here.
    """
    from .dispatch import supports

    fast = step is None or supports(step)
    tri = step is None or supports(step, "triton")
    on_cuda = device is not None and torch.device(device).type == "cuda"
    names = []
    if tri and triton_usable(device) and (on_cuda or (device is None and torch.cuda.is_available())):
        names.append("triton")
    if fast:
        names.append("fused")
    names.append("torch")
    if tri and triton_usable(device) and "triton" not in names:
        names.append("triton")  # the interpreter: correct but slow, never chosen by "auto"
    return names


def resolve_backend(backend: str, step: Step | None = None, device: torch.device | str | None = None) -> str:
    """Map ``"auto"`` to a concrete backend; raise on an unknown or unavailable one."""
    check_choice(backend, "backend", BACKENDS)
    names = available_backends(step, device)
    if backend == "auto":
        return names[0]
    if backend not in names:
        what = f" for {getattr(step, '__name__', step)}" if step is not None else ""
        where = f" on {torch.device(device).type}" if device is not None else ""
        raise RuntimeError(f"backend {backend!r} is not available{what}{where}; available: {names}")
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
        record_v: also return the observed membrane of every step.
        backend: ``"torch"``, ``"fused"``, ``"triton"`` or ``"auto"`` (see the module docstring).

    Returns:
        ``(out [T, B, ...], final state, v [T, B, ...] or None)``.

    Raises:
        TypeError: ``x`` not a floating-point tensor (bool, integer and complex are refused), a state that
            is not the step's state ``NamedTuple`` or not in ``x``'s dtype.
        ValueError: unknown backend; ``x`` with fewer than 2 dimensions, no time step, NaN or infinite
            values, or on the meta device; a state field not shaped like one step of ``x``, on another
            device or not finite; a parameter tensor on another device; a final state that overflowed
            (non-finite from finite inputs: the input is too large for the dtype).
        RuntimeError: a backend that cannot run ``step`` on ``x``'s device.
    """
    from ._validate import check_final_state, check_sequence

    owner = check_sequence(step, x, state, params)  # before any engine runs
    out, state, v = run_checked(step, x, state, params, record_v=record_v, backend=backend)
    check_final_state(owner, state, x.dtype)
    return out, state, v


def run_checked(step: Step, x: torch.Tensor, state: Any, params: Any, *, record_v: bool, backend: str):
    """:func:`multistep` on arguments already validated (``check_sequence``), without the final check."""
    name = resolve_backend(backend, step, x.device)
    if name != "torch" and not compiling():  # compiled: the loop, which dynamo traces (module docstring)
        from .dispatch import run

        return run(step, x, state, params, record_v=record_v, backend=name)
    return loop(step, x, state, params, record_v=record_v)
