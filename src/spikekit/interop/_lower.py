"""Lower a spikekit model to a chain of layers, as the NIR exporter and the Loihi check see it.

A model is read as a chain: an ``nn.Sequential`` (nested ones and :class:`~spikekit.nn.TimeDistributed`
wrappers are seen through), a single layer, or a reference model (:class:`~spikekit.models.SpikingMLP`,
:class:`~spikekit.models.SpikingCNN`), whose forward is known: the input layer, the body, the output layer
and the readout neuron. Dropout and Identity vanish (export describes inference); every BatchNorm is folded
into the Conv2d/Linear right before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .._checks import check_finite, check_tensor, check_time_first
from ..convert import BATCHNORMS, WEIGHTED, fold_bn_into
from ..nn import Neuron, TimeDistributed


@dataclass
class Step:
    """One layer of the chain: its path in the model, the (unwrapped) layer, and how it is applied."""

    name: str
    module: nn.Module
    wrapped: bool = False  # applied per step (inside TimeDistributed, or as a reference model's image layer)
    readout: bool = False  # a membrane readout: its membrane, not its spikes, is the model's output


@dataclass
class Lowered:
    steps: list[Step]
    meta: dict[str, Any] = field(default_factory=dict)


def _model_classes():
    from ..models import SpikingCNN, SpikingMLP

    return SpikingMLP, SpikingCNN


def _children(module: nn.Module, prefix: str, wrapped: bool) -> list[Step]:
    if isinstance(module, TimeDistributed):
        return _children(module.layer, prefix, True)
    if isinstance(module, nn.Sequential):
        out = []
        for name, child in module.named_children():
            out += _children(child, f"{prefix}.{name}" if prefix else name, wrapped)
        return out
    return [Step(prefix, module, wrapped)]


def lower_structure(model: nn.Module) -> Lowered:
    """The model's chain of layers, before BatchNorm folding."""
    spiking_mlp, spiking_cnn = _model_classes()
    if isinstance(model, spiking_mlp | spiking_cnn):
        first_wrapped = isinstance(model, spiking_cnn)
        body_name = "hidden" if isinstance(model, spiking_mlp) else "body"
        steps = _children(model.first, "first", first_wrapped)
        steps += _children(getattr(model, body_name), body_name, False)
        steps += [Step("out", model.out), Step("out_lif", model.out_lif, readout=model.readout == "membrane")]
        meta = {
            "spikekit.model": type(model).__name__,
            "spikekit.encoder": model.encoder,
            "spikekit.steps": int(model.steps),
            "spikekit.readout": "membrane-mean" if model.readout == "membrane" else "spike-count",
        }
        return Lowered(steps, meta)
    if isinstance(model, nn.Sequential | TimeDistributed):
        return Lowered(_children(model, "", False))
    if isinstance(model, Neuron) or not list(model.children()):
        return Lowered([Step(type(model).__name__.lower(), model)])
    raise ValueError(
        f"export: cannot read {type(model).__name__} as a chain of layers; spikekit exports nn.Sequential "
        "chains (TimeDistributed wrappers allowed), single layers, SpikingMLP and SpikingCNN. Put the layers "
        "in an nn.Sequential"
    )


def fold(steps: list[Step]) -> list[Step]:
    """Drop Dropout/Identity and fold every BatchNorm into the Conv2d/Linear right before it."""
    out: list[Step] = []
    for step in steps:
        m = step.module
        if isinstance(m, nn.Dropout | nn.Identity):
            continue
        if isinstance(m, BATCHNORMS):
            prev = out[-1] if out else None
            if prev is None or not isinstance(prev.module, WEIGHTED):
                after = f"{type(prev.module).__name__} {prev.name!r}" if prev else "the input"
                raise ValueError(
                    f"export: {type(m).__name__} {step.name!r} follows {after}; NIR has no normalisation "
                    "node, and only a BatchNorm right after a Conv2d/Linear can be folded into it"
                )
            prev.module = fold_bn_into(prev.module, m, step.name)
            continue
        out.append(Step(step.name, m, step.wrapped, step.readout))
    return out


def sample_sequence(model: nn.Module, sample: Any) -> torch.Tensor:
    """The per-step input sequence ``[T, B, ...]`` the lowered chain takes, built from ``sample``.

    For SpikingMLP/SpikingCNN ``sample`` is what the model takes (images ``[B, ...]`` or a sequence); an image
    batch becomes one step. Any other model takes a time-first sequence.
    """
    check_tensor(sample, "sample")
    check_finite(sample, "sample")
    spiking_mlp, spiking_cnn = _model_classes()
    if isinstance(model, spiking_mlp):
        n_in = model.out.in_features if isinstance(model.first, nn.Identity) else model.first.in_features
        if sample.dim() >= 2 and sample.shape[1:].numel() == n_in:
            return sample.flatten(1).unsqueeze(0)
        if sample.dim() >= 3 and sample.shape[2:].numel() == n_in:
            return sample.flatten(2)
        raise ValueError(
            f"sample: SpikingMLP takes images [B, ...] or a sequence [T, B, ...] with {n_in} features per "
            f"sample, got shape {tuple(sample.shape)}"
        )
    if isinstance(model, spiking_cnn):
        if sample.dim() == 4:
            return sample.unsqueeze(0)
        if sample.dim() == 5:
            return sample
        raise ValueError(
            f"sample: SpikingCNN takes images [B, C, H, W] or frames [T, B, C, H, W], got shape "
            f"{tuple(sample.shape)}"
        )
    return check_time_first(sample, "sample")


def apply(step: Step, x: torch.Tensor) -> torch.Tensor:
    """Run one lowered step on ``x`` ``[T, B, ...]``."""
    if isinstance(step.module, Neuron):
        return step.module.trace(x)[1] if step.readout else step.module(x)
    return TimeDistributed(step.module)(x) if step.wrapped else step.module(x)
