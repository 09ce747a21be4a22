"""Models by name: :data:`MODELS` holds a factory per model, built for an input shape and class count.

Every factory is called as ``MODELS[name](input_shape=..., num_classes=..., **kwargs)``, where
``input_shape`` is one sample's shape without time or batch (``(1, 28, 28)`` for MNIST, ``(2, 34, 34)`` for
N-MNIST frames, ``(700,)`` for SHD) and ``kwargs`` go to the model's constructor. Each entry's metadata
says what it is: ``help`` (one line), ``kind`` (``"supervised"``: trained by :func:`spikekit.train.fit`;
``"unsupervised"``: trained by its own local rule, see :mod:`spikekit.models.diehl_cook`).

Example:
    >>> model = MODELS["spiking-mlp"](input_shape=(1, 8, 8), num_classes=10, steps=8)
    >>> MODELS.info("diehl-cook")["kind"]
    'unsupervised'
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable
from typing import Any

from torch import nn

from .._registry import Registry
from .seed import SeedANN, SeedSNN
from .spiking import SpikingCNN, SpikingMLP, SpikingRNN

__all__ = ["MODELS", "accepts", "build_model", "count_parameters", "model_class", "model_from_checkpoint"]

MODELS: Registry[Callable[..., nn.Module]] = Registry("model")
"""Model factories by name: ``MODELS[name](input_shape=..., num_classes=..., **kwargs) -> nn.Module``."""


def _flat(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


@MODELS.register(
    "seed-snn",
    kind="supervised",
    cls=SeedSNN,
    help="the original experiment's SNN (784-100-10, SEED neurons)",
)
def seed_snn(input_shape: tuple[int, ...], num_classes: int, **kwargs: Any) -> SeedSNN:
    return SeedSNN(n_in=_flat(input_shape), n_out=num_classes, **kwargs)


@MODELS.register("seed-ann", kind="supervised", cls=SeedANN, help="the original experiment's ANN baseline")
def seed_ann(input_shape: tuple[int, ...], num_classes: int, **kwargs: Any) -> SeedANN:
    return SeedANN(n_in=_flat(input_shape), n_out=num_classes, **kwargs)


@MODELS.register("spiking-mlp", kind="supervised", cls=SpikingMLP, help="fully connected LIF network")
def spiking_mlp(input_shape: tuple[int, ...], num_classes: int, **kwargs: Any) -> SpikingMLP:
    return SpikingMLP(n_in=_flat(input_shape), n_out=num_classes, **kwargs)


@MODELS.register(
    "spiking-cnn", kind="supervised", cls=SpikingCNN, help="convolutional LIF network (square images)"
)
def spiking_cnn(input_shape: tuple[int, ...], num_classes: int, **kwargs: Any) -> SpikingCNN:
    if len(input_shape) != 3:
        raise ValueError(f"spiking-cnn needs images (C, H, W), got input shape {tuple(input_shape)}")
    c, h, w = input_shape
    if h != w:
        raise ValueError(f"spiking-cnn needs square images, got {h}x{w}")
    if h < 16:  # 8x8 digits: one pooling block
        kwargs.setdefault("channels", (16,))
    return SpikingCNN(in_channels=c, image_size=h, n_out=num_classes, **kwargs)


@MODELS.register(
    "spiking-rnn", kind="supervised", cls=SpikingRNN, help="recurrent LIF network for sequences (SHD)"
)
def spiking_rnn(input_shape: tuple[int, ...], num_classes: int, **kwargs: Any) -> SpikingRNN:
    return SpikingRNN(n_in=_flat(input_shape), n_out=num_classes, **kwargs)


@MODELS.register(
    "diehl-cook",
    aliases=("diehl-and-cook",),
    kind="unsupervised",
    help="Diehl & Cook (2015): STDP, winner-take-all and homeostasis, labelled after training",
)
def diehl_cook(input_shape: tuple[int, ...], num_classes: int, **kwargs: Any) -> nn.Module:
    """``DiehlCook(n_input=prod(input_shape), num_classes=...)``; ``n_neurons``, ``params`` and
    ``generator`` go to the model, any other keyword (``time=100``, ``potentiation="triplet"``, ...) is a
    :class:`~spikekit.models.diehl_cook.DiehlCookParams` field (on top of ``params`` when given)."""
    from .diehl_cook import DiehlCook, DiehlCookParams  # learning rules load only when this model is built

    own = {k: kwargs.pop(k) for k in ("n_neurons", "params", "generator") if k in kwargs}
    fields = {f.name for f in dataclasses.fields(DiehlCookParams)}
    unknown = sorted(set(kwargs) - fields)
    if unknown:
        raise TypeError(
            f"diehl-cook: unknown argument(s) {unknown}; it takes n_neurons, params, generator and the "
            f"DiehlCookParams fields {', '.join(sorted(fields))}"
        )
    if kwargs:
        own["params"] = dataclasses.replace(own.get("params") or DiehlCookParams(), **kwargs)
    return DiehlCook(n_input=_flat(input_shape), num_classes=num_classes, **own)


def model_class(name: str) -> type[nn.Module]:
    """The class model ``name`` builds (any spelling or alias of a :data:`MODELS` name)."""
    entry = MODELS.entry(name)
    if "cls" in entry.info:
        return entry.info["cls"]
    from .diehl_cook import DiehlCook  # the one entry registered without importing its class

    return DiehlCook


def accepts(name: str, argument: str) -> bool:
    """Whether model ``name`` takes the constructor argument ``argument`` (e.g. ``"steps"``)."""
    return argument in inspect.signature(model_class(name)).parameters


def build_model(name: str, input_shape: tuple[int, ...], num_classes: int, **kwargs: Any) -> nn.Module:
    """Build model ``name`` for inputs of ``input_shape`` (one sample, e.g. ``(1, 28, 28)``).

    The same as ``MODELS[name](input_shape=input_shape, num_classes=num_classes, **kwargs)``.

    Raises:
        ValueError: unknown name (a :class:`~spikekit._registry.UnknownNameError` listing the known ones).
        TypeError: an argument the model does not take (the message lists those it takes).
    """
    cls = model_class(name)
    params = inspect.signature(cls).parameters
    if MODELS.info(name).get("kind") != "unsupervised" and not any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    ):
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            takes = ", ".join(k for k in params if k not in ("input_shape", "num_classes"))
            raise TypeError(f"{MODELS.canonical(name)}: unknown argument(s) {unknown}; it takes {takes}")
    return MODELS[name](input_shape=tuple(input_shape), num_classes=num_classes, **kwargs)


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
