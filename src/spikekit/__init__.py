"""spikekit: spiking neural networks on PyTorch.

Time-first tensors ``[T, B, ...]``, no hidden state between calls, one functional core per neuron,
surrogate gradients as values. See the README and docs/architecture.md for the layers.

``import spikekit`` is cheap: every subpackage loads on first use (``sk.nn``, ``sk.data``, ...), and
``dir(spikekit)`` lists them all.
"""

import importlib as _importlib

__version__ = "0.1.0"

# Subpackages and modules, lowest layer first (docs/architecture.md).
_SUBMODULES = (
    "surrogate",
    "functional",
    "kernels",
    "nn",
    "encode",
    "decode",
    "data",
    "learning",
    "models",
    "convert",
    "quant",
    "analysis",
    "interop",
    "compat",
    "train",
    "distributed",
    "plot",
    "cli",
)
# Names re-exported from a subpackage: name -> module.
_ATTRIBUTES = {"record": "nn"}

__all__ = [*_SUBMODULES, *_ATTRIBUTES, "__version__"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return _importlib.import_module(f".{name}", __name__)
    if name in _ATTRIBUTES:
        return getattr(_importlib.import_module(f".{_ATTRIBUTES[name]}", __name__), name)
    raise AttributeError(f"module 'spikekit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
