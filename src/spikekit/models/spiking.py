"""Surrogate-gradient SNN classifiers: a multilayer perceptron and a convolutional network.

Both read out either the output layer's membrane (a non-resetting LIF integrator, mean over time) or its
spike count. Static images are presented as a constant input current at every step ("direct" encoding,
computed once by the first layer and repeated), as Poisson spikes, or as the original's flicker; an input
that is already a sequence ``[T, B, ...]`` (event frames) is used as is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .._checks import check_choice, check_positive_int
from ..encode import flicker, poisson
from ..nn import LIF, RLIF, TimeDistributed
from ..surrogate import Surrogate
from ._config import remember_init

__all__ = ["SpikingMLP", "SpikingCNN", "SpikingRNN", "ENCODERS", "READOUTS"]

ENCODERS = ("direct", "poisson", "flicker")
READOUTS = ("membrane", "rate")


def _encode(
    first: nn.Module, images: torch.Tensor, steps: int, encoder: str, static_dims: int
) -> torch.Tensor:
    """The first layer's output over time: ``[T, B, ...]``."""
    if images.dim() == static_dims + 1:  # already a sequence [T, B, ...]
        return TimeDistributed(first)(images)
    if encoder == "direct":
        cur = first(images)
        return cur.unsqueeze(0).expand(steps, *cur.shape)
    x_t = poisson(images, steps) if encoder == "poisson" else flicker(images, steps)
    return TimeDistributed(first)(x_t)


def _scale_input(layer: nn.Linear, gain: float, owner: str) -> None:
    """Multiply ``layer``'s weight (not its bias) by ``gain``, a finite number > 0, in place."""
    if isinstance(gain, bool) or not isinstance(gain, (int, float)) or not math.isfinite(gain) or gain <= 0:
        raise ValueError(f"{owner}: input_gain must be a finite number > 0, got {gain!r}")
    if gain != 1.0:
        with torch.no_grad():
            layer.weight.mul_(float(gain))


def _readout(out_lif: LIF, cur: torch.Tensor, readout: str) -> torch.Tensor:
    if readout == "membrane":
        return out_lif.trace(cur)[1].mean(0)
    return out_lif(cur).sum(0)


@remember_init
class SpikingMLP(nn.Module):
    """Fully connected SNN: ``[Linear -> LIF] * len(hidden) -> Linear -> LIF readout``.

    Args:
        n_in: input features (images are flattened).
        hidden: widths of the hidden spiking layers.
        n_out: classes.
        steps: time steps ``T`` for static input.
        beta, threshold, surrogate, learn_beta: the hidden LIF layers' parameters.
        encoder: ``"direct"``, ``"poisson"`` or ``"flicker"`` for static images.
        readout: ``"membrane"`` (mean output membrane, no reset) or ``"rate"`` (output spike count).
        reset: the hidden layers' reset (``"zero"`` makes the model exportable to NIR).
        backend: every neuron layer's multi-step engine (default ``"auto"``: the fastest proven equal to
            the reference loop, see :class:`spikekit.nn.LIF`; ``"torch"``: the reference loop).
        input_gain: multiplies the first layer's weights (not its bias) at initialisation: sparse spike
            inputs such as Randman's one spike per channel need about 5 to make the first layer fire.

    Shape:
        ``[B, ...]`` images or a ``[T, B, ...]`` sequence -> logits ``[B, n_out]``.
    """

    chunkable = ("hidden",)  # what ``checkpoint_every`` runs in checkpointed chunks of time

    def __init__(
        self,
        n_in: int = 784,
        hidden: Sequence[int] = (100,),
        n_out: int = 10,
        steps: int = 25,
        beta: float = 0.9,
        threshold: float = 1.0,
        surrogate: Surrogate | None = None,
        learn_beta: bool = False,
        encoder: str = "direct",
        readout: str = "membrane",
        reset: str = "subtract",
        backend: str = "auto",
        input_gain: float = 1.0,
    ) -> None:
        super().__init__()
        widths = [check_positive_int(n_in, "SpikingMLP: n_in")]
        widths += [check_positive_int(h, "SpikingMLP: hidden") for h in hidden]
        self.steps = check_positive_int(steps, "SpikingMLP: steps")
        self.encoder = check_choice(encoder, "SpikingMLP: encoder", ENCODERS)
        self.readout = check_choice(readout, "SpikingMLP: readout", READOUTS)
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [
                nn.Linear(a, b),
                LIF(beta, threshold, reset, surrogate=surrogate, learn_beta=learn_beta, backend=backend),
            ]
        # ``first`` before ``hidden`` so named_modules() lists each Linear before the neuron it drives
        self.first = layers[0] if layers else nn.Identity()
        self.hidden = nn.Sequential(*layers[1:]) if layers else nn.Identity()
        self.out = nn.Linear(widths[-1], check_positive_int(n_out, "SpikingMLP: n_out"))
        reset = "none" if readout == "membrane" else "subtract"
        self.out_lif = LIF(beta, threshold, reset=reset, surrogate=surrogate, backend=backend)
        _scale_input(self.first if layers else self.out, input_gain, "SpikingMLP")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        n_in = self.out.in_features if isinstance(self.first, nn.Identity) else self.first.in_features
        if images.shape[1:].numel() == n_in:  # static [B, ...]
            x = images.flatten(1)
        elif images.dim() >= 3 and images.shape[2:].numel() == n_in:  # a sequence [T, B, ...]
            x = images.flatten(2)
        else:
            raise ValueError(
                f"SpikingMLP: expected images [B, ...] or a sequence [T, B, ...] with {n_in} features per "
                f"sample, got shape {tuple(images.shape)}"
            )
        cur = _encode(self.first, x, self.steps, self.encoder, static_dims=2)
        return _readout(self.out_lif, self.out(self.hidden(cur)), self.readout)


@remember_init
class SpikingCNN(nn.Module):
    """Convolutional SNN: blocks of ``Conv3x3 -> BatchNorm -> MaxPool2 -> LIF``, then a spiking classifier.

    In the style of the convolutional SNNs that snnTorch teaches (pooling the input currents before the
    neurons, which makes the neuron layers 4x smaller than pooling their spikes, as SpikingJelly does).
    With direct encoding the first block runs once per image and its output is repeated over time.

    Args:
        in_channels, image_size: input ``[C, H, W]`` with ``H == W == image_size`` (1, 28 for MNIST;
            2, 34 for N-MNIST frames).
        channels: output channels of each conv block.
        hidden: width of the spiking fully connected layer (0: none).
        n_out: classes.
        steps, beta, threshold, surrogate, learn_beta, encoder, readout: as :class:`SpikingMLP`.
        dropout: dropout before each fully connected layer.
        reset: the hidden layers' reset; pool: ``"max"`` or ``"avg"``. NIR has no reset by subtraction
            and no max pooling of currents: ``reset="zero", pool="avg"`` makes the model exportable.
        backend: as :class:`SpikingMLP`.
        channels_last: keep the convolution weights in the NHWC layout (``torch.channels_last``), so that
            every convolution, batch norm and pooling gets and gives NHWC tensors and runs oneDNN's NHWC
            kernels (on CPU: max pooling 9x, the whole training step about 1.3x faster than NCHW); the
            neurons run in that layout too. The numbers are the same up to the convolutions' rounding.

    Shape:
        ``[B, C, H, W]`` images or ``[T, B, C, H, W]`` frames -> logits ``[B, n_out]``.
    """

    chunkable = ("body",)  # what ``checkpoint_every`` runs in checkpointed chunks of time

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int = 28,
        channels: Sequence[int] = (32, 64),
        hidden: int = 128,
        n_out: int = 10,
        steps: int = 8,
        beta: float = 0.5,
        threshold: float = 1.0,
        surrogate: Surrogate | None = None,
        learn_beta: bool = False,
        encoder: str = "direct",
        readout: str = "membrane",
        dropout: float = 0.0,
        reset: str = "subtract",
        pool: str = "max",
        backend: str = "auto",
        channels_last: bool = True,
    ) -> None:
        super().__init__()
        self.steps = check_positive_int(steps, "SpikingCNN: steps")
        self.encoder = check_choice(encoder, "SpikingCNN: encoder", ENCODERS)
        self.readout = check_choice(readout, "SpikingCNN: readout", READOUTS)
        c_in, size = check_positive_int(in_channels, "SpikingCNN: in_channels"), image_size
        pooling = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}[
            check_choice(pool, "SpikingCNN: pool", ("max", "avg"))
        ]
        self.first = nn.Sequential(
            nn.Conv2d(c_in, channels[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(channels[0]),
            pooling(2),
        )
        body: list[nn.Module] = [
            LIF(beta, threshold, reset, surrogate=surrogate, learn_beta=learn_beta, backend=backend)
        ]
        size //= 2
        for c_prev, c in zip(channels[:-1], channels[1:], strict=True):
            body += [
                TimeDistributed(nn.Conv2d(c_prev, c, 3, padding=1, bias=False)),
                TimeDistributed(nn.BatchNorm2d(c)),
                TimeDistributed(pooling(2)),
                LIF(beta, threshold, reset, surrogate=surrogate, learn_beta=learn_beta, backend=backend),
            ]
            size //= 2
        if size < 1:
            raise ValueError(
                f"SpikingCNN: image_size {image_size} is too small for {len(channels)} pooling blocks"
            )
        body.append(TimeDistributed(nn.Flatten()))
        features = channels[-1] * size * size
        if hidden:
            body += [
                nn.Dropout(dropout),
                nn.Linear(features, hidden),
                LIF(beta, threshold, reset, surrogate=surrogate, backend=backend),
            ]
            features = hidden
        body.append(nn.Dropout(dropout))
        self.body = nn.Sequential(*body)
        self.out = nn.Linear(features, check_positive_int(n_out, "SpikingCNN: n_out"))
        reset = "none" if readout == "membrane" else "subtract"
        self.out_lif = LIF(beta, threshold, reset=reset, surrogate=surrogate, backend=backend)
        if not isinstance(channels_last, bool):
            raise TypeError(f"SpikingCNN: channels_last must be a bool, got {channels_last!r}")
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        cur = _encode(self.first, images, self.steps, self.encoder, static_dims=4)
        return _readout(self.out_lif, self.out(self.body(cur)), self.readout)


@remember_init
class SpikingRNN(nn.Module):
    """Recurrent SNN for sequences such as SHD's ``[T, B, 700]``: ``Linear -> RLIF -> Linear -> LIF`` readout.

    Args:
        n_in: input channels per step.
        hidden: recurrent spiking neurons.
        n_out: classes.
        all_to_all: dense recurrent weight (else one-to-one).
        beta, threshold, surrogate: the recurrent layer's LIF parameters.
        readout: ``"membrane"`` or ``"rate"`` as :class:`SpikingMLP`.
        backend: as :class:`SpikingMLP`.
        input_gain: multiplies the input weights at initialisation, as :class:`SpikingMLP`.

    Shape:
        ``[T, B, n_in]`` (or ``[T, B, ...]`` with ``n_in`` values per step) -> logits ``[B, n_out]``.
    """

    chunkable = ("rlif",)  # what ``checkpoint_every`` runs in checkpointed chunks of time

    def __init__(
        self,
        n_in: int = 700,
        hidden: int = 128,
        n_out: int = 20,
        all_to_all: bool = True,
        beta: float = 0.95,
        threshold: float = 1.0,
        surrogate: Surrogate | None = None,
        readout: str = "membrane",
        backend: str = "auto",
        input_gain: float = 1.0,
    ) -> None:
        super().__init__()
        self.readout = check_choice(readout, "SpikingRNN: readout", READOUTS)
        self.inp = nn.Linear(
            check_positive_int(n_in, "SpikingRNN: n_in"), check_positive_int(hidden, "hidden")
        )
        self.rlif = RLIF(hidden, beta, threshold, all_to_all=all_to_all, surrogate=surrogate, backend=backend)
        self.out = nn.Linear(hidden, check_positive_int(n_out, "SpikingRNN: n_out"))
        reset = "none" if readout == "membrane" else "subtract"
        self.out_lif = LIF(beta, threshold, reset=reset, surrogate=surrogate, backend=backend)
        _scale_input(self.inp, input_gain, "SpikingRNN")

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        if seq.dim() < 3 or seq.shape[2:].numel() != self.inp.in_features:
            raise ValueError(
                f"SpikingRNN: expected a sequence [T, B, ...] with {self.inp.in_features} values per step, "
                f"got shape {tuple(seq.shape)}"
            )
        h = self.rlif(self.inp(seq.flatten(2)))
        return _readout(self.out_lif, self.out(h), self.readout)
