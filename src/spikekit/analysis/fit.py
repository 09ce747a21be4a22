r"""Fit a two-sided exponential STDP window to weight changes measured against ``dt = t_post - t_pre``.

.. math::
    W(\Delta t) = \begin{cases}
        A_+ \, e^{-(\Delta t - d_+) / \tau_+} & \Delta t \ge d_+ \ (\ge 0) \\
        -A_- \, e^{(\Delta t - d_-) / \tau_-} & \Delta t \le d_- \ (< 0)
    \end{cases}

The classic window (Bi & Poo 1998; Song, Miller & Abbott 2000) has ``d_+ = 0`` and ``d_- = -1``: ``A_+ > 0``
is potentiation when the presynaptic spike comes first, ``A_- > 0`` depression when it comes after.
Each side is fitted from its own peak ``d`` (the largest ``|W|`` on that side) outwards, so a rising phase
(a neuron whose response to an input needs a few steps to peak, such as SRM or Synaptic) does not bias
the time constant; for LIF-type neurons ``d_+ = 0``.

Fitting uses :func:`scipy.optimize.curve_fit` when SciPy is installed (``method="scipy"``), started from a
log-linear least-squares fit of ``log|W|`` weighted by ``|W|`` (``method="numpy"``, the fallback).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from .._checks import check_choice

try:  # SciPy is optional: scikit-learn brings it, spikekit does not require it.
    from scipy.optimize import OptimizeWarning, curve_fit
except ImportError:  # pragma: no cover - exercised only without SciPy
    curve_fit = None
    OptimizeWarning = UserWarning

__all__ = ["ExpFit", "WindowFit", "fit_exponential", "fit_window", "causal_fraction", "FIT_METHODS"]

FIT_METHODS = ("auto", "scipy", "numpy")


@dataclass(frozen=True)
class ExpFit:
    """``y = amplitude * exp(-x / tau)`` for ``x >= 0``.

    ``tau`` is ``inf`` for a flat side, ``0.0`` when only ``x = 0`` is non-zero, ``nan`` when the side is
    all zeros (then ``amplitude = 0``). ``r2`` is the coefficient of determination in linear space.
    """

    amplitude: float
    tau: float
    r2: float
    method: str


@dataclass(frozen=True)
class WindowFit:
    """A fitted two-sided exponential (see the module docstring); callable on ``dt``."""

    a_plus: float
    tau_plus: float
    peak_plus: int
    r2_plus: float
    a_minus: float
    tau_minus: float
    peak_minus: int
    r2_minus: float
    method: str

    @property
    def depression(self) -> bool:
        """Whether the acausal side is a depression lobe (``A- > 0``)."""
        return self.a_minus > 0

    def __call__(self, dt: np.ndarray) -> np.ndarray:
        """The fitted window at ``dt``; ``nan`` on the rising phases between a side's peak and 0."""
        dt = np.asarray(dt, dtype=float)
        out = np.full(dt.shape, np.nan)
        plus, minus = dt >= self.peak_plus, dt <= self.peak_minus
        out[plus] = _curve(dt[plus] - self.peak_plus, self.a_plus, self.tau_plus)
        out[minus] = -_curve(self.peak_minus - dt[minus], self.a_minus, self.tau_minus)
        return out

    def to_dict(self) -> dict:
        return {k: _json_float(v) for k, v in asdict(self).items()}


def _curve(x: np.ndarray, amplitude: float, tau: float) -> np.ndarray:
    if amplitude == 0 or math.isnan(tau):
        return np.zeros_like(x)
    if tau == 0:
        return np.where(x == 0, amplitude, 0.0)
    return amplitude * np.exp(-x / tau)


def _json_float(v):
    """JSON has no NaN/Infinity: NaN becomes ``None`` and infinities ``"inf"``/``"-inf"``."""
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
    return v


def _r2(y: np.ndarray, fit: np.ndarray) -> float:
    ss_res = float(np.sum((y - fit) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot == 0:
        return 1.0 if ss_res <= 1e-12 * max(float(np.sum(y**2)), 1e-300) else float("nan")
    return 1.0 - ss_res / ss_tot


def fit_exponential(x: np.ndarray, y: np.ndarray, method: str = "auto") -> ExpFit:
    """Fit ``y = A exp(-x / tau)`` (``tau >= 0``) to points ``x >= 0`` whose largest ``|y|`` is at ``x = 0``.

    Args:
        x: distances from the peak, ``>= 0``, ``x[0] = 0``.
        y: values.
        method: ``"auto"`` (SciPy if installed, else NumPy), ``"scipy"`` or ``"numpy"``.

    Returns:
        An :class:`ExpFit`.
    """
    check_choice(method, "method", FIT_METHODS)
    if method == "scipy" and curve_fit is None:
        raise RuntimeError("method='scipy' needs SciPy, which is not installed; use method='numpy'")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    scale = float(np.max(np.abs(y))) if y.size else 0.0
    if scale == 0.0:
        return ExpFit(0.0, float("nan"), float("nan"), "none")
    yn = y / scale  # [n], |yn| <= 1: better conditioned
    sign = 1.0 if yn[0] >= 0 else -1.0
    usable = sign * yn > 1e-12
    if usable.sum() < 2:
        rest = np.abs(yn[1:]).max(initial=0.0)
        tau = 0.0 if rest <= 1e-12 else float("nan")
        return ExpFit(float(y[0]), tau, _r2(yn, np.where(x == 0, yn[0], 0.0)), "numpy")
    xu, yu = x[usable], sign * yn[usable]
    slope, intercept = np.polyfit(xu, np.log(yu), 1, w=yu)
    amp, rate = sign * math.exp(intercept), max(-slope, 0.0)
    used = "numpy"
    if method != "numpy" and curve_fit is not None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OptimizeWarning)
                (amp_s, rate_s), _ = curve_fit(
                    lambda xx, a, k: a * np.exp(-k * xx),
                    x,
                    yn,
                    p0=(amp, rate),
                    bounds=([-np.inf, 0.0], [np.inf, np.inf]),
                )
            amp, rate, used = float(amp_s), float(rate_s), "scipy"
        except (RuntimeError, ValueError):  # no convergence: keep the log-linear fit
            pass
    # Flat within 1e-6 over the fitted range: no decay to speak of.
    tau = math.inf if rate * max(float(x.max()), 1.0) < 1e-6 else 1.0 / rate
    return ExpFit(amp * scale, tau, _r2(yn, amp * np.exp(-rate * x)), used)


def _check_window(dt: object, dw: object) -> tuple[np.ndarray, np.ndarray]:
    dt_a, dw_a = np.asarray(dt, dtype=float), np.asarray(dw, dtype=float)
    if dt_a.ndim != 1 or dw_a.ndim != 1 or dt_a.shape != dw_a.shape:
        raise ValueError(
            f"dt and dw must be 1-D arrays of the same length, got shapes {dt_a.shape} and {dw_a.shape}"
        )
    if not np.isfinite(dt_a).all():
        raise ValueError("dt must be finite")
    if np.isinf(dw_a).any():
        raise ValueError("dw must not hold infinities (NaN marks a missing point and is skipped)")
    return dt_a, dw_a


def causal_fraction(dt: np.ndarray, dw: np.ndarray) -> float:
    """Share of the total ``|dw|`` at ``dt >= 0`` (``nan`` if ``dw`` is all zero). NaNs are skipped."""
    dt_a, dw_a = _check_window(dt, dw)
    keep = ~np.isnan(dw_a)
    causal = float(np.abs(dw_a[keep & (dt_a >= 0)]).sum())
    total = causal + float(np.abs(dw_a[keep & (dt_a < 0)]).sum())
    if total == 0:
        return float("nan")
    return causal / total


def fit_window(dt: np.ndarray, dw: np.ndarray, method: str = "auto") -> WindowFit:
    """Fit the two-sided exponential of the module docstring to ``dw`` against ``dt``.

    Args:
        dt: ``t_post - t_pre`` in steps, 1-D.
        dw: the weight change at each ``dt`` (NaN = no data, skipped).
        method: ``"auto"``, ``"scipy"`` or ``"numpy"``.

    Returns:
        A :class:`WindowFit`; a side with no non-zero value gets ``A = 0`` and ``tau = nan``.

    Example:
        >>> dt = np.arange(-20, 21); dw = np.where(dt >= 0, np.exp(-dt / 5), -0.5 * np.exp(dt / 10))
        >>> fit_window(dt, dw)   # a_plus=1, tau_plus=5, a_minus=0.5 * exp(-1/10), tau_minus=10
    """
    check_choice(method, "method", FIT_METHODS)
    dt_a, dw_a = _check_window(dt, dw)
    keep = ~np.isnan(dw_a)
    dt_a, dw_a = dt_a[keep], dw_a[keep]
    sides = []
    for causal in (True, False):
        mask = dt_a >= 0 if causal else dt_a < 0
        d, y = dt_a[mask], dw_a[mask]
        order = np.argsort(d if causal else -d)  # from dt = 0 outwards
        d, y = d[order], y[order]
        if d.size == 0:
            sides.append((0.0, float("nan"), 0 if causal else -1, float("nan"), "none"))
            continue
        p = int(np.argmax(np.abs(y)))
        x = np.abs(d[p:] - d[p])
        f = fit_exponential(x, y[p:], method)
        sides.append((f.amplitude, f.tau, int(d[p]), f.r2, f.method))
    (ap, tp, pp, rp, mp), (am, tm, pm, rm, mm) = sides
    used = "scipy" if "scipy" in (mp, mm) else ("numpy" if "numpy" in (mp, mm) else "none")
    return WindowFit(ap, tp, pp, rp, (-am if am != 0 else 0.0), tm, pm, rm, used)
