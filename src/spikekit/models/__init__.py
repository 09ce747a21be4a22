"""Reference models: the original experiment's SNN and ANN, spiking MLP, CNN and RNN, Diehl & Cook's
STDP network, and a registry by name."""

from .diehl_cook import DiehlCook
from .registry import MODELS, build_model, count_parameters, model_from_checkpoint
from .seed import SeedANN, SeedSNN
from .spiking import SpikingCNN, SpikingMLP, SpikingRNN

__all__ = [
    "SeedSNN",
    "SeedANN",
    "SpikingMLP",
    "SpikingCNN",
    "SpikingRNN",
    "DiehlCook",
    "MODELS",
    "build_model",
    "count_parameters",
    "model_from_checkpoint",
]
