"""sk.analysis.profile: spikes, synaptic operations and energy, against closed forms and brute force on
hand-built networks, and against Sinabs' synops counter on the same network."""

from __future__ import annotations

import copy
import itertools
import json
import warnings

import pytest
import torch
from torch import nn

import spikekit as sk
from spikekit.analysis.profile import HOROWITZ_45NM, profile


def spikes(*shape, p=0.3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) < p).float()


class Probe(nn.Module):
    """Linear/Conv layers fed directly with the given input, and a neuron (so the batch size is known)."""

    def __init__(self, *layers):
        super().__init__()
        self.body = nn.Sequential(*layers)
        self.lif = sk.nn.IF(threshold=1e9)

    def forward(self, x):
        y = self.body(x)
        return self.lif(y.reshape(y.shape[0], y.shape[1], -1) if y.dim() >= 3 else y.unsqueeze(0))


# --- Linear ----------------------------------------------------------------------------------------
def test_linear_synops_are_spikes_times_out_features():
    T, B, n_in, n_out = 5, 3, 7, 4
    x = spikes(T, B, n_in)
    model = Probe(nn.Linear(n_in, n_out))
    prof = profile(model, x)
    row = prof.layer("body.0")
    assert (row.kind, row.op, row.module) == ("linear", "AC", "Linear")
    assert row.ops == pytest.approx(float(x.sum()) * n_out / B, abs=0)
    assert row.events == pytest.approx(float(x.sum()) / B, abs=0)
    assert row.inputs == T * n_in and row.calls == T
    assert row.dense == T * n_in * n_out and row.fanout == n_out
    assert row.ann_ops == T * n_in * n_out  # a sequence: the ANN also runs at every step
    assert profile(model, x, input_steps=1).layer("body.0").ann_ops == n_in * n_out
    ops = prof.synaptic_operations
    assert ops == {"Effective_MACs": 0.0, "Effective_ACs": row.ops, "Dense": row.dense}


def test_linear_zero_weights_are_not_synapses():
    """NeuroBench: an operation needs a non-zero input and a non-zero weight."""
    lin = nn.Linear(4, 3)
    with torch.no_grad():
        lin.weight[:, 0] = 0  # input 0 reaches nobody
        lin.weight[1, 2] = 0  # input 2 reaches two neurons
    x = torch.zeros(1, 1, 4)
    x[0, 0, [0, 1, 2]] = 1  # fan-outs 0 + 3 + 2
    prof = profile(Probe(lin), x)
    assert prof.layer("body.0").ops == 5
    assert prof.layer("body.0").dense == 12
    assert prof.connection_sparsity == pytest.approx(4 / 12)


def test_graded_input_costs_macs_and_zeros_cost_nothing():
    x = torch.tensor([[[0.0, 0.5, 2.0, 0.0, -3.0]]])  # [T=1, B=1, 5]: three non-zero, not spikes
    prof = profile(Probe(nn.Linear(5, 6)), x)
    row = prof.layer("body.0")
    assert row.op == "MAC" and row.ops == 18 and row.events == 3
    assert prof.synaptic_operations["Effective_MACs"] == 18
    assert prof.energy_pj == pytest.approx(18 * 4.6)


# --- Conv ------------------------------------------------------------------------------------------
def brute_fanout(conv: nn.Module, shape: tuple[int, ...]) -> torch.Tensor:
    """Fan-out of every input position [C, *S] by enumerating every output position and kernel tap."""
    nd = len(conv.kernel_size)
    c_in, spatial = shape[0], shape[1:]
    out_shape = conv(torch.zeros(1, *shape)).shape[2:]
    fan = torch.zeros(shape, dtype=torch.float64)
    w = conv.weight.detach() != 0
    cin_g, cout_g = c_in // conv.groups, conv.out_channels // conv.groups
    if isinstance(conv.padding, str):  # "same" with stride 1: total padding d (k - 1), the extra at the end
        pad = [conv.dilation[i] * (conv.kernel_size[i] - 1) // 2 for i in range(nd)]
    else:
        pad = list(conv.padding)
    for co in range(conv.out_channels):
        g = co // cout_g
        for o in itertools.product(*(range(n) for n in out_shape)):
            for k in itertools.product(*(range(n) for n in conv.kernel_size)):
                pos = [o[i] * conv.stride[i] - pad[i] + k[i] * conv.dilation[i] for i in range(nd)]
                if conv.padding_mode == "circular":
                    pos = [p % spatial[i] for i, p in enumerate(pos)]
                elif any(not 0 <= p < spatial[i] for i, p in enumerate(pos)):
                    continue  # a zero of the padding
                for ci in range(cin_g):
                    if w[(co, ci, *k)]:
                        fan[(g * cin_g + ci, *pos)] += 1
    return fan


def test_conv_3x3_padding_1_closed_form():
    """3x3, padding 1, stride 1 on 4x4: a corner reaches 4 positions per output channel, an edge 6, the
    inside 9."""
    conv = nn.Conv2d(1, 5, 3, padding=1)
    x = torch.zeros(1, 1, 1, 4, 4)  # [T, B, C, H, W]
    x[0, 0, 0, 0, 0] = x[0, 0, 0, 0, 2] = x[0, 0, 0, 2, 1] = 1  # corner, edge, inside
    prof = profile(Probe(sk.nn.TimeDistributed(conv)), x)
    row = prof.layer("body.0.layer")
    assert row.ops == 5 * (4 + 6 + 9)
    assert row.dense == 5 * (4 * 4 + 8 * 6 + 4 * 9)


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), (2, 7, 6)),
        (lambda: nn.Conv2d(2, 4, (4, 3), stride=(3, 2), padding=(2, 0)), (2, 9, 8)),
        (lambda: nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2), (4, 6, 6)),
        (lambda: nn.Conv2d(2, 3, 3, padding="same", padding_mode="circular"), (2, 5, 5)),
        (lambda: nn.Conv1d(3, 2, 5, stride=3, padding=1), (3, 17)),
        (lambda: nn.Conv3d(1, 2, 2, stride=(1, 2, 2)), (1, 3, 4, 5)),
    ],
    ids=["stride-pad", "rect-kernel", "dilation-groups", "circular-same", "conv1d", "conv3d"],
)
def test_conv_synops_equal_brute_force_fanout_at_every_position(make, shape):
    torch.manual_seed(0)
    conv = make()
    with torch.no_grad():  # some zero weights: they are no synapses
        conv.weight[conv.weight.abs() < 0.05] = 0
    T, B = 3, 2
    x = spikes(T, B, *shape, p=0.4, seed=1)
    fan = brute_fanout(conv, shape)
    want = float((x.sum((0, 1)).double() * fan).sum()) / B
    row = profile(Probe(sk.nn.TimeDistributed(conv)), x).layer("body.0.layer")
    assert row.ops == pytest.approx(want, rel=1e-12)
    assert row.op == "AC" and row.calls == T
    dense = copy.deepcopy(conv)
    with torch.no_grad():
        dense.weight.fill_(1)
    assert row.dense == pytest.approx(T * float(brute_fanout(dense, shape).sum()), rel=1e-12)


def test_unbatched_conv_input():
    conv = nn.Conv2d(1, 2, 3)
    x = spikes(1, 5, 5, seed=2)

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.lif = conv, sk.nn.IF()

        def forward(self, x):
            return self.lif(self.conv(x).reshape(1, 1, -1))

    row = profile(M(), x).layer("conv")
    assert row.ops == float((x[0].double() * brute_fanout(conv, (1, 5, 5))[0]).sum())


# --- pooling ---------------------------------------------------------------------------------------
def brute_windows(kernel, stride, padding, size, ceil_mode=False):
    """How many pooling windows cover each of ``size`` positions (1-D; windows as PyTorch places them)."""
    n = (size + 2 * padding - kernel + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (n - 1) * stride >= size + padding:
        n -= 1  # the last window must start inside the input or the left padding
    count = torch.zeros(size, dtype=torch.float64)
    for o in range(n):
        for k in range(kernel):
            p = o * stride - padding + k
            if 0 <= p < size:
                count[p] += 1
    return count


@pytest.mark.parametrize(
    "pool, args",
    [
        (nn.AvgPool2d, (2, 2, 0, False)),
        (nn.AvgPool2d, (3, 2, 1, False)),
        (nn.MaxPool2d, (2, 3, 0, False)),  # positions in no window cost nothing
        (nn.MaxPool2d, (3, 2, 1, True)),
        (nn.AvgPool2d, (2, 3, 1, True)),
    ],
)
def test_pooling_counts_one_addition_per_spike_and_window(pool, args):
    k, s, p, ceil = args
    layer = pool(k, s, p, ceil_mode=ceil)
    H, W = 7, 8
    x = spikes(4, 2, 3, H, W, seed=3)  # [T, B, C, H, W]
    fan = brute_windows(k, s, p, H, ceil)[:, None] * brute_windows(k, s, p, W, ceil)[None, :]
    row = profile(Probe(sk.nn.TimeDistributed(layer)), x).layer("body.0.layer")
    assert row.kind == "pool" and row.op == "AC"
    assert row.ops == pytest.approx(float((x.sum((0, 1, 2)).double() * fan).sum()) / 2, rel=1e-12)
    assert row.dense == pytest.approx(4 * 3 * float(fan.sum()), rel=1e-12)


def test_avgpool_2x2_closed_form_and_pooling_off():
    x = torch.zeros(1, 1, 1, 4, 4)
    x[0, 0, 0, :2, :2] = 1  # 4 spikes, each in exactly one 2x2 window
    model = Probe(sk.nn.TimeDistributed(nn.AvgPool2d(2)))
    assert profile(model, x).layer("body.0.layer").ops == 4
    assert profile(model, x, pooling=False).connections == []


def test_pool1d_and_3d():
    x1 = spikes(2, 2, 3, 11, seed=4)
    row = profile(Probe(sk.nn.TimeDistributed(nn.AvgPool1d(3, 2, 1))), x1).layer("body.0.layer")
    assert row.ops == pytest.approx(
        float((x1.sum((0, 1, 2)).double() * brute_windows(3, 2, 1, 11)).sum()) / 2
    )
    x3 = spikes(1, 1, 1, 4, 4, 4, seed=5)
    row = profile(Probe(sk.nn.TimeDistributed(nn.MaxPool3d(2))), x3).layer("body.0.layer")
    assert row.ops == float(x3.sum())


# --- recurrence, neurons and rates -----------------------------------------------------------------
@pytest.mark.parametrize("all_to_all", [True, False])
def test_rlif_recurrence_costs_previous_step_spikes_times_fanout(all_to_all):
    torch.manual_seed(0)
    T, B, N = 12, 3, 6
    model = nn.Sequential(sk.nn.RLIF(N, beta=0.9, threshold=0.5, all_to_all=all_to_all))
    x = torch.rand(T, B, N)
    prof = profile(model, x)
    with torch.no_grad():
        out = model(x)
    assert out.sum() > 10
    rec = prof.layer("0.recurrent")
    per_spike = N if all_to_all else 1
    assert rec.kind == "recurrent" and rec.op == "AC"
    assert rec.ops == pytest.approx(float(out[:-1].sum()) * per_spike / B, abs=0)
    assert rec.dense == T * N * per_spike and rec.calls == T
    assert rec.ann_ops == T * N * per_spike  # a sequence: an RNN also runs every step
    neuron = prof.layer("0")
    assert neuron.spikes == pytest.approx(float(out.sum()) / B)
    assert neuron.firing_rate == pytest.approx(float(out.mean()))


def test_rates_sparsity_and_membrane_updates():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(8, 10), sk.nn.LIF(beta=0.8), nn.Linear(10, 4), sk.nn.LIF(beta=0.8))
    x = torch.rand(9, 5, 8) * 2
    with sk.record(model) as rec:
        model(x)
    prof = profile(model, x)
    for name in ("1", "3"):
        s = rec[name].spikes
        row = prof.layer(name)
        assert row.neurons == s.shape[-1] and row.steps == 9
        assert row.spikes == pytest.approx(float(s.sum()) / 5)
        assert row.firing_rate == pytest.approx(float(s.mean()))
        assert row.membrane_updates == 9 * s.shape[-1]
    total = rec["1"].spikes.sum() + rec["3"].spikes.sum()
    assert prof.activation_sparsity == pytest.approx(1 - float(total) / (9 * 5 * 14))
    # the second Linear receives the first LIF's spikes
    assert prof.layer("2").ops == pytest.approx(float(rec["1"].spikes.sum()) * 4 / 5)
    assert prof.layer("0").op == "MAC"  # real-valued input


def test_direct_encoding_equivalent_ann_and_energy():
    """SpikingMLP with direct encoding: the first Linear runs once per image in both networks."""
    torch.manual_seed(2)
    model = sk.models.SpikingMLP(n_in=20, hidden=(16,), n_out=3, steps=7).eval()
    x = torch.rand(6, 20)
    x[:, :5] = 0  # zeros cost nothing
    prof = profile(model, x)
    first, out = prof.layer("first"), prof.layer("out")
    assert first.op == "MAC" and first.calls == 1 and first.ops == 15 * 16 and first.ann_ops == 20 * 16
    assert out.op == "AC" and out.calls == 7 and out.dense == 7 * 16 * 3 and out.ann_ops == 16 * 3
    assert prof.input_steps == 1 and prof.steps == 7 and prof.samples == 6
    ops = prof.synaptic_operations
    assert prof.energy_pj == pytest.approx(ops["Effective_ACs"] * 0.9 + ops["Effective_MACs"] * 4.6)
    assert prof.ann_energy_pj == pytest.approx((20 * 16 + 16 * 3) * 4.6)
    assert HOROWITZ_45NM == {"ac_pj": 0.9, "mac_pj": 4.6}
    cheap = profile(model, x, ac_pj=0.03, mac_pj=0.23)
    assert cheap.energy_pj == pytest.approx(ops["Effective_ACs"] * 0.03 + ops["Effective_MACs"] * 0.23)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    assert prof.footprint == params + buffers


def test_linear_lif_counts_like_linear_and_lif():
    torch.manual_seed(3)
    fused = sk.nn.LinearLIF(12, 5, beta=0.7, threshold=0.3)
    plain = nn.Sequential(fused.linear, sk.nn.LIF(beta=0.7, threshold=0.3))
    x = spikes(6, 4, 12, seed=6)
    a, b = profile(fused, x), profile(plain, x)
    assert a.connections[0].ops == b.connections[0].ops > 0
    assert a.neurons[0].spikes == b.neurons[0].spikes > 0
    assert a.connections[0].module == a.neurons[0].module == "LinearLIF"


def test_reference_models_profile_and_leave_no_hooks():
    torch.manual_seed(4)
    cnn = sk.models.SpikingCNN(channels=(4, 8), hidden=16, steps=3).eval()
    prof = profile(cnn, torch.rand(2, 1, 28, 28))
    names = [r.name for r in prof.connections]
    assert names == ["first.0", "first.2", "body.1.layer", "body.3.layer", "body.7", "out"]
    assert [r.name for r in prof.neurons] == ["body.0", "body.4", "body.8", "out_lif"]
    assert all(not m._forward_hooks for m in cnn.modules())
    assert all(not m._recorders for m in cnn.modules() if isinstance(m, sk.nn.Neuron))
    d = prof.to_dict()
    assert json.loads(json.dumps(d))["synaptic_operations"] == prof.synaptic_operations
    assert set(d) >= {
        "synaptic_operations",
        "activation_sparsity",
        "footprint",
        "connection_sparsity",
        "energy",
    }
    text = prof.table()
    assert "body.1.layer" in text and "ANN / SNN" in text
    seed = profile(sk.models.SeedSNN(n_in=20, hidden=8, n_out=3, steps=5).eval(), torch.rand(3, 20))
    assert seed.layer("fc1").op == "MAC" and seed.layer("fc1").calls == 5  # the flicker is not spikes


def test_model_without_neurons_needs_samples():
    ann = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    with pytest.raises(ValueError, match="samples="):
        profile(ann, torch.rand(5, 4))
    prof = profile(ann, torch.rand(5, 4), samples=5)
    assert prof.synaptic_operations["Dense"] == 4 * 3 + 3 * 2
    assert prof.neurons == [] and prof.activation_sparsity != prof.activation_sparsity  # nan
    assert prof.to_dict()["activation_sparsity"] is None


@pytest.mark.parametrize(
    "kwargs, err",
    [({"ac_pj": -1.0}, ValueError), ({"mac_pj": float("nan")}, ValueError), ({"samples": 0}, ValueError),
     ({"input_steps": 1.5}, ValueError)],
)  # fmt: skip
def test_bad_arguments(kwargs, err):
    with pytest.raises(err):
        profile(Probe(nn.Linear(2, 2)), torch.ones(1, 1, 2), **kwargs)


def test_not_a_module():
    with pytest.raises(TypeError, match="nn.Module"):
        profile(lambda x: x, torch.ones(2))


# --- against Sinabs ---------------------------------------------------------------------------------
@pytest.mark.peers
def test_synops_equal_sinabs_on_the_same_conv_linear_network():
    """The same weights as a Sinabs network of ``IAFSqueeze`` (single spike, reset by subtraction: spikekit's
    ``IF``) and a spikekit one: identical spikes, and the per-layer synops of both Sinabs counters
    (``sinabs.hooks``, per step, and ``sinabs.synopcounter.SNNAnalyzer``, per sample) equal ours."""
    pytest.importorskip("sinabs", reason="Sinabs not installed (make test installs it via --no-deps)")
    import sinabs.hooks as sh
    import sinabs.layers as sl
    from sinabs.activation import MembraneSubtract, SingleSpike
    from sinabs.synopcounter import SNNAnalyzer

    torch.manual_seed(0)
    B, T = 3, 10
    conv1 = nn.Conv2d(2, 4, 3, stride=2, padding=1, bias=False)
    conv2 = nn.Conv2d(4, 6, 3, padding=2, dilation=2, bias=False)
    lin1, lin2 = nn.Linear(96, 20, bias=False), nn.Linear(20, 5, bias=False)
    with torch.no_grad():
        for m in (conv1, conv2, lin1, lin2):
            m.weight *= 4

    def iaf():
        return sl.IAFSqueeze(batch_size=B, spike_fn=SingleSpike, reset_fn=MembraneSubtract())

    theirs = nn.Sequential(conv1, iaf(), conv2, iaf(), nn.Flatten(), lin1, iaf(), lin2)
    ours = copy.deepcopy(
        nn.Sequential(
            sk.nn.TimeDistributed(conv1), sk.nn.IF(), sk.nn.TimeDistributed(conv2), sk.nn.IF(),
            sk.nn.TimeDistributed(nn.Flatten()), lin1, sk.nn.IF(), lin2,
        )
    )  # fmt: skip
    x = spikes(T, B, 2, 8, 8, p=0.3, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sh.register_synops_hooks(theirs)
        analyzer = SNNAnalyzer(theirs)  # the older counter of sinabs.synopcounter, on the same pass
        with torch.no_grad():
            y_theirs = theirs(x.transpose(0, 1).reshape(B * T, 2, 8, 8))  # Sinabs: batch-major [B*T, ...]
    with torch.no_grad():
        y_ours = ours(x)
    assert torch.equal(y_theirs.reshape(B, T, -1).transpose(0, 1), y_ours)

    prof = profile(ours, x)
    per_step = theirs.hook_data["synops_per_timestep"]  # mean over B*T, summed over the layer
    rows = {"0": "0.layer", "2": "2.layer", "5": "5", "7": "7"}
    for idx, name in rows.items():
        assert prof.layer(name).ops * B == pytest.approx(float(per_step[int(idx)]) * B * T, rel=1e-6)
    assert prof.synops * B == pytest.approx(
        float(theirs.hook_data["total_synops_per_timestep"]) * B * T, rel=1e-6
    )
    assert prof.synops > 1000
    # SNNAnalyzer sums over time and averages over the batch: synops per sample, as ours
    stats = analyzer.get_layer_statistics()["parameter"]
    for idx, name in rows.items():
        assert prof.layer(name).ops == pytest.approx(float(stats[idx]["synops"]), rel=1e-6)
    assert prof.synops == pytest.approx(float(analyzer.get_model_statistics()["synops"]), rel=1e-6)


def test_evaluate_can_profile_the_model():
    train_set, _ = sk.data.load("digits")
    model = sk.models.SpikingMLP(n_in=64, hidden=(16,), n_out=10, steps=4)
    out = sk.train.evaluate(model, train_set.subset(32), profile=8)
    assert out["profile"]["samples"] == 8 and out["profile"]["synaptic_operations"]["Dense"] > 0
    assert "profile" not in sk.train.evaluate(model, train_set.subset(32))
