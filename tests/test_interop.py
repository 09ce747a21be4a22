"""NIR export/import and the Loihi layout/check.

- Round trip spikekit -> NIR file -> spikekit: identical membranes and spikes for every supported module.
- The exported parameters against hand-computed values, and the exported graph run by a plain forward-Euler
  simulation of NIR's equations written here (independent of the importer).
- Peers (snnTorch, Norse): their NIR importers run spikekit's graphs with the same spikes, and a graph
  exported by snnTorch runs the same in spikekit. Skipped when they are absent.
- Bad input: what NIR cannot express, unknown node types, and more, with the messages checked.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import spikekit as sk
from spikekit.interop import from_loihi_layout, loihi_check, to_loihi_layout
from spikekit.nn import IF, LIF, PLIF, RLIF, Synaptic, TimeDistributed

nir = pytest.importorskip("nir", reason="the nir package is not installed (pip install nir)")
sknir = pytest.importorskip("spikekit.interop.nir")

TD = TimeDistributed


def rand(*shape, scale=1.0, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g, dtype=torch.float64) * scale).to(dtype)


def nir_ready(model: nn.Module) -> nn.Module:
    """The reference models default to reset='subtract' and max-pooled currents, neither of which NIR can
    express; this switches them to reset='zero' and average pooling (what a NIR-bound model trains with)."""
    for mod in model.modules():
        if isinstance(mod, sk.nn.Neuron) and mod.reset == "subtract":
            mod.reset = "zero"
        for name, child in mod.named_children():
            if isinstance(child, nn.MaxPool2d):
                mod._modules[name] = nn.AvgPool2d(2)
    return model


def traces(model: nn.Module, x: torch.Tensor):
    with torch.no_grad(), sk.record(model) as rec:
        out = model(x)
    return out, list(rec.values())


def assert_same_run(original: nn.Module, imported: nn.Module, x: torch.Tensor, outputs: bool = True) -> None:
    """Same output; every neuron layer the same membrane, and the same spikes where it resets."""
    out_a, rec_a = traces(original, x)
    out_b, rec_b = traces(imported, x)
    if outputs:
        assert torch.equal(out_a, out_b), (
            f"outputs differ at {int((out_a != out_b).sum())} of {out_a.numel()}"
        )
    layers = [m for m in original.modules() if isinstance(m, sk.nn.Neuron)]
    assert len(rec_a) == len(rec_b) == len(layers)
    for layer, a, b in zip(layers, rec_a, rec_b, strict=True):
        assert torch.equal(a.v, b.v), f"{type(layer).__name__}: membranes differ"
        if layer.reset != "none":
            rate = float(a.spikes.mean())
            assert 0.01 < rate < 0.99, f"{type(layer).__name__} fires at {rate}: not a meaningful check"
            assert torch.equal(a.spikes, b.spikes)


def round_trip(model: nn.Module, sample: torch.Tensor, tmp_path, dtype=None) -> nn.Module:
    """Export, write the HDF5 file, read it back and import it."""
    path = tmp_path / "model.nir"
    sknir.save(model, sample, path)
    return sknir.load(path, dtype=dtype)


# --- round trips, one per supported module -------------------------------------------------------------
def _plif(decay_input: bool) -> PLIF:
    m = PLIF(init_tau=3.0, reset="zero", decay_input=decay_input, threshold=0.6 if decay_input else 1.0)
    with torch.no_grad():
        m.w.add_(0.37)  # a trained-looking value, not the initial one
    return m


def _trained_bn(c: int) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(c)
    with torch.no_grad():
        bn.running_mean.uniform_(-0.3, 0.3)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    return bn


CASES = {
    "linear+lif": (lambda: nn.Sequential(nn.Linear(6, 8), LIF(beta=0.8, reset="zero")), (30, 4, 6), 1.0),
    "linear-no-bias+if": (
        lambda: nn.Sequential(nn.Linear(6, 8, bias=False), IF(threshold=1.5, reset="zero")),
        (30, 4, 6),
        1.0,
    ),
    "lif-per-neuron": (
        lambda: nn.Sequential(
            nn.Linear(6, 8),
            LIF(
                beta=torch.linspace(0.5, 0.95, 8),
                threshold=torch.linspace(0.4, 1.2, 8),
                reset="zero",
                shape=8,
            ),
        ),
        (30, 4, 6),
        1.0,
    ),
    "plif": (lambda: nn.Sequential(nn.Linear(6, 8), _plif(True)), (30, 4, 6), 1.5),
    "plif-no-input-decay": (lambda: nn.Sequential(nn.Linear(6, 8), _plif(False)), (30, 4, 6), 1.0),
    "synaptic": (
        lambda: nn.Sequential(nn.Linear(6, 8), Synaptic(alpha=0.7, beta=0.85, reset="zero")),
        (30, 4, 6),
        0.5,
    ),
    "rlif-dense": (lambda: nn.Sequential(nn.Linear(6, 8), RLIF(8, beta=0.9, reset="zero")), (30, 4, 6), 1.0),
    "rlif-one-to-one": (
        lambda: nn.Sequential(nn.Linear(6, 8), RLIF(8, beta=0.8, all_to_all=False, reset="zero")),
        (30, 4, 6),
        1.0,
    ),
    "no-reset": (
        lambda: nn.Sequential(
            nn.Linear(6, 8),
            LIF(beta=0.7, threshold=1.5, reset="none"),  # LI + Threshold
            nn.Linear(8, 6),
            IF(threshold=2.0, reset="none"),  # I + Threshold
            nn.Linear(6, 5),
            Synaptic(alpha=0.6, beta=0.7, threshold=0.8, reset="none"),  # CubaLI + Threshold
            nn.Linear(5, 4),
            LIF(beta=0.9, reset="zero"),
        ),
        (30, 4, 6),
        1.0,
    ),
    "conv+maxpool-of-spikes": (
        lambda: nn.Sequential(
            TD(nn.Conv2d(2, 4, 3, padding=1)),
            LIF(beta=0.8, reset="zero"),
            TD(nn.MaxPool2d(2)),  # SumPool2d + a LIF with tau = dt
            TD(nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=1)),
            IF(threshold=0.8, reset="zero"),
            TD(nn.AvgPool2d(2)),  # of spikes: NIR's AvgPool2d
            TD(nn.Flatten()),
            nn.Linear(6, 5),
            LIF(beta=0.9, threshold=0.5, reset="zero"),
        ),
        (12, 3, 2, 8, 8),
        1.0,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_round_trip_gives_identical_spikes(case, tmp_path):
    build, shape, scale = CASES[case]
    torch.manual_seed(1)
    model = build().eval()
    x = rand(*shape, scale=scale, seed=2)
    imported = round_trip(model, x, tmp_path)
    assert_same_run(model, imported, x)


def test_round_trip_folds_batchnorm_and_pools_currents_exactly(tmp_path):
    """Conv -> BatchNorm -> AvgPool -> LIF: BN folded into the conv, the 1/4 of the pooling too (a power of
    two, so exact), written as SumPool2d. Folding reorders float operations: checked in float64."""
    torch.manual_seed(3)
    model = nn.Sequential(
        TD(nn.Conv2d(2, 4, 3, padding=1, bias=False)),
        TD(_trained_bn(4)),
        TD(nn.AvgPool2d(2)),
        LIF(beta=0.7, threshold=0.3, reset="zero"),
        TD(nn.Flatten()),
        nn.Linear(64, 5),
        LIF(beta=0.9, threshold=0.5, reset="zero"),
    )
    model = model.double().eval()  # export describes inference: BatchNorm's running statistics
    with torch.no_grad():
        model[0].layer.weight.mul_(4.0), model[5].weight.mul_(3.0)
    x = rand(15, 3, 2, 8, 8, scale=1.5, seed=4, dtype=torch.float64)
    graph = sknir.export(model, x)
    kinds = [type(n).__name__ for n in graph.nodes.values()]
    assert kinds == ["Input", "Conv2d", "SumPool2d", "LIF", "Flatten", "Affine", "LIF", "Output"]
    imported = sknir.import_(graph, dtype=torch.float64)
    out_a, rec_a = traces(model, x)
    out_b, rec_b = traces(imported, x)
    assert torch.equal(out_a, out_b)
    for a, b in zip(rec_a, rec_b, strict=True):
        assert 0.01 < float(a.spikes.mean()) < 0.99
        assert torch.equal(a.spikes, b.spikes)
        torch.testing.assert_close(a.v, b.v, rtol=1e-12, atol=1e-12)


# --- the mapping, by hand and against NIR's equations ----------------------------------------------------
def test_exported_parameters_match_hand_computed_values():
    model = nn.Sequential(
        nn.Linear(3, 2),
        LIF(beta=0.8, threshold=0.7, reset="zero"),
        nn.Linear(2, 2),
        IF(threshold=1.5, reset="zero"),
        nn.Linear(2, 2),
        Synaptic(alpha=0.75, beta=0.9, threshold=1.2, reset="zero"),
    )
    g = sknir.export(model, torch.zeros(1, 1, 3), dt=1e-3)
    lif, if_, cuba = g.nodes["1"], g.nodes["3"], g.nodes["5"]
    # beta is stored in float32 (0.8 -> 0.800000011920929): relative differences up to ~1e-6 below
    close = {"rtol": 2e-6}
    np.testing.assert_allclose(lif.tau, [5e-3, 5e-3], **close)  # dt / (1 - beta)
    np.testing.assert_allclose(lif.r, [1.0, 1.0])
    np.testing.assert_allclose(lif.v_threshold, [0.14, 0.14], **close)  # (1 - beta) * threshold
    np.testing.assert_array_equal(lif.v_leak, [0, 0]), np.testing.assert_array_equal(lif.v_reset, [0, 0])
    np.testing.assert_allclose(if_.r, [1e3, 1e3])  # 1 / dt
    np.testing.assert_allclose(if_.v_threshold, [1.5, 1.5])
    np.testing.assert_allclose(cuba.tau_syn, [4e-3, 4e-3], **close)
    np.testing.assert_allclose(cuba.tau_mem, [1e-2, 1e-2], **close)
    np.testing.assert_allclose(cuba.w_in, [4.0, 4.0], **close)  # tau_syn / dt
    np.testing.assert_allclose(cuba.r, [10.0, 10.0], **close)  # tau_mem / dt
    assert g.metadata["spikekit.dt"] == 1e-3
    assert sknir.decay_to_tau(0.8, 1e-3) == pytest.approx(5e-3)
    assert sknir.tau_to_decay(5e-3, 1e-3) == pytest.approx(0.8)


def simulate_nir(graph, x: torch.Tensor) -> torch.Tensor:
    """Forward Euler of NIR's equations for a chain of Affine / LIF / IF / CubaLIF nodes, float64:
    tau dv/dt = v_leak - v + r I (LIF), dv/dt = r I (IF), tau_syn dI/dt = -I + w_in S (CubaLIF);
    z = [v > v_threshold]; v = v_reset where z."""
    dt = graph.metadata["spikekit.dt"]
    chain, key = [], "input"
    while key != "output":
        key = next(b for a, b in graph.edges if a == key)
        chain.append(graph.nodes[key])
    h = x.double()
    for node in chain[:-1]:
        if isinstance(node, nir.Affine):
            h = h @ torch.as_tensor(node.weight).double().T + torch.as_tensor(node.bias).double()
            continue
        p = {
            k: torch.as_tensor(np.asarray(v, np.float64))
            for k, v in vars(node).items()
            if isinstance(v, np.ndarray)
        }
        v, cur, out = torch.zeros_like(h[0]), torch.zeros_like(h[0]), []
        for s in h:
            if isinstance(node, nir.LIF):
                v = v + dt / p["tau"] * (p["v_leak"] - v + p["r"] * s)
            elif isinstance(node, nir.IF):
                v = v + dt * p["r"] * s
            else:
                cur = cur + dt / p["tau_syn"] * (-cur + p["w_in"] * s)
                v = v + dt / p["tau_mem"] * (p["v_leak"] - v + p["r"] * cur)
            z = (v > p["v_threshold"]).double()
            v = torch.where(z > 0, p["v_reset"], v)
            out.append(z)
        h = torch.stack(out)
    return h


@pytest.mark.parametrize("dt", [1e-4, 1e-3])
def test_exported_graph_runs_like_the_model_under_nirs_equations(dt):
    torch.manual_seed(5)
    model = nn.Sequential(
        nn.Linear(5, 8),
        LIF(beta=0.85, threshold=0.9, reset="zero"),
        nn.Linear(8, 8),
        Synaptic(alpha=0.6, beta=0.8, threshold=0.7, reset="zero"),
        nn.Linear(8, 6),
        IF(threshold=1.2, reset="zero"),
    ).double()
    x = rand(40, 3, 5, scale=1.2, seed=6, dtype=torch.float64)
    with torch.no_grad():
        ours = model(x)
    assert 0.02 < float(ours.mean()) < 0.98
    assert torch.equal(simulate_nir(sknir.export(model, x, dt=dt), x), ours)


def test_dt_comes_from_the_graph_unless_given(tmp_path):
    model = nn.Sequential(nn.Linear(4, 6), LIF(beta=0.8, reset="zero"))
    graph = sknir.export(model, torch.zeros(1, 1, 4), dt=1e-3)
    assert float(sknir.import_(graph)[1].beta) == pytest.approx(0.8)
    assert float(sknir.import_(graph, dt=1e-4)[1].beta) == pytest.approx(1 - 1e-4 / 5e-3)
    del graph.metadata[
        "spikekit.dt"
    ]  # a graph from elsewhere: an r = 1 LIF leaves dt open; snnTorch's, warned
    with pytest.warns(UserWarning, match=r"node\(s\) '1' \(LIF\) have r = 1 .* assumed dt = 0\.0001"):
        assert float(sknir.import_(graph)[1].beta) == pytest.approx(1 - sknir.DEFAULT_DT / 5e-3)


# --- the reference models ------------------------------------------------------------------------------
def test_spiking_mlp_exports_with_its_direct_encoding_and_membrane_readout(tmp_path):
    torch.manual_seed(7)
    model = nir_ready(sk.models.SpikingMLP(n_in=20, hidden=(16, 12), n_out=5, steps=12)).eval()
    images = rand(6, 1, 4, 5, scale=2.0, seed=8)
    graph = sknir.export(model, images)
    assert [type(n).__name__ for n in graph.nodes.values()] == [
        "Input", "Affine", "LIF", "Affine", "LIF", "Affine", "LI", "Output"
    ]  # fmt: skip
    assert graph.metadata["spikekit.encoder"] == "direct" and graph.metadata["spikekit.steps"] == 12
    imported = round_trip(model, images, tmp_path)
    seq = sknir.model_input(model, images)
    assert seq.shape == (12, 6, 20)
    logits = model(images)
    assert torch.equal(sknir.readout(model, imported(seq)), logits)
    assert_same_run(model, imported, seq, outputs=False)
    # without the readout: the graph ends at the output layer's current
    head = sknir.import_(sknir.export(model, images, include_readout=False))
    assert torch.equal(head(seq), model.out(model.hidden(model.first(seq))))


def test_spiking_mlp_with_poisson_input_runs_the_same_on_the_drawn_spikes(tmp_path):
    torch.manual_seed(9)
    model = nir_ready(sk.models.SpikingMLP(n_in=12, hidden=(10,), n_out=3, steps=20, encoder="poisson"))
    images = rand(4, 12, seed=10)
    seq = sknir.model_input(model, images)
    assert set(seq.unique().tolist()) <= {0.0, 1.0}
    imported = round_trip(model, images, tmp_path)
    assert torch.equal(sknir.readout(model, imported(seq)), model(seq))


def test_spiking_cnn_exports_bn_folded_average_pooled(tmp_path):
    torch.manual_seed(11)
    model = nir_ready(
        sk.models.SpikingCNN(in_channels=1, image_size=8, channels=(4, 6), hidden=16, n_out=5, steps=6)
    )
    model.train()
    for _ in range(3):  # non-trivial BatchNorm statistics
        model(rand(16, 1, 8, 8, seed=12))
    model = model.eval().double()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2.5)
    images = rand(4, 1, 8, 8, scale=2.0, seed=13, dtype=torch.float64)
    imported = round_trip(model, images, tmp_path, dtype=torch.float64)
    seq = sknir.model_input(model, images)
    torch.testing.assert_close(sknir.readout(model, imported(seq)), model(images), rtol=1e-10, atol=1e-12)
    _, rec_a = traces(model, seq)
    _, rec_b = traces(imported, seq)
    for a, b in zip(rec_a[:-1], rec_b[:-1], strict=True):  # the spiking layers (the last is the readout)
        assert float(a.spikes.sum()) > 0
        assert torch.equal(a.spikes, b.spikes)


def test_reference_models_as_built_are_refused_with_the_reason():
    mlp = sk.models.SpikingMLP(n_in=10, hidden=(8,), n_out=3)
    with pytest.raises(ValueError, match=r"LIF 'hidden\.0' uses reset='subtract', which NIR cannot express"):
        sknir.export(mlp, torch.zeros(1, 10))
    cnn = sk.models.SpikingCNN(in_channels=1, image_size=8, channels=(4,), hidden=8, n_out=3)
    with pytest.raises(ValueError, match=r"MaxPool2d 'first\.2' max-pools a signal that is not 0/1 spikes"):
        sknir.export(cnn, torch.zeros(1, 1, 8, 8))
    with pytest.raises(
        ValueError, match=r"RefractoryLIF 'lif1' cannot be expressed in NIR: its output is graded"
    ):
        sknir.export(sk.models.SeedSNN(n_in=64, hidden=8), torch.zeros(1, 64))


# --- bad input: export ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "model, message",
    [
        (
            nn.Sequential(nn.Linear(4, 4), sk.nn.ALIF()),
            r"ALIF '1' cannot be expressed in NIR: its threshold adapts",
        ),
        (
            nn.Sequential(nn.Linear(4, 4), sk.nn.SRM()),
            r"SRM '1' cannot be expressed in NIR: its refractory kernel",
        ),
        (nn.Sequential(nn.Linear(4, 4), LIF()), r"LIF '1' uses reset='subtract', which NIR cannot express"),
        (nn.Sequential(nn.Linear(4, 4), nn.ReLU()), r"ReLU '1' is a non-spiking activation"),
        (
            nn.Sequential(nn.BatchNorm1d(4), nn.Linear(4, 4)),
            r"BatchNorm1d '0' follows the input; NIR has no normalisation",
        ),
        (
            nn.Sequential(nn.Linear(4, 4), nn.LSTM(4, 4)),
            r"LSTM '1' has no NIR counterpart here; exportable: Linear",
        ),
        (nn.Sequential(nn.Linear(4, 4), RLIF(4, reset="none")), r"RLIF '1' uses reset='none'"),
    ],
    ids=["alif", "srm", "subtract", "relu", "bn-first", "lstm", "rlif-no-reset"],
)
def test_export_refuses_what_nir_cannot_express(model, message):
    with pytest.raises(ValueError, match=message):
        sknir.export(model, torch.zeros(2, 1, 4))


def test_export_refuses_max_pooling_of_currents_and_other_bad_input():
    convpool = nn.Sequential(TD(nn.Conv2d(1, 2, 3)), TD(nn.MaxPool2d(2)), LIF(reset="zero"))
    with pytest.raises(ValueError, match=r"MaxPool2d '1' max-pools a signal that is not 0/1 spikes"):
        sknir.export(convpool, torch.zeros(2, 1, 1, 8, 8))
    reflect = nn.Sequential(TD(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")), LIF(reset="zero"))
    with pytest.raises(ValueError, match=r"Conv2d '0' pads with 'reflect'; NIR's Conv2d pads with zeros"):
        sknir.export(reflect, torch.zeros(2, 1, 1, 8, 8))
    grouped = nn.Sequential(TD(nn.Conv2d(2, 4, 3, groups=2)), LIF(reset="zero"))
    with pytest.raises(ValueError, match=r"Conv2d '0' has groups=2; nir 1\.0's type check"):
        sknir.export(grouped, torch.zeros(2, 1, 2, 8, 8))
    ok = nn.Sequential(nn.Linear(4, 4), LIF(reset="zero"))
    with pytest.raises(ValueError, match=r"dt must be a finite float > 0 \(seconds per step\), got 0"):
        sknir.export(ok, torch.zeros(2, 1, 4), dt=0)
    with pytest.raises(ValueError, match=r"sample must be a time-first sequence \[T, B, N\]"):
        sknir.export(ok, torch.zeros(1, 4))
    with pytest.raises(TypeError, match=r"export: model must be an nn\.Module, got str"):
        sknir.export("model", torch.zeros(2, 1, 4))

    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 4), LIF(reset="zero")

    with pytest.raises(ValueError, match=r"cannot read Custom as a chain of layers"):
        sknir.export(Custom(), torch.zeros(2, 1, 4))


# --- bad input: import ---------------------------------------------------------------------------------
def _graph(**middle) -> nir.NIRGraph:
    nodes = {"input": nir.Input(np.array([3])), **middle, "output": nir.Output(np.array([3]))}
    keys = list(nodes)
    edges = list(zip(keys[:-1], keys[1:], strict=True))
    # a stated step (metadata "dt"): an r = 1 LIF alone does not say how long a step is (import_ warns)
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False, metadata={"dt": 1e-4})


def _lif(**over):
    kw = {"tau": np.full(3, 1e-3), "r": np.ones(3), "v_leak": np.zeros(3), "v_threshold": np.full(3, 0.1)}
    kw.update(over)
    return nir.LIF(**kw)


def test_import_refuses_unknown_node_types_and_inexpressible_parameters(tmp_path):
    # every node type of nir 1.0 imports now (Delay since sk.nn.Delay); a negative delay is refused
    with pytest.raises(ValueError, match=r"node 'delay' \(Delay\) needs a non-empty delay >= 0"):
        sknir.import_(_graph(delay=nir.Delay(delay=-np.ones(3))))

    class Exotic(nir.NIRNode):
        def __init__(self):
            self.metadata = {}

    with pytest.raises(ValueError, match=r"node 'odd' has type Exotic, which spikekit cannot import.*LIF"):
        sknir.import_(_graph(odd=Exotic()))
    with pytest.raises(ValueError, match=r"node 'lif' \(LIF\) has a nonzero v_leak"):
        sknir.import_(_graph(lif=_lif(v_leak=np.full(3, 0.2))))
    with pytest.raises(ValueError, match=r"node 'lif' \(LIF\) has a nonzero v_reset"):
        sknir.import_(_graph(lif=_lif(v_reset=np.full(3, -0.5))))
    with pytest.raises(ValueError, match=r"node 'lif' \(LIF\) has tau = 5e-05 < dt = 0\.0001"):
        sknir.import_(_graph(lif=_lif(tau=np.full(3, 5e-5))))
    with pytest.raises(ValueError, match=r"node 'lif' \(LIF\): LIF: threshold must lie in \(0, inf\)"):
        sknir.import_(_graph(lif=_lif(v_threshold=np.full(3, -1.0))))
    cyc = _graph(a=nir.Linear(np.eye(3)), b=nir.Linear(np.eye(3)))
    cyc.edges.append(("b", "a"))
    with pytest.raises(ValueError, match=r"the graph has a cycle outside a recurrent LIF subgraph"):
        sknir.import_(cyc)
    two = _graph(a=nir.Linear(np.eye(3)))
    two.nodes["input2"] = nir.Input(np.array([3]))
    two.edges.append(("input2", "a"))
    with pytest.raises(
        ValueError, match=r"exactly one Input and one Output node, has inputs \['input', 'input2'\]"
    ):
        sknir.import_(two)
    with pytest.raises(
        TypeError, match=r"graph must be a nir\.NIRGraph \(or a path to a \.nir file\), got dict"
    ):
        sknir.import_({"nodes": {}})
    with pytest.raises(FileNotFoundError, match=r"no NIR file at"):
        sknir.import_(tmp_path / "missing.nir")
    with pytest.raises(ValueError, match=r"dt must be a float > 0"):
        sknir.import_(_graph(lif=_lif()), dt=-1.0)


def test_import_runs_a_non_chain_graph_summing_inputs():
    """A skip connection: both branches feed the LIF; NIR sums a node's inputs."""
    w1, w2 = np.eye(3) * 0.7, np.eye(3) * 0.4
    nodes = {
        "input": nir.Input(np.array([3])),
        "a": nir.Linear(w1),
        "b": nir.Linear(w2),
        "lif": _lif(tau=np.full(3, 5e-4), v_threshold=np.full(3, 0.2)),
        "output": nir.Output(np.array([3])),
    }
    edges = [("input", "a"), ("input", "b"), ("a", "lif"), ("b", "lif"), ("lif", "output")]
    module = sknir.import_(nir.NIRGraph(nodes=nodes, edges=edges), dt=1e-4)
    x = rand(25, 2, 3, scale=1.5, seed=14)
    expected = LIF(beta=0.8, threshold=1.0, reset="zero")(x * 1.1)  # r dt / tau = 0.2: threshold 0.2 / 0.2
    assert torch.equal(module(x), expected)
    assert float(expected.mean()) > 0.05


# --- Loihi ---------------------------------------------------------------------------------------------
def test_loihi_layout_round_trip():
    x = rand(7, 3, 2, 5, seed=15)
    y = to_loihi_layout(x)
    assert y.shape == (3, 2, 5, 7)
    assert torch.equal(y[1, 0, 4], x[:, 1, 0, 4])
    assert torch.equal(from_loihi_layout(y), x)
    with pytest.raises(
        ValueError, match=r"to_loihi_layout: x must have a time and a batch axis .* got shape \(7,\)"
    ):
        to_loihi_layout(torch.zeros(7))
    with pytest.raises(TypeError, match=r"from_loihi_layout: x must be a torch\.Tensor, got list"):
        from_loihi_layout([1, 2])


def test_loihi_check_lists_what_loihi_cannot_run():
    clean = nn.Sequential(
        nn.Linear(4, 4, bias=False), LIF(reset="zero"), nn.Linear(4, 2, bias=False), Synaptic(reset="zero")
    )
    assert loihi_check(clean) == []
    model = nn.Sequential(
        TD(nn.Conv2d(1, 2, 3)),
        TD(nn.BatchNorm2d(2)),
        TD(nn.MaxPool2d(2)),
        LIF(),
        nn.ReLU(),
        sk.nn.ALIF(),
        LIF(reset="none"),
    )
    assert loihi_check(model) == [
        "0.layer (Conv2d): has a bias; Loihi's synapses have none",
        "1.layer (BatchNorm2d): no normalisation on Loihi; fold it (spikekit.convert.fold_batchnorm)",
        "2.layer (MaxPool2d): no max pooling on Loihi; use sum/average pooling",
        "3 (LIF): reset='subtract'; Loihi's LIF sets v to 0 after a spike (use reset='zero')",
        "4 (ReLU): a non-spiking activation; Loihi runs spiking neurons only",
        "5 (ALIF): not Loihi's CUBA LIF neuron (spikekit's IF, LIF, RLIF and Synaptic are); it would need a "
        "custom Loihi 2 microcode neuron",
        "6 (LIF): reset='none'; Loihi's LIF always resets (read a non-resetting output with a probe)",
    ]
    with pytest.raises(TypeError, match=r"loihi_check: model must be an nn\.Module, got int"):
        loihi_check(3)


# --- peers: snnTorch and Norse through their own NIR importers ---------------------------------------------
def _train_briefly(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, steps: int = 12
) -> nn.Module:
    """A few Adam steps on the digits: non-trivial, trained-looking weights (not a converged model)."""
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        idx = torch.randint(0, len(images), (64,), generator=g)
        loss = nn.functional.cross_entropy(model(images[idx]), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn", reason="scikit-learn (the embedded digits) is not installed")
    train, _ = sk.data.load("digits")
    return train.images[:512] * 2.0, train.targets[:512]


def _peer_run(module: nn.Module, seq: torch.Tensor, per_sample: bool = False) -> torch.Tensor:
    """Step a peer's imported module over ``seq`` ``[T, B, ...]``; fresh state (snnTorch keeps hidden state
    in its modules: reset them). ``per_sample``: one unbatched sample at a time (their Flatten import keeps
    NIR's batch-free start_dim, so a batch would be flattened with the features)."""
    if per_sample:
        return torch.stack([_peer_run(module, seq[:, b]) for b in range(seq.shape[1])], 1)
    snn_utils = pytest.importorskip("snntorch.utils") if _is_snntorch(module) else None
    if snn_utils is not None:
        snn_utils.reset(module)
    state, outs = None, []
    with torch.no_grad():
        for x_t in seq:
            out, state = module(x_t, state)
            outs.append(out)
    return torch.stack(outs)


def _is_snntorch(module: nn.Module) -> bool:
    return any(type(m).__module__.startswith("snntorch") for m in module.modules())


def _snntorch_import(graph):
    pytest.importorskip("nirtorch", reason="nirtorch is not installed (snnTorch's NIR import needs it)")
    from snntorch.import_nir import import_from_nir

    with contextlib.redirect_stdout(io.StringIO()):  # it prints progress
        return import_from_nir(graph)


def _norse_import(graph):
    norse = pytest.importorskip(
        "norse.torch", reason="Norse is not installed (make test installs it --no-deps)"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        logging.disable(logging.WARNING)
        try:
            return norse.from_nir(graph, dt=graph.metadata["spikekit.dt"])
        finally:
            logging.disable(logging.NOTSET)


IMPORTERS = {"snntorch": _snntorch_import, "norse": _norse_import}
# Tolerance: spikes agree exactly in the runs below (0 differ). A peer computes the same dynamics with other
# float32 arithmetic (Norse: v += dt/tau (x - v) on a membrane (1 - beta) times ours; both: per-step Linear
# and Conv calls instead of one over [T, B]), so a membrane within ~1e-7 (relative) of its threshold could
# round the other way; we allow 0.2 % of output spikes to differ and would see more if a mapping were wrong
# (a wrong tau, r or threshold changes most spikes).
MAX_DIFFERING = 0.002


@pytest.fixture(scope="module")
def trained_mlp(digits):
    images, labels = digits
    torch.manual_seed(16)
    model = nir_ready(sk.models.SpikingMLP(n_in=64, hidden=(48,), n_out=10, steps=20, readout="rate"))
    return _train_briefly(model, images, labels)


@pytest.fixture(scope="module")
def trained_cnn(digits):
    images, labels = digits
    torch.manual_seed(17)
    model = sk.models.SpikingCNN(
        in_channels=1, image_size=8, channels=(8, 12), hidden=32, n_out=10, steps=8, beta=0.8, threshold=0.3
    )
    model.readout, model.out_lif.reset = "rate", "zero"  # spikes out: a rate readout, resetting to zero
    return _train_briefly(nir_ready(model), images, labels, steps=6)


@pytest.mark.peers
@pytest.mark.parametrize("peer", list(IMPORTERS))
def test_spiking_mlp_runs_the_same_in_peer(peer, trained_mlp, digits):
    pytest.importorskip(peer, reason=f"{peer} not installed (make test installs it --no-deps)")
    model, x = trained_mlp, digits[0][:16]
    seq = sknir.model_input(model, x)
    with torch.no_grad(), sk.record(model) as rec:
        model(x)
    ours = rec["out_lif"].spikes
    # some activity to compare (the reset-gradient default shapes the briefly trained rates)
    assert 0.01 < float(ours.mean()) < 0.9 and 0.01 < float(rec["hidden.0"].spikes.mean()) < 0.9
    theirs = _peer_run(IMPORTERS[peer](sknir.export(model, x)), seq)
    assert theirs.shape == ours.shape
    assert float((theirs != ours).float().mean()) <= MAX_DIFFERING


@pytest.mark.peers
@pytest.mark.parametrize("peer", list(IMPORTERS))
def test_spiking_cnn_runs_the_same_in_peer(peer, trained_cnn, digits):
    pytest.importorskip(peer, reason=f"{peer} not installed (make test installs it --no-deps)")
    model, x = trained_cnn, digits[0][:6]
    seq = sknir.model_input(model, x)
    with torch.no_grad(), sk.record(model) as rec:
        model(x)
    ours = rec["out_lif"].spikes
    assert all(0.02 < float(t.spikes.mean()) < 0.9 for t in rec.values())
    graph = sknir.export(model, x)
    assert "SumPool2d" in {type(n).__name__ for n in graph.nodes.values()}  # no AvgPool2d: Norse reads it
    theirs = _peer_run(IMPORTERS[peer](graph), seq, per_sample=True)
    assert theirs.shape == ours.shape
    assert float((theirs != ours).float().mean()) <= MAX_DIFFERING


@pytest.mark.peers
def test_membrane_readout_model_without_readout_runs_in_snntorch(trained_mlp, digits):
    """snnTorch and Norse have no importer for NIR's LI node: export up to the output layer's current."""
    pytest.importorskip("snntorch", reason="snnTorch not installed")
    model = nir_ready(sk.models.SpikingMLP(n_in=64, hidden=(48,), n_out=10, steps=16))  # membrane readout
    model.load_state_dict(trained_mlp.state_dict())
    images = digits[0]
    x = images[:8]
    seq = sknir.model_input(model, x)
    current = _peer_run(_snntorch_import(sknir.export(model, x, include_readout=False)), seq)
    with torch.no_grad():
        ours = model.out(model.hidden(model.first(seq)))
        torch.testing.assert_close(current, ours, rtol=1e-5, atol=1e-5)
        _, v, _ = model.out_lif.trace(current)  # the readout, applied outside the graph
        torch.testing.assert_close(v.mean(0), model(x), rtol=1e-5, atol=1e-5)


@pytest.mark.peers
def test_recurrent_lif_runs_the_same_in_snntorch():
    pytest.importorskip("snntorch", reason="snnTorch not installed")
    torch.manual_seed(19)
    model = nn.Sequential(
        nn.Linear(5, 10), RLIF(10, beta=0.85, reset="zero"), nn.Linear(10, 4), LIF(beta=0.8, reset="zero")
    )
    with torch.no_grad():
        model[2].weight.mul_(4.0)
    x = rand(30, 6, 5, scale=3.0, seed=20)
    with torch.no_grad():
        ours = model(x)
    assert 0.02 < float(ours.mean()) < 0.9
    theirs = _peer_run(_snntorch_import(sknir.export(model, x)), x)
    assert float((theirs != ours).float().mean()) <= MAX_DIFFERING


@pytest.mark.peers
def test_graph_exported_by_snntorch_runs_the_same_in_spikekit():
    snn = pytest.importorskip("snntorch", reason="snnTorch not installed")
    pytest.importorskip("nirtorch", reason="nirtorch not installed")
    from snntorch import utils as snn_utils
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(21)
    kw = {"init_hidden": True, "reset_mechanism": "zero", "reset_delay": False}  # NIR's reset, as ours
    rleaky = snn.RLeaky(beta=0.85, linear_features=12, **kw)
    with torch.no_grad():
        rleaky.recurrent.bias.zero_()  # spikekit's RLIF has no recurrent bias
    # per-neuron tensors: snnTorch writes scalar parameters as 0-d arrays, which nir 1.0.8 rejects
    net = nn.Sequential(
        nn.Linear(6, 10),
        snn.Leaky(beta=torch.full((10,), 0.9), threshold=torch.ones(10), **kw),
        nn.Linear(10, 12),
        rleaky,
        nn.Linear(12, 4),
        snn.Synaptic(
            alpha=torch.full((4,), 0.7),
            beta=torch.full((4,), 0.8),
            threshold=torch.ones(4),
            output=True,
            **kw,
        ),
    )
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # snnTorch calls a deprecated nirtorch function
        graph = export_to_nir(net, torch.rand(1, 6), ignore_dims=[0])
    x = rand(30, 5, 6, scale=2.0, seed=22)
    snn_utils.reset(net)
    with torch.no_grad():
        theirs = torch.stack([(o[0] if isinstance(o, tuple) else o) for o in (net(x_t) for x_t in x)])
    ours = sknir.import_(graph)(x)  # snnTorch's dt (1e-4) is the default
    assert 0.05 < float(theirs.mean()) < 0.9
    assert float((theirs != ours).float().mean()) <= MAX_DIFFERING


# --- the export-nir command ----------------------------------------------------------------------------
def _checkpoint(tmp_path, model, name="spiking-mlp", kwargs=None, shape=(1, 8, 8)):
    from spikekit.train import save_checkpoint

    tmp_path.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": model.state_dict(),
        "epoch": 1,
        "config": {},
        "extra": {"model": name, "model_kwargs": kwargs or {}, "input_shape": list(shape)},
    }
    save_checkpoint(tmp_path / "checkpoint.pt", payload)
    return tmp_path


def test_run_export_nir_writes_and_verifies_the_file(tmp_path, capsys):
    from spikekit import models
    from spikekit.cli.export_nir import run_export_nir

    kwargs = {"hidden": (16,), "steps": 6}
    torch.manual_seed(23)
    model = models.build_model("spiking-mlp", (1, 8, 8), 10, **kwargs)
    folder = _checkpoint(tmp_path / "default", model, kwargs=kwargs)
    with pytest.raises(ValueError, match=r"LIF 'hidden\.0' uses reset='subtract'"):
        run_export_nir(checkpoint=folder, out=tmp_path / "m.nir")  # what spikekit train builds by default
    ready = {**kwargs, "reset": "zero"}  # what `spikekit train --model-arg reset=zero` builds
    torch.manual_seed(23)
    folder = _checkpoint(
        tmp_path / "ready", models.build_model("spiking-mlp", (1, 8, 8), 10, **ready), kwargs=ready
    )
    result = run_export_nir(checkpoint=folder, out=tmp_path / "m.nir", json_path=str(tmp_path / "m.json"))
    text = capsys.readouterr().out
    assert "node" in text and "LI" in text and "max |difference| in logits = 0" in text
    assert result["max_abs_diff"] == 0.0 and result["argmax_agreement"] == 1.0
    assert [n["type"] for n in result["nodes"]] == ["Input", "Affine", "LIF", "Affine", "LI", "Output"]
    loaded = sknir.load(tmp_path / "m.nir")
    assert isinstance(loaded, nn.Sequential) and (tmp_path / "m.json").is_file()
    head = run_export_nir(checkpoint=folder / "checkpoint.pt", out=tmp_path / "h.nir", include_readout=False)
    assert head["max_abs_diff"] == 0.0 and head["nodes"][-2]["type"] == "Affine"


# ---------------------------------------------------------------------------------- bad input (issue 14)
def test_import_refuses_malformed_graphs_and_non_finite_parameters():
    weight = np.eye(3)
    weight[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"node 'a' \(Linear\): weight must be finite, got 1 NaN"):
        sknir.import_(_graph(a=nir.Linear(weight)))
    with pytest.raises(ValueError, match=r"node 'lif' \(LIF\): v_threshold must be finite"):
        sknir.import_(_graph(lif=_lif(v_threshold=np.full(3, np.nan))))
    lif = _lif()
    lif.tau = np.full(4, 1e-3)
    with pytest.raises(ValueError, match=r"node 'lif' \(LIF\): its parameters must have one shape"):
        sknir.import_(_graph(lif=lif))
    with pytest.raises(ValueError, match=r"node 'a' \(Affine\): its bias must have shape \(3,\)"):
        sknir.import_(_graph(a=nir.Affine(np.eye(3), np.zeros(5))))
    with pytest.raises(ValueError, match=r"node 'c' \(Conv2d\) needs a non-empty 4-d weight"):
        sknir.import_(_graph(c=nir.Conv2d(None, np.ones((3, 3)), 1, 0, 1, 1, np.zeros(3))))
    lost = _graph(a=nir.Linear(np.eye(3)))
    lost.nodes["stray"] = nir.Linear(np.eye(3))
    with pytest.raises(ValueError, match=r"node 'stray' \(Linear\) cannot be reached from the Input node"):
        sknir.import_(lost)
    dead = _graph(a=nir.Linear(np.eye(3)))
    dead.nodes["end"] = nir.Linear(np.eye(3))
    dead.edges.append(("a", "end"))
    with pytest.raises(ValueError, match=r"node 'end' \(Linear\) does not lead to the Output node"):
        sknir.import_(dead)
    with pytest.raises(TypeError, match=r"dtype must be a floating torch\.dtype"):
        sknir.import_(_graph(a=nir.Linear(np.eye(3))), dtype=torch.int64)
    with pytest.raises(ValueError, match=r"dt must be a float > 0 and finite"):
        sknir.import_(_graph(a=nir.Linear(np.eye(3))), dt=float("inf"))
    with pytest.raises(ValueError, match=r"decay_to_tau: decay must lie in \[0, 1\), got 1"):
        sknir.decay_to_tau(1.0)
    with pytest.raises(ValueError, match=r"tau_to_decay: tau .* must lie in \[0\.0001, inf\), got 1e-05"):
        sknir.tau_to_decay(1e-5)
    with pytest.raises(ValueError, match=r"export: Linear '0' cannot run on its input of shape \(2, 1, 5\)"):
        sknir.export(nn.Sequential(nn.Linear(3, 2), LIF(reset="zero")), torch.rand(2, 1, 5))


def test_read_names_the_file_it_cannot_read_and_write_is_atomic(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), LIF(reset="zero"))
    path = tmp_path / "model.nir"
    sknir.save(model, torch.rand(2, 1, 3), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.nir"]  # no temporary file left behind
    good = path.read_bytes()
    assert isinstance(sknir.read(path), nir.NIRGraph)
    with pytest.raises(IsADirectoryError, match=r"is a folder, not a NIR file"):
        sknir.read(tmp_path)
    with pytest.raises(IsADirectoryError, match=r"write: .* is a folder"):
        sknir.write(sknir.read(path), tmp_path)
    for name, data, message in (
        ("empty.nir", b"", r"empty\.nir: empty file \(0 bytes\)"),
        ("text.nir", b"hello, world\n", r"text\.nir: not a NIR file: NIR files are HDF5"),
        ("cut.nir", good[:700], r"cut\.nir: not a readable NIR graph \(OSError"),
    ):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=message):
            sknir.read(tmp_path / name)
        with pytest.raises(ValueError, match=message):
            sknir.load(tmp_path / name)
    # a symlink planted where the file goes is replaced, not written through
    target = tmp_path / "elsewhere"
    target.write_bytes(b"keep")
    link = tmp_path / "linked.nir"
    link.symlink_to(target)
    sknir.write(sknir.read(path), link)
    assert target.read_bytes() == b"keep" and not link.is_symlink()
