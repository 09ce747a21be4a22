"""Each surrogate: Heaviside forward, backward == derivative of its declared primitive."""

from __future__ import annotations

import pytest
import torch

import spikekit as sk

S = sk.surrogate
SURROGATES = [
    S.atan(),
    S.atan(alpha=5.0),
    S.sigmoid(),
    S.sigmoid(alpha=10.0),
    S.fast_sigmoid(),
    S.fast_sigmoid(slope=3.0),
    S.triangle(),
    S.triangle(width=0.3),
    S.rectangle(),
    S.rectangle(width=0.4),
    S.straight_through(),
    S.straight_through(scale=0.5),
]
IDS = [repr(s) for s in SURROGATES]


def kinks(s: S.Surrogate) -> list[float]:
    """Points where the primitive is not twice differentiable (autograd picks a one-sided value)."""
    if isinstance(s, S.triangle):
        return [-s.width, 0.0, s.width]
    if isinstance(s, S.rectangle):
        return [-s.width / 2, s.width / 2]
    if isinstance(s, S.fast_sigmoid):
        return [0.0]
    return []


def grid(s: S.Surrogate) -> torch.Tensor:
    x = torch.linspace(-6, 6, 200_001, dtype=torch.float64)
    keep = torch.ones_like(x, dtype=torch.bool)
    for k in kinks(s):
        keep &= (x - k).abs() > 1e-9
    return x[keep]


@pytest.mark.parametrize("s", SURROGATES, ids=IDS)
def test_forward_is_heaviside_with_documented_rule_at_zero(s):
    x = torch.tensor([-2.0, -1e-12, 0.0, 1e-12, 3.0], dtype=torch.float64)
    torch.testing.assert_close(s(x), torch.tensor([0.0, 0.0, 1.0, 1.0, 1.0], dtype=torch.float64))
    assert s(x.float()).dtype == torch.float32


@pytest.mark.parametrize("s", SURROGATES, ids=IDS)
def test_backward_equals_derivative_of_primitive(s):
    x = grid(s).requires_grad_(True)
    (g_spike,) = torch.autograd.grad(s(x).sum(), x)
    (g_prim,) = torch.autograd.grad(s.primitive(x).sum(), x)
    assert (g_spike - g_prim).abs().max() <= 1e-10


@pytest.mark.parametrize("s", SURROGATES, ids=IDS)
def test_gradcheck_on_primitive(s):
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(64, generator=g, dtype=torch.float64) - 0.5) * 4
    for k in kinks(s):  # finite differences straddling a kink are not a derivative
        x = torch.where((x - k).abs() < 1e-3, x + 3e-3, x)
    assert torch.autograd.gradcheck(s.primitive, (x.requires_grad_(True),), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("s", SURROGATES, ids=IDS)
def test_gradients_finite_and_non_negative_for_large_inputs(s):
    x = torch.tensor([-1e30, -1e8, -50.0, 50.0, 1e8, 1e30], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(s(x).sum(), x)
    assert torch.isfinite(g).all() and (g >= 0).all()
    x32 = x.detach().float().requires_grad_(True)
    (g32,) = torch.autograd.grad(s(x32).sum(), x32)
    assert torch.isfinite(g32).all() and (g32 >= 0).all()


@pytest.mark.parametrize("s", [s for s in SURROGATES if not isinstance(s, S.straight_through)], ids=str)
def test_primitive_is_a_step_stand_in(s):
    """P rises monotonically and its derivative peaks at the threshold."""
    x = torch.linspace(-3, 3, 601, dtype=torch.float64)
    p = s.primitive(x)
    assert (p.diff() >= 0).all()
    d = s.derivative(x)
    assert d.argmax() == 300 or d[300] == d.max()


def test_known_values():
    """Spot values of the closed forms, computed by hand."""
    x = torch.tensor([0.0, 0.5], dtype=torch.float64)
    torch.testing.assert_close(
        S.atan(2.0).derivative(x), torch.tensor([1.0, 1 / (1 + (torch.pi / 2) ** 2)]).double()
    )
    torch.testing.assert_close(S.sigmoid(4.0).derivative(x)[0], torch.tensor(1.0, dtype=torch.float64))
    torch.testing.assert_close(S.fast_sigmoid(25.0).derivative(x), torch.tensor([1.0, 1 / 13.5**2]).double())
    torch.testing.assert_close(S.triangle(1.0).derivative(x), torch.tensor([1.0, 0.5]).double())
    torch.testing.assert_close(S.rectangle(1.0).derivative(x), torch.tensor([1.0, 0.0]).double())


def test_values_are_immutable_comparable_and_printable():
    assert S.atan(2.0) == S.atan(2.0) and S.atan(2.0) != S.atan(3.0) and S.atan() != S.sigmoid()
    assert repr(S.fast_sigmoid(slope=10.0)) == "fast_sigmoid(slope=10.0)"
    with pytest.raises(AttributeError, match="immutable"):
        S.atan().alpha = 3.0


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: S.atan(alpha=0.0), r"atan: alpha must be a positive finite float, got 0.0"),
        (lambda: S.sigmoid(alpha=-1), r"sigmoid: alpha must be a positive finite float, got -1"),
        (lambda: S.triangle(width=float("nan")), r"triangle: width must be a positive finite float, got nan"),
        (lambda: S.rectangle(width="1"), r"rectangle: width must be a positive float, got str"),
    ],
)
def test_bad_width_raises(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_neuron_refuses_a_surrogate_class_or_other_object():
    with pytest.raises(TypeError, match=r"surrogate must be a surrogate instance such as atan\(\)"):
        sk.nn.LIF(surrogate=S.atan)
    with pytest.raises(TypeError, match=r"surrogate must be a spikekit.surrogate.Surrogate.*got str"):
        sk.nn.LIF(surrogate="atan")


@pytest.mark.parametrize(
    "surrogate", [sk.surrogate.atan(), sk.surrogate.triangle(), sk.surrogate.rectangle()]
)
def test_surrogates_refuse_what_is_not_a_real_tensor(surrogate):
    for call in (surrogate, surrogate.primitive, surrogate.derivative):
        with pytest.raises(TypeError, match=r"x must be a floating-point torch.Tensor .*got float"):
            call(0.5)
        with pytest.raises(TypeError, match=r"x must be a floating-point tensor .*got dtype torch.bool"):
            call(torch.ones(2, dtype=torch.bool))
