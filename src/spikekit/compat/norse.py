"""Norse's LIF family as spikekit neurons that give its spikes, membranes and gradients.

Norse integrates ODEs in physical time: ``dv = dt * tau_mem_inv * ((v_leak - v) + i)`` with
``dt = 0.001`` s. Written per step, its current-based ``LIF`` is spikekit's :class:`spikekit.nn.Synaptic`
(``i = alpha i + x``; ``v = beta v + i``) with

- ``alpha = 1 - dt * tau_syn_inv``, ``beta = 1 - dt * tau_mem_inv`` (Norse's defaults give 0.8 and 0.9),
- the input scaled by ``gain = dt * tau_mem_inv`` (Norse's ``v`` moves by ``dt * tau_mem_inv * i``),
- the membrane measured from ``v_leak`` (threshold ``v_th - v_leak``; Norse starts ``v`` at ``v_leak``).

The modules here are that Synaptic (or :class:`spikekit.nn.LIF` for the box-synapse ``LIFBox``) behind
the fixed gain, so their membrane *is* Norse's (minus ``v_leak``) and the surrogate sees Norse's
``v - v_th``: spikes, membranes and gradients match (float64, tests/test_compat_peers.py).

What stays different, by design (see docs/from-norse.md):

- Calls follow spikekit: ``forward(x)`` returns the output only, from rest; ``run(x, state)`` returns
  ``(out, state)`` where Norse's ``module(x, state)`` does. States are spikekit's (``(i, v)``, current
  *before* its decay), not Norse's ``LIFFeedForwardState(v, i)``.
- The recorded membrane is before the reset; Norse's state holds it after.
- Norse fires strictly above the threshold (``v - v_th > 0``); spikekit at it (``>=``): equal except on
  exact ties.
- Hard reset only to ``v_reset == v_leak`` (spikekit resets to the rest value); other values are refused.
- Norse's ``method`` maps to a spikekit surrogate only where the functions are equal (:func:`surrogate`).

Example:
    >>> import torch
    >>> from spikekit.compat import norse
    >>> lif = norse.LIF(norse.LIFParameters(v_th=0.7), dt=0.001)
    >>> spikes = lif(torch.rand(100, 8, 10))    # [T, B, N]
    >>> spikes, state = lif.run(torch.rand(100, 8, 10))
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from .. import nn as snn
from .. import surrogate as sg
from ..surrogate import Surrogate

__all__ = [
    "LIFParameters",
    "LIFBoxParameters",
    "LIParameters",
    "LIF",
    "LIFCell",
    "LIFBox",
    "LIFBoxCell",
    "LI",
    "LICell",
    "Gained",
    "surrogate",
    "decays",
]


class LIFParameters(NamedTuple):
    """Norse's ``LIFParameters`` (same fields, defaults and units: 1/s, ``dt`` in s)."""

    tau_syn_inv: Any = 1.0 / 5e-3
    tau_mem_inv: Any = 1.0 / 1e-2
    v_leak: Any = 0.0
    v_th: Any = 1.0
    v_reset: Any = 0.0
    method: str = "super"
    alpha: Any = 100.0


class LIFBoxParameters(NamedTuple):
    """Norse's ``LIFBoxParameters`` (no synaptic current); ``reset`` is ``"value"`` or ``"subtract"``
    (Norse's ``reset_method=reset_value`` / ``reset_subtract``)."""

    tau_mem_inv: Any = 1.0 / 1e-2
    v_leak: Any = 0.0
    v_th: Any = 1.0
    v_reset: Any = 0.0
    method: str = "super"
    alpha: Any = 100.0
    reset: str = "value"


class LIParameters(NamedTuple):
    """Norse's ``LIParameters`` (the non-spiking leaky integrator)."""

    tau_syn_inv: Any = 1.0 / 5e-3
    tau_mem_inv: Any = 1.0 / 1e-2
    v_leak: Any = 0.0


def _value(x: Any) -> float:
    """A parameter as Norse computes with it: ``torch.as_tensor`` (float32 for a Python float)."""
    return float(torch.as_tensor(x).item())


def _step(owner: str, dt: Any, rate: Any, name: str) -> float:
    """``dt * rate`` as Norse computes it (a 0-dim tensor in the parameter's dtype), as a Python float."""
    if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not dt > 0:
        raise ValueError(f"{owner}: dt must be a float > 0 (seconds), got {dt!r}")
    value = float((dt * torch.as_tensor(rate)).item())
    if not 0 < value <= 1:
        raise ValueError(
            f"{owner}: dt * {name} = {value:.6g} must lie in (0, 1]; the Euler step would overshoot "
            "(Norse integrates it anyway; spikekit refuses a decay outside (0, 1])"
        )
    return value


def decays(p: Any, dt: float = 0.001) -> dict[str, float]:
    """spikekit's per-step constants for Norse parameters ``p``: ``alpha``, ``beta`` and ``gain``.

    ``alpha = 1 - dt * tau_syn_inv`` (absent for box parameters), ``beta = 1 - dt * tau_mem_inv``,
    ``gain = dt * tau_mem_inv``.
    """
    owner = "norse.decays"
    a = _step(owner, dt, p.tau_mem_inv, "tau_mem_inv")
    out = {"beta": 1.0 - a, "gain": a}
    if hasattr(p, "tau_syn_inv"):
        out["alpha"] = 1.0 - _step(owner, dt, p.tau_syn_inv, "tau_syn_inv")
    return out


def surrogate(method: str = "super", alpha: Any = 100.0) -> Surrogate:
    """The spikekit surrogate equal to Norse's ``threshold(x, method, alpha)``.

    - ``"super"``: Norse 1.1's ``SuperSpike`` backward is ``1 / (|x| + 1)^2`` and **ignores alpha**
      (the default 100 changes nothing): ``fast_sigmoid(slope=1.0)``.
    - ``"triangle"``: ``alpha * relu(1 - |x|)``: ``triangle(width=1.0)`` when ``alpha == 1``.
    - ``"tanh"``: ``1 - tanh(alpha x)^2``: ``sigmoid(alpha=4.0)`` when ``alpha == 2``.

    Raises:
        ValueError: ``"heaviside"`` (no gradient at all; spikekit always has one), ``"circ"``,
            ``"heavi_erfc"``, ``"adjoint"``, ``"logistic"``, or a ``triangle``/``tanh`` alpha that has no
            spikekit equal. Pass ``surrogate=`` to the module to choose one yourself (gradients then differ).
    """
    a = _value(alpha) if not isinstance(alpha, str) else alpha
    if method == "super":
        return sg.fast_sigmoid(slope=1.0)
    if method == "triangle" and a == 1.0:
        return sg.triangle(width=1.0)
    if method == "tanh" and a == 2.0:
        return sg.sigmoid(alpha=4.0)
    if method == "heaviside":
        raise ValueError(
            "norse.surrogate: method 'heaviside' passes no gradient; spikekit has no gradient-free spike "
            "function. Pass surrogate=... (e.g. spikekit.surrogate.fast_sigmoid(slope=1.0), Norse's 'super')"
        )
    if method in ("triangle", "tanh"):
        raise ValueError(
            f"norse.surrogate: method {method!r} with alpha={a} has no spikekit equal "
            "(triangle: alpha=1 only; tanh: alpha=2 only); pass surrogate=... to choose one"
        )
    raise ValueError(
        f"norse.surrogate: method {method!r} has no spikekit equal (exact: 'super', 'triangle' with "
        "alpha=1, 'tanh' with alpha=2); pass surrogate=... to choose one"
    )


_map_surrogate = surrogate  # the factories' ``surrogate`` argument shadows the name


def _params(p: Any, cls: type, kwargs: dict[str, Any]) -> Any:
    """``p`` (Norse's own parameters or ours; ``None``: the defaults) with ``kwargs`` replacing fields."""
    if p is None:
        p = cls()
    if not kwargs:
        return p
    unknown = set(kwargs) - set(cls._fields)
    if unknown:
        raise TypeError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}; fields: {list(cls._fields)}")
    fields = {f: getattr(p, f) for f in cls._fields if hasattr(p, f)}
    return cls(**{**fields, **kwargs})


class Gained(nn.Module):
    """A spikekit neuron fed ``gain * x``: Norse's input scale ``dt * tau_mem_inv``.

    ``forward``, ``run``, ``trace`` and ``step`` are the inner neuron's (``self.neuron``, a
    :class:`spikekit.nn.Neuron`, which :func:`spikekit.record` finds) on ``gain * x``. With
    ``output="membrane"`` (the leaky integrator) ``forward``/``run``/``step`` return the membrane.

    Args:
        neuron: the spikekit neuron.
        gain: the fixed input scale (a float64 buffer).
        output: ``"spikes"`` or ``"membrane"``.
    """

    def __init__(self, neuron: snn.Neuron, gain: float, output: str = "spikes") -> None:
        super().__init__()
        if output not in ("spikes", "membrane"):
            raise ValueError(f"Gained: output must be 'spikes' or 'membrane', got {output!r}")
        self.neuron, self.output = neuron, output
        self.register_buffer("gain", torch.tensor(float(gain), dtype=torch.float64))

    def trace(self, x: torch.Tensor, state: NamedTuple | None = None):
        """``(spikes, v, final_state)`` of the inner neuron on ``gain * x`` (``v`` before the reset)."""
        return self.neuron.trace(self.gain * x, state)

    def run(self, x: torch.Tensor, state: NamedTuple | None = None) -> tuple[torch.Tensor, NamedTuple]:
        """``(out, final_state)``: Norse's ``module(x, state)``, time first, ``state=None`` is rest."""
        if self.output == "membrane":
            _, v, state = self.trace(x, state)
            return v, state
        return self.neuron.run(self.gain * x, state)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)[0]

    def step(self, x_t: torch.Tensor, state: NamedTuple | None = None) -> tuple[torch.Tensor, NamedTuple]:
        """One step ``[B, ...]``: Norse's ``cell(x_t, state)``; returns ``(out_t, state)``."""
        out, state = self.neuron.step(self.gain * x_t, state)
        return (state.v if self.output == "membrane" else out), state

    def extra_repr(self) -> str:
        return f"gain={self.gain.item():.6g}, output={self.output!r}"


def _exact(module: nn.Module, **values: float) -> nn.Module:
    # float64 buffers: a .double() model computes with Norse's values, float32 runs are unchanged
    for name, value in values.items():
        setattr(module, name, torch.tensor(value, dtype=torch.float64))
    return module


def _threshold(owner: str, p: Any) -> float:
    v_leak, v_th, v_reset = _value(p.v_leak), _value(p.v_th), _value(p.v_reset)
    if v_reset != v_leak:
        raise ValueError(
            f"{owner}: v_reset ({v_reset}) must equal v_leak ({v_leak}): spikekit resets to its rest value "
            "(hard reset to another potential is not supported)"
        )
    if not v_th - v_leak > 0:
        raise ValueError(f"{owner}: v_th ({v_th}) must lie above v_leak ({v_leak})")
    return v_th - v_leak


def LIF(
    p: Any = None,
    dt: float = 0.001,
    surrogate: Surrogate | None = None,
    backend: str = "auto",
    **kwargs: Any,
) -> Gained:
    """``norse.torch.LIF(p, dt)`` (current-based, feed-forward) as a gained :class:`spikekit.nn.Synaptic`.

    Args:
        p: Norse's ``LIFParameters`` (its own, or :class:`LIFParameters` here); fields may also be given
            as keyword arguments (``LIF(v_th=0.7)``).
        dt: Norse's integration step in seconds.
        surrogate: overrides the surrogate that ``p.method`` maps to (see :func:`surrogate`).
        backend: spikekit's multi-step backend.

    Returns:
        :class:`Gained` around ``Synaptic(alpha, beta, threshold=v_th - v_leak, reset="zero")``, the reset
        not detached (as Norse's feed-forward LIF).
    """
    owner = "norse.LIF"
    p = _params(p, LIFParameters, kwargs)
    d = decays(p, dt)
    thr = _threshold(owner, p)
    spike = _map_surrogate(p.method, p.alpha) if surrogate is None else surrogate
    neuron = snn.Synaptic(
        alpha=d["alpha"],
        beta=d["beta"],
        threshold=thr,
        reset="zero",
        surrogate=spike,
        detach_reset=False,  # Norse backpropagates through its reset
        backend=backend,
    )
    return Gained(_exact(neuron, alpha=d["alpha"], beta=d["beta"], threshold=thr), d["gain"])


LIFCell = LIF
"""Norse's ``LIFCell`` (one step per call): the same module; call ``module.step(x_t, state)``."""


def LIFBox(
    p: Any = None,
    dt: float = 0.001,
    surrogate: Surrogate | None = None,
    backend: str = "auto",
    **kwargs: Any,
) -> Gained:
    """Norse's ``LIFBoxCell`` (no synaptic current: ``dv = dt tau_mem_inv (v_leak - v + x)``) as a gained
    :class:`spikekit.nn.LIF` with ``beta = 1 - dt * tau_mem_inv``.

    ``p.reset="value"`` (Norse's ``reset_value``): ``reset="zero"``; ``"subtract"``
    (``reset_subtract``, only with ``v_leak == 0``): ``reset="subtract"``. Other arguments as :func:`LIF`.
    """
    owner = "norse.LIFBox"
    p = _params(p, LIFBoxParameters, kwargs)
    d = decays(p, dt)
    method = getattr(p, "reset_method", None)  # Norse's own LIFBoxParameters: a function
    reset = method.__name__.removeprefix("reset_") if callable(method) else getattr(p, "reset", "value")
    if reset == "subtract":
        if _value(p.v_leak) != 0:
            raise ValueError(f"{owner}: reset 'subtract' needs v_leak == 0, got {_value(p.v_leak)}")
        thr, mode = _value(p.v_th), "subtract"
    elif reset == "value":
        thr, mode = _threshold(owner, p), "zero"
    else:
        raise ValueError(f"{owner}: reset must be 'value' or 'subtract', got {reset!r}")
    spike = _map_surrogate(p.method, p.alpha) if surrogate is None else surrogate
    neuron = snn.LIF(
        beta=d["beta"], threshold=thr, reset=mode, surrogate=spike, detach_reset=False, backend=backend
    )
    return Gained(_exact(neuron, beta=d["beta"], threshold=thr), d["gain"])


LIFBoxCell = LIFBox
"""Norse's ``LIFBoxCell``: the same module; call ``module.step(x_t, state)``."""


def LI(p: Any = None, dt: float = 0.001, backend: str = "auto", **kwargs: Any) -> Gained:
    """Norse's leaky integrator ``LI`` / ``LICell`` (the usual readout): returns the membrane.

    A gained :class:`spikekit.nn.Synaptic` with ``reset="none"`` whose membrane (``output="membrane"``)
    is Norse's ``v - v_leak``. Norse's ``LILinearCell(n_in, n_out)`` is ``torch.nn.Linear(n_in, n_out,
    bias=False)`` (weights ``randn / sqrt(n_in)``) followed by this.
    """
    p = _params(p, LIParameters, kwargs)
    d = decays(p, dt)
    neuron = snn.Synaptic(alpha=d["alpha"], beta=d["beta"], reset="none", detach_reset=False, backend=backend)
    return Gained(_exact(neuron, alpha=d["alpha"], beta=d["beta"]), d["gain"], output="membrane")


LICell = LI
"""Norse's ``LICell``: the same module; call ``module.step(x_t, state)``."""
