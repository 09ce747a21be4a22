"""sk.compat.spikingjelly and sk.compat.norse against the peers themselves (skipped when absent).

Each compat neuron and the peer's own neuron get the same random input (float64, 200 steps): spikes must be
identical, membranes and input gradients equal within 1e-12 (1e-6 asked). The guides' tutorial blocks
(docs/from-spikingjelly.md, docs/from-norse.md) are executed on a small MNIST-10k subset, side by side with
the peer's own tutorial code from the same weights and batches.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import torch

import spikekit as sk
from spikekit.compat import norse as nc
from spikekit.compat import spikingjelly as sjc

pytestmark = pytest.mark.peers
ROOT = Path(__file__).resolve().parent.parent
T = 200


def _input(seed: int, scale: float, shift: float) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(T, 4, 32, generator=g, dtype=torch.float64) * scale - shift


def _compare(theirs_fn, ours_fn, x, seed=0):
    """Spikes of both (and gradients of a random readout of them w.r.t. the input)."""
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    s1, extra1 = theirs_fn(xa)
    s2, extra2 = ours_fn(xb)
    w = torch.randn(s1.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    (g1,) = torch.autograd.grad((s1.double() * w).sum(), xa)
    (g2,) = torch.autograd.grad((s2 * w).sum(), xb)
    rate = float(s2.detach().mean())
    assert 0.02 < rate < 0.6, f"the input must make the neurons fire sometimes: rate {rate:.3f}"
    assert torch.equal(s1.double(), s2), f"{int((s1.double() != s2).sum())} of {s1.numel()} spikes differ"
    torch.testing.assert_close(extra1, extra2, rtol=1e-12, atol=1e-12)
    assert g1.abs().max() > 0.1
    torch.testing.assert_close(g1, g2, rtol=1e-12, atol=1e-12)


# --- SpikingJelly ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sj():
    pytest.importorskip("spikingjelly", reason="SpikingJelly not installed")
    from spikingjelly.activation_based import neuron, surrogate

    return neuron, surrogate


def _after_reset(v, s, module):
    """SpikingJelly's ``v_seq`` (after the reset) from spikekit's trace (before it)."""
    if module.reset == "zero":
        return v * (1 - s)
    return v - s * module.threshold


SJ_CASES = [
    ("LIFNode", {"tau": 2.0}, 3.0, 0.6),
    ("LIFNode", {"tau": 3.0, "v_reset": None}, 4.0, 0.8),
    ("LIFNode", {"tau": 3.0, "decay_input": False}, 1.2, 0.5),
    ("LIFNode", {"tau": 2.5, "v_reset": -0.3, "v_threshold": 0.8}, 3.0, 0.6),
    ("LIFNode", {"tau": 2.0, "detach_reset": True}, 3.0, 0.6),
    ("IFNode", {}, 1.0, 0.3),
    ("IFNode", {"v_reset": None}, 1.0, 0.3),
    ("ParametricLIFNode", {"init_tau": 3.0}, 4.0, 0.8),
    ("ParametricLIFNode", {"init_tau": 2.0, "decay_input": False, "v_reset": None}, 1.6, 0.4),
]


# every case with SpikingJelly's ATan, and the first with each other surrogate that spikekit matches
SJ_RUNS = [(*case, "ATan") for case in SJ_CASES] + [
    (*SJ_CASES[0], surrogate) for surrogate in ("Sigmoid", "PiecewiseQuadratic", "Rect")
]


@pytest.mark.parametrize(("kind", "kwargs", "scale", "shift", "surrogate"), SJ_RUNS)
def test_spikingjelly_neurons_spike_for_spike(sj, kind, kwargs, scale, shift, surrogate):
    neuron, sg = sj
    theirs = getattr(neuron, kind)(
        **kwargs, surrogate_function=getattr(sg, surrogate)(), step_mode="m", store_v_seq=True
    )
    ours = getattr(sjc, kind)(**kwargs, surrogate_function=getattr(sg, surrogate)()).double()
    if kind == "ParametricLIFNode":
        theirs.double()
        torch.testing.assert_close(ours.w.detach(), theirs.w.detach(), rtol=0, atol=0)
    offset = kwargs.get("v_reset") or 0.0  # the compat neuron runs on v - v_reset

    def run_theirs(x):
        return theirs(x), theirs.v_seq

    def run_ours(x):
        s, v, _ = ours.trace(x)
        return s, _after_reset(v, s, ours) + offset

    _compare(run_theirs, run_ours, _input(len(kind) + len(kwargs), scale, shift))


def test_spikingjelly_float32_path_same_spikes(sj):
    """SpikingJelly's float32 CPU path (its own kernel) against spikekit's float32 loop."""
    neuron, sg = sj
    x = _input(5, 3.0, 0.6).float()
    theirs = neuron.LIFNode(tau=2.0, surrogate_function=sg.ATan(), step_mode="m")(x)
    ours = sjc.LIFNode(tau=2.0, surrogate_function=sg.ATan())(x)
    assert torch.equal(theirs, ours)


def test_spikingjelly_plif_learns_the_same_w(sj):
    """The gradient w.r.t. PLIF's w, through the surrogate and the resets, is SpikingJelly's."""
    neuron, sg = sj
    x = _input(9, 4.0, 0.8)
    theirs = neuron.ParametricLIFNode(init_tau=3.0, surrogate_function=sg.ATan(), step_mode="m").double()
    ours = sjc.ParametricLIFNode(init_tau=3.0, surrogate_function=sg.ATan()).double()
    w = torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    (g1,) = torch.autograd.grad((theirs(x) * w).sum(), theirs.w)
    (g2,) = torch.autograd.grad((ours(x) * w).sum(), ours.w)
    torch.testing.assert_close(g1, g2, rtol=1e-10, atol=1e-12)


def test_spikingjelly_surrogate_mapping(sj):
    _, sg = sj
    assert sjc.surrogate(sg.ATan(alpha=3.0)) == sk.surrogate.atan(alpha=3.0)
    assert sjc.surrogate(None) == sk.surrogate.sigmoid(alpha=4.0)  # SpikingJelly's default
    assert sjc.surrogate("PiecewiseQuadratic", alpha=2.0) == sk.surrogate.triangle(width=0.5)
    x = torch.linspace(-2, 2, 801, dtype=torch.float64, requires_grad=True)
    for theirs in (sg.ATan(alpha=3.0), sg.Sigmoid(alpha=5.0), sg.PiecewiseQuadratic(alpha=2.0), sg.Rect(0.7)):
        (g1,) = torch.autograd.grad(theirs(x).sum(), x)
        (g2,) = torch.autograd.grad(sjc.surrogate(theirs)(x).sum(), x)
        torch.testing.assert_close(g1, g2, rtol=1e-12, atol=1e-12)
    for missing in (sg.SuperSpike(), sg.Erf(), sg.SoftSign(), sg.PiecewiseExp()):
        with pytest.raises(ValueError, match="no surrogate equal"):
            sjc.surrogate(missing)


def test_spikingjelly_compat_refuses_single_step_and_fixes_tau():
    with pytest.raises(ValueError, match="step_mode='s'"):
        sjc.LIFNode(step_mode="s")
    with pytest.raises(ValueError, match="tau must be a float > 1"):
        sjc.LIFNode(tau=1.0)
    with pytest.raises(ValueError, match="above v_reset"):
        sjc.IFNode(v_threshold=0.5, v_reset=0.5)
    assert list(sjc.LIFNode(tau=3.0).parameters()) == []  # a fixed tau, as SpikingJelly's LIFNode
    assert [n for n, _ in sjc.ParametricLIFNode().named_parameters()] == ["w"]
    sjc.reset_net(torch.nn.Sequential(sjc.LIFNode()))  # a no-op kept for ported loops


# --- Norse ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nt():
    pytest.importorskip("norse", reason="Norse not installed")
    import norse.torch as norse_torch

    return norse_torch


def _f64(**kw):
    return {k: torch.tensor(float(v), dtype=torch.float64) for k, v in kw.items()}


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"v_th": 0.7},
        {"v_leak": -0.5, "v_reset": -0.5, "v_th": 0.3, "tau_syn_inv": 100.0, "tau_mem_inv": 50.0},
    ],
)
def test_norse_lif_spike_for_spike(nt, kw):
    from norse.torch.functional.lif import LIFFeedForwardState, LIFParameters

    p = LIFParameters(**_f64(**kw))
    theirs = nt.LIF(p=p)
    ours = nc.LIF(p).double()
    v_leak = float(p.v_leak)

    def run_theirs(x):
        state = LIFFeedForwardState(v=torch.full_like(x[0], v_leak), i=torch.zeros_like(x[0]))
        spikes, vs = [], []
        for x_t in x:  # LIFCell, step by step, to see every membrane (after the reset)
            z, state = nt.LIFCell(p=p)(x_t, state)
            spikes.append(z), vs.append(state.v)
        z_seq, _ = theirs(x, LIFFeedForwardState(v=torch.full_like(x[0], v_leak), i=torch.zeros_like(x[0])))
        assert torch.equal(z_seq, torch.stack(spikes))
        return z_seq, torch.stack(vs)

    def run_ours(x):
        s, v, _ = ours.trace(x)
        return s, v * (1 - s) + v_leak

    _compare(run_theirs, run_ours, _input(3, 2.0, 0.6))


def test_norse_float32_defaults_same_spikes(nt):
    """Norse's defaults as it stores them (float32 tensors) and float32 inputs: the same spikes."""
    x = _input(4, 2.0, 0.6).float()
    for kw in ({}, {"v_th": 0.7}):
        theirs, _ = nt.LIF(p=nt.LIFParameters(**kw))(x)
        assert torch.equal(theirs, nc.LIF(**kw)(x))


@pytest.mark.parametrize("v_th", [1.0, 0.5])
def test_norse_lif_box_and_li(nt, v_th):
    from norse.torch.functional.leaky_integrator import LIParameters, LIState
    from norse.torch.functional.lif_box import LIFBoxFeedForwardState, LIFBoxParameters

    p = LIFBoxParameters(**_f64(v_th=v_th))
    cell = nt.LIFBoxCell(p=p)
    ours = nc.LIFBox(p).double()

    def run_theirs(x):
        state, spikes, vs = LIFBoxFeedForwardState(v=torch.zeros_like(x[0])), [], []
        for x_t in x:
            z, state = cell(x_t, state)
            spikes.append(z), vs.append(state.v)
        return torch.stack(spikes), torch.stack(vs)

    def run_ours(x):
        s, v, _ = ours.trace(x)
        return s, v * (1 - s)

    x = _input(6, 6.0, 1.0)
    _compare(run_theirs, run_ours, x)

    lp = LIParameters(**_f64(tau_syn_inv=200.0, tau_mem_inv=100.0))
    v1, _ = nt.LI(p=lp)(x, LIState(v=torch.zeros_like(x[0]), i=torch.zeros_like(x[0])))
    torch.testing.assert_close(nc.LI(lp).double()(x), v1, rtol=1e-12, atol=1e-12)


def test_norse_surrogate_mapping_and_refusals(nt):
    from norse.torch.functional.threshold import threshold

    x = torch.linspace(-3, 3, 1201, dtype=torch.float64, requires_grad=True)
    for method, alpha in (("super", 100.0), ("super", 7.0), ("triangle", 1.0), ("tanh", 2.0)):
        (g1,) = torch.autograd.grad(threshold(x, method, torch.tensor(alpha)).sum(), x)
        (g2,) = torch.autograd.grad(nc.surrogate(method, alpha)(x).sum(), x)
        torch.testing.assert_close(g1, g2, rtol=1e-12, atol=1e-12)
    assert nc.surrogate("super", 100.0) == sk.surrogate.fast_sigmoid(slope=1.0)  # Norse ignores alpha
    for method, alpha in (("heaviside", 1.0), ("triangle", 100.0), ("circ", 1.0)):
        with pytest.raises(ValueError):
            nc.surrogate(method, alpha)
    with pytest.raises(ValueError, match="must equal v_leak"):
        nc.LIF(v_reset=-1.0)
    d = nc.decays(nc.LIFParameters(), dt=0.001)
    assert d["alpha"] == pytest.approx(0.8) and d["beta"] == pytest.approx(0.9)


# --- the tutorials, side by side on a subset ------------------------------------------------------------
@pytest.fixture(scope="module")
def tutorials():
    spec = importlib.util.spec_from_file_location(
        "ported_tutorials", ROOT / "benchmarks" / "ported_tutorials.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mnist10k():
    try:
        return sk.data.load("mnist-10k", root=os.environ.get("SPIKEKIT_DATA"))
    except FileNotFoundError as e:
        pytest.skip(f"MNIST-10k not found ($SPIKEKIT_DATA/mnist-10k): {str(e).splitlines()[0]}")


def test_spikingjelly_tutorial_side_by_side(sj, tutorials, mnist10k):
    """lif_fc_mnist (the guide's port and SpikingJelly's own code): 1,024 training images, T = 20
    (the tutorial: 60,000 and T = 100), 1,000 test images; same weights and batches, each library's own
    Poisson draws: accuracies within 5 points."""
    train, test = mnist10k
    rows = tutorials.spikingjelly_side_by_side(
        train.images[:1024], train.targets[:1024], test.images[:1000], test.targets[:1000], seed=0, steps=20
    )
    acc = {r["library"]: r["test_acc"] for r in rows}
    assert acc["spikekit"] > 0.3, acc  # it learned (chance: 0.1)
    assert abs(acc["spikekit"] - acc["spikingjelly"]) <= 0.05, acc


def test_norse_tutorial_side_by_side(nt, tutorials, mnist10k):
    """norse.task.mnist (the guide's port and Norse's own LIFConvNet): identical log-probabilities from
    the same weights, then one batch of 32 training images, seq_length 8 (the task: 60,000 and 200), 64 test
    images: the same accuracy within 5 points. (The full comparison is benchmarks/ported_tutorials.py.)"""
    train, test = mnist10k
    guide = tutorials.guide_code("norse")
    torch.manual_seed(0)
    ours = guide["LIFConvNet"](seq_length=8)
    theirs = tutorials.norse_tutorial_net(8)
    tutorials.norse_copy_weights(ours, theirs)
    x = guide["normalise"](test.images[:8])
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-4)
    rows = tutorials.norse_side_by_side(
        train.images[:32], train.targets[:32], test.images[:64], test.targets[:64], seed=0, seq_length=8
    )
    acc = {r["library"]: r["test_acc"] for r in rows}
    assert abs(acc["spikekit"] - acc["norse"]) <= 0.05, acc
