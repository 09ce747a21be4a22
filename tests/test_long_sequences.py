"""Long sequences: ``sk.nn.Stream`` (states carried across calls), ``sk.nn.checkpoint_time`` /
``checkpointing`` (time-chunked activation checkpointing) and ``fit``'s ``tbptt`` / ``checkpoint_every``.

Everything chunked is compared with the plain run: outputs bit for bit, gradients to float64 rounding.
A ``Linear`` in front of a chunked neuron is one GEMM per chunk, which MKL may round 1 ulp away from the
whole sequence's GEMM (seen in float64 on an AVX-512 Xeon); behind one, a graded output is compared to
rounding, and the neuron alone bit for bit.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import spikekit as sk
from neuron_registry import EXACT, EXACT_IDS
from spikekit.train import TrainConfig, fit

F64 = torch.float64


def close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-12) -> bool:
    """Equal up to ``rtol`` of the larger magnitude (float64 rounding of another summation order)."""
    scale = max(a.abs().max().item(), b.abs().max().item(), 1e-300)
    return a.shape == b.shape and (a - b).abs().max().item() <= rtol * scale


def out_and_grads(net: nn.Module, x: torch.Tensor, run) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``run(net, x)`` and the gradients of a fixed projection of it w.r.t. ``x`` and every parameter."""
    x = x.clone().requires_grad_(True)
    y = run(net, x)
    w = torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=y.dtype)
    params = [p for p in net.parameters() if p.requires_grad]
    gs = torch.autograd.grad((y * w).sum(), [x, *params], allow_unused=True)
    return y.detach(), [torch.zeros(()) if g is None else g for g in gs]


def plain(net, x):
    return net(x)


def in_stream(*cuts: int):
    """Run ``net`` on the chunks of ``x`` cut at ``cuts``, in one stream."""

    def run(net, x):
        bounds = [0, *cuts, x.shape[0]]
        with sk.nn.Stream(net):
            return torch.cat([net(x[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)])

    return run


def checkpointed(every: int):
    return lambda net, x: sk.nn.checkpoint_time(net, x, every)


def assert_same(net, x, run, rtol=1e-12, exact=True):
    y0, g0 = out_and_grads(net, x, plain)
    y1, g1 = out_and_grads(net, x, run)
    assert torch.equal(y0, y1) if exact else close(y0, y1, rtol)
    assert all(close(a, b, rtol) for a, b in zip(g0, g1, strict=True))


# --- every neuron, LinearLIF, Delay ---------------------------------------------------------------------
def test_the_table_covers_every_neuron():
    assert {type(info.build()) for info in EXACT} == set(sk.nn.NEURONS.values())


@pytest.mark.parametrize("info", EXACT, ids=EXACT_IDS)
def test_every_neuron_streams_and_checkpoints_exactly(info):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 6), info.build()).to(F64)
    with torch.no_grad():
        net[0].weight.copy_(torch.eye(6) + 0.1 * net[0].weight)
    x = info.sample(steps=23)
    z = net[0](x).detach()  # the neuron's own input
    assert net[1](z).abs().sum() > 0  # it fires
    for run in (in_stream(7, 8, 20), checkpointed(5)):  # uneven chunks, one of 1 step; even ones
        assert_same(net[1], z, run)
        assert_same(net, x, run, exact=False)


def test_linear_lif_delay_and_fused_backends():
    torch.manual_seed(0)
    net = nn.Sequential(
        sk.nn.LinearLIF(4, 6, backend="fused", memory="recompute"),
        sk.nn.Delay(6, max_delay=3, init="random"),
        sk.nn.DelayedLinear(6, 5, max_delay=4, init="random"),
        sk.nn.LIF(0.8, backend="fused"),
        nn.Linear(5, 5),
        sk.nn.LinearLIF(5, 3),
    ).to(F64)
    names = [n for n, _ in sk.nn.stateful_layers(net)]
    assert names == ["0", "1", "2.delay", "3", "5"]  # not LinearLIF's inner LIF
    x = torch.rand(30, 2, 4, dtype=F64) * 1.5
    assert_same(net, x, in_stream(11))
    assert_same(net, x, checkpointed(4))


def test_step_inside_a_stream_continues_the_run():
    lif = sk.nn.ALIF().to(F64)
    x = torch.rand(9, 2, 3, dtype=F64) * 2
    with sk.nn.Stream(lif):
        head = lif(x[:5])
        tail = [lif.step(x[t])[0] for t in range(5, 9)]
    assert torch.equal(torch.cat([head, torch.stack(tail)]), lif(x))


# --- Stream -------------------------------------------------------------------------------------------
def stack() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8), sk.nn.LIF(backend="torch"), nn.Linear(8, 4), sk.nn.Synaptic()).to(
        F64
    )


def test_stream_states_detach_and_truncation():
    net = stack()
    x = (torch.rand(40, 2, 3, dtype=F64) * 2).requires_grad_(True)
    stream = sk.nn.Stream(net)
    assert list(stream.states) == ["1", "3"] and all(s is None for s in stream.states.values())
    with stream:
        net(x[:20])
        stream.detach()
        late = net(x[20:]).sum()
    assert all(s is not None for s in stream.states.values())
    (g,) = torch.autograd.grad(late, [x])
    assert g[:20].abs().sum() == 0 and g[20:].abs().sum() > 0  # truncated at step 20
    # without detach the late loss reaches the early inputs
    with sk.nn.Stream(net):
        net(x[:20])
        late = net(x[20:]).sum()
    (g,) = torch.autograd.grad(late, [x])
    assert g[:20].abs().sum() > 0
    # the states are the stream's: outside the block the layers start from rest again
    assert torch.equal(net(x[20:]), stack()(x[20:]))


def test_stream_states_can_be_saved_set_and_reset():
    net = stack()
    x = torch.rand(30, 2, 3, dtype=F64) * 2
    with sk.nn.Stream(net) as stream:
        net(x[:10])
        saved = stream.states
        a = net(x[10:])
        stream.states = saved  # rewind to step 10
        b = net(x[10:])
        stream.reset()
        c = net(x[10:])
    assert torch.equal(a, b) and torch.equal(a, net(x)[10:]) and torch.equal(c, net(x[10:]))
    # re-entering continues from where the stream stopped
    stream = sk.nn.Stream(net)
    with stream:
        a = net(x[:10])
    with stream:
        b = net(x[10:])
    assert torch.equal(torch.cat([a, b]), net(x))
    # an explicit state wins over the stream's
    lif = sk.nn.LIF().to(F64)
    at10 = lif.run(x[:10])[1]
    with sk.nn.Stream(lif) as s:
        lif(x[20:])
        e, _ = lif.run(x[10:], at10)
    assert torch.equal(e, lif(x)[10:]) and list(s.states) == [""]


def test_stream_errors():
    with pytest.raises(ValueError, match="no stateful spikekit layer"):
        sk.nn.Stream(nn.Linear(3, 3))
    with pytest.raises(TypeError, match="nn.Module"):
        sk.nn.Stream("net")

    class Custom(nn.Module):  # a state of its own: would restart at every chunk
        def run(self, x, state=None):
            return x, state

    with pytest.raises(ValueError, match=r"1 \(Custom\) keeps a state of its own"):
        sk.nn.Stream(nn.Sequential(sk.nn.LIF(), Custom()))
    net = stack()
    with pytest.raises(ValueError, match="no stateful layer named 'frob'"):
        sk.nn.Stream(net, states={"frob": None})
    with pytest.raises(TypeError, match="state tuple"):
        sk.nn.Stream(net, states={"1": torch.zeros(2)})
    with pytest.raises(TypeError, match="mapping"):
        sk.nn.Stream(net, states=[None])
    stream = sk.nn.Stream(net)
    with stream, pytest.raises(RuntimeError, match="already active"), stream:
        pass
    # the wrappers are gone after the block, also after an error
    assert all("_run" not in m.__dict__ for m in net.modules())

    class Twice(nn.Module):  # one LIF used at two places
        def __init__(self):
            super().__init__()
            self.lif = sk.nn.LIF()

        def forward(self, x):
            return self.lif(x) + self.lif(2 * x)

    twice = Twice()
    with sk.nn.Stream(twice), pytest.raises(RuntimeError, match="twice in one call"):
        twice(torch.rand(4, 2, 3))
    with sk.nn.Stream(net):
        with pytest.raises(ValueError, match="shape"):  # a state of another batch is refused by the layer
            net(torch.rand(5, 2, 3, dtype=F64))
            net(torch.rand(5, 3, 3, dtype=F64))


# --- checkpoint_time ----------------------------------------------------------------------------------
def test_checkpoint_time_inside_a_stream_continues_it():
    net = stack()
    x = torch.rand(40, 2, 3, dtype=F64) * 2
    with sk.nn.Stream(net) as stream:
        a = net(x[:13])
        b = sk.nn.checkpoint_time(net, x[13:30], every=6)
        c = net(x[30:])
    assert torch.equal(torch.cat([a, b, c]), net(x)) and stream.states["3"] is not None


def test_checkpoint_time_under_no_grad_is_one_plain_call():
    net = stack()
    x = torch.rand(12, 2, 3, dtype=F64)
    with torch.no_grad():
        assert torch.equal(sk.nn.checkpoint_time(net, x, 5), net(x))


def test_batchnorm_training_is_run_whole_in_a_sequential_and_refused_elsewhere():
    torch.manual_seed(0)
    td = sk.nn.TimeDistributed
    net = nn.Sequential(nn.Linear(3, 6), sk.nn.LIF(), td(nn.BatchNorm1d(6)), sk.nn.LIF(), nn.Linear(6, 2))
    net = net.to(F64)
    twin = nn.Sequential(*[m for m in net]).to(F64)
    twin.load_state_dict(net.state_dict())
    x = torch.rand(20, 4, 3, dtype=F64) * 2
    y0, g0 = out_and_grads(net, x, plain)
    y1, g1 = out_and_grads(twin, x, checkpointed(6))  # BN's statistics over the whole sequence
    assert torch.equal(y0, y1) and all(close(a, b) for a, b in zip(g0, g1, strict=True))
    bn, bn_twin = net[2].layer, twin[2].layer
    assert torch.equal(bn.running_mean, bn_twin.running_mean) and bn.num_batches_tracked == 2

    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = net

        def forward(self, x):
            return self.inner(x)

    with pytest.raises(ValueError, match=r"inner.2.layer \(BatchNorm1d\) normalises with batch statistics"):
        sk.nn.checkpoint_time(Wrapped(), x, 6)
    net.eval()  # running statistics: a function of each step alone
    assert_same(Wrapped(), x, checkpointed(6))


def test_dropout_masks_are_replayed_in_backward():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), sk.nn.LIF(), nn.Dropout(0.5), nn.Linear(8, 4), sk.nn.LIF()).to(F64)
    x = torch.rand(24, 2, 3, dtype=F64) * 2
    torch.manual_seed(5)
    y0, g0 = out_and_grads(net, x, in_stream(8, 16))  # the same chunks, no checkpoint: the reference
    torch.manual_seed(5)
    y1, g1 = out_and_grads(net, x, checkpointed(8))
    assert torch.equal(y0, y1) and all(close(a, b) for a, b in zip(g0, g1, strict=True))


def test_checkpoint_time_errors():
    net = stack()
    x = torch.rand(6, 2, 3, dtype=F64)
    for bad in (0, -2, True, 2.5):
        with pytest.raises((TypeError, ValueError), match="every must be an int >= 1"):
            sk.nn.checkpoint_time(net, x, bad)
    with pytest.raises(ValueError, match="time-first"):
        sk.nn.checkpoint_time(net, torch.rand(3), 2)
    with pytest.raises(TypeError, match="nn.Module"):
        sk.nn.checkpoint_time(lambda x: x, x, 2)
    with pytest.raises(ValueError, match=r"must map \[T, B, \.\.\.\] to \[T, B, \.\.\.\]"):
        sk.nn.checkpoint_time(
            nn.Sequential(net, sk.nn.TimeDistributed(nn.Identity()), nn.Flatten(0, 1)), x, 4
        )


# --- checkpointing (the model's chunkable parts) ------------------------------------------------------
class SeqNet(nn.Module):
    """A sequence classifier that declares its time-first part, with a membrane readout."""

    chunkable = ("body",)

    def __init__(self, n_in: int = 4, hidden: int = 12, n_out: int = 3) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_in, hidden), sk.nn.LIF(), nn.Linear(hidden, hidden), sk.nn.ALIF()
        )
        self.out = nn.Linear(hidden, n_out)
        self.out_lif = sk.nn.LIF(reset="none")

    def forward(self, x):
        return self.out_lif.trace(self.out(self.body(x)))[1].mean(0)


def test_checkpointing_a_models_chunkable_parts():
    torch.manual_seed(0)
    model = SeqNet().to(F64)
    x = torch.rand(30, 3, 4, dtype=F64) * 2
    y0, g0 = out_and_grads(model, x, plain)
    with sk.nn.checkpointing(model, every=7) as parts:
        assert parts == ["body"]
        y1, g1 = out_and_grads(model, x, plain)
    assert torch.equal(y0, y1) and all(close(a, b) for a, b in zip(g0, g1, strict=True))
    assert "forward" not in model.body.__dict__  # restored
    mlp = sk.models.SpikingMLP(n_in=5, hidden=(8, 8), n_out=3, steps=12).to(F64)
    img = torch.rand(4, 5, dtype=F64)
    y0, g0 = out_and_grads(mlp, img, plain)
    with sk.nn.checkpointing(mlp, every=5, parts="hidden"):
        y1, g1 = out_and_grads(mlp, img, plain)
    assert torch.equal(y0, y1) and all(close(a, b) for a, b in zip(g0, g1, strict=True))


def test_checkpointing_errors():
    with pytest.raises(ValueError, match="declares no chunkable part"):
        with sk.nn.checkpointing(nn.Sequential(sk.nn.LIF()), every=4):
            pass
    with pytest.raises(ValueError, match="no submodule 'frob'"):
        with sk.nn.checkpointing(SeqNet(), every=4, parts=("frob",)):
            pass
    with pytest.raises(ValueError, match="lies inside the part"):
        with sk.nn.checkpointing(SeqNet(), every=4, parts=("body", "body.1")):
            pass
    with pytest.raises(ValueError, match="every must be an int >= 1"):
        with sk.nn.checkpointing(SeqNet(), every=0):
            pass
    model = SeqNet()
    with sk.nn.checkpointing(model, every=4), pytest.raises(RuntimeError, match="already replaced"):
        with sk.nn.checkpointing(model, every=4):
            pass
    assert "forward" not in model.body.__dict__


# --- fit: tbptt and checkpoint_every ------------------------------------------------------------------
def sequences(n=24, steps=16, dtype=F64) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 3
    x = torch.rand(n, steps, 4, generator=g, dtype=dtype) + 0.5 * y[:, None, None].to(dtype)
    ds = TensorDataset(x, y)
    ds.time_axis = 1  # held batch first, as the event datasets
    return ds


def trained(model, data, **cfg) -> dict[str, torch.Tensor]:
    config = TrainConfig(epochs=2, batch_size=8, lr=0.01, device="cpu", **cfg)
    result = fit(model, data, None, config, progress=False, log=False)
    assert len(result.history) == 2
    return {k: v.clone() for k, v in model.state_dict().items()}


def fresh(cls=SeqNet, **kwargs):
    torch.manual_seed(0)
    return cls(**kwargs).to(F64)


def same_weights(a, b, rtol=0.0) -> bool:
    return a.keys() == b.keys() and all(
        close(a[k], b[k], rtol) if rtol else torch.equal(a[k], b[k]) for k in a
    )


def test_tbptt_of_the_whole_sequence_is_plain_training():
    data = sequences()
    base = trained(fresh(), data)
    assert same_weights(trained(fresh(), data, tbptt=16), base)
    assert same_weights(trained(fresh(), data, tbptt=100), base)
    assert not same_weights(trained(fresh(), data, tbptt=5), base, rtol=1e-6)  # 4 steps per batch
    # checkpointing changes no result (float64 rounding of the weight gradients' summation order)
    assert same_weights(trained(fresh(), data, checkpoint_every=5), base, rtol=1e-10)
    assert same_weights(trained(fresh(), data, tbptt=16, checkpoint_every=3), base, rtol=1e-10)


def test_tbptt_on_static_images_through_the_models_steps():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(24) % 3
    data = TensorDataset(torch.rand(24, 10, generator=g, dtype=F64) + 0.3 * y[:, None].to(F64), y)
    mlp = dict(cls=sk.models.SpikingMLP, n_in=10, hidden=(8,), n_out=3, steps=9)
    base = trained(fresh(**mlp), data)
    assert same_weights(trained(fresh(**mlp), data, tbptt=9), base)
    model = fresh(**mlp)
    trained(model, data, tbptt=4)
    assert model.steps == 9  # restored after each batch
    # direct encoding: in a stream, chunks of steps give the plain run (the membrane readout is a mean)
    img = data.tensors[0][:5]
    with torch.no_grad():
        whole, parts = model(img), []
        with sk.nn.Stream(model):
            for k in (4, 4, 1):
                model.steps = k
                parts.append(k / 9 * model(img))
        model.steps = 9
    assert close(sum(parts), whole)


def test_fit_refuses_what_it_cannot_chunk():
    data = sequences()
    ann = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    with pytest.raises(ValueError, match="tbptt: Stream: Sequential contains no stateful spikekit layer"):
        trained(ann, data, tbptt=4)
    with pytest.raises(ValueError, match="checkpoint_every: Sequential declares no chunkable part"):
        trained(ann, data, checkpoint_every=4)
    static = TensorDataset(torch.rand(8, 4), torch.arange(8) % 3)
    model = nn.Sequential(nn.Linear(4, 3), sk.nn.LIF(reset="none"))
    with pytest.raises(ValueError, match="static samples .* no integer attribute steps"):
        trained(model, static, tbptt=4)
    for bad in (0, -1, True, 1.5):
        with pytest.raises((TypeError, ValueError), match="tbptt"):
            TrainConfig(tbptt=bad)
        with pytest.raises((TypeError, ValueError), match="checkpoint_every"):
            TrainConfig(checkpoint_every=bad)
    assert TrainConfig.from_dict(TrainConfig(tbptt=3).to_dict()).tbptt == 3


def test_resume_may_change_checkpoint_every(tmp_path):
    data = sequences(n=16)
    cfg = TrainConfig(epochs=1, batch_size=8, lr=0.01, device="cpu")
    fit(fresh(), data, None, cfg, out_dir=tmp_path, progress=False, log=False)
    more = TrainConfig(epochs=2, batch_size=8, lr=0.01, device="cpu", checkpoint_every=4)
    fit(fresh(), data, None, more, out_dir=tmp_path, resume=True, progress=False, log=False)
    with pytest.raises(ValueError, match="resume: the checkpoint was trained with"):
        fit(fresh(), data, None, TrainConfig(epochs=3, batch_size=8, lr=0.01, device="cpu", tbptt=4),
            out_dir=tmp_path, resume=True, progress=False, log=False)  # fmt: skip


def test_checkpoint_every_on_a_cnn_with_batchnorm_in_its_body():
    """SpikingCNN's body holds BatchNorm layers (training mode): they run over the whole sequence between
    the chunked runs, so training, running statistics included, is unchanged."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(16) % 2
    data = TensorDataset(torch.rand(16, 1, 8, 8, generator=g, dtype=F64) + 0.3 * y[:, None, None, None], y)
    cnn = dict(cls=sk.models.SpikingCNN, image_size=8, channels=(2, 3), hidden=4, n_out=2, steps=6)

    def chunkable_cnn():
        model = fresh(**cnn)
        model.chunkable = ("body",)  # what the class declares
        return model

    base = trained(fresh(**cnn), data)
    assert same_weights(trained(chunkable_cnn(), data, checkpoint_every=4), base, rtol=1e-10)
