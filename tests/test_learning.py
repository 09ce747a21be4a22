"""Tests of spikekit.learning: each rule against a plain reference written from its equations or a
hand-computed value, the STDP window measured from spike pairs, bounds, bad input, and resume."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import spikekit.learning as L
from spikekit.cli.stdp import train_diehl_cook

D = torch.float64


def dense(n_in: int, n_out: int, value: float = 0.5) -> nn.Linear:
    layer = nn.Linear(n_in, n_out, bias=False).to(D)
    nn.init.constant_(layer.weight, value)
    layer.weight.requires_grad_(False)
    return layer


def spikes_at(times: list[int | None], steps: int) -> torch.Tensor:
    """``[T, 1, N]`` with neuron ``i`` firing once at ``times[i]`` (``None``: never)."""
    s = torch.zeros(steps, 1, len(times), dtype=D)
    for i, t in enumerate(times):
        if t is not None:
            s[t, 0, i] = 1.0
    return s


# ------------------------------------------------------------------------------- the STDP window
@pytest.mark.parametrize("pairing", ["all-to-all", "nearest"])
@pytest.mark.parametrize("online", [True, False])
def test_stdp_window_from_spike_pairs_equals_analytic_exponentials(pairing, online):
    """Pre neuron i fires at 5 + i, post neuron j at 5 + j: w_ji sees exactly one pair, dt = j - i."""
    k, a_plus, a_minus, tau_plus, tau_minus = 41, 0.01, 0.012, 16.8, 33.7
    rule = L.STDP(a_plus, a_minus, tau_plus, tau_minus, pairing=pairing, w_min=-1.0, w_max=2.0)
    layer = dense(k, k)
    syn = rule.attach(layer)
    times = [5 + i for i in range(k)]
    syn.run(spikes_at(times, 5 + k + 2), spikes_at(times, 5 + k + 2), online=online)
    dw = layer.weight.detach() - 0.5
    for j in range(k):
        for i in range(k):
            dt = j - i  # t_post - t_pre
            want = a_plus * math.exp(-dt / tau_plus) if dt >= 0 else -a_minus * math.exp(dt / tau_minus)
            assert abs(float(dw[j, i]) - want) < 1e-6, (dt, float(dw[j, i]), want)
    torch.testing.assert_close(dw, rule.window(torch.arange(k)[:, None] - torch.arange(k)[None, :]).to(D))


def test_triplet_rule_without_triplet_terms_has_the_pair_window():
    k = 21
    rule = L.TripletSTDP(0.01, 0.0, 0.012, 0.0, 10.0, 15.0, 50.0, 60.0, w_min=-1.0, w_max=2.0)
    layer = dense(k, k)
    times = [3 + i for i in range(k)]
    rule.attach(layer).run(spikes_at(times, k + 5), spikes_at(times, k + 5))
    dt = (torch.arange(k)[:, None] - torch.arange(k)[None, :]).to(D)
    want = torch.where(dt >= 0, 0.01 * torch.exp(-dt / 10.0), -0.012 * torch.exp(dt / 15.0))
    torch.testing.assert_close(layer.weight.detach() - 0.5, want, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------ plain references
def reference_stdp(w0, pre, post, *, a_plus, a_minus, tau_plus, tau_minus, pairing, dependence, mu, lo, hi):
    """Per synapse, per step, in plain Python (float64), straight from the module docstring."""
    steps, batch, n_in = pre.shape
    n_out = post.shape[2]
    w = [[float(w0[j, i]) for i in range(n_in)] for j in range(n_out)]
    dp, dm = math.exp(-1 / tau_plus), math.exp(-1 / tau_minus)
    xpre = [[0.0] * n_in for _ in range(batch)]
    xpost = [[0.0] * n_out for _ in range(batch)]
    for t in range(steps):
        for b in range(batch):
            for i in range(n_in):
                s = float(pre[t, b, i])
                xpre[b][i] = xpre[b][i] * dp
                xpre[b][i] = xpre[b][i] + s if pairing == "all-to-all" else (s if s > 0 else xpre[b][i])
            for j in range(n_out):
                xpost[b][j] *= dm
        new = [row[:] for row in w]
        for j in range(n_out):
            for i in range(n_in):
                fp, fm = (1.0, 1.0)
                if dependence == "multiplicative":
                    fp, fm = max(hi - w[j][i], 0.0) ** mu, max(w[j][i] - lo, 0.0) ** mu
                d = 0.0
                for b in range(batch):
                    d += a_plus * fp * float(post[t, b, j]) * xpre[b][i]
                    d -= a_minus * fm * xpost[b][j] * float(pre[t, b, i])
                new[j][i] = min(max(w[j][i] + d, lo), hi)
        w = new
        for b in range(batch):
            for j in range(n_out):
                s = float(post[t, b, j])
                xpost[b][j] = xpost[b][j] + s if pairing == "all-to-all" else (s if s > 0 else xpost[b][j])
    return torch.tensor(w, dtype=D)


@pytest.mark.parametrize("pairing", ["all-to-all", "nearest"])
@pytest.mark.parametrize("dependence", ["additive", "multiplicative"])
def test_stdp_online_matches_plain_reference(pairing, dependence):
    g = torch.Generator().manual_seed(3)
    pre = (torch.rand(30, 2, 4, generator=g) < 0.3).to(D)
    post = (torch.rand(30, 2, 3, generator=g) < 0.25).to(D)
    w0 = torch.rand(3, 4, generator=g, dtype=D) * 0.9 + 0.05
    kw = dict(a_plus=0.05, a_minus=0.06, tau_plus=5.0, tau_minus=7.0, pairing=pairing)
    layer = nn.Linear(4, 3, bias=False).to(D)
    with torch.no_grad():
        layer.weight.copy_(w0)
    rule = L.STDP(**kw, weight_dependence=dependence, mu=0.7 if dependence == "multiplicative" else 1.0)
    state = rule.attach(layer).run(pre, post)
    want = reference_stdp(
        w0,
        pre,
        post,
        **kw,
        dependence=dependence,
        mu=0.7 if dependence == "multiplicative" else 1.0,
        lo=0.0,
        hi=1.0,
    )
    torch.testing.assert_close(layer.weight.detach(), want, rtol=0, atol=1e-12)
    assert isinstance(state, L.STDPState) and state.pre.shape == (2, 4) and state.post.shape == (2, 3)


def test_stdp_hand_computed_all_to_all_versus_nearest():
    """Pre spikes at 0 and 2, one post spike at 5: all-to-all pairs both, nearest only the last."""
    d = math.exp(-1 / 20)
    pre = spikes_at([0], 6).clone()
    pre[2, 0, 0] = 1.0
    post = spikes_at([5], 6)
    for pairing, want in (("all-to-all", 0.01 * (d**5 + d**3)), ("nearest", 0.01 * d**3)):
        layer = dense(1, 1)
        L.STDP(0.01, 0.0, 20.0, 20.0, pairing=pairing).attach(layer).run(pre, post)
        assert abs(float(layer.weight) - 0.5 - want) < 1e-12


def test_stdp_chunked_steps_and_offline_agree():
    g = torch.Generator().manual_seed(0)
    pre = (torch.rand(40, 3, 6, generator=g) < 0.2).to(D)
    post = (torch.rand(40, 3, 2, generator=g) < 0.2).to(D)
    rule = L.STDP(1e-4, 1e-4, 10.0, 10.0, pairing="nearest")
    a, b, c = dense(6, 2), dense(6, 2), dense(6, 2)
    rule.attach(a).run(pre, post)  # one call
    s = rule.attach(b).run(pre[:17], post[:17])
    rule.attach(b).run(pre[17:], post[17:], s)  # two chunks, state carried
    rule.attach(c).run(pre, post, online=False)  # weight held fixed: equal up to O(dw^2)
    torch.testing.assert_close(a.weight, b.weight, rtol=0, atol=0)
    torch.testing.assert_close(a.weight, c.weight, rtol=0, atol=1e-7)


def test_stdp_hard_bounds_clip_every_step():
    layer = dense(1, 1, 0.99)
    pre, post = torch.ones(10, 1, 1, dtype=D), torch.ones(10, 1, 1, dtype=D)
    L.STDP(0.5, 0.0, w_max=1.0).attach(layer).run(pre, post)
    assert float(layer.weight) == 1.0
    layer = dense(1, 1, 0.01)
    post0 = torch.zeros(10, 1, 1, dtype=D)
    post0[0] = 1.0
    L.STDP(0.0, 0.5).attach(layer).run(pre, post0)
    assert float(layer.weight) == 0.0


def test_multiplicative_stdp_slows_near_the_bounds():
    rule = L.STDP(0.1, 0.1, weight_dependence="multiplicative")
    pre, post = spikes_at([0], 2), spikes_at([1], 2)  # one causal pair, dt = 1
    for w0 in (0.2, 0.8):
        layer = dense(1, 1, w0)
        rule.attach(layer).run(pre, post)
        assert abs(float(layer.weight) - w0 - 0.1 * (1.0 - w0) * math.exp(-1 / 20)) < 1e-12


def test_reduce_mean_divides_by_batch():
    pre, post = torch.ones(1, 4, 2, dtype=D), torch.ones(1, 4, 1, dtype=D)
    a, b = dense(2, 1), dense(2, 1)
    L.STDP(0.01, 0.0).attach(a).run(pre, post)
    L.STDP(0.01, 0.0, reduce="mean").attach(b).run(pre, post)
    torch.testing.assert_close(a.weight - 0.5, 4 * (b.weight - 0.5))
    torch.testing.assert_close(a.weight - 0.5, torch.full((1, 2), 0.04, dtype=D))


# ---------------------------------------------------------------------------- triplet, reward
def test_triplet_hand_computed():
    """Pre at 0; posts at 3 and 5 (nearest and all-to-all agree: single pre spike, two posts)."""
    a2p, a3p, a2m, a3m, tp, tm, tx, ty = 0.01, 0.02, 0.0, 0.0, 10.0, 20.0, 30.0, 40.0
    pre, post = spikes_at([0], 7), spikes_at([3], 7)
    post[5, 0, 0] = 1.0
    layer = dense(1, 1)
    L.TripletSTDP(a2p, a3p, a2m, a3m, tp, tm, tx, ty).attach(layer).run(pre, post)
    first = math.exp(-3 / tp) * a2p  # o2 before the first post is 0
    second = math.exp(-5 / tp) * (a2p + a3p * math.exp(-2 / ty))  # o2(t-) from the post at 3
    assert abs(float(layer.weight) - 0.5 - (first + second)) < 1e-12


def test_triplet_depression_uses_r2_before_the_pre_spike():
    """Post at 0; pres at 2 and 4: the second depression gets A3- * r2 from the pre at 2."""
    tm, tx = 20.0, 30.0
    pre, post = spikes_at([2], 6), spikes_at([0], 6)
    pre[4, 0, 0] = 1.0
    layer = dense(1, 1)
    L.TripletSTDP(0.0, 0.0, 0.01, 0.03, 10.0, tm, tx, 40.0).attach(layer).run(pre, post)
    want = -math.exp(-2 / tm) * 0.01 - math.exp(-4 / tm) * (0.01 + 0.03 * math.exp(-2 / tx))
    assert abs(float(layer.weight) - 0.5 - want) < 1e-12


def test_triplet_offline_equals_sum_of_online_deltas_with_fixed_weight():
    g = torch.Generator().manual_seed(1)
    pre = (torch.rand(50, 2, 5, generator=g) < 0.2).to(D)
    post = (torch.rand(50, 2, 3, generator=g) < 0.2).to(D)
    for pairing in L.PAIRINGS:
        rule = L.TripletSTDP(pairing=pairing)
        syn = rule.attach(dense(5, 3))
        total, state = torch.zeros(3, 5, dtype=D), None
        for t in range(50):
            dw, state = syn.delta(pre[t], post[t], state)
            total += dw
        fast, fstate = rule.delta_sequence(syn.conn, pre, post, rule.init_state(syn.conn, pre[0], post[0]))
        torch.testing.assert_close(fast, total, rtol=1e-12, atol=1e-15)
        for a, b in zip(fstate, state, strict=True):
            torch.testing.assert_close(a, b)


def test_reward_stdp_eligibility_decays_until_the_reward():
    tc, lr = 50.0, 0.5
    rule = L.RewardSTDP(a_plus=1.0, a_minus=0.0, tau_plus=20.0, tau_c=tc, lr=lr)
    layer = dense(1, 1)
    pre, post = spikes_at([0], 12), spikes_at([2], 12)
    reward = torch.zeros(12, dtype=D)
    reward[10] = 1.0
    syn = rule.attach(layer)
    syn.run(pre, post, reward=torch.zeros(12, dtype=D))  # no reward: no change
    assert float(layer.weight) == 0.5
    state = syn.run(pre, post, reward=reward)
    want = lr * math.exp(-2 / 20.0) * math.exp(-8 / tc)
    assert abs(float(layer.weight) - 0.5 - want) < 1e-12
    assert state.eligibility.shape == (1, 1, 1)


def test_reward_stdp_per_sample_rewards_gate_each_sample():
    rule = L.RewardSTDP(a_plus=1.0, a_minus=0.0, tau_c=100.0, lr=1.0)
    layer = dense(1, 1)
    pre = torch.ones(1, 2, 1, dtype=D)
    post = torch.ones(1, 2, 1, dtype=D)
    rule.attach(layer).step(pre[0], post[0], reward=torch.tensor([1.0, -1.0], dtype=D))
    assert float(layer.weight) == 0.5  # +1 and -1 cancel
    rule.attach(layer).step(pre[0], post[0], reward=torch.tensor([1.0, 0.0], dtype=D))
    assert abs(float(layer.weight) - 1.0) < 1e-12


# ---------------------------------------------------------------------------- Hebbian, Oja
def test_hebbian_simple_rule_hand_computed():
    layer = dense(4, 2, 0.0)
    syn = L.Hebbian(lr=0.05).attach(layer)
    syn.step(torch.tensor([[1.0, 0.0, 0.7, 0.5]], dtype=D), torch.tensor([[1.0, 0.0]], dtype=D))
    want = torch.tensor([[0.05, -0.05, 0.05, -0.05], [0.0, 0.0, 0.0, 0.0]], dtype=D)
    torch.testing.assert_close(layer.weight.detach(), want, rtol=0, atol=1e-15)


def test_hebbian_with_the_introductions_neuron_learns_the_pattern():
    """The issue's layer: state halves each step, fires past 0.6, resets to zero."""
    import spikekit as sk

    lif = sk.nn.LIF(beta=0.5, threshold=0.6, reset="zero").to(D)
    layer = dense(6, 1, 0.3)
    syn = L.Hebbian(lr=0.05, w_min=0.0, w_max=1.0).attach(layer)
    pattern = torch.tensor([[1.0, 1.0, 1.0, 0.0, 0.0, 0.0]], dtype=D)
    v = None
    for _ in range(30):
        with torch.no_grad():
            s, v = lif.step(layer(pattern), v)
        syn.step(pattern, s)
    w = layer.weight.detach()[0]
    assert bool((w[:3] > 0.9).all()) and bool((w[3:] == 0).all())


def test_oja_step_and_convergence_to_the_first_principal_component():
    layer = dense(2, 1, 0.5)
    syn = L.Oja(lr=0.1).attach(layer)
    x, y = torch.tensor([[1.0, 2.0]], dtype=D), torch.tensor([[3.0]], dtype=D)
    syn.step(x, y)
    want = 0.5 + 0.1 * 3.0 * (torch.tensor([1.0, 2.0], dtype=D) - 3.0 * 0.5)
    torch.testing.assert_close(layer.weight.detach()[0], want)
    g = torch.Generator().manual_seed(0)
    pc = torch.tensor([3.0, 4.0], dtype=D) / 5
    data = torch.randn(4000, 1, generator=g, dtype=D) * 2.0 * pc + 0.3 * torch.randn(
        4000, 2, generator=g, dtype=D
    )
    layer = dense(2, 1, 0.1)
    syn = L.Oja(lr=2e-3).attach(layer)
    for x in data.split(1):
        syn.step(x, layer(x).detach())
    w = layer.weight.detach()[0]
    assert abs(float(w.norm()) - 1.0) < 0.05
    assert abs(float(w @ pc)) > 0.99


# --------------------------------------------------------------------------------- convolution
def test_stdp_on_conv2d_equals_explicit_patch_loops():
    g = torch.Generator().manual_seed(2)
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1, bias=False).to(D)
    with torch.no_grad():
        conv.weight.uniform_(0.2, 0.8, generator=g)
    w0 = conv.weight.detach().clone()
    pre = (torch.rand(6, 2, 2, 7, 7, generator=g) < 0.3).to(D)
    post = (torch.rand(6, 2, 3, 4, 4, generator=g) < 0.3).to(D)
    rule = L.STDP(0.01, 0.012, 5.0, 6.0)
    rule.attach(conv).run(pre, post, online=False)
    # reference: traces per pixel, then every output position pairs with its 3x3 input patch
    dp, dm = math.exp(-1 / 5), math.exp(-1 / 6)
    xpre, xpost = torch.zeros_like(pre[0]), torch.zeros_like(post[0])
    padded = lambda x: nn.functional.pad(x, (1, 1, 1, 1))  # noqa: E731
    dw = torch.zeros_like(w0)
    for t in range(6):
        xpre = xpre * dp + pre[t]
        xpost = xpost * dm
        xp, sp = padded(xpre), padded(pre[t])
        for b in range(2):
            for o in range(3):
                for r in range(4):
                    for c in range(4):
                        patch_x = xp[b, :, 2 * r : 2 * r + 3, 2 * c : 2 * c + 3]
                        patch_s = sp[b, :, 2 * r : 2 * r + 3, 2 * c : 2 * c + 3]
                        dw[o] += 0.01 * post[t, b, o, r, c] * patch_x - 0.012 * xpost[b, o, r, c] * patch_s
        xpost = xpost + post[t]
    torch.testing.assert_close(conv.weight.detach(), (w0 + dw).clamp(0, 1), rtol=0, atol=1e-12)


def test_rules_drive_time_distributed_and_raw_tensors():
    import spikekit as sk

    td = sk.nn.TimeDistributed(nn.Conv2d(1, 2, 3, bias=False))
    nn.init.constant_(td.layer.weight, 0.5)
    L.STDP().attach(td).step(torch.ones(1, 1, 5, 5), torch.ones(1, 2, 3, 3))
    assert bool((td.layer.weight != 0.5).any())
    w = torch.full((2, 3), 0.5)
    L.Hebbian(lr=0.1).attach(w).step(torch.ones(1, 3), torch.ones(1, 2))
    torch.testing.assert_close(w, torch.full((2, 3), 0.6))


def test_weights_keep_requires_grad_and_no_graph_is_built():
    layer = nn.Linear(3, 2, bias=False)
    nn.init.constant_(layer.weight, 0.5)
    syn = L.STDP().attach(layer)
    syn.step(torch.ones(1, 3), torch.ones(1, 2))
    assert layer.weight.requires_grad and layer.weight.grad_fn is None and layer.weight.grad is None


# ---------------------------------------------------------------------------- homeostasis
def test_adaptive_threshold_reference():
    adapt = L.AdaptiveThreshold(theta_plus=0.5, tau_theta=10.0)
    state = adapt.init_state(torch.zeros(3, dtype=D))
    s1 = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]], dtype=D)
    state = adapt.step(s1, state)
    state = adapt.step(torch.zeros(2, 3, dtype=D), state)
    d = math.exp(-1 / 10)
    torch.testing.assert_close(state.theta, torch.tensor([1.0 * d, 0.5 * d, 0.0], dtype=D))
    torch.testing.assert_close(adapt.threshold(1.0, state), 1.0 + state.theta)
    per_sample = L.AdaptiveThreshold(theta_plus=0.5, tau_theta=math.inf, shared=False)
    st = per_sample.step(s1, per_sample.init_state(torch.zeros(2, 3, dtype=D)))
    torch.testing.assert_close(st.theta, 0.5 * s1)


def test_kwta_keeps_the_top_k_spiking_neurons_with_ties_to_the_lower_index():
    s = torch.tensor([[1.0, 1.0, 0.0, 1.0, 1.0]])
    v = torch.tensor([[0.3, 0.9, 5.0, 0.9, 0.1]])
    assert L.kwta(s, v, 1).tolist() == [[0.0, 1.0, 0.0, 0.0, 0.0]]
    assert L.kwta(s, v, 2).tolist() == [[0.0, 1.0, 0.0, 1.0, 0.0]]
    assert L.kwta(s, v, 3).tolist() == [[1.0, 1.0, 0.0, 1.0, 0.0]]
    assert L.kwta(s, v, 5).tolist() == s.tolist()
    assert L.kwta(torch.zeros(2, 4), torch.rand(2, 4), 1).sum() == 0
    maps = torch.ones(1, 3, 2, 2)
    scores = torch.arange(12.0).reshape(1, 3, 2, 2)
    out = L.kwta(maps, scores, 1, dim=1)  # one winning channel per position
    assert out.sum().item() == 4 and bool((out[0, 2] == 1).all())


def test_lateral_inhibition_fixed_and_anti_hebbian():
    inh = L.LateralInhibition(3, strength=2.0)
    s = torch.tensor([[1.0, 0.0, 1.0]])
    torch.testing.assert_close(inh(s), torch.tensor([[-2.0, -4.0, -2.0]]))
    syn = inh.plastic(L.AntiHebbian(lr=0.1, target_rate=0.5))
    syn.step(s, s)
    want = torch.tensor([[0.0, 1.975, 2.075], [1.975, 0.0, 1.975], [2.075, 1.975, 0.0]])
    torch.testing.assert_close(inh.weight.detach(), want)


def test_normalize_weights_linear_conv_and_zero_rows():
    layer = nn.Linear(4, 3, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5]]))
    L.normalize_weights(layer, 8.0)
    torch.testing.assert_close(layer.weight.sum(1), torch.tensor([8.0, 0.0, 8.0]))
    torch.testing.assert_close(layer.weight[0], torch.tensor([2.0, 2.0, 4.0, 0.0]))
    conv = nn.Conv2d(2, 3, 3)
    with torch.no_grad():
        conv.weight.uniform_(0, 1)
    L.normalize_weights(conv, 5.0)
    torch.testing.assert_close(conv.weight.sum((1, 2, 3)), torch.full((3,), 5.0))


# ---------------------------------------------------------------------------------- readouts
def test_assign_labels_and_vote_hand_computed():
    counts = torch.tensor([[5.0, 0.0, 1.0, 0.0], [4.0, 1.0, 0.0, 0.0], [0.0, 6.0, 2.0, 0.0]])
    targets = torch.tensor([0, 0, 1])
    labels = L.assign_labels(counts, targets, 2)
    assert labels.tolist() == [0, 1, 1, -1]  # neuron 2: mean 0.5 for class 0, 2 for class 1; 3 never fired
    pred = L.vote(torch.tensor([[3.0, 0.0, 0.0, 9.0], [1.0, 2.0, 2.0, 0.0]]), labels, 2)
    assert pred.tolist() == [0, 1]


def test_linear_readouts_on_spike_counts():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(200) % 2
    x = torch.randn(200, 5, generator=g) + 3.0 * y[:, None].float()
    model = L.fit_logistic(x, y)
    assert model.score(x.numpy(), y.numpy()) > 0.95
    with torch.random.fork_rng():
        torch.manual_seed(0)  # the Linear's initial weights
        readout = L.GradientReadout(5, 2).fit(x, y, epochs=40, lr=0.05, generator=g)
    assert (readout(x).argmax(1) == y).float().mean() > 0.95


# ---------------------------------------------------------------------------------- bad input
def test_weights_outside_the_rules_bounds_at_attach_time():
    layer = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[-0.2, 0.1, 0.3], [0.5, 0.2, 0.8]]))
    with pytest.raises(
        ValueError,
        match=r"STDP.attach: the layer's weights must lie in the rule's bounds "
        r"\[w_min, w_max\] = \[0, 1\], got values in \[-0.2, 0.8\]",
    ):
        L.STDP().attach(layer)
    with pytest.raises(ValueError, match=r"TripletSTDP.attach: .* = \[0, 0.5\], got values in"):
        L.TripletSTDP(w_max=0.5).attach(layer)
    with torch.no_grad():
        layer.weight.fill_(float("nan"))
    with pytest.raises(ValueError, match="NaN or infinite"):
        L.Hebbian().attach(layer)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: L.STDP(tau_plus=0.0), "STDP: tau_plus must be a time constant > 0"),
        (lambda: L.STDP(tau_minus=-5.0), "STDP: tau_minus must be a time constant > 0"),
        (lambda: L.TripletSTDP(tau_y=0), "TripletSTDP: tau_y must be a time constant > 0"),
        (lambda: L.RewardSTDP(tau_c=-1.0), "RewardSTDP: tau_c must be a time constant > 0"),
        (
            lambda: L.AdaptiveThreshold(tau_theta=0.0),
            "AdaptiveThreshold: tau_theta must be a time constant > 0",
        ),
        (lambda: L.STDP(dt=0.0), "STDP: dt must be > 0"),
        (lambda: L.STDP(a_plus=-1.0), "STDP: a_plus must be >= 0"),
        (lambda: L.STDP(w_min=1.0, w_max=1.0), "STDP: w_min must be smaller than w_max"),
        (lambda: L.STDP(pairing="first"), "STDP: pairing must be one of 'all-to-all', 'nearest'"),
        (lambda: L.STDP(weight_dependence="soft"), "weight_dependence must be one of"),
        (lambda: L.STDP(reduce="max"), "reduce must be one of 'sum', 'mean'"),
    ],
)
def test_bad_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_rules_refuse_layers_they_cannot_drive():
    with pytest.raises(TypeError, match="STDP.attach: cannot drive a Conv1d; accepted: an nn.Linear"):
        L.STDP().attach(nn.Conv1d(1, 2, 3))
    with pytest.raises(TypeError, match="cannot drive a LSTM"):
        L.Hebbian().attach(nn.LSTM(3, 4))
    with pytest.raises(TypeError, match=r"cannot drive a weight tensor of shape \(2, 3, 4\)"):
        L.Oja().attach(torch.zeros(2, 3, 4))
    conv = nn.Conv2d(2, 4, 3, groups=2)
    nn.init.constant_(conv.weight, 0.5)
    with pytest.raises(ValueError, match=r"cannot drive a grouped convolution \(groups=2\)"):
        L.STDP().attach(conv)
    conv = nn.Conv2d(1, 2, 3)
    nn.init.constant_(conv.weight, 0.0)
    with pytest.raises(TypeError, match="AntiHebbian.attach: cannot drive a convolution"):
        L.AntiHebbian().attach(conv)


def test_bad_activity_state_and_reward():
    syn = L.STDP().attach(dense(3, 2))
    with pytest.raises(
        ValueError, match=r"pre must be one time step \[B, in\] = \[B, 3\] for this dense layer"
    ):
        syn.step(torch.ones(1, 4, dtype=D), torch.ones(1, 2, dtype=D))
    with pytest.raises(ValueError, match="same batch size, got 2 and 1"):
        syn.step(torch.ones(2, 3, dtype=D), torch.ones(1, 2, dtype=D))
    state = syn.step(torch.ones(2, 3, dtype=D), torch.ones(2, 2, dtype=D))
    with pytest.raises(ValueError, match=r"state.pre has shape \(2, 3\), expected \(1, 3\)"):
        syn.step(torch.ones(1, 3, dtype=D), torch.ones(1, 2, dtype=D), state)
    with pytest.raises(TypeError, match="state must be a STDPState"):
        syn.step(torch.ones(1, 3, dtype=D), torch.ones(1, 2, dtype=D), (1, 2))
    with pytest.raises(TypeError, match="STDP takes no reward; use RewardSTDP"):
        syn.step(torch.ones(1, 3, dtype=D), torch.ones(1, 2, dtype=D), reward=1.0)
    rsyn = L.RewardSTDP().attach(dense(3, 2))
    with pytest.raises(ValueError, match=r"reward must be a scalar or one value per sample \[B\] = \(2,\)"):
        rsyn.step(torch.ones(2, 3, dtype=D), torch.ones(2, 2, dtype=D), reward=torch.ones(3))
    with pytest.raises(ValueError, match="pre and post must have the same number of steps"):
        syn.run(torch.ones(3, 1, 3, dtype=D), torch.ones(2, 1, 2, dtype=D))


def test_unlabelled_evaluation_set():
    counts = torch.rand(4, 3)
    with pytest.raises(ValueError, match="assign_labels: targets is None; assigning labels and measuring"):
        L.assign_labels(counts, None)
    with pytest.raises(
        ValueError,
        match=r"targets must be class indices >= 0, got 2 negative value\(s\) "
        r"\(unlabelled samples\?\)",
    ):
        L.assign_labels(counts, torch.tensor([0, -1, 1, -1]))
    with pytest.raises(ValueError, match="fit_logistic: targets is None"):
        L.fit_logistic(counts, None)


# ------------------------------------------------------------------------------------- resume
def tiny_model(seed: int = 0):
    from spikekit.models.diehl_cook import DiehlCook, DiehlCookParams

    params = DiehlCookParams(time=20.0, rate=255.0, max_retries=1)
    return DiehlCook(16, 6, num_classes=2, params=params, generator=torch.Generator().manual_seed(seed))


def tiny_images(n: int = 24) -> torch.Tensor:
    g = torch.Generator().manual_seed(5)
    return torch.rand(n, 1, 4, 4, generator=g)


@pytest.mark.parametrize("mode, batch", [("batch", 4), ("online", 1)])
def test_resume_ends_with_the_same_weights_as_an_uninterrupted_run(tmp_path, mode, batch):
    images = tiny_images(12 if mode == "online" else 24)
    kw = dict(epochs=2, batch_size=batch, seed=7, mode=mode, checkpoint_every=4, progress=False)
    whole = tiny_model()
    full = train_diehl_cook(whole, images, checkpoint=tmp_path / "a.pt", **kw)
    assert full["completed"] and full["images_seen"] == 2 * len(images)
    part = tiny_model()
    stopped = train_diehl_cook(part, images, checkpoint=tmp_path / "b.pt", stop_after=len(images) + 4, **kw)
    assert not stopped["completed"] and stopped["images_seen"] == len(images) + 4
    resumed = tiny_model()  # a fresh process: same construction, then resume from the file
    out = train_diehl_cook(resumed, images, checkpoint=tmp_path / "b.pt", resume=True, **kw)
    assert out["resumed_from"] == len(images) + 4 and out["images_seen"] == 2 * len(images)
    assert torch.equal(resumed.input.weight, whole.input.weight)
    assert torch.equal(resumed.theta, whole.theta)
    assert not list(tmp_path.glob(".*tmp*")), "atomic checkpoints leave no temporary files"
    with pytest.raises(ValueError, match="written by a different run"):
        train_diehl_cook(tiny_model(), images, checkpoint=tmp_path / "b.pt", resume=True, **{**kw, "seed": 8})


# docs/learning.md's examples run in tests/test_docs.py, with every other page's.


def test_reward_stdp_with_instant_eligibility_and_unit_reward_is_stdp_on_a_conv():
    g = torch.Generator().manual_seed(6)
    pre = (torch.rand(8, 2, 1, 6, 6, generator=g) < 0.3).to(D)
    post = (torch.rand(8, 2, 2, 4, 4, generator=g) < 0.3).to(D)
    convs = [nn.Conv2d(1, 2, 3, bias=False).to(D) for _ in range(2)]
    for conv in convs:
        nn.init.constant_(conv.weight, 0.5)
    L.STDP(0.01, 0.012, 5.0, 6.0).attach(convs[0]).run(pre, post)
    reward = torch.ones(8, 2, dtype=D)  # every sample rewarded at every step
    L.RewardSTDP(0.01, 0.012, 5.0, 6.0, tau_c=1e-3, lr=1.0).attach(convs[1]).run(pre, post, reward=reward)
    torch.testing.assert_close(convs[1].weight, convs[0].weight, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------------- by name
def test_rules_registry_builds_rules_by_name():
    assert L.RULES.names() == [
        "hebbian",
        "oja",
        "stdp",
        "triplet-stdp",
        "reward-stdp",
        "anti-hebbian",
        "adaptive-threshold",
        "lateral-inhibition",
        "kwta",
        "normalize-weights",
    ]
    assert L.RULES["Triplet"] is L.TripletSTDP and L.RULES["reward_modulated_stdp"] is L.RewardSTDP
    assert L.RULES["kwta"] is L.kwta
    for name in L.RULES:
        info = L.RULES.info(name)
        assert info["help"] and info["kind"] in ("rule", "homeostasis")
        assert (info["kind"] == "rule") == (
            isinstance(L.RULES[name], type) and issubclass(L.RULES[name], L.LocalRule)
        )
    rule = L.RULES["stdp"](a_plus=1e-3, a_minus=1e-3)
    assert isinstance(rule, L.STDP)
    with pytest.raises(ValueError, match="unknown learning rule 'bcm'; known: hebbian, oja, stdp"):
        L.RULES["bcm"]


def test_validate_is_public_for_the_models():
    from spikekit.learning import validate

    assert validate.positive(2, "x") == 2.0
    with pytest.raises(ValueError, match="DiehlCookParams: tau_m must be > 0"):
        from spikekit.models.diehl_cook import DiehlCookParams

        DiehlCookParams(tau_m=0.0)


# ------------------------------------------------------------------ nothing silent, nothing unsafe
NAN = float("nan")


@pytest.mark.parametrize(
    "make",
    [L.Hebbian, L.Oja, L.STDP, L.TripletSTDP, L.AntiHebbian],
    ids=lambda m: m.__name__,
)
def test_bad_activity_is_refused_before_the_weight_changes(make):
    syn = make().attach(dense(3, 2))
    before = syn.weight.clone()
    pre, post = torch.ones(2, 3, dtype=D), torch.ones(2, 2, dtype=D)
    bad_pre = pre.clone()
    bad_pre[0, 0] = NAN
    with pytest.raises(ValueError, match=rf"{make.__name__}: pre must be finite, got 1 NaN"):
        syn.step(bad_pre, post)
    with pytest.raises(ValueError, match=rf"{make.__name__}: post must be finite, got 0 NaN and 1 infinite"):
        syn.step(pre, torch.tensor([[1.0, math.inf], [0.0, 0.0]], dtype=D))
    with pytest.raises(ValueError, match="must hold at least one sample, got an empty batch"):
        syn.step(torch.ones(0, 3, dtype=D), torch.ones(0, 2, dtype=D))
    with pytest.raises(TypeError, match="pre must hold real activity"):
        syn.step(pre.to(torch.complex128), post)
    # a whole sequence is checked before its first step is applied, online or not
    seq = torch.ones(4, 2, 3, dtype=D)
    seq[-1, 0, 0] = NAN
    for online in (True, False):
        with pytest.raises(ValueError, match=rf"{make.__name__}.run: pre must be finite"):
            syn.run(seq, torch.ones(4, 2, 2, dtype=D), online=online)
    with pytest.raises(ValueError, match="at least one time step, got T = 0"):
        syn.run(torch.ones(0, 2, 3, dtype=D), torch.ones(0, 2, 2, dtype=D))
    assert torch.equal(syn.weight, before)
    syn.step(pre.bool(), post.to(torch.int64))  # bool and integer spikes are fine


def test_nan_state_reward_and_mask_are_refused():
    syn = L.STDP().attach(dense(3, 2))
    state = L.STDPState(torch.full((1, 3), NAN, dtype=D), torch.zeros(1, 2, dtype=D))
    with pytest.raises(ValueError, match=r"STDP: state.pre must be finite, got 3 NaN"):
        syn.step(torch.ones(1, 3, dtype=D), torch.ones(1, 2, dtype=D), state)
    rsyn = L.RewardSTDP().attach(dense(3, 2))
    with pytest.raises(ValueError, match="RewardSTDP: reward must be finite, got 1 NaN"):
        rsyn.step(torch.ones(2, 3, dtype=D), torch.ones(2, 2, dtype=D), reward=NAN)
    with pytest.raises(TypeError, match="RewardSTDP.run: reward must be a number, a sequence of numbers"):
        rsyn.run(torch.ones(3, 2, 3, dtype=D), torch.ones(3, 2, 2, dtype=D), reward="good")
    with pytest.raises(ValueError, match="STDP.attach: mask must be finite, got 1 NaN"):
        L.STDP().attach(dense(3, 2), mask=torch.tensor([[1.0, 0.0, NAN], [1.0, 1.0, 1.0]]))
    with pytest.raises(ValueError, match=r"mask must hold values in \[0, 1\]"):
        L.STDP().attach(dense(3, 2), mask=torch.full((2, 3), 2.0))


@pytest.mark.parametrize("online", [True, False])
def test_an_update_that_overflows_raises_and_leaves_the_weight_unchanged(online):
    syn = L.Hebbian(lr=1e300).attach(dense(3, 2).float())
    before = syn.weight.clone()
    with pytest.raises(ValueError, match="Hebbian: this update would write 6 NaN or infinite value"):
        syn.run(torch.ones(2, 4, 3), torch.ones(2, 4, 2), online=online)
    assert torch.equal(syn.weight, before)
    with pytest.raises(ValueError, match=r"STDP.apply_: dw must be shaped like the weight \(2, 3\)"):
        L.STDP().attach(dense(3, 2)).apply_(torch.ones(1, dtype=D))  # no silent broadcast


def test_normalize_weights_zero_rows_stay_zero_and_non_finite_weights_are_refused():
    """Decision: a neuron whose weights sum to <= eps (a row of zeros) is left as it is, never NaN."""
    w = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 2.0]])
    L.normalize_weights(w, 2.0)
    assert torch.equal(w, torch.tensor([[0.0, 0.0, 0.0], [0.5, 0.5, 1.0]]))
    L.normalize_weights(w, 4.0, eps=2.0)  # row 1 sums to 2 <= eps: left as it is
    assert torch.equal(w[1], torch.tensor([0.5, 0.5, 1.0]))
    with pytest.raises(ValueError, match="normalize_weights: the weight must be finite, got 1 NaN"):
        L.normalize_weights(torch.tensor([[NAN, 1.0]]), 1.0)
    with pytest.raises(ValueError, match="sum to more than torch.float32 can hold"):
        L.normalize_weights(torch.full((1, 4), 3e38), 1.0)
    with pytest.raises(ValueError, match="normalize_weights: eps must be finite"):
        L.normalize_weights(w, 1.0, eps=NAN)


def test_homeostasis_refuses_non_finite_and_empty_input():
    adapt = L.AdaptiveThreshold()
    state = adapt.init_state(torch.zeros(3))
    with pytest.raises(ValueError, match="AdaptiveThreshold.step: spikes must be finite"):
        adapt.step(torch.tensor([[NAN, 0.0, 1.0]]), state)
    with pytest.raises(ValueError, match="AdaptiveThreshold.step: spikes must hold at least one sample"):
        adapt.step(torch.zeros(0, 3), state)
    with pytest.raises(ValueError, match="AdaptiveThreshold.threshold: base must be finite"):
        adapt.threshold(NAN, state)
    with pytest.raises(ValueError, match="kwta: scores must be finite"):
        L.kwta(torch.ones(1, 3), torch.tensor([[0.1, NAN, 0.2]]))
    with pytest.raises(ValueError, match="kwta: dim must name a neuron axis"):
        L.kwta(torch.ones(2, 3, 4), torch.rand(2, 3, 4), dim=0)
    s, v = torch.ones(2, 3, 4), torch.rand(2, 3, 4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(L.kwta(s, v, k=2, dim=-1), L.kwta(s, v, k=2, dim=2))  # negative dims count back
    with pytest.raises(ValueError, match="LateralInhibition: spikes_prev must be finite"):
        L.LateralInhibition(3)(torch.tensor([[NAN, 0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"LateralInhibition\(n=10000000\).* more than the"):
        L.LateralInhibition(10**7)


def test_readouts_refuse_nan_counts_and_bad_labels():
    with pytest.raises(ValueError, match="vote: counts must be finite"):
        L.vote(torch.tensor([[NAN, 1.0]]), torch.tensor([0, 1]), 2)
    with pytest.raises(ValueError, match=r"vote: labels must be class indices or -1 \(no vote\), got -5"):
        L.vote(torch.rand(2, 2), torch.tensor([0, -5]), 2)
    with pytest.raises(TypeError, match="vote: labels must be int64"):
        L.vote(torch.rand(2, 2), torch.tensor([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="fit_logistic: features must be finite"):
        L.fit_logistic(torch.tensor([[NAN], [1.0]]), torch.tensor([0, 1]))
    readout = L.GradientReadout(2, 2)
    with pytest.raises(ValueError, match="GradientReadout.fit: targets must be < num_classes = 2, got 2"):
        readout.fit(torch.rand(3, 2), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="GradientReadout: features must have 2 columns"):
        readout(torch.rand(3, 4))
