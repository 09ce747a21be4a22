"""Generated datasets (spikekit.data.synthetic): Yin-Yang, store-recall and Randman.

Seeded determinism, shapes, the Yin-Yang geometry and class balance, store-recall's targets against a
reference written from the task's definition, Randman's one spike per unit and class separability.
"""

from __future__ import annotations

import math

import pytest
import torch

import spikekit as sk
from spikekit.data import synthetic as syn


# ------------------------------------------------------------------------------------------- Yin-Yang
@pytest.fixture(scope="module")
def yy():
    return syn.yin_yang(3000, seed=42)


def test_yin_yang_seeded_and_shaped(yy):
    x, y = yy
    assert x.shape == (3000, 4) and x.dtype == torch.float32 and y.shape == (3000,) and y.dtype == torch.int64
    again = syn.yin_yang(3000, seed=42)
    assert torch.equal(again[0], x) and torch.equal(again[1], y)
    other = syn.yin_yang(3000, seed=41)
    assert not torch.equal(other[0], x)
    # a shorter run is a prefix of a longer one (one sample at a time from the same stream)
    assert torch.equal(syn.yin_yang(50, seed=42)[0], x[:50])
    # mirrored coordinates
    torch.testing.assert_close(x[:, 2], 1 - x[:, 0], atol=1e-6, rtol=0)
    torch.testing.assert_close(x[:, 3], 1 - x[:, 1], atol=1e-6, rtol=0)


def test_yin_yang_geometry_and_balance(yy):
    x, y = yy
    r = torch.sqrt((x[:, 0] - 0.5) ** 2 + (x[:, 1] - 0.5) ** 2)
    assert bool((r <= 0.5 + 1e-6).all()) and bool((x[:, :2] >= 0).all()) and bool((x[:, :2] <= 1).all())
    # every label is the rule's class of its point
    assert torch.equal(syn.yin_yang_class(x[:, 0].double(), x[:, 1].double()), y)
    # classes balanced as in the paper (a class drawn uniformly per sample): 1000 +- 4.5 sd (sd = 25.8)
    counts = torch.bincount(y, minlength=3)
    assert bool((counts - 1000).abs().max() < 120), counts
    # the dots are dots: every class-2 point lies within r_small of a dot's centre
    dots = x[y == 2, :2]
    d = torch.minimum(
        torch.hypot(dots[:, 0] - 0.25, dots[:, 1] - 0.5), torch.hypot(dots[:, 0] - 0.75, dots[:, 1] - 0.5)
    )
    assert bool((d < 0.1).all())


def test_yin_yang_known_points_and_symmetry():
    known = {
        (0.25, 0.5): 2,  # the left dot's centre
        (0.75, 0.5): 2,  # the right dot's centre
        (0.5, 0.9): 1,  # top
        (0.5, 0.1): 0,  # bottom
        (0.45, 0.5): 1,  # the bulge around the left dot belongs to the upper class
        (0.55, 0.5): 0,  # and the one around the right dot to the lower
        (0.25, 0.62): 1,  # just outside the left dot, in its bulge
        (0.75, 0.38): 0,
    }
    for (px, py), c in known.items():
        assert int(syn.yin_yang_class(px, py)) == c, (px, py)
    # on a grid inside the circle: point reflection through the centre swaps the halves and keeps the dots,
    # so both halves have the same area; dots are 2 * pi r_small^2 / (pi r_big^2) = 8 % of the figure
    g = (torch.arange(401, dtype=torch.float64) + 0.5) / 401
    gx, gy = torch.meshgrid(g, g, indexing="ij")
    inside = (gx - 0.5) ** 2 + (gy - 0.5) ** 2 < 0.25
    gx, gy = gx[inside], gy[inside]
    c = syn.yin_yang_class(gx, gy)
    mirrored = syn.yin_yang_class(1 - gx, 1 - gy)
    swap = torch.tensor([1, 0, 2])
    assert (mirrored != swap[c]).double().mean() < 0.005
    share = torch.bincount(c, minlength=3).double() / len(c)
    assert abs(share[0] - share[1]) < 0.01 and abs(share[2] - 0.08) < 0.005


def test_yin_yang_spikes():
    x = torch.tensor([[0.0, 0.5, 1.0, 0.25]])
    s = syn.yin_yang_spikes(x, steps=9)
    assert s.shape == (9, 1, 5) and torch.equal(s.sum(0), torch.ones(1, 5))
    assert s[:, 0].argmax(0).tolist() == [0, 4, 8, 2, 0]  # values at round(v * 8); bias at step 0
    s = syn.yin_yang_spikes(x, steps=9, t_min=2, t_max=6, bias_step=None)
    assert s.shape == (9, 1, 4) and s[:, 0].argmax(0).tolist() == [2, 4, 6, 3]
    with pytest.raises(ValueError, match="inputs must hold probabilities"):
        syn.yin_yang_spikes(torch.tensor([[1.5]]))
    with pytest.raises(ValueError, match="t_max must lie in"):
        syn.yin_yang_spikes(x, steps=4, t_max=7)


# --------------------------------------------------------------------------------------- store-recall
def reference_answers(commands: list[int], values: list[int]) -> list[int]:
    """The task by its definition: at a recall, the value at the most recent store; -1 elsewhere."""
    out, held = [], None
    for cmd, val in zip(commands, values, strict=True):
        if cmd == 1:
            held = val
        out.append(held if cmd == 2 else -1)
    return out


@pytest.mark.parametrize("n_bits", [1, 2])
def test_store_recall_targets_by_construction(n_bits):
    slots, slot_steps, per = 7, 3, 2
    d = syn.store_recall(
        300,
        slots=slots,
        slot_steps=slot_steps,
        n_bits=n_bits,
        channels_per_group=per,
        rate=1.0,
        noise=0.0,
        seed=5,
    )
    n, T, C = d["spikes"].shape
    assert (n, T, C) == (300, slots * slot_steps, (2 + 2 * n_bits) * per)
    cmds, vals = d["commands"], d["values"]
    assert bool((cmds[:, -1] == 2).all())  # every sequence ends with a recall
    assert bool(((cmds[:, :-1] == 1).any(1)).all())  # ... preceded by a store
    assert int(vals.max()) < 2**n_bits
    # rate 1, noise 0: the spikes spell out the commands and values exactly
    groups = d["spikes"].reshape(n, slots, slot_steps, 2 + 2 * n_bits, per)
    assert bool((groups == groups[:, :, :1, :, :1]).all())  # all steps, all channels of a group agree
    g = groups[:, :, 0, :, 0].bool()  # [n, slots, groups]
    decoded_cmd = torch.where(g[..., 0], 1, torch.where(g[..., 1], 2, 0))
    assert torch.equal(decoded_cmd, cmds)
    bits = torch.stack([g[..., 3 + 2 * k] for k in range(n_bits)], -1).long()
    assert bool((g[..., 2::2] ^ g[..., 3::2]).all())  # each bit shows exactly one of its two groups
    assert torch.equal((bits * 2 ** torch.arange(n_bits)).sum(-1), vals)
    for i in range(n):
        answers = reference_answers(cmds[i].tolist(), vals[i].tolist())
        assert d["step_targets"][i].reshape(slots, slot_steps)[:, 0].tolist() == answers
        assert int(d["targets"][i]) == answers[-1]
    assert torch.equal(d["recall_mask"], d["step_targets"] >= 0)
    assert torch.equal(d["recall_mask"].reshape(n, slots, slot_steps)[:, :, 0], cmds == 2)
    # the answer is not the value on show during the recall, often
    shown = vals[:, -1]
    assert 0.2 < float((shown != d["targets"]).double().mean()) < 0.8


def test_store_recall_seeded_rates_and_balance():
    a = syn.store_recall(400, seed=1)
    b = syn.store_recall(400, seed=1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(syn.store_recall(400, seed=2)["spikes"], a["spikes"])
    # with default rate 0.5 and noise 0: active channels fire about half the time, idle ones never
    d = syn.store_recall(200, slots=4, slot_steps=50, rate=0.3, noise=0.0, seed=3, channels_per_group=4)
    store_ch = d["spikes"][..., :4].reshape(200, 4, 50, 4)
    on = d["commands"] == 1
    assert abs(float(store_ch[on].mean()) - 0.3) < 0.02 and float(store_ch[~on].sum()) == 0
    frac = float(a["targets"].double().mean())
    assert 0.4 < frac < 0.6  # both answers equally likely
    with pytest.raises(ValueError, match="p_store \\+ p_recall must be <= 1"):
        syn.store_recall(4, p_store=0.7, p_recall=0.7)
    with pytest.raises(ValueError, match="slots must be >= 2"):
        syn.store_recall(4, slots=1)


# -------------------------------------------------------------------------------------------- Randman
@pytest.fixture(scope="module")
def rm():
    return syn.randman(nb_classes=5, nb_units=20, nb_steps=40, nb_samples=200, seed=3)


def test_randman_one_spike_per_unit_and_seeded(rm):
    s, y, t = rm["spikes"], rm["targets"], rm["times"]
    assert s.shape == (1000, 40, 20) and y.shape == (1000,) and t.shape == (1000, 20)
    assert torch.equal(s.sum(1), torch.ones(1000, 20))  # exactly one spike per unit and sample
    assert torch.equal(s.argmax(1), t) and int(t.min()) >= 0 and int(t.max()) <= 39
    assert torch.equal(torch.bincount(y), torch.full((5,), 200))
    again = syn.randman(nb_classes=5, nb_units=20, nb_steps=40, nb_samples=200, seed=3)
    assert all(torch.equal(rm[k], again[k]) for k in rm)
    other = syn.randman(nb_classes=5, nb_units=20, nb_steps=40, nb_samples=200, seed=4)
    assert not torch.equal(other["times"], t)
    # standardised per unit and class: each unit's times span the whole window within a class
    for k in range(5):
        tk = t[y == k]
        assert bool((tk.min(0).values == 0).all()) and bool((tk.max(0).values >= 38).all())


def test_randman_smooth_and_separable(rm):
    t, y, x = rm["times"].double(), rm["targets"], rm["coords"][:, 0]
    # a manifold: neighbours on it (sorted intrinsic coordinate) have close spike times
    k0 = y == 0
    order = x[k0].argsort()
    tk = t[k0][order]
    neighbours = (tk[1:] - tk[:-1]).abs().mean()
    random_pairs = (tk - tk[torch.randperm(len(tk), generator=torch.Generator().manual_seed(0))]).abs().mean()
    assert neighbours < 0.2 * random_pairs
    # nearest centroid on spike times (trained on 800, tested on 200) beats chance (20 %, sd 2.8 %) by far;
    # the manifolds are curved, so the nearest neighbour does much better still
    centroids = torch.stack([t[:800][y[:800] == k].mean(0) for k in range(5)])
    pred = torch.cdist(t[800:], centroids).argmin(1)
    assert float((pred == y[800:]).double().mean()) > 0.35
    nearest = y[:800][torch.cdist(t[800:], t[:800]).argmin(1)]
    assert float((nearest == y[800:]).double().mean()) > 0.9


def test_randman_alpha_and_checks():
    f = [int(min(math.ceil(1e-3 ** (-1 / a)), 1000)) for a in (1.0, 2.0)]
    assert f == [1000, 32]  # the package's frequency cut-off
    with pytest.raises(ValueError, match="alpha must lie in"):
        syn.randman(alpha=0.0)
    with pytest.raises(TypeError, match="nb_units must be an int"):
        syn.randman(nb_units=2.5)


# ------------------------------------------------------------------------------------ load and registry
def test_registry_and_load():
    kinds = {n: sk.data.DATASETS.info(n)["kind"] for n in ("yin-yang", "store-recall", "randman")}
    assert set(kinds.values()) == {"synthetic"}
    assert sk.data.DATASETS.canonical("YinYang") == "yin-yang" and sk.data.dataset_kind("store_recall")
    with pytest.raises(ValueError, match="unknown dataset") as info:
        sk.data.load("cifar10")
    for name in sk.data.DATASETS:
        assert name in str(info.value)

    train, test = sk.data.load("yin-yang", train_size=300, test_size=90)
    assert train.inputs.shape == (300, 4) and test.inputs.shape == (90, 4) and train.time_axis == 0
    assert train.classes == ("yin", "yang", "dot") and train.sample_shape == (4,)
    assert torch.equal(train.inputs, syn.yin_yang(300, seed=42)[0])
    assert torch.equal(test.inputs, syn.yin_yang(90, seed=40)[0])  # the published test seed

    sr = sk.data.load("store-recall", split="test", test_size=20, slots=4)
    assert sr.inputs.shape == (20, 40, 32) and sr.time_axis == 1 and sr.num_steps == 40
    assert sr.recall_mask.shape == (20, 40) and sr.step_targets.dtype == torch.int64
    assert sr.time_first(sr.inputs[:3]).shape == (40, 3, 32)
    cut = sr.subset(5)
    assert cut.recall_mask.shape == (5, 40) and len(cut) == 5

    tr, te = sk.data.load("randman", nb_samples=20, nb_classes=3, test_limit=7)
    assert (len(tr), len(te)) == (48, 7) and tr.inputs.shape[1:] == (50, 20)
    with pytest.raises(ValueError, match="unknown randman option"):
        sk.data.load("randman", nb_inputs=3)
    with pytest.raises(ValueError, match="time_bins: for event datasets only"):
        sk.data.load("yin-yang", time_bins=3)
    with pytest.raises(TypeError, match="generator options are for synthetic datasets only"):
        sk.data.load("digits", seed=3)
    with pytest.raises(ValueError, match="generated by code and needs no download"):
        sk.data.download("yin-yang")
    with pytest.raises(ValueError, match="'randman' is a synthetic dataset"):
        sk.data.load_images("randman")


def test_fit_runs_on_a_sequence_dataset():
    train, test = sk.data.load("randman", nb_samples=16, nb_classes=2, nb_steps=10, nb_units=6)
    model = sk.models.SpikingRNN(n_in=6, hidden=8, n_out=2)
    cfg = sk.train.TrainConfig(epochs=1, batch_size=8, device="cpu")
    result = sk.train.fit(model, train, test, cfg, log=False, progress=False)
    assert len(result.history) == 1
