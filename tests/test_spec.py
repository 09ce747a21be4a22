"""One description per neuron (``spikekit.functional.spec.NeuronSpec``): every consumer reads it.

A throwaway neuron, defined here and nowhere else (a core step, its spec and a module), must work in every
layer that handles neurons without those layers naming it: the STDP analysis predicts its time constant
from ``decay``, NIR export refuses it with its ``nir_reason``, ``backend="auto"`` runs it on the reference
loop, and the Loihi check reports it from ``loihi``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import NamedTuple

import pytest
import torch
from torch import nn

import spikekit as sk
from spikekit.functional import spec as spec_module
from spikekit.functional.spec import SPECS, NeuronSpec, f64, register, spec_of
from spikekit.nn.neuron import NEURONS, Neuron

REASON = "its membrane leaks into a second compartment that NIR has no node for"


class ToyState(NamedTuple):
    v: torch.Tensor


@dataclass(frozen=True)
class ToyParams:
    leak: float = 0.8
    threshold: float = 1.0
    surrogate: sk.surrogate.Surrogate = field(default_factory=sk.surrogate.atan)


def toy_step(x: torch.Tensor, state: ToyState, params: ToyParams):
    """``v = leak v + x``; fire; subtract the threshold."""
    v = params.leak * state.v + x
    s = params.surrogate(v - params.threshold)
    return s, v, ToyState(v - s * params.threshold)


def _forget(registry, name: str) -> None:
    """Remove ``name`` from a Registry (test cleanup: the throwaway neuron must not leak into other tests)."""
    registry._entries.pop(name, None)
    for key in [k for k, v in registry._keys.items() if v == name]:
        del registry._keys[key]


@pytest.fixture
def toy():
    """The throwaway neuron's module class, registered for the test and removed after it."""
    spec = register(
        NeuronSpec(
            "ToyLeak",
            toy_step,
            ToyParams,
            ToyState,
            decay=lambda p: f64(p.leak),
            nir=None,
            nir_reason=REASON,
            loihi=False,
            fused=None,
        )
    )

    class ToyLeak(Neuron):
        spec = SPECS["ToyLeak"]

        def __init__(self, leak: float = 0.8, threshold: float = 1.0, surrogate=None, backend="torch"):
            super().__init__(backend)
            self.leak, self.threshold, self.surrogate = leak, threshold, self._surrogate(surrogate)

        def params(self) -> ToyParams:
            return ToyParams(self.leak, self.threshold, self.surrogate)

    try:
        yield ToyLeak
    finally:
        _forget(SPECS, "ToyLeak")
        _forget(NEURONS, "ToyLeak")
        spec_module._BY_STEP.pop(spec.step, None)


def test_the_toy_neuron_is_registered_by_its_spec(toy):
    assert NEURONS["ToyLeak"] is toy and spec_of(toy_step) is SPECS["ToyLeak"] is toy.spec


def test_stdp_window_predicts_tau_from_decay(toy):
    assert sk.analysis.membrane_decay(toy(leak=0.8)) == pytest.approx(0.8)
    assert sk.analysis.output_delay(toy()) == 0
    w = sk.analysis.controlled_window(toy, neuron_kwargs={"leak": 0.8}, max_dt=6, steps_after=10)
    assert w.predicted_tau == pytest.approx(-1.0 / math.log(0.8))
    assert w.post_spikes[0] == w.t_post and w.dw[w.dt >= 0].max() > 0
    by_name = sk.analysis.controlled_window("ToyLeak", max_dt=4, steps_after=8)
    assert by_name.predicted_tau == pytest.approx(-1.0 / math.log(0.8))


def test_nir_export_refuses_it_with_its_reason(toy):
    pytest.importorskip("nir")
    from spikekit.interop import nir as sknir

    model = nn.Sequential(nn.Linear(4, 4), toy())
    with pytest.raises(ValueError, match=f"ToyLeak '1' cannot be expressed in NIR: {REASON}"):
        sknir.export(model, torch.zeros(2, 1, 4))


def test_auto_backend_falls_back_to_the_reference_loop(toy):
    assert not sk.kernels.supports(toy_step)
    assert sk.kernels.resolve_backend("auto", toy_step) == "torch"
    assert sk.kernels.available_backends(toy_step) == ["torch"]
    x = torch.rand(7, 2, 3) * 2
    torch.testing.assert_close(toy(backend="auto")(x), toy()(x), rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="backend 'fused' is not available for toy_step"):
        toy(backend="fused")


def test_loihi_check_reads_loihi(toy):
    model = nn.Sequential(nn.Linear(3, 3, bias=False), toy())
    issues = sk.interop.loihi_check(model)
    assert len(issues) == 1 and issues[0].startswith("1 (ToyLeak): not Loihi's CUBA LIF neuron")


# --- the registered neurons -------------------------------------------------------------------------------
def test_every_spec_has_a_module():
    missing = [name for name in SPECS if name not in NEURONS]
    assert not missing, f"specs with no spikekit.nn module: {missing}"
    for name in SPECS:
        assert NEURONS[name].spec is SPECS[name]


@pytest.mark.parametrize("name", list(SPECS))
def test_consumers_agree_with_each_spec(name):
    spec = SPECS[name]
    assert sk.kernels.supports(spec.step) == (spec.fused is not None)
    assert sk.kernels.resolve_backend("auto", spec.step, "cpu") == ("fused" if spec.fused else "torch")
    module = NEURONS[name](**spec.example)
    decay = sk.analysis.membrane_decay(module)
    assert (decay is None) == (spec.decay is None)
    if spec.nir is None:
        pytest.importorskip("nir")
        from spikekit.interop import nir as sknir

        with pytest.raises(ValueError, match="cannot be expressed in NIR: " + re.escape(spec.nir_reason)):
            sknir.export(nn.Sequential(module), torch.zeros(2, 1, 1))
    loihi_issue = any("not Loihi's CUBA" in i for i in sk.interop.loihi_check(nn.Sequential(module)))
    assert loihi_issue == (not spec.loihi)
