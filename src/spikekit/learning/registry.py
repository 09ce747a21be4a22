"""The local learning rules and homeostasis pieces by name: :data:`RULES`.

Entries are the classes (and the two functions ``kwta``, ``normalize_weights``) themselves, so
``RULES["stdp"](a_plus=1e-3, a_minus=1e-3)`` builds a rule. Metadata: ``kind`` (``"rule"``: a
:class:`~spikekit.learning.LocalRule`, used as ``rule.attach(layer)``; ``"homeostasis"``: thresholds,
competition and weight normalisation that go with a rule) and ``help`` (one line).

Example:
    >>> rule = RULES["Triplet"](a2_plus=0.0, a3_plus=1e-2, a2_minus=1e-4, a3_minus=0.0)
    >>> [n for n in RULES if RULES.info(n)["kind"] == "rule"]
    ['hebbian', 'oja', 'stdp', 'triplet-stdp', 'reward-stdp', 'anti-hebbian']
"""

from __future__ import annotations

from typing import Any

from .._registry import Registry
from .hebbian import Hebbian, Oja
from .homeostasis import AdaptiveThreshold, AntiHebbian, LateralInhibition, kwta, normalize_weights
from .reward import RewardSTDP
from .stdp import STDP, TripletSTDP

__all__ = ["RULES"]

RULES: Registry[Any] = Registry("learning rule")
"""Local rules (``kind="rule"``) and homeostasis pieces (``kind="homeostasis"``) by name."""


def _help(obj: Any) -> str:
    return (obj.__doc__ or "").strip().splitlines()[0] if obj.__doc__ else ""


for _name, _obj, _kind, _aliases in (
    ("hebbian", Hebbian, "rule", ()),
    ("oja", Oja, "rule", ()),
    ("stdp", STDP, "rule", ("pair-stdp",)),
    ("triplet-stdp", TripletSTDP, "rule", ("triplet",)),
    ("reward-stdp", RewardSTDP, "rule", ("r-stdp", "rstdp", "reward-modulated-stdp")),
    ("anti-hebbian", AntiHebbian, "rule", ("antihebbian",)),
    ("adaptive-threshold", AdaptiveThreshold, "homeostasis", ()),
    ("lateral-inhibition", LateralInhibition, "homeostasis", ()),
    ("kwta", kwta, "homeostasis", ("k-wta", "winner-take-all")),
    ("normalize-weights", normalize_weights, "homeostasis", ("weight-normalization",)),
):
    RULES.register(_name, _obj, aliases=_aliases, kind=_kind, help=_help(_obj))
del _name, _obj, _kind, _aliases
