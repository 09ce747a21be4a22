"""Bellec et al. 2018's long short-term memory spiking network (LSNN): recurrent LIF and ALIF neurons.

``n_lif`` LIF neurons and ``n_alif`` ALIF neurons (a threshold that each spike raises by ``jump`` and that
decays back with ``rho``) share one dense recurrent weight without self-connections; a leaky, non-spiking
readout ``y_t = kappa y_{t-1} + W_out s_t + b`` gives one value per class and step. Both halves step
through the functional core :func:`spikekit.functional.alif_step`, the LIF half with ``adapt = 0``.

With ``N = n_lif + n_alif`` neurons, input ``x_t`` and spikes ``s_t`` (all zero at ``t = 0``):

- ``v_t = beta v'_{t-1} + W_in x_t + W_rec s_{t-1}`` (``W_rec`` has a zero diagonal, always);
- ``theta_t = 1 + adapt a_{t-1}`` with ``adapt = jump / (1 - rho)`` for ALIF neurons, ``0`` for LIF ones;
- ``s_t = H(v_t - theta_t)``, ``v'_t = v_t - s_t theta_t`` (the reset carries no gradient);
- ``a_t = rho a_{t-1} + (1 - rho) s_t``, so a spike raises an ALIF threshold by ``jump``.

The defaults are the paper's store-recall network (50 + 50 neurons, ``rho = exp(-1/100)``, a threshold
jump of 0.9 in threshold units, the dampened pseudo-derivative ``atan(0.6)``: peak 0.3 as their
``gamma = 0.3``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from .._checks import check_choice, check_finite, check_floating, check_range
from ..functional.alif import ALIFParams, ALIFState, alif_step
from ..surrogate import Surrogate, atan, check_surrogate
from ._config import remember_init

__all__ = ["LSNN", "LSNNTrace", "LSNN_READOUTS"]

LSNN_READOUTS = ("mean", "last")


class LSNNTrace(NamedTuple):
    """What :meth:`LSNN.trace` records at every step, each ``[T, B, ...]``."""

    readout: torch.Tensor
    """The leaky readout ``y_t``, ``[T, B, n_out]``."""
    spikes: torch.Tensor
    """``s_t``, ``[T, B, N]`` (the LIF neurons first)."""
    membrane: torch.Tensor
    """``v_t`` after integration and before the reset, ``[T, B, N]``."""
    threshold: torch.Tensor
    """``theta_t``, the threshold each neuron faced, ``[T, B, N]`` (1 for the LIF neurons)."""


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"LSNN: {name} must be an int >= 0, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"LSNN: {name} must be an int >= 0, got {value}")
    return value


def _real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"LSNN: {name} must be a finite number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"LSNN: {name} must be a finite number, got {value!r}")
    return float(value)


@remember_init
class LSNN(nn.Module):
    """LSNN (Bellec et al. 2018): ``Linear -> `` recurrent LIF + ALIF neurons ``->`` a leaky readout.

    Args:
        n_in: input channels per step.
        n_lif, n_alif: LIF and ALIF neurons (``n_lif + n_alif >= 1``; either may be 0).
        n_out: classes.
        beta: the membrane decay, in (0, 1].
        rho: the threshold adaptation's decay, in (0, 1) (default ``exp(-1 / 100)``: it relaxes over about
            100 steps).
        jump: how far one spike raises an ALIF neuron's threshold (``>= 0``, in threshold units).
        kappa: the readout's decay, in (0, 1].
        surrogate: the spike's pseudo-derivative (default ``atan(0.6)``, peak 0.3).
        readout: ``"mean"``: the readout averaged over time (the convention of the other models; for
            classifying a whole sequence: Randman, SHD); ``"last"``: the readout at the last step, which
            integrates the last ``~1 / (1 - kappa)`` steps (store-recall's answer at its final recall).
        input_gain: multiplies the input weights at initialisation (``nn.Linear``'s default is uniform in
            ``+-1/sqrt(n_in)``); sparse inputs such as Randman's one spike per channel need about 5 to make
            the neurons fire at all.

    Shape:
        ``[T, B, n_in]`` (or ``[T, B, ...]`` with ``n_in`` values per step) -> logits ``[B, n_out]``;
        :meth:`per_step` gives the readout of every step, ``[T, B, n_out]``.

    Example:
        >>> import torch
        >>> import spikekit as sk
        >>> model = sk.models.LSNN(n_in=32, n_lif=4, n_alif=4, n_out=2)
        >>> model(torch.rand(10, 3, 32)).shape, model.per_step(torch.rand(10, 3, 32)).shape
        (torch.Size([3, 2]), torch.Size([10, 3, 2]))
    """

    def __init__(
        self,
        n_in: int = 32,
        n_lif: int = 50,
        n_alif: int = 50,
        n_out: int = 2,
        beta: float = 0.95,
        rho: float = math.exp(-1 / 100),
        jump: float = 0.9,
        kappa: float = 0.9,
        surrogate: Surrogate | None = None,
        readout: str = "mean",
        input_gain: float = 1.0,
    ) -> None:
        super().__init__()
        n_in = _count(n_in, "n_in")
        n_out = _count(n_out, "n_out")
        self.n_lif, self.n_alif = _count(n_lif, "n_lif"), _count(n_alif, "n_alif")
        for value, name in ((n_in, "n_in"), (n_out, "n_out"), (self.n_lif + self.n_alif, "n_lif + n_alif")):
            if value < 1:
                raise ValueError(f"LSNN: {name} must be >= 1, got {value}")
        self.beta, self.rho = _real(beta, "beta"), _real(rho, "rho")
        self.jump, self.kappa = _real(jump, "jump"), _real(kappa, "kappa")
        check_range(self.beta, "LSNN: beta", 0.0, 1.0, low_open=True)
        check_range(self.rho, "LSNN: rho", 0.0, 1.0, low_open=True, high_open=True)
        check_range(self.jump, "LSNN: jump", 0.0, math.inf, high_open=True)
        check_range(self.kappa, "LSNN: kappa", 0.0, 1.0, low_open=True)
        self.surrogate = check_surrogate(atan(0.6) if surrogate is None else surrogate, "LSNN: surrogate")
        self.readout = check_choice(readout, "LSNN: readout", LSNN_READOUTS)
        self.input_gain = _real(input_gain, "input_gain")
        check_range(self.input_gain, "LSNN: input_gain", 0.0, math.inf, low_open=True, high_open=True)
        n = self.n_lif + self.n_alif
        # created in this order (input, recurrent, readout) so a seed gives benchmarks/temporal.py's weights
        self.inp = nn.Linear(n_in, n, bias=False)
        self.rec = nn.Linear(n, n, bias=False)
        with torch.no_grad():
            self.rec.weight.fill_diagonal_(0.0)
            if self.input_gain != 1.0:
                self.inp.weight.mul_(self.input_gain)
        self.out = nn.Linear(n, n_out)

    @property
    def n(self) -> int:
        """Recurrent neurons, ``n_lif + n_alif``."""
        return self.n_lif + self.n_alif

    def adapt(self, like: torch.Tensor | None = None) -> torch.Tensor:
        """Per-neuron adaptation strength ``[N]``: 0 for the LIF neurons, ``jump / (1 - rho)`` for the ALIF
        ones (in ``like``'s dtype and device; default: the weights')."""
        like = self.rec.weight if like is None else like
        where = {"dtype": like.dtype, "device": like.device}
        strength = torch.full((self.n_alif,), self.jump / (1 - self.rho), **where)
        return torch.cat([torch.zeros(self.n_lif, **where), strength])

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        check_floating(x, "LSNN: x")
        n_in = self.inp.in_features
        if x.dim() < 3 or x.shape[2:].numel() != n_in:
            hint = " (did you forget the time axis?)" if x.dim() == 2 else ""
            raise ValueError(
                f"LSNN: expected a sequence [T, B, ...] with {n_in} values per step, got shape "
                f"{tuple(x.shape)}{hint}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"LSNN: x needs at least one step and one sample, got shape {tuple(x.shape)}")
        w = self.inp.weight
        if x.dtype != w.dtype:
            raise TypeError(f"LSNN: x is {x.dtype} but the model is {w.dtype}; convert one (x.to({w.dtype}))")
        if x.device != w.device:
            raise ValueError(f"LSNN: x is on {x.device} but the model on {w.device}; move one of them")
        return check_finite(x, "LSNN: x").flatten(2)

    def _run(self, x: torch.Tensor, record: bool) -> tuple[torch.Tensor, list[list[torch.Tensor]]]:
        """The readout ``[T, B, n_out]`` and, with ``record``, per step: spikes, membranes, thresholds."""
        x = self._check(x)
        batch, n = x.shape[1], self.n
        adapt = self.adapt(x)
        params = ALIFParams(self.beta, self.rho, adapt, threshold=1.0, surrogate=self.surrogate)
        state = ALIFState(x.new_zeros(batch, n), x.new_zeros(batch, n))
        s = x.new_zeros(batch, n)
        y = x.new_zeros(batch, self.out.out_features)
        drive = self.inp(x)  # [T, B, N]
        eye = torch.eye(n, dtype=self.rec.weight.dtype, device=x.device)
        rec = self.rec.weight * (1 - eye)  # no self-connections, whatever training does to the diagonal
        outs: list[torch.Tensor] = []
        spikes: list[torch.Tensor] = []
        membranes: list[torch.Tensor] = []
        thresholds: list[torch.Tensor] = []
        for t in range(x.shape[0]):
            if record:
                thresholds.append(1.0 + adapt * state.a)
            s, v, state = alif_step(drive[t] + s @ rec.T, state, params)
            y = self.kappa * y + self.out(s)
            outs.append(y)
            if record:
                spikes.append(s)
                membranes.append(v)
        return torch.stack(outs), [spikes, membranes, thresholds]

    def per_step(self, x: torch.Tensor) -> torch.Tensor:
        """The readout of every step, ``[T, B, n_out]`` (per-step losses, e.g. on store-recall's recall
        steps)."""
        return self._run(x, record=False)[0]

    def trace(self, x: torch.Tensor) -> LSNNTrace:
        """Readout, spikes, pre-reset membrane and thresholds of every step (an :class:`LSNNTrace`)."""
        readout, recorded = self._run(x, record=True)
        return LSNNTrace(readout, *(torch.stack(steps) for steps in recorded))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.per_step(x)
        return y.mean(0) if self.readout == "mean" else y[-1]

    def extra_repr(self) -> str:
        return (
            f"n_lif={self.n_lif}, n_alif={self.n_alif}, beta={self.beta:g}, rho={self.rho:g}, "
            f"jump={self.jump:g}, kappa={self.kappa:g}, surrogate={self.surrogate!r}, "
            f"readout={self.readout!r}"
            + (f", input_gain={self.input_gain:g}" if self.input_gain != 1.0 else "")
        )
