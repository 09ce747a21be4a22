"""Spike functions with surrogate gradients.

Forward, every surrogate is the Heaviside step ``H(x) = 1 if x >= 0 else 0``, where ``x`` is the
membrane minus the threshold: a neuron whose membrane *reaches* the threshold fires (SpikingJelly's
rule; snnTorch fires only strictly above it, which differs on a set of measure zero).

Backward, the step's zero-almost-everywhere derivative is replaced by the derivative of a declared smooth
*primitive* ``P(x)``, a differentiable stand-in for the step: ``dH/dx := P'(x)``. Each surrogate writes
``P`` and ``P'`` separately; the tests check ``P'`` against autograd's derivative of ``P`` and run
``gradcheck`` on ``P``.

Example:
    >>> import spikekit as sk
    >>> spike = sk.surrogate.atan(alpha=2.0)
    >>> s = spike(v - threshold)  # forward: Heaviside; backward: alpha / 2 / (1 + (pi/2 alpha x)^2)
"""

from __future__ import annotations

import functools
import math

import torch

__all__ = [
    "Surrogate",
    "atan",
    "sigmoid",
    "fast_sigmoid",
    "triangle",
    "rectangle",
    "straight_through",
    "heaviside",
]


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """The spike rule: 1 where ``x >= 0``, else 0, in ``x``'s dtype."""
    return (x >= 0).to(x.dtype)


class _SpikeFunction(torch.autograd.Function):
    """Heaviside forward, ``surrogate.derivative`` backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad_out * ctx.surrogate.derivative(x), None


def _check_input(surrogate: Surrogate, x: object, method: str) -> None:
    """Raise ``TypeError`` unless ``x`` is a real floating-point tensor (what the surrogate computes on)."""
    where = f"{surrogate.name} surrogate{'.' + method if method else ''}"
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{where}: x must be a floating-point torch.Tensor (the membrane minus the threshold), "
            f"got {type(x).__name__}; wrap a number as torch.tensor(value)"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{where}: x must be a floating-point tensor (float16, bfloat16, float32 or float64), "
            f"got dtype {x.dtype}"
        )


def _checked(fn, method: str):
    @functools.wraps(fn)
    def wrapper(self, x):
        _check_input(self, x, method)
        return fn(self, x)

    wrapper._checked = True
    return wrapper


class Surrogate:
    """A spike function: Heaviside forward, ``derivative`` (= ``primitive``') backward.

    Subclasses define ``primitive(x)`` (the smooth stand-in for the step) and ``derivative(x)`` (its
    closed-form derivative, used in backward). Instances are immutable values: compare and print them.
    """

    name: str = "surrogate"
    _fields: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        # every primitive / derivative a subclass defines refuses what is not a real tensor, by name
        super().__init_subclass__(**kwargs)
        for method in ("primitive", "derivative"):
            fn = cls.__dict__.get(method)
            if fn is not None and not getattr(fn, "_checked", False):
                setattr(cls, method, _checked(fn, method))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(self, x, "")
        return _SpikeFunction.apply(x, self)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def derivative(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _values(self) -> tuple[float, ...]:
        return tuple(getattr(self, f) for f in self._fields)

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{self.name}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._values() == other._values()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __setattr__(self, key: str, value: object) -> None:
        if key in self.__dict__:
            raise AttributeError(f"{self.name} surrogate is immutable; make a new one instead")
        super().__setattr__(key, value)


def _positive(value: float, name: str, fn: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{fn}: {name} must be a positive float, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{fn}: {name} must be a positive finite float, got {value!r}")
    return float(value)


class atan(Surrogate):
    """Arc-tangent surrogate (Fang et al. 2021; SpikingJelly's and snnTorch's ``ATan``).

    ``P(x) = atan(pi/2 * alpha * x) / pi + 1/2``;  ``P'(x) = alpha / 2 / (1 + (pi/2 * alpha * x)^2)``.
    Peak ``alpha / 2`` at ``x = 0``; larger ``alpha`` is narrower.
    """

    name = "atan"
    _fields = ("alpha",)

    def __init__(self, alpha: float = 2.0) -> None:
        self.alpha = _positive(alpha, "alpha", "atan")

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.atan(math.pi / 2 * self.alpha * x) / math.pi + 0.5

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha / 2 / (1 + (math.pi / 2 * self.alpha * x) ** 2)


class sigmoid(Surrogate):
    """Logistic surrogate (SpikingJelly's ``Sigmoid``).

    ``P(x) = sigmoid(alpha * x)``;  ``P'(x) = alpha * sigmoid(alpha x) * (1 - sigmoid(alpha x))``.
    Peak ``alpha / 4``.
    """

    name = "sigmoid"
    _fields = ("alpha",)

    def __init__(self, alpha: float = 4.0) -> None:
        self.alpha = _positive(alpha, "alpha", "sigmoid")

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.alpha * x)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(self.alpha * x)
        return self.alpha * s * (1 - s)


class fast_sigmoid(Surrogate):
    """SuperSpike's fast sigmoid (Zenke & Ganguli 2018; snnTorch's ``fast_sigmoid``).

    ``P(x) = 1/2 + x / (1 + slope * |x|)``;  ``P'(x) = 1 / (1 + slope * |x|)^2``.
    Peak 1, same scale as snnTorch's (its primitive spans ``1/2 +- 1/slope``, not [0, 1]).
    """

    name = "fast_sigmoid"
    _fields = ("slope",)

    def __init__(self, slope: float = 25.0) -> None:
        self.slope = _positive(slope, "slope", "fast_sigmoid")

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 + x / (1 + self.slope * x.abs())

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return 1 / (1 + self.slope * x.abs()) ** 2


class triangle(Surrogate):
    """Triangular surrogate (Esser et al. 2016; Bellec et al. 2018's piecewise-linear pseudo-derivative).

    ``P'(x) = max(0, 1 - |x| / width) / width``, a triangle of area 1 and half-width ``width``;
    ``P(x) = clamp(1/2 + x / width - x |x| / (2 width^2), 0, 1)`` inside ``|x| < width``, 0 or 1 outside.
    """

    name = "triangle"
    _fields = ("width",)

    def __init__(self, width: float = 1.0) -> None:
        self.width = _positive(width, "width", "triangle")

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        w = self.width
        inside = 0.5 + x / w - x * x.abs() / (2 * w * w)
        return torch.where(x.abs() < w, inside, heaviside(x))

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(1 - x.abs() / self.width, min=0) / self.width


class rectangle(Surrogate):
    """Rectangular (boxcar) surrogate (Wu et al. 2018's rectangular pseudo-derivative).

    ``P'(x) = 1 / width`` where ``|x| < width / 2``, else 0; ``P(x) = clamp(x / width + 1/2, 0, 1)``.
    """

    name = "rectangle"
    _fields = ("width",)

    def __init__(self, width: float = 1.0) -> None:
        self.width = _positive(width, "width", "rectangle")

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x / self.width + 0.5, 0.0, 1.0)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return (x.abs() < self.width / 2).to(x.dtype) / self.width


class straight_through(Surrogate):
    """Straight-through estimator (Bengio et al. 2013): the gradient passes unchanged, times ``scale``.

    ``P(x) = scale * x``;  ``P'(x) = scale``. Unbounded support: every neuron gets gradient.
    """

    name = "straight_through"
    _fields = ("scale",)

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = _positive(scale, "scale", "straight_through")

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x, self.scale)


def check_surrogate(value: object, name: str = "surrogate") -> Surrogate:
    """Raise ``TypeError`` unless ``value`` is a :class:`Surrogate` instance (not the class)."""
    if isinstance(value, type) and issubclass(value, Surrogate):
        raise TypeError(f"{name} must be a surrogate instance such as {value.name}(), got the class itself")
    if not isinstance(value, Surrogate):
        raise TypeError(
            f"{name} must be a spikekit.surrogate.Surrogate (e.g. spikekit.surrogate.atan()), "
            f"got {type(value).__name__}"
        )
    return value
