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
import os
from collections.abc import Callable
from typing import Any

from torch import nn

from .._registry import Registry
from ._config import init_config, unplain
from .lsnn import LSNN
from .seed import SeedANN, SeedSNN
from .spiking import SpikingCNN, SpikingMLP, SpikingRNN

__all__ = [
    "MODELS",
    "accepts",
    "build_model",
    "count_parameters",
    "init_config",
    "load",
    "model_class",
    "model_from_checkpoint",
]

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
    "lsnn",
    kind="supervised",
    cls=LSNN,
    help="LSNN (Bellec et al. 2018): recurrent LIF + adaptive-threshold ALIF neurons, leaky readout",
)
def lsnn(input_shape: tuple[int, ...], num_classes: int, **kwargs: Any) -> LSNN:
    return LSNN(n_in=_flat(input_shape), n_out=num_classes, **kwargs)


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


def _class_named(name: str) -> type[nn.Module]:
    """The model class called ``name`` among :data:`MODELS`' classes (a checkpoint names no code to run)."""
    known = {}
    for entry_name in MODELS:
        cls = MODELS.info(entry_name).get("cls")
        if cls is not None:
            known[cls.__name__] = cls
    if name not in known:
        raise ValueError(
            f"the checkpoint's model class {name!r} is not a spikekit model ({', '.join(known)})"
        )
    return known[name]


def model_from_checkpoint(ckpt: dict[str, Any], **overrides: Any) -> nn.Module:
    """Rebuild the model a :func:`spikekit.train.fit` checkpoint was trained with, weights loaded.

    Reads the checkpoint's ``extra``: the registry name, arguments and input shape the CLI stores
    (``model``, ``model_kwargs``, ``input_shape``; ``num_classes`` read from the output layer's weights
    when absent), or else the model's constructor arguments (``init_config``, see
    :func:`spikekit.models.init_config`) that ``fit`` stores for every spikekit model. ``overrides`` replace
    constructor arguments that do not change the weights (e.g. ``backend="torch"`` on a machine without the
    saved one's).
    """
    extra = ckpt.get("extra") or {}
    state = ckpt["model"]
    config = extra.get("init_config")
    if {"model", "model_kwargs", "input_shape"} <= set(extra):
        n_out = extra.get("num_classes") or int(
            state[[k for k in state if k.endswith("weight")][-1]].shape[0]
        )
        kwargs = {k: unplain(v) if isinstance(v, list) else v for k, v in dict(extra["model_kwargs"]).items()}
        kwargs.update(overrides)
        model = build_model(extra["model"], tuple(extra["input_shape"]), n_out, **kwargs)
    elif isinstance(config, dict) and isinstance(config.get("kwargs"), dict) and "class" in config:
        kwargs = {k: unplain(v) for k, v in config["kwargs"].items()}
        model = _class_named(str(config["class"]))(**{**kwargs, **overrides})
    else:
        raise ValueError(
            "the checkpoint does not say how to rebuild its model: it holds neither the model name and "
            "arguments that spikekit train stores nor the constructor arguments that fit stores for a "
            "spikekit model (a model of your own: build it, then model.load_state_dict(checkpoint['model']))"
        )
    model.load_state_dict(state)
    return model


def load(path: str | os.PathLike, *, map_location: str | Any = "cpu", **overrides: Any) -> nn.Module:
    """The model of a spikekit checkpoint, weights loaded, in eval mode.

    Reads any checkpoint spikekit writes for a model: ``spikekit train --out DIR`` / ``compare`` / ``demo``
    (``DIR/checkpoint.pt``, or ``DIR`` itself), :func:`spikekit.train.fit` with ``out_dir`` (for a model
    from :mod:`spikekit.models`, built by name or by its class) and ``spikekit stdp --out DIR`` (a
    :class:`~spikekit.models.DiehlCook`). The file's SHA-256 is checked and it is loaded with
    ``weights_only=True``: no code from the file runs.

    Args:
        path: a checkpoint file, or the folder holding ``checkpoint.pt``.
        map_location: where the tensors go (``"cpu"``, ``"cuda"``, ...).
        overrides: constructor arguments that do not change the weights, e.g. ``backend="torch"``.

    Raises:
        FileNotFoundError: no checkpoint at ``path``.
        spikekit._io.CheckpointError: a corrupt, truncated or crafted file.
        ValueError: a checkpoint that does not say how to rebuild its model.

    Example:
        >>> import tempfile
        >>> import spikekit as sk
        >>> train, test = sk.data.load("digits", train_limit=64, test_limit=32)
        >>> model = sk.models.SpikingMLP(n_in=64, hidden=(32,), n_out=10, steps=4)
        >>> out = tempfile.mkdtemp()
        >>> cfg = sk.train.TrainConfig(epochs=1, batch_size=32)
        >>> _ = sk.train.fit(model, train, test, cfg, out_dir=out, progress=False, log=False)
        >>> again = sk.models.load(out)
        >>> type(again).__name__, again.training
        ('SpikingMLP', False)
    """
    from pathlib import Path

    from .._io import CheckpointError, load_checkpoint

    p = Path(path)
    if p.is_dir():
        p = p / "checkpoint.pt"
    ckpt = load_checkpoint(p, map_location=map_location)
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{p} is not a spikekit model checkpoint (it holds a {type(ckpt).__name__})")
    if ckpt.get("format") == "spikekit.diehl_cook/1":
        model = _diehl_cook_from(ckpt, p)
    elif isinstance(ckpt.get("model"), dict):
        try:
            model = model_from_checkpoint(ckpt, **overrides)
        except RuntimeError as err:  # load_state_dict: the weights do not fit the rebuilt model
            first = str(err).strip().splitlines()[0]
            raise CheckpointError(f"{p}: the weights do not fit the model it names ({first})") from None
    elif ckpt and all(hasattr(v, "shape") for v in ckpt.values()):
        raise ValueError(
            f"{p} holds a bare state dict (e.g. spikekit convert --save-ann): build the model, then "
            "model.load_state_dict(spikekit._io.load_checkpoint(path))"
        )
    else:
        raise CheckpointError(f"{p} is not a spikekit model checkpoint (no 'model' state dict)")
    return model.to(map_location).eval()


def _diehl_cook_from(ckpt: dict[str, Any], path: Any) -> nn.Module:
    from .diehl_cook import DiehlCook, DiehlCookParams

    config = dict(ckpt.get("config") or {})
    try:
        sizes = {k: config.pop(k) for k in ("n_input", "n_neurons", "num_classes")}
        model = DiehlCook(sizes["n_input"], sizes["n_neurons"], num_classes=sizes["num_classes"],
                          params=DiehlCookParams(**config))  # fmt: skip
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path}: a Diehl & Cook checkpoint whose config cannot be read ({err})") from None
    model.load_state_dict(ckpt["state_dict"])
    return model
