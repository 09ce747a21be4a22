"""Pieces shared by the neuron cores: firing, reset, parameter checks."""

from __future__ import annotations

from typing import NamedTuple

import torch

from .._checks import check_choice, check_range
from ..surrogate import Surrogate, check_surrogate

RESET_MODES = ("subtract", "zero", "none")

Scalar = float | torch.Tensor


def fire(v: torch.Tensor, threshold: Scalar, surrogate: Surrogate) -> torch.Tensor:
    """Spikes ``H(v - threshold)`` with ``surrogate``'s gradient."""
    return surrogate(v - threshold)


def reset(v: torch.Tensor, spikes: torch.Tensor, threshold: Scalar, mode: str, detach: bool) -> torch.Tensor:
    """Reset the membrane in the step it fired.

    ``subtract``: ``v - s * threshold``; ``zero``: ``v * (1 - s)``; ``none``: ``v``. With ``detach``, the
    spike used here carries no gradient (the reset path is cut from backpropagation, Zenke & Vogels 2021).
    """
    if mode == "none":
        return v
    s = spikes.detach() if detach else spikes
    if mode == "subtract":
        return v - s * threshold
    return v * (1 - s)


def check_common(owner: str, threshold: Scalar, reset_mode: str, surrogate: Surrogate) -> None:
    """Validate the fields every threshold neuron has."""
    check_range(threshold, f"{owner}: threshold", 0.0, float("inf"), low_open=True, high_open=True)
    check_choice(reset_mode, f"{owner}: reset", RESET_MODES)
    check_surrogate(surrogate, f"{owner}: surrogate")


def check_decay(value: Scalar, name: str) -> None:
    """A per-step decay factor must lie in (0, 1]."""
    check_range(value, name, 0.0, 1.0, low_open=True)


def zeros_state(cls: type[NamedTuple], x: torch.Tensor) -> NamedTuple:
    """A state of ``cls`` with every field zeros shaped like one time step ``x``."""
    return cls(*(torch.zeros_like(x) for _ in cls._fields))
