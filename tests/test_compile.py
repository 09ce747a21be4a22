"""``torch.compile`` support: every neuron module, ``LinearLIF`` and every supervised reference model
compiles with ``fullgraph=True`` (no graph break, checked with ``torch._dynamo.explain``) and gives eager
mode's spikes and gradients (see "Backends" in docs/conventions.md).

Kept fast: tiny shapes, one module per class; the equality runs through AOT autograd (``aot_eager``: the
forward and backward graphs inductor would receive, run without code generation), and inductor itself
(C++ code generation, the slow part) for one representative; ``benchmarks/compile.py`` compiles every
neuron with inductor at full size and checks its spikes. ``diehl-cook`` is not here: it learns
with STDP outside autograd, step by step in Python, and is not meant to be compiled.
"""

from __future__ import annotations

import copy

import pytest
import torch

import spikekit as sk
from neuron_registry import REGISTRY, NeuronInfo

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # dynamo's own notes on torch internals

dynamo = torch._dynamo


def _per_class() -> list[NeuronInfo]:
    """One registry entry per neuron class: the one with the most learnable tensors (their gradients are
    compared too)."""
    best: dict[str, NeuronInfo] = {}
    for info in REGISTRY:
        name = type(info.build()).__name__
        if name not in best or len(info.learnable) > len(best[name].learnable):
            best[name] = info
    return list(best.values())


NEURONS = _per_class()


def test_every_neuron_class_is_covered():
    assert {type(info.build()).__name__ for info in NEURONS} == {c.__name__ for c in sk.nn.NEURONS.values()}


def _graph_breaks(module, *args) -> int:
    dynamo.reset()
    return dynamo.explain(module)(*args).graph_break_count


def _run(module, x, compiler: str | None):
    """Output and gradients (input, then every parameter) of a fixed random projection of ``module(x)``."""
    fn = module if compiler is None else torch.compile(module, fullgraph=True, backend=compiler)
    x = x.clone().requires_grad_(True)
    out = fn(x)
    w = torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=out.dtype)
    params = [p for p in module.parameters() if p.requires_grad]
    grads = torch.autograd.grad((out * w).sum(), [x, *params], allow_unused=True)
    return out.detach(), grads


def _assert_same(module, x, compiler: str = "aot_eager", eager_module=None, exact: bool = True):
    """Compiled ``module`` == eager ``eager_module`` (default: a copy of ``module``): outputs bit for bit
    (``exact``; else to 1e-6, e.g. logits through an inductor GEMM) and gradients to 1e-6."""
    eager_module = copy.deepcopy(module) if eager_module is None else eager_module
    torch.manual_seed(0)  # the random encoders draw the same numbers in both
    out_e, g_e = _run(eager_module, x, None)
    dynamo.reset()
    torch.manual_seed(0)
    out_c, g_c = _run(module, x, compiler)
    if exact:
        assert torch.equal(out_c, out_e)
    else:
        torch.testing.assert_close(out_c, out_e, rtol=1e-6, atol=1e-6)
    assert len(g_c) == len(g_e)
    for a, b in zip(g_c, g_e, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def _build(info: NeuronInfo, **kwargs) -> sk.nn.Neuron:
    torch.manual_seed(0)
    module = info.build()
    for key, value in kwargs.items():
        setattr(module, key, value)
    return module.double()


# --- neurons -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("info", NEURONS, ids=[info.id for info in NEURONS])
def test_neuron_compiles_whole_and_matches_eager(info):
    module, x = _build(info), info.sample(steps=2, batch=2)
    assert _graph_breaks(module, x) == 0
    _assert_same(module, x)


@pytest.mark.parametrize("name", ["LIF", "ALIF", "RefractoryLIF"])
def test_fused_backend_compiles_to_the_reference_loop_and_matches_the_engine(name):
    """Compiled, ``backend="fused"`` runs the loop over the core; eager, the C++ (or PyTorch) engine: same
    spikes, same gradients."""
    info = next(i for i in NEURONS if type(i.build()).__name__ == name)
    assert sk.kernels.supports(type(info.build()).core_step)
    module, x = _build(info, backend="fused"), info.sample(steps=2, batch=2)
    assert _graph_breaks(module, x) == 0
    _assert_same(module, x)


def test_linear_lif_compiles_in_both_memory_modes():
    """``memory="recompute"``'s autograd function calls the engine; compiled, the fast path runs instead."""
    torch.manual_seed(0)
    x = torch.randn(3, 2, 5, dtype=torch.float64)
    for memory in ("fast", "recompute"):
        module = sk.nn.LinearLIF(5, 3, learn_beta=True, backend="fused", memory=memory).double()
        assert _graph_breaks(module, x) == 0
        _assert_same(module, x)


# --- value checks under compilation -------------------------------------------------------------------
def test_value_checks_become_in_graph_assertions():
    """Type and shape checks still run (at trace time): compiled without ``fullgraph`` they raise eager
    mode's ``ValueError``/``TypeError``; with ``fullgraph=True`` dynamo reports them in its own error. NaN
    input, or a parameter pushed out of range, stops the compiled call with the eager message."""
    module = sk.nn.LIF(beta=0.9)
    x = torch.rand(3, 2, 4)
    dynamo.reset()
    lenient = torch.compile(module, backend="aot_eager")
    with pytest.raises(ValueError, match="time-first sequence"):
        lenient(torch.rand(2, 4))
    with pytest.raises(TypeError, match="floating-point"):
        lenient(torch.ones(3, 2, 4, dtype=torch.int64))
    dynamo.reset()
    compiled = torch.compile(module, fullgraph=True, backend="aot_eager")
    with pytest.raises(dynamo.exc.Unsupported, match="time-first sequence"):
        compiled(torch.rand(2, 4))
    compiled(x)
    bad = x.clone()
    bad[1, 0, 2] = float("nan")
    with pytest.raises(RuntimeError, match="LIF: x must be finite"):
        compiled(bad)
    module.beta.fill_(1.5)
    with pytest.raises(RuntimeError, match=r"LIF: beta must lie in \(0, 1\]"):
        compiled(x)


# --- models ------------------------------------------------------------------------------------------
def _models():
    build = sk.models.build_model
    return {
        "seed-snn": (lambda: build("seed-snn", (1, 4, 4), 3, hidden=5, steps=2), torch.rand(2, 1, 4, 4)),
        "seed-ann": (lambda: build("seed-ann", (1, 4, 4), 3, hidden=5), torch.rand(2, 1, 4, 4)),
        "spiking-mlp": (
            lambda: build("spiking-mlp", (1, 4, 4), 3, hidden=(5,), steps=2, encoder="poisson"),
            torch.rand(2, 1, 4, 4),
        ),
        "spiking-cnn": (
            lambda: build("spiking-cnn", (1, 4, 4), 3, channels=(2, 2), hidden=4, steps=2),
            torch.rand(2, 1, 4, 4),
        ),
        "spiking-rnn": (lambda: build("spiking-rnn", (6,), 3, hidden=5), torch.rand(2, 2, 6)),
        "lsnn": (lambda: build("lsnn", (6,), 3, n_lif=3, n_alif=2), torch.rand(2, 2, 6)),
    }


MODELS = _models()


def test_every_supervised_model_is_covered():
    supervised = {n for n in sk.models.MODELS if sk.models.MODELS.info(n).get("kind") != "unsupervised"}
    assert supervised == set(MODELS)


@pytest.mark.parametrize("name", list(MODELS))
def test_model_compiles_whole_and_matches_eager(name):
    make, x = MODELS[name]
    torch.manual_seed(0)
    model = make().double()
    x = x.double()
    torch.manual_seed(0)
    assert _graph_breaks(model, x) == 0
    _assert_same(model, x)


def test_inductor_linear_lif_float32():
    """Inductor's generated code (not only the traced graphs), in the default dtype, with learnable
    per-neuron parameters."""
    torch.manual_seed(0)
    module = sk.nn.LinearLIF(4, 3, learn_beta=True, learn_threshold=True, shape=3, beta=0.8, threshold=0.5)
    _assert_same(module, torch.rand(3, 2, 4), compiler="inductor")
