"""LinearLIF: ``memory="recompute"`` == ``memory="fast"`` == Linear + a LIF loop written from the equations.

Reference (float64, differentiated by autograd): ``I = x W^T + b``; per step ``v = beta v + I_t``;
``s = H(v - thr)`` (with the surrogate's gradient); reset ``v - s thr`` | ``v (1 - s)`` | ``v``.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as tf

import spikekit as sk
from spikekit import functional as F
from spikekit.cli._bench_measure import saved_bytes

RESETS = ("subtract", "zero", "none")
MODES = (("fast", "torch"), ("fast", "fused"), ("recompute", "fused"))
# (T, B, extra step dims, in, out, per-neuron parameters)
SHAPES = ((12, 3, (), 5, 4, False), (7, 2, (3,), 6, 5, True))


def reference(x, weight, bias, v0, beta, thr, reset, surrogate, detach=False):
    """Spikes and final membrane, from the equations (autograd gives the gradients)."""
    current = tf.linear(x, weight, bias)
    v, out = v0, []
    for i_t in current.unbind(0):
        v = beta * v + i_t
        s = surrogate(v - thr)
        r = s.detach() if detach else s
        if reset == "subtract":
            v = v - r * thr
        elif reset == "zero":
            v = v * (1 - r)
        out.append(s)
    return torch.stack(out), v


def make(n_in, n_out, *, memory, backend, reset="subtract", per_neuron=False, bias=True, detach=False,
         surrogate=None, dtype=torch.float64, seed=0):  # fmt: skip
    torch.manual_seed(seed)
    layer = sk.nn.LinearLIF(
        n_in, n_out, bias=bias, beta=0.8, threshold=0.9, reset=reset, surrogate=surrogate,
        detach_reset=detach, learn_beta=True, learn_threshold=True,
        shape=n_out if per_neuron else None, backend=backend, memory=memory,
    )  # fmt: skip
    with torch.no_grad():
        if per_neuron:
            layer.beta.copy_(torch.linspace(0.6, 0.95, n_out))
            layer.threshold.copy_(torch.linspace(0.7, 1.2, n_out))
        layer.weight.mul_(2.0)
    return layer.to(dtype)


def inputs(steps, batch, extra, n_in, n_out, dtype=torch.float64, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(steps, batch, *extra, n_in, generator=g, dtype=torch.float64) * 1.5).to(dtype)
    v0 = (torch.rand(batch, *extra, n_out, generator=g, dtype=torch.float64) * 0.8).to(dtype)
    ws = torch.randn(steps, batch, *extra, n_out, generator=g, dtype=torch.float64).to(dtype)
    wv = torch.randn(batch, *extra, n_out, generator=g, dtype=torch.float64).to(dtype)
    return x, v0, ws, wv


def grads_of(layer, x, v0, ws, wv, *, fn=None):
    """Spikes, final membrane and gradients (x, v0, then every parameter) of a loss on both."""
    x = x.clone().requires_grad_(True)
    v0 = v0.clone().requires_grad_(True)
    if fn is None:
        s, state = layer.run(x, F.LIFState(v0))
        v_end = state.v
    else:
        s, v_end = fn(x, v0)
    ((s * ws).sum() + (v_end * wv).sum()).backward()
    params = [layer.weight, layer.bias, layer.beta, layer.threshold]
    return s.detach(), v_end.detach(), [x.grad, v0.grad] + [p.grad for p in params if p is not None]


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


@pytest.mark.parametrize("shape", SHAPES, ids=["BF", "BCF-per-neuron"])
@pytest.mark.parametrize("memory,backend", MODES, ids=["-".join(m) for m in MODES])
@pytest.mark.parametrize("reset", RESETS)
def test_equals_reference_float64(reset, memory, backend, shape):
    steps, batch, extra, n_in, n_out, per_neuron = shape
    layer = make(n_in, n_out, memory=memory, backend=backend, reset=reset, per_neuron=per_neuron)
    x, v0, ws, wv = inputs(steps, batch, extra, n_in, n_out)
    got = grads_of(layer, x, v0, ws, wv)

    def ref(x, v0):
        return reference(x, layer.weight, layer.bias, v0, layer.beta, layer.threshold, reset, layer.surrogate)

    want = grads_of(layer.zero_grad(set_to_none=True) or layer, x, v0, ws, wv, fn=ref)
    assert 0.05 < float(want[0].mean()) < 0.95  # the check means something: some spikes, not all
    assert torch.equal(got[0], want[0])
    torch.testing.assert_close(got[1], want[1], rtol=1e-12, atol=1e-12)
    assert len(got[2]) == len(want[2]) == 6
    for g, w in zip(got[2], want[2], strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("detach", [False, True])
def test_recompute_no_bias_detach_reset(detach):
    layer = make(5, 4, memory="recompute", backend="fused", bias=False, detach=detach)
    x, v0, ws, wv = inputs(10, 3, (), 5, 4)
    got = grads_of(layer, x, v0, ws, wv)

    def ref(x, v0):
        p = layer
        return reference(x, p.weight, None, v0, p.beta, p.threshold, "subtract", p.surrogate, detach)

    want = grads_of(layer.zero_grad(set_to_none=True) or layer, x, v0, ws, wv, fn=ref)
    assert torch.equal(got[0], want[0])
    for g, w in zip(got[2], want[2], strict=True):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


class _MyAtan(sk.surrogate.atan):
    """Not a built-in type: the fused backend runs its PyTorch engine."""


def test_recompute_torch_engine():
    layer = make(5, 4, memory="recompute", backend="fused", surrogate=_MyAtan())
    x = inputs(9, 2, (), 5, 4)[0]
    assert sk.kernels.engine_name(F.lif_step, x, layer.params(), "fused") == "torch"
    fast = make(5, 4, memory="fast", backend="torch", surrogate=_MyAtan())
    a, b = grads_of(layer, *inputs(9, 2, (), 5, 4)), grads_of(fast, *inputs(9, 2, (), 5, 4))
    assert torch.equal(a[0], b[0])
    for g, w in zip(a[2], b[2], strict=True):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", [(40, 4, 16, 12), (25, 3, 33, 7)])
def test_recompute_equals_fast_float32(shape):
    steps, batch, n_in, n_out = shape
    recompute = make(n_in, n_out, memory="recompute", backend="fused", dtype=torch.float32)
    fast = make(n_in, n_out, memory="fast", backend="fused", dtype=torch.float32)
    data = inputs(steps, batch, (), n_in, n_out, dtype=torch.float32)
    a, b = grads_of(recompute, *data), grads_of(fast, *data)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    for g, w in zip(a[2], b[2], strict=True):
        assert g.dtype == torch.float32
        assert rel(g, w) <= 1e-5


def test_trace_and_membrane_gradient():
    """The membrane returned by trace is differentiable in recompute mode too (the engine's ``gh``)."""
    out = []
    for memory in ("recompute", "fast"):
        layer = make(6, 5, memory=memory, backend="fused")
        x, v0, ws, wv = inputs(11, 2, (), 6, 5)
        x.requires_grad_(True)
        s, v, state = layer.trace(x, F.LIFState(v0))
        ((s * ws).sum() + (v * ws.flip(0)).sum() + (state.v * wv).sum()).backward()
        out.append((s, v.detach(), x.grad, layer.weight.grad, layer.bias.grad, layer.beta.grad))
    for a, b in zip(*out, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_chunked_run_and_steps_equal_one_call():
    layer = make(5, 4, memory="recompute", backend="fused")
    x, v0, _, _ = inputs(14, 3, (), 5, 4)
    whole, end = layer.run(x, F.LIFState(v0))
    a, state = layer.run(x[:6], F.LIFState(v0))
    b, state = layer.run(x[6:], state)
    assert torch.equal(torch.cat([a, b]), whole) and torch.equal(state.v, end.v)
    state, outs = F.LIFState(v0), []
    for x_t in x:
        o, state = layer.step(x_t, state)
        outs.append(o)
    assert torch.equal(torch.stack(outs).detach(), whole.detach())
    torch.testing.assert_close(state.v, end.v, rtol=0, atol=1e-12)
    with torch.no_grad():
        assert torch.equal(layer(x), layer.run(x)[0])


def test_from_modules_shares_parameters_and_equals_lif_of_linear():
    torch.manual_seed(0)
    linear = torch.nn.Linear(6, 5).double()
    lif = sk.nn.LIF(beta=0.85, threshold=0.6, learn_beta=True, backend="fused").double()
    layer = sk.nn.LinearLIF.from_modules(linear, lif)
    assert layer.weight is linear.weight and layer.bias is linear.bias and layer.beta is lif.beta
    x = inputs(9, 2, (), 6, 5)[0]
    layer(x).sum().backward()
    got = [p.grad.clone() for p in (linear.weight, linear.bias, lif.beta)]
    for p in (linear.weight, linear.bias, lif.beta):
        p.grad = None
    lif(linear(x)).sum().backward()
    for g, p in zip(got, (linear.weight, linear.bias, lif.beta), strict=True):
        torch.testing.assert_close(g, p.grad, rtol=1e-10, atol=1e-12)


def test_recompute_saves_only_the_layer_input():
    steps, batch, n = 200, 4, 16
    fast = make(n, n, memory="fast", backend="fused", dtype=torch.float32)
    recompute = make(n, n, memory="recompute", backend="fused", dtype=torch.float32)
    x = inputs(steps, batch, (), n, n, dtype=torch.float32)[0]
    sizes = {
        name: saved_bytes(lambda m=m: m(x), exclude=m.parameters())
        for name, m in (("fast", fast), ("re", recompute))
    }
    assert sizes["fast"] >= 2 * x.nbytes  # the Linear's x and the neuron's h
    assert sizes["re"] == x.nbytes, sizes  # x only: no current, no membrane, no zero initial state
    xg = x.clone().requires_grad_(True)  # with dL/dx too
    assert saved_bytes(lambda: recompute(xg), exclude=recompute.parameters()) == x.nbytes
    state = sk.functional.LIFState(torch.rand(batch, n))  # a non-zero initial state is kept as well
    kept = saved_bytes(lambda: recompute.run(x, state)[0], exclude=recompute.parameters())
    assert kept == x.nbytes + state.v.nbytes


def test_bad_input():
    layer = sk.nn.LinearLIF(5, 4, backend="fused", memory="recompute")
    with pytest.raises(ValueError, match="in_features = 5"):
        layer(torch.rand(3, 2, 6))
    with pytest.raises(ValueError, match="time-first"):
        layer(torch.rand(2, 5))
    with pytest.raises(ValueError, match="state.v has shape"):
        layer.run(torch.rand(3, 2, 5), F.LIFState(torch.zeros(2, 5)))
    with pytest.raises(ValueError, match="finite"):
        layer(torch.full((3, 2, 5), float("nan")))
    with pytest.raises(ValueError, match="in_features = 5"):
        layer.step(torch.rand(2, 4))
    with pytest.raises(ValueError, match="memory"):
        sk.nn.LinearLIF(5, 4, memory="small")
    with pytest.raises(ValueError, match="recompute"):
        sk.nn.LinearLIF(5, 4, memory="recompute", backend="torch")  # the reference loop
    with pytest.raises(ValueError, match="backend"):
        sk.nn.LinearLIF(5, 4, backend="cuda-magic")
    with pytest.raises(ValueError, match="reset"):
        sk.nn.LinearLIF(5, 4, reset="sometimes")
    with pytest.raises(ValueError, match="beta"):
        sk.nn.LinearLIF(5, 4, beta=1.5)
    with pytest.raises(ValueError, match="memory"):
        sk.kernels.linear_lif(torch.rand(3, 2, 5), torch.rand(4, 5), None, F.LIFState(torch.zeros(2, 4)),
                     F.LIFParams(), memory="tiny")  # fmt: skip
    with pytest.raises(TypeError, match="must be nn.Linear"):
        sk.nn.LinearLIF.from_modules(sk.nn.LIF(), sk.nn.LIF())


@pytest.mark.parametrize(
    ("memory", "backend"), [("fast", "torch"), ("fast", "fused"), ("recompute", "fused")]
)
def test_bad_state_dtype_and_overflow_are_refused(memory, backend):
    layer = sk.nn.LinearLIF(5, 3, backend=backend, memory=memory)
    x = torch.rand(4, 2, 5)
    with pytest.raises(ValueError, match=r"linear_lif: state.v must be finite"):
        layer.run(x, sk.functional.LIFState(torch.full((2, 3), float("nan"))))
    with pytest.raises(TypeError, match=r"state.v must have x's dtype and device"):
        layer.run(x, sk.functional.LIFState(torch.zeros(2, 3, dtype=torch.float64)))
    with pytest.raises(TypeError, match=r"LinearLIF: x must be a floating-point tensor"):
        layer(torch.ones(4, 2, 5, dtype=torch.bool))
    with pytest.raises(TypeError, match=r"linear_lif: weight must have x's dtype and device"):
        sk.kernels.linear_lif(
            x, torch.rand(3, 5, dtype=torch.float64), None, sk.functional.LIFState(torch.zeros(2, 3)),
            sk.functional.LIFParams(), memory=memory, backend=backend,
        )  # fmt: skip
    with torch.no_grad():
        layer.linear.weight.fill_(0.5)
    with pytest.raises(ValueError, match=r"LinearLIF: the state became non-finite .*too large"):
        layer(torch.full((4, 2, 5), 3e38))
