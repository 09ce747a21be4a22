"""Characteristic behaviour of Izhikevich, AdEx and Alpha (the generic suite covers the rest through
``tests/neuron_registry.py``)."""

from __future__ import annotations

import math

import pytest
import torch

import spikekit as sk
from spikekit import functional as F

D = torch.float64


def spike_times(module, current: float, steps: int, batch: int = 1) -> torch.Tensor:
    """Spike times (ms) of one neuron driven by a constant ``current`` from its starting state."""
    out = module.double()(torch.full((steps, batch, 1), current, dtype=D))
    return torch.nonzero(out[:, 0, 0]).flatten().to(D) * module.dt


# --- Izhikevich ----------------------------------------------------------------------------------------
def izh_isis(preset: str, current: float = 10.0, ms: float = 1000.0) -> torch.Tensor:
    m = sk.nn.Izhikevich(preset)
    times = spike_times(m, current, int(ms / m.dt))
    assert len(times) >= 3, f"{preset}: only {len(times)} spikes"
    return torch.diff(times)


def test_izhikevich_presets_are_the_papers():
    assert sk.nn.Izhikevich.PRESETS == {
        "RS": (0.02, 0.2, -65.0, 8.0),
        "IB": (0.02, 0.2, -55.0, 4.0),
        "CH": (0.02, 0.2, -50.0, 2.0),
        "FS": (0.1, 0.2, -65.0, 2.0),
        "LTS": (0.02, 0.25, -65.0, 2.0),
    }
    m = sk.nn.Izhikevich("FS", d=3.0)
    assert (float(m.a), float(m.b), float(m.c), float(m.d)) == pytest.approx((0.1, 0.2, -65.0, 3.0))
    with pytest.raises(ValueError, match=r"preset must be one of 'RS', 'IB', 'CH', 'FS', 'LTS'; got 'XX'"):
        sk.nn.Izhikevich("XX")
    with pytest.raises(ValueError, match=r"Izhikevich: the reset c must lie below v_peak"):
        sk.nn.Izhikevich(c=30.0)
    with pytest.raises(ValueError, match=r"Izhikevich: dt must be a float > 0"):
        sk.nn.Izhikevich(dt=0.0)
    with pytest.raises(ValueError, match=r"Izhikevich: a must lie in \[0, inf\)"):
        F.IzhikevichParams(a=-0.1)


def test_izhikevich_starts_as_izhikevichs_code_and_stays_silent_without_input():
    m = sk.nn.Izhikevich("RS").double()
    state = m.init_state(torch.zeros(2, 3, dtype=D))
    assert torch.equal(state.v, torch.full((2, 3), -65.0, dtype=D))
    torch.testing.assert_close(state.u, torch.full((2, 3), -13.0, dtype=D))
    out, state = m.run(torch.zeros(2000, 1, 1, dtype=D))
    assert out.sum() == 0
    torch.testing.assert_close(state.v, torch.full((1, 1), -70.0, dtype=D))  # the resting point for b = 0.2


def test_izhikevich_regular_spiking_fires_tonically_with_adapting_intervals():
    isi = izh_isis("RS")
    assert 15 <= len(isi) + 1 <= 40  # tonic, tens of Hz at I = 10
    assert isi[0] < 0.7 * isi[-1], (
        f"first interval {isi[0]} ms should be much shorter than the last {isi[-1]}"
    )
    assert torch.all(torch.diff(isi) >= -1.0), f"intervals should lengthen, not shorten: {isi.tolist()}"
    late = isi[len(isi) // 2 :]
    assert late.std() / late.mean() < 0.05, "after adapting, the firing is regular"


def test_izhikevich_fast_spiking_fires_much_faster_than_regular_spiking():
    rs, fs = izh_isis("RS"), izh_isis("FS")
    assert len(fs) > 3 * len(rs)
    assert fs[len(fs) // 2 :].mean() < 15.0 < 40.0 < rs[len(rs) // 2 :].mean()
    assert fs[0] > 0.5 * fs[-1], "fast spiking adapts little"


def test_izhikevich_chattering_fires_in_bursts():
    isi = izh_isis("CH")
    short, long = isi[isi < 8.0], isi[isi > 30.0]
    assert len(short) + len(long) == len(isi), f"intervals should be bimodal: {isi.tolist()}"
    assert len(long) >= 10, "repeated bursts"
    assert len(short) >= 2 * len(long), "at least three spikes per burst"
    # regular spiking under the same current has no short intervals after its first
    assert bool((izh_isis("RS")[1:] > 30.0).all())


def test_izhikevich_intrinsically_bursting_bursts_then_spikes_tonically():
    isi = izh_isis("IB")
    assert isi[0] < 8.0 and bool((isi[2:] > 20.0).all()), isi.tolist()


def test_izhikevich_per_neuron_presets_equal_separate_neurons():
    names = list(sk.nn.Izhikevich.PRESETS)
    a, b, c, d = (torch.tensor(v, dtype=D) for v in zip(*sk.nn.Izhikevich.PRESETS.values(), strict=True))
    mixed = sk.nn.Izhikevich(a=a, b=b, c=c, d=d, shape=len(names)).double()
    out = mixed(torch.full((600, 1, len(names)), 10.0, dtype=D))
    for i, name in enumerate(names):
        alone = sk.nn.Izhikevich(name).double()(torch.full((600, 1, 1), 10.0, dtype=D))
        assert torch.equal(out[:, :, i : i + 1], alone), name


# --- AdEx ----------------------------------------------------------------------------------------------
def test_adex_defaults_are_brette_and_gerstners():
    p = sk.nn.AdEx().params()
    got = [float(getattr(p, k)) for k in ("C", "g_L", "E_L", "V_T", "delta_T", "tau_w", "a", "b", "V_r")]
    assert got == pytest.approx([0.281, 0.030, -70.6, -50.4, 2.0, 144.0, 0.004, 0.0805, -70.6])
    assert float(p.V_peak) == pytest.approx(float(p.V_T) + 5 * float(p.delta_T))
    with pytest.raises(ValueError, match=r"AdEx: the reset V_r must lie below the cut-off V_peak"):
        sk.nn.AdEx(V_r=-40.0)
    with pytest.raises(ValueError, match=r"AdEx: C must lie in \(0, inf\)"):
        sk.nn.AdEx(C=0.0)


def test_adex_step_current_gives_tonic_spiking_with_adaptation():
    m = sk.nn.AdEx()  # the paper's cell, dt = 0.1 ms
    assert len(spike_times(m, 0.5, 5000)) == 0, "below the rheobase (~0.6 nA): silent"
    times = spike_times(m, 1.0, 5000)  # 1 nA for 500 ms
    isi = torch.diff(times)
    assert 10 <= len(times) <= 40
    assert times[-1] > 450.0, "keeps firing to the end: tonic"
    assert torch.all(torch.diff(isi) >= -0.2), f"intervals lengthen: {isi.tolist()}"
    assert isi[0] < 0.5 * isi[-1], "spike-frequency adaptation"
    assert abs(isi[-1] - isi[-2]) / isi[-1] < 0.02, "and settles to a steady rate"
    _, state = m.run(torch.full((5000, 1, 1), 1.0, dtype=D))
    assert float(state.w) > 0.2, "the adaptation current built up"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("current", [1e3, 1e12, 1e30])
def test_adex_stays_finite_for_huge_inputs(dtype, current):
    m = sk.nn.AdEx().to(dtype)
    x = torch.full((300, 2, 3), current, dtype=dtype)
    x[:, 1] = -current
    x.requires_grad_(True)
    out, v, state = m.trace(x)
    (out.sum() + v.sum() * 1e-40).backward()
    assert out[:, 0].sum() > 0 and out[:, 1].sum() == 0
    for t in (v, state.V, state.w, x.grad):
        assert torch.isfinite(t).all()


def test_adex_exponential_is_capped_at_the_cut_off():
    p = sk.nn.AdEx().double().params()
    far = F.AdExState(torch.full((1, 1), 1e4, dtype=D), torch.zeros(1, 1, dtype=D))
    at = F.AdExState(torch.full((1, 1), float(p.V_peak), dtype=D), torch.zeros(1, 1, dtype=D))
    x = torch.zeros(1, 1, dtype=D)
    _, v_far, _ = F.adex_step(x, far, p)
    _, v_at, _ = F.adex_step(x, at, p)
    growth = p.dt / p.C * p.g_L * p.delta_T * math.exp((p.V_peak - p.V_T) / p.delta_T)
    leak_far = p.dt / p.C * -p.g_L * (1e4 - p.E_L)
    torch.testing.assert_close(v_far, torch.full((1, 1), 1e4 + growth + leak_far, dtype=D))
    assert torch.isfinite(v_at).all() and float(v_at) > float(p.V_peak)


# --- Alpha ---------------------------------------------------------------------------------------------
def test_alpha_psp_of_one_input_peaks_after_the_input():
    alpha, beta, t0 = 0.9, 0.8, 5
    m = sk.nn.Alpha(alpha, beta, threshold=1e9).double()
    x = torch.zeros(60, 1, 1, dtype=D)
    x[t0] = 1.0
    out, v, _ = m.trace(x)
    v = v[:, 0, 0]
    assert out.sum() == 0
    assert bool((v[: t0 + 1] == 0).all()), "nothing before the input, and nothing at its own step"
    peak = int(v.argmax())
    k = torch.arange(60 - t0, dtype=D)
    tau = math.log(alpha) / (math.log(beta) - math.log(alpha)) + 1
    torch.testing.assert_close(v[t0:], tau * (alpha**k - beta**k))  # the alpha-shaped response
    k_star = math.log(math.log(beta) / math.log(alpha)) / math.log(alpha / beta)  # d/dk (a^k - b^k) = 0
    assert peak > t0 and abs(peak - t0 - k_star) < 1
    assert v[-1] < 0.2 * v[peak], "and decays"


def test_alpha_needs_alpha_above_beta():
    with pytest.raises(
        ValueError, match=r"Alpha: alpha must be greater than beta.*got alpha 0\.8 and beta 0\.8"
    ):
        sk.nn.Alpha(0.8, 0.8)
    with pytest.raises(ValueError, match=r"Alpha: alpha must be greater than beta"):
        sk.nn.Alpha(torch.tensor([0.9, 0.5]), 0.6, shape=2)
    with pytest.raises(ValueError, match=r"Alpha: reset must be one of"):
        sk.nn.Alpha(reset="soft")


def test_alpha_resets_in_the_step_after_a_spike():
    """As snnTorch's: a spike at step t zeroes the state in step t + 1 (reset="zero"), its input included."""
    m = sk.nn.Alpha(0.9, 0.8, threshold=0.5).double()
    x = torch.zeros(20, 1, 1, dtype=D)
    x[0] = 5.0  # v[1] = tau (alpha - beta) 5 = 0.95: a spike at step 1
    x[2] = 3.0  # arrives in the step after the spike: discarded with the reset
    out, v, state = m.trace(x)
    assert torch.nonzero(out[:, 0, 0]).flatten().tolist() == [1]
    assert bool((v[2:] == 0).all()) and float(state.exc.abs().max()) == 0.0
