"""Bad inputs to the neurons and their engines (every neuron x backend; native ones isolated).

Three levels, each driven over every neuron and every backend it supports:

- the modules of ``sk.nn.NEURONS`` (``run``/``forward``/``step``), with backends ``"torch"``, ``"auto"`` and,
  for neurons with a fused engine, ``"fused"`` (and ``"triton"`` where it runs);
- ``sk.kernels.multistep`` on the fused neurons' functional cores (the issue's heap corruption);
- the engines' own entry points (``kernels.cpp``), ``LinearLIF`` / ``linear_lif`` and ``flicker_linear``.

The compiled engines' raw functions (``cpp._ext()``) are not here: a bad call raises their ``TORCH_CHECK``'s
``RuntimeError`` from native code, which no Python frame of spikekit raises; ``tests/test_kernels.py``
checks that each refuses mis-sized tensors.

Not bad inputs (so not here; ``tests/test_kernels.py`` checks they work): a non-contiguous ``x`` given to
a module or to ``multistep`` (the engines copy it), and a batch or feature axis of size 0 (an empty
output). A non-contiguous or mis-sized tensor given to an engine function directly *is* a bad input.

Cases that can reach native code (a fused backend with a state, parameter or tensor the C++ engine could
index out of bounds, or a meta tensor without storage) run in a subprocess (``isolate=True``), so that an
abort is seen as one; only those, to keep the table fast.
"""

from __future__ import annotations

import torch
from harness import Case

import spikekit as sk
import spikekit.functional as F

CASES: list[Case] = []

T, B, N = 4, 2, 3
BIG = 3e38  # float32 overflows (max 3.4e38) within a few steps of integration


def _add(name: str, run, isolate: bool = False) -> None:
    CASES.append(Case("neurons", name, run=run, isolate=isolate))


def _x(dtype=torch.float32, steps=T):
    return torch.rand(steps, B, N, dtype=dtype)


def _build(name: str, backend: str):
    cls = sk.nn.NEURONS[name]
    if name == "RLIF":
        return cls(N, backend=backend)
    if name == "PLIF":
        return cls(decay_input=False, backend=backend)  # with decay_input the membrane only approaches x
    return cls(backend=backend)


def _backends(name: str) -> list[str]:
    step = sk.nn.NEURONS[name].core_step
    names = [
        b for b in sk.kernels.available_backends(step, "cpu") if b != "triton" or sk.kernels.triton_usable()
    ]
    return [*names, "auto"]


def _state(m, x_t, fill=0.0, shape=None, dtype=None, device=None):
    """A state of ``m``'s type, every field ``fill``, with the given shape / dtype / device."""
    shape = tuple(x_t.shape) if shape is None else shape
    dtype = x_t.dtype if dtype is None else dtype
    return m.State(*(torch.full(shape, fill, dtype=dtype, device=device) for _ in m.State._fields))


NO_OVERFLOW = {"Izhikevich"}  # resets v to c in the step it fires: any input stays finite (not a bad input)
FUSED_NEURONS = [n for n in sk.nn.NEURONS if sk.kernels.supports(sk.nn.NEURONS[n].core_step)]

# --- every module x backend ----------------------------------------------------------------------------
for name in sk.nn.NEURONS:
    for backend in _backends(name):
        tag = f"{name} {backend}"
        native = name in FUSED_NEURONS and backend != "torch"

        def case(fn, name=name, backend=backend):
            return lambda tmp: fn(_build(name, backend))

        _add(
            f"{tag}: state of another shape",
            case(lambda m: m.run(_x(), _state(m, _x()[0], shape=(1, N + 2)))),
        )
        _add(
            f"{tag}: float64 state, float32 x",
            case(lambda m: m.run(_x(), _state(m, _x()[0], dtype=torch.float64))),
        )
        _add(f"{tag}: int x", case(lambda m: m(torch.ones(T, B, N, dtype=torch.int64))))
        _add(f"{tag}: bool x", case(lambda m: m(torch.ones(T, B, N, dtype=torch.bool))))
        _add(f"{tag}: complex x", case(lambda m: m(torch.ones(T, B, N, dtype=torch.complex64))))
        _add(f"{tag}: NaN state", case(lambda m: m.run(_x(), _state(m, _x()[0], fill=float("nan")))))
        _add(f"{tag}: inf state", case(lambda m: m.run(_x(), _state(m, _x()[0], fill=float("inf")))))
        _add(f"{tag}: T = 0", case(lambda m: m(_x(steps=0))))
        if name not in NO_OVERFLOW:
            _add(f"{tag}: 3e38 input overflows float32", case(lambda m: m(torch.full((T, B, N), BIG))))
        _add(f"{tag}: x on the meta device", case(lambda m: m(torch.empty(T, B, N, device="meta"))))
        _add(
            f"{tag}: state on the meta device",
            case(lambda m: m.run(_x(), _state(m, _x()[0], device="meta"))),
            isolate=native,
        )
        if backend == "torch":  # step() runs the core directly, whatever the backend
            _add(
                f"{name} step: NaN state",
                case(lambda m: m.step(_x()[0], _state(m, _x()[0], fill=float("nan")))),
            )
            _add(f"{name} step: bool x_t", case(lambda m: m.step(torch.ones(B, N, dtype=torch.bool))))
            if name not in NO_OVERFLOW:
                _add(
                    f"{name} step: 3e38 input overflows",
                    case(lambda m: m.step(torch.full((B, N), BIG), m.step(torch.full((B, N), BIG))[1])),
                )

# the heap corruption of the issue: a state whose shape does not match x, through the fused engine
_add(
    "multistep lif fused: state of another shape (the issue's case)",
    lambda tmp: sk.kernels.multistep(
        F.lif_step, torch.rand(5, 2, 8), F.LIFState(torch.zeros(1, 3)), F.LIFParams(), backend="fused"
    ),
    isolate=True,
)
_add(
    "multistep refractory fused: state of another shape (the issue's case)",
    lambda tmp: sk.kernels.multistep(
        F.refractory_step,
        torch.rand(5, 2, 8),
        F.RefractoryState(torch.zeros(1, 3), torch.zeros(1, 3)),
        F.RefractoryParams(),
        backend="fused",
    ),
    isolate=True,
)

# --- sk.kernels.multistep on the fused cores -------------------------------------------------------------
CORES = {
    "lif": (F.lif_step, F.LIFState, F.LIFParams),
    "if": (F.if_step, F.LIFState, F.IFParams),
    "plif": (F.plif_step, F.LIFState, lambda: F.PLIFParams(decay_input=False)),
    "refractory": (F.refractory_step, F.RefractoryState, F.RefractoryParams),
}


def _ms(core: str, backend: str, x=None, fill=0.0, shape=None, dtype=None, device=None, params=None):
    step, state_cls, params_cls = CORES[core]
    x = _x() if x is None else x
    shape = tuple(x.shape[1:]) if shape is None else shape
    dtype = x.dtype if dtype is None else dtype
    state = state_cls(*(torch.full(shape, fill, dtype=dtype, device=device) for _ in state_cls._fields))
    return sk.kernels.multistep(step, x, state, params_cls() if params is None else params, backend=backend)


for core in CORES:
    for backend in ("torch", "fused", "auto"):
        tag = f"multistep {core} {backend}"
        iso = backend != "torch" and (core == "lif" or backend == "fused")  # auto on the CPU is fused
        _add(
            f"{tag}: state of another shape",
            lambda tmp, c=core, b=backend: _ms(c, b, shape=(1, N)),
            isolate=iso,
        )
        _add(
            f"{tag}: state on the meta device",
            lambda tmp, c=core, b=backend: _ms(c, b, device="meta"),
            isolate=iso,
        )
        _add(f"{tag}: float64 state", lambda tmp, c=core, b=backend: _ms(c, b, dtype=torch.float64))
        _add(
            f"{tag}: int x",
            lambda tmp, c=core, b=backend: _ms(c, b, x=torch.ones(T, B, N, dtype=torch.int32)),
        )
        _add(
            f"{tag}: complex x",
            lambda tmp, c=core, b=backend: _ms(c, b, x=torch.ones(T, B, N, dtype=torch.cfloat)),
        )
        _add(f"{tag}: NaN state", lambda tmp, c=core, b=backend: _ms(c, b, fill=float("nan")))
        _add(f"{tag}: NaN x", lambda tmp, c=core, b=backend: _ms(c, b, x=torch.full((T, B, N), float("nan"))))
        _add(f"{tag}: T = 0", lambda tmp, c=core, b=backend: _ms(c, b, x=_x(steps=0)))
        _add(f"{tag}: 1-d x", lambda tmp, c=core, b=backend: _ms(c, b, x=torch.rand(T), shape=()))
        _add(
            f"{tag}: 3e38 input overflows",
            lambda tmp, c=core, b=backend: _ms(c, b, x=torch.full((T, B, N), BIG)),
        )
        _add(f"{tag}: state not a NamedTuple", lambda tmp, c=core, b=backend: sk.kernels.multistep(
            CORES[c][0], _x(), torch.zeros(B, N), CORES[c][2](), backend=b))  # fmt: skip
    # per-neuron parameters that do not fit one step (the C++ engine indexes them per neuron)
    _add(
        f"multistep {core} fused: per-neuron threshold of another shape",
        lambda tmp, c=core: _ms(c, "fused", params=_params_with(c, threshold=torch.ones(N + 4))),
        isolate=True,
    )
    _add(
        f"multistep {core} fused: threshold on the meta device",
        lambda tmp, c=core: _ms(c, "fused", params=_params_with(c, threshold=torch.ones(N, device="meta"))),
    )


def _params_with(core: str, **kw):
    import dataclasses

    return (
        dataclasses.replace(CORES[core][2](), **kw)
        if core != "plif"
        else F.PLIFParams(decay_input=False, **kw)
    )


# --- the engines' entry points, called directly --------------------------------------------------------
def _cpp():
    import spikekit.kernels.cpp as cpp

    return cpp


M = B * N


def _lif_fwd(x=None, v=None, a=None, thr=None, form=1, reset="subtract"):
    x = torch.rand(T, M) if x is None else x
    v = torch.zeros(M) if v is None else v
    a = torch.full((M,), 0.9) if a is None else (None if a is False else a)
    thr = torch.ones(M) if thr is None else thr
    return _cpp().lif_forward(x, v, a, thr, form, reset)


_add("cpp.lif_forward: state shorter than x's neurons", lambda tmp: _lif_fwd(v=torch.zeros(1)), isolate=True)
_add("cpp.lif_forward: threshold shorter", lambda tmp: _lif_fwd(thr=torch.ones(2)), isolate=True)
_add("cpp.lif_forward: non-contiguous x", lambda tmp: _lif_fwd(x=torch.rand(M, T).t()), isolate=True)
_add(
    "cpp.lif_forward: float64 threshold for float32 x",
    lambda tmp: _lif_fwd(thr=torch.ones(M, dtype=torch.float64)),
    isolate=True,
)
_add("cpp.lif_forward: decay form without a decay", lambda tmp: _lif_fwd(a=False), isolate=True)
_add("cpp.lif_forward: unknown reset", lambda tmp: _lif_fwd(reset="halve"), isolate=True)
_add("cpp.lif_forward: 3-d x", lambda tmp: _lif_fwd(x=torch.rand(T, B, N)), isolate=True)
_add("cpp.lif_forward: int x", lambda tmp: _lif_fwd(x=torch.ones(T, M, dtype=torch.int32)), isolate=True)


def _lif_spec():
    from spikekit.kernels._spec import FORM_DECAY, LIFSpec

    return LIFSpec(FORM_DECAY, torch.tensor(0.9), torch.tensor(1.0), "subtract", False, sk.surrogate.atan())


def _ref_spec():
    from spikekit.kernels._spec import RefractorySpec

    one = torch.tensor(1.0)
    return RefractorySpec(one * 0.9, one, one * 1.5, "seed", "binary", sk.surrogate.atan())


_add(
    "cpp.lif_backward: output gradient of another shape",
    lambda tmp: _cpp().lif_backward(
        torch.rand(T, M), torch.zeros(M), torch.full((M,), 0.9), torch.ones(M), _lif_spec(),
        torch.rand(1, 2), None, None, True, True,
    ),
    isolate=True,
)  # fmt: skip
_add(
    "cpp.refractory_forward: state shorter than x's neurons",
    lambda tmp: _cpp().refractory_forward(
        torch.rand(T, M), torch.zeros(1), torch.zeros(M), torch.full((M,), 0.9), torch.ones(M),
        torch.full((M,), 1.5), _ref_spec(), True,
    ),
    isolate=True,
)  # fmt: skip
_add(
    "cpp.refractory_backward: final-state gradient of another shape",
    lambda tmp: _cpp().refractory_backward(
        torch.rand(T, M), torch.zeros(M), torch.full((M,), 0.9), torch.ones(M), torch.full((M,), 1.5),
        _ref_spec(), torch.rand(T, M), None, torch.zeros(2), None, (True, True, True),
    ),
    isolate=True,
)  # fmt: skip


# --- LinearLIF / linear_lif ----------------------------------------------------------------------------
def _llif(memory="recompute", backend="fused"):
    layer = sk.nn.LinearLIF(5, N, backend=backend, memory=memory)
    with torch.no_grad():
        layer.weight.fill_(0.5)  # the same sign everywhere: 3e38 inputs overflow the current for sure
    return layer


for memory, backend in (("fast", "torch"), ("fast", "fused"), ("recompute", "fused"), ("recompute", "auto")):
    tag = f"LinearLIF {memory} {backend}"
    native = backend != "torch"
    _add(
        f"{tag}: int x", lambda tmp, m=memory, b=backend: _llif(m, b)(torch.ones(T, B, 5, dtype=torch.int64))
    )
    _add(
        f"{tag}: complex x",
        lambda tmp, m=memory, b=backend: _llif(m, b)(torch.ones(T, B, 5, dtype=torch.cfloat)),
    )
    _add(f"{tag}: T = 0", lambda tmp, m=memory, b=backend: _llif(m, b)(torch.rand(0, B, 5)))
    _add(f"{tag}: NaN state", lambda tmp, m=memory, b=backend: _llif(m, b).run(
        torch.rand(T, B, 5), F.LIFState(torch.full((B, N), float("nan")))))  # fmt: skip
    _add(f"{tag}: float64 state", lambda tmp, m=memory, b=backend: _llif(m, b).run(
        torch.rand(T, B, 5), F.LIFState(torch.zeros(B, N, dtype=torch.float64))))  # fmt: skip
    _add(
        f"{tag}: 3e38 input overflows",
        lambda tmp, m=memory, b=backend: _llif(m, b)(torch.full((T, B, 5), BIG)),
    )
    _add(
        f"{tag}: state on the meta device",
        lambda tmp, m=memory, b=backend: _llif(m, b).run(
            torch.rand(T, B, 5), F.LIFState(torch.zeros(B, N, device="meta"))
        ),
        isolate=native,
    )
    _add(f"{tag}: weight on the meta device", lambda tmp, m=memory, b=backend: sk.kernels.linear_lif(
        torch.rand(T, B, 5), torch.empty(N, 5, device="meta"), None, F.LIFState(torch.zeros(B, N)),
        F.LIFParams(), memory=m, backend=b))  # fmt: skip
_add("linear_lif recompute: float64 weight, float32 x", lambda tmp: sk.kernels.linear_lif(
    torch.rand(T, B, 5), torch.rand(N, 5, dtype=torch.float64), None, F.LIFState(torch.zeros(B, N)),
    F.LIFParams(), memory="recompute", backend="fused"))  # fmt: skip
_add("linear_lif recompute: state of another shape", lambda tmp: sk.kernels.linear_lif(
    torch.rand(T, B, 5), torch.rand(N, 5), None, F.LIFState(torch.zeros(1, 1)), F.LIFParams(),
    memory="recompute", backend="fused"), isolate=True)  # fmt: skip


# --- flicker_linear ------------------------------------------------------------------------------------
def _fl(x=None, w=None, b=None, steps=T, seed=1, chunk=None):
    x = torch.rand(B, 5) if x is None else x
    w = torch.rand(N, 5) if w is None else w
    return sk.kernels.flicker_linear(x, w, b, steps, seed, chunk)


_add("flicker_linear: NaN x", lambda tmp: _fl(x=torch.full((B, 5), float("nan"))))
_add("flicker_linear: inf weight", lambda tmp: _fl(w=torch.full((N, 5), float("inf"))))
_add("flicker_linear: bool x", lambda tmp: _fl(x=torch.ones(B, 5, dtype=torch.bool)))
_add("flicker_linear: complex x", lambda tmp: _fl(x=torch.ones(B, 5, dtype=torch.cfloat)))
_add("flicker_linear: steps = 0", lambda tmp: _fl(steps=0))
_add("flicker_linear: steps = 2**40 (petabytes)", lambda tmp: _fl(steps=2**40))
_add("flicker_linear: x on the meta device", lambda tmp: _fl(x=torch.empty(B, 5, device="meta"),
                                                            w=torch.empty(N, 5, device="meta")))  # fmt: skip
_add(
    "flicker_linear: 3e38 x overflows the current",
    lambda tmp: _fl(x=torch.full((B, 5), BIG), w=torch.full((N, 5), 10.0)),
)
_add(
    "rng.flicker_fill: out of another shape than x",
    lambda tmp: sk.kernels.rng.flicker_fill(torch.empty(2, 3), torch.rand(5), 1),
    isolate=True,
)
