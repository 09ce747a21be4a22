"""Loihi / Lava: tensor layout and a check of what a Loihi chip cannot run.

Lava and lava-dl hold sequences as ``[B, ..., T]`` (time last); spikekit as ``[T, B, ...]``. Loihi's neuron
is current-based LIF (CUBA): ``u = u (1 - du) + a_in``, ``v = v (1 - dv) + u + bias``, a spike when
``v > v_th``, then ``v = 0``. The neurons whose spec says ``loihi=True`` are that neuron with
``reset="zero"``: spikekit's ``Synaptic`` (``alpha = 1 - du``, ``beta = 1 - dv``), ``LIF`` (``du = 1``),
``IF`` (``du = 1, dv = 0``) and ``RLIF`` (recurrent synapses). Weights and decays are quantised on the
chip (8-bit weights, 12-bit decays): not checked here.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_tensor
from ..functional.spec import SPECS
from ..nn import Neuron, TimeDistributed

__all__ = ["to_loihi_layout", "from_loihi_layout", "loihi_check", "loihi_neurons"]

NO_STATE = (nn.Flatten, nn.Dropout, nn.Identity, nn.AvgPool2d, nn.Sequential, TimeDistributed)


def _check_rank(x: torch.Tensor, name: str) -> None:
    check_tensor(x, name)
    if x.dim() < 2:
        raise ValueError(
            f"{name} must have a time and a batch axis (at least 2 dims), got shape {tuple(x.shape)}"
        )


def to_loihi_layout(x: torch.Tensor) -> torch.Tensor:
    """``[T, B, ...]`` -> ``[B, ..., T]`` (a view; ``.contiguous()`` it for Lava if needed).

    Example:
        >>> to_loihi_layout(torch.zeros(25, 8, 2, 34, 34)).shape   # [8, 2, 34, 34, 25]
    """
    _check_rank(x, "to_loihi_layout: x")
    return x.movedim(0, -1)


def from_loihi_layout(x: torch.Tensor) -> torch.Tensor:
    """``[B, ..., T]`` -> ``[T, B, ...]``, the inverse of :func:`to_loihi_layout`."""
    _check_rank(x, "from_loihi_layout: x")
    return x.movedim(-1, 0)


def loihi_neurons() -> list[str]:
    """The registered neurons that are Loihi's CUBA LIF neuron (their spec's ``loihi``)."""
    return [name for name in SPECS if SPECS[name].loihi]


def _and(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def _neuron_issue(name: str, m: Neuron) -> str | None:
    kind = type(m).__name__
    spec = getattr(type(m), "spec", None)
    if not getattr(spec, "loihi", False):
        return (
            f"{name} ({kind}): not Loihi's CUBA LIF neuron (spikekit's {_and(loihi_neurons())} are); it "
            "would need a custom Loihi 2 microcode neuron"
        )
    if m.reset == "subtract":
        return f"{name} ({kind}): reset='subtract'; Loihi's LIF sets v to 0 after a spike (use reset='zero')"
    if m.reset == "none":
        return (
            f"{name} ({kind}): reset='none'; Loihi's LIF always resets (read a non-resetting output "
            "with a probe)"
        )
    return None


def loihi_check(model: nn.Module) -> list[str]:
    """What in ``model`` a Loihi chip (through Lava / lava-dl) cannot run, one line per module.

    Lists biases (Loihi's synapses have none: train with ``bias=False`` or convert with
    ``spikekit.convert.convert(..., bias=False)``), BatchNorm (fold it), max pooling, non-spiking activations,
    neurons other than CUBA LIF and resets other than ``"zero"``. An empty list means none of these.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"loihi_check: model must be an nn.Module, got {type(model).__name__}")
    issues = []
    for name, m in model.named_modules():
        name = name or type(model).__name__
        kind = type(m).__name__
        if isinstance(m, Neuron):
            issue = _neuron_issue(name, m)
            if issue:
                issues.append(issue)
        elif isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d):
            if m.bias is not None and bool(m.bias.detach().any()):
                issues.append(f"{name} ({kind}): has a bias; Loihi's synapses have none")
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            issues.append(
                f"{name} ({kind}): no normalisation on Loihi; fold it (spikekit.convert.fold_batchnorm)"
            )
        elif isinstance(m, nn.MaxPool1d | nn.MaxPool2d):
            issues.append(f"{name} ({kind}): no max pooling on Loihi; use sum/average pooling")
        elif type(m).__module__.startswith("torch.nn.modules.activation"):
            issues.append(f"{name} ({kind}): a non-spiking activation; Loihi runs spiking neurons only")
        elif not isinstance(m, NO_STATE) and not list(m.children()):
            issues.append(f"{name} ({kind}): unknown to loihi_check")
    return issues
