"""Stateless layers over time."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_time_first


class TimeDistributed(nn.Module):
    """Apply a stateless ``layer`` at every step of ``[T, B, ...]`` by folding time into the batch.

    Args:
        layer: any module taking ``[N, ...]`` (Conv2d, pooling, BatchNorm, Flatten, Dropout, ...).

    Shape:
        ``[T, B, *in]`` -> ``[T, B, *out]``.

    Example:
        >>> conv = TimeDistributed(nn.Conv2d(1, 8, 3))
        >>> conv(torch.rand(25, 4, 1, 28, 28)).shape   # [25, 4, 8, 26, 26]
    """

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        if not isinstance(layer, nn.Module):
            raise TypeError(f"TimeDistributed: layer must be an nn.Module, got {type(layer).__name__}")
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_time_first(x, "TimeDistributed: x", min_dim=3)
        t, b = x.shape[:2]
        y = self.layer(x.flatten(0, 1))
        return y.unflatten(0, (t, b))
