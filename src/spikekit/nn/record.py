"""Capture what every neuron layer did during a forward pass, without changing the result."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from .neuron import Neuron


@dataclass
class Trace:
    """One layer's activity. ``spikes`` and ``v`` are ``[T, B, ...]``, concatenated over calls."""

    chunks_spikes: list[torch.Tensor] = field(default_factory=list, repr=False)
    chunks_v: list[torch.Tensor] = field(default_factory=list, repr=False)

    @property
    def spikes(self) -> torch.Tensor:
        """The layer's output at every step."""
        return self._cat(self.chunks_spikes)

    @property
    def v(self) -> torch.Tensor:
        """The membrane at every step, after integration and before the reset."""
        return self._cat(self.chunks_v)

    @staticmethod
    def _cat(chunks: list[torch.Tensor]) -> torch.Tensor:
        if not chunks:
            raise RuntimeError("this layer did not run inside the record() block")
        return chunks[0] if len(chunks) == 1 else torch.cat(chunks, dim=0)


class Recording(dict):
    """``{layer name: Trace}`` for every neuron layer of the recorded model."""

    def __missing__(self, key: str) -> Trace:
        raise KeyError(f"no neuron layer named {key!r}; recorded layers: {sorted(self)}")


@contextmanager
def record(model: nn.Module, *, detach: bool = True) -> Iterator[Recording]:
    """Record spikes and membrane of every :class:`~spikekit.nn.Neuron` in ``model``.

    Layers are named as in ``model.named_modules()`` (``""`` when ``model`` itself is a neuron).
    Several calls inside the block are concatenated along time (chunked ``run`` gives one trace).

    Args:
        model: any module containing neuron layers.
        detach: store detached copies (default); ``False`` keeps the autograd graph, e.g. to take
            gradients with respect to a membrane.

    Example:
        >>> with sk.record(model) as rec:
        ...     model(x)
        >>> rec["layer1"].v.shape, rec["layer1"].spikes.shape   # [T, B, N] each
    """
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, Neuron)]
    if not layers:
        raise ValueError(f"record: {type(model).__name__} contains no spikekit neuron layer")
    recording = Recording()
    hooks = []
    for name, layer in layers:
        trace = recording[name] = Trace()

        def hook(out: torch.Tensor, v: torch.Tensor, trace: Trace = trace) -> None:
            trace.chunks_spikes.append(out.detach() if detach else out)
            trace.chunks_v.append(v.detach() if detach else v)

        layer._recorders.append(hook)
        hooks.append((layer, hook))
    try:
        yield recording
    finally:
        for layer, hook in hooks:
            layer._recorders.remove(hook)
