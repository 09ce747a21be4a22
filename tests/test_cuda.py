"""CUDA checks, run by benchmarks/gpu_check.sh on a machine with a GPU (skipped everywhere else).

Every neuron x every backend that accepts it on CUDA: spikes bit-identical to the reference loop on the
same device, membranes and input gradients equal to the CPU float64 reference within float32 tolerance.
"""

from __future__ import annotations

import pytest
import torch

import spikekit as sk

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

NAMES = list(sk.nn.NEURONS)
BACKENDS = ("fused", "triton", "auto")


def _build(name: str, backend: str):
    cls = sk.nn.NEURONS[name]
    kwargs = dict(sk.functional.SPECS[name].example)
    try:
        return cls(**kwargs, backend=backend)
    except (ValueError, RuntimeError) as err:  # this backend does not take this neuron
        pytest.skip(f"{name} has no {backend!r} engine here: {err}")


def _drive(module, device, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    features = 1 if "size" in sk.functional.SPECS[module.spec.name].example else 64
    x = (torch.randn(50, 8, features, generator=g, dtype=torch.float64) * 0.6 + 0.3).to(dtype)
    x = x.to(device).requires_grad_(True)
    out, state = module.to(device=device, dtype=dtype).run(x)
    out.sum().backward()
    return out.detach(), x.grad.detach()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", NAMES)
def test_every_engine_on_cuda_equals_the_reference_loop(name, backend):
    fast = _build(name, backend)
    ref = _build(name, "torch")
    ref.load_state_dict(fast.state_dict())
    s_fast, g_fast = _drive(fast, "cuda")
    s_ref, g_ref = _drive(ref, "cuda")
    assert torch.equal(s_fast, s_ref), f"{name}/{backend}: spikes differ from the reference loop on CUDA"
    torch.testing.assert_close(g_fast, g_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_cuda_agrees_with_the_cpu(name):
    """Same float32 operations on two devices: only rounding (fused multiply-adds) may differ, so a spike
    may move where the membrane grazes the threshold, and rarely."""
    m = _build(name, "auto")
    cpu = _build(name, "torch")
    cpu.load_state_dict(m.state_dict())
    s_gpu, _ = _drive(m, "cuda")
    s_cpu, _ = _drive(cpu, "cpu")
    disagree = ((s_gpu.cpu() != 0) != (s_cpu != 0)).double().mean().item()
    assert disagree < 1e-2, f"{name}: {disagree:.2%} of spikes differ between CUDA and the CPU"


def test_streamed_flicker_and_linear_lif_run_on_cuda():
    model = sk.models.SeedSNN(input="streamed").cuda()
    x = torch.rand(16, 1, 28, 28, device="cuda")
    model(x).sum().backward()
    layer = sk.nn.LinearLIF(64, 32).cuda()
    layer(torch.rand(20, 4, 64, device="cuda")).sum().backward()
