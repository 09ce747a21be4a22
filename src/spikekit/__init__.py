"""spikekit: spiking neural networks on PyTorch.

Time-first tensors ``[T, B, ...]``, no hidden state between calls, one functional core per neuron,
surrogate gradients as values. See the README and ARCHITECTURE.md.
"""

from . import functional, kernels, nn, surrogate
from .nn import record

__version__ = "0.1.0"


def __getattr__(name: str):
    # Submodules with optional or heavier dependencies load on first use.
    import importlib

    if name in {
        "encode",
        "decode",
        "data",
        "models",
        "train",
        "plot",
        "analysis",
        "learning",
        "convert",
        "plot_events",
        "report",
        "interop",
        "bench",
    }:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'spikekit' has no attribute {name!r}")


__all__ = ["functional", "kernels", "nn", "surrogate", "record", "__version__"]
