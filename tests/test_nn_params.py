"""Bad parameters, TimeDistributed and record()."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import spikekit as sk
from spikekit import functional as F


@pytest.mark.parametrize("beta", [0.0, -0.1, 1.5, float("nan")])
def test_decay_outside_unit_interval_raises(beta):
    with pytest.raises(ValueError, match=r"LIF: beta must lie in \(0, 1\], got"):
        sk.nn.LIF(beta=beta)
    with pytest.raises(ValueError, match=r"LIF: beta must lie in \(0, 1\]"):
        F.LIFParams(beta=beta)
    with pytest.raises(ValueError, match=r"Synaptic: alpha must lie in \(0, 1\]"):
        sk.nn.Synaptic(alpha=beta)
    with pytest.raises(ValueError, match=r"RefractoryLIF: decay must lie in \(0, 1\]"):
        sk.nn.RefractoryLIF(decay=beta)


def test_decay_of_one_is_allowed_and_equals_if():
    x = torch.rand(10, 2, 5, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(sk.nn.LIF(beta=1.0)(x), sk.nn.IF()(x))


def test_per_neuron_decay_out_of_range_names_the_range():
    with pytest.raises(ValueError, match=r"beta must lie in \(0, 1\], got values in \[0\.5, 1\.2\]"):
        sk.nn.LIF(beta=torch.tensor([0.5, 1.2]), shape=2)


def test_learned_decay_that_leaves_range_raises_instead_of_clamping():
    lif = sk.nn.LIF(beta=0.9, learn_beta=True)
    with torch.no_grad():
        lif.beta.fill_(1.3)
    with pytest.raises(ValueError, match=r"LIF: beta must lie in \(0, 1\], got 1\.3"):
        lif(torch.rand(3, 2, 4))


@pytest.mark.parametrize("cls", [sk.nn.IF, sk.nn.LIF, sk.nn.ALIF, sk.nn.Synaptic, sk.nn.PLIF])
def test_unknown_reset_mode_raises(cls):
    with pytest.raises(ValueError, match=r"reset must be one of 'subtract', 'zero', 'none'; got 'soft'"):
        cls(reset="soft")


def test_refractory_options_checked():
    with pytest.raises(ValueError, match=r"RefractoryLIF: reset must be one of 'seed', 'prose'; got 'zero'"):
        sk.nn.RefractoryLIF(reset="zero")
    with pytest.raises(
        ValueError, match=r"RefractoryLIF: spike must be one of 'graded', 'binary'; got 'bin'"
    ):
        sk.nn.RefractoryLIF(spike="bin")


@pytest.mark.parametrize("thr", [0.0, -1.0, float("inf")])
def test_threshold_must_be_positive_and_finite(thr):
    with pytest.raises(ValueError, match=r"LIF: threshold must lie in \(0, inf\)"):
        sk.nn.LIF(threshold=thr)


def test_other_bad_parameters():
    with pytest.raises(ValueError, match=r"PLIF: init_tau must be a float > 1"):
        sk.nn.PLIF(init_tau=1.0)
    with pytest.raises(ValueError, match=r"SRM: tau_m and tau_s must differ"):
        sk.nn.SRM(tau_m=3.0, tau_s=3.0)
    with pytest.raises(ValueError, match=r"SRM: tau_r must lie in \(0, inf\), got -1"):
        sk.nn.SRM(tau_r=-1.0)
    with pytest.raises(ValueError, match=r"RLIF: size must be an int >= 1, got 0"):
        sk.nn.RLIF(0)
    with pytest.raises(ValueError, match=r"RLIF: input has 4 features but the recurrent weight is for 6"):
        sk.nn.RLIF(6)(torch.rand(3, 2, 4))
    with pytest.raises(ValueError, match=r"ALIF: rho must lie in \(0, 1\]"):
        sk.nn.ALIF(rho=1.01)
    with pytest.raises(TypeError, match=r"LIF: beta must be a float, got str"):
        sk.nn.LIF(beta="0.9")
    with pytest.raises(
        ValueError, match=r"backend must be one of 'auto', 'torch', 'fused', 'triton'; got 'cuda'"
    ):
        sk.nn.LIF(backend="cuda")


def test_auto_backend_says_which_in_repr():
    assert "backend='auto'" in repr(sk.nn.LIF(backend="auto"))
    assert sk.kernels.resolve_backend("auto") == sk.kernels.available_backends()[0]
    assert "backend='auto' -> fused:cpp" in repr(sk.nn.Izhikevich()) or not sk.kernels.cpp.available()
    delayed = sk.compat.snntorch.DelayedLeaky  # no fused engine: its step is snnTorch's delayed reset
    with pytest.raises(RuntimeError, match=r"backend 'fused' is not available for leaky_step"):
        sk.kernels.resolve_backend("fused", delayed.core_step)
    assert sk.kernels.resolve_backend("auto", delayed.core_step) == "torch"


def test_time_distributed_equals_a_loop_over_time():
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3)
    td = sk.nn.TimeDistributed(conv)
    x = torch.rand(5, 4, 2, 8, 8)
    y = td(x)
    assert y.shape == (5, 4, 3, 6, 6)
    torch.testing.assert_close(y, torch.stack([conv(x_t) for x_t in x]))
    with pytest.raises(ValueError, match=r"TimeDistributed: x must be a time-first sequence"):
        td(torch.rand(5, 3))
    with pytest.raises(TypeError, match="layer must be an nn.Module"):
        sk.nn.TimeDistributed(torch.relu)


def test_record_names_layers_and_gives_membrane():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), sk.nn.LIF(beta=0.5), nn.Linear(8, 3), sk.nn.RefractoryLIF())
    x = torch.rand(6, 2, 4) * 2
    plain = model(x)
    with sk.record(model) as rec:
        out = model(x)
    torch.testing.assert_close(out, plain, rtol=0, atol=0)
    assert sorted(rec) == ["1", "3"]
    assert rec["1"].spikes.shape == (6, 2, 8) and rec["3"].v.shape == (6, 2, 3)
    # The LIF membrane recorded is the pre-reset value: it exceeds the threshold exactly where it fired.
    torch.testing.assert_close((rec["1"].v >= 1.0).float(), rec["1"].spikes)
    with pytest.raises(KeyError, match=r"no neuron layer named 'layer9'; recorded layers: \['1', '3'\]"):
        rec["layer9"]
    with pytest.raises(ValueError, match="contains no spikekit neuron layer"):
        with sk.record(nn.Linear(2, 2)):
            pass


def test_record_with_steps_and_kept_graph():
    lif = sk.nn.LIF()
    x = torch.rand(4, 2, 3, requires_grad=True)
    with sk.record(lif, detach=False) as rec:
        state = None
        for x_t in x.unbind(0):
            _, state = lif.step(x_t, state)
    assert rec[""].v.shape == (4, 2, 3)
    rec[""].v.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


# --- issue 15: float64 is float64 ----------------------------------------------------------------------
def test_constants_cast_to_float64_are_the_numbers_given_and_float32_is_unchanged():
    lif = sk.nn.LIF(beta=0.9, threshold=0.7)
    assert lif.beta.dtype == torch.float32 and lif.beta.item() == torch.tensor(0.9).item()  # as before
    for cast in (lambda m: m.double(), lambda m: m.to(torch.float64), lambda m: m.half().float().double()):
        m = cast(sk.nn.LIF(beta=0.9, threshold=0.7))
        assert m.beta.dtype == torch.float64 and m.beta.item() == 0.9 and m.threshold.item() == 0.7
    # per-neuron tensors: in the module's dtype until .to(), then the values given
    thr = torch.tensor([0.7, 0.3], dtype=torch.float64)
    m = sk.nn.LIF(threshold=thr, shape=2)
    assert m.threshold.dtype == torch.float32
    assert torch.equal(m.double().threshold, thr)
    # LinearLIF holds a LIF: the same
    assert sk.nn.LinearLIF(3, 2, beta=0.9).double().beta.item() == 0.9


def test_parameters_are_created_in_the_default_dtype():
    """A Parameter is the user's once made, like every torch Parameter: ``.double()`` casts what it holds."""
    m = sk.nn.LIF(beta=0.9, learn_beta=True).double()
    assert m.beta.dtype == torch.float64 and m.beta.item() == torch.tensor(0.9).item() != 0.9
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert sk.nn.LIF(beta=0.9, learn_beta=True).beta.item() == 0.9
    finally:
        torch.set_default_dtype(old)


def test_changed_buffers_and_loaded_state_dicts_are_what_double_gives():
    m = sk.nn.LIF(beta=0.9)
    with torch.no_grad():
        m.beta.fill_(0.5)  # changed in place: that is the value now
    assert m.double().beta.item() == 0.5
    m = sk.nn.LIF(beta=0.9)
    m.beta = torch.tensor(0.8, dtype=torch.float64)  # replaced
    assert m.float().double().beta.item() == 0.8
    # a float64 state dict into a float32 module: float32 until .double(), then its float64 numbers
    exact = sk.nn.ALIF(beta=0.8, rho=0.95, adapt=0.3, threshold=0.7).double().state_dict()
    m = sk.nn.ALIF()
    m.load_state_dict(exact)
    assert m.rho.dtype == torch.float32 and m.rho.item() == torch.tensor(0.95).item()
    m = m.double()
    assert all(torch.equal(m.get_buffer(k), v) for k, v in exact.items())
    # an old float32 state dict still loads, into either dtype, and gives what it holds
    old = sk.nn.ALIF(beta=0.8, rho=0.95).state_dict()
    for m in (sk.nn.ALIF(), sk.nn.ALIF().double()):
        m.load_state_dict(old)
        assert m.double().rho.item() == torch.tensor(0.95).item()
    # copies keep the float64 numbers
    assert copy.deepcopy(sk.nn.LIF(beta=0.9)).double().beta.item() == 0.9
