r"""Controlled mode: the weight change backpropagation implies for one pre spike at each ``dt``.

One presynaptic spike at ``t_pre`` reaches one postsynaptic neuron through a weight ``w``; an external
drive (a single kick of current) makes the neuron fire at ``t_post``. For each ``dt = t_post - t_pre`` in
``[-max_dt, max_dt]`` (one batch element each, run together) the input current is

.. math::
    x[t] = w\, p[t] + d[t], \qquad p[t] = [t = t_\text{pre}], \qquad d[t] = a\, [t = t_\text{kick}]

and the window is the gradient-implied change :math:`-\partial\mathcal{L}/\partial w` of one of three losses
on the neuron's output ``o``:

- ``"post"``: :math:`\mathcal{L} = -o[t_\text{post}]`, the post spike alone;
- ``"all"``: :math:`\mathcal{L} = -\sum_t o[t]`, all its spikes;
- ``"rate"``: :math:`\mathcal{L} = (\frac{1}{T}\sum_t o[t] - r^*)^2`, a target-rate loss (``target_rate``
  :math:`r^*`, by default 0.8, snnTorch's ``correct_rate``: the neuron should fire more).

Each asks the neuron to fire (``"rate"`` while it fires below :math:`r^*`), so a positive change is
potentiation, as for a pre spike that helped cause a post spike in STDP.

The gradient is taken at ``w = weight`` (default 0, where the pre spike does not change the forward pass,
so every ``dt`` sees the same post spike and the window's shape does not depend on where on its surrogate
the pre spike pushed the membrane). The kick ``a`` is calibrated from the neuron's response to a small input
so that the membrane reaches ``threshold * (1 + margin)`` at ``t_post``: just above threshold, where every
surrogate has gradient. For a LIF neuron with ``w = 0`` and a detached reset the window is exactly
``P'(margin * threshold) * beta^dt`` for ``dt >= 0`` and 0 before: ``tau+ = -1 / ln(beta)``.

**How dt is defined.** ``t_pre`` is the step at which the pre spike enters the neuron's input and ``t_post``
the step at which the neuron integrates the input that makes it fire. For most neurons that is where the
spike appears in the output. :class:`~spikekit.nn.RefractoryLIF` (the original experiment's neuron) returns
each step's output one step later; its ``t_post`` is one less than the index where the spike shows in its
output (``output_delay = 1``), so that ``dt = 0`` is, as for LIF, the last pre spike that can cause it. Its
graded output ``relu(inner - threshold)`` needs no surrogate: the window is then ``decay^dt`` exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .._checks import check_choice, check_positive_int
from ..surrogate import Surrogate
from ._neurons import build_neuron, inner_neuron, output_delay, predicted_tau
from .fit import FIT_METHODS, WindowFit, _json_float, causal_fraction, fit_window
from .remedies import AfterPotential, _check_tail

__all__ = ["LOSSES", "STDPWindow", "controlled_window", "neuron_label"]

LOSSES = ("post", "all", "rate")


@dataclass
class STDPWindow:
    """A measured window (controlled mode) and its fit.

    Attributes:
        dt: ``t_post - t_pre`` in steps, ``[D]``.
        dw: the gradient-implied change ``-dL/dw`` at each ``dt``, ``[D]``.
        fit: the two-sided exponential fitted to it (:class:`~spikekit.analysis.fit.WindowFit`).
        causal_fraction: share of ``sum |dw|`` at ``dt >= 0``.
        predicted_tau: ``-1 / ln(decay)`` of the neuron's membrane, in steps (``None`` if unknown).
        neuron, surrogate, loss, remedy: what was measured (labels).
        t_post, output_delay, drive, post_spikes: the setup: the post spike's step, the neuron's output
            delay, the kick's amplitude and every step at which the neuron fired (``t_post`` first).
        weight, weight_decay, after_potential: the point and the remedies the gradient was taken with.
    """

    dt: np.ndarray
    dw: np.ndarray
    fit: WindowFit
    causal_fraction: float
    predicted_tau: float | None
    neuron: str
    surrogate: str
    loss: str
    t_post: int
    output_delay: int
    drive: float
    post_spikes: list[int]
    weight: float = 0.0
    weight_decay: float = 0.0
    after_potential: dict | None = None
    target_rate: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def a_plus(self) -> float:
        return self.fit.a_plus

    @property
    def tau_plus(self) -> float:
        return self.fit.tau_plus

    @property
    def a_minus(self) -> float:
        return self.fit.a_minus

    @property
    def tau_minus(self) -> float:
        return self.fit.tau_minus

    @property
    def acausal(self) -> str:
        """What the acausal side (``t_post < t_pre``, ``dt < 0``) is, read from the fit and the data:

        - ``"none"``: no change before the post spike (``A- = 0``);
        - ``"potentiation"``: a positive acausal side (``A- < 0``): acausal *potentiation*, not STDP's
          depression;
        - ``"offset"``: a negative side with no timing dependence (``tau- = inf``), e.g. L2 weight decay's
          ``-lambda w`` at every ``dt``;
        - ``"shift"``: a negative side that grows *away* from ``dt = 0`` (its largest ``|dw|`` in the outer
          half of the window), e.g. an after-potential tail: a drift, not a lobe around the post spike;
        - ``"lobe"``: a depression lobe, the STDP shape: negative (``A- > 0``), largest near ``dt = 0`` and
          decaying away from it with a finite ``tau-``.
        """
        a, tau, peak = self.fit.a_minus, self.fit.tau_minus, self.fit.peak_minus
        if a == 0 or (isinstance(a, float) and math.isnan(a)):
            return "none"
        if a < 0:
            return "potentiation"
        if math.isinf(tau):
            return "offset"
        acausal = self.dt[self.dt < 0]
        if acausal.size and peak < float(acausal.min()) / 2:
            return "shift"
        return "lobe"

    @property
    def depression(self) -> bool:
        """Whether the window has a depression lobe (:attr:`acausal` is ``"lobe"``): a negative, timing-
        dependent acausal side around ``dt = 0``. ``fit.depression`` (``A- > 0``) also counts a flat offset or
        a drift; this does not."""
        return self.acausal == "lobe"

    @property
    def remedy(self) -> str:
        """``"none"``, ``"weight_decay"``, ``"after_potential"`` or both joined by ``+``."""
        parts = [
            n
            for n, on in (
                ("weight_decay", self.weight_decay > 0),
                ("after_potential", bool(self.after_potential)),
            )
            if on
        ]
        return "+".join(parts) or "none"

    @property
    def label(self) -> str:
        return f"{self.neuron} / {self.surrogate} / {self.loss}" + (
            "" if self.remedy == "none" else f" / {self.remedy}"
        )

    def fitted(self, dt: np.ndarray) -> np.ndarray:
        """The fitted window at ``dt``."""
        return self.fit(dt)

    def to_dict(self) -> dict:
        """Plain JSON-ready data (NaN as ``None``, infinity as ``"inf"``)."""
        return {
            "neuron": self.neuron,
            "surrogate": self.surrogate,
            "loss": self.loss,
            "remedy": self.remedy,
            "predicted_tau": _json_float(self.predicted_tau),
            "fit": self.fit.to_dict(),
            "causal_fraction": _json_float(self.causal_fraction),
            "depression": self.depression,
            "acausal": self.acausal,
            "t_post": self.t_post,
            "output_delay": self.output_delay,
            "drive": self.drive,
            "post_spikes": list(self.post_spikes),
            "weight": self.weight,
            "weight_decay": self.weight_decay,
            "after_potential": self.after_potential,
            "target_rate": self.target_rate,
            "dt": [int(d) for d in self.dt],
            "dw": [_json_float(float(v)) for v in self.dw],
            **self.extra,
        }


def neuron_label(module: nn.Module) -> str:
    """A short name: the class, plus the options that change the window (``detach_reset``, ...)."""
    n = inner_neuron(module)
    parts = []
    if getattr(n, "detach_reset", False):
        parts.append("detach_reset")
    reset = getattr(n, "reset", None)
    if isinstance(reset, str) and reset not in ("subtract", "seed"):
        parts.append(f"reset={reset}")
    if getattr(n, "spike", None) == "binary":
        parts.append("binary")
    name = type(n).__name__
    return f"{name}({', '.join(parts)})" if parts else name


def _uses_surrogate(module: nn.Module) -> bool:
    """False for a graded output (``spike="graded"``, RefractoryLIF's default): no surrogate is involved."""
    return getattr(inner_neuron(module), "spike", None) != "graded"


def _threshold(module: nn.Module) -> float:
    thr = getattr(inner_neuron(module), "threshold", None)
    if thr is None:
        raise TypeError(f"{type(module).__name__} has no threshold; the controlled window needs one")
    return float(torch.as_tensor(thr).detach().double().mean())


def _first_response(neuron: nn.Module, steps: int, threshold: float) -> tuple[int, float]:
    """Step and size of the first membrane response to a small input at step 0 (per unit of input)."""
    eps = 1e-6 * threshold
    x = torch.zeros(steps, 1, 1, dtype=torch.float64)
    x[0] = eps
    with torch.no_grad():
        _, v, _ = inner_neuron(neuron).trace(x)
    r = v[:, 0, 0] / eps  # [T]
    peak = float(r.abs().max())
    nz = torch.nonzero(r.abs() > 1e-9 * peak).flatten() if peak > 0 else torch.empty(0)
    if nz.numel() == 0 or float(r[int(nz[0])]) <= 0:
        raise RuntimeError(f"{neuron_label(neuron)}: the membrane does not respond positively to an input")
    s = int(nz[0])
    return s, float(r[s])


def _tail(p: torch.Tensor, tau: float, scale: float) -> torch.Tensor:
    """``p`` with each spike followed by AfterPotential's negative tail (the pre neuron has one too)."""
    rho, h, outs = math.exp(-1.0 / tau), torch.zeros_like(p[0]), []
    for p_t in p.unbind(0):
        outs.append(p_t - scale * h)
        h = rho * h + (1 - rho) * p_t
    return torch.stack(outs)


def _check_float(value: object, name: str, low: float = -math.inf, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite float, got {type(value).__name__} {value!r}")
    if value < low or (low_open and value == low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low:g}, got {value!r}")
    return float(value)


def controlled_window(
    neuron: str | type | nn.Module = "LIF",
    *,
    surrogate: Surrogate | None = None,
    neuron_kwargs: dict | None = None,
    loss: str = "post",
    max_dt: int = 30,
    steps_after: int = 50,
    weight: float = 0.0,
    weight_decay: float = 0.0,
    after_potential_tau: float | None = None,
    after_potential_scale: float = 1.0,
    target_rate: float = 0.8,
    margin: float = 0.1,
    fit_method: str = "auto",
) -> STDPWindow:
    """Measure the weight change backpropagation implies for a pre spike at each ``dt`` (controlled mode).

    See :mod:`spikekit.analysis.window` for the setup, the losses and how ``dt`` is defined.

    Args:
        neuron: a spikekit neuron name (``"LIF"``), class (``sk.nn.LIF``) or instance; instances are
            copied, never changed. It must take one feature, ``[T, B, 1]``.
        surrogate: the spike function to use (replaces the neuron's); ``None`` keeps the neuron's.
        neuron_kwargs: arguments to build ``neuron`` from its name or class (e.g. ``{"beta": 0.8}``).
        loss: ``"post"``, ``"all"`` or ``"rate"``.
        max_dt: the window spans ``dt`` in ``[-max_dt, max_dt]`` steps.
        steps_after: steps simulated after the latest pre spike (the ``"all"``/``"rate"`` losses see them).
        weight: the weight ``w`` at which the gradient is taken.
        weight_decay: L2 coefficient ``lambda``: adds ``lambda/2 w^2`` to the loss, so ``-lambda w`` to
            every ``dt`` (needs ``weight != 0`` to have any effect).
        after_potential_tau: if given, pre and post neurons both get the negative after-potential of
            :class:`~spikekit.analysis.remedies.AfterPotential` with this time constant (steps).
        after_potential_scale: the after-potential's integral relative to the spike (1 cancels it).
        target_rate: the ``"rate"`` loss's target, per step.
        margin: the kick brings the membrane to ``threshold * (1 + margin)`` at ``t_post``.
        fit_method: ``"auto"``, ``"scipy"`` or ``"numpy"`` (see :func:`~spikekit.analysis.fit.fit_window`).

    Returns:
        An :class:`STDPWindow` with ``dt``, ``dw``, the fit, the causal fraction and the predicted tau.

    Example:
        >>> w = controlled_window("LIF", surrogate=sk.surrogate.atan(), neuron_kwargs={"beta": 0.9})
        >>> w.tau_plus, w.predicted_tau, w.causal_fraction
    """
    check_choice(loss, "loss", LOSSES)
    check_positive_int(max_dt, "max_dt")
    check_positive_int(steps_after, "steps_after")
    check_choice(fit_method, "fit_method", FIT_METHODS)
    weight = _check_float(weight, "weight")
    weight_decay = _check_float(weight_decay, "weight_decay", 0.0)
    target_rate = _check_float(target_rate, "target_rate")
    margin = _check_float(margin, "margin", 0.0, low_open=True)
    if weight_decay > 0 and weight == 0:
        raise ValueError(
            "weight_decay has no effect at weight=0 (its gradient is weight_decay * weight); "
            "pass weight != 0, e.g. weight=0.25"
        )
    ap = None
    if after_potential_tau is not None:
        tau_ap, scale_ap = _check_tail(after_potential_tau, after_potential_scale)
        ap = {"tau": tau_ap, "scale": scale_ap}

    module = build_neuron(neuron, surrogate, neuron_kwargs)
    core = inner_neuron(module)
    per_neuron = [n for n, t in (*core.named_parameters(), *core.named_buffers()) if t.numel() > 1]
    if per_neuron:  # the fused engines would refuse it; the reference loop would broadcast the input
        raise ValueError(
            f"{neuron_label(module)} must take one feature per step, [T, B, 1] -> [T, B, 1]; its "
            f"{', '.join(per_neuron)} hold one value per neuron (a neuron built with a per-neuron shape "
            "cannot be used here)"
        )
    delay, thr = output_delay(module), _threshold(module)
    dts = torch.arange(-max_dt, max_dt + 1)  # [D]
    lead = 2
    t_post = max_dt + lead
    steps = t_post + max_dt + steps_after + delay + 1
    s_first, r_first = _first_response(module, steps, thr)
    t_kick = t_post + delay - s_first
    if t_kick < 0:
        raise RuntimeError(f"{neuron_label(module)} responds only {s_first} steps after an input")
    amp = thr * (1 + margin) / r_first

    n = dts.numel()
    drive = torch.zeros(steps, n, 1, dtype=torch.float64)
    drive[t_kick] = amp
    pre = torch.zeros(steps, n, 1, dtype=torch.float64)
    pre[t_post - dts, torch.arange(n), 0] = 1.0
    if ap is not None:
        pre = _tail(pre, ap["tau"], ap["scale"])
    post = module if ap is None else AfterPotential(module, ap["tau"], ap["scale"])

    with torch.no_grad():  # the reference run (w = 0): where does the neuron fire?
        ref = inner_neuron(module).run(drive[:, :1])[0][:, 0, 0]
    fired = [int(t) - delay for t in torch.nonzero(ref != 0).flatten()]
    if not fired or fired[0] != t_post:
        raise RuntimeError(
            f"{neuron_label(module)}: the drive did not make the neuron fire first at step {t_post} "
            f"(it fired at {fired[:5]}); try another margin"
        )

    w = torch.full((n,), weight, dtype=torch.float64, requires_grad=True)
    x = w[None, :, None] * pre + drive  # [T, D, 1]
    out = post(x)
    if out.shape != x.shape:
        raise ValueError(
            f"{neuron_label(module)} must take one feature per step, [T, B, 1] -> [T, B, 1]; its output has "
            f"shape {tuple(out.shape)} (a neuron built with a per-neuron shape cannot be used here)"
        )
    o = out[:, :, 0]  # [T, D]
    if loss == "post":
        per_dt = -o[t_post + delay]
    elif loss == "all":
        per_dt = -o.sum(0)
    else:
        per_dt = (o.mean(0) - target_rate) ** 2
    total = per_dt.sum() + 0.5 * weight_decay * (w**2).sum()
    (grad,) = torch.autograd.grad(total, w)
    dt_np, dw_np = dts.numpy(), (-grad).detach().numpy()
    return STDPWindow(
        dt=dt_np,
        dw=dw_np,
        fit=fit_window(dt_np, dw_np, fit_method),
        causal_fraction=causal_fraction(dt_np, dw_np),
        predicted_tau=predicted_tau(module),
        neuron=neuron_label(module),
        surrogate=inner_neuron(module).surrogate.name if _uses_surrogate(module) else "none (graded)",
        loss=loss,
        t_post=t_post,
        output_delay=delay,
        drive=amp,
        post_spikes=fired,
        weight=weight,
        weight_decay=weight_decay,
        after_potential=ap,
        target_rate=target_rate if loss == "rate" else None,
    )
