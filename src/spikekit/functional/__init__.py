"""Neuron dynamics as pure functions over explicit parameters and state.

Every ``*_step(x, state, params)`` takes one time step ``x`` of shape ``[B, ...]`` and returns
``(out, v, new_state)``: the output (spikes), the membrane as observed at this step (before the reset) and
the state to pass to the next step. :func:`spikekit.kernels.multistep` runs a step over ``[T, B, ...]``.

Every public module of this package is imported here (a neuron's core registers its spec on import) and
the names in its ``__all__`` are exported: a new neuron's core file needs no line in this file.
"""

import importlib as _importlib
import pkgutil as _pkgutil

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


def _export_all_cores() -> None:
    """Import the public modules not imported above; export their ``__all__`` (``spec``'s is kept narrow)."""
    for info in _pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "spec":
            continue
        module = _importlib.import_module(f".{info.name}", __name__)
        for name in getattr(module, "__all__", ()):
            if name not in __all__:
                globals()[name] = getattr(module, name)
                __all__.append(name)


_export_all_cores()
