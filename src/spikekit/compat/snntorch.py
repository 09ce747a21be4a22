"""snnTorch 1.0's neurons and losses from spikekit's pieces: a port gets snnTorch's spikes *and* gradients.

snnTorch's ``Leaky`` and spikekit's :class:`spikekit.nn.LIF` differ in three conventions that change training
(the full table is docs/from-snntorch.md):

1. **Reset timing.** snnTorch's default (``reset_delay=True``) subtracts the threshold at the step *after*
   a spike, undecayed: ``v[t] = beta v[t-1] + x[t] - thr r[t]`` with ``r[t] = (v[t-1] > thr)``. spikekit
   resets in the step it fires (``v[t] = beta (v[t-1] - thr s[t-1]) + x[t]``: the subtraction decays).
2. **Reset gradient.** With ``reset_delay=True`` snnTorch's ``r`` is recomputed from the membrane and
   *detached*; spikekit's default (``detach_reset=False``) backpropagates through the reset. This is what
   makes a literal port of snnTorch's tutorial 5 train to 14-36 % instead of about 90 %.
   With ``reset_delay=False`` snnTorch does backpropagate through the reset, exactly like spikekit's default.
3. **Spike at the threshold**: snnTorch fires at ``v > thr``, spikekit's :class:`~spikekit.nn.LIF` at
   ``v >= thr`` (a set of measure zero; :class:`DelayedLeaky` uses ``>``).

:func:`Leaky` takes snnTorch's arguments and returns the spikekit neuron that reproduces it:

============================================  =====================================================
``snntorch.Leaky(...)``                       ``spikekit.compat.snntorch.Leaky(...)`` returns
============================================  =====================================================
default (``reset_delay=True``), subtract      :class:`DelayedLeaky`: spikes and gradients equal
``reset_delay=True``, ``"zero"``/``"none"``   ``sk.nn.LIF(reset=..., detach_reset=True)``: equal
``reset_delay=False``, any reset              ``sk.nn.LIF(reset=..., detach_reset=False)``: equal
                                              while one subtraction brings the membrane back below
                                              the threshold (snnTorch re-tests the reset membrane)
============================================  =====================================================

The returned modules are ordinary spikekit neurons: ``neuron(x)`` takes the whole sequence ``[T, B, ...]``
and starts from rest (no ``init_hidden``, no ``reset_mem``); ``neuron.trace(x)`` also returns the membrane
of every step, which is snnTorch's ``mem`` for the delayed reset and its ``mem`` *before* the reset for
``reset_delay=False`` (snnTorch's is ``v - thr * s`` there).

The losses (:func:`ce_rate_loss`, :func:`ce_count_loss`, :func:`mse_count_loss`, :func:`ce_max_membrane_loss`)
are factories like ``snntorch.functional``'s: ``loss_fn = ce_rate_loss(); loss_fn(spikes, targets)``.
Tutorial 5's loss (cross-entropy on the membrane of every step, summed) is
:func:`spikekit.decode.ce_membrane_per_step_loss`.

Example:
    >>> import torch, spikekit as sk
    >>> lif = sk.compat.snntorch.Leaky(beta=0.95)          # snnTorch's default Leaky
    >>> lif
    DelayedLeaky(beta=0.95, threshold=1, reset=subtract, surrogate=atan(alpha=2.0), reset_delay=True,
    backend='torch')
    >>> spikes, mem, _ = lif.trace(torch.rand(25, 8, 100))   # [T, B, N]; mem == snnTorch's mem
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .. import decode
from .. import surrogate as sg
from .._checks import check_choice, check_range
from ..nn import LIF, Neuron

__all__ = [
    "Leaky",
    "DelayedLeaky",
    "LeakyState",
    "LeakyParams",
    "leaky_step",
    "to_surrogate",
    "ce_rate_loss",
    "ce_count_loss",
    "mse_count_loss",
    "ce_max_membrane_loss",
]

RESETS = ("subtract", "zero", "none")
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# --- surrogates --------------------------------------------------------------------------------------
_SNNTORCH_SURROGATES = {
    # snnTorch closure name -> (spikekit surrogate, snnTorch's keyword -> spikekit's keyword)
    "atan": (sg.atan, {"alpha": "alpha"}),
    "fast_sigmoid": (sg.fast_sigmoid, {"slope": "slope"}),
    "sigmoid": (sg.sigmoid, {"slope": "alpha"}),
    "straight_through_estimator": (sg.straight_through, {}),
}


def to_surrogate(value: object = None) -> sg.Surrogate:
    """The spikekit surrogate equal to snnTorch's ``spike_grad`` (same forward, same gradient).

    Args:
        value: ``None`` (snnTorch's default, ``atan(alpha=2)``: peak gradient 1 at the threshold), a spikekit
            :class:`~spikekit.surrogate.Surrogate` (returned as it is), or one of snnTorch's surrogate
            closures: ``snntorch.surrogate.atan(alpha)``, ``fast_sigmoid(slope)``, ``sigmoid(slope)``
            (spikekit's ``sigmoid(alpha=slope)``; note spikekit's own default ``alpha`` is 4, snnTorch's
            ``slope`` 25) or ``straight_through_estimator()``. Others are refused (``TypeError``).

    Example:
        >>> to_surrogate(None)
        atan(alpha=2.0)
    """
    if value is None:
        return sg.atan(alpha=2.0)
    if isinstance(value, sg.Surrogate):
        return value
    qualname = getattr(value, "__qualname__", "")
    outer = qualname.split(".<locals>.")[0] if ".<locals>." in qualname else ""
    if (
        callable(value)
        and getattr(value, "__module__", "") == "snntorch.surrogate"
        and outer in _SNNTORCH_SURROGATES
    ):
        cls, names = _SNNTORCH_SURROGATES[outer]
        found = inspect.getclosurevars(value).nonlocals
        return cls(**{ours: float(found[theirs]) for theirs, ours in names.items()})
    known = ", ".join(f"snntorch.surrogate.{n}" for n in _SNNTORCH_SURROGATES)
    raise TypeError(
        f"spike_grad must be None, a spikekit surrogate or one of {known}; got {value!r:.80}. "
        "Write other surrogates as a spikekit Surrogate (docs/conventions.md, Surrogates)"
    )


# --- snnTorch's default Leaky: delayed, detached reset ------------------------------------------------
class LeakyState(NamedTuple):
    """snnTorch's ``mem``: the membrane the last step's spike was taken from, ``[B, ...]``."""

    v: torch.Tensor


@dataclass(frozen=True)
class LeakyParams:
    """snnTorch ``Leaky(reset_delay=True)``'s parameters (``reset`` is its ``reset_mechanism``)."""

    beta: float | torch.Tensor = 0.9
    threshold: float | torch.Tensor = 1.0
    reset: str = "subtract"
    surrogate: sg.Surrogate = field(default_factory=lambda: sg.atan(alpha=2.0))
    reset_delay: bool = True

    def __post_init__(self) -> None:
        check_range(self.beta, "DelayedLeaky: beta", 0.0, 1.0, low_open=True)
        check_range(
            self.threshold, "DelayedLeaky: threshold", 0.0, float("inf"), low_open=True, high_open=True
        )
        check_choice(self.reset, "DelayedLeaky: reset", RESETS)
        sg.check_surrogate(self.surrogate, "DelayedLeaky: surrogate")


def leaky_step(x: torch.Tensor, state: LeakyState, params: LeakyParams):
    """One step of snnTorch 1.0's ``Leaky`` with ``reset_delay=True`` (its default), exactly.

    ``r = (v_prev > thr)`` (no gradient: snnTorch detaches it); ``subtract``: ``v = beta v_prev + x - thr r``;
    ``zero``: ``v = beta (1 - r) v_prev + x``; ``none``: ``v = beta v_prev + x``; ``s = H(v - thr)`` with
    ``H(0) = 0`` (snnTorch fires strictly above the threshold) and the surrogate's gradient.

    Returns:
        ``(spikes, v, new_state)``: ``v`` is snnTorch's ``mem`` (the membrane the spike is taken from).
    """
    p = params
    v_prev = state.v
    r = (v_prev > p.threshold).to(x.dtype)  # a comparison: detached, as snnTorch's mem_reset
    if p.reset == "subtract":
        v = p.beta * v_prev + x - r * p.threshold
    elif p.reset == "zero":
        v = p.beta * ((1 - r) * v_prev) + x
    else:
        v = p.beta * v_prev + x
    s = p.surrogate(v - p.threshold)
    s = s - (v == p.threshold).to(s.dtype)  # H(0) = 0 as snnTorch's ``>``; the gradient is unchanged
    return s, v, LeakyState(v)


class DelayedLeaky(Neuron):
    """snnTorch 1.0's default ``Leaky`` (``reset_delay=True``), spike for spike and gradient for gradient.

    ``v[t] = beta v[t-1] + x[t] - thr r[t]``, ``r[t] = (v[t-1] > thr)`` detached from the gradient;
    ``s[t] = H(v[t] - thr)`` (strictly above). The recorded membrane (``trace``, ``sk.record``) is snnTorch's
    ``mem``. Build it with :func:`Leaky`; it is not one of :data:`spikekit.nn.NEURONS` (no fused engine, no
    NIR form: NIR has no delayed reset).

    Args:
        beta: decay per step, in (0, 1] (snnTorch clamps it into [0, 1]; this refuses values outside).
        threshold: > 0.
        reset: ``"subtract"``, ``"zero"`` or ``"none"`` (snnTorch's ``reset_mechanism``).
        surrogate: spike function; default snnTorch's ``atan(alpha=2)``.
        learn_beta, learn_threshold: make them Parameters.
        shape: ``None`` (one value per layer) or the per-neuron shape.
    """

    State = LeakyState
    core_step = staticmethod(leaky_step)

    def __init__(
        self,
        beta: float | torch.Tensor = 0.9,
        threshold: float | torch.Tensor = 1.0,
        reset: str = "subtract",
        surrogate: sg.Surrogate | None = None,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        shape: int | tuple[int, ...] | None = None,
    ) -> None:
        super().__init__("torch")
        for name, value, learn in (("beta", beta, learn_beta), ("threshold", threshold, learn_threshold)):
            if isinstance(value, bool) or not isinstance(value, (int, float, torch.Tensor)):
                raise TypeError(f"DelayedLeaky: {name} must be a float, got {type(value).__name__}")
            t = torch.as_tensor(value, dtype=torch.get_default_dtype()).detach().clone()
            if shape is not None:
                t = t.expand((shape,) if isinstance(shape, int) else tuple(shape)).clone()
            if learn:
                self.register_parameter(name, nn.Parameter(t))
            else:
                self.register_buffer(name, t)
        self.reset = reset
        self.surrogate = to_surrogate(surrogate)
        self.params()

    def params(self) -> LeakyParams:
        return LeakyParams(self.beta, self.threshold, self.reset, self.surrogate)


def Leaky(  # noqa: N802  (named as the snnTorch class it stands for)
    beta: float | torch.Tensor,
    threshold: float | torch.Tensor = 1.0,
    spike_grad: object = None,
    surrogate_disable: bool = False,
    init_hidden: bool = False,
    inhibition: bool = False,
    learn_beta: bool = False,
    learn_threshold: bool = False,
    reset_mechanism: str = "subtract",
    state_quant: object = False,
    output: bool = False,
    graded_spikes_factor: float = 1.0,
    learn_graded_spikes_factor: bool = False,
    reset_delay: bool = True,
    *,
    shape: int | tuple[int, ...] | None = None,
) -> Neuron:
    """The spikekit neuron equal to ``snntorch.Leaky(...)`` with the same arguments (snnTorch 1.0).

    ``beta`` is required, as in snnTorch (``sk.nn.LIF``'s default is 0.9). See the module docstring for
    which neuron comes back and how exactly it matches.

    ``init_hidden`` and ``output`` only change snnTorch's calling convention and are accepted and ignored:
    spikekit modules take the whole sequence and keep no state between calls. Options that change values
    and have no spikekit equivalent (``surrogate_disable``, ``inhibition``, ``state_quant``,
    ``graded_spikes_factor != 1``, ``learn_graded_spikes_factor``) are refused with a ``ValueError``.

    Args:
        shape: spikekit only: ``None`` for one ``beta``/``threshold`` per layer, or the per-neuron shape
            (snnTorch infers it from a tensor ``beta``).

    Example:
        >>> lif = Leaky(beta=0.95)                       # snnTorch's default: DelayedLeaky
        >>> lif2 = Leaky(beta=0.95, reset_delay=False)   # sk.nn.LIF(beta=0.95, detach_reset=False)
    """
    refused = {
        "surrogate_disable": surrogate_disable is not False,
        "inhibition": inhibition is not False,
        "state_quant": state_quant is not False,
        "graded_spikes_factor": not (
            not isinstance(graded_spikes_factor, bool)
            and isinstance(graded_spikes_factor, (int, float))
            and graded_spikes_factor == 1
        ),
        "learn_graded_spikes_factor": learn_graded_spikes_factor is not False,
    }
    bad = [name for name, is_bad in refused.items() if is_bad]
    if bad:
        raise ValueError(
            f"compat.snntorch.Leaky: {', '.join(bad)} has no spikekit equivalent; leave "
            f"{'it' if len(bad) == 1 else 'them'} at snnTorch's default"
        )
    del init_hidden, output  # calling convention only
    reset = check_choice(reset_mechanism, "compat.snntorch.Leaky: reset_mechanism", RESETS)
    surrogate = to_surrogate(spike_grad)
    if not isinstance(reset_delay, bool):
        raise TypeError(f"compat.snntorch.Leaky: reset_delay must be a bool, got {reset_delay!r}")
    if reset_delay and reset == "subtract":
        return DelayedLeaky(beta, threshold, reset, surrogate, learn_beta, learn_threshold, shape)
    # zero / none with the delay: snnTorch's v = beta (1 - s[t-1]) v + x is spikekit's zero reset, detached.
    # Without the delay snnTorch backpropagates through the reset, as spikekit's default does.
    return LIF(
        beta,
        threshold,
        reset,
        surrogate=surrogate,
        detach_reset=reset_delay,
        learn_beta=learn_beta,
        learn_threshold=learn_threshold,
        shape=shape,
    )


# --- losses (snntorch.functional) ---------------------------------------------------------------------
def ce_rate_loss() -> Loss:
    """``snntorch.functional.ce_rate_loss()``: cross-entropy on the spikes of every step, averaged over time.

    Equal to ``sk.decode.ce_rate_loss(spikes, targets, per_step=True)``.
    """
    return lambda spikes, targets: decode.ce_rate_loss(spikes, targets, per_step=True)


def ce_count_loss() -> Loss:
    """``snntorch.functional.ce_count_loss()``: cross-entropy with the spike *count* as logits.

    Not ``sk.decode.ce_rate_loss`` (whose logits are the rate, the count divided by ``T``).
    """
    return lambda spikes, targets: F.cross_entropy(decode.count(spikes), targets)


def ce_max_membrane_loss() -> Loss:
    """``snntorch.functional.ce_max_membrane_loss()``: ``sk.decode.ce_membrane_loss(v, y, reduce="max")``."""
    return lambda v, targets: decode.ce_membrane_loss(v, targets, reduce="max")


def mse_count_loss(correct_rate: float = 1.0, incorrect_rate: float = 0.0) -> Loss:
    """``snntorch.functional.mse_count_loss(correct_rate, incorrect_rate)`` (snnTorch's defaults 1 and 0).

    snnTorch truncates the target counts to integers (``int(T * rate)``) and divides the loss by ``T``;
    ``sk.decode.mse_count_loss`` does neither. This returns snnTorch's value:
    ``sk.decode.mse_count_loss(s, y, correct_rate=int(T c) / T, incorrect_rate=int(T i) / T) / T``.
    """

    def loss(spikes: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        steps = spikes.shape[0] if isinstance(spikes, torch.Tensor) and spikes.dim() > 0 else 1
        on = int(steps * float(correct_rate)) / steps
        off = int(steps * float(incorrect_rate)) / steps
        return decode.mse_count_loss(spikes, targets, correct_rate=on, incorrect_rate=off) / steps

    return loss
