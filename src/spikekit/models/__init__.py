"""Reference models: the original experiment's SNN and ANN, spiking MLP, CNN and RNN, Bellec et al.'s
LSNN (recurrent LIF + ALIF), Diehl & Cook's STDP network, and :data:`MODELS`, a registry of model
factories by name.

``DiehlCook`` is loaded on first use (it needs :mod:`spikekit.learning`), so ``import spikekit.models``
does not load the learning rules.

Every model here remembers its constructor arguments (``model.init_config``), so a checkpoint written by
:func:`spikekit.train.fit` or the ``spikekit`` command rebuilds it: :func:`load` returns the trained model.
"""

from typing import Any

from .lsnn import LSNN, LSNNTrace
from .registry import (
    MODELS,
    accepts,
    build_model,
    count_parameters,
    init_config,
    load,
    model_class,
    model_from_checkpoint,
)
from .seed import SeedANN, SeedSNN
from .spiking import SpikingCNN, SpikingMLP, SpikingRNN

__all__ = [
    "SeedSNN",
    "SeedANN",
    "SpikingMLP",
    "SpikingCNN",
    "SpikingRNN",
    "LSNN",
    "LSNNTrace",
    "DiehlCook",
    "DiehlCookParams",
    "MODELS",
    "accepts",
    "build_model",
    "count_parameters",
    "init_config",
    "load",
    "model_class",
    "model_from_checkpoint",
]

_LAZY = ("DiehlCook", "DiehlCookParams")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import diehl_cook

        return getattr(diehl_cook, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
