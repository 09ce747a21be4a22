"""Models by name, built for a dataset's input shape and class count."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

from torch import nn

from .seed import SeedANN, SeedSNN
from .spiking import SpikingCNN, SpikingMLP, SpikingRNN


def _flat(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def _cnn(shape: tuple[int, ...], n_out: int, **kw: Any) -> nn.Module:
    c, h, w = shape
    if h != w:
        raise ValueError(f"spiking-cnn needs square images, got {h}x{w}")
    if h < 16:  # 8x8 digits: one pooling block
        kw.setdefault("channels", (16,))
    return SpikingCNN(in_channels=c, image_size=h, n_out=n_out, **kw)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "seed-snn": lambda shape, n_out, **kw: SeedSNN(n_in=_flat(shape), n_out=n_out, **kw),
    "seed-ann": lambda shape, n_out, **kw: SeedANN(n_in=_flat(shape), n_out=n_out, **kw),
    "spiking-mlp": lambda shape, n_out, **kw: SpikingMLP(n_in=_flat(shape), n_out=n_out, **kw),
    "spiking-cnn": _cnn,
    "spiking-rnn": lambda shape, n_out, **kw: SpikingRNN(n_in=_flat(shape), n_out=n_out, **kw),
}


CLASSES: dict[str, type[nn.Module]] = {
    "seed-snn": SeedSNN,
    "seed-ann": SeedANN,
    "spiking-mlp": SpikingMLP,
    "spiking-cnn": SpikingCNN,
    "spiking-rnn": SpikingRNN,
}


def accepts(name: str, argument: str) -> bool:
    """Whether model ``name`` takes the constructor argument ``argument`` (e.g. ``"steps"``)."""
    return argument in inspect.signature(CLASSES[name]).parameters


def build_model(name: str, input_shape: tuple[int, ...], num_classes: int, **kwargs: Any) -> nn.Module:
    """Build model ``name`` for inputs of ``input_shape`` (one sample, e.g. ``(1, 28, 28)``).

    Raises:
        ValueError: unknown name (the message lists the valid ones).
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(MODELS)}")
    return MODELS[name](tuple(input_shape), num_classes, **kwargs)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def model_from_checkpoint(ckpt: dict[str, Any]) -> nn.Module:
    """Rebuild the model a :func:`spikekit.train.fit` checkpoint was trained with, weights loaded.

    Needs the ``extra`` the CLI stores: ``model``, ``model_kwargs``, ``input_shape``; and ``num_classes``
    (read from the output layer's weights when absent).
    """
    extra = ckpt.get("extra") or {}
    missing = {"model", "model_kwargs", "input_shape"} - set(extra)
    if missing:
        raise ValueError(f"the checkpoint does not say how to rebuild its model (missing {sorted(missing)})")
    state = ckpt["model"]
    n_out = extra.get("num_classes") or int(state[[k for k in state if k.endswith("weight")][-1]].shape[0])
    kwargs = dict(extra["model_kwargs"])
    if "hidden" in kwargs and isinstance(kwargs["hidden"], list):
        kwargs["hidden"] = tuple(kwargs["hidden"])
    model = build_model(extra["model"], tuple(extra["input_shape"]), n_out, **kwargs)
    model.load_state_dict(state)
    return model
