"""Reference models: the seed network against the original code, shapes, options and bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as tF
from torch import nn

import spikekit as sk
from test_seed_neuron import OriginalLayer


class OriginalSpikingNet(nn.Module):
    """The original ``SpikingNet.forward_through_time`` with its ``InputDataToSpikingPerceptronLayer``."""

    def __init__(self, fc1: nn.Linear, fc2: nn.Linear, n_time_steps: int):
        super().__init__()
        self.layer1, self.layer2 = OriginalLayer(fc1), OriginalLayer(fc2)
        self.n_time_steps = n_time_steps

    def forward(self, x):
        self.layer1.reset_state(), self.layer2.reset_state()
        x = x.view(x.size(0), -1)
        all_layer2_states = []
        for _ in range(self.n_time_steps):
            xi = torch.rand(x.shape) * x  # the input conversion: a fresh uniform mask each step
            _, layer1_output = self.layer1(xi)
            layer2_state, _ = self.layer2(layer1_output)
            all_layer2_states.append(layer2_state)
        out = torch.stack(all_layer2_states).mean(0)  # the reducer the code ran ("sum" in its docstring)
        return tF.log_softmax(out, dim=-1)


def test_seed_snn_equals_the_original_network_forward_and_backward():
    torch.manual_seed(0)
    model = sk.models.SeedSNN(n_in=64, hidden=20, n_out=10, steps=16)
    original = OriginalSpikingNet(model.fc1, model.fc2, 16)
    images = torch.rand(8, 1, 8, 8)
    targets = torch.randint(0, 10, (8,))
    torch.manual_seed(1)
    ours = tF.log_softmax(model(images), dim=-1)
    loss = tF.nll_loss(ours, targets)
    g_ours = torch.autograd.grad(loss, [model.fc1.weight, model.fc2.weight])
    torch.manual_seed(1)
    theirs = original(images - 0.5)  # the original's Normalize((0.5,), (1.0,)) shift
    g_theirs = torch.autograd.grad(tF.nll_loss(theirs, targets), [model.fc1.weight, model.fc2.weight])
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)
    for a, b in zip(g_ours, g_theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    assert g_ours[0].abs().sum() > 0


def test_seed_snn_options():
    torch.manual_seed(0)
    images = torch.rand(4, 1, 8, 8)
    base = sk.models.SeedSNN(n_in=64, hidden=20, steps=10)
    torch.manual_seed(2)
    mean = base(images)
    summed = sk.models.SeedSNN(n_in=64, hidden=20, steps=10, reducer="sum")
    summed.load_state_dict(base.state_dict())
    torch.manual_seed(2)
    torch.testing.assert_close(summed(images), mean * 10)
    for kw in ({"reset": "prose"}, {"spike": "binary"}):
        m = sk.models.SeedSNN(n_in=64, hidden=20, steps=10, **kw)
        assert m(images).shape == (4, 10)
    with pytest.raises(ValueError, match=r"SeedSNN: reducer must be one of 'mean', 'sum'; got 'max'"):
        sk.models.SeedSNN(reducer="max")
    with pytest.raises(ValueError, match=r"SeedSNN: steps must be an int >= 1, got 0"):
        sk.models.SeedSNN(steps=0)


def test_seed_snn_uses_xavier_uniform_weights():
    torch.manual_seed(0)
    m = sk.models.SeedSNN()
    bound = (6 / (784 + 100)) ** 0.5
    assert m.fc1.weight.abs().max() <= bound and m.fc1.weight.abs().max() > 0.95 * bound


@pytest.mark.parametrize("encoder", ["direct", "poisson", "flicker"])
@pytest.mark.parametrize("readout", ["membrane", "rate"])
def test_spiking_mlp_shapes_and_gradients(encoder, readout):
    torch.manual_seed(0)
    m = sk.models.SpikingMLP(n_in=64, hidden=(32, 16), n_out=5, steps=6, encoder=encoder, readout=readout)
    x = torch.rand(7, 1, 8, 8)
    y = m(x)
    assert y.shape == (7, 5)
    y.sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_spiking_mlp_direct_encoding_equals_constant_current_sequence():
    torch.manual_seed(0)
    m = sk.models.SpikingMLP(n_in=64, hidden=(32,), n_out=5, steps=6)
    x = torch.rand(3, 1, 8, 8)
    seq = x.flatten(1).unsqueeze(0).expand(6, 3, 64)
    torch.testing.assert_close(m(x), m(seq))
    with pytest.raises(ValueError, match=r"SpikingMLP: expected images .* with 64 features per sample"):
        m(torch.rand(3, 10))


def test_spiking_mlp_membrane_readout_is_mean_output_membrane():
    torch.manual_seed(0)
    m = sk.models.SpikingMLP(n_in=4, hidden=(8,), n_out=3, steps=5)
    x = torch.rand(2, 4)
    with sk.record(m) as rec:
        logits = m(x)
    torch.testing.assert_close(logits, rec["out_lif"].v.mean(0))


def test_spiking_cnn_static_and_event_frames():
    torch.manual_seed(0)
    m = sk.models.SpikingCNN(in_channels=1, image_size=28, channels=(4, 8), hidden=16, steps=3)
    assert m(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    ev = sk.models.SpikingCNN(in_channels=2, image_size=34, channels=(4, 8), hidden=0, steps=3)
    assert ev(torch.rand(5, 2, 2, 34, 34)).shape == (2, 10)
    with pytest.raises(ValueError, match="too small for 3 pooling blocks"):
        sk.models.SpikingCNN(image_size=4, channels=(2, 2, 2))


def test_build_model_by_name():
    m = sk.models.build_model("spiking-mlp", (1, 8, 8), 10, steps=3)
    assert isinstance(m, sk.models.SpikingMLP) and m.steps == 3
    assert (
        sk.models.count_parameters(sk.models.build_model("seed-ann", (1, 28, 28), 10))
        == 784 * 100 + 100 + 1010
    )
    with pytest.raises(
        ValueError, match=r"unknown model 'resnet'; known: seed-snn, seed-ann, spiking-mlp"
    ) as err:
        sk.models.build_model("resnet", (1, 8, 8), 10)
    assert "diehl-cook" in str(err.value)


def test_models_registry_holds_factories_with_metadata():
    models = sk.models.MODELS
    assert models.names() == [
        "seed-snn",
        "seed-ann",
        "spiking-mlp",
        "spiking-cnn",
        "spiking-rnn",
        "lsnn",
        "diehl-cook",
    ]
    m = models["Spiking_MLP"](input_shape=(1, 8, 8), num_classes=10, steps=3)
    assert isinstance(m, sk.models.SpikingMLP) and m.steps == 3
    assert all(models.info(n)["help"] for n in models)
    assert {n: models.info(n)["kind"] for n in models}["diehl-cook"] == "unsupervised"
    assert {models.info(n)["kind"] for n in models if n != "diehl-cook"} == {"supervised"}
    assert sk.models.accepts("seed-snn", "steps") and not sk.models.accepts("seed-ann", "steps")
    assert sk.models.model_class("spiking-cnn") is sk.models.SpikingCNN


def test_diehl_cook_by_name_takes_param_fields():
    dc = sk.models.build_model("diehl-cook", (1, 4, 4), 3, n_neurons=5, time=20.0, potentiation="triplet")
    assert isinstance(dc, sk.models.DiehlCook) and sk.models.model_class("diehl-cook") is sk.models.DiehlCook
    assert (dc.n_input, dc.n_neurons, dc.num_classes) == (16, 5, 3)
    assert dc.params.time == 20.0 and dc.params.potentiation == "triplet"
    with pytest.raises(TypeError, match="unknown argument"):
        sk.models.build_model("diehl-cook", (1, 4, 4), 3, steps=4)


def test_importing_models_does_not_load_the_learning_rules():
    import subprocess
    import sys

    code = "import sys, spikekit.models; print(any(m.startswith('spikekit.learning') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_first_training_step_does_not_import_dynamo_or_sympy():
    """torch._dynamo (through torch.compiler.assume_constant_result) and sympy (through
    torch.broadcast_shapes) each cost a second or half one of every process's start on a slow machine."""
    import subprocess
    import sys

    code = (
        "import sys, torch, spikekit as sk\n"
        "m = sk.models.SpikingMLP(n_in=8, hidden=(6,), n_out=3, steps=4)\n"
        "m(torch.rand(2, 8)).sum().backward()\n"
        "sk.nn.ALIF()(torch.rand(3, 2, 4))\n"
        "print(sorted(name for name in ('torch._dynamo', 'sympy') if name in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_spiking_rnn_for_cochlea_sequences():
    torch.manual_seed(0)
    m = sk.models.build_model("spiking-rnn", (700,), 20, hidden=16)
    y = m(torch.rand(12, 3, 700))
    assert y.shape == (3, 20)
    y.sum().backward()
    assert m.rlif.weight.grad.abs().sum() > 0  # the recurrence is trained
    with pytest.raises(ValueError, match=r"SpikingRNN: expected a sequence \[T, B, \.\.\.\] with 700 values"):
        m(torch.rand(3, 700))
