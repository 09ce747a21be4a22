"""Tests of spikekit.models.diehl_cook: the step against a float64 reference from the equations, the fast
paths against the plain ones, retries, labels, bad input, and a small end-to-end run."""

from __future__ import annotations

import json
import math

import pytest
import torch

from spikekit.cli.stdp import run_stdp, summary
from spikekit.learning import Connection
from spikekit.models.diehl_cook import (
    DiehlCook,
    DiehlCookParams,
    DiehlCookState,
    diehl_cook_init,
    diehl_cook_step,
)
from spikekit.plot import learning as plots

D = torch.float64


def model(n_input: int = 64, n: int = 8, seed: int = 0, **params) -> DiehlCook:
    return DiehlCook(
        n_input,
        n,
        num_classes=2,
        params=DiehlCookParams(**params),
        generator=torch.Generator().manual_seed(seed),
    )


def reference_step(i_exc, state, p: DiehlCookParams):
    """One step per neuron in plain Python, straight from the module docstring."""
    v, ge, gi, refr, theta, s_prev = (x.tolist() for x in state)
    batch, n = len(v), len(v[0])
    out = [[0.0] * n for _ in range(batch)]
    for b in range(batch):
        total_prev = sum(s_prev[b])
        scores = []
        for j in range(n):
            ge[b][j] = ge[b][j] * math.exp(-p.dt / p.tau_ge) + float(i_exc[b, j])
            gi[b][j] = gi[b][j] * math.exp(-p.dt / p.tau_gi) + p.w_inh * (total_prev - s_prev[b][j])
            dv = (p.v_rest - v[b][j]) + ge[b][j] * (p.e_exc - v[b][j]) + gi[b][j] * (p.e_inh - v[b][j])
            if refr[b][j] <= 0:
                v[b][j] = min(max(v[b][j] + p.dt / p.tau_m * dv, p.e_inh), p.e_exc)
            over = v[b][j] - (p.v_thresh + theta[b][j])
            scores.append(over if (over > 0 and refr[b][j] <= 0) else None)
        fired = [j for j, sc in enumerate(scores) if sc is not None]
        if fired and p.one_spike_per_step:
            fired = [max(fired, key=lambda j: (scores[j], -j))]
        for j in range(n):
            if j in fired:
                out[b][j] = 1.0
                v[b][j] = p.v_reset
                refr[b][j] = p.refractory_steps
                theta[b][j] += p.theta_plus
            else:
                refr[b][j] -= 1
    return out, v, theta, ge, gi, refr


@pytest.mark.parametrize("one_spike", [True, False])
def test_step_matches_plain_reference(one_spike):
    p = DiehlCookParams(one_spike_per_step=one_spike)
    g = torch.Generator().manual_seed(0)
    state = DiehlCookState(
        v=torch.tensor([[-45.0, -44.0, -60.0, -52.2], [-65.0, -40.0, -52.1, -90.0]], dtype=D),
        ge=torch.rand(2, 4, generator=g, dtype=D),
        gi=torch.rand(2, 4, generator=g, dtype=D),
        refractory=torch.tensor([[0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 1.0]], dtype=D),
        theta=torch.tensor([[0.0, 0.5, 0.0, 0.1], [1.0, 0.0, 0.0, 0.0]], dtype=D),
        spikes=torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]], dtype=D),
    )
    i_exc = torch.tensor([[2.0, 3.0, 0.0, 0.5], [0.0, 4.0, 2.0, 0.0]], dtype=D)
    s, _, new = diehl_cook_step(i_exc, state, p)
    out, v, theta, ge, gi, refr = reference_step(i_exc, state, p)
    assert s.tolist() == out
    assert s[0].sum().item() == (1 if one_spike else 2)  # two neurons of sample 0 cross the threshold
    for got, want in ((new.v, v), (new.theta, theta), (new.ge, ge), (new.gi, gi), (new.refractory, refr)):
        torch.testing.assert_close(got, torch.tensor(want, dtype=D), rtol=0, atol=1e-12)


def test_fused_loop_equals_the_loop_of_the_step():
    m = model(30, 12).double()
    g = torch.Generator().manual_seed(1)
    currents = torch.rand(200, 5, 12, generator=g, dtype=D) * 1.5
    m.theta.copy_(torch.rand(12, generator=g, dtype=D) * 3)
    for one in (True, False):
        m.params = DiehlCookParams(one_spike_per_step=one)
        s1, th1 = m.run_layer(currents, fused=True)
        s2, th2 = m.run_layer(currents, fused=False)
        assert torch.equal(s1, s2) and s1.sum() > 20
        torch.testing.assert_close(th1, th2)
        if one:
            assert s1.sum(2).max() == 1


def test_active_pixel_encoding_and_currents_equal_the_dense_ones():
    m = model(64, 6).double()
    g = torch.Generator().manual_seed(2)
    x = (torch.rand(7, 64, generator=g, dtype=D) - 0.5).clamp_min(0)
    s_in, index = m.encode_active(x, 200.0, g)
    assert s_in.shape[:2] == (m.params.steps, 7) and bool((x.gather(1, index)[s_in.sum(0) > 0] > 0).all())
    dense = torch.zeros(s_in.shape[0], 7, 64, dtype=D).scatter_(2, index.expand(s_in.shape[0], -1, -1), s_in)
    torch.testing.assert_close(m.currents(s_in, index), m.currents(dense))


def test_poisson_rate_statistics():
    m = model(4, 2)
    x = torch.tensor([[0.0, 0.25, 0.5, 1.0]]).expand(400, 4)
    s = m.encode(x, 63.75, torch.Generator().manual_seed(3))  # p = 0.06375 * x per 1 ms step
    rate = s.mean((0, 1))
    p = torch.tensor([0.0, 0.25, 0.5, 1.0]) * 0.06375
    sigma = (p * (1 - p) / (s.shape[0] * 400)).sqrt()
    assert rate[0] == 0 and bool(((rate - p).abs() <= 4 * sigma + 1e-9).all())


def test_fast_stdp_equals_the_generic_triplet_rule():
    m = model(64, 10).double()
    g = torch.Generator().manual_seed(4)
    x = torch.rand(6, 64, generator=g, dtype=D) * (torch.rand(6, 64, generator=g, dtype=D) > 0.5)
    s_in, index = m.encode_active(x, 400.0, g)
    m.theta.fill_(-8.0)  # make the layer fire often
    out, _ = m.run_layer(m.currents(s_in, index))
    assert out.sum() > 30
    dense = torch.zeros(s_in.shape[0], 6, 64, dtype=D).scatter_(2, index.expand(s_in.shape[0], -1, -1), s_in)
    zeros = lambda n: torch.zeros(6, n, dtype=D)  # noqa: E731
    state = m.rule.State(zeros(64), zeros(64), zeros(10), zeros(10))
    want, _ = m.rule.delta_sequence(Connection(m.input), dense, out, state)
    torch.testing.assert_close(m.stdp_active(s_in, index, out), want, rtol=1e-10, atol=1e-14)


def test_online_learning_is_a_loop_of_the_step_and_the_rule():
    m1, m2 = model(16, 4, time=40.0), model(16, 4, time=40.0)
    m1.theta.fill_(-8.0)
    m2.theta.fill_(-8.0)
    x = torch.rand(1, 16, generator=torch.Generator().manual_seed(5))
    m1.attempt(
        x, torch.tensor([300.0]), learn=True, mode="online", generator=torch.Generator().manual_seed(6)
    )
    # by hand: normalise, encode with the same generator, step + STDP every step
    from spikekit.learning import normalize_weights

    normalize_weights(m2.input, m2.norm)
    spikes = m2.encode(x, torch.tensor([300.0]), torch.Generator().manual_seed(6))
    syn = m2._plastic()
    state, rule_state, total = diehl_cook_init(m2.theta, 1, m2.params), None, torch.zeros(4)
    for x_t in spikes:
        s, _, state = diehl_cook_step(x_t @ m2.input.weight.detach().t(), state, m2.params)
        rule_state = syn.step(x_t, s, rule_state)
        total += s[0]
    assert total.sum() > 0
    torch.testing.assert_close(m1.input.weight, m2.input.weight)
    want = -8.0 * m1._theta_decay(1) + m2.params.theta_plus * total
    torch.testing.assert_close(m1.theta, want, rtol=0, atol=1e-5)


def test_batch_learning_sums_threshold_increments_and_applies_summed_stdp():
    m = model(64, 8, time=60.0)
    x = torch.rand(5, 64, generator=torch.Generator().manual_seed(7))
    w0 = m.input.weight.detach().clone()
    m.theta.fill_(1.0)
    counts = m.attempt(x, torch.full((5,), 300.0), learn=True, generator=torch.Generator().manual_seed(8))
    assert counts.sum() > 5
    want = 1.0 * m._theta_decay(5) + m.params.theta_plus * counts.sum(0)  # decayed, plus every copy's spikes
    torch.testing.assert_close(m.theta, want, rtol=0, atol=1e-5)
    assert not torch.equal(m.input.weight, w0)
    assert float(m.input.weight.min()) >= 0 and float(m.input.weight.max()) <= m.params.w_max


def test_retries_raise_the_rate_until_enough_spikes():
    m = model(16, 3, time=20.0, max_retries=3)
    m.theta.fill_(500.0)  # nobody can fire
    rates = []
    original = m.attempt

    def spy(x, r, **kw):
        rates.append(r.tolist())
        return original(x, r, **kw)

    m.attempt = spy
    counts = m(torch.rand(2, 16))
    assert counts.sum() == 0
    p = m.params
    assert rates == [[p.rate + k * p.rate_step] * 2 for k in range(4)]
    # the queue used by responses() gives every image the same treatment
    rates.clear()
    m.responses(torch.rand(3, 16), batch_size=2)
    assert sorted(r for batch in rates for r in batch) == sorted(
        [p.rate + k * p.rate_step for k in range(4)] * 3
    )


def test_learns_two_patterns_and_votes():
    g = torch.Generator().manual_seed(9)
    left = torch.zeros(8, 8)
    left[:, :4] = 1.0
    y = torch.arange(24) % 2
    noise = 0.6 + 0.4 * torch.rand(24, 8, 8, generator=g)
    x = torch.stack([left if c == 0 else left.flip(1) for c in y.tolist()]) * noise
    m = model(64, 4, time=80.0, max_retries=2)
    for i in range(0, 24, 4):
        m.learn(x[i : i + 4], generator=g)
    counts = m(x, generator=g)
    labels = m.assign_labels(counts, y)
    assert set(labels[labels >= 0].tolist()) == {0, 1}
    assert bool((m.predict(counts) == y).all())


def test_state_dict_round_trip():
    m = model(16, 3, time=40.0, max_retries=1)
    m.learn(torch.rand(4, 16), generator=torch.Generator().manual_seed(0))
    m.labels.copy_(torch.tensor([0, 1, 1]))
    m2 = model(16, 3, seed=1, time=40.0, max_retries=1)
    m2.load_state_dict(m.state_dict())
    x = torch.rand(3, 16)
    torch.testing.assert_close(
        m(x, generator=torch.Generator().manual_seed(2)), m2(x, generator=torch.Generator().manual_seed(2))
    )
    assert m2.labels.tolist() == [0, 1, 1]


def test_bad_input():
    m = model(16, 3)
    with pytest.raises(
        ValueError, match=r"images must hold intensities in \[0, 1\], got values in \[0, 255\]"
    ):
        m(torch.tensor([[0.0] * 15 + [255.0]]))
    with pytest.raises(
        ValueError, match=r"images must be a batch \[B, ...\] of 16 values each, got shape \(2, 15\)"
    ):
        m(torch.rand(2, 15))
    with pytest.raises(RuntimeError, match="no neuron has a label yet; call assign_labels"):
        m.predict(torch.rand(2, 3))
    with pytest.raises(ValueError, match="assign_labels: targets is None"):
        m.assign_labels(torch.rand(2, 3), None)
    with pytest.raises(ValueError, match="DiehlCookParams: tau_m must be > 0, got 0.0"):
        DiehlCookParams(tau_m=0.0)
    with pytest.raises(ValueError, match="DiehlCookParams: tau_theta must be a time constant > 0"):
        DiehlCookParams(tau_theta=-1.0)
    with pytest.raises(ValueError, match="v_reset must be below v_thresh"):
        DiehlCookParams(v_reset=-50.0)
    with pytest.raises(ValueError, match=r"norm = 20 cannot be reached with 16 inputs of at most w_max = 1"):
        DiehlCook(16, 2, params=DiehlCookParams(norm=20.0))
    with pytest.raises(ValueError, match="mode must be one of 'batch', 'online'"):
        m.learn(torch.rand(1, 16), mode="sequential")
    with pytest.raises(TypeError, match="params must be a DiehlCookParams"):
        DiehlCook(16, 2, params={"dt": 1.0})


def test_run_stdp_end_to_end_on_the_embedded_digits(tmp_path):
    pytest.importorskip("sklearn")
    kw = dict(
        neurons=10,
        dataset="digits",
        epochs=1,
        batch=20,
        seed=0,
        out_dir=tmp_path / "run",
        limit_train=80,
        limit_test=40,
        time_ms=60.0,
        checkpoint_every=40,
        progress=False,
    )
    result = run_stdp(**kw, json_path=tmp_path / "r.json")
    on_disk = json.loads((tmp_path / "r.json").read_text())
    assert on_disk["accuracy"] == result["accuracy"] and 0.0 <= result["accuracy"] <= 1.0
    assert result["n_train"] == 80 and result["n_test"] == 40 and result["neurons"] == 10
    for key in ("receptive_fields", "labels", "thresholds", "weights", "checkpoint"):
        assert (tmp_path / "run" / result["files"][key].split("/")[-1]).exists(), key
    again = run_stdp(**kw, resume=True, plots=False)  # the checkpoint is complete: nothing left to train
    assert again["resumed_from"] == 80 and again["accuracy"] == result["accuracy"]
    table = summary(result)
    assert "accuracy (vote)" in table and f"{100 * result['accuracy']:.2f} %" in table
    with pytest.raises(ValueError, match="resume=True needs out_dir"):
        run_stdp(10, "digits", resume=True)


def test_plots_return_figures_and_save_png(tmp_path):
    from matplotlib.figure import Figure

    w = torch.rand(12, 64)
    labels = torch.tensor([0, 1, 2, -1] * 3)
    history = [
        {"images": n, "theta": torch.rand(12) * n, "weight_hist": torch.rand(50) * 10} for n in (10, 20)
    ]
    figs = [
        plots.receptive_fields(w, (8, 8), labels=labels, path=tmp_path / "rf.png"),
        plots.neuron_labels(labels, 3, path=tmp_path / "labels.png"),
        plots.threshold_histograms(history, path=tmp_path / "theta.png"),
        plots.weight_histograms([{"images": 1, "weights": w}], path=tmp_path / "w.png"),
        plots.weight_histograms(history),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    assert {p.name for p in tmp_path.iterdir()} == {"rf.png", "labels.png", "theta.png", "w.png"}
    with pytest.raises(ValueError, match=r"weight must be \[N, H \* W\] matching image_shape \(28, 28\)"):
        plots.receptive_fields(w)
    with pytest.raises(ValueError, match="labels must have one entry per neuron"):
        plots.receptive_fields(w, (8, 8), labels=labels[:3])
    with pytest.raises(ValueError, match=r"labels must lie in \[-1, 1\]"):
        plots.neuron_labels(labels, 2)
    with pytest.raises(ValueError, match=r"path must end with one of \.png, \.svg, \.pdf"):
        plots.neuron_labels(labels, 3, path=tmp_path / "x.txt")
    with pytest.raises(ValueError, match="history must be a non-empty list"):
        plots.threshold_histograms([])


def test_absurd_sizes_are_refused_before_allocating():
    with pytest.raises(ValueError, match=r"DiehlCook\(n_input=784, n_neurons=1000000000.* more than the"):
        DiehlCook(784, 10**9)
    with pytest.raises(ValueError, match=r"presenting 1 image\(s\) for 1000000000000000 steps .* more than"):
        model(16, 4, time=1e15).learn(torch.rand(1, 16))


def test_empty_and_non_finite_images_are_refused():
    m = model(16, 4)
    with pytest.raises(ValueError, match="images must hold at least one image, got an empty batch"):
        m.learn(torch.rand(0, 16))
    with pytest.raises(ValueError, match="images must hold at least one image"):
        m.responses(torch.rand(0, 4, 4))
    x = torch.rand(2, 16)
    x[1, 3] = math.nan
    with pytest.raises(ValueError, match="DiehlCook: images must be finite, got 1 NaN"):
        m(x)
    with pytest.raises(ValueError, match="DiehlCook: rate must be finite"):
        m.encode(torch.rand(2, 16), math.nan)


@pytest.mark.parametrize("mode, batch", [("batch", 4), ("online", 1)])
def test_an_overflowing_stdp_update_raises_and_keeps_the_weights(mode, batch):
    m = model(16, 6, time=50.0, rate=255.0, max_retries=0, norm=12.0, nu_post=1e300)
    before = m.input.weight.clone()
    g = torch.Generator().manual_seed(1)
    with pytest.raises(ValueError, match="TripletSTDP.*would write .* NaN or infinite value"):
        m.learn(torch.rand(batch, 16, generator=g), mode=mode, generator=g)
    assert torch.isfinite(m.input.weight).all()
    if mode == "batch":
        torch.testing.assert_close(m.input.weight.sum(1), before.sum(1))  # only the normalisation ran
