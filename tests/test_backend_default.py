"""Fast by default (issue 16): every neuron module and reference model runs the fastest engine proven equal
to the reference loop unless told otherwise; the choice shows in the repr, ``sk.nn.engines`` and the CLI."""

from __future__ import annotations

import inspect

import pytest
import torch

import spikekit as sk
from spikekit.cli import main
from spikekit.kernels import supports
from spikekit.kernels.cpp import available as cpp_available

needs_cpp = pytest.mark.skipif(not cpp_available(), reason="the C++ engine could not be built here")


@pytest.mark.parametrize("name", sorted(sk.nn.NEURONS))
def test_every_neuron_defaults_to_auto(name):
    cls = sk.nn.NEURONS[name]
    assert inspect.signature(cls.__init__).parameters["backend"].default == "auto"


@needs_cpp
@pytest.mark.parametrize("name", sorted(sk.nn.NEURONS))
def test_auto_resolves_to_the_fused_engine_where_one_exists(name):
    cls = sk.nn.NEURONS[name]
    m = cls(**cls.spec.example)
    engine = m.engine(torch.zeros(2, max(1, cls.spec.example.get("size", 3))))
    if supports(type(m).core_step):
        assert engine.startswith("fused") or engine == "reference"  # reference: a layout C++ lacks
    else:
        assert engine == "reference"
    assert f"backend='auto' -> {engine}" in repr(m)


@needs_cpp
def test_default_lif_runs_cpp_and_equals_the_reference_loop():
    torch.manual_seed(0)
    x = (torch.randn(40, 4, 30) * 0.8).requires_grad_()
    fast, ref = sk.nn.LIF(), sk.nn.LIF(backend="torch")
    assert fast.engine() == "fused:cpp" and ref.engine() == "reference"
    a, b = fast(x), ref(x)
    assert torch.equal(a, b)
    (ga,) = torch.autograd.grad(a.sum(), x)
    (gb,) = torch.autograd.grad(b.sum(), x)
    torch.testing.assert_close(ga, gb, rtol=1e-5, atol=1e-6)


@needs_cpp
@pytest.mark.parametrize(
    "build, x",
    [
        (lambda: sk.models.SpikingMLP(hidden=(32, 16)), torch.rand(8, 784)),
        (lambda: sk.models.SpikingCNN(channels=(4, 8), hidden=16), torch.rand(4, 1, 28, 28)),
        (lambda: sk.models.SpikingRNN(n_in=12, hidden=16, all_to_all=False), torch.rand(10, 4, 12)),
        (lambda: sk.models.SpikingRNN(n_in=12, hidden=16, all_to_all=True), torch.rand(10, 4, 12)),
        (lambda: sk.models.SeedSNN(n_in=784, hidden=32), torch.rand(4, 784)),
    ],
)
def test_reference_models_default_to_fused_and_equal_the_reference(build, x):
    torch.manual_seed(1)
    model = build()
    names = sk.nn.engines(model)
    assert names and all(e == "fused:cpp" for e in names.values()), names
    assert sk.nn.engines(model, device="cpu") == names  # what the CLI header asks: the same answer
    ref = build()
    ref.load_state_dict(model.state_dict())
    sk.nn.set_backend(ref, "torch")
    assert set(sk.nn.engines(ref).values()) == {"reference"}
    model.eval(), ref.eval()
    torch.manual_seed(2)
    out = model(x)
    torch.manual_seed(2)
    out_ref = ref(x)
    torch.testing.assert_close(out, out_ref, rtol=1e-5, atol=1e-6)
    g = torch.autograd.grad(out.square().sum(), list(model.parameters()), allow_unused=True)
    g_ref = torch.autograd.grad(out_ref.square().sum(), list(ref.parameters()), allow_unused=True)
    for a, b in zip(g, g_ref, strict=True):
        if a is not None or b is not None:
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_set_backend_checks_every_neuron_before_changing_any():
    model = sk.models.SpikingMLP(hidden=(8,))
    before = dict(sk.nn.engines(model))
    with pytest.raises(ValueError, match="backend"):
        sk.nn.set_backend(model, "fastest")
    if not sk.kernels.triton_usable("cpu"):
        with pytest.raises(RuntimeError, match="not available"):
            sk.nn.set_backend(model, "triton")
    assert sk.nn.engines(model) == before
    assert sk.nn.set_backend(model, "torch") is model
    assert sk.nn.engines_text(model) == "LIF x2 reference"
    assert sk.nn.engines_text(sk.models.SeedANN()) == "none (no spikekit.nn neuron module)"


@needs_cpp
def test_cli_header_names_the_engines_and_backend_flag(capsys):
    args = ["train", "--model", "spiking-mlp", "--epochs", "1", "--train-limit", "64", "--no-progress"]
    assert main(args) == 0
    assert "engines: LIF x2 fused:cpp" in capsys.readouterr().out
    assert main([*args, "--backend", "torch"]) == 0
    assert "engines: LIF x2 reference" in capsys.readouterr().out
    if not sk.kernels.triton_usable("cpu"):
        assert main([*args, "--backend", "triton"]) != 0
        err = capsys.readouterr().err
        assert "--backend triton" in err and "not available" in err and "Traceback" not in err
