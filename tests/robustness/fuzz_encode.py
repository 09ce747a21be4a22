"""Bad inputs to the spike encoders (``spikekit.encode``: poisson, flicker, latency, delta, population).

Sizes that would need more memory than the machine has (``steps=2**40``) must be refused before anything
is allocated; non-floating, NaN, infinite and meta-device inputs and ``T = 0`` must be refused by name.
Nothing here reaches native code, so no case is isolated.
"""

from __future__ import annotations

import torch
from harness import Case

from spikekit import encode

CASES: list[Case] = []

HUGE = 2**40  # steps: 4 TiB of float32 per element of x


def _add(name: str, run) -> None:
    CASES.append(Case("encode/decode", name, run=run))


def _p(shape=(2, 3)):
    return torch.full(shape, 0.5)


# the static encoders take x [B, ...] and steps
STATIC = {
    "poisson": lambda x, steps, **kw: encode.poisson(x, steps, **kw),
    "flicker": lambda x, steps, **kw: encode.flicker(x, steps, **kw),
    "latency": lambda x, steps, **kw: encode.latency(x, steps, **kw),
    "latency log": lambda x, steps, **kw: encode.latency(x, steps, method="log", **kw),
    "population spikes": lambda x, steps, **kw: encode.population(x, 4, steps=steps, **kw),
}

for name, enc in STATIC.items():
    _add(f"{name}: steps = 2**40 (terabytes)", lambda tmp, e=enc: e(_p(), HUGE))
    _add(f"{name}: steps = 2**62", lambda tmp, e=enc: e(_p(), 2**62))
    _add(f"{name}: large batch x steps overflows memory", lambda tmp, e=enc: e(_p((4096, 4096)), 2**24))
    _add(f"{name}: steps = 0 (T = 0)", lambda tmp, e=enc: e(_p(), 0))
    _add(f"{name}: steps = -1", lambda tmp, e=enc: e(_p(), -1))
    _add(f"{name}: steps float", lambda tmp, e=enc: e(_p(), 4.0))
    _add(f"{name}: steps tensor", lambda tmp, e=enc: e(_p(), torch.tensor(4)))
    _add(f"{name}: bool x", lambda tmp, e=enc: e(torch.ones(2, 3, dtype=torch.bool), 4))
    _add(f"{name}: complex x", lambda tmp, e=enc: e(torch.ones(2, 3, dtype=torch.cfloat), 4))
    _add(f"{name}: int x", lambda tmp, e=enc: e(torch.ones(2, 3, dtype=torch.int64), 4))
    _add(f"{name}: NaN x", lambda tmp, e=enc: e(torch.full((2, 3), float("nan")), 4))
    _add(f"{name}: inf x", lambda tmp, e=enc: e(torch.full((2, 3), float("inf")), 4))
    _add(f"{name}: 0-d x", lambda tmp, e=enc: e(torch.tensor(0.5), 4))
    _add(f"{name}: x on the meta device", lambda tmp, e=enc: e(torch.empty(2, 3, device="meta"), 4))
    _add(f"{name}: list x", lambda tmp, e=enc: e([[0.5, 0.5]], 4))

# probabilities out of range
_add("poisson: x above 1", lambda tmp: encode.poisson(torch.full((2, 3), 1.5), 4))
_add("poisson: gain NaN", lambda tmp: encode.poisson(_p(), 4, gain=float("nan")))
_add("poisson: generator not a Generator", lambda tmp: encode.poisson(_p(), 4, generator=0))
_add("latency: x below 0", lambda tmp: encode.latency(torch.full((2, 3), -0.5), 4))
_add("latency log: tau = 0", lambda tmp: encode.latency(_p(), 4, method="log", tau=0.0))
_add("latency: unknown method", lambda tmp: encode.latency(_p(), 4, method="exp"))

# population: its neuron count is a size too
_add("population: neurons = 2**40", lambda tmp: encode.population(_p(), 2**40))
_add("population: neurons = 0", lambda tmp: encode.population(_p(), 0))
_add("population: low >= high", lambda tmp: encode.population(_p(), 4, low=1.0, high=0.0))
_add("population: sigma NaN", lambda tmp: encode.population(_p(), 4, sigma=float("nan")))
_add(
    "population activations: complex x",
    lambda tmp: encode.population(torch.ones(2, 3, dtype=torch.cfloat), 4),
)
_add("population activations: NaN x", lambda tmp: encode.population(torch.full((2, 3), float("nan")), 4))

# delta takes a sequence [T, B, ...]
_add("delta: T = 0", lambda tmp: encode.delta(torch.rand(0, 2, 3)))
_add("delta: 1-d sequence", lambda tmp: encode.delta(torch.rand(5)))
_add("delta: bool sequence", lambda tmp: encode.delta(torch.ones(4, 2, dtype=torch.bool)))
_add("delta: complex sequence", lambda tmp: encode.delta(torch.ones(4, 2, dtype=torch.cfloat)))
_add("delta: NaN sequence", lambda tmp: encode.delta(torch.full((4, 2), float("nan"))))
_add("delta: sequence on the meta device", lambda tmp: encode.delta(torch.empty(4, 2, device="meta")))
_add("delta: threshold 0", lambda tmp: encode.delta(torch.rand(4, 2), threshold=0.0))
