"""sk.models.LSNN (Bellec et al. 2018: recurrent LIF + ALIF neurons, leaky readout) and the recipes that
train it: against a float64 loop written from its equations (outputs and gradients), its LIF half never
adapts, no self-connections, bad input refused, a checkpoint of ``fit`` rebuilt by ``sk.models.load``, and
``spikekit train --dataset randman`` / ``store-recall`` resolving to a recipe that learns."""

from __future__ import annotations

import json
import math

import pytest
import torch

import spikekit as sk
from spikekit.cli import main
from spikekit.cli.recipes import DEFAULT_MODELS, default_model, recipe

N_IN, N_LIF, N_ALIF, N_OUT = 6, 3, 4, 3


def _model(**kwargs) -> sk.models.LSNN:
    torch.manual_seed(0)
    args = {"n_in": N_IN, "n_lif": N_LIF, "n_alif": N_ALIF, "n_out": N_OUT, "input_gain": 4.0, **kwargs}
    return sk.models.LSNN(**args).double()


def _spikes(steps: int = 30, batch: int = 4, rate: float = 0.3) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return (torch.rand(steps, batch, N_IN, generator=g) < rate).double()


def reference(model: sk.models.LSNN, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The LSNN's equations, one step at a time, from its weights (float64)."""
    w_in, w_out, b = model.inp.weight, model.out.weight, model.out.bias
    w_rec = model.rec.weight * (1 - torch.eye(model.n, dtype=x.dtype))
    adapt = torch.tensor([0.0] * model.n_lif + [model.jump / (1 - model.rho)] * model.n_alif, dtype=x.dtype)
    batch = x.shape[1]
    v = a = s = torch.zeros(batch, model.n, dtype=x.dtype)
    y = torch.zeros(batch, w_out.shape[0], dtype=x.dtype)
    out: dict[str, list[torch.Tensor]] = {"readout": [], "spikes": [], "membrane": [], "threshold": []}
    for t in range(x.shape[0]):
        v = model.beta * v + x[t] @ w_in.T + s @ w_rec.T
        theta = 1 + adapt * a
        s = model.surrogate(v - theta)  # H(v - theta), the surrogate's gradient
        out["membrane"].append(v)
        out["threshold"].append(theta)
        v = v - s.detach() * theta  # reset by subtraction, cut from the gradient
        a = model.rho * a + (1 - model.rho) * s
        y = model.kappa * y + s @ w_out.T + b
        out["readout"].append(y)
        out["spikes"].append(s)
    return {k: torch.stack(vs) for k, vs in out.items()}


def test_lsnn_equals_its_equations_outputs_and_gradients():
    model, x = _model(), _spikes()
    trace = model.trace(x)
    ref = reference(model, x)
    for field in ("readout", "spikes", "membrane", "threshold"):
        torch.testing.assert_close(getattr(trace, field), ref[field], rtol=0, atol=1e-12)
    assert (
        0.02 < float(trace.spikes.detach().mean()) < 0.5
    )  # the comparison covers firing, resets and adaptation
    torch.testing.assert_close(model.per_step(x), ref["readout"], rtol=0, atol=1e-12)
    torch.testing.assert_close(model(x), ref["readout"].mean(0), rtol=0, atol=1e-12)
    last = _model(readout="last")
    torch.testing.assert_close(last(x), ref["readout"][-1], rtol=0, atol=1e-12)

    target = torch.randn(
        x.shape[0], x.shape[1], N_OUT, dtype=x.dtype, generator=torch.Generator().manual_seed(2)
    )
    (model.per_step(x) * target).sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    (reference(model, x)["readout"] * target).sum().backward()
    for name, p in model.named_parameters():
        assert grads[name].abs().sum() > 0, name
        torch.testing.assert_close(grads[name], p.grad, rtol=1e-10, atol=1e-12, msg=name)


def test_the_lif_half_never_adapts_and_the_alif_half_does():
    model, x = _model(), _spikes(rate=0.5)
    adapt = model.adapt()
    assert adapt[:N_LIF].eq(0).all() and torch.allclose(
        adapt[N_LIF:], torch.tensor(0.9 / (1 - model.rho)).double()
    )
    with torch.no_grad():
        trace = model.trace(x)
    assert trace.spikes[..., :N_LIF].sum() > 0  # the LIF neurons fire ...
    assert trace.threshold[..., :N_LIF].eq(1.0).all()  # ... and their threshold stays 1
    assert trace.threshold[..., N_LIF:].max() > 1.5  # a spike raises an ALIF threshold by jump = 0.9
    # one ALIF spike raises that neuron's threshold by `jump` at the next step
    t, b, i = (trace.spikes[:-1, :, N_LIF:] == 1).nonzero()[0].tolist()
    rise = trace.threshold[t + 1, b, N_LIF + i] - model.rho * (trace.threshold[t, b, N_LIF + i] - 1) - 1
    assert float(rise) == pytest.approx(0.9, abs=1e-12)
    # n_alif = 0 is a recurrent LIF network: nothing adapts
    lif_only = _model(n_lif=5, n_alif=0)
    assert lif_only.trace(x).threshold.eq(1.0).all()


def test_no_self_connections_whatever_the_diagonal_holds():
    model, x = _model(), _spikes()
    assert model.rec.weight.diagonal().eq(0).all()
    before = model.per_step(x)
    with torch.no_grad():
        model.rec.weight.diagonal().fill_(5.0)  # e.g. loaded, or written by a weight decay of one's own
    torch.testing.assert_close(model.per_step(x), before, rtol=0, atol=0)
    model.per_step(x).sum().backward()
    assert model.rec.weight.grad.diagonal().eq(0).all() and model.rec.weight.grad.abs().sum() > 0


def test_input_gain_scales_the_initial_input_weights_only():
    torch.manual_seed(0)
    plain = sk.models.LSNN(n_in=N_IN, n_lif=N_LIF, n_alif=N_ALIF, n_out=N_OUT)
    torch.manual_seed(0)
    gained = sk.models.LSNN(n_in=N_IN, n_lif=N_LIF, n_alif=N_ALIF, n_out=N_OUT, input_gain=5.0)
    torch.testing.assert_close(gained.inp.weight, 5 * plain.inp.weight)
    assert torch.equal(gained.rec.weight, plain.rec.weight) and torch.equal(
        gained.out.weight, plain.out.weight
    )


def test_bad_input_and_arguments_are_refused_by_name():
    model = _model()
    x = _spikes()
    with pytest.raises(ValueError, match="did you forget the time axis"):
        model(x[0])
    with pytest.raises(ValueError, match=r"with 6 values per step, got shape \(30, 4, 5\)"):
        model(x[..., :5])
    with pytest.raises(ValueError, match="at least one step"):
        model(x[:0])
    with pytest.raises(TypeError, match="floating-point"):
        model(x.long())
    with pytest.raises(TypeError, match="torch.Tensor"):
        model(x.tolist())
    with pytest.raises(TypeError, match="model is torch.float64"):
        model(x.float())
    bad = x.clone()
    bad[3, 1, 2] = math.nan
    with pytest.raises(ValueError, match="LSNN: x must be finite"):
        model(bad)
    assert model(x.reshape(30, 4, 2, 3)).shape == (4, N_OUT)  # [T, B, ...] with n_in values per step
    for kwargs, error, match in (
        ({"rho": 1.0}, ValueError, "rho"),
        ({"beta": 0.0}, ValueError, "beta"),
        ({"kappa": 1.5}, ValueError, "kappa"),
        ({"jump": -0.1}, ValueError, "jump"),
        ({"input_gain": 0.0}, ValueError, "input_gain"),
        ({"input_gain": math.inf}, ValueError, "input_gain must be a finite number"),
        ({"beta": "0.9"}, TypeError, "beta must be a finite number"),
        ({"n_lif": 0, "n_alif": 0}, ValueError, r"n_lif \+ n_alif must be >= 1"),
        ({"n_alif": 2.5}, TypeError, "n_alif must be an int"),
        ({"readout": "rate"}, ValueError, "readout must be one of 'mean', 'last'"),
        ({"surrogate": sk.surrogate.atan}, TypeError, "surrogate instance"),
    ):
        with pytest.raises(error, match=match):
            sk.models.LSNN(**kwargs)


def test_registered_and_rebuilt_from_a_fit_checkpoint(tmp_path):
    assert (
        sk.models.MODELS.info("LSNN")["kind"] == "supervised"
        and sk.models.model_class("lsnn") is sk.models.LSNN
    )
    model = sk.models.build_model("lsnn", (8,), 2, n_lif=4, n_alif=4, readout="last")
    assert (model.inp.in_features, model.out.out_features, model.readout) == (8, 2, "last")
    with pytest.raises(TypeError, match="unknown argument"):
        sk.models.build_model("lsnn", (8,), 2, hidden=4)

    train, test = sk.data.load("store-recall", train_size=64, test_size=16, slots=3, channels_per_group=2)
    torch.manual_seed(0)
    model = sk.models.LSNN(n_in=8, n_lif=4, n_alif=4, readout="last", surrogate=sk.surrogate.atan(1.0))
    cfg = sk.train.TrainConfig(epochs=1, batch_size=32, device="cpu")
    sk.train.fit(model, train, test, cfg, out_dir=tmp_path, progress=False, log=False)
    again = sk.models.load(tmp_path)
    assert type(again) is sk.models.LSNN and not again.training and again.init_config == model.init_config
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    x = test.time_first(test.inputs)
    torch.testing.assert_close(again(x), model.eval()(x), rtol=0, atol=0)


def test_recipes_resolve_for_the_temporal_tasks():
    kwargs, cfg = recipe("lsnn", (32,), dataset="store-recall")
    assert kwargs == {"readout": "last"} and cfg.grad_clip == 1.0 and cfg.batch_size == 64
    kwargs, cfg = recipe("lsnn", (20,), dataset="Randman")
    assert kwargs == {"input_gain": 5.0} and cfg.epochs == 20
    kwargs, cfg = recipe("spiking-mlp", (20,), dataset="randman")
    assert kwargs == {"hidden": (128,), "beta": 0.95, "input_gain": 5.0} and cfg.schedule == "constant"
    assert default_model("randman") == "spiking-mlp" and default_model("store_recall") == "lsnn"
    assert default_model("yin-yang") == "spiking-mlp" and default_model("mnist") is None
    for dataset, model in DEFAULT_MODELS.items():
        recipe(model, (4,), dataset=dataset)  # every default has a recipe
    with pytest.raises(ValueError, match="model 'lsnn' has no recipe for small data; it has recipes for"):
        recipe("lsnn", (1, 8, 8))


def test_spikekit_train_lsnn_on_store_recall(tmp_path, capsys):
    out = tmp_path / "result.json"
    argv = ["train", "--model", "lsnn", "--dataset", "store-recall", "--epochs", "1", "--train-limit", "128"]
    argv += ["--test-limit", "64", "--json", str(out), "--out", str(tmp_path / "run")]
    assert main(argv) == 0
    assert "lsnn on store-recall: test accuracy" in capsys.readouterr().out
    row = json.loads(out.read_text())
    assert row["model_kwargs"] == {"readout": "last"} and row["config"]["grad_clip"] == 1.0
    again = sk.models.load(tmp_path / "run")
    assert type(again) is sk.models.LSNN and again.readout == "last" and again.n_alif == 50


@pytest.mark.skipif(
    not sk.models.accepts("spiking-mlp", "input_gain"),
    reason="SpikingMLP has no input_gain yet (the randman recipe needs it)",
)
def test_spikekit_train_randman_learns_in_one_epoch(tmp_path, capsys):
    out = tmp_path / "result.json"
    argv = ["train", "--model", "spiking-mlp", "--dataset", "randman", "--epochs", "1"]
    argv += ["--train-limit", "1500", "--test-limit", "300", "--json", str(out)]
    assert main(argv) == 0
    assert "spiking-mlp on randman: test accuracy" in capsys.readouterr().out
    row = json.loads(out.read_text())
    assert row["model_kwargs"]["input_gain"] == 5.0
    assert row["test_acc"] > 0.16  # 10 classes: chance is 0.10 (300 test samples: sd 0.017)
