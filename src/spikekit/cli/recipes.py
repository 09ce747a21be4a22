"""Default training recipes: how each reference model is trained on small (8x8) and MNIST-size data.

``recipe(model, dataset)`` returns ``(model_kwargs, TrainConfig)``; command-line flags override either.
The seed models on MNIST-size data use the original experiment's schedule (:data:`spikekit.train.PRESETS`
``["seed"]``); on the 1,437 training images of the embedded digits, batch 1000 would make two updates per
epoch, so they use batch 32 and 15 epochs there.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..train import PRESETS, TrainConfig

SMALL = "small"  # 8x8 digits
IMAGES = "images"  # 28x28 MNIST, Fashion-MNIST, and other IDX folders
EVENTS = "events"  # N-MNIST frames

_RECIPES: dict[tuple[str, str], tuple[dict[str, Any], TrainConfig]] = {
    ("seed-snn", IMAGES): ({}, PRESETS["seed"]),
    ("seed-ann", IMAGES): ({}, PRESETS["seed"]),
    ("seed-snn", SMALL): ({}, TrainConfig(epochs=15, batch_size=32, optimizer="sgd", lr=0.1, momentum=0.5)),
    ("seed-ann", SMALL): ({}, TrainConfig(epochs=15, batch_size=32, optimizer="sgd", lr=0.1, momentum=0.5)),
    ("spiking-mlp", SMALL): (
        {"hidden": (128,), "steps": 16},
        TrainConfig(epochs=15, batch_size=32, optimizer="adam", lr=2e-3),
    ),
    ("spiking-mlp", IMAGES): (
        {"hidden": (100,), "steps": 25},
        TrainConfig(epochs=15, batch_size=128, optimizer="adam", lr=1e-3, schedule="cosine"),
    ),
    ("spiking-cnn", SMALL): (
        {"steps": 8},
        TrainConfig(epochs=15, batch_size=32, optimizer="adam", lr=2e-3, schedule="cosine"),
    ),
    ("spiking-cnn", IMAGES): (
        {"steps": 8, "dropout": 0.2},
        TrainConfig(epochs=15, batch_size=128, optimizer="adam", lr=1e-3, schedule="cosine"),
    ),
    ("spiking-cnn", EVENTS): (
        {"channels": (16, 32), "dropout": 0.2},
        TrainConfig(epochs=8, batch_size=32, optimizer="adam", lr=2e-3, schedule="cosine"),
    ),
    ("spiking-rnn", EVENTS): (
        {"hidden": 128},
        TrainConfig(epochs=20, batch_size=64, optimizer="adam", lr=2e-3, schedule="cosine"),
    ),
    ("spiking-mlp", EVENTS): (
        {"hidden": (128,)},
        TrainConfig(epochs=10, batch_size=32, optimizer="adam", lr=2e-3, schedule="cosine"),
    ),
}


def dataset_kind(input_shape: tuple[int, ...]) -> str:
    """``"small"`` for images up to 16x16, else ``"images"``."""
    return SMALL if input_shape[-1] <= 16 else IMAGES


def recipe(
    model: str, input_shape: tuple[int, ...], events: bool = False
) -> tuple[dict[str, Any], TrainConfig]:
    """Default model arguments and training configuration for ``model`` on inputs of ``input_shape``."""
    kind = EVENTS if events and (model, EVENTS) in _RECIPES else dataset_kind(input_shape)
    if (model, kind) not in _RECIPES:
        valid = sorted({m for m, _ in _RECIPES})
        raise ValueError(f"unknown model {model!r}; valid models: {', '.join(valid)}")
    kwargs, cfg = _RECIPES[(model, kind)]
    return dict(kwargs), replace(cfg)
