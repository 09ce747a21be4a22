"""Modules: neuron layers, stateless layers over time, and recording."""

from .layers import TimeDistributed
from .linear_lif import LinearLIF
from .neuron import Neuron
from .neurons import ALIF, IF, LIF, PLIF, RLIF, SRM, RefractoryLIF, Synaptic
from .record import Recording, Trace, record

__all__ = [
    "Neuron",
    "IF",
    "LIF",
    "PLIF",
    "ALIF",
    "Synaptic",
    "RLIF",
    "RefractoryLIF",
    "SRM",
    "LinearLIF",
    "TimeDistributed",
    "record",
    "Recording",
    "Trace",
]
