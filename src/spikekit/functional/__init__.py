"""Neuron dynamics as pure functions over explicit parameters and state.

Every ``*_step(x, state, params)`` takes one time step ``x`` of shape ``[B, ...]`` and returns
``(out, v, new_state)``: the output (spikes), the membrane as observed at this step (before the reset) and
the state to pass to the next step. :func:`spikekit.kernels.multistep` runs a step over ``[T, B, ...]``.
"""

from ._common import RESET_MODES, fire, reset
from .alif import ALIFParams, ALIFState, alif_step
from .lif import IFParams, LIFParams, LIFState, PLIFParams, if_step, lif_init, lif_step, plif_step
from .refractory import RefractoryParams, RefractoryState, refractory_step
from .rlif import RLIFParams, RLIFState, rlif_step
from .spec import SPECS, NeuronSpec, spec_of
from .srm import SRMParams, SRMState, srm_step
from .synaptic import SynapticParams, SynapticState, synaptic_step

__all__ = [
    "NeuronSpec",
    "SPECS",
    "spec_of",
    "RESET_MODES",
    "fire",
    "reset",
    "IFParams",
    "LIFParams",
    "PLIFParams",
    "LIFState",
    "if_step",
    "lif_step",
    "plif_step",
    "lif_init",
    "ALIFParams",
    "ALIFState",
    "alif_step",
    "SynapticParams",
    "SynapticState",
    "synaptic_step",
    "RLIFParams",
    "RLIFState",
    "rlif_step",
    "RefractoryParams",
    "RefractoryState",
    "refractory_step",
    "SRMParams",
    "SRMState",
    "srm_step",
]
