"""Generic checks of every registered neuron: module == functional core == float64 reference."""

from __future__ import annotations

import copy

import pytest
import torch

import spikekit as sk
from neuron_registry import EXACT, EXACT_IDS, IDS, REGISTRY, NeuronInfo

pytestmark = pytest.mark.filterwarnings("error::UserWarning")


def build64(info: NeuronInfo) -> sk.nn.Neuron:
    torch.manual_seed(0)
    return info.build().to(torch.float64)


def grads(module, x, fn):
    """Gradient of a fixed random projection of ``fn(module, x)``'s outputs w.r.t. x and parameters."""
    x = x.clone().requires_grad_(True)
    out, v = fn(module, x)
    g = torch.Generator().manual_seed(1)
    w_out = torch.randn(out.shape, generator=g, dtype=out.dtype)
    w_v = torch.randn(v.shape, generator=g, dtype=v.dtype)
    loss = (out * w_out).sum() + (v * w_v).sum()
    params = [p for _, p in module.named_parameters()]
    gs = torch.autograd.grad(loss, [x, *params], allow_unused=True)
    return out.detach(), v.detach(), gs


def module_fn(module, x):
    with sk.record(module, detach=False) as rec:
        out = module(x)
    return out, rec[""].v


@pytest.mark.parametrize("info", REGISTRY, ids=IDS)
def test_module_matches_reference_outputs_and_gradients(info):
    m = build64(info)
    x = info.sample(steps=15)
    out, v, g_mod = grads(m, x, module_fn)
    out_r, v_r, g_ref = grads(m, x, info.reference)
    assert 0.02 < out.abs().gt(0).double().mean() < 0.9, "sample input must make the neurons fire sometimes"
    torch.testing.assert_close(out, out_r, rtol=0, atol=1e-12)
    torch.testing.assert_close(v, v_r, rtol=1e-12, atol=1e-12)
    names = ["x", *[n for n, _ in m.named_parameters()]]
    assert set(info.learnable) <= set(names[1:]), (
        f"{info.id}: declared learnable {info.learnable}, has {names}"
    )
    for name, a, b in zip(names, g_mod, g_ref, strict=True):
        assert a is not None and b is not None, f"{info.id}: no gradient for {name}"
        torch.testing.assert_close(
            a, b, rtol=1e-9, atol=1e-10, msg=lambda s, n=name: f"{info.id} d/d{n}: {s}"
        )
    for name in info.learnable:
        i = names.index(name)
        assert g_mod[i].abs().sum() > 0, f"{info.id}: gradient w.r.t. {name} is zero"


@pytest.mark.parametrize("info", REGISTRY, ids=IDS)
def test_functional_core_matches_module(info):
    m = build64(info)
    x = info.sample()
    state0 = m.init_state(x[0])
    out_f, state_f, v_f = sk.kernels.multistep(type(m).core_step, x, state0, m.params(), record_v=True)
    out_m, state_m = m.run(x)
    torch.testing.assert_close(out_f, out_m, rtol=0, atol=0)
    for a, b in zip(state_f, state_m, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("info", REGISTRY, ids=IDS)
@pytest.mark.parametrize("split", [1, 5, 11])
def test_forward_equals_chunked_run_equals_steps(info, split):
    m = build64(info)
    x = info.sample(steps=12)
    full = m(x)
    a, state = m.run(x[:split])
    b, state_end = m.run(x[split:], state)
    torch.testing.assert_close(torch.cat([a, b]), full, rtol=0, atol=0)
    state = None
    steps = []
    for x_t in x.unbind(0):
        o, state = m.step(x_t, state)
        steps.append(o)
    torch.testing.assert_close(torch.stack(steps), full, rtol=0, atol=0)
    for u, w in zip(state, state_end, strict=True):
        torch.testing.assert_close(u, w, rtol=0, atol=0)


@pytest.mark.parametrize("info", REGISTRY, ids=IDS)
def test_no_state_leaks_between_calls(info):
    m = build64(info)
    x = info.sample(seed=3)
    first = m(x)
    m(info.sample(seed=4) * 3)  # a different, stronger batch in between
    torch.testing.assert_close(m(x), first, rtol=0, atol=0)


@pytest.mark.parametrize("info", REGISTRY, ids=IDS)
def test_batch_independence(info):
    m = build64(info)
    x = info.sample(batch=4)
    other = x.clone()
    other[:, 1:] = info.sample(batch=3, seed=9)
    torch.testing.assert_close(m(x)[:, 0], m(other)[:, 0], rtol=0, atol=0)
    torch.testing.assert_close(m(x[:, :1])[:, 0], m(x)[:, 0], rtol=0, atol=0)


@pytest.mark.parametrize("info", REGISTRY, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_dtype_and_device_kept(info, dtype):
    torch.manual_seed(0)
    m = info.build().to(dtype)
    x = info.sample(dtype=dtype).requires_grad_(True)
    out, state = m.run(x)
    assert out.dtype == dtype and out.device == x.device
    assert all(s.dtype == dtype for s in state)
    out.sum().backward()
    assert x.grad.dtype == dtype and torch.isfinite(x.grad.float()).all()


def built_in_float64(info: NeuronInfo) -> sk.nn.Neuron:
    """``info.build()`` with float64 as the default dtype: every constant is the float64 of its number."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(0)
        return info.build()
    finally:
        torch.set_default_dtype(old)


@pytest.mark.parametrize("info", EXACT, ids=EXACT_IDS)
@pytest.mark.parametrize("cast", ["double", "to", "float-then-double", "half-then-double"])
def test_float64_module_holds_the_numbers_given(info, cast):
    """Issue 15: a float32 module cast to float64 runs with the float64 of the numbers it was built with
    (not their float32 roundings) and equals the float64 reference at 1e-12. Parameters are created in the
    default dtype like every torch Parameter, so the reference takes the module's own."""
    torch.manual_seed(0)
    m = info.build()  # in float32
    m = {
        "double": lambda: m.double(),
        "to": lambda: m.to(torch.float64),
        "float-then-double": lambda: m.float().double(),
        "half-then-double": lambda: m.half().double(),
    }[cast]()
    exact = built_in_float64(info)
    with torch.no_grad():
        for name, p in m.named_parameters():
            exact.get_parameter(name).copy_(p)
    for name, buf in exact.named_buffers():
        assert m.get_buffer(name).dtype == torch.float64, f"{info.id}: {name} is not float64"
        torch.testing.assert_close(
            m.get_buffer(name), buf, rtol=0, atol=0, msg=lambda s, n=name: f"{info.id} {n}: {s}"
        )
    x = info.sample(steps=15)
    out, v = module_fn(m, x)
    out_r, v_r = info.reference(exact, x)
    assert 0.02 < out.abs().gt(0).double().mean() < 0.9, "sample input must make the neurons fire sometimes"
    torch.testing.assert_close(out, out_r, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(v, v_r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("info", REGISTRY, ids=IDS)
def test_state_dict_round_trip(info):
    m = build64(info)
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(0.9)  # move off the initial values (keeps decays in (0, 1])
    clone = copy.deepcopy(info.build()).to(torch.float64)
    clone.load_state_dict(m.state_dict())
    x = info.sample()
    torch.testing.assert_close(clone(x), m(x), rtol=0, atol=0)
    assert set(m.state_dict()) >= set(dict(m.named_parameters()))


@pytest.mark.parametrize("info", REGISTRY, ids=IDS)
def test_record_does_not_change_result(info):
    m = build64(info)
    x = info.sample()
    plain = m(x)
    with sk.record(m) as rec:
        a, state = m.run(x[:4])
        b, _ = m.run(x[4:], state)
    torch.testing.assert_close(torch.cat([a, b]), plain, rtol=0, atol=0)
    torch.testing.assert_close(rec[""].spikes, plain, rtol=0, atol=0)
    assert rec[""].v.shape == x.shape
    assert not m._recorders, "record() must detach its hooks on exit"
    out, v, _ = m.trace(x)
    torch.testing.assert_close(out, plain, rtol=0, atol=0)
    torch.testing.assert_close(v, rec[""].v, rtol=0, atol=0)


@pytest.mark.parametrize("info", REGISTRY, ids=IDS)
def test_bad_input_raises(info):
    m = build64(info)
    x = info.sample()
    with pytest.raises(ValueError, match=r"x must be a time-first sequence \[T, B, N\].*got shape \(3, 6\)"):
        m(x[0])
    bad = x.clone()
    bad[2, 1, 0] = float("nan")
    with pytest.raises(ValueError, match=r"x must be finite, got 1 NaN and 0 infinite"):
        m(bad)
    bad[2, 1, 0] = float("inf")
    with pytest.raises(ValueError, match=r"got 0 NaN and 1 infinite"):
        m(bad)
    _, state = m.run(x[:2])
    with pytest.raises(ValueError, match=r"state\.\w+ has shape \(2, 6\).*input step has shape \(3, 6\)"):
        m.run(x[2:], type(state)(*(s[:2] for s in state)))
    with pytest.raises(TypeError, match=r"state must be a \w+State"):
        m.run(x, tuple(state))
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor, got list"):
        m(x.tolist())
    with pytest.raises(ValueError, match=r"x_t must be one time step"):
        m.step(x[0, 0])


@pytest.mark.parametrize("info", REGISTRY, ids=IDS)
def test_bad_state_and_dtype_are_refused_by_name(info):
    """Issue 14: non-finite, mistyped or misplaced states and bool/complex inputs, refused by name."""
    m = build64(info)
    name = type(m).__name__
    x = info.sample()
    _, state = m.run(x[:2])
    nan = type(state)(*(torch.full_like(s, float("nan")) for s in state))
    with pytest.raises(ValueError, match=rf"{name}: state\.\w+ must be finite, got 18 NaN"):
        m.run(x[2:], nan)
    with pytest.raises(ValueError, match=rf"{name}: state\.\w+ must be finite"):
        m.step(x[2], nan)
    with pytest.raises(TypeError, match=r"state\.\w+ has dtype torch.float32, but x has dtype torch.float64"):
        m.run(x[2:], type(state)(*(s.float() for s in state)))
    with pytest.raises(ValueError, match=r"state\.\w+ is on the 'meta' device"):
        m.run(x[2:], type(state)(*(s.to("meta") for s in state)))
    for dtype in (torch.bool, torch.int64, torch.complex128):
        with pytest.raises(
            TypeError, match=rf"{name}: x must be a floating-point tensor .*got dtype {dtype}"
        ):
            m(torch.ones(3, 2, 6, dtype=dtype))
        with pytest.raises(TypeError, match=rf"{name}: x_t must be a floating-point tensor"):
            m.step(torch.ones(2, 6, dtype=dtype))
    with pytest.raises(ValueError, match=r"x must have at least one time step"):
        m(x[:0])
    with pytest.raises(ValueError, match=r"x is on the 'meta' device"):
        m(x.to("meta"))


@pytest.mark.parametrize("backend", ["torch", "fused"])
def test_overflow_from_finite_input_is_reported(backend):
    m = sk.nn.LIF(backend=backend)
    with pytest.raises(ValueError, match=r"LIF: the state became non-finite .*too large for torch.float32"):
        m(torch.full((4, 2, 3), 3e38))
    _, state = m.step(torch.full((2, 3), 3e38))
    with pytest.raises(ValueError, match=r"LIF: the state became non-finite"):
        m.step(torch.full((2, 3), 3e38), state)
    m(torch.full((4, 2, 3), 3e38, dtype=torch.float64))  # fine in float64
