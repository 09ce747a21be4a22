"""``SpikeLinear``: ``nn.Linear`` for spike sequences, computed from the active inputs when that is faster.

The arithmetic is :func:`spikekit.kernels.sparse.spike_linear`; see that module for the kernel, the
equality with the dense path and the automatic choice.
"""

from __future__ import annotations

import torch
from torch import nn

from ..kernels.sparse import SPARSE_MODES, spike_linear

__all__ = ["SpikeLinear"]


def _check_mode(value: object, name: str) -> bool | str:
    if isinstance(value, str) and value == "auto" or isinstance(value, bool):
        return value
    raise ValueError(f"{name}: sparse must be one of {SPARSE_MODES}; got {value!r}")


class SpikeLinear(nn.Linear):
    """``nn.Linear`` for binary spike inputs ``[T, B, ..., in_features]``, sparse where it pays.

    Same parameters, initialisation and ``state_dict`` as :class:`torch.nn.Linear` (it is one, so
    ``load_state_dict`` of a Linear's weights and tools that read Linears work). Forward returns
    ``x W^T + b``; only the way it is computed changes:

    - ``sparse=False``: ``torch.nn.functional.linear``.
    - ``sparse=True``: from the active inputs only (a compiled CPU kernel: forward adds the weight columns
      of the inputs that spiked; backward's weight gradient sums the output gradient over the steps where
      each input spiked; the input gradient is the dense ``g W``). Saves a CSR index of the spikes for
      backward instead of ``x``. Input that is not binary raises ``ValueError``.
    - ``sparse="auto"`` (default): sparse when the firing rate sampled from 1/16 of the rows is below
      :func:`spikekit.kernels.sparse.crossover` for this shape, the kernel is built, and ``x`` is float32 or
      float64 on the CPU; graded (non-binary) input is routed to the dense path.

    Equal to ``nn.Linear`` up to the order of float additions (bit for bit in float64 in the tests, and
    wherever a row has at most two active inputs). NaN or infinite input raises ``ValueError`` on
    every path. ``last_sparse`` tells which path the last forward took (``None`` before the first).

    Example:
        >>> fc = sk.nn.SpikeLinear(100, 10)               # in place of nn.Linear(100, 10)
        >>> current = fc(spikes)                          # [T, B, 100] -> [T, B, 10]
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device=None,
        dtype=None,
        *,
        sparse: bool | str = "auto",
    ) -> None:
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.sparse = _check_mode(sparse, type(self).__name__)
        self.last_sparse: bool | None = None

    @classmethod
    def from_linear(cls, linear: nn.Linear, *, sparse: bool | str = "auto") -> SpikeLinear:
        """A ``SpikeLinear`` sharing ``linear``'s weight and bias Parameters (no copies)."""
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"SpikeLinear.from_linear: linear must be nn.Linear, got {type(linear).__name__}")
        layer = cls.__new__(cls)
        nn.Module.__init__(layer)
        layer.in_features, layer.out_features = linear.in_features, linear.out_features
        layer.weight = linear.weight
        layer.bias = linear.bias
        layer.sparse = _check_mode(sparse, cls.__name__)
        layer.last_sparse = None
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mode = _check_mode(self.sparse, type(self).__name__)
        out, self.last_sparse = spike_linear(x, self.weight, self.bias, sparse=mode, _fn=type(self).__name__)
        return out

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, sparse={self.sparse!r}"
