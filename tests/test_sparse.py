"""The sparse spike Linear (``sk.nn.SpikeLinear``, ``spikekit.kernels.sparse``) equals ``nn.Linear``.

Outputs and gradients (input, weight, bias) against ``nn.Linear`` and a float64 reference, at densities 0
to 1, in float32 and float64, through the compiled kernel and the PyTorch fallback; non-binary input; bad
input; the automatic choice.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import spikekit as sk
from spikekit.kernels import sparse as S

DENSITIES = (0.0, 0.01, 0.05, 0.3, 1.0)
DTYPES = (torch.float32, torch.float64)


def _spikes(shape, density, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g) < density).to(dtype)


def _grads(layer, x, g):
    x = x.clone().requires_grad_()
    out = layer(x)
    grads = torch.autograd.grad(out, (x, layer.weight, layer.bias), g)
    return out.detach(), grads


def _tol(dtype, x, w):
    """The order-of-additions bound: 2 k u max|w| per value, k = active inputs per row (at most F)."""
    u = torch.finfo(dtype).eps / 2
    k = max(1, x.shape[-1])
    return 2 * k * u * float(w.detach().abs().max()) + 1e-30


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("density", DENSITIES)
@pytest.mark.parametrize("shape", [(7, 5, 40, 13), (3, 4, 2, 33, 9)])  # [T, B, (...), F] then O
def test_sparse_equals_linear(shape, density, dtype):
    *xs, n_out = shape
    torch.manual_seed(1)
    dense = nn.Linear(xs[-1], n_out).to(dtype)
    sparse = sk.nn.SpikeLinear.from_linear(dense, sparse=True)
    x = _spikes(xs, density, dtype)
    g = torch.randn(*xs[:-1], n_out, dtype=dtype)
    out_s, grads_s = _grads(sparse, x, g)
    assert sparse.last_sparse is True
    out_d, grads_d = _grads(dense, x, g)
    # float64 reference of the same maths
    ref = dense.double()
    out_r, grads_r = _grads(ref, x.double(), g.double())
    dense.to(dtype)
    tol = _tol(dtype, x, dense.weight)
    assert (out_s.double() - out_r).abs().max() <= tol
    assert (out_d.double() - out_r).abs().max() <= tol
    torch.testing.assert_close(out_s, out_d, rtol=0, atol=2 * tol)
    # input gradient and bias gradient: the dense path's own operations
    torch.testing.assert_close(grads_s[0], grads_d[0], rtol=0, atol=0)
    torch.testing.assert_close(grads_s[2], grads_d[2], rtol=0, atol=0)
    # weight gradient: sums of g over the active steps, in another order
    gtol = 2 * x[..., 0].numel() * torch.finfo(dtype).eps / 2 * float(g.abs().max()) + 1e-30
    assert (grads_s[1].double() - grads_r[1]).abs().max() <= gtol
    torch.testing.assert_close(grads_s[1], grads_d[1], rtol=0, atol=2 * gtol)
    if density == 0.0:  # nothing to add but the bias: bit for bit
        assert torch.equal(out_s, out_d)


def test_at_most_two_active_inputs_is_bitwise():
    torch.manual_seed(2)
    dense = nn.Linear(50, 20)
    sparse = sk.nn.SpikeLinear.from_linear(dense, sparse=True)
    x = torch.zeros(4, 6, 50)
    for t in range(4):
        for b in range(6):
            x[t, b, torch.randperm(50)[: (t + b) % 3]] = 1.0  # 0, 1 or 2 active inputs per row
    assert torch.equal(sparse(x), dense(x))


@pytest.mark.parametrize("density", (0.0, 0.1, 1.0))
def test_torch_fallback_equals_kernel(density, monkeypatch):
    torch.manual_seed(3)
    layer = sk.nn.SpikeLinear(30, 7, sparse=True).double()
    x = _spikes((5, 3, 30), density, torch.float64)
    g = torch.randn(5, 3, 7, dtype=torch.float64)
    out_k, grads_k = _grads(layer, x, g)
    monkeypatch.setattr(S, "_load", lambda: None)
    out_t, grads_t = _grads(layer, x, g)
    torch.testing.assert_close(out_t, out_k, rtol=1e-12, atol=1e-12)
    for a, b in zip(grads_t, grads_k, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_no_bias_and_no_input_grad():
    torch.manual_seed(4)
    dense = nn.Linear(64, 32, bias=False)
    sparse = sk.nn.SpikeLinear.from_linear(dense, sparse=True)
    x = _spikes((6, 4, 64), 0.1, torch.float32)
    out = sparse(x)
    assert out.shape == (6, 4, 32)
    (dw,) = torch.autograd.grad(out.square().sum(), (sparse.weight,))
    (dw_ref,) = torch.autograd.grad(dense(x).square().sum(), (dense.weight,))
    torch.testing.assert_close(dw, dw_ref, rtol=1e-5, atol=1e-5)


def test_state_dict_and_module_contract():
    lin = nn.Linear(10, 3)
    layer = sk.nn.SpikeLinear(10, 3)
    layer.load_state_dict(lin.state_dict())
    assert isinstance(layer, nn.Linear)
    assert set(layer.state_dict()) == {"weight", "bias"}
    assert "sparse='auto'" in repr(layer)
    shared = sk.nn.SpikeLinear.from_linear(lin)
    assert shared.weight is lin.weight and shared.bias is lin.bias


def test_non_binary_input():
    layer = sk.nn.SpikeLinear(8, 4, sparse=True)
    x = torch.zeros(3, 2, 8)
    x[1, 0, 3] = 0.5  # a graded spike
    with pytest.raises(ValueError, match="binary"):
        layer(x)
    auto = sk.nn.SpikeLinear.from_linear(layer, sparse="auto")
    torch.testing.assert_close(auto(x), nn.functional.linear(x, layer.weight, layer.bias))
    assert auto.last_sparse is False  # routed to the dense path
    x[1, 0, 3] = -1.0
    with pytest.raises(ValueError, match="binary"):
        layer(x)


@pytest.mark.parametrize("mode", ("auto", True, False))
@pytest.mark.parametrize("bad", (float("nan"), float("inf")))
def test_non_finite_input_refused(mode, bad):
    layer = sk.nn.SpikeLinear(8, 4, sparse=mode)
    x = torch.zeros(3, 2, 8)
    x[2, 1, 5] = bad
    with pytest.raises(ValueError, match="finite"):
        layer(x)


def test_bad_input():
    layer = sk.nn.SpikeLinear(8, 4)
    with pytest.raises(ValueError, match="time axis"):
        layer(torch.zeros(2, 8))
    with pytest.raises(ValueError, match="in_features"):
        layer(torch.zeros(3, 2, 9))
    with pytest.raises(ValueError, match="time step"):
        layer(torch.zeros(0, 2, 8))
    with pytest.raises(TypeError, match="floating-point"):
        layer(torch.zeros(3, 2, 8, dtype=torch.int64))
    with pytest.raises(TypeError, match="floating-point"):
        layer(torch.zeros(3, 2, 8, dtype=torch.bool))
    with pytest.raises(TypeError, match="dtype"):
        layer(torch.zeros(3, 2, 8, dtype=torch.float64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        layer([[[0.0] * 8]])
    with pytest.raises(ValueError, match="sparse"):
        sk.nn.SpikeLinear(8, 4, sparse="yes")
    with pytest.raises(ValueError, match="sparse=True"):
        sk.nn.SpikeLinear(8, 4, sparse=True).to(torch.bfloat16)(torch.zeros(3, 2, 8, dtype=torch.bfloat16))
    with pytest.raises(TypeError, match="nn.Linear"):
        sk.nn.SpikeLinear.from_linear(nn.Conv1d(1, 1, 1))


def test_auto_choice_follows_density():
    torch.manual_seed(5)
    layer = sk.nn.SpikeLinear(512, 512)
    rate = S.crossover(512, 512)
    assert 0.05 < rate < 0.5
    low = _spikes((20, 16, 512), 0.01, torch.float32)
    high = _spikes((20, 16, 512), 0.8, torch.float32)
    layer(low)
    assert layer.last_sparse is S.sparse_available()
    layer(high)
    assert layer.last_sparse is False
    # a narrow layer gains little from sparsity: its crossover is lower than a wide one's
    assert S.crossover(100, 10) < S.crossover(784, 100) < S.crossover(512, 512)
    # the estimate reads a sample of the rows and is close to the true rate
    x = _spikes((25, 128, 100), 0.2, torch.float32)
    assert abs(S.spike_rate_estimate(x.reshape(-1, 100)) - 0.2) < 0.03


def test_auto_without_kernel_stays_dense(monkeypatch):
    monkeypatch.setattr(S, "_load", lambda: None)
    layer = sk.nn.SpikeLinear(64, 64)
    layer(_spikes((4, 4, 64), 0.01, torch.float32))
    assert layer.last_sparse is False


def test_trains_like_linear():
    """A few SGD steps on a spiking MLP give the same weights with the sparse layer as with nn.Linear."""

    def net(sparse):
        torch.manual_seed(6)
        fc2 = nn.Linear(20, 5) if sparse is None else sk.nn.SpikeLinear(20, 5, sparse=sparse)
        return nn.Sequential(nn.Linear(12, 20), sk.nn.LIF(), fc2)

    torch.manual_seed(7)
    x = torch.rand(10, 8, 12) * 2
    y = torch.randint(0, 5, (8,))
    finals = []
    for sparse in (None, True):
        model = net(sparse).double()
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        for _ in range(5):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x.double()).mean(0), y)
            loss.backward()
            opt.step()
        finals.append([p.detach().clone() for p in model.parameters()])
    for a, b in zip(*finals, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
