"""Learning without backpropagation: local rules that update a layer's weights from what its own pre- and
post-synaptic neurons did, with no autograd.

Rules (each ``rule.attach(layer)`` returns a :class:`Plastic`, whose ``step(pre_t, post_t, state)``
updates the layer's weight in place and returns the rule's explicit trace state):

- :class:`Hebbian` (the simple threshold rule) and :class:`Oja`;
- :class:`STDP` (pair STDP, all-to-all or nearest-spike, additive or multiplicative),
  :class:`TripletSTDP` (Pfister & Gerstner 2006), :class:`RewardSTDP` (eligibility traces gated by reward);
- homeostasis and competition: :class:`AdaptiveThreshold`, :func:`kwta`, :class:`LateralInhibition` with
  :class:`AntiHebbian`, :func:`normalize_weights`;
- readouts for a locally trained layer: :func:`assign_labels` / :func:`vote`, :func:`fit_logistic`,
  :class:`GradientReadout`.

:data:`RULES` holds the rules and homeostasis pieces by name (``RULES["stdp"](a_plus=1e-3, a_minus=1e-3)``);
:mod:`spikekit.learning.validate` has the argument checks they share.

Works with ``nn.Linear`` and ``nn.Conv2d`` (``groups=1``), batched, on any device. See docs/learning.md.

Example:
    >>> layer = nn.Linear(784, 100, bias=False); nn.init.uniform_(layer.weight, 0.0, 0.3)
    >>> syn = sk.learning.STDP(a_plus=1e-3, a_minus=1e-3).attach(layer)
    >>> lif, v, state = sk.nn.LIF(beta=0.9), None, None
    >>> for x_t in sk.encode.poisson(images, steps=100):      # [B, 784] per step
    ...     s_t, v = lif.step(layer(x_t), v)
    ...     state = syn.step(x_t, s_t, state)
"""

from .base import EmptyState, LocalRule, Plastic
from .connection import Connection
from .hebbian import Hebbian, Oja
from .homeostasis import (
    AdaptiveThreshold,
    AntiHebbian,
    LateralInhibition,
    ThresholdState,
    kwta,
    normalize_weights,
)
from .readout import GradientReadout, assign_labels, fit_logistic, vote
from .registry import RULES
from .reward import RewardSTDP, RewardSTDPState
from .stdp import STDP, STDPState, TripletState, TripletSTDP
from .traces import PAIRINGS

__all__ = [
    "LocalRule",
    "Plastic",
    "Connection",
    "EmptyState",
    "Hebbian",
    "Oja",
    "STDP",
    "STDPState",
    "TripletSTDP",
    "TripletState",
    "RewardSTDP",
    "RewardSTDPState",
    "AdaptiveThreshold",
    "ThresholdState",
    "kwta",
    "LateralInhibition",
    "AntiHebbian",
    "normalize_weights",
    "assign_labels",
    "vote",
    "fit_logistic",
    "GradientReadout",
    "PAIRINGS",
    "RULES",
]
