"""``LinearLIF``: a Linear layer and a LIF layer in one module, with an opt-in low-memory backward.

The equations are those of :func:`spikekit.kernels.linear_lif` (``I = x W^T + b``, then LIF over time);
this module holds the Linear's weights and the neuron's parameters and calls that core.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as tf
from torch import nn

from .. import functional as F
from .._checks import (
    check_choice,
    check_finite,
    check_floating,
    check_has_values,
    check_no_overflow,
    check_positive_int,
    check_tensor,
    check_time_first,
)
from ..kernels import resolve_backend
from ..kernels.linear_lif import MEMORY_MODES, linear_lif
from ..surrogate import Surrogate
from .neurons import LIF, Shape

__all__ = ["LinearLIF"]


class LinearLIF(nn.Module):
    """``LIF(Linear(x))`` as one layer: ``I_t = x_t W^T + b``; ``v = beta v + I_t``; ``s = H(v - thr)``; reset

    ``memory="fast"`` runs exactly ``LIF(Linear(x))`` (``nn.functional.linear``, then the LIF backend).
    ``memory="recompute"`` (a fused backend: ``"fused"``, ``"triton"`` or ``"auto"``) keeps for backward
    only the input ``x``, the weights, the initial membrane and the neuron parameters: not the current
    ``I`` nor the membrane ``h``, which backward recomputes (one more GEMM and one more forward pass of
    the recurrence). About half the activation memory of the fast mode; same spikes and gradients.

    Same contract as every neuron module (:class:`spikekit.nn.Neuron`): ``forward(x)`` from rest,
    ``run(x, state) -> (spikes, state)``, ``trace``, ``step``; the state is a ``LIFState`` of the output's
    step shape ``[B, ..., out_features]``. It is not a ``Neuron`` subclass: tools that take a neuron
    layer (``sk.record``, NIR export, analysis) see an unknown layer; use ``nn.Linear`` + ``LIF`` there.

    Args:
        in_features, out_features, bias: as :class:`torch.nn.Linear` (same initialisation).
        beta, threshold, reset, surrogate, detach_reset, learn_beta, learn_threshold, shape, backend: as
            :class:`spikekit.nn.LIF` (``shape`` is per output neuron, e.g. ``out_features``).
        memory: ``"fast"`` or ``"recompute"``.

    Example:
        >>> layer = sk.nn.LinearLIF(784, 100, backend="fused", memory="recompute")
        >>> spikes = layer(torch.rand(25, 8, 784))          # [T, B, 784] -> [T, B, 100]
    """

    State = F.LIFState

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        beta: float = 0.9,
        threshold: float = 1.0,
        reset: str = "subtract",
        surrogate: Surrogate | None = None,
        detach_reset: bool = True,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        shape: Shape = None,
        backend: str = "auto",
        memory: str = "fast",
    ) -> None:
        name = type(self).__name__
        check_positive_int(in_features, f"{name}: in_features")
        check_positive_int(out_features, f"{name}: out_features")
        lif = LIF(
            beta, threshold, reset, surrogate, detach_reset, learn_beta, learn_threshold, shape, backend
        )
        self._wrap(nn.Linear(in_features, out_features, bias=bias), lif, memory)

    def _wrap(self, linear: nn.Linear, lif: LIF, memory: str) -> None:
        """Hold ``linear`` and ``lif`` as submodules (their parameters, not copies) and check ``memory``."""
        nn.Module.__init__(self)
        name = type(self).__name__
        check_choice(memory, f"{name}: memory", MEMORY_MODES)
        if memory == "recompute" and lif.backend == "torch":
            raise ValueError(
                f"{name}: memory='recompute' runs a fused LIF engine, but backend='torch' is the reference "
                "loop; pass backend='fused', 'triton' or 'auto' (or memory='fast')"
            )
        self.linear, self.lif, self.memory = linear, lif, memory

    @classmethod
    def from_modules(
        cls, linear: nn.Linear, lif: LIF, *, memory: str = "recompute", backend: str | None = None
    ) -> LinearLIF:
        """``lif(linear(x))`` as one layer that shares their parameters and buffers (no copies).

        ``backend=None`` takes ``lif.backend``; another backend runs a copy of ``lif`` sharing its tensors.
        """
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"LinearLIF.from_modules: linear must be nn.Linear, got {type(linear).__name__}")
        if not isinstance(lif, LIF):
            raise TypeError(f"LinearLIF.from_modules: lif must be spikekit.nn.LIF, got {type(lif).__name__}")
        if backend is not None and backend != lif.backend:
            resolve_backend(backend, F.lif_step)
            lif = copy.copy(lif)  # shallow: the same beta / threshold tensors, another backend
            lif.backend = backend
        layer = cls.__new__(cls)
        layer._wrap(linear, lif, memory)
        return layer

    # the Linear's and the neuron's tensors, under the names nn.Linear and LIF give them
    in_features = property(lambda self: self.linear.in_features)
    out_features = property(lambda self: self.linear.out_features)
    weight = property(lambda self: self.linear.weight)
    bias = property(lambda self: self.linear.bias)
    beta = property(lambda self: self.lif.beta)
    threshold = property(lambda self: self.lif.threshold)
    backend = property(lambda self: self.lif.backend)
    surrogate = property(lambda self: self.lif.surrogate)

    def params(self) -> F.LIFParams:
        """The neuron's parameter object (validated)."""
        return self.lif.params()

    # --- running --------------------------------------------------------------------------------
    def init_state(self, x_t: torch.Tensor) -> F.LIFState:
        """The resting state for one input step ``x_t`` ``[B, ..., in_features]``: zeros ``[B, ..., out]``."""
        return F.LIFState(x_t.new_zeros(*x_t.shape[:-1], self.out_features))

    def _check_features(self, x: torch.Tensor, name: str) -> None:
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"{type(self).__name__}: {name} has {x.shape[-1]} features in its last dimension, expected "
                f"in_features = {self.in_features} (shape {tuple(x.shape)})"
            )

    def _check_state(self, state: object, x_t: torch.Tensor) -> F.LIFState:
        name = type(self).__name__
        if not isinstance(state, F.LIFState):
            raise TypeError(
                f"{name}: state must be a LIFState (as returned by run/step) or None, "
                f"got {type(state).__name__}"
            )
        check_tensor(state.v, f"{name}: state.v")
        want = (*x_t.shape[:-1], self.out_features)
        if tuple(state.v.shape) != want:
            raise ValueError(
                f"{name}: state.v has shape {tuple(state.v.shape)}, but one output step has shape {want}; "
                "pass the state returned for this batch, or None to start from rest"
            )
        check_has_values(state.v, f"{name}: state.v")
        if state.v.dtype != x_t.dtype or state.v.device != x_t.device:
            raise TypeError(
                f"{name}: state.v must have x's dtype and device ({x_t.dtype}, {x_t.device}), "
                f"got {state.v.dtype} on {state.v.device}"
            )
        return state

    def _run(self, x: torch.Tensor, state: F.LIFState | None, record_v: bool):
        name = type(self).__name__
        check_time_first(x, f"{name}: x")
        check_floating(x, f"{name}: x")
        self._check_features(x, "x")
        # linear_lif checks that x, the weights and the state are finite, and the final state after the run
        state = self.init_state(x[0]) if state is None else self._check_state(state, x[0])
        out, state, v = linear_lif(
            x, self.weight, self.bias, state, self.params(),
            memory=self.memory, backend=self.backend, record_v=record_v,
        )  # fmt: skip
        return out, v, state

    def run(self, x: torch.Tensor, state: F.LIFState | None = None) -> tuple[torch.Tensor, F.LIFState]:
        """Run over ``x`` ``[T, B, ..., in]`` from ``state`` (``None``: rest). Returns ``(spikes, state)``."""
        out, _, state = self._run(x, state, record_v=False)
        return out, state

    def trace(
        self, x: torch.Tensor, state: F.LIFState | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, F.LIFState]:
        """Like :meth:`run`, also returning the pre-reset membrane of every step: ``(out, v, state)``."""
        return self._run(x, state, record_v=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, B, ..., out_features]`` for ``x`` ``[T, B, ..., in_features]``, from rest."""
        return self.run(x)[0]

    def step(self, x_t: torch.Tensor, state: F.LIFState | None = None) -> tuple[torch.Tensor, F.LIFState]:
        """One step ``x_t`` ``[B, ..., in]`` through the functional core. Returns ``(out_t, state)``."""
        name = type(self).__name__
        check_tensor(x_t, f"{name}: x_t")
        if x_t.dim() < 2:
            raise ValueError(
                f"{name}: x_t must be one time step [B, ..., in_features] with at least 2 dims, "
                f"got {tuple(x_t.shape)}"
            )
        check_floating(x_t, f"{name}: x_t")
        self._check_features(x_t, "x_t")
        check_finite(x_t, f"{name}: x_t")
        state = self.init_state(x_t) if state is None else self._check_state(state, x_t)
        check_finite(state.v, f"{name}: state.v")
        out, _, state = F.lif_step(tf.linear(x_t, self.weight, self.bias), state, self.params())
        check_no_overflow(tuple(state), f"{name}: the state", x_t.dtype)
        return out, state

    def extra_repr(self) -> str:
        return f"memory={self.memory!r}"
