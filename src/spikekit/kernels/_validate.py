"""Checks every engine entry point runs before any engine (compiled or not) touches a tensor.

Two levels:

- :func:`check_sequence` / :func:`check_final_state`: what a *user* passes to
  :func:`spikekit.kernels.multistep` (and through it every neuron module): the input ``x [T, B, ...]``, the
  state (one tensor per field, shaped like one step, in ``x``'s dtype and on its device, finite) and the
  parameters' tensors (on ``x``'s device); after the run, the final state must still be finite (else the
  input overflowed the dtype).
- :func:`check_engine`: what an *engine function* receives (``x [T, M]``, states and per-neuron
  parameters ``[M]``, contiguous, in the dtypes the engine computes in, on its device). The fused
  functions pass exactly that; a direct call with anything else is refused here, before the C++ or
  Triton code indexes memory it does not own (the C++ source checks its sizes once more).

Every check looks at metadata only, except the finiteness checks: one reduction each.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from .._checks import (
    check_finite,
    check_floating,
    check_has_values,
    check_no_overflow,
    check_state,
    check_tensor,
)
from ..functional.spec import spec_of


def owner_of(step: Any) -> str:
    """The neuron's name for messages (its spec's name), else the step function's name."""
    spec = spec_of(step)
    return spec.name if spec is not None else f"multistep({getattr(step, '__name__', type(step).__name__)})"


def check_params(owner: str, params: Any, x: torch.Tensor) -> None:
    """Raise unless every tensor among ``params``' fields is real, has values and is on ``x``'s device
    (a 0-d CPU tensor is accepted anywhere, as PyTorch does)."""
    if not dataclasses.is_dataclass(params):
        return
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if not isinstance(value, torch.Tensor):
            continue
        name = f"{owner}: params.{f.name}"
        check_has_values(value, name)
        if value.is_complex() or value.dtype == torch.bool:
            raise TypeError(f"{name} must be a real tensor, got dtype {value.dtype}")
        if value.device != x.device and not (value.dim() == 0 and value.device.type == "cpu"):
            raise ValueError(
                f"{name} is on {value.device}, but x is on {x.device}; move the module to x's device"
            )


def check_sequence(step: Any, x: Any, state: Any, params: Any) -> str:
    """Validate ``multistep``'s arguments (module docstring); returns the owner's name for messages."""
    owner = owner_of(step)
    check_floating(x, f"{owner}: x")
    if x.dim() < 2:
        raise ValueError(
            f"{owner}: x must be a time-first sequence [T, B, ...] with at least 2 dimensions, got shape "
            f"{tuple(x.shape)}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{owner}: x must have at least one time step (T >= 1), got shape {tuple(x.shape)}")
    check_finite(x, f"{owner}: x")
    spec = spec_of(step)
    check_state(owner, state, x[0], spec.state if spec is not None else None)
    check_params(owner, params, x)
    return owner


def check_final_state(owner: str, state: Any, dtype: torch.dtype) -> None:
    """Raise if the state a run returned is not finite (its inputs were: the dtype overflowed)."""
    check_no_overflow(tuple(state), f"{owner}: the state", dtype)


def check_per_neuron(owner: str, name: str, p: torch.Tensor, step_shape: torch.Size) -> None:
    """Raise unless parameter ``p`` broadcasts to one step's shape (the fused engines expand it to
    ``[M]``)."""
    # NumPy's rule, by hand: torch.broadcast_shapes imports sympy (half a second of every first call)
    dims = zip(reversed(p.shape), reversed(step_shape), strict=False)  # the trailing dimensions
    if p.dim() > len(step_shape) or not all(a in (1, b) for a, b in dims):
        raise ValueError(
            f"{owner}: {name} has shape {tuple(p.shape)}, which does not broadcast to one step's shape "
            f"{tuple(step_shape)}; give one value (shape ()) or one per neuron"
        )


# --- engine functions --------------------------------------------------------------------------------
def check_engine(
    fn: str,
    x: torch.Tensor,
    *,
    dtypes: tuple[torch.dtype, ...],
    device: str | None,
    param_dtype: torch.dtype | None,
    seqs: dict[str, torch.Tensor | None] | None = None,
    vecs: dict[str, torch.Tensor | None] | None = None,
    params: dict[str, torch.Tensor | None] | None = None,
    scalar_params: bool = False,
    broadcast_rows: bool = False,
) -> None:
    """Raise unless an engine function's tensors fit each other (module docstring).

    ``x`` (and every ``seqs`` entry) must be ``[T, M]``, ``vecs`` ``[M]``, both in ``x``'s dtype;
    ``params`` ``[M]`` in ``param_dtype`` (``None``: any floating dtype; ``scalar_params``: 0-d allowed too);
    all contiguous and on ``x``'s device (of type ``device`` unless ``None``). ``None`` entries are absent.
    ``broadcast_rows``: ``x`` and the ``seqs`` may also hold one contiguous row for every step (row stride
    0, as ``row.expand(T, M)``), which the engine reads without a copy.
    """
    where = f"spikekit engine {fn}"
    check_tensor(x, f"{where}: x")
    if x.dim() != 2:
        raise ValueError(f"{where}: x must be [T, M] (steps, neurons), got shape {tuple(x.shape)}")
    if x.dtype not in dtypes:
        raise TypeError(f"{where}: x must have one of the dtypes {[str(d) for d in dtypes]}, got {x.dtype}")
    if device is not None and x.device.type != device:
        raise ValueError(f"{where}: x must be on a {device} device, got {x.device}")
    check_has_values(x, f"{where}: x")
    steps, m = x.shape
    groups = (
        (seqs or {}, (steps, m), x.dtype, "[T, M]"),
        (vecs or {}, (m,), x.dtype, "[M]"),
        (params or {}, (m,), param_dtype, "[M]"),
    )
    for i, (tensors, shape, dtype, layout) in enumerate(groups):
        for name, t in tensors.items():
            if t is None:
                continue
            label = f"{where}: {name}"
            check_tensor(t, label)
            scalar_ok = i == 2 and scalar_params and t.dim() == 0
            if tuple(t.shape) != shape and not scalar_ok:
                raise ValueError(
                    f"{label} must be {layout} = {shape} for x of shape {tuple(x.shape)}, "
                    f"got {tuple(t.shape)}"
                )
            want = dtype if dtype is not None else t.dtype
            if t.dtype != want or not t.is_floating_point():
                raise TypeError(f"{label} must have dtype {want}, got {t.dtype}")
            if t.device != x.device:
                raise ValueError(f"{label} must be on x's device {x.device}, got {t.device}")
            if not t.is_contiguous() and not (i == 0 and broadcast_rows and _time_broadcast(t)):
                also = " (or one contiguous row broadcast over time)" if i == 0 and broadcast_rows else ""
                raise ValueError(f"{label} must be contiguous{also}")
    if not x.is_contiguous() and not (broadcast_rows and _time_broadcast(x)):
        raise ValueError(f"{where}: x must be contiguous (call x.contiguous())")


def _time_broadcast(t: torch.Tensor) -> bool:
    """Whether ``t [T, M]`` is one contiguous row repeated over time (row stride 0)."""
    return t.stride(0) == 0 and (t.stride(1) == 1 or t.shape[1] <= 1)


def check_codes(fn: str, form: Any = None, reset: Any = None, a: torch.Tensor | None = None) -> None:
    """Raise unless ``form`` (an engine form code) and ``reset`` (a reset name) are known, and a decay
    ``a`` is given for the forms that use one."""
    from ._spec import FORM_IF, FORMS, RESETS

    if form is not None:
        if form not in FORMS.values():
            raise ValueError(
                f"spikekit engine {fn}: form must be one of {sorted(FORMS.values())}, got {form!r}"
            )
        if form != FORM_IF and a is None:
            raise ValueError(f"spikekit engine {fn}: form {form} needs the decay a, got None")
    if reset is not None and reset not in RESETS:
        raise ValueError(f"spikekit engine {fn}: reset must be one of {tuple(RESETS)}, got {reset!r}")
