"""Input validation shared by the whole package.

Every check raises ``ValueError`` or ``TypeError`` whose message names the argument, what was given
and what is accepted. Nothing is clamped, broadcast or re-created silently.

Under ``torch.compile`` (:func:`compiling`) the checks on what is known when the graph is traced (types,
shapes, dtypes, devices, Python numbers) run as in eager mode, at trace time. A check on a tensor's
*values* (NaN, infinities, ranges) cannot branch in a graph without breaking it, so it becomes one
in-graph assertion (:func:`assert_in_graph`): the graph stays whole and bad values still stop the call, with
a ``RuntimeError`` that carries the same message (less the counts, which need the values).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch


def compiling() -> bool:
    """Whether the caller is being traced by ``torch.compile`` (dynamo), where a branch on a tensor's values
    would break the graph."""
    return torch.compiler.is_compiling()


def assert_in_graph(ok: torch.Tensor, message: str) -> None:
    """Under compilation: stop the call with ``RuntimeError(message)`` when the boolean tensor ``ok`` is
    false, as an operation of the graph (no data-dependent branch, no graph break)."""
    torch._assert_async(ok, message)


def check_all(ok: torch.Tensor, message: str, got: Callable[[], str]) -> None:
    """Raise ``ValueError(f"{message}, got {got()}")`` unless every value of the boolean tensor ``ok`` is
    true (``got`` describes the values, only when the check fails). Under compilation: an in-graph
    assertion with ``message``."""
    if compiling():
        assert_in_graph(ok.all(), message)
    elif not bool(ok.all()):
        raise ValueError(f"{message}, got {got()}")


def check_tensor(x: Any, name: str) -> torch.Tensor:
    """Raise ``TypeError`` unless ``x`` is a tensor."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    return x


def check_finite(x: torch.Tensor, name: str) -> torch.Tensor:
    """Raise ``ValueError`` if ``x`` holds NaN or an infinity."""
    check_tensor(x, name)
    check_has_values(x, name)
    if compiling():
        if x.is_floating_point() and x.numel():
            assert_in_graph(
                torch.isfinite(x.detach()).all(), f"{name} must be finite, got NaN or infinite values"
            )
        return x
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
    if compiling():
        if x.numel():
            assert_in_graph(((x >= 0) & (x <= 1)).all(), f"{name} must hold probabilities in [0, 1]")
        return x
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
    if isinstance(value, torch.Tensor):
        check_has_values(value, name)
        if value.is_complex() or value.dtype == torch.bool:
            raise TypeError(f"{name} must be a real number or a real tensor, got dtype {value.dtype}")
    if compiling():
        return _check_range_traced(value, name, low, high, low_open, high_open)
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


def _check_range_traced(value, name, low, high, low_open, high_open):
    """:func:`check_range` under compilation: a Python number is checked at trace time, a tensor by an
    in-graph assertion."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if not isinstance(value, torch.Tensor):
        v = float(value)
        bad = math.isnan(v) or (v <= low if low_open else v < low) or (v >= high if high_open else v > high)
        if bad:
            raise ValueError(f"{name} must lie in {interval}, got {v:.6g}")
        return value
    if value.numel():
        t = value.detach()
        ok = (t > low) if low_open else (t >= low)
        ok = ok & ((t < high) if high_open else (t <= high))  # NaN fails both
        assert_in_graph(ok.all(), f"{name} must lie in {interval}")
    return value


def check_has_values(x: torch.Tensor, name: str) -> torch.Tensor:
    """Raise ``ValueError`` if ``x`` lives on the ``meta`` device (a shape without values)."""
    if x.device.type == "meta":
        raise ValueError(
            f"{name} is on the 'meta' device, which holds shapes but no values; "
            "spikekit computes on real devices (cpu, cuda): create it there, or move it with .to(device)"
        )
    return x


_FLOAT_NAMES = "float16, bfloat16, float32 or float64"


def check_floating(x: Any, name: str) -> torch.Tensor:
    """Raise ``TypeError`` unless ``x`` is a real floating-point tensor (``ValueError`` on the meta device).

    Integer, bool and complex tensors are refused by name: the neurons and encoders compute with real
    membrane potentials and probabilities."""
    check_tensor(x, name)
    check_has_values(x, name)
    if not x.is_floating_point():
        if x.is_complex():
            hint = "spikekit computes with real values; pass x.real or x.abs()"
        elif x.dtype == torch.bool:
            hint = "convert it first, e.g. x.float()"
        else:
            hint = "convert it first, e.g. x.float() (or x.float() / 255 for 8-bit images)"
        raise TypeError(
            f"{name} must be a floating-point tensor ({_FLOAT_NAMES}), got dtype {x.dtype}; {hint}"
        )
    return x


def _constant_result(fn):
    """``torch.compiler.assume_constant_result(fn)`` without its import of ``torch._dynamo``, which would
    add over a second to ``import spikekit`` (it sets this attribute and nothing else, in torch 2.x;
    ``tests/test_compile.py`` compiles a model that calls the function with ``fullgraph=True``)."""
    fn._dynamo_marked_constant = True
    return fn


@_constant_result  # compiled: asked once, when the graph is traced
def available_memory(device: torch.device | str | None = None) -> int | None:
    """Bytes of memory on ``device`` (the machine's physical memory for the CPU); ``None`` if unknown."""
    device = torch.device("cpu" if device is None else device)
    if device.type == "cuda":
        try:
            return int(torch.cuda.mem_get_info(device)[1])
        except (RuntimeError, AssertionError):  # pragma: no cover - no driver
            return None
    if device.type != "cpu":
        return None
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def check_allocation(
    shape: Sequence[int] | int, dtype: torch.dtype, name: str, device: torch.device | str | None = None
) -> int:
    """Raise ``ValueError`` if a tensor of ``shape`` (or that many elements) and ``dtype`` would need more
    memory than ``device`` has, *before* anything is allocated. Returns the number of bytes."""
    numel = shape if isinstance(shape, int) else math.prod([int(n) for n in shape])
    size = numel * (torch.finfo(dtype).bits if dtype.is_floating_point else torch.iinfo(dtype).bits) // 8
    limit = available_memory(device)
    if limit is not None and size > limit:
        on_cpu = torch.device(device or "cpu").type == "cpu"
        where = "this machine's memory" if on_cpu else "the device's memory"
        dims = "" if isinstance(shape, int) else f" of shape {tuple(int(n) for n in shape)}"
        raise ValueError(
            f"{name} would need {_bytes(size)} ({numel} values of {dtype}{dims}), more than {where} "
            f"({_bytes(limit)}); use fewer steps or a smaller batch"
        )
    return size


def check_no_overflow(tensors: Iterable[torch.Tensor], name: str, dtype: torch.dtype) -> None:
    """Raise ``ValueError`` if a result computed from finite inputs holds NaN or an infinity.

    One reduction per tensor (their sums, then one ``isfinite``); only if that fails, a count. ``name``
    says whose result it is, e.g. ``"LIF: the state"``.
    """
    tensors = [t.detach() for t in tensors if t.is_floating_point() and t.numel()]
    if not tensors:
        return
    if compiling():
        ok = torch.stack([torch.isfinite(t).all() for t in tensors]).all()
        assert_in_graph(
            ok,
            f"{name} became non-finite although its inputs were finite: the input is too large for {dtype} "
            "and overflowed; scale the input down, or compute in float64",
        )
        return
    sums = torch.stack([t.sum(dtype=torch.float64) if t.dtype != torch.float64 else t.sum() for t in tensors])
    if bool(torch.isfinite(sums).all()):
        return
    n_nan = sum(int(torch.isnan(t).sum()) for t in tensors)
    n_inf = sum(int(torch.isinf(t).sum()) for t in tensors)
    if n_nan == 0 and n_inf == 0:  # a float64 sum overflowed; every value is finite
        return
    big = torch.finfo(dtype).max if dtype.is_floating_point else float("nan")
    raise ValueError(
        f"{name} became non-finite ({n_nan} NaN and {n_inf} infinite value(s)) although its inputs were "
        f"finite: the input is too large for {dtype} (largest finite value {big:.3g}) and overflowed; "
        "scale the input down, or compute in float64"
    )


def check_state(owner: str, state: Any, x_t: torch.Tensor, state_type: type | None = None) -> Any:
    """Raise unless ``state`` is a state ``NamedTuple`` (of ``state_type`` if given) whose every field is a
    finite tensor of ``x_t``'s shape, dtype and device."""
    if state_type is not None and not isinstance(state, state_type):
        raise TypeError(
            f"{owner}: state must be a {state_type.__name__} (as returned by run/step or the core's init), "
            f"got {type(state).__name__}"
        )
    if not isinstance(state, tuple) or not hasattr(state, "_fields"):
        raise TypeError(f"{owner}: state must be the neuron's state NamedTuple, got {type(state).__name__}")
    for field, value in zip(state._fields, state, strict=True):
        name = f"{owner}: state.{field}"
        check_tensor(value, name)
        check_has_values(value, name)
        if value.shape != x_t.shape:
            raise ValueError(
                f"{name} has shape {tuple(value.shape)}, but one input step has shape {tuple(x_t.shape)}; "
                "pass the state returned for this batch, or a resting state of that shape"
            )
        if value.dtype != x_t.dtype:
            raise TypeError(
                f"{name} has dtype {value.dtype}, but x has dtype {x_t.dtype}; the state must be in x's "
                f"dtype (convert one of them, e.g. state.{field}.to(x.dtype))"
            )
        if value.device != x_t.device:
            raise ValueError(
                f"{name} is on {value.device}, but x is on {x_t.device}; move the state to x's device"
            )
        check_finite(value, name)
    return state
