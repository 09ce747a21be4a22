"""The original experiment's neuron ("SpikingNeuronLayerRNN", G. Chevalier 2018), as a pure function.

Exactly as its code ran, on an input current ``I`` (a preceding Linear's output), per step ``t``:

    inner = I + decay * inner
    out   = relu(inner - threshold)                 # graded output: no surrogate needed
    inner = inner - (penalty / threshold) * inner   where out > 0   (reset="seed")
    return last step's (inner, out)                 # a one-step delay: step 0 returns zeros

Options for comparison:

- ``reset="prose"``: the reset its write-up described, ``inner = inner - (penalty + out)`` where it fired;
- ``spike="binary"``: ``out = H(inner - threshold)`` with a surrogate gradient, a true spike.

The reset gate ``out > 0`` carries no gradient, as in the original (it was ``(out > 0).float()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from .._checks import check_choice, check_range
from ..surrogate import Surrogate, atan, check_surrogate
from ._common import Scalar, check_decay
from .spec import NeuronSpec, f64, register

__all__ = ["RefractoryState", "RefractoryParams", "refractory_step"]

SEED_RESETS = ("seed", "prose")
SPIKE_KINDS = ("graded", "binary")


class RefractoryState(NamedTuple):
    """This step's ``inner`` (after the penalty) and ``out``; the next step returns them."""

    inner: torch.Tensor
    out: torch.Tensor


@dataclass(frozen=True)
class RefractoryParams:
    decay: Scalar = 0.9
    threshold: Scalar = 1.0
    penalty: Scalar = 1.5
    reset: str = "seed"
    spike: str = "graded"
    surrogate: Surrogate = field(default_factory=atan)

    def __post_init__(self) -> None:
        check_decay(self.decay, "RefractoryLIF: decay")
        check_range(
            self.threshold, "RefractoryLIF: threshold", 0.0, float("inf"), low_open=True, high_open=True
        )
        check_range(self.penalty, "RefractoryLIF: penalty", 0.0, float("inf"), high_open=True)
        check_choice(self.reset, "RefractoryLIF: reset", SEED_RESETS)
        check_choice(self.spike, "RefractoryLIF: spike", SPIKE_KINDS)
        check_surrogate(self.surrogate, "RefractoryLIF: surrogate")


def refractory_step(x: torch.Tensor, state: RefractoryState, params: RefractoryParams):
    """One step. Returns ``(last step's out, last step's inner, new state)``: the one-step delay."""
    p = params
    inner = x + p.decay * state.inner
    if p.spike == "graded":
        out = torch.relu(inner - p.threshold)
    else:
        out = p.surrogate(inner - p.threshold)
    gate = (out > 0).to(inner.dtype).detach()
    if p.reset == "seed":
        inner = inner - (p.penalty / p.threshold * inner) * gate
    else:
        inner = inner - (p.penalty + out) * gate
    return state.out, state.inner, RefractoryState(inner, out)


SPEC = register(
    NeuronSpec(
        "RefractoryLIF",
        refractory_step,
        RefractoryParams,
        RefractoryState,
        decay=lambda p: f64(p.decay),
        output_delay=1,
        nir_reason="its output is graded (relu(inner - threshold)), its reset subtracts a penalty "
        "proportional to the membrane, and it answers one step late; NIR's neurons emit binary spikes and "
        "reset to a fixed v_reset",
        fused="refractory",
        with_decay=lambda d: {"decay": d},
        variants={"binary": {"spike": "binary"}},
    )
)
