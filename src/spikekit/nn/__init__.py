"""Modules: neuron layers, stateless layers over time, and recording.

Every neuron module of :mod:`spikekit.nn.neurons` (its ``__all__``) is exported here as it is: a new neuron
needs no line in this file.
"""

from .backend import engines, engines_text, set_backend
from .delay import Delay, DelayedLinear, DelayState
from .layers import TimeDistributed
from .linear_lif import LinearLIF
from .neuron import NEURONS, Neuron
from .neurons import *  # noqa: F403  (every neuron module, by neurons.__all__)
from .neurons import __all__ as _neuron_names
from .record import Recording, Trace, record
from .spike_linear import SpikeLinear
from .stream import Stream, checkpoint_time, checkpointing, stateful_layers

__all__ = [
    "Neuron",
    "NEURONS",
    "set_backend",
    "engines",
    "engines_text",
    *_neuron_names,
    "LinearLIF",
    "SpikeLinear",
    "TimeDistributed",
    "Delay",
    "DelayedLinear",
    "DelayState",
    "record",
    "Recording",
    "Trace",
    "Stream",
    "checkpoint_time",
    "checkpointing",
    "stateful_layers",
]
