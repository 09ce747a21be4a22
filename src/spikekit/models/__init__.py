"""Reference models: the original experiment's SNN and ANN, spiking MLP and CNN, and a registry by name."""

from .registry import MODELS, build_model, count_parameters, model_from_checkpoint
from .seed import SeedANN, SeedSNN
from .spiking import SpikingCNN, SpikingMLP, SpikingRNN

__all__ = [
    "SeedSNN",
    "SeedANN",
    "SpikingMLP",
    "SpikingCNN",
    "SpikingRNN",
    "MODELS",
    "build_model",
    "count_parameters",
    "model_from_checkpoint",
]
