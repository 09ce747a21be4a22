"""Multi-step backends: run a neuron's step function over a whole sequence ``[T, B, ...]``.

``backend="torch"`` is the plain loop over the functional core's ``step``: the reference every other
backend is tested against. Asking for a backend that is not available raises; ``"auto"`` picks the
fastest available one for the step (today: ``"torch"``).
"""

from .reference import BACKENDS, available_backends, multistep, resolve_backend

__all__ = ["BACKENDS", "available_backends", "multistep", "resolve_backend"]
