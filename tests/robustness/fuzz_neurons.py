"""Bad inputs to the neurons and their engines (every neuron x backend; native ones isolated)."""

from __future__ import annotations

import torch
from harness import Case

import spikekit as sk
import spikekit.functional as F

CASES: list[Case] = []


def _add(name: str, run, isolate: bool = False) -> None:
    CASES.append(Case("neurons", name, run=run, isolate=isolate))


# the heap corruption of the issue: a state whose shape does not match x, through the fused engine
_add(
    "multistep lif fused: state of another shape",
    lambda tmp: sk.kernels.multistep(
        F.lif_step, torch.rand(5, 2, 8), F.LIFState(torch.zeros(1, 3)), F.LIFParams(), backend="fused"
    ),
    isolate=True,
)
_add(
    "LIF: NaN state",
    lambda tmp: sk.nn.LIF().run(torch.rand(4, 2, 3), F.LIFState(torch.full((2, 3), float("nan")))),
)
_add("LIF: T = 0", lambda tmp: sk.nn.LIF()(torch.rand(0, 2, 3)))
_add("LIF: bool input", lambda tmp: sk.nn.LIF()(torch.ones(4, 2, 3, dtype=torch.bool)))
