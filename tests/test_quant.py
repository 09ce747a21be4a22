"""sk.quant: fake quantisation and its straight-through gradient, scales, quantize_model, the integer export
matching the pure-integer simulation bit for bit, Loihi precision checks, bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import spikekit as sk
from spikekit import quant
from spikekit.interop.loihi import loihi_check, loihi_precision


def test_ste_identity_inside_zero_outside():
    x = torch.tensor([-2.0, -0.55, -0.1, 0.0, 0.26, 0.69, 1.5], dtype=torch.float64, requires_grad=True)
    y = quant.fake_quant(x, 0.1, bits=4)  # codes -7..7: clip range [-0.7, 0.7]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    assert torch.allclose(y, torch.tensor([-0.7, -0.6, -0.1, 0.0, 0.3, 0.7, 0.7], dtype=torch.float64))


def test_per_channel_and_per_tensor_scales():
    w = torch.tensor([[0.5, -1.0], [0.02, 0.01]])
    s = quant.weight_scale(w, 8, per_channel=True)
    assert torch.allclose(s, torch.tensor([1.0, 0.02], dtype=torch.float64) / 127)
    codes = quant.quantize(w, s, 8)
    assert codes.tolist() == [[64, -127], [127, 64]]
    s1 = quant.weight_scale(w, 8, per_channel=False)
    assert torch.equal(s1, torch.full((2,), 1.0 / 127, dtype=torch.float64))
    assert quant.quantize(w, s1, 8)[1].tolist() == [3, 1]  # the small row loses precision per tensor
    codes4 = quant.quantize(torch.randn(16, 8), quant.weight_scale(torch.randn(16, 8), 4), 4)
    assert int(codes4.abs().max()) <= 7


def _mlp(reset="subtract", readout="membrane"):
    torch.manual_seed(0)
    model = sk.models.SpikingMLP(n_in=64, hidden=(32, 16), steps=12, reset=reset, readout=readout)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3)  # enough spikes to test
    return model


@pytest.mark.parametrize(
    ("bits", "per_channel", "state_bits", "reset", "readout"),
    [
        (8, True, 24, "subtract", "membrane"),
        (4, False, 24, "zero", "rate"),
        (8, True, 18, "subtract", "membrane"),
    ],
)
def test_integer_simulation_matches_bit_for_bit(bits, per_channel, state_bits, reset, readout):
    qmodel = quant.quantize_model(
        _mlp(reset, readout), bits=bits, per_channel=per_channel, state_bits=state_bits
    )
    x = torch.rand(32, 64)
    with torch.no_grad(), quant.record_integer(qmodel) as rec:
        logits = qmodel(x)
    imodel = quant.export_integer(qmodel)
    run = quant.simulate_integer(imodel, quant.quantize_input(imodel, x))
    names = ["hidden.0", "hidden.2", "out_lif"]
    for i, name in enumerate(names):
        spikes, v_int = rec[name][0]
        assert torch.equal(spikes.long(), run.spikes[i]), name
        assert torch.equal(v_int.long(), run.membrane[i]), name
    assert int(run.spikes[0].sum()) > 0
    assert torch.equal(logits, run.logits)
    layer = imodel.layers[0]
    assert layer.weight.dtype == torch.int64 and int(layer.weight.abs().max()) <= 2 ** (bits - 1) - 1
    assert layer.decay_shift == 12 and int(layer.decay[0]) == round(0.9 * 4096)
    assert layer.threshold.dtype == torch.int64


def test_saturation_and_negative_floor_are_the_integer_ones():
    lin = nn.Linear(3, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, -1.0, 0.5], [-1.0, -1.0, -1.0]]))
        lin.bias.zero_()
    qmodel = quant.quantize_model(nn.Sequential(lin, sk.nn.LIF(0.7, 40.0, reset="zero")), state_bits=8)
    x = torch.rand(20, 4, 3)
    with torch.no_grad(), quant.record_integer(qmodel) as rec:
        qmodel(x)
    imodel = quant.export_integer(qmodel)
    run = quant.simulate_integer(imodel, quant.quantize_input(imodel, x))
    _, v_int = rec["1"][0]
    assert int(v_int.min()) == -128  # saturated at the 8-bit floor
    assert torch.equal(v_int.long(), run.membrane[0])


def test_qat_trains_through_the_quantisers():
    qmodel = quant.quantize_model(_mlp(), bits=4)
    loss = nn.functional.cross_entropy(qmodel(torch.rand(8, 64)), torch.randint(0, 10, (8,)))
    loss.backward()
    grads = [p.grad for p in qmodel.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert float(qmodel.first.weight.grad.abs().sum()) > 0
    assert isinstance(qmodel.hidden[0], quant.QuantLIF) and isinstance(qmodel.out, quant.QuantLinear)


def test_loihi_precision_checks():
    model = _mlp(reset="zero")
    assert "not quantised" in loihi_precision(model)[0]
    ok = loihi_precision(quant.quantize_model(model, bits=8, per_channel=False))
    assert len(ok) == 1 and "graded input" in ok[0]
    wide = loihi_precision(quant.quantize_model(model, bits=12, per_channel=True, state_bits=32))
    assert any("8-bit mantissa" in s for s in wide)
    assert any("32-bit membrane" in s for s in wide)
    assert any("one integer threshold per neuron" in s for s in wide)
    issues = loihi_check(quant.quantize_model(model, bits=8))
    assert any("reset='none'" in s for s in issues) and any("has a bias" in s for s in issues)


def test_bad_input():
    with pytest.raises(ValueError, match="bits"):
        quant.quantize_model(_mlp(), bits=1)
    with pytest.raises(TypeError, match="bits"):
        quant.quantize_model(_mlp(), bits=8.0)
    with pytest.raises(ValueError, match="ALIF"):
        quant.quantize_model(nn.Sequential(nn.Linear(2, 2), sk.nn.ALIF()))
    with pytest.raises(ValueError, match="BatchNorm1d"):
        quant.quantize_model(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), sk.nn.LIF()))
    with pytest.raises(ValueError, match="no Linear/Conv2d before"):
        quant.quantize_model(nn.Sequential(sk.nn.LIF(), nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="no QuantLinear"):
        quant.export_integer(_mlp())
    imodel = quant.export_integer(quant.quantize_model(_mlp()))
    with pytest.raises(TypeError, match="integer codes"):
        quant.simulate_integer(imodel, torch.rand(2, 64))
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        quant.simulate_integer(imodel, torch.full((2, 64), 300))
    with pytest.raises(ValueError, match="64"):
        quant.simulate_integer(imodel, torch.zeros(2, 10, dtype=torch.int64))
    with pytest.raises(ValueError, match="scale"):
        quant.fake_quant(torch.ones(3), 0.0, 8)
    with pytest.raises(TypeError, match="floating"):
        quant.fake_quant(torch.ones(3, dtype=torch.int64), 1.0, 8)
