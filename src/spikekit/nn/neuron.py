"""The base of every neuron module: a thin, stateless wrapper around a functional core."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import nn

from .._checks import (
    check_finite,
    check_floating,
    check_no_overflow,
    check_state,
    check_tensor,
    check_time_first,
)
from .._registry import Registry
from ..functional.spec import NeuronSpec
from ..kernels import engine_name, multistep, resolve_backend
from ..surrogate import Surrogate, atan, check_surrogate

Recorder = Callable[[torch.Tensor, torch.Tensor], None]

NEURONS: Registry[type] = Registry("neuron", normalize=str.lower)
"""Every neuron module class by its spec's name (``NEURONS["LIF"] is spikekit.nn.LIF``)."""


class Neuron(nn.Module):
    """A layer of spiking neurons with no hidden state between calls.

    Subclasses set ``spec`` (the neuron's :class:`~spikekit.functional.spec.NeuronSpec`, which gives
    ``State`` and ``core_step``) and implement :meth:`params`; defining the class registers it in
    :data:`NEURONS`. Then:

    - ``forward(x)``: ``x`` is ``[T, B, ...]``; starts from rest; returns the output ``[T, B, ...]``.
    - ``run(x, state)``: the same from ``state`` (``None`` = rest); returns ``(out, final_state)``, so
      running two chunks equals one long call.
    - ``step(x_t, state)``: one step ``[B, ...]``; returns ``(out_t, state)``.
    """

    spec: NeuronSpec
    State: type[NamedTuple]
    core_step: Callable[..., tuple[torch.Tensor, torch.Tensor, Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("spec")
        if spec is not None:
            cls.State = spec.state
            cls.core_step = staticmethod(spec.step)
            NEURONS.register(spec.name, cls)

    def __init__(self, backend: str = "auto") -> None:
        super().__init__()
        resolve_backend(backend, type(self).core_step)
        self.backend = backend
        self._recorders: list[Recorder] = []

    # --- parameters -----------------------------------------------------------------------------
    def params(self) -> Any:
        """The functional core's parameter object, built from this module's tensors."""
        raise NotImplementedError

    def _scalar(self, name: str, value: float, learn: bool, shape: tuple[int, ...] | None) -> None:
        """Register ``name`` as a Parameter (``learn``) or a buffer, shared (``shape=None``) or per neuron.

        Both are created in the default dtype. A buffer also keeps a float64 copy of the value given (its
        *master*, see :meth:`_apply`), so that ``.double()`` gives the number passed, not its float32
        rounding; a Parameter is the user's from then on, like every torch Parameter.
        """
        if isinstance(value, bool) or not isinstance(value, (int, float, torch.Tensor)):
            raise TypeError(f"{type(self).__name__}: {name} must be a float, got {type(value).__name__}")
        t = torch.as_tensor(value, dtype=torch.get_default_dtype()).detach().clone()
        if isinstance(value, torch.Tensor):
            exact = value.detach().to("cpu").to(torch.float64, copy=True)
        else:
            exact = torch.tensor(value, dtype=torch.float64, device="cpu")
        if shape is not None:
            t, exact = (u.expand(shape).clone() if u.dim() == 0 else u for u in (t, exact))
            if tuple(t.shape) != tuple(shape):
                raise ValueError(
                    f"{type(self).__name__}: {name} has shape {tuple(t.shape)}, expected {shape}"
                )
        if learn:
            self.register_parameter(name, nn.Parameter(t))
        else:
            self.register_buffer(name, t)
            self.__dict__.setdefault("_float64", {})[name] = exact

    # --- float64 masters of the constant buffers ---------------------------------------------------
    # A buffer made by _scalar is materialised from its master whenever its dtype changes; the master
    # follows the buffer when the buffer is changed (in place, replaced, or by load_state_dict).
    def _masters(self) -> dict[str, torch.Tensor]:
        return self.__dict__.get("_float64", {})

    def _casts(self, name: str) -> torch.Tensor | None:
        """The buffer ``name`` if it is a real floating-point tensor (not missing, integer or on 'meta')."""
        buf = self._buffers.get(name)
        ok = buf is not None and buf.is_floating_point() and buf.device.type != "meta"
        return buf if ok else None

    @staticmethod
    def _holds(buf: torch.Tensor, value: torch.Tensor) -> bool:
        """Whether ``buf`` is ``value`` in ``buf``'s dtype (unchanged since it was made from ``value``)."""
        if value.device.type == "meta" or value.shape != buf.shape:
            return False
        return torch.equal(buf, value.to(device=buf.device, dtype=buf.dtype))

    def _apply(self, fn: Callable[..., Any], recurse: bool = True) -> Neuron:
        """As :meth:`torch.nn.Module._apply`; a constant buffer whose dtype it changes is remade from its
        float64 master in the new dtype (``.float().double()`` gives back the numbers given)."""
        masters, before = self._masters(), {}
        for name in masters:
            buf = self._casts(name)
            if buf is not None:
                if not self._holds(buf, masters[name]):  # changed by the user: that is the value now
                    masters[name] = buf.detach().to("cpu").to(torch.float64, copy=True)
                before[name] = buf.dtype
        result = super()._apply(fn, recurse)
        for name, dtype in before.items():
            buf = self._casts(name)
            if buf is not None and buf.dtype != dtype:
                self._buffers[name] = masters[name].to(device=buf.device, dtype=buf.dtype)
        return result

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ) -> None:
        """As torch's; a constant buffer's master becomes the value loaded, in full (a float64 state dict
        loaded into a float32 module keeps its float64 numbers for a later ``.double()``)."""
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        masters = self._masters()
        for name in masters:
            value, buf = state_dict.get(prefix + name), self._casts(name)
            if isinstance(value, torch.Tensor) and value.is_floating_point() and buf is not None:
                if self._holds(buf, value):  # loaded (not refused)
                    masters[name] = value.detach().to("cpu").to(torch.float64, copy=True)

    @staticmethod
    def _surrogate(surrogate: Surrogate | None) -> Surrogate:
        return atan() if surrogate is None else check_surrogate(surrogate)

    # --- running --------------------------------------------------------------------------------
    def init_state(self, x_t: torch.Tensor) -> NamedTuple:
        """The resting state (all zeros) for one input step ``x_t`` of shape ``[B, ...]``."""
        return self.State(*(torch.zeros_like(x_t) for _ in self.State._fields))

    def _check_state(self, state: Any, x_t: torch.Tensor) -> NamedTuple:
        """``state`` if it is this neuron's state: fields finite, of ``x_t``'s shape, dtype and device."""
        return check_state(type(self).__name__, state, x_t, self.State)

    def run(self, x: torch.Tensor, state: NamedTuple | None = None) -> tuple[torch.Tensor, NamedTuple]:
        """Run over ``x`` ``[T, B, ...]`` from ``state`` (``None``: rest). Returns ``(out, final_state)``."""
        out, _, state = self._run(x, state, record_v=bool(self._recorders))
        return out, state

    def trace(
        self, x: torch.Tensor, state: NamedTuple | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, NamedTuple]:
        """Like :meth:`run`, also returning the membrane of every step (for membrane readouts).

        Returns:
            ``(out [T, B, ...], v [T, B, ...], final_state)``; ``v`` is what :func:`record` records.
        """
        return self._run(x, state, record_v=True)

    def _run(self, x: torch.Tensor, state: NamedTuple | None, record_v: bool):
        name = type(self).__name__
        check_time_first(x, f"{name}: x")
        check_floating(x, f"{name}: x")
        state = self.init_state(x[0]) if state is None else state
        params = self.params()
        # multistep checks x (finite), the state (type, shape, dtype, device, finite) and, after the run,
        # that the state did not overflow, before and after any engine runs
        out, state, v = multistep(
            type(self).core_step, x, state, params, record_v=record_v, backend=self.backend
        )
        for rec in self._recorders:
            rec(out, v)
        return out, v, state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run over ``x`` ``[T, B, ...]`` from rest; return the output ``[T, B, ...]``."""
        return self.run(x)[0]

    def step(self, x_t: torch.Tensor, state: NamedTuple | None = None) -> tuple[torch.Tensor, NamedTuple]:
        """One time step ``x_t`` ``[B, ...]`` from ``state`` (``None``: rest). Returns ``(out_t, state)``."""
        name = type(self).__name__
        check_tensor(x_t, f"{name}: x_t")
        if x_t.dim() < 2:
            raise ValueError(
                f"{name}: x_t must be one time step [B, ...] with at least 2 dims, got {tuple(x_t.shape)}"
            )
        check_floating(x_t, f"{name}: x_t")
        check_finite(x_t, f"{name}: x_t")
        state = self.init_state(x_t) if state is None else self._check_state(state, x_t)
        out, v, state = type(self).core_step(x_t, state, self.params())
        check_no_overflow(tuple(state), f"{name}: the state", x_t.dtype)
        for rec in self._recorders:
            rec(out.unsqueeze(0), v.unsqueeze(0))
        return out, state

    def engine(self, x: torch.Tensor | None = None, device: torch.device | str | None = None) -> str:
        """What a call on ``x`` runs (``None``: one step of this neuron's shape, in its dtype, on ``device``
        or, without one, where its tensors are).

        ``"fused:cpp"`` (the C++ engine), ``"fused:torch"`` (the fused algorithm in PyTorch operations,
        e.g. for a user-defined surrogate), ``"triton"``, or ``"reference"`` (the loop over the functional
        core: ``backend="torch"``, a neuron or configuration no fast engine supports, or under
        ``torch.compile``, which compiles that loop). ``backend="auto"`` takes the first of these that
        supports the call; every one gives the reference loop's spikes (tested).
        """
        if x is None:
            tensors = [t for t in (*self.parameters(), *self.buffers()) if t.is_floating_point()]
            dtype = tensors[0].dtype if tensors else torch.get_default_dtype()
            if device is None:
                device = tensors[0].device if tensors else "cpu"
            x = torch.zeros(1, *self._step_shape(), dtype=dtype, device=device)
        step = type(self).core_step
        backend = resolve_backend(self.backend, step, x.device)
        if backend == "torch":
            return "reference"
        name = engine_name(step, x, self.params(), backend)
        return name if name in ("reference", "triton") else f"fused:{name}"

    def _step_shape(self) -> tuple[int, ...]:
        """The shape of one sample's step that :meth:`engine` asks about: a per-neuron parameter's shape
        (the first one), else one neuron."""
        shaped = [t for t in (*self.parameters(), *self.buffers()) if t.is_floating_point() and t.dim() > 0]
        return tuple(shaped[0].shape) if shaped else (1,)

    def extra_repr(self) -> str:
        backend = repr(self.backend)
        if self.backend == "auto":
            try:
                backend += f" -> {self.engine()}"
            except (RuntimeError, ValueError, TypeError):  # e.g. tensors on 'meta': say what was asked only
                pass
        return f"{self._describe()}, backend={backend}"

    def _describe(self) -> str:
        p = self.params()
        parts = []
        for key, value in vars(p).items():
            if isinstance(value, torch.Tensor):
                value = f"{value.item():.4g}" if value.numel() == 1 else f"tensor{tuple(value.shape)}"
            parts.append(f"{key}={value}")
        return ", ".join(parts)
