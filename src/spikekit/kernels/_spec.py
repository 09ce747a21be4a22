"""What a fused kernel needs from a step function and its parameters, in one place for every engine.

The fused backends do not call the functional core; they run the same arithmetic in one loop. This module
turns ``(step, params)`` into a small description of that arithmetic:

- the ``"lif"`` family (every neuron whose :class:`~spikekit.functional.spec.NeuronSpec` has
  ``fused="lif"``) in one of three *forms*, given by the spec's ``fused_form`` so that each engine repeats
  the core's floating-point operations in the same order (so that spikes are bit-identical to the reference
  loop):

  - ``FORM_IF``:    ``h = v + x``
  - ``FORM_DECAY``: ``h = a * v + x``          (a decay ``a`` per step)
  - ``FORM_PLIF``:  ``h = v + a * (x - v)``    (the input decays too)

  then ``s = H(h - threshold)`` and the reset (``subtract``, ``zero`` or ``none``);
- the ``"refractory"`` family: the original experiment's neuron (``h = x + d c``, graded or binary output,
  gated reset).

Tensors in a spec keep their autograd history (``a = sigmoid(w)`` is differentiable), so the fused
autograd function returns gradients for them and autograd carries them on to ``beta``, ``w``,
``threshold``, ``penalty``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from .. import surrogate as sg
from ..functional.spec import spec_of

FORM_IF, FORM_DECAY, FORM_PLIF = 0, 1, 2
FORMS = {"if": FORM_IF, "decay": FORM_DECAY, "plif": FORM_PLIF}  # NeuronSpec.fused_form's names
RESETS = {"subtract": 0, "zero": 1, "none": 2}

# Closed forms that the compiled engines implement, by surrogate type: (code, its one parameter's name).
SURROGATE_CODES: dict[type, tuple[int, str]] = {
    sg.atan: (0, "alpha"),
    sg.sigmoid: (1, "alpha"),
    sg.fast_sigmoid: (2, "slope"),
    sg.triangle: (3, "width"),
    sg.rectangle: (4, "width"),
    sg.straight_through: (5, "scale"),
}


def surrogate_code(surrogate: sg.Surrogate) -> tuple[int, float] | None:
    """``(code, parameter)`` of a built-in surrogate; ``None`` for any other (subclasses included)."""
    entry = SURROGATE_CODES.get(type(surrogate))
    if entry is None:
        return None
    code, field = entry
    return code, float(getattr(surrogate, field))


def _tensor(value: Any, like: torch.Tensor) -> torch.Tensor:
    # a Python number as a 0-d float64 tensor: the engines cast it to the computing dtype as PyTorch casts a
    # scalar operand (a float32 0-d tensor would round it first, which a float64 core never does)
    if isinstance(value, torch.Tensor):
        return value
    return torch.tensor(float(value), dtype=torch.float64, device=like.device)


@dataclass(frozen=True)
class LIFSpec:
    """One ``"lif"``-family neuron: ``h = form(v, x; a)``, ``s = H(h - thr)``, reset (module docstring)."""

    form: int
    a: torch.Tensor | None  # [broadcastable to one step] or None for FORM_IF
    thr: torch.Tensor
    reset: str
    detach: bool
    surrogate: sg.Surrogate


@dataclass(frozen=True)
class RefractorySpec:
    """The ``"refractory"`` family (the seed neuron): ``h = x + d c``; ``o = relu(h - thr)`` or
    ``H(h - thr)``; gated reset of ``c``.

    ``cp`` is ``penalty / threshold`` for ``reset="seed"`` (computed as the core does, so it is bitwise
    the same) and ``penalty`` for ``reset="prose"``.
    """

    d: torch.Tensor
    thr: torch.Tensor
    cp: torch.Tensor
    reset: str  # "seed" | "prose"
    spike: str  # "graded" | "binary"
    surrogate: sg.Surrogate


def lif_spec(step: Any, params: Any, x: torch.Tensor) -> LIFSpec:
    """The :class:`LIFSpec` of a ``fused="lif"`` neuron's ``step`` with ``params`` for input ``x``."""
    spec = spec_of(step)
    if spec is None or spec.fused != "lif":
        raise TypeError(f"no fused 'lif' form for step {getattr(step, '__name__', step)!r}")
    p = params
    form, a = spec.fused_form(p, x)
    if form not in FORMS:
        raise ValueError(f"{spec.name}: fused_form returned form {form!r}; expected one of {tuple(FORMS)}")
    a = None if form == "if" else _tensor(a, x)
    return LIFSpec(FORMS[form], a, _tensor(p.threshold, x), p.reset, bool(p.detach_reset), p.surrogate)


def refractory_spec(params: Any, x: torch.Tensor) -> RefractorySpec:
    """The :class:`RefractorySpec` of a ``fused="refractory"`` neuron with ``params`` for input ``x``."""
    p = params
    cp = p.penalty / p.threshold if p.reset == "seed" else p.penalty
    return RefractorySpec(
        _tensor(p.decay, x), _tensor(p.threshold, x), _tensor(cp, x), p.reset, p.spike, p.surrogate
    )


def result_dtype(x: torch.Tensor, *others: torch.Tensor | None) -> torch.dtype:
    """The dtype the core's arithmetic ends up in: ``x``'s, promoted by parameters that have dimensions.

    (Zero-dimensional tensors do not promote a dimensioned one of the same kind, as in PyTorch.)
    """
    dtype = x.dtype
    for o in others:
        if o is not None and o.dim() > 0 and o.is_floating_point():
            dtype = torch.promote_types(dtype, o.dtype)
    return dtype


def opmath(dtype: torch.dtype) -> torch.dtype:
    """The dtype arithmetic runs in: float32 for 16-bit floats, else ``dtype``."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def per_neuron(p: torch.Tensor, step_shape: torch.Size, dtype: torch.dtype) -> torch.Tensor:
    """``p`` broadcast to one step's shape, flattened to ``[M]``, contiguous, in ``dtype``, detached."""
    return p.detach().to(dtype).expand(step_shape).reshape(-1).contiguous()


def reduce_to(g: torch.Tensor, p: torch.Tensor, step_shape: torch.Size) -> torch.Tensor:
    """A per-neuron gradient ``[M]`` summed down to parameter ``p``'s shape and dtype."""
    return g.view(step_shape).sum_to_size(p.shape).to(p.dtype)


def numel(shape: torch.Size) -> int:
    return math.prod(shape)


FAMILY_CODES = {  # the C++ engine's family codes (the spec families it runs)
    "alif": 0, "synaptic": 1, "rlif": 2, "srm": 3, "izhikevich": 4, "adex": 5, "alpha": 6,
}  # fmt: skip
DENSE_RLIF = "rlif_dense"  # the "rlif" family with a dense weight [N, N]: its own C++ entry pair, no code
FAMILY_LAYOUT = {  # (state fields, parameters, saved sequences) of each family, as the C++ engine has them
    "alif": (2, 5, 2),
    "synaptic": (2, 3, 2),
    "rlif": (2, 3, 1),
    "srm": (3, 4, 2),
    "izhikevich": (2, 7, 3),
    "adex": (2, 13, 3),
    "alpha": (3, 4, 3),
    DENSE_RLIF: (2, 3, 1),
}
FAMILY_MATRIX = {DENSE_RLIF: 0}  # the parameter passed whole ([N, N]), not expanded per neuron
