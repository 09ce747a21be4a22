"""Multi-step backends: run a neuron's step function over a whole sequence ``[T, B, ...]``.

``backend="torch"`` is the plain loop over the functional core's ``step``: the reference every other
backend is tested against. ``"fused"`` (C++ on the CPU) and ``"triton"`` (CUDA) run the neurons whose
spec names a fused family (``NeuronSpec.fused``) in one loop with a hand-written backward through time.
Asking for a backend that is not available raises; ``"auto"`` picks the fastest available one for the
step and the device.

Example:
    >>> import spikekit as sk
    >>> out, state, v = sk.kernels.multistep(sk.functional.lif_step, x, sk.functional.lif_init(x[0]),
    ...                                       sk.functional.LIFParams(), backend="fused")
"""

from .dispatch import engine_name, supports
from .flicker_linear import flicker_linear, flicker_masks
from .linear_lif import linear_lif
from .reference import BACKENDS, available_backends, multistep, resolve_backend, triton_usable

__all__ = [
    "BACKENDS",
    "available_backends",
    "engine_name",
    "flicker_linear",
    "flicker_masks",
    "linear_lif",
    "multistep",
    "resolve_backend",
    "supports",
    "triton_usable",
]
