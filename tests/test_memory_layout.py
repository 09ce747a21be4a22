"""Neurons on inputs stored in another order (channels_last): the fused engines run the permuted view that
is contiguous and give the same spikes, state and gradients as on the contiguous copy, keeping the layout;
SpikingCNN keeps its convolutions NHWC by default."""

from __future__ import annotations

import pytest
import torch

import spikekit as sk
from spikekit.nn.neuron import NEURONS

CL = torch.channels_last
ELEMENTWISE = ["LIF", "IF", "PLIF", "ALIF", "Synaptic", "RefractoryLIF", "SRM", "Izhikevich", "AdEx", "Alpha"]


def _pair(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(6 * 3, 4, 5, 5, generator=g) * 2).contiguous(memory_format=CL).unflatten(0, (6, 3))
    assert not x.is_contiguous()
    return x.detach().requires_grad_(), x.detach().contiguous().requires_grad_()


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_channels_last_input_gives_the_contiguous_result_and_keeps_its_layout(name):
    neuron = NEURONS[name](backend="fused")
    x, xc = _pair()
    out, state = neuron.run(x)
    ref, ref_state = neuron.run(xc)
    assert neuron.engine(x) == "fused:cpp"
    assert torch.equal(out, ref) and out.stride() == x.stride()
    assert all(torch.equal(a, b) for a, b in zip(state, ref_state, strict=True))
    g = torch.randn_like(ref)
    (out * g).sum().backward()
    (ref * g).sum().backward()
    torch.testing.assert_close(x.grad, xc.grad, rtol=0, atol=0)


def test_per_neuron_learned_parameters_follow_the_permutation():
    # a per-channel decay and a per-neuron threshold: their gradients reach the original tensors
    lif = sk.nn.LIF(beta=torch.linspace(0.5, 0.9, 4).view(4, 1, 1), threshold=torch.rand(4, 5, 5) + 0.5,
                    learn_beta=True, learn_threshold=True, backend="fused")  # fmt: skip
    ref = sk.nn.LIF(beta=lif.beta.detach().clone(), threshold=lif.threshold.detach().clone(),
                    learn_beta=True, learn_threshold=True, backend="torch")  # fmt: skip
    x, xc = _pair(1)
    out, ref_out = lif(x), ref(xc)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=0)
    g = torch.randn_like(ref_out)
    (out * g).sum().backward()
    (ref_out * g).sum().backward()
    torch.testing.assert_close(x.grad, xc.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(lif.beta.grad, ref.beta.grad, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(lif.threshold.grad, ref.threshold.grad, rtol=1e-4, atol=1e-5)


def test_a_layout_that_is_not_one_dense_block_per_step_still_runs_right():
    x = torch.randn(4, 3, 8, 6)[:, :, ::2].transpose(2, 3)  # strided, no dense order
    lif = sk.nn.LIF(backend="fused")
    torch.testing.assert_close(lif(x), sk.nn.LIF(backend="torch")(x.contiguous()), rtol=0, atol=0)


def test_spiking_cnn_runs_nhwc_by_default_and_equals_its_nchw_twin():
    torch.manual_seed(0)
    cnn = sk.models.SpikingCNN(channels=(8, 16), hidden=32, steps=4)
    nchw = sk.models.SpikingCNN(channels=(8, 16), hidden=32, steps=4, channels_last=False)
    nchw.load_state_dict(cnn.state_dict())
    conv = cnn.body[1].layer
    assert conv.weight.is_contiguous(memory_format=CL) and not conv.weight.is_contiguous()
    assert nchw.body[1].layer.weight.is_contiguous()
    x = torch.rand(6, 1, 28, 28)
    cnn.eval(), nchw.eval()
    a, b = cnn(x), nchw(x)
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    a.sum().backward()
    b.sum().backward()
    torch.testing.assert_close(conv.weight.grad, nchw.body[1].layer.weight.grad, rtol=1e-3, atol=1e-4)
    with pytest.raises(TypeError, match="channels_last must be a bool"):
        sk.models.SpikingCNN(channels_last="yes")
