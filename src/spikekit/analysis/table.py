"""The controlled-mode table: every neuron x surrogate x loss (and the remedies), as the CLI prints it."""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import surrogate as sg
from .._checks import check_choice
from .._io import atomic_write_text, progress
from ..functional.spec import SPECS
from ..nn.neuron import NEURONS
from .window import LOSSES, STDPWindow, controlled_window

__all__ = ["NEURON_SPECS", "SURROGATES", "REMEDIES", "STDPTable", "run_stdp_window", "table_neurons"]

SURROGATES = ("atan", "sigmoid", "fast_sigmoid", "triangle", "rectangle", "straight_through")
REMEDIES = ("weight_decay", "after_potential")


class _Row:
    """``d -> kwargs`` of one table neuron: its spec's ``with_decay(d)`` and a variant's options."""

    def __init__(self, with_decay, options: dict) -> None:
        self.with_decay, self.options = with_decay, dict(options)

    def __call__(self, d: float) -> dict:
        return {**self.with_decay(d), **self.options}


def table_neurons() -> dict[str, tuple[str, Callable[[float], dict]]]:
    """The table's neurons, ``row name -> (neuron name, kwargs from the membrane decay per step)``.

    Read from the registered specs: every neuron whose spec has ``with_decay`` (under its name) and each of
    its ``variants`` (``"<name>-<suffix>"``), in registration order. A base row keeps the gradient through
    the reset (``detach_reset=False``, whatever the module's default) so that the ``-detach`` variant is
    the comparison the table has always made.
    """
    rows: dict[str, tuple[str, Callable[[float], dict]]] = {}
    for name in SPECS:
        spec = SPECS[name]
        if spec.with_decay is None or name not in NEURONS:
            continue
        params = inspect.signature(NEURONS[name]).parameters
        base = {"detach_reset": False} if "detach_reset" in params else {}
        rows[name] = (name, _Row(spec.with_decay, base))
        for suffix, options in spec.variants.items():
            rows[f"{name}-{suffix}"] = (name, _Row(spec.with_decay, {**base, **options}))
    return rows


NEURON_SPECS = table_neurons()
"""The table's neurons when spikekit was imported (see :func:`table_neurons`), e.g. ``"LIF-detach"``."""


@dataclass
class STDPTable:
    """The rows of :func:`run_stdp_window` and the settings that produced them."""

    rows: list[STDPWindow]
    config: dict = field(default_factory=dict)

    def markdown(self) -> str:
        """One markdown row per window: tau+ fitted vs predicted, A+, A-, tau-, causal fraction, what the
        acausal side is (:attr:`~spikekit.analysis.STDPWindow.acausal`) and whether it is a depression
        lobe."""
        head = (
            "| neuron | surrogate | loss | remedy | tau+ predicted | tau+ fitted | A+ | A- | tau- | "
            "causal fraction | acausal side | depression lobe |\n" + "|---" * 12 + "|"
        )
        lines = [head]
        for r in self.rows:
            lines.append(
                f"| {r.neuron} | {r.surrogate} | {r.loss} | {r.remedy} | {_fmt(r.predicted_tau)} | "
                f"{_fmt(r.tau_plus)} | {_fmt(r.a_plus)} | {_fmt(r.a_minus)} | {_fmt(r.tau_minus)} | "
                f"{_fmt(r.causal_fraction)} | {_ACAUSAL[r.acausal]} | {'yes' if r.depression else 'no'} |"
            )
        return "\n".join(lines)

    def conclusion(self) -> str:
        """One paragraph drawn from the rows: how many give a depression lobe, and what the acausal side is
        instead (nothing, acausal potentiation, a flat offset, a drift); how many reproduce the membrane's
        time constant on the causal side."""
        rows = self.rows
        n = len(rows)
        if n == 0:
            return "No windows were measured."
        groups: dict[str, list[STDPWindow]] = {}
        for r in rows:
            groups.setdefault(r.acausal, []).append(r)
        lobes = groups.get("lobe", [])
        causal = [r for r in rows if r.a_plus > 0]
        matched = [
            r
            for r in causal
            if r.predicted_tau and math.isfinite(r.tau_plus) and abs(r.tau_plus / r.predicted_tau - 1) < 0.02
        ]
        if lobes:
            first = f"{len(lobes)} of {n} settings produce a depression lobe ({_names(lobes)})."
        else:
            first = f"No setting of the {n} produces a depression lobe."
        parts = [first]
        parts.append(
            f"Backpropagation gives causal potentiation (A+ > 0) in {len(causal)} of {n}, with the "
            f"membrane's own time constant (tau+ within 2 % of -1/ln(decay)) in {len(matched)}."
        )
        instead = []
        if groups.get("none"):
            instead.append(f"nothing before the post spike in {len(groups['none'])}")
        if groups.get("potentiation"):
            rs = groups["potentiation"]
            instead.append(f"acausal potentiation (A- < 0) in {len(rs)} ({_names(rs)})")
        if groups.get("offset"):
            rs = groups["offset"]
            instead.append(f"a flat negative offset with no timing dependence in {len(rs)} ({_names(rs)})")
        if groups.get("shift"):
            rs = groups["shift"]
            instead.append(
                f"a negative drift growing away from dt = 0, not a lobe, in {len(rs)} ({_names(rs)})"
            )
        if instead:
            parts.append("The acausal side (t_post < t_pre) shows " + "; ".join(instead) + ".")
        return " ".join(parts)

    def to_dict(self) -> dict:
        return {"config": self.config, "rows": [r.to_dict() for r in self.rows]}

    def save_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1, allow_nan=False))
        return path


_ACAUSAL = {
    "none": "none",
    "potentiation": "potentiation",
    "offset": "flat offset",
    "shift": "drift",
    "lobe": "depression",
}


def _names(rows: Sequence[STDPWindow], limit: int = 4) -> str:
    """``"LIF/atan/all, LIF/sigmoid/all, ..."``: the settings of ``rows`` (at most ``limit`` named)."""
    labels = []
    for r in rows:
        label = "/".join(x for x in (r.neuron, r.surrogate, r.loss) if x)
        label += "" if r.remedy == "none" else f" + {r.remedy}"
        if label not in labels:
            labels.append(label)
    more = len(labels) - limit
    return ", ".join(labels[:limit]) + (f" and {more} more" if more > 0 else "")


def _fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if math.isinf(v):
        return "inf"
    return f"{v:.3g}"


def _as_list(value: str | Sequence[str], name: str, choices: Sequence[str]) -> list[str]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    value = list(value)
    for v in value:
        check_choice(v, f"{name} entry", choices)
    return value


def run_stdp_window(
    neurons: str | Sequence[str] = ("RefractoryLIF", "LIF"),
    surrogates: str | Sequence[str] = SURROGATES,
    losses: str | Sequence[str] = LOSSES,
    *,
    decay: float = 0.9,
    threshold: float = 1.0,
    max_dt: int = 30,
    steps_after: int = 50,
    remedies: str | Sequence[str] = REMEDIES,
    weight: float = 0.05,
    weight_decay: float = 0.05,
    after_potential_tau: float = 20.0,
    after_potential_scale: float = 1.0,
    target_rate: float = 0.8,
    json_path: str | Path | None = None,
    progress: bool = False,
) -> STDPTable:
    """Measure the controlled-mode window for each neuron, surrogate and loss, and the remedies.

    Rows: each neuron in ``neurons`` (names of :func:`table_neurons`) with each surrogate (its default
    parameters; once, marked ``none (graded)``, for a neuron with graded output such as RefractoryLIF) and
    each loss; then, for each
    neuron with the first surrogate and each loss, one row per remedy: ``weight_decay`` (gradient at
    ``weight`` with L2 coefficient ``weight_decay``) and ``after_potential`` (tails of ``after_potential_tau``
    steps on pre and post).

    Args:
        neurons, surrogates, losses, remedies: lists, or comma-separated strings (``remedies=""``: none).
        decay: membrane decay per step given to every neuron (``beta``, ``decay``, ``1 - 1/init_tau``, ...).
        threshold: firing threshold of every neuron.
        max_dt, steps_after, target_rate: as :func:`~spikekit.analysis.controlled_window`.
        weight, weight_decay, after_potential_tau, after_potential_scale: the remedies' settings.
        json_path: write :meth:`STDPTable.to_dict` there.
        progress: show a progress bar (tqdm, if installed).

    Returns:
        An :class:`STDPTable`; ``print(table.markdown())`` prints it.

    Example:
        >>> table = run_stdp_window(json_path="stdp.json")
        >>> print(table.markdown())
        >>> sk.plot.stdp_window_grid(table, path="stdp.png")   # the figure
    """
    known = table_neurons()
    neurons = _as_list(neurons, "neurons", tuple(known))
    surrogates = _as_list(surrogates, "surrogates", SURROGATES)
    losses = _as_list(losses, "losses", LOSSES)
    remedies = _as_list(remedies, "remedies", REMEDIES)
    if not neurons or not surrogates or not losses:
        raise ValueError("neurons, surrogates and losses must each name at least one entry")
    if not 0 < decay <= 1:
        raise ValueError(f"decay must lie in (0, 1], got {decay!r}")
    common = {"max_dt": max_dt, "steps_after": steps_after, "target_rate": target_rate}
    jobs = []
    for name in neurons:
        cls, kwargs_of = known[name]
        kwargs = {**kwargs_of(decay), "threshold": threshold}
        graded = _graded(cls, kwargs)
        for s in [None] if graded else surrogates:
            for loss in losses:
                jobs.append((cls, kwargs, s, loss, {}))
        first = None if graded else surrogates[0]
        for remedy in remedies:
            extra = (
                {"weight": weight, "weight_decay": weight_decay}
                if remedy == "weight_decay"
                else {
                    "after_potential_tau": after_potential_tau,
                    "after_potential_scale": after_potential_scale,
                }
            )
            for loss in losses:
                jobs.append((cls, kwargs, first, loss, extra))
    rows = []
    for cls, kwargs, s, loss, extra in _progress(jobs, progress):
        surrogate = None if s is None else getattr(sg, s)()
        rows.append(
            controlled_window(cls, surrogate=surrogate, neuron_kwargs=kwargs, loss=loss, **common, **extra)
        )
    config = {
        "neurons": neurons,
        "surrogates": surrogates,
        "losses": losses,
        "remedies": remedies,
        "decay": decay,
        "threshold": threshold,
        "weight": weight,
        "weight_decay": weight_decay,
        "after_potential_tau": after_potential_tau,
        "after_potential_scale": after_potential_scale,
        **common,
    }
    table = STDPTable(rows, config)
    if json_path is not None:
        table.save_json(json_path)
    return table


def _graded(name: str, kwargs: dict) -> bool:
    """Whether the neuron built from ``kwargs`` has a graded output (then no surrogate is involved)."""
    probe = NEURONS[name](**{**SPECS[name].example, **kwargs})
    return getattr(probe, "spike", None) == "graded"


def _progress(items: list, on: bool):
    return progress(items, desc="stdp-window", unit="window", enabled=on)
