"""Loihi / Lava: tensor layout and a check of what a Loihi chip cannot run.

Lava and lava-dl hold sequences as ``[B, ..., T]`` (time last); spikekit as ``[T, B, ...]``. Loihi's neuron
is current-based LIF (CUBA): ``u = u (1 - du) + a_in``, ``v = v (1 - dv) + u + bias``, a spike when
``v > v_th``, then ``v = 0``. The neurons whose spec says ``loihi=True`` are that neuron with
``reset="zero"``: spikekit's ``Synaptic`` (``alpha = 1 - du``, ``beta = 1 - dv``), ``LIF`` (``du = 1``),
``IF`` (``du = 1, dv = 0``) and ``RLIF`` (recurrent synapses).

Precision. Loihi 1 holds weights as 8-bit signed mantissas with a per-layer weight exponent, decays ``du``,
``dv`` as 12-bit fractions of 4096 (``v <- (v (4096 - dv)) >> 12``) and the membrane in 24 bits. A float model
is not checked against these (it has no integers yet); a model quantised with
:func:`spikekit.quant.quantize_model` is (:func:`loihi_precision`, also run by :func:`loihi_check`): its
weight codes, its fixed-point decay, its membrane bits and its integer thresholds. spikekit fires at
``v >= theta``, Loihi at ``v > vth``: write ``vth = theta - 1``.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_tensor
from ..functional.spec import SPECS
from ..nn import Neuron, TimeDistributed
from ..quant import QuantConv2d, QuantLIF, QuantLinear

__all__ = [
    "to_loihi_layout",
    "from_loihi_layout",
    "loihi_check",
    "loihi_neurons",
    "loihi_precision",
    "LOIHI1",
]

LOIHI1 = {
    "weight_bits": 8,  # signed mantissa
    "weight_exponent": (-8, 7),  # one per layer: w = mantissa * 2^exponent
    "decay_bits": 12,  # du, dv: fractions of 4096
    "state_bits": 24,  # membrane (and current)
}
"""Loihi 1's precisions that :func:`loihi_precision` checks."""

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
        if isinstance(m, QuantLIF | QuantLinear | QuantConv2d):
            issues += _precision_issues(name, m)
            if isinstance(m, QuantLIF) and m.reset != "zero":
                issues.append(
                    f"{name} ({kind}): reset={m.reset!r}; Loihi's LIF sets v to 0 after a spike (use "
                    "reset='zero')"
                )
            if isinstance(m, QuantLIF):
                continue
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


def _weight_issue(name: str, kind: str, codes: torch.Tensor, bits: int) -> str | None:
    """Whether integer weight ``codes`` are 8-bit mantissas times one power of two (Loihi 1's exponent)."""
    hi = 2 ** (LOIHI1["weight_bits"] - 1) - 1
    nz = codes[codes != 0].abs()
    if nz.numel() == 0 or int(nz.max()) <= hi:
        return None
    low, high = LOIHI1["weight_exponent"]
    for e in range(1, high + 1):
        if bool((nz % 2**e == 0).all()) and int(nz.max()) >> e <= hi:
            return None
    return (
        f"{name} ({kind}): {bits}-bit weights (codes up to {int(nz.max())}) do not fit Loihi 1's 8-bit "
        f"mantissa with one exponent in [{low}, {high}]; quantise with bits=8"
    )


def _precision_issues(name: str, m: nn.Module) -> list[str]:
    kind = type(m).__name__
    issues = []
    if isinstance(m, QuantLinear | QuantConv2d):
        from ..quant import quantize

        with torch.no_grad():
            codes = quantize(m.weight.detach().cpu(), m.weight_scale().cpu(), m.bits)
        issue = _weight_issue(name, kind, codes, m.bits)
        if issue:
            issues.append(issue)
        if m.input_bits > 1:
            issues.append(
                f"{name} ({kind}): reads {m.input_bits}-bit graded input; Loihi 1's synapses carry spikes "
                "(encode the input as spikes, or give the constant current of direct encoding as a bias)"
            )
        return issues
    if m.decay_bits != LOIHI1["decay_bits"]:
        issues.append(
            f"{name} ({kind}): decay in {m.decay_bits}-bit fixed point; Loihi 1's du/dv are 12-bit fractions "
            "of 4096 (decay_bits=12)"
        )
    if m.state_bits > LOIHI1["state_bits"]:
        issues.append(
            f"{name} ({kind}): {m.state_bits}-bit membrane; Loihi 1's holds 24 bits (state_bits<=24)"
        )
    theta = m.int_threshold().detach().cpu()
    limit = 2 ** (min(m.state_bits, LOIHI1["state_bits"]) - 1) - 1
    if int(theta.max()) > limit:
        issues.append(
            f"{name} ({kind}): integer threshold {int(theta.max())} exceeds the membrane's range ({limit})"
        )
    if theta.numel() > 1 and bool((theta != theta.flatten()[0]).any()):
        issues.append(
            f"{name} ({kind}): one integer threshold per neuron (per-channel weight scales); lava-dl's "
            "blocks take one threshold per layer (quantise with per_channel=False)"
        )
    return issues


def loihi_precision(model: nn.Module) -> list[str]:
    """What in a quantised ``model`` (:func:`spikekit.quant.quantize_model`) exceeds Loihi 1's precisions
    (:data:`LOIHI1`): weight codes beyond an 8-bit mantissa with one power-of-two exponent per layer, a
    decay not in 12-bit fixed point, a membrane over 24 bits, integer thresholds beyond the membrane's range
    or differing between the neurons of a layer, graded (non-spike) input. Empty: none of these. A model
    with no quantised layer gets one line saying so."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"loihi_precision: model must be an nn.Module, got {type(model).__name__}")
    found, issues = False, []
    for name, m in model.named_modules():
        if isinstance(m, QuantLIF | QuantLinear | QuantConv2d):
            found = True
            issues += _precision_issues(name or type(model).__name__, m)
    if not found:
        return [
            f"{type(model).__name__}: not quantised; quantise it (spikekit.quant.quantize_model) to check "
            "Loihi's 8-bit weights, 12-bit decays and 24-bit membrane"
        ]
    return issues
