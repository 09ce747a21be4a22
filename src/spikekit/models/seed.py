"""The original experiment's networks (G. Chevalier, "Spiking Neural Networks (SNNs) in PyTorch where
backpropagation engenders STDP", 2018), faithful to the code that produced its figures.

``SeedSNN``: images scaled to [0, 1] and shifted by ``-0.5``; at each of ``T = 128`` steps the input is the
image times a fresh uniform(0, 1) mask (:func:`spikekit.encode.flicker`); two layers Linear +
:class:`~spikekit.nn.RefractoryLIF` (784-100-10, Xavier-uniform weights, default biases); the logits are
layer 2's (one-step-delayed) inner state reduced over time from step 0 with a **mean** — the code's two
reducers are swapped with respect to its docstring, which says sum (``reducer="sum"`` gives that).
Trained with ``log_softmax`` + NLL (= cross-entropy on these logits). ``input="streamed"`` computes the
same mathematics with :func:`spikekit.kernels.flicker_linear` (masks from a counter-based generator,
never materialised over time: faster and lighter, another random stream of the same distribution).
``SeedANN`` is its 784-100-10 ReLU baseline with the same input shift.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_choice, check_positive_int
from ..encode import flicker
from ..kernels import flicker_linear
from ..nn import RefractoryLIF
from ._config import remember_init

INPUTS = ("materialized", "streamed")

__all__ = ["SeedSNN", "SeedANN"]


@remember_init
class SeedSNN(nn.Module):
    """The original two-layer SNN of graded, refractory neurons.

    Args:
        n_in, hidden, n_out: layer widths (784, 100, 10 in the original).
        steps: time steps ``T`` (128).
        decay, threshold, penalty: :class:`~spikekit.nn.RefractoryLIF` parameters (0.9, 1.0, 1.5).
        reducer: ``"mean"`` (what the code ran) or ``"sum"`` (what its docstring said).
        reset: ``"seed"`` (the code) or ``"prose"`` (the write-up's ``inner - (penalty + out)``).
        spike: ``"graded"`` (the code) or ``"binary"`` (Heaviside spikes with a surrogate).
        shift: added to the [0, 1] image before the flicker (-0.5).
        input: ``"materialized"`` (the default: :func:`~spikekit.encode.flicker` then ``fc1``, masks from
            ``torch.rand``) or ``"streamed"`` (:func:`~spikekit.kernels.flicker_linear`: the same
            computation in chunks of time, masks from a Philox stream whose seed is drawn from torch's
            global generator at each call, so ``torch.manual_seed`` still fixes everything).
        backend: multi-step backend of both neuron layers (``"torch"``, ``"fused"``, ...).

    Shape:
        images ``[B, ...]`` with ``n_in`` values each, in [0, 1] -> logits ``[B, n_out]``.
    """

    def __init__(
        self,
        n_in: int = 784,
        hidden: int = 100,
        n_out: int = 10,
        steps: int = 128,
        decay: float = 0.9,
        threshold: float = 1.0,
        penalty: float = 1.5,
        reducer: str = "mean",
        reset: str = "seed",
        spike: str = "graded",
        shift: float = -0.5,
        input: str = "materialized",
        backend: str = "auto",
    ) -> None:
        super().__init__()
        for name, value in (("n_in", n_in), ("hidden", hidden), ("n_out", n_out), ("steps", steps)):
            check_positive_int(value, f"SeedSNN: {name}")
        self.reducer = check_choice(reducer, "SeedSNN: reducer", ("mean", "sum"))
        self.input = check_choice(input, "SeedSNN: input", INPUTS)
        self.steps, self.shift = steps, shift
        self.fc1 = nn.Linear(n_in, hidden)
        self.lif1 = RefractoryLIF(decay, threshold, penalty, reset=reset, spike=spike, backend=backend)
        self.fc2 = nn.Linear(hidden, n_out)
        self.lif2 = RefractoryLIF(decay, threshold, penalty, reset=reset, spike=spike, backend=backend)
        for p in self.parameters():  # the original's init_parameters(): Xavier on every matrix
            if p.dim() >= 2:
                nn.init.xavier_uniform_(p)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.flatten(1) + self.shift  # [B, F]
        if self.input == "streamed":
            seed = int(torch.randint(0, 2**62, (1,)))  # from the global generator: manual_seed fixes it
            current = flicker_linear(x, self.fc1.weight, self.fc1.bias, self.steps, seed)  # [T, B, H]
        else:
            current = self.fc1(flicker(x, self.steps))  # flicker: [T, B, F]
        h = self.lif1(current)
        _, inner2, _ = self.lif2.trace(self.fc2(h))  # layer 2's delayed inner state, [T, B, C]
        return inner2.mean(0) if self.reducer == "mean" else inner2.sum(0)


@remember_init
class SeedANN(nn.Module):
    """The original's non-spiking baseline: ``Linear(784, 100) -> ReLU -> Linear(100, 10)``.

    Shape:
        images ``[B, ...]`` in [0, 1] (shifted by ``shift`` like the SNN's) -> logits ``[B, n_out]``.
    """

    def __init__(self, n_in: int = 784, hidden: int = 100, n_out: int = 10, shift: float = -0.5) -> None:
        super().__init__()
        self.shift = shift
        self.fc1 = nn.Linear(n_in, hidden)
        self.fc2 = nn.Linear(hidden, n_out)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(images.flatten(1) + self.shift)))
