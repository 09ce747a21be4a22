"""SpikingJelly's neurons as spikekit modules that give its spikes, membranes and gradients.

Each factory takes ``spikingjelly.activation_based.neuron``'s arguments and returns a plain spikekit
neuron (:class:`spikekit.nn.IF`, :class:`~spikekit.nn.LIF` or :class:`~spikekit.nn.PLIF`), configured so
that on the same input ``[T, B, ...]`` it fires exactly where SpikingJelly's fires, and backpropagates the
same surrogate gradients (checked spike for spike, float64, in ``tests/test_compat_peers.py``).

What stays different, by design (see docs/from-spikingjelly.md):

- **No hidden state.** A spikekit module starts from rest at every call; there is nothing to
  ``functional.reset_net``. :func:`reset_net` exists so that ported loops keep running, and does nothing.
- **Multi-step only.** ``step_mode="s"`` (SpikingJelly's default: one ``[B, ...]`` step per call, state
  kept inside the module) is refused; pass the whole sequence ``[T, B, ...]`` (``step_mode="m"``), or call
  ``module.step(x_t, state)`` and carry the state yourself.
- **The recorded membrane** (``spikekit.record``, ``module.trace``) is the charged membrane *before* the
  reset; SpikingJelly's ``v`` / ``v_seq`` hold it *after* the reset.
- **Hard reset to ``v_reset != 0``.** spikekit resets to zero only, so the neuron is built on the shifted
  membrane ``u = v - v_reset`` (threshold ``v_threshold - v_reset``): the same spikes and gradients, but
  the membrane spikekit records is SpikingJelly's minus ``v_reset``.

Example:
    >>> import torch, spikekit as sk
    >>> from spikekit.compat import spikingjelly as sj
    >>> lif = sj.LIFNode(tau=2.0, surrogate_function=sj.surrogate("ATan", alpha=2.0))
    >>> spikes = lif(torch.rand(100, 8, 10))   # [T, B, N], like step_mode="m"
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .. import nn as snn
from .. import surrogate as sg
from ..surrogate import Surrogate

__all__ = ["LIFNode", "IFNode", "ParametricLIFNode", "surrogate", "reset_net"]

# SpikingJelly's surrogate class -> (spikekit surrogate from alpha), where spikekit has the same function
_EXACT = {
    "sigmoid": lambda a: sg.sigmoid(alpha=a),  # alpha s (1 - s), s = sigmoid(alpha x)
    "atan": lambda a: sg.atan(alpha=a),  # alpha / 2 / (1 + (pi/2 alpha x)^2)
    "piecewisequadratic": lambda a: sg.triangle(width=1.0 / a),  # max(0, alpha - alpha^2 |x|)
    "rect": lambda a: sg.rectangle(width=1.0 / a),  # alpha on |x| < 1 / (2 alpha)
}
_DEFAULT_ALPHA = {"sigmoid": 4.0, "atan": 2.0, "piecewisequadratic": 1.0, "rect": 1.0}
# the ones spikekit has no match for, with SpikingJelly's derivative, for the error message
_MISSING = {
    "piecewiseexp": "alpha / 2 * exp(-alpha |x|)",
    "softsign": "1 / (2 alpha (1 / alpha + |x|)^2)",
    "superspike": "alpha / (1 + |x|)^2",
    "erf": "alpha / sqrt(pi) * exp(-(alpha x)^2)",
}


def surrogate(function: object = None, alpha: float | None = None) -> Surrogate:
    """The spikekit surrogate with the same forward (``H(x) = 1`` for ``x >= 0``) and gradient.

    Args:
        function: a SpikingJelly surrogate instance (``surrogate.ATan(alpha=2.0)``; read by class name
            and ``alpha``, so SpikingJelly need not be installed to port code), its class name as a string
            (``"ATan"``), a spikekit :class:`~spikekit.surrogate.Surrogate` (returned as is), or ``None``
            for SpikingJelly's default, ``Sigmoid(alpha=4.0)``.
        alpha: overrides the instance's ``alpha`` (or gives it, with a class name).

    Exact matches: ``Sigmoid(alpha)`` -> ``sigmoid(alpha)``, ``ATan(alpha)`` -> ``atan(alpha)``,
    ``PiecewiseQuadratic(alpha)`` -> ``triangle(width=1/alpha)``, ``Rect(alpha)`` ->
    ``rectangle(width=1/alpha)``.

    Raises:
        ValueError: a surrogate spikekit has no equal for (``PiecewiseExp``, ``SoftSign``, ``SuperSpike``,
            ``Erf``, ...), or one built with ``spiking=False`` (its forward is the smooth primitive).
        TypeError: anything else.
    """
    if isinstance(function, Surrogate):
        return function
    if function is None:
        name = "sigmoid"
    elif isinstance(function, str):
        name = function.lower()
    elif hasattr(function, "alpha") and callable(function):
        name = type(function).__name__.lower()
        if getattr(function, "spiking", True) is False:
            raise ValueError(
                f"spikingjelly.surrogate: {type(function).__name__}(spiking=False) outputs its smooth "
                "primitive, not spikes; spikekit neurons always spike (Heaviside forward)"
            )
        if alpha is None:
            alpha = function.alpha
    else:
        raise TypeError(
            "spikingjelly.surrogate: function must be a SpikingJelly surrogate instance, its class name, "
            f"a spikekit Surrogate or None, got {type(function).__name__}"
        )
    if isinstance(alpha, torch.Tensor):
        alpha = float(alpha)
    if name in _EXACT:
        return _EXACT[name](_DEFAULT_ALPHA[name] if alpha is None else float(alpha))
    if name in _MISSING:
        raise ValueError(
            f"spikingjelly.surrogate: spikekit has no surrogate equal to SpikingJelly's {name} "
            f"(gradient {_MISSING[name]}); exact matches: Sigmoid, ATan, PiecewiseQuadratic, Rect"
        )
    raise ValueError(
        f"spikingjelly.surrogate: unknown or unmatched SpikingJelly surrogate {name!r}; "
        "exact matches: Sigmoid, ATan, PiecewiseQuadratic, Rect"
    )


def reset_net(net: nn.Module) -> None:
    """SpikingJelly's ``functional.reset_net``: a no-op here, kept so that ported loops run unchanged.

    spikekit neurons keep no state between calls (each call starts from rest, or from the state you pass
    to ``run``), so there is nothing to reset.
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"reset_net: net must be a torch.nn.Module, got {type(net).__name__}")


def _check_step_mode(owner: str, step_mode: str) -> None:
    if step_mode == "m":
        return
    if step_mode == "s":
        raise ValueError(
            f"{owner}: step_mode='s' keeps the membrane inside the module between calls, which spikekit "
            "never does; pass the whole sequence [T, B, ...] (step_mode='m'), or call "
            "module.step(x_t, state) and carry the state (see docs/from-spikingjelly.md)"
        )
    raise ValueError(f"{owner}: step_mode must be 'm' (or 's', refused with a reason), got {step_mode!r}")


def _reset(owner: str, v_threshold: float, v_reset: float | None) -> tuple[str, float]:
    """spikekit's ``(reset, threshold)`` for SpikingJelly's ``(v_threshold, v_reset)``."""
    for name, value in (("v_threshold", v_threshold), ("v_reset", v_reset)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise TypeError(f"{owner}: {name} must be a float, got {type(value).__name__} {value!r}")
    if v_reset is None:
        return "subtract", float(v_threshold)
    # hard reset to v_reset: run on u = v - v_reset (rest 0, reset to 0, threshold v_threshold - v_reset)
    if not v_threshold - v_reset > 0:
        raise ValueError(
            f"{owner}: v_threshold ({v_threshold}) must lie above v_reset ({v_reset}) for a hard reset"
        )
    return "zero", float(v_threshold - v_reset)


def _exact(module: nn.Module, **values: float) -> nn.Module:
    """Store fixed scalars as float64 buffers: a ``.double()`` model then computes with SpikingJelly's
    values (``1.3`` or ``1 - 1/3`` rounded to float32 first would differ by ~1e-8); ops in float32 are
    unchanged (a 0-dim float64 tensor does not promote a float32 one)."""
    for name, value in values.items():
        setattr(module, name, torch.tensor(value, dtype=torch.float64))
    return module


def _check_tau(owner: str, name: str, tau: float) -> float:
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not 1 < tau < math.inf:
        raise ValueError(f"{owner}: {name} must be a float > 1 (as SpikingJelly asserts), got {tau!r}")
    return float(tau)


def LIFNode(
    tau: float = 2.0,
    decay_input: bool = True,
    v_threshold: float = 1.0,
    v_reset: float | None = 0.0,
    surrogate_function: object = None,
    detach_reset: bool = False,
    step_mode: str = "m",
    backend: str = "auto",
) -> snn.LIF | snn.PLIF:
    """``spikingjelly.activation_based.neuron.LIFNode`` as a spikekit neuron.

    SpikingJelly charges ``h = v + (x - (v - v_reset)) / tau`` (``decay_input=True``) or
    ``h = v - (v - v_reset) / tau + x`` (``decay_input=False``), fires ``H(h - v_threshold)`` (reaching
    the threshold fires) and resets in the same step: to ``v_reset`` (hard), or by subtracting
    ``v_threshold`` when ``v_reset is None`` (soft).

    Returns:
        ``decay_input=True``: :class:`spikekit.nn.PLIF` with ``init_tau=tau`` and its ``w`` frozen (a
        float64 buffer, so ``sigmoid(w) = 1 / tau`` to the last bit that float64 holds); its charge
        ``v + (x - v) / tau`` is SpikingJelly's. ``decay_input=False``: :class:`spikekit.nn.LIF` with
        ``beta = 1 - 1 / tau`` (float64 buffer). Both with ``reset="zero"`` for ``v_reset=0.0``,
        ``"subtract"`` for ``None``, and the shifted membrane for another ``v_reset`` (see the module doc).

    Args:
        tau, decay_input, v_threshold, v_reset, detach_reset: SpikingJelly's, same defaults.
        surrogate_function: a SpikingJelly surrogate or a spikekit one (see :func:`surrogate`); default
            SpikingJelly's ``Sigmoid(alpha=4.0)``, *not* spikekit's ``atan``.
        step_mode: ``"m"`` only (``"s"`` is refused with the reason); the default is ``"m"``, not ``"s"``.
        backend: spikekit's multi-step backend.
    """
    owner = "spikingjelly.LIFNode"
    _check_step_mode(owner, step_mode)
    tau = _check_tau(owner, "tau", tau)
    reset, threshold = _reset(owner, v_threshold, v_reset)
    spike = surrogate(surrogate_function)
    if decay_input:
        module = snn.PLIF(
            init_tau=tau, threshold=threshold, reset=reset, surrogate=spike,
            detach_reset=detach_reset, decay_input=True, backend=backend,
        )  # fmt: skip
        del module.w  # a fixed tau: a buffer, not a Parameter the optimiser would see
        module.register_buffer("w", torch.tensor(-math.log(tau - 1.0), dtype=torch.float64))
        return _exact(module, threshold=threshold)
    module = snn.LIF(
        beta=1.0 - 1.0 / tau, threshold=threshold, reset=reset, surrogate=spike,
        detach_reset=detach_reset, backend=backend,
    )  # fmt: skip
    return _exact(module, beta=1.0 - 1.0 / tau, threshold=threshold)


def IFNode(
    v_threshold: float = 1.0,
    v_reset: float | None = 0.0,
    surrogate_function: object = None,
    detach_reset: bool = False,
    step_mode: str = "m",
    backend: str = "auto",
) -> snn.IF:
    """``spikingjelly.activation_based.neuron.IFNode`` (``h = v + x``) as :class:`spikekit.nn.IF`.

    Arguments as :func:`LIFNode` (hard reset to ``v_reset=0.0`` by default, ``Sigmoid(alpha=4.0)``).
    """
    owner = "spikingjelly.IFNode"
    _check_step_mode(owner, step_mode)
    reset, threshold = _reset(owner, v_threshold, v_reset)
    module = snn.IF(
        threshold=threshold, reset=reset, surrogate=surrogate(surrogate_function),
        detach_reset=detach_reset, backend=backend,
    )  # fmt: skip
    return _exact(module, threshold=threshold)


def ParametricLIFNode(
    init_tau: float = 2.0,
    decay_input: bool = True,
    v_threshold: float = 1.0,
    v_reset: float | None = 0.0,
    surrogate_function: object = None,
    detach_reset: bool = False,
    step_mode: str = "m",
    backend: str = "auto",
) -> snn.PLIF:
    """``spikingjelly.activation_based.neuron.ParametricLIFNode`` as :class:`spikekit.nn.PLIF`.

    Both learn ``w`` (one per layer), start it at ``-log(init_tau - 1)`` and charge
    ``v + (x - v) * sigmoid(w)`` (``decay_input=False``: ``v - v * sigmoid(w) + x``): the same
    parameter, so ``state_dict()["w"]`` carries over. Other arguments as :func:`LIFNode`.
    """
    owner = "spikingjelly.ParametricLIFNode"
    _check_step_mode(owner, step_mode)
    init_tau = _check_tau(owner, "init_tau", init_tau)
    reset, threshold = _reset(owner, v_threshold, v_reset)
    module = snn.PLIF(
        init_tau=init_tau, threshold=threshold, reset=reset, surrogate=surrogate(surrogate_function),
        detach_reset=detach_reset, decay_input=decay_input, backend=backend,
    )  # fmt: skip
    return _exact(module, threshold=threshold)
