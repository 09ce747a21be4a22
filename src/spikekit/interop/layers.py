"""Modules that NIR graphs need and :mod:`spikekit.nn` does not have: sum pooling, a memoryless threshold,
an elementwise scale, a membrane readout, a recurrent layer around any neuron, and a module that runs a
graph of modules.

All but :class:`SumPool2d` (which works on one step ``[N, C, H, W]``; wrap it in
:class:`~spikekit.nn.TimeDistributed`) take time-first sequences ``[T, B, ...]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_time_first
from ..nn import Neuron
from ..surrogate import Surrogate, atan, check_surrogate

__all__ = ["SumPool2d", "Threshold", "Scale", "Membrane", "Recurrent", "GraphModule"]

Pair = int | tuple[int, int]


class SumPool2d(nn.Module):
    """Sum pooling (NIR's ``SumPool2d``): the sum of each window, zero padding.

    Shape:
        ``[N, C, H, W]`` -> ``[N, C, H', W']``.
    """

    def __init__(self, kernel_size: Pair, stride: Pair | None = None, padding: Pair = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, divisor_override=1)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Threshold(nn.Module):
    """A memoryless spike: ``s = H(x - threshold)`` at every step (NIR's ``Threshold``, and a NIR ``LIF``
    whose time constant equals the time step, which forgets its membrane every step).

    Args:
        threshold: a float or a tensor broadcastable to one step.
        surrogate: the spike function's surrogate gradient (default atan).
    """

    def __init__(self, threshold: float | torch.Tensor, surrogate: Surrogate | None = None) -> None:
        super().__init__()
        self.register_buffer("threshold", torch.as_tensor(threshold, dtype=torch.get_default_dtype()).clone())
        self.surrogate = atan() if surrogate is None else check_surrogate(surrogate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.surrogate(x - self.threshold)


class Scale(nn.Module):
    """Elementwise ``y = x * scale`` (NIR's ``Scale``); ``scale`` broadcasts over one step."""

    def __init__(self, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.get_default_dtype()).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class Membrane(nn.Module):
    """The membrane of a non-resetting neuron as the output: NIR's ``LI``, ``I`` and ``CubaLI`` nodes, and
    spikekit's membrane readout.

    ``y[t] = scale * v[t]``, with ``v`` the membrane of ``neuron`` (whose reset must be ``"none"``).

    Shape:
        ``[T, B, ...]`` -> ``[T, B, ...]``.
    """

    def __init__(self, neuron: Neuron, scale: float | torch.Tensor | None = None) -> None:
        super().__init__()
        if not isinstance(neuron, Neuron) or getattr(neuron, "reset", None) != "none":
            raise ValueError(
                f"Membrane: neuron must be a spikekit neuron with reset='none', got {type(neuron).__name__} "
                f"with reset={getattr(neuron, 'reset', None)!r}"
            )
        self.neuron = neuron
        if scale is None:
            self.scale = None
        else:
            self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.get_default_dtype()).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.neuron.trace(x)[1]
        return v if self.scale is None else v * self.scale


class Recurrent(nn.Module):
    """A layer of neurons fed back through a dense weight: NIR's recurrent subgraph ``input -> N -> output``,
    ``N -> Affine -> N`` (the NIR paper's Braille RNN: a CubaLIF; snnTorch's ``RSynaptic``).

    At step ``t`` the neuron gets ``x[t] + W s[t-1] + b`` (``s[-1] = 0``, so the bias enters from the first
    step): the feedback carries last step's spikes, as in spikekit's ``RLIF`` and snnTorch.

    Args:
        neuron: a spikekit neuron (e.g. ``Synaptic(reset="zero")``) run one step at a time.
        weight: ``[N, N]``, ``W[i, j]`` from neuron ``j`` to neuron ``i`` (``nn.Linear``'s layout).
        bias: ``[N]`` or ``None``.
        size: ``N``.

    Shape:
        ``[T, B, N]`` -> ``[T, B, N]``.
    """

    def __init__(self, neuron: Neuron, weight: torch.Tensor, bias: torch.Tensor | None, size: int) -> None:
        super().__init__()
        if not isinstance(neuron, Neuron):
            raise TypeError(f"Recurrent: neuron must be a spikekit neuron, got {type(neuron).__name__}")
        if tuple(weight.shape) != (size, size):
            raise ValueError(f"Recurrent: weight must have shape ({size}, {size}), got {tuple(weight.shape)}")
        if bias is not None and tuple(bias.shape) != (size,):
            raise ValueError(f"Recurrent: bias must have shape ({size},), got {tuple(bias.shape)}")
        self.neuron, self.size = neuron, size
        self.weight = nn.Parameter(torch.as_tensor(weight).detach().clone())
        self.bias = None if bias is None else nn.Parameter(torch.as_tensor(bias).detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_time_first(x, "Recurrent: x")
        if x.shape[-1] != self.size or x.dim() != 3:
            raise ValueError(f"Recurrent: x must be [T, B, {self.size}], got {tuple(x.shape)}")
        state, s, out = None, torch.zeros_like(x[0]), []
        for x_t in x:
            s, state = self.neuron.step(x_t + F.linear(s, self.weight, self.bias), state)
            out.append(s)
        return torch.stack(out)

    def extra_repr(self) -> str:
        return f"size={self.size}, bias={self.bias is not None}"


class GraphModule(nn.Module):
    """Runs a directed acyclic graph of time-first modules; a node's inputs are summed (NIR's rule).

    Args:
        modules: ``{name: module}``; each takes and returns ``[T, B, ...]``.
        edges: ``(source, target)`` pairs, where ``source`` is a node or ``input``.
        input: the name of the graph's input.
        output: the node whose output the graph returns.
        order: the nodes in an order in which every node comes after its sources.
    """

    def __init__(
        self,
        modules: dict[str, nn.Module],
        edges: Sequence[tuple[str, str]],
        input: str,
        output: str,
        order: Sequence[str],
    ) -> None:
        super().__init__()
        self.nodes = nn.ModuleDict(modules)
        self.edges = [tuple(e) for e in edges]
        self.input, self.output, self.order = input, output, list(order)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_time_first(x, "GraphModule: x")
        values = {self.input: x}
        for name in self.order:
            sources = [values[a] for a, b in self.edges if b == name]
            total = sources[0]
            for other in sources[1:]:
                total = total + other
            values[name] = self.nodes[name](total) if name in self.nodes else total
        return values[self.output]
