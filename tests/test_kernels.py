"""Fused backends equal the reference loop: spikes bit for bit, gradients to float tolerance.

The reference is ``backend="torch"``: the plain loop over the functional core, differentiated by autograd
(itself checked against loops written from the equations in ``test_neurons.py``). Each engine of the
fused algorithm (the PyTorch one, the C++ one, the Triton one under ``TRITON_INTERPRET=1``) is run
through the modules, as users call it, and compared on random inputs, for every reset mode, detached or
not, shared or per-neuron parameters, every surrogate, chunked runs with state, and the membrane trace.
"""

from __future__ import annotations

import importlib.util
import weakref

import pytest
import torch

import spikekit as sk
from spikekit import functional as F
from spikekit.kernels import cpp, dispatch, fused, torch_engine

RESETS = ("subtract", "zero", "none")


def lif(reset="subtract", detach=False, shared=True, surrogate=None):
    shape = None if shared else 6
    return sk.nn.LIF(
        beta=0.8, reset=reset, detach_reset=detach, surrogate=surrogate, learn_beta=True,
        learn_threshold=True, shape=shape,
    )  # fmt: skip


def plif(reset="subtract", detach=False, shared=True, surrogate=None, decay_input=True):
    return sk.nn.PLIF(
        init_tau=1.8, reset=reset, detach_reset=detach, surrogate=surrogate, decay_input=decay_input,
        learn_threshold=True, shape=None if shared else 6, threshold=0.7,
    )  # fmt: skip


def if_(reset="subtract", detach=False, shared=True, surrogate=None):
    return sk.nn.IF(
        reset=reset, detach_reset=detach, surrogate=surrogate, learn_threshold=True,
        shape=None if shared else 6, threshold=1.3,
    )  # fmt: skip


def refractory(reset="seed", spike="graded", surrogate=None):
    return sk.nn.RefractoryLIF(reset=reset, spike=spike, surrogate=surrogate, learn_threshold=True)


def sample(dtype, steps=16, batch=3, features=6, seed=0, scale=0.7, bias=0.35):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(steps, batch, features, generator=g, dtype=torch.float64) * scale + bias
    return x.to(dtype)


def run(module, backend, x, dtype, weights):
    """Spikes, membrane and gradients (input, then each parameter) of a loss on both."""
    m = module.to(dtype)
    m.backend = backend
    xx = x.clone().requires_grad_(True)
    out, v, _ = m.trace(xx)
    loss = (out * weights[0].to(dtype)).sum() + (v * weights[1].to(dtype)).sum()
    grads = torch.autograd.grad(loss, [xx, *m.parameters()])
    return out.detach(), v.detach(), grads


def weights(x, positive=False, seed=1):
    g = torch.Generator().manual_seed(seed)
    if positive:  # one sign: no cancellation in the parameter sums, which bfloat16 cannot resolve
        return torch.rand(x.shape, generator=g) + 0.5, torch.rand(x.shape, generator=g) * 0.2
    return torch.randn(x.shape, generator=g), torch.randn(x.shape, generator=g) * 0.2


def rel(a, b):
    return float((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-30))


def assert_same(build, backend, dtype=torch.float32, x=None, positive=False, tol=None):
    x = sample(dtype) if x is None else x.to(dtype)
    w = weights(x, positive or dtype != torch.float64)
    s0, v0, g0 = run(build(), "torch", x, dtype, w)
    s1, v1, g1 = run(build(), backend, x, dtype, w)
    assert s0.sum() > 0, "the sample should make the neuron fire"
    if dtype != torch.bfloat16:
        assert torch.equal(s0, s1), f"{int((s0 != s1).sum())} of {s0.numel()} outputs differ"
        assert torch.equal(v0, v1), "membrane traces differ"
    tol = tol or {torch.float64: 1e-12, torch.float32: 1e-5, torch.bfloat16: 1e-2}[dtype]
    names = ["x"] + [n for n, _ in build().named_parameters()]
    if dtype == torch.bfloat16:  # the float64 gradient for the same bfloat16 inputs and parameters
        truth = run(build().to(dtype), "torch", x.double(), torch.float64, w)[2]
    for i, (name, a, b) in enumerate(zip(names, g1, g0, strict=True)):
        assert a.dtype == b.dtype and a.shape == b.shape
        if dtype == torch.bfloat16 and rel(a, b) > tol:
            # bfloat16 rounds the reference's own sums over time: then be no farther from float64
            assert rel(a, truth[i]) <= rel(b, truth[i]), f"gradient of {name}: {rel(a, b):.2e} off"
        else:
            assert rel(a, b) <= tol, f"gradient of {name}: relative error {rel(a, b):.2e} > {tol:g}"


@pytest.fixture(params=["cpp", "torch"])
def engine(request, monkeypatch):
    """Run ``backend="fused"`` with one engine: the C++ one or the PyTorch one."""
    if request.param == "cpp":
        if not cpp.available():
            pytest.skip("the C++ engine could not be built here (no compiler or Python headers)")
    else:
        monkeypatch.setattr(dispatch, "_engine", lambda backend, x, surrogate: torch_engine)
    return request.param


LIF_FAMILY = {"IF": if_, "LIF": lif, "PLIF": plif, "PLIF-nodecay": lambda **k: plif(decay_input=False, **k)}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("shared", [True, False], ids=["shared", "per-neuron"])
@pytest.mark.parametrize("detach", [False, True], ids=["grad-reset", "detach-reset"])
@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("neuron", list(LIF_FAMILY))
def test_lif_family_equals_reference(engine, neuron, reset, detach, shared, dtype):
    build = LIF_FAMILY[neuron]
    assert_same(lambda: build(reset=reset, detach=detach, shared=shared), "fused", dtype)


SURROGATES = {
    "atan": sk.surrogate.atan(3.0),
    "sigmoid": sk.surrogate.sigmoid(5.0),
    "fast_sigmoid": sk.surrogate.fast_sigmoid(10.0),
    "triangle": sk.surrogate.triangle(0.8),
    "rectangle": sk.surrogate.rectangle(0.9),
    "straight_through": sk.surrogate.straight_through(0.5),
}


@pytest.mark.parametrize("name", list(SURROGATES))
def test_every_surrogate(engine, name):
    for build in (lif, plif):
        assert_same(lambda b=build: b(surrogate=SURROGATES[name]), "fused", torch.float32)
    x = sample(torch.float32) * 3
    assert_same(lambda: refractory(spike="binary", surrogate=SURROGATES[name]), "fused", x=x)


class Bump(sk.surrogate.Surrogate):
    """A surrogate the compiled engines do not know: ``P'(x) = exp(-x^2)``."""

    name = "bump"

    def primitive(self, x):
        return 0.5 * (1 + torch.erf(x))  # times sqrt(pi)/2, but only the derivative is used

    def derivative(self, x):
        return torch.exp(-x * x)


def test_user_surrogate_runs_on_the_pytorch_engine():
    x = sample(torch.float32)
    assert dispatch.engine_name(F.lif_step, x, lif(surrogate=Bump()).params(), "fused") == "torch"
    assert_same(lambda: lif(surrogate=Bump()), "fused", torch.float32)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("spike", ["graded", "binary"])
@pytest.mark.parametrize("reset", ["seed", "prose"])
def test_refractory_equals_reference(engine, reset, spike, dtype):
    assert_same(lambda: refractory(reset, spike), "fused", dtype, x=sample(torch.float64) * 3)


@pytest.mark.parametrize("build", [lif, plif, if_, lambda: refractory(spike="binary")])
def test_bfloat16_gradients_within_1e_2(build):
    x = sample(torch.float32, steps=10) * (3 if build is not lif and build not in (plif, if_) else 1)
    assert_same(build, "fused", torch.bfloat16, x=x, positive=True)


@pytest.mark.parametrize("build", [lambda: lif(reset="zero", shared=False), plif, refractory])
def test_chunked_run_with_state_equals_one_reference_call(engine, build):
    x = sample(torch.float64, steps=20) * 2
    ref, fast = build().double(), build().double()
    fast.backend = "fused"
    ref.load_state_dict(fast.state_dict())
    xr, xf = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out_ref, _ = ref.run(xr)
    a, state = fast.run(xf[:7])
    b, state2 = fast.run(xf[7:], state)
    out_fast = torch.cat([a, b])
    assert torch.equal(out_ref, out_fast)
    w = weights(x)[0].double()
    loss_r = (out_ref * w).sum() + ref.run(xr)[1][0].sum()
    loss_f = (out_fast * w).sum() + state2[0].sum()
    gr = torch.autograd.grad(loss_r, [xr, *ref.parameters()])
    gf = torch.autograd.grad(loss_f, [xf, *fast.parameters()])
    for a_, b_ in zip(gf, gr, strict=True):
        assert rel(a_, b_) <= 1e-12


def test_modules_route_through_the_fused_function():
    x = sample(torch.float32).requires_grad_(True)
    for module in (lif(), plif(), if_(), refractory()):
        module.backend = "fused"
        out = module(x)
        expected = "RefractoryFunction" if isinstance(module, sk.nn.RefractoryLIF) else "LIFFunction"
        assert type(out.grad_fn).__name__.startswith(expected)
    expected = "cpp" if cpp.available() else "torch"
    assert dispatch.engine_name(F.lif_step, x, lif().params(), "fused") == expected


class Box:
    def __init__(self, tensor):
        self.tensor = tensor


def test_saves_one_value_per_neuron_and_step():
    x = sample(torch.float32, steps=50, batch=4, features=32).requires_grad_(True)

    def saved_bytes(backend):
        """Bytes of distinct storages that the graph still holds for backward after the forward."""
        packed = []

        def pack(t):
            box = Box(t)
            packed.append(weakref.ref(box))
            return box

        m = sk.nn.LIF(backend=backend, learn_beta=True, learn_threshold=True)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda box: box.tensor):
            out = m(x)
        live = [r() for r in packed if r() is not None]
        storages = {b.tensor.untyped_storage().data_ptr(): b.tensor.untyped_storage().nbytes() for b in live}
        del out
        return sum(storages.values())

    one_value = x.numel() * x.element_size()
    assert saved_bytes("fused") <= one_value + 4 * x[0].numel() * 4 + 64
    assert saved_bytes("torch") >= 2 * one_value


def test_no_grad_needs_no_graph_and_gives_the_same_spikes():
    x = sample(torch.float32)
    with torch.no_grad():
        out = sk.nn.LIF(backend="fused")(x)
    assert out.grad_fn is None
    assert torch.equal(out, sk.nn.LIF()(x).detach())


def test_backend_selection():
    assert sk.kernels.resolve_backend("auto", F.lif_step, "cpu") == "fused"
    assert sk.kernels.resolve_backend("auto", F.izhikevich_step, "cpu") == "fused"
    assert sk.kernels.available_backends(F.izhikevich_step, "cpu") == ["fused", "torch"]
    assert all(dispatch.supports(s) for s in (F.if_step, F.lif_step, F.plif_step, F.refractory_step))
    assert all(dispatch.supports(s) for s in (F.alif_step, F.synaptic_step, F.rlif_step, F.srm_step))
    assert all(dispatch.supports(s) for s in (F.izhikevich_step, F.adex_step, F.alpha_step))
    x = sample(torch.float32)
    out, _, _ = sk.kernels.multistep(F.lif_step, x, F.lif_init(x[0]), F.LIFParams(), backend="auto")
    assert torch.equal(out, sk.kernels.multistep(F.lif_step, x, F.lif_init(x[0]), F.LIFParams())[0])


def bare_step(x, state, params):  # a step no spec registers: the reference loop only
    return F.lif_step(x, state, params)


def test_unavailable_backend_raises_naming_the_available_ones(monkeypatch):
    x = sample(torch.float32)
    state, params = F.lif_init(x[0]), F.LIFParams()
    with pytest.raises(RuntimeError, match=r"backend 'fused' is not available for bare_step on cpu; "):
        sk.kernels.multistep(bare_step, x, state, params, backend="fused")
    with pytest.raises(RuntimeError, match=r"available: \['torch'\]"):
        sk.kernels.multistep(bare_step, x, state, params, backend="fused")
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match=r"available: \['fused', 'torch'\]"):
            sk.nn.Izhikevich(backend="triton")(x)
    if not torch.cuda.is_available():
        msg = r"backend 'triton' is not available .*available: \['fused', 'torch'\]"
        with pytest.raises(RuntimeError, match=msg):
            sk.kernels.multistep(F.lif_step, x, F.lif_init(x[0]), F.LIFParams(), backend="triton")
    msg = r"backend must be one of 'auto', 'torch', 'fused', 'triton'; got 'cuda'"
    with pytest.raises(ValueError, match=msg):
        sk.kernels.multistep(F.lif_step, x, F.lif_init(x[0]), F.LIFParams(), backend="cuda")


def test_pytorch_engine_matches_cpp_engine_directly():
    if not cpp.available():
        pytest.skip("the C++ engine could not be built here")
    x = sample(torch.float32, steps=30, batch=5, features=7)
    spec = sk.kernels._spec.lif_spec(F.lif_step, F.LIFParams(beta=torch.tensor(0.85)), x)
    v0 = torch.zeros_like(x[0])
    outs = [fused.lif_run(spec, x, v0, e, record_v=True) for e in (torch_engine, cpp)]
    assert all(torch.equal(a, b) for a, b in zip(outs[0], outs[1], strict=True))


# --- Triton, on the CPU through its interpreter ---------------------------------------------------------
triton_missing = importlib.util.find_spec("triton") is None


@pytest.fixture
def triton_interpret(monkeypatch):
    if triton_missing:
        pytest.skip("triton is not installed (pip install triton): the Triton engine cannot be checked")
    monkeypatch.setenv("TRITON_INTERPRET", "1")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("reset", RESETS)
def test_triton_lif_family_equals_reference(triton_interpret, reset, dtype):
    for build in (lif, plif, if_):
        assert_same(lambda b=build: b(reset=reset, shared=False), "triton", dtype)
    assert_same(lambda: lif(reset=reset, detach=True, surrogate=SURROGATES["sigmoid"]), "triton", dtype)


@pytest.mark.parametrize("name", ["fast_sigmoid", "triangle", "rectangle", "straight_through"])
def test_triton_surrogates(triton_interpret, name):
    assert_same(lambda: plif(surrogate=SURROGATES[name]), "triton", torch.float32)


@pytest.mark.parametrize("spike", ["graded", "binary"])
@pytest.mark.parametrize("reset", ["seed", "prose"])
def test_triton_refractory_equals_reference(triton_interpret, reset, spike):
    assert_same(lambda: refractory(reset, spike), "triton", torch.float32, x=sample(torch.float64) * 3)


def test_triton_is_listed_but_not_auto_under_the_interpreter(triton_interpret):
    names = sk.kernels.available_backends(F.lif_step, "cpu")
    assert names[-1] == "triton" and sk.kernels.resolve_backend("auto", F.lif_step, "cpu") == "fused"


# --- issue 14: every engine entry point refuses what its kernels would index out of bounds -------------
@pytest.mark.parametrize("backend", ["torch", "fused"])
@pytest.mark.parametrize("core", ["lif", "refractory"])
def test_multistep_refuses_a_state_of_another_shape_before_any_engine(core, backend):
    step, state = (
        (F.lif_step, F.LIFState(torch.zeros(1, 3)))
        if core == "lif"
        else (F.refractory_step, F.RefractoryState(torch.zeros(1, 3), torch.zeros(1, 3)))
    )
    params = F.LIFParams() if core == "lif" else F.RefractoryParams()
    with pytest.raises(
        ValueError, match=r"state\.\w+ has shape \(1, 3\), but one input step has shape \(2, 8\)"
    ):
        sk.kernels.multistep(step, torch.rand(5, 2, 8), state, params, backend=backend)


@pytest.mark.parametrize("backend", ["torch", "fused"])
def test_multistep_refuses_bad_x_state_and_params_by_name(backend):
    x, s0 = torch.rand(4, 2, 3), F.LIFState(torch.zeros(2, 3))

    def run(x=x, state=s0, params=None):
        return sk.kernels.multistep(F.lif_step, x, state, params or F.LIFParams(), backend=backend)

    with pytest.raises(TypeError, match=r"LIF: x must be a floating-point tensor .*got dtype torch.bool"):
        run(x=torch.ones(4, 2, 3, dtype=torch.bool))
    with pytest.raises(TypeError, match=r"got dtype torch.complex64; spikekit computes with real values"):
        run(x=torch.ones(4, 2, 3, dtype=torch.complex64))
    with pytest.raises(ValueError, match=r"LIF: x must have at least one time step"):
        run(x=torch.rand(0, 2, 3))
    with pytest.raises(TypeError, match=r"state.v has dtype torch.float64, but x has dtype torch.float32"):
        run(state=F.LIFState(torch.zeros(2, 3, dtype=torch.float64)))
    with pytest.raises(ValueError, match=r"LIF: state.v must be finite, got 6 NaN"):
        run(state=F.LIFState(torch.full((2, 3), float("nan"))))
    with pytest.raises(ValueError, match=r"state.v is on the 'meta' device"):
        run(state=F.LIFState(torch.zeros(2, 3, device="meta")))
    with pytest.raises(TypeError, match=r"LIF: state must be a LIFState"):
        run(state=torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"the state became non-finite .* too large for torch.float32"):
        run(x=torch.full((4, 2, 3), 3e38))
    if backend == "fused":
        with pytest.raises(ValueError, match=r"LIF: threshold has shape \(7,\), which does not broadcast"):
            run(params=F.LIFParams(threshold=torch.ones(7)))


@pytest.mark.parametrize("backend", ["torch", "fused"])
def test_non_contiguous_and_empty_inputs_are_not_bad_inputs(backend):
    lif = sk.nn.LIF(backend=backend)
    x = torch.rand(3, 4, 6) * 2
    torch.testing.assert_close(lif(x.transpose(0, 1).contiguous().transpose(0, 1)), lif(x), rtol=0, atol=0)
    for shape in ((4, 0, 3), (4, 2, 0)):
        assert lif(torch.rand(shape)).shape == shape


def _raw():
    ext = cpp._load()
    if ext is None:
        pytest.skip("the C++ engine is not built here")
    return ext


def test_cpp_entry_points_check_every_size_before_the_kernels():
    t, m = 4, 6
    v, a, thr = torch.zeros(m), torch.full((m,), 0.9), torch.ones(m)
    with pytest.raises(ValueError, match=r"cpp.lif_forward: v must be \[M\] = \(6,\)"):
        cpp.lif_forward(torch.rand(t, m), torch.zeros(1), a, thr, 1, "subtract")
    with pytest.raises(ValueError, match=r"cpp.lif_forward: x must be contiguous"):
        cpp.lif_forward(torch.rand(m, t).t(), v, a, thr, 1, "subtract")
    with pytest.raises(TypeError, match=r"cpp.lif_forward: thr must have dtype torch.float32"):
        cpp.lif_forward(torch.rand(t, m), v, a, thr.double(), 1, "subtract")
    with pytest.raises(ValueError, match=r"form 1 needs the decay a"):
        cpp.lif_forward(torch.rand(t, m), v, None, thr, 1, "subtract")
    with pytest.raises(ValueError, match=r"torch_engine.lif_forward: v must be \[M\]"):
        torch_engine.lif_forward(torch.rand(t, m), torch.zeros(2), a, thr, 1, "subtract")


def test_raw_cpp_functions_bounds_check_their_tensors():
    """A direct call of the compiled functions cannot write out of bounds: TORCH_CHECK refuses first."""
    ext, t, m = _raw(), 4, 6
    x, v, a, thr = torch.rand(t, m), torch.zeros(m), torch.full((m,), 0.9), torch.ones(m)
    msg = r"spikekit C\+\+ engine"
    with pytest.raises(RuntimeError, match=msg + r" lif_forward: v must hold M = 6"):
        ext.lif_forward(x, torch.zeros(1), a, thr, 1, 0)
    with pytest.raises(RuntimeError, match=msg + r" lif_forward: form 1 needs the decay a"):
        ext.lif_forward(x, v, None, thr, 1, 0)
    with pytest.raises(RuntimeError, match=msg + r" lif_forward: x must be a contiguous CPU tensor"):
        ext.lif_forward(torch.rand(m, t).t(), v, a, thr, 1, 0)
    with pytest.raises(
        RuntimeError, match=msg + r" lif_forward: thr must be a contiguous CPU tensor of dtype"
    ):
        ext.lif_forward(x, v, a, thr.double(), 1, 0)
    with pytest.raises(RuntimeError, match=msg + r" lif_backward: gs must be \[T, M\]"):
        ext.lif_backward(
            x, None, v, a, thr, torch.rand(1, 2), None, v.clone(), 1, 0, False, 0, 2.0, True, True
        )
    with pytest.raises(RuntimeError, match=msg + r" refractory_forward: c must hold M = 6"):
        ext.refractory_forward(x, torch.zeros(1), v, a, thr, thr, True, True, True)
    with pytest.raises(RuntimeError, match=msg + r" refractory_backward: gc_end must hold M = 6"):
        ext.refractory_backward(x, v, a, thr, thr, x, None, torch.zeros(2), None, True, False, 0, 2.0, True)
    rng = sk.kernels.rng._load()
    if rng is not None:
        with pytest.raises(RuntimeError, match=r"out.numel\(\) must be a multiple of x.numel\(\)"):
            rng.flicker_(torch.empty(2, 3), torch.rand(5), 1, 0)


def test_triton_engine_validates_before_launching(triton_interpret):
    from spikekit.kernels import triton_engine

    t, m = 4, 6
    a, thr = torch.full((m,), 0.9), torch.ones(m)
    with pytest.raises(ValueError, match=r"triton_engine.lif_forward: v must be \[M\] = \(6,\)"):
        triton_engine.lif_forward(torch.rand(t, m), torch.zeros(1), a, thr, 1, "subtract")
    with pytest.raises(ValueError, match=r"triton_engine.refractory_forward: c must be \[M\]"):
        triton_engine.refractory_forward(
            torch.rand(t, m), torch.zeros(2), torch.zeros(m), a, thr, thr, None, False
        )


# --- every neuron with a fused family equals its reference loop (issue 16) ------------------------------
# Driven by the specs: a future neuron whose spec names a fused family is checked here without an edit.
import dataclasses  # noqa: E402
import inspect  # noqa: E402

from spikekit.functional import SPECS  # noqa: E402
from spikekit.kernels import families  # noqa: E402

FUSED_SPECS = [name for name in SPECS if SPECS[name].fused is not None]
STATE_FAMILIES = [name for name in FUSED_SPECS if SPECS[name].fused in families.FAMILY_CODES]


def _variants(name: str) -> list[dict]:
    """Constructor options worth covering, from the module's signature: every reset, detached or not,
    shared or per-neuron parameters."""
    sig = inspect.signature(sk.nn.NEURONS[name].__init__).parameters
    resets = [r for r in RESETS if "reset" in sig] or [None]
    if name == "RefractoryLIF":
        resets = ["seed", "prose"]
    out = []
    for reset in resets:
        for detach in [False, True] if "detach_reset" in sig else [False]:
            for shared in [True, False] if "shape" in sig else [True]:
                kw = {} if reset is None else {"reset": reset}
                if detach:
                    kw["detach_reset"] = True
                if not shared:
                    kw["shape"] = 6
                out.append(kw)
    return out


EXTRA = {"AdEx": {"dt": 1.0}}  # steps long enough for 16 of them to reach the cut-off


def _build(name: str, features: int = 6, **kw):
    spec = SPECS[name]
    kwargs = {**spec.example, **EXTRA.get(name, {}), **kw}
    if "size" in kwargs:
        kwargs.update(size=features, all_to_all=kwargs.get("all_to_all", False))
    torch.manual_seed(5)  # the same random weights (RLIF) in every build
    return sk.nn.NEURONS[name](**kwargs)


def _leaves(params, dtype, jitter=False):
    """``params`` with every tensor field a fresh leaf in ``dtype``, so that each one gets a gradient;
    ``jitter``: each per-neuron value scaled by its own factor in (0.95, 1] (same sign, same range), so that
    an engine reading another neuron's value is seen."""
    changes, g = {}, torch.Generator().manual_seed(7)
    for f in dataclasses.fields(params):
        v = getattr(params, f.name)
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            v = v.detach().to(dtype).clone()
            if jitter and v.dim() > 0:
                v = v * (1 - 0.05 * torch.rand(v.shape, generator=g, dtype=torch.float64).to(dtype))
            changes[f.name] = v.requires_grad_(True)
    return dataclasses.replace(params, **changes)


def _functional_run(name, kw, backend, x, dtype, w, state_seed=2, jitter=False):
    """Spikes, membrane, final state and gradients (x, every state field, every tensor parameter) of a loss
    on all three, through ``multistep`` on the neuron's core."""
    m = _build(name, **kw)
    spec = SPECS[name]
    params = _leaves(m.to(dtype).params(), dtype, jitter)
    xx = x.to(dtype).clone().requires_grad_(True)
    g = torch.Generator().manual_seed(state_seed)
    rest = m.init_state(xx[0].detach())
    state = spec.state(*(
        (f + 0.3 * torch.rand(f.shape, generator=g, dtype=torch.float64).to(dtype)).requires_grad_(True)
        for f in rest
    ))  # fmt: skip
    out, final, v = sk.kernels.multistep(spec.step, xx, state, params, record_v=True, backend=backend)
    loss = (out * w[0].to(dtype)).sum() + (v * w[1].to(dtype)).sum()
    loss = loss + sum((f * (0.1 * (i + 1))).sum() for i, f in enumerate(final))
    leaves = [getattr(params, f.name) for f in dataclasses.fields(params)]
    leaves = [t for t in leaves if isinstance(t, torch.Tensor) and t.requires_grad]
    grads = torch.autograd.grad(loss, [xx, *state, *leaves], allow_unused=True)
    return out.detach(), v.detach(), [f.detach() for f in final], grads


def _sample_for(name, dtype, steps=16, **kw):
    scale = {"SRM": 2.0, "ALIF": 1.2, "Izhikevich": 15.0, "AdEx": 3.0}.get(name, 1.0)
    bias = {"SRM": 0.4, "Izhikevich": 30.0, "AdEx": 4.0}.get(name, 0.0)
    return sample(torch.float64, steps=steps, **kw) * scale + bias


def _assert_family_same(name, kw, dtype, backend="fused", tol=None, jitter=False):
    x = _sample_for(name, dtype)
    w = weights(x, positive=dtype != torch.float64)
    s0, v0, f0, g0 = _functional_run(name, kw, "torch", x, dtype, w, jitter=jitter)
    s1, v1, f1, g1 = _functional_run(name, kw, backend, x, dtype, w, jitter=jitter)
    assert 0 < s0.sum() < s0.numel(), "the sample should make the neuron fire, and not at every step"
    assert torch.equal(s0, s1), f"{int((s0 != s1).sum())} of {s0.numel()} outputs differ"
    assert torch.equal(v0, v1), "membrane traces differ"
    assert all(torch.equal(a, b) for a, b in zip(f0, f1, strict=True)), "final states differ"
    tol = tol or {torch.float64: 1e-12, torch.float32: 1e-5}[dtype]
    for i, (a, b) in enumerate(zip(g1, g0, strict=True)):
        if b is None:
            assert a is None or not a.any(), f"gradient {i}: the reference has none"
            continue
        assert a is not None and a.dtype == b.dtype and a.shape == b.shape, f"gradient {i}"
        assert rel(a, b) <= tol, f"gradient {i}: relative error {rel(a, b):.2e} > {tol:g}"


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize(
    "name,kw",
    [(n, kw) for n in FUSED_SPECS for kw in _variants(n)],
    ids=lambda v: v if isinstance(v, str) else "-".join(f"{k}={x}" for k, x in v.items()) or "default",
)
def test_every_fused_neuron_equals_its_reference_loop(name, kw, dtype):
    """Spikes, membranes and final states bit for bit; gradients of x, of the initial state and of every
    parameter tensor to 1e-12 (float64) / 1e-5 (float32), through the engine ``"fused"`` picks here."""
    if SPECS[name].fused in families.FAMILY_CODES and not cpp.available():
        pytest.skip("the C++ engine could not be built here")
    _assert_family_same(name, kw, dtype)


@pytest.mark.parametrize("surrogate", list(SURROGATES))
@pytest.mark.parametrize("name", STATE_FAMILIES)
def test_state_families_with_every_surrogate(name, surrogate):
    if not cpp.available():
        pytest.skip("the C++ engine could not be built here")
    _assert_family_same(name, {"surrogate": SURROGATES[surrogate]}, torch.float32)


@pytest.mark.parametrize("name", STATE_FAMILIES)
def test_state_families_in_blocks_of_5_neurons_equal_the_reference_loop(name):
    """The engine splits the neurons into blocks (threads, ``set_block_size``); blocks of 5 of the 18
    neurons start at offsets other than 0 and end short of a vector: each variant must still be exact, with
    every per-neuron parameter different from its neighbours'."""
    if not cpp.available():
        pytest.skip("the C++ engine could not be built here")
    ext = cpp._load()
    old = ext.set_block_size(5)
    try:
        for kw in _variants(name):
            for dtype in (torch.float64, torch.float32):
                _assert_family_same(name, kw, dtype, jitter=True)
    finally:
        ext.set_block_size(old)


@pytest.mark.parametrize("name", STATE_FAMILIES)
def test_state_families_run_the_cpp_engine(name):
    if not cpp.available():
        pytest.skip("the C++ engine could not be built here")
    m = _build(name)
    x = _sample_for(name, torch.float32).float().requires_grad_(True)
    assert dispatch.engine_name(m.core_step, x, m.params(), "fused") == "cpp"
    m.backend = "fused"
    out = m(x)
    assert type(out.grad_fn).__name__.startswith("FamilyFunction")
    assert sk.kernels.resolve_backend("auto", m.core_step, "cpu") == "fused"


@pytest.mark.parametrize("name", STATE_FAMILIES)
def test_state_families_chunked_equal_one_reference_call(name):
    x = _sample_for(name, torch.float64, steps=20)
    ref, fast = _build(name).double(), _build(name, backend="fused").double()
    xr, xf = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out_ref, state_ref = ref.run(xr)
    a, state = fast.run(xf[:7])
    b, state2 = fast.run(xf[7:], state)
    out_fast = torch.cat([a, b])
    assert torch.equal(out_ref, out_fast)
    assert all(torch.equal(p, q) for p, q in zip(state_ref, state2, strict=True))
    w = weights(x)[0].double()
    gr = torch.autograd.grad((out_ref * w).sum() + state_ref[0].sum(), [xr, *ref.parameters()])
    gf = torch.autograd.grad((out_fast * w).sum() + state2[0].sum(), [xf, *fast.parameters()])
    for a_, b_ in zip(gf, gr, strict=True):
        assert rel(a_, b_) <= 1e-12


def test_where_the_cpp_engine_does_not_apply_fused_runs_the_reference_loop():
    x = _sample_for("ALIF", torch.float32).float()
    p = F.ALIFParams(surrogate=Bump())
    assert dispatch.engine_name(F.alif_step, x, p, "fused") == "reference"
    # a per-neuron float64 parameter with float32 x: the core promotes op by op; the loop mirrors it
    p64 = F.ALIFParams(beta=torch.full((6,), 0.9, dtype=torch.float64))
    assert dispatch.engine_name(F.alif_step, x, p64, "fused") == "reference"
    # a dt that needs a gradient (Izhikevich's engine gives none for dt / 2)
    pdt = F.IzhikevichParams(dt=torch.tensor(0.5, requires_grad=True))
    assert dispatch.engine_name(F.izhikevich_step, x, pdt, "fused") == "reference"
    # dense RLIF: a strided weight is another GEMM; spikes of the state at an odd address another rounding
    dense = _build("RLIF", all_to_all=True, backend="fused")
    assert dispatch.engine_name(F.rlif_step, x, dense.params(), "fused") == "cpp"
    strided = dataclasses.replace(dense.params(), weight=dense.weight.detach().t())
    assert dispatch.engine_name(F.rlif_step, x, strided, "fused") == "reference"
    spec = families.family_spec("rlif", dense.params(), x)
    odd = torch.zeros(x[0].numel() + 1)[1:].view_as(x[0])
    assert not families.native_ok(spec, x, (torch.zeros_like(x[0]), odd))
    assert families.native_ok(spec, x, (torch.zeros_like(x[0]), torch.zeros_like(x[0])))
    state = F.RLIFState(torch.zeros_like(x[0]), odd)
    a = sk.kernels.multistep(F.rlif_step, x, state, strided, record_v=True)
    b = sk.kernels.multistep(F.rlif_step, x, state, strided, record_v=True, backend="fused")
    assert torch.equal(a[0], b[0]) and torch.equal(a[2], b[2])
    for params in (p, p64):
        state = F.ALIFState(torch.zeros_like(x[0]), torch.zeros_like(x[0]))
        a = sk.kernels.multistep(F.alif_step, x, state, params, record_v=True)
        b = sk.kernels.multistep(F.alif_step, x, state, params, record_v=True, backend="fused")
        assert torch.equal(a[0], b[0]) and torch.equal(a[2], b[2])
    # bfloat16 too
    m = _build("Synaptic", backend="fused").to(torch.bfloat16)
    assert torch.equal(m(x.bfloat16()), _build("Synaptic").to(torch.bfloat16)(x.bfloat16()))


def test_a_python_float_parameter_is_not_rounded_to_float32_for_a_float64_run():
    x = sample(torch.float64) * 2
    for step, state, params in (
        (F.lif_step, F.LIFState(torch.zeros_like(x[0])), F.LIFParams(beta=0.9, threshold=0.7)),
        (F.alif_step, F.ALIFState(torch.zeros_like(x[0]), torch.zeros_like(x[0])), F.ALIFParams(rho=0.3)),
        (F.synaptic_step, F.SynapticState(torch.zeros_like(x[0]), torch.zeros_like(x[0])),
         F.SynapticParams(alpha=0.7, beta=0.9)),
    ):  # fmt: skip
        a = sk.kernels.multistep(step, x, state, params, record_v=True)
        b = sk.kernels.multistep(step, x, state, params, record_v=True, backend="fused")
        assert torch.equal(a[2], b[2]), step.__name__


def test_triton_is_not_offered_for_the_state_families(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    for name in STATE_FAMILIES:
        step = SPECS[name].step
        assert "triton" not in sk.kernels.available_backends(step, "cpu")
        assert dispatch.supports(step) and not dispatch.supports(step, "triton")


def test_state_families_check_before_native_code():
    t, m = 4, 6
    x = torch.rand(t, m)
    vec = torch.zeros(m)
    with pytest.raises(ValueError, match=r"cpp.alif_forward: state\[1\] must be \[M\] = \(6,\)"):
        cpp.family_forward("alif", x, [vec, torch.zeros(2)], [vec] * 5, "subtract")
    with pytest.raises(ValueError, match=r"cpp.srm_forward: needs 3 state and 4 parameter tensors"):
        cpp.family_forward("srm", x, [vec, vec], [vec] * 4, "subtract")
    with pytest.raises(TypeError, match=r"cpp.synaptic_forward: x must have one of the dtypes"):
        cpp.family_forward("synaptic", x.bfloat16(), [vec, vec], [vec] * 3, "subtract")
    with pytest.raises(TypeError, match=r"cpp.rlif_forward: params\[0\] must have dtype torch.float32"):
        cpp.family_forward("rlif", x, [vec, vec], [vec.double(), vec, vec], "subtract")
    with pytest.raises(ValueError, match=r"reset must be one of"):
        cpp.family_forward("rlif", x, [vec, vec], [vec] * 3, "sideways")
    spec = families.family_spec("synaptic", F.SynapticParams(), x)
    with pytest.raises(ValueError, match=r"cpp.synaptic_backward: gout must be \[T, M\]"):
        cpp.family_backward(
            "synaptic", [x, x], [vec, vec], [vec] * 3, spec, torch.rand(2, m), None, [vec, vec]
        )
    with pytest.raises(ValueError, match=r"needs 2 saved sequences and 2 state gradients"):
        cpp.family_backward("synaptic", [x], [vec, vec], [vec] * 3, spec, None, None, [vec, vec])


def test_raw_family_functions_bounds_check_their_tensors():
    ext, t, m = _raw(), 4, 6
    x, vec = torch.rand(t, m), torch.zeros(m)
    msg = r"spikekit C\+\+ engine family_"
    with pytest.raises(RuntimeError, match=msg + r"forward: state must hold M = 6"):
        ext.family_forward(0, x, [vec, torch.zeros(1)], [vec] * 5, 0)
    with pytest.raises(RuntimeError, match=msg + r"forward: family 0 needs 5 parameters, got 4"):
        ext.family_forward(0, x, [vec, vec], [vec] * 4, 0)
    with pytest.raises(RuntimeError, match=msg + r"forward: family must be 0..6, got 7"):
        ext.family_forward(7, x, [vec, vec], [vec] * 5, 0)
    with pytest.raises(RuntimeError, match=msg + r"forward: x must be float32 or float64"):
        ext.family_forward(1, x.bfloat16(), [vec, vec], [vec] * 3, 0)
    with pytest.raises(RuntimeError, match=msg + r"forward: params must be a contiguous CPU tensor of dtype"):
        ext.family_forward(1, x, [vec, vec], [vec, vec, vec.double()], 0)
    with pytest.raises(RuntimeError, match=msg + r"forward: reset must be 0, 1 or 2"):
        ext.family_forward(1, x, [vec, vec], [vec] * 3, 5)
    with pytest.raises(RuntimeError, match=msg + r"backward: family 3 saves 2 sequences, got 1"):
        ext.family_backward(3, [x], [vec] * 3, [vec] * 4, None, None, [vec] * 3, 0, False, 0, 2.0)
    with pytest.raises(RuntimeError, match=msg + r"backward: saved must be \[T, M\]"):
        ext.family_backward(
            3, [x, torch.rand(2, m)], [vec] * 3, [vec] * 4, None, None, [vec] * 3, 0, False, 0, 2.0
        )
    with pytest.raises(RuntimeError, match=msg + r"backward: gout must be \[T, M\]"):
        ext.family_backward(1, [x, x], [vec] * 2, [vec] * 3, torch.rand(1), None, [vec] * 2, 0, False, 0, 2.0)
    with pytest.raises(RuntimeError, match=msg + r"backward: gstate must hold 2 tensors"):
        ext.family_backward(1, [x, x], [vec] * 2, [vec] * 3, None, None, [vec], 0, False, 0, 2.0)
    with pytest.raises(RuntimeError, match=msg + r"backward: gstate must hold M = 6"):
        ext.family_backward(
            1, [x, x], [vec] * 2, [vec] * 3, None, None, [vec, torch.zeros(3)], 0, False, 0, 2.0
        )


# --- the dense RLIF, and the newer families at sizes that split into several blocks (issue 16) -------------
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize(
    "kw",
    [{**kw, "all_to_all": True} for kw in _variants("RLIF")],
    ids=lambda kw: "-".join(map(str, kw.values())),
)
def test_dense_rlif_equals_its_reference_loop(kw, dtype):
    """The dense weight's GEMM is ATen's own, on a spike tensor allocated as the core's: spikes, membranes and
    final states bit for bit, gradients (W included) to 1e-12 / 1e-5, every reset, detached or not."""
    if not cpp.available():
        pytest.skip("the C++ engine could not be built here")
    m = _build("RLIF", **kw).to(dtype)
    x = _sample_for("RLIF", dtype).to(dtype)
    assert m.weight.dim() == 2 and dispatch.engine_name(F.rlif_step, x, m.params(), "fused") == "cpp"
    _assert_family_same("RLIF", kw, dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize(
    "name,kw",
    [("Izhikevich", {}), ("AdEx", {"detach_reset": False}), ("Alpha", {"reset": "subtract"}),
     ("RLIF", {"all_to_all": True})],
    ids=["Izhikevich", "AdEx", "Alpha", "RLIF-dense"],
)  # fmt: skip
def test_newer_engines_equal_the_loop_over_many_blocks(name, kw, dtype):
    """8 x 350 neurons (above the engine's 2048 per thread: several blocks, and AdEx's ``torch.exp`` over
    each block's chunk) for 40 steps: bit for bit, and the input's gradient to 1e-12 / 1e-5."""
    if not cpp.available():
        pytest.skip("the C++ engine could not be built here")
    features = 350
    m = _build(name, features=features, **kw).to(dtype)
    spec, params = SPECS[name], m.params()
    x = _sample_for(name, dtype, steps=40, batch=8, features=features).to(dtype)
    assert dispatch.engine_name(spec.step, x, params, "fused") == "cpp"
    w = weights(x)
    runs = []
    for backend in ("torch", "fused"):
        xx = x.clone().requires_grad_(True)
        out, final, v = sk.kernels.multistep(
            spec.step, xx, m.init_state(x[0]), params, record_v=True, backend=backend
        )
        (gx,) = torch.autograd.grad((out * w[0].to(dtype)).sum() + (v * w[1].to(dtype)).sum(), [xx])
        runs.append((out.detach(), v.detach(), [f.detach() for f in final], gx))
    (s0, v0, f0, g0), (s1, v1, f1, g1) = runs
    assert 0 < s0.sum() < s0.numel()
    assert torch.equal(s0, s1) and torch.equal(v0, v1)
    assert all(torch.equal(a, b) for a, b in zip(f0, f1, strict=True))
    assert rel(g1, g0) <= {torch.float64: 1e-12, torch.float32: 1e-5}[dtype]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_newer_families_with_python_number_parameters(dtype):
    """The functional API's Python floats (cast as PyTorch casts a scalar, derived ones such as ``dt * a``,
    ``-g_L``, ``g_L * delta_T`` and ``tau_alpha`` computed as the core computes them): bit for bit."""
    if not cpp.available():
        pytest.skip("the C++ engine could not be built here")
    cases = [
        (
            "Izhikevich",
            F.IzhikevichParams(a=0.021, b=0.19, c=-64.9, d=7.9, v_peak=30.1, dt=0.9, v_scale=99.9),
        ),
        ("AdEx", F.AdExParams(dt=0.7, v_scale=29.9)),
        ("Alpha", F.AlphaParams(alpha=0.9, beta=0.7, threshold=0.7, reset="subtract")),
    ]
    for name, params in cases:
        x = _sample_for(name, dtype, steps=30).to(dtype)
        state = _build(name).to(dtype).init_state(x[0])
        step = SPECS[name].step
        assert dispatch.engine_name(step, x, params, "fused") == "cpp"
        a = sk.kernels.multistep(step, x, state, params, record_v=True)
        b = sk.kernels.multistep(step, x, state, params, record_v=True, backend="fused")
        assert a[0].sum() > 0, name
        assert torch.equal(a[0], b[0]) and torch.equal(a[2], b[2]), name
        assert all(torch.equal(p, q) for p, q in zip(a[1], b[1], strict=True)), name


def test_dense_rlif_engine_checks_its_tensors():
    ext, t, n = _raw(), 4, 3
    x, vec, w = torch.rand(t, 2 * n), torch.zeros(2 * n), torch.zeros(n, n)
    with pytest.raises(
        ValueError, match=r"cpp.rlif_dense_forward: x's 6 neurons are not a multiple of N = 4"
    ):
        cpp.family_forward("rlif_dense", x, [vec, vec], [torch.zeros(4, 4), vec, vec], "subtract")
    with pytest.raises(TypeError, match=r"cpp.rlif_dense_forward: params\[0\] \(W\) must be a contiguous"):
        cpp.family_forward("rlif_dense", x, [vec, vec], [w.double(), vec, vec], "subtract")
    with pytest.raises(ValueError, match=r"needs 1 saved sequence and 2 state gradients"):
        spec = families.family_spec("rlif", F.RLIFParams(weight=w), x)
        cpp.family_backward("rlif_dense", [x, x], [vec, vec], [w, vec, vec], spec, None, None, [vec, vec])
    msg = r"spikekit C\+\+ engine rlif_dense_"
    with pytest.raises(RuntimeError, match=msg + r"forward: W must be \[N, N\] with N dividing M = 6"):
        ext.rlif_dense_forward(x, vec, vec, torch.zeros(4, 4), vec, vec, 0)
    with pytest.raises(RuntimeError, match=msg + r"forward: W must be a contiguous CPU tensor"):
        ext.rlif_dense_forward(x, vec, vec, torch.zeros(n, 2 * n)[:, :n], vec, vec, 0)
    with pytest.raises(RuntimeError, match=msg + r"forward: state must hold M = 6"):
        ext.rlif_dense_forward(x, torch.zeros(5), vec, w, vec, vec, 0)
    with pytest.raises(RuntimeError, match=msg + r"backward: gout must be \[T, M\]"):
        ext.rlif_dense_backward(x, vec, vec, w, vec, vec, torch.rand(2, 6), None, vec, vec, 0, False, 0, 2.0)
    with pytest.raises(RuntimeError, match=msg + r"backward: gstate must hold M = 6"):
        ext.rlif_dense_backward(x, vec, vec, w, vec, vec, None, None, torch.zeros(2), vec, 0, False, 0, 2.0)
