"""spikekit.analysis: the STDP window backpropagation implies, checked against hand-derived references."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

import spikekit as sk
from spikekit import analysis as an

SURROGATES = [
    sk.surrogate.atan(),
    sk.surrogate.sigmoid(),
    sk.surrogate.fast_sigmoid(),
    sk.surrogate.triangle(),
    sk.surrogate.rectangle(),
    sk.surrogate.straight_through(),
]
IDS = [s.name for s in SURROGATES]


def dprim(surrogate, x: float) -> float:
    """``P'(x)`` by autograd on the declared primitive (independent of the surrogate's ``derivative``)."""
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(surrogate.primitive(t), t)
    return float(g)


# --- controlled mode ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["scipy", "numpy"])
@pytest.mark.parametrize("surrogate", SURROGATES, ids=IDS)
def test_lif_detached_window_is_the_decay_and_tau_matches_prediction(surrogate, method):
    # With w = 0 and a detached reset, d s[t_post] / d w = P'(v[t_post] - thr) * beta^dt for dt >= 0 and 0
    # before: an exact geometric sequence whatever the surrogate. Fitting noise-free float64 data recovers
    # tau to round-off; rtol 1e-6 leaves room for curve_fit's default tolerances (xtol = ftol = 1e-8).
    # (beta = 0.75 is exact in float32, the dtype module parameters are created in.)
    if method == "scipy":
        pytest.importorskip("scipy")
    beta, margin = 0.75, 0.1
    w = an.controlled_window(
        "LIF",
        surrogate=surrogate,
        neuron_kwargs={"beta": beta, "detach_reset": True},
        max_dt=20,
        margin=margin,
        fit_method=method,
    )
    expected = np.where(w.dt >= 0, dprim(surrogate, margin) * beta ** np.clip(w.dt, 0, None), 0.0)
    np.testing.assert_allclose(w.dw, expected, rtol=1e-10, atol=1e-14)
    assert w.predicted_tau == pytest.approx(-1 / math.log(beta), rel=1e-12)
    assert w.tau_plus == pytest.approx(w.predicted_tau, rel=1e-6)
    assert w.a_plus == pytest.approx(dprim(surrogate, margin), rel=1e-6)
    assert w.causal_fraction == 1.0
    assert w.a_minus == 0.0 and not w.depression
    assert w.post_spikes == [w.t_post]


@pytest.mark.parametrize("surrogate", SURROGATES, ids=IDS)
def test_lif_reset_path_shortens_tau_as_derived(surrogate):
    # Not detached, the subtractive reset multiplies the gradient by (1 - thr * P'(v - thr)) at every step
    # the membrane spends at rest (v = 0) before the post spike: tau = -1 / ln(beta (1 - thr P'(-thr))).
    beta, thr = 0.875, 1.0
    kwargs = {"beta": beta, "threshold": thr, "detach_reset": False}
    w = an.controlled_window("LIF", surrogate=surrogate, neuron_kwargs=kwargs)
    decay = beta * (1 - thr * dprim(surrogate, -thr))
    causal = w.dt >= 0
    expected = dprim(surrogate, 0.1) * decay ** w.dt[causal]
    np.testing.assert_allclose(w.dw[causal], expected, rtol=1e-10, atol=1e-14)
    if decay > 0:
        assert w.tau_plus == pytest.approx(-1 / math.log(decay), rel=1e-6)
    else:  # straight_through(1): the reset cancels the carried gradient; only dt = 0 is credited
        assert w.tau_plus == 0.0
    assert w.causal_fraction > 0.9


@pytest.mark.parametrize("surrogate", SURROGATES, ids=IDS)
def test_causal_fraction_of_lif_post_loss(surrogate):
    w = an.controlled_window("LIF", surrogate=surrogate, loss="post")
    assert w.causal_fraction > 0.9
    np.testing.assert_array_equal(w.dw[w.dt < 0], 0.0)  # causality: a later input cannot change s[t_post]


def test_refractory_lif_window_handles_the_one_step_delay():
    # Graded output relu(inner - thr): gradient 1 where it fired, so the window is decay^dt exactly, with
    # dt measured from the step the neuron crossed threshold (its output shows one step later).
    decay = 0.875
    for loss in ("post", "all"):
        w = an.controlled_window("RefractoryLIF", neuron_kwargs={"decay": decay}, loss=loss, max_dt=15)
        expected = np.where(w.dt >= 0, decay ** np.clip(w.dt, 0, None), 0.0)
        np.testing.assert_allclose(w.dw, expected, rtol=1e-12, atol=1e-15)
        assert w.output_delay == 1 and w.surrogate == "none (graded)"
        assert w.tau_plus == pytest.approx(-1 / math.log(decay), rel=1e-6)
        assert w.causal_fraction == 1.0
    # the post spike shows in the module's output at t_post + 1
    m = sk.nn.RefractoryLIF(decay=decay).double()
    x = torch.zeros(w.t_post + 3, 1, 1, dtype=torch.float64)
    x[w.t_post] = w.drive
    out = m(x)[:, 0, 0]
    assert out[w.t_post] == 0 and out[w.t_post + 1] > 0


def test_rate_loss_is_the_all_spike_window_scaled():
    # L = (mean o - r*)^2  =>  -dL/dw = 2 (r* - mean o) / T * d(sum o)/dw; both at w = 0 share the forward.
    kw = {"surrogate": sk.surrogate.sigmoid(), "max_dt": 10, "steps_after": 20}
    w_all = an.controlled_window("LIF", loss="all", **kw)
    w_rate = an.controlled_window("LIF", loss="rate", target_rate=0.8, **kw)
    steps = w_all.t_post + 10 + 20 + 1
    rate = 1.0 / steps  # one spike
    np.testing.assert_allclose(w_rate.dw, 2 * (0.8 - rate) / steps * w_all.dw, rtol=1e-10)


def test_weight_decay_adds_a_flat_depression():
    lam, weight = 0.05, 0.05
    w = an.controlled_window(
        "LIF",
        neuron_kwargs={"detach_reset": True},
        surrogate=sk.surrogate.triangle(),
        weight=weight,
        weight_decay=lam,
    )
    np.testing.assert_allclose(w.dw[w.dt < 0], -lam * weight, rtol=1e-12)
    assert w.a_minus == pytest.approx(lam * weight, rel=1e-6)
    assert w.tau_minus == math.inf  # a flat offset, not a timing-dependent lobe
    assert w.fit.depression and w.acausal == "offset" and not w.depression and w.remedy == "weight_decay"


def test_after_potential_gives_no_acausal_change_for_the_post_loss():
    w = an.controlled_window("LIF", after_potential_tau=20.0, loss="post")
    np.testing.assert_array_equal(w.dw[w.dt < 0], 0.0)
    assert not w.depression and w.acausal == "none" and w.remedy == "after_potential"
    # the pre neuron's own tail arrives close to the post spike for early pre spikes: they are depressed
    assert w.dw[w.dt == 20][0] < 0 < w.dw[w.dt == 0][0]


@pytest.mark.parametrize("name", sorted(an.NEURON_SPECS))
def test_every_neuron_spec_fires_at_t_post(name):
    cls, kwargs = an.NEURON_SPECS[name]
    w = an.controlled_window(cls, neuron_kwargs=kwargs(0.9), max_dt=8, steps_after=10)
    assert w.post_spikes[0] == w.t_post
    assert w.dw[w.dt >= 0].max() > 0
    assert np.isfinite(w.dw).all()


def test_instance_is_copied_not_changed():
    lif = sk.nn.LIF(beta=0.8)
    w = an.controlled_window(lif, surrogate=sk.surrogate.triangle(), max_dt=5)
    assert lif.surrogate == sk.surrogate.atan() and lif.beta.dtype == torch.float32
    assert w.surrogate == "triangle"


def test_to_dict_is_json():
    w = an.controlled_window("LIF", max_dt=5)
    d = json.loads(json.dumps(w.to_dict(), allow_nan=False))
    assert d["fit"]["tau_minus"] is None and d["dt"] == list(range(-5, 6))


# --- fitting -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["auto", "numpy"])
def test_fit_window_recovers_a_two_sided_exponential(method):
    dt = np.arange(-25, 26)
    dw = np.where(dt >= 0, 2.0 * np.exp(-dt / 5.0), -0.5 * np.exp((dt + 1) / 8.0))
    f = an.fit_window(dt, dw, method)
    assert (f.a_plus, f.tau_plus, f.peak_plus) == pytest.approx((2.0, 5.0, 0), rel=1e-6)
    assert (f.a_minus, f.tau_minus, f.peak_minus) == pytest.approx((0.5, 8.0, -1), rel=1e-6)
    assert f.depression
    np.testing.assert_allclose(f(dt), dw, rtol=1e-6)


def test_fit_window_rising_phase_and_empty_side():
    dt = np.arange(-10, 21)
    dw = np.where(dt >= 3, np.exp(-(dt - 3) / 4.0), 0.0)
    dw[dt == 1], dw[dt == 2] = 0.3, 0.6  # rises to a peak at dt = 3, as SRM's window does
    f = an.fit_window(dt, dw)
    assert f.peak_plus == 3 and f.tau_plus == pytest.approx(4.0, rel=1e-6)
    assert f.a_minus == 0.0 and math.isnan(f.tau_minus) and not f.depression


def test_causal_fraction_hand_example():
    assert an.causal_fraction([-1, 0, 1], [1.0, -2.0, 1.0]) == pytest.approx(0.75)
    assert math.isnan(an.causal_fraction([-1, 1], [0.0, 0.0]))


# --- in-network mode ---------------------------------------------------------------------------------------
def test_cosine_similarity_and_sign_agreement_hand_examples():
    a, b = torch.tensor([[1.0, 2.0, 0.0]]), np.array([[2.0, 1.0, 1.0]])
    assert an.cosine_similarity(a, b) == pytest.approx(4 / math.sqrt(30))
    assert an.cosine_similarity(a, -2 * a) == pytest.approx(-1.0)
    assert math.isnan(an.cosine_similarity(a, torch.zeros(1, 3)))
    agree, n = an.sign_agreement(np.array([1.0, -1.0, 2.0, 0.0]), np.array([3.0, 1.0, -1.0, 5.0]))
    assert (agree, n) == (pytest.approx(1 / 3), 3)


def brute_force_stdp(pre, post, decay, a_plus, a_minus):
    """Sum over every pair (pre spike of j at tp, post spike of i at tq) of the window at dt = tq - tp."""
    steps, batch, n_in = pre.shape
    n_out = post.shape[-1]
    dw = torch.zeros(n_out, n_in, dtype=torch.float64)
    for b in range(batch):
        for tq in range(steps):
            for tp in range(steps):
                dt = tq - tp
                k = a_plus * decay**dt if dt >= 0 else -a_minus * decay ** (-dt)
                dw += k * torch.outer(post[tq, b].double(), pre[tp, b].double())
    return dw


def test_pair_stdp_hand_example_and_brute_force():
    pre, post = torch.zeros(8, 1, 1), torch.zeros(8, 1, 1)
    pre[2], post[5] = 1, 1
    assert float(an.pair_stdp(pre, post, 0.5)) == pytest.approx(0.5**3)  # dt = 3
    pre[6] = 1  # and dt = -1
    assert float(an.pair_stdp(pre, post, 0.5, 1.0, 2.0)) == pytest.approx(0.5**3 - 2 * 0.5)
    g = torch.Generator().manual_seed(0)
    pre = (torch.rand(9, 2, 4, generator=g) < 0.3).double()
    post = torch.rand(9, 2, 3, generator=g) * (torch.rand(9, 2, 3, generator=g) < 0.4)  # graded
    torch.testing.assert_close(
        an.pair_stdp(pre, post, 0.7, 1.3, 0.6), brute_force_stdp(pre, post, 0.7, 1.3, 0.6)
    )


def test_pair_window_matches_brute_force():
    g = torch.Generator().manual_seed(1)
    pre = (torch.rand(7, 2, 3, generator=g) < 0.4).double()
    post = (torch.rand(7, 2, 2, generator=g) < 0.4).double()
    change = torch.randn(2, 3, generator=g, dtype=torch.float64)
    dts, window, pairs = an.pair_window(pre, post, change, 4)
    for k, dt in enumerate(dts):
        num = den = 0.0
        for b in range(2):
            for t in range(7):
                if 0 <= t - dt < 7:
                    for i in range(2):
                        for j in range(3):
                            n = float(post[t, b, i] * pre[t - dt, b, j])
                            num, den = num + n * float(change[i, j]), den + n
        assert pairs[k] == pytest.approx(den)
        assert (math.isnan(window[k]) and den == 0) or window[k] == pytest.approx(num / den)


def small_model(neuron=sk.nn.LIF):
    g = torch.Generator().manual_seed(0)
    layers = [nn.Linear(12, 8), neuron(), nn.Linear(8, 3), neuron()]
    for lin in layers[::2]:  # weights that make both layers fire
        with torch.no_grad():
            lin.weight.copy_(torch.rand(lin.weight.shape, generator=g) * 0.6 - 0.25)
            lin.bias.zero_()
    return nn.Sequential(*layers).double()


def batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(20, 4, 12, generator=g) < 0.4).double() * 1.5, torch.tensor([0, 1, 2, 1])


def test_network_window_against_autograd_and_pair_stdp():
    model = small_model()
    x, y = batch()
    before = [p.detach().clone() for p in model.parameters()]
    res = an.network_window(model, x, y, weight_decay=0.1, max_dt=6)
    assert [(lw.name, lw.linear) for lw in res.layers] == [("1", "0"), ("3", "2")]
    # the reference: autograd on the same loss, STDP on the same trains
    with sk.record(model) as rec:
        out = model(x)
    assert 0.05 < rec["1"].spikes.mean() < 0.9 and 0.05 < rec["3"].spikes.mean() < 0.9
    loss = sk.decode.ce_rate_loss(out, y)
    grads = torch.autograd.grad(loss, [model[0].weight, model[2].weight])
    pres = [x, rec["1"].spikes]
    for lw, lin, grad, pre, post in zip(
        res.layers, (model[0], model[2]), grads, pres, (rec["1"], rec["3"]), strict=True
    ):
        np.testing.assert_allclose(
            lw.bptt, (-grad - 0.1 * lin.weight).detach().numpy(), rtol=1e-10, atol=1e-14
        )
        assert lw.decay == pytest.approx(0.9)  # LIF's beta, as its float32 parameter holds it
        stdp = an.pair_stdp(pre, post.spikes, lw.decay)
        np.testing.assert_allclose(lw.stdp, stdp.numpy(), rtol=1e-12)
        assert lw.cosine == pytest.approx(an.cosine_similarity(lw.bptt, stdp))
        assert lw.cosine_causal == pytest.approx(
            an.cosine_similarity(lw.bptt, an.pair_stdp(pre, post.spikes, lw.decay, 1, 0))
        )
        has = lw.pairs > 0
        assert lw.baseline == pytest.approx(
            float((lw.window[has] * lw.pairs[has]).sum() / lw.pairs[has].sum())
        )
    assert res.loss == pytest.approx(float(loss.detach()))
    for p, q in zip(model.parameters(), before, strict=True):  # the model is untouched
        assert p.grad is None and torch.equal(p, q)
    assert "cosine" in res.markdown() and json.dumps(res.to_dict(), allow_nan=False)
    fig = sk.plot.stdp_window(res)
    np.testing.assert_allclose(
        fig.axes[0].lines[0].get_ydata(), res.layers[0].window - res.layers[0].baseline
    )


def test_network_window_aligns_refractory_delay_and_after_potential():
    model = small_model(sk.nn.RefractoryLIF)
    x, y = batch(1)
    res = an.network_window(model, x * 2, y)
    with sk.record(model) as rec:
        model(x * 2)
    lw = res.layers[0]
    assert lw.output_delay == 1
    np.testing.assert_allclose(
        lw.stdp, an.pair_stdp(x[:-1] * 2, rec["1"].spikes[1:], lw.decay).numpy(), rtol=1e-12
    )
    ap = an.network_window(small_model(), *batch(), after_potential_tau=10.0)
    assert [lw.name for lw in ap.layers] == ["1.neuron", "3.neuron"] and ap.after_potential == {
        "tau": 10.0,
        "scale": 1.0,
    }


def test_stdp_window_dispatches_both_modes():
    assert isinstance(an.stdp_window("LIF", max_dt=3), an.STDPWindow)
    assert isinstance(an.stdp_window(small_model(), batch=batch(), max_dt=3), an.NetworkWindow)


# --- after-potential ---------------------------------------------------------------------------------------
def test_after_potential_output_and_integral():
    tau, scale = 5.0, 1.0
    ap = an.AfterPotential(sk.nn.LIF(beta=0.9), tau=tau, scale=scale).double()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(30, 2, 4, generator=g, dtype=torch.float64)
    s = ap.neuron(x)
    rho, h, ref = math.exp(-1 / tau), torch.zeros_like(s[0]), []
    for t in range(30):
        ref.append(s[t] - scale * h)
        h = rho * h + (1 - rho) * s[t]
    torch.testing.assert_close(ap(x), torch.stack(ref))
    a, st = ap.run(x[:12])
    b, _ = ap.run(x[12:], st)
    torch.testing.assert_close(torch.cat([a, b]), ap(x))
    # one spike at t0: the output sums to rho^(T - 1 - t0), i.e. the tail cancels it as T grows
    spike = torch.zeros(60, 1, 1, dtype=torch.float64)
    spike[10] = 2.0
    one = an.AfterPotential(sk.nn.IF(threshold=1.0, reset="zero"), tau=tau).double()(spike)
    assert float(one.sum()) == pytest.approx(rho ** (60 - 1 - 10), rel=1e-9)
    assert ap.beta == pytest.approx(0.9)  # attributes of the wrapped neuron stay reachable


def test_with_after_potential_wraps_a_copy():
    model = small_model()
    wrapped = an.with_after_potential(model, tau=8.0)
    assert isinstance(wrapped[1], an.AfterPotential) and isinstance(model[1], sk.nn.LIF)
    assert wrapped(batch()[0]).shape == (20, 4, 3)


# --- the table ---------------------------------------------------------------------------------------------
def test_run_stdp_window_table_json_and_figure(tmp_path):
    table = an.run_stdp_window(
        "LIF-detach,RefractoryLIF", "triangle", "post", remedies="weight_decay", max_dt=6,
        json_path=tmp_path / "t.json",
    )  # fmt: skip
    fig = sk.plot.stdp_window_grid(table, path=tmp_path / "t.png")
    assert "LIF(detach_reset) / triangle\n+ weight_decay" in [ax.get_title() for ax in fig.axes]
    assert [(r.neuron, r.remedy) for r in table.rows] == [
        ("LIF(detach_reset)", "none"),
        ("LIF(detach_reset)", "weight_decay"),
        ("RefractoryLIF", "none"),
        ("RefractoryLIF", "weight_decay"),
    ]
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["rows"][0]["fit"]["tau_plus"] == pytest.approx(-1 / math.log(0.9), rel=1e-6)
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = table.markdown()
    assert (
        md.count("\n") == 1 + len(table.rows)
        and "| LIF(detach_reset) | triangle | post | none | 9.49 | 9.49 |" in md
    )


# --- bad input ---------------------------------------------------------------------------------------------
def test_bad_input_errors():
    with pytest.raises(ValueError, match=r"loss must be one of 'post', 'all', 'rate'; got 'spikes'"):
        an.controlled_window("LIF", loss="spikes")
    with pytest.raises(ValueError, match="max_dt must be an int >= 1, got 0"):
        an.controlled_window("LIF", max_dt=0)
    with pytest.raises(ValueError, match="neuron must be one of .*got 'NoSuchNeuron'"):
        an.controlled_window("NoSuchNeuron")
    with pytest.raises(TypeError, match="spikekit.nn.Neuron subclass"):
        an.controlled_window(nn.Linear)
    with pytest.raises(TypeError, match="spikekit neuron module"):
        an.controlled_window(nn.Linear(1, 1))
    with pytest.raises(ValueError, match="one feature per step"):
        an.controlled_window(sk.nn.LIF(shape=3), max_dt=3)
    with pytest.raises(ValueError, match="weight_decay has no effect at weight=0"):
        an.controlled_window("LIF", weight_decay=0.1)
    with pytest.raises(ValueError, match="neuron_kwargs is only used"):
        an.controlled_window(sk.nn.LIF(), neuron_kwargs={"beta": 0.5})
    with pytest.raises(
        ValueError, match=r"dt and dw must be 1-D arrays of the same length, got shapes \(3,\) and \(2,\)"
    ):
        an.fit_window([0, 1, 2], [1.0, 0.5])
    with pytest.raises(ValueError, match="same number of entries"):
        an.cosine_similarity(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match=r"spike trains \[T, B, N\]"):
        an.pair_stdp(torch.ones(5, 3), torch.ones(5, 1, 3), 0.9)
    with pytest.raises(ValueError, match="decay must lie in"):
        an.pair_stdp(torch.ones(5, 1, 3), torch.ones(5, 1, 3), 1.5)
    with pytest.raises(ValueError, match="weight_change must be a tensor"):
        an.pair_window(torch.ones(5, 1, 3), torch.ones(5, 1, 2), torch.ones(3, 2), 2)
    with pytest.raises(ValueError, match="no nn.Linear followed by a spikekit neuron"):
        an.network_window(nn.Sequential(sk.nn.LIF()), torch.ones(3, 1, 2), torch.tensor([0]))
    with pytest.raises(ValueError, match="pairs: 'x' is not a spikekit neuron layer"):
        an.network_window(small_model(), *batch(), pairs={"x": "0"})
    with pytest.raises(TypeError, match="without a batch"):
        an.stdp_window(small_model())
    with pytest.raises(ValueError, match="tau must be > 0"):
        an.AfterPotential(sk.nn.LIF(), tau=0.0)
    with pytest.raises(TypeError, match="neuron must be a spikekit.nn.Neuron"):
        an.AfterPotential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="neurons entry must be one of"):
        an.run_stdp_window("Foo")


def test_network_window_skips_a_layer_fed_by_a_static_input_and_says_why():
    from spikekit.models import SpikingMLP

    torch.manual_seed(0)
    model = SpikingMLP(16, (12,), 3, steps=6, encoder="direct").double()
    x, y = torch.rand(5, 16, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1])
    res = an.network_window(model, x, y)
    assert [lw.label for lw in res.layers] == ["out -> out_lif"]
    assert list(res.skipped) == ["first -> hidden.0"]
    assert "not a spike train" in res.skipped["first -> hidden.0"]
    assert "first -> hidden.0" in res.markdown() and res.to_dict()["skipped"] == res.skipped
    with pytest.raises(ValueError, match="do not line up"):  # named explicitly, it is still an error
        an.network_window(model, x, y, pairs={"hidden.0": "first"})


def test_table_depression_column_and_conclusion_follow_the_rows():
    """The README's finding: no setting gives a depression lobe; wide surrogates with losses on several
    spikes give acausal potentiation, weight decay a flat offset, the after-potential a drift."""
    table = an.run_stdp_window(
        "LIF", "atan", "post,all", remedies="weight_decay,after_potential", max_dt=12, steps_after=20
    )
    kinds = {(r.loss, r.remedy): r.acausal for r in table.rows}
    assert kinds[("post", "none")] == "none" and kinds[("all", "none")] == "potentiation"
    assert kinds[("post", "weight_decay")] == "offset"
    assert not any(r.depression for r in table.rows)
    assert "| depression lobe |" in table.markdown() and "| yes |" not in table.markdown()
    text = table.conclusion()
    assert text.startswith(f"No setting of the {len(table.rows)} produces a depression lobe.")
    assert "acausal potentiation (A- < 0)" in text and "flat negative offset" in text
    # a genuine lobe (negative, largest next to dt = 0, decaying away) is counted as one
    dt = np.arange(-12, 13)
    dw = np.where(dt >= 0, np.exp(-dt / 5.0), -0.5 * np.exp(dt / 4.0))
    lobe = an.STDPWindow(dt, dw, an.fit_window(dt, dw), 0.7, 5.0, "toy", "-", "all", 0, 0, 1.0, [0])
    assert lobe.acausal == "lobe" and lobe.depression
    assert an.STDPTable([lobe]).conclusion().startswith("1 of 1 settings produce a depression lobe")
