"""Neuron modules. Each holds its parameters and calls one functional core; equations live there.

All take ``x`` of shape ``[T, B, ...]`` (the input current, e.g. a preceding Linear's output) and
return spikes of the same shape. See :class:`spikekit.nn.Neuron` for ``forward``/``run``/``step``.

Example:
    >>> import torch, spikekit as sk
    >>> lif = sk.nn.LIF(beta=0.9, threshold=1.0, reset="subtract", surrogate=sk.surrogate.atan())
    >>> spikes = lif(torch.rand(25, 8, 100))            # [T, B, N] -> [T, B, N]
    >>> a, state = lif.run(x[:10]); b, _ = lif.run(x[10:], state)   # == lif(x)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .. import functional as F
from ..surrogate import Surrogate
from .neuron import Neuron

Shape = int | tuple[int, ...] | None

__all__ = [
    "IF",
    "LIF",
    "PLIF",
    "ALIF",
    "Synaptic",
    "RLIF",
    "RefractoryLIF",
    "SRM",
    "Izhikevich",
    "AdEx",
    "Alpha",
]


def _shape(shape: Shape) -> tuple[int, ...] | None:
    if shape is None:
        return None
    return (shape,) if isinstance(shape, int) else tuple(shape)


class IF(Neuron):
    """Integrate-and-fire: ``v = v + x``; spike ``H(v - threshold)``; reset in the same step.

    Args:
        threshold: firing threshold (> 0).
        reset: ``"subtract"`` (by the threshold), ``"zero"`` or ``"none"``.
        surrogate: spike function (default :func:`spikekit.surrogate.atan`).
        detach_reset: cut the gradient through the reset (default ``True``, as snnTorch's default neuron and
            Zenke & Vogels 2021; ``False`` backpropagates through it, as SpikingJelly's default; see
            docs/conventions.md).
        learn_threshold: make the threshold a Parameter.
        shape: ``None`` for one value shared by all neurons, or the per-neuron shape (e.g. ``N``).
        backend: multi-step engine: ``"auto"`` (the default: the fastest engine proven equal to the
            functional core for this neuron, device and dtype; see :meth:`~spikekit.nn.Neuron.engine`),
            ``"fused"``, ``"triton"`` or ``"torch"`` (the reference loop).
    """

    spec = F.lif.IF_SPEC

    def __init__(
        self,
        threshold: float = 1.0,
        reset: str = "subtract",
        surrogate: Surrogate | None = None,
        detach_reset: bool = True,
        learn_threshold: bool = False,
        shape: Shape = None,
        backend: str = "auto",
    ) -> None:
        super().__init__(backend)
        self._scalar("threshold", threshold, learn_threshold, _shape(shape))
        self.reset, self.surrogate, self.detach_reset = reset, self._surrogate(surrogate), detach_reset
        self.params()

    def params(self) -> F.IFParams:
        return F.IFParams(self.threshold, self.reset, self.surrogate, self.detach_reset)


class LIF(Neuron):
    """Leaky integrate-and-fire: ``v = beta * v + x``; spike ``H(v - threshold)``; reset in the same step.

    spikekit resets in the step it fires. snnTorch's ``Leaky`` (default ``reset_delay=True``) instead
    subtracts the threshold at the *next* step, undecayed: ``v[t] = beta v[t-1] + x[t] - s[t-1] thr``.
    ``snntorch.Leaky(..., reset_delay=False)`` matches spikekit's LIF spike for spike while one spike
    brings the membrane back below the threshold (see docs/conventions.md).

    Args:
        beta: decay per step, in (0, 1]. A learnable beta that leaves (0, 1] raises at the next call
            (use :class:`PLIF` for an unconstrained parametrisation).
        threshold, reset, surrogate, detach_reset, shape, backend: as :class:`IF`.
        learn_beta, learn_threshold: make them Parameters.
    """

    spec = F.lif.LIF_SPEC

    def __init__(
        self,
        beta: float = 0.9,
        threshold: float = 1.0,
        reset: str = "subtract",
        surrogate: Surrogate | None = None,
        detach_reset: bool = True,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        shape: Shape = None,
        backend: str = "auto",
    ) -> None:
        super().__init__(backend)
        self._scalar("beta", beta, learn_beta, _shape(shape))
        self._scalar("threshold", threshold, learn_threshold, _shape(shape))
        self.reset, self.surrogate, self.detach_reset = reset, self._surrogate(surrogate), detach_reset
        self.params()

    def params(self) -> F.LIFParams:
        return F.LIFParams(self.beta, self.threshold, self.reset, self.surrogate, self.detach_reset)


class PLIF(Neuron):
    """Parametric LIF (Fang et al. 2021): ``v = v + sigmoid(w) * (x - v)`` with learnable ``w``.

    ``w`` starts at ``-log(init_tau - 1)`` so that ``1 / sigmoid(w) = init_tau``.

    Args:
        init_tau: initial membrane time constant in steps (> 1).
        decay_input: ``False`` gives ``v = (1 - k) v + x`` (input not scaled by ``k``).
        shape: ``None`` for one time constant per layer (as Fang et al.), or per neuron.
        threshold, reset, surrogate, detach_reset, learn_threshold, backend: as :class:`IF`.
    """

    spec = F.lif.PLIF_SPEC

    def __init__(
        self,
        init_tau: float = 2.0,
        threshold: float = 1.0,
        reset: str = "subtract",
        surrogate: Surrogate | None = None,
        detach_reset: bool = True,
        decay_input: bool = True,
        learn_threshold: bool = False,
        shape: Shape = None,
        backend: str = "auto",
    ) -> None:
        super().__init__(backend)
        if isinstance(init_tau, bool) or not isinstance(init_tau, (int, float)) or not init_tau > 1:
            raise ValueError(f"PLIF: init_tau must be a float > 1 (steps), got {init_tau!r}")
        self._scalar("w", -math.log(init_tau - 1.0), True, _shape(shape))
        self._scalar("threshold", threshold, learn_threshold, _shape(shape))
        self.reset, self.surrogate, self.detach_reset = reset, self._surrogate(surrogate), detach_reset
        self.decay_input = decay_input
        self.params()

    @property
    def tau(self) -> torch.Tensor:
        """The current time constant ``1 / sigmoid(w)`` in steps."""
        return 1 / torch.sigmoid(self.w.detach())

    def params(self) -> F.PLIFParams:
        return F.PLIFParams(
            self.w, self.threshold, self.reset, self.surrogate, self.detach_reset, self.decay_input
        )


class ALIF(Neuron):
    """Adaptive LIF (Bellec et al. 2018): threshold ``threshold + adapt * a``, ``a = rho a + (1-rho) s``.

    Args:
        beta: membrane decay per step, in (0, 1].
        rho: adaptation decay per step, in (0, 1] (``exp(-1 / tau_a)``).
        adapt: threshold increase per unit of adaptation (>= 0).
        threshold, reset, surrogate, detach_reset, shape, backend: as :class:`IF`.
        learn_beta, learn_threshold: make them Parameters.
    """

    spec = F.alif.SPEC

    def __init__(
        self,
        beta: float = 0.9,
        rho: float = 0.99,
        adapt: float = 1.8,
        threshold: float = 1.0,
        reset: str = "subtract",
        surrogate: Surrogate | None = None,
        detach_reset: bool = True,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        shape: Shape = None,
        backend: str = "auto",
    ) -> None:
        super().__init__(backend)
        shp = _shape(shape)
        self._scalar("beta", beta, learn_beta, shp)
        self._scalar("rho", rho, False, shp)
        self._scalar("adapt", adapt, False, shp)
        self._scalar("threshold", threshold, learn_threshold, shp)
        self.reset, self.surrogate, self.detach_reset = reset, self._surrogate(surrogate), detach_reset
        self.params()

    def params(self) -> F.ALIFParams:
        return F.ALIFParams(
            self.beta, self.rho, self.adapt, self.threshold, self.reset, self.surrogate, self.detach_reset
        )


class Synaptic(Neuron):
    """Current-based LIF: ``i = alpha i + x``; ``v = beta v + i``; spike; reset.

    Args:
        alpha: synaptic current decay per step, in (0, 1].
        beta: membrane decay per step, in (0, 1].
        threshold, reset, surrogate, detach_reset, shape, backend: as :class:`IF`.
        learn_alpha, learn_beta, learn_threshold: make them Parameters.
    """

    spec = F.synaptic.SPEC

    def __init__(
        self,
        alpha: float = 0.8,
        beta: float = 0.9,
        threshold: float = 1.0,
        reset: str = "subtract",
        surrogate: Surrogate | None = None,
        detach_reset: bool = True,
        learn_alpha: bool = False,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        shape: Shape = None,
        backend: str = "auto",
    ) -> None:
        super().__init__(backend)
        shp = _shape(shape)
        self._scalar("alpha", alpha, learn_alpha, shp)
        self._scalar("beta", beta, learn_beta, shp)
        self._scalar("threshold", threshold, learn_threshold, shp)
        self.reset, self.surrogate, self.detach_reset = reset, self._surrogate(surrogate), detach_reset
        self.params()

    def params(self) -> F.SynapticParams:
        return F.SynapticParams(
            self.alpha, self.beta, self.threshold, self.reset, self.surrogate, self.detach_reset
        )


class RLIF(Neuron):
    """Recurrent LIF: ``v = beta v + x + rec(s_prev)`` with a learnable recurrent weight.

    Input ``[T, B, size]``.

    Args:
        size: number of neurons ``N``.
        all_to_all: ``True``: dense ``[N, N]`` weight (initialised like ``nn.Linear``); ``False``:
            one-to-one ``[N]`` weight (each neuron feeds back to itself), initialised uniform in
            ``[-1/sqrt(N), 1/sqrt(N)]`` too.
        beta, threshold, reset, surrogate, detach_reset, learn_beta, learn_threshold, backend:
            as :class:`LIF`.
    """

    spec = F.rlif.SPEC

    def __init__(
        self,
        size: int,
        beta: float = 0.9,
        threshold: float = 1.0,
        all_to_all: bool = True,
        reset: str = "subtract",
        surrogate: Surrogate | None = None,
        detach_reset: bool = True,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        backend: str = "auto",
    ) -> None:
        super().__init__(backend)
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise ValueError(f"RLIF: size must be an int >= 1, got {size!r}")
        bound = 1 / math.sqrt(size)
        shape = (size, size) if all_to_all else (size,)
        self.weight = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
        self._scalar("beta", beta, learn_beta, None)
        self._scalar("threshold", threshold, learn_threshold, None)
        self.reset, self.surrogate, self.detach_reset = reset, self._surrogate(surrogate), detach_reset
        self.params()

    def params(self) -> F.RLIFParams:
        return F.RLIFParams(
            self.weight, self.beta, self.threshold, self.reset, self.surrogate, self.detach_reset
        )

    def _step_shape(self) -> tuple[int, ...]:
        return (self.weight.shape[0],)

    def _describe(self) -> str:
        kind = "dense" if self.weight.dim() == 2 else "one-to-one"
        return f"size={self.weight.shape[0]}, {kind}, beta={self.beta.item():.4g}, reset={self.reset}"


class RefractoryLIF(Neuron):
    """The original experiment's neuron, exactly as its code ran (see :mod:`spikekit.functional.refractory`).

    ``inner = I + decay * inner``; ``out = relu(inner - threshold)``; where ``out > 0``,
    ``inner -= (penalty / threshold) * inner``; each call returns the previous step's values.
    The recorded membrane is that delayed ``inner``, which the seed network reads out.

    Args:
        decay: decay per step, in (0, 1].
        threshold: > 0.
        penalty: refractory penalty (>= 0).
        reset: ``"seed"`` (as the code ran) or ``"prose"`` (``inner - (penalty + out)``, as its
            write-up said).
        spike: ``"graded"`` (as the code ran) or ``"binary"`` (Heaviside with ``surrogate``).
        surrogate: used only for ``spike="binary"``.
        learn_threshold: make the threshold a Parameter.
        backend: as :class:`IF`.
    """

    spec = F.refractory.SPEC

    def __init__(
        self,
        decay: float = 0.9,
        threshold: float = 1.0,
        penalty: float = 1.5,
        reset: str = "seed",
        spike: str = "graded",
        surrogate: Surrogate | None = None,
        learn_threshold: bool = False,
        backend: str = "auto",
    ) -> None:
        super().__init__(backend)
        self._scalar("decay", decay, False, None)
        self._scalar("threshold", threshold, learn_threshold, None)
        self._scalar("penalty", penalty, False, None)
        self.reset, self.spike, self.surrogate = reset, spike, self._surrogate(surrogate)
        self.params()

    def params(self) -> F.RefractoryParams:
        return F.RefractoryParams(
            self.decay, self.threshold, self.penalty, self.reset, self.spike, self.surrogate
        )


class SRM(Neuron):
    """Spike response model (SRM0) with exponential kernels (see :mod:`spikekit.functional.srm`).

    ``u(t) = eta(t - t_last) + sum_j w_j sum_f eps(t - t_j^f)``, ``eps(s) = exp(-s/tau_m) - exp(-s/tau_s)``,
    ``eta(s) = -threshold * exp(-s / tau_r)``. The input ``x`` is ``sum_j w_j s_j(t)``.

    Args:
        tau_m, tau_s: membrane and synaptic time constants in steps (> 0, different).
        tau_r: refractory time constant in steps (> 0).
        threshold, surrogate, detach_reset, learn_threshold, shape, backend: as :class:`IF`.
    """

    spec = F.srm.SPEC

    def __init__(
        self,
        tau_m: float = 10.0,
        tau_s: float = 2.5,
        tau_r: float = 5.0,
        threshold: float = 1.0,
        surrogate: Surrogate | None = None,
        detach_reset: bool = True,
        learn_threshold: bool = False,
        shape: Shape = None,
        backend: str = "auto",
    ) -> None:
        super().__init__(backend)
        self.tau_m, self.tau_s, self.tau_r = tau_m, tau_s, tau_r
        self._scalar("threshold", threshold, learn_threshold, _shape(shape))
        self.surrogate, self.detach_reset = self._surrogate(surrogate), detach_reset
        self.params()

    def params(self) -> F.SRMParams:
        return F.SRMParams(
            self.tau_m, self.tau_s, self.tau_r, self.threshold, self.surrogate, self.detach_reset
        )


def _step_ms(owner: str, dt: float) -> float:
    if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not 0 < dt < math.inf:
        raise ValueError(f"{owner}: dt must be a float > 0 (ms), got {dt!r}")
    return float(dt)


class Izhikevich(Neuron):
    """Izhikevich (2003)'s simple model (see :mod:`spikekit.functional.izhikevich`), in mV and ms.

    ``v' = 0.04 v^2 + 5 v + 140 - u + I``, ``u' = a (b v - u)``; at ``v >= v_peak``: ``v <- c``,
    ``u <- u + d``. One step is ``dt`` ms: ``v`` in two Euler half-steps, then ``u`` (Izhikevich's own
    scheme, which uses ``dt = 1``), past the peak with ``v`` capped at ``v_peak``; fire and reset in the
    same step. The input ``x`` is the current ``I``
    (``I = 10`` drives a regular-spiking cell tonically). The state starts at ``v = -65``, ``u = b v``.

    Args:
        preset: the firing pattern whose ``(a, b, c, d)`` to start from, a key of :attr:`PRESETS`:
            ``"RS"`` regular spiking, ``"IB"`` intrinsically bursting, ``"CH"`` chattering, ``"FS"`` fast
            spiking, ``"LTS"`` low-threshold spiking.
        a, b, c, d: override the preset's values (``None``: keep them).
        v_peak: spike cut-off (mV, default 30).
        dt: step in ms (default 0.5).
        v_scale: the surrogate sees ``(v - v_peak) / v_scale`` (mV, default 100).
        surrogate, detach_reset, shape, backend: as :class:`IF`.
        learn_a, learn_b, learn_c, learn_d: make them Parameters.
    """

    spec = F.izhikevich.SPEC
    PRESETS = F.izhikevich.IZHIKEVICH_PRESETS

    def __init__(
        self,
        preset: str = "RS",
        a: float | None = None,
        b: float | None = None,
        c: float | None = None,
        d: float | None = None,
        v_peak: float = 30.0,
        dt: float = 0.5,
        v_scale: float = 100.0,
        surrogate: Surrogate | None = None,
        detach_reset: bool = True,
        learn_a: bool = False,
        learn_b: bool = False,
        learn_c: bool = False,
        learn_d: bool = False,
        shape: Shape = None,
        backend: str = "auto",
    ) -> None:
        super().__init__(backend)
        if preset not in self.PRESETS:
            raise ValueError(
                f"Izhikevich: preset must be one of {', '.join(map(repr, self.PRESETS))}; got {preset!r}"
            )
        self.preset = preset
        shp = _shape(shape)
        given = {"a": (a, learn_a), "b": (b, learn_b), "c": (c, learn_c), "d": (d, learn_d)}
        for (name, (value, learn)), default in zip(given.items(), self.PRESETS[preset], strict=True):
            self._scalar(name, default if value is None else value, learn, shp)
        self._scalar("v_peak", v_peak, False, shp)
        self._scalar("v_scale", v_scale, False, None)
        self.dt = _step_ms("Izhikevich", dt)
        self.surrogate, self.detach_reset = self._surrogate(surrogate), detach_reset
        self.params()

    def params(self) -> F.IzhikevichParams:
        return F.IzhikevichParams(
            self.a,
            self.b,
            self.c,
            self.d,
            self.v_peak,
            self.dt,
            self.v_scale,
            self.surrogate,
            self.detach_reset,
        )

    def init_state(self, x_t: torch.Tensor) -> F.IzhikevichState:
        """Izhikevich's starting point: ``v = -65`` mV, ``u = b v``."""
        return F.izhikevich_init(x_t, self.params())


class AdEx(Neuron):
    """Adaptive exponential integrate-and-fire (Brette & Gerstner 2005; :mod:`spikekit.functional.adex`).

    ``C V' = -g_L (V - E_L) + g_L delta_T exp((V - V_T) / delta_T) - w + I``,
    ``tau_w w' = a (V - E_L) - w``; at ``V >= V_peak``: ``V <- V_r``, ``w <- w + b``. Forward Euler with
    step ``dt`` ms, the exponential evaluated at ``min(V, V_peak)`` (never overflows); fire and reset in the
    same step. Units mV, ms, nF, uS, nA; the input ``x`` is the current ``I`` in nA (the defaults'
    rheobase is about 0.6 nA). The state starts at rest, ``V = E_L``, ``w = 0``.

    Args:
        C, g_L, E_L, V_T, delta_T, tau_w, a, b, V_r: the paper's defaults (281 pF, 30 nS, -70.6 mV,
            -50.4 mV, 2 mV, 144 ms, 4 nS, 0.0805 nA, ``V_r = E_L``), in the units above.
        V_peak: spike cut-off (mV, default ``V_T + 5 delta_T = -40.4``).
        dt: step in ms (default 0.1).
        v_scale: the surrogate sees ``(V - V_peak) / v_scale`` (mV, default 30).
        surrogate, detach_reset, shape, backend: as :class:`IF`.
        learn_a, learn_b: make the adaptation's coupling ``a`` and jump ``b`` Parameters.
    """

    spec = F.adex.SPEC

    def __init__(
        self,
        C: float = 0.281,
        g_L: float = 0.030,
        E_L: float = -70.6,
        V_T: float = -50.4,
        delta_T: float = 2.0,
        tau_w: float = 144.0,
        a: float = 0.004,
        b: float = 0.0805,
        V_r: float = -70.6,
        V_peak: float = -40.4,
        dt: float = 0.1,
        v_scale: float = 30.0,
        surrogate: Surrogate | None = None,
        detach_reset: bool = True,
        learn_a: bool = False,
        learn_b: bool = False,
        shape: Shape = None,
        backend: str = "auto",
    ) -> None:
        super().__init__(backend)
        shp = _shape(shape)
        for name, value in (("C", C), ("g_L", g_L), ("E_L", E_L), ("V_T", V_T), ("delta_T", delta_T)):
            self._scalar(name, value, False, shp)
        self._scalar("tau_w", tau_w, False, shp)
        self._scalar("a", a, learn_a, shp)
        self._scalar("b", b, learn_b, shp)
        self._scalar("V_r", V_r, False, shp)
        self._scalar("V_peak", V_peak, False, shp)
        self._scalar("v_scale", v_scale, False, None)
        self.dt = _step_ms("AdEx", dt)
        self.surrogate, self.detach_reset = self._surrogate(surrogate), detach_reset
        self.params()

    def params(self) -> F.AdExParams:
        return F.AdExParams(
            self.C,
            self.g_L,
            self.E_L,
            self.V_T,
            self.delta_T,
            self.tau_w,
            self.a,
            self.b,
            self.V_r,
            self.V_peak,
            self.dt,
            self.v_scale,
            self.surrogate,
            self.detach_reset,
        )

    def init_state(self, x_t: torch.Tensor) -> F.AdExState:
        """Rest: ``V = E_L``, ``w = 0``."""
        return F.adex_init(x_t, self.params())


class Alpha(Neuron):
    """snnTorch's ``Alpha`` neuron, exactly (see :mod:`spikekit.functional.alpha`).

    ``exc = alpha exc + x``; ``inh = beta inh - x``; ``v = tau_alpha (exc + inh)`` with
    ``tau_alpha = ln(alpha) / (ln(beta) - ln(alpha)) + 1`` and ``alpha > beta``: a single input gives the
    alpha-shaped membrane ``tau_alpha (alpha^k - beta^k)`` ``k`` steps later. Spike ``H(v - threshold)``.
    As in snnTorch, a spike is reset during the *next* step (which it also uses to gate that step's input);
    the state carries the last spike. Same spikes as
    ``snntorch.Alpha(alpha, beta, threshold, reset_mechanism=reset)``; snnTorch detaches the reset from
    the gradient (``detach_reset=True``).

    Args:
        alpha: excitatory current decay per step, in (0, 1].
        beta: inhibitory current decay per step, in (0, 1), below ``alpha``.
        reset: ``"zero"`` (snnTorch's default: both currents and the membrane to zero), ``"subtract"``
            (snnTorch's: the threshold off the excitatory current, the inhibitory current to zero) or
            ``"none"``.
        threshold, surrogate, detach_reset, shape, backend: as :class:`IF`.
        learn_alpha, learn_beta, learn_threshold: make them Parameters (``alpha > beta`` is checked at
            every call).
    """

    spec = F.alpha.SPEC

    def __init__(
        self,
        alpha: float = 0.9,
        beta: float = 0.8,
        threshold: float = 1.0,
        reset: str = "zero",
        surrogate: Surrogate | None = None,
        detach_reset: bool = True,
        learn_alpha: bool = False,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        shape: Shape = None,
        backend: str = "auto",
    ) -> None:
        super().__init__(backend)
        shp = _shape(shape)
        self._scalar("alpha", alpha, learn_alpha, shp)
        self._scalar("beta", beta, learn_beta, shp)
        self._scalar("threshold", threshold, learn_threshold, shp)
        self.reset, self.surrogate, self.detach_reset = reset, self._surrogate(surrogate), detach_reset
        self.params()

    def params(self) -> F.AlphaParams:
        return F.AlphaParams(
            self.alpha, self.beta, self.threshold, self.reset, self.surrogate, self.detach_reset
        )
