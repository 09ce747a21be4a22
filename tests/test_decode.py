"""Tests for spikekit.decode: readouts and losses on hand-computed examples, gradients, bad input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from spikekit import decode

# spikes [T=4, B=2, C=3], written out so every readout below can be checked by hand
S = torch.tensor(
    [
        [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]],
        [[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]],
        [[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]],
        [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]],
    ],
    dtype=torch.float64,
)
COUNTS = torch.tensor([[2.0, 4.0, 0.0], [1.0, 2.0, 0.0]], dtype=torch.float64)
RATES = COUNTS / 4
FIRST = torch.tensor([[1.0, 0.0, 4.0], [2.0, 1.0, 4.0]], dtype=torch.float64)
Y = torch.tensor([0, 1])

# membrane [T=3, B=1, C=2]
V = torch.tensor([[[0.5, -1.0]], [[-0.25, 2.0]], [[1.0, 0.5]]], dtype=torch.float64)
V_REDUCED = {
    "sum": torch.tensor([[1.25, 1.5]], dtype=torch.float64),
    "mean": torch.tensor([[1.25 / 3, 0.5]], dtype=torch.float64),
    "max": torch.tensor([[1.0, 2.0]], dtype=torch.float64),
    "last": torch.tensor([[1.0, 0.5]], dtype=torch.float64),
}


def exact(actual: torch.Tensor, expected: torch.Tensor) -> None:
    torch.testing.assert_close(actual, expected, rtol=0, atol=0)


# ---------------------------------------------------------------- readouts


def test_rate_and_count_hand_computed():
    exact(decode.rate(S), RATES)
    exact(decode.count(S), COUNTS)


@pytest.mark.parametrize("reduce", sorted(V_REDUCED))
def test_membrane_reductions_hand_computed(reduce):
    torch.testing.assert_close(decode.membrane(V, reduce), V_REDUCED[reduce])


def test_membrane_default_is_sum():
    exact(decode.membrane(V), V_REDUCED["sum"])


def test_first_spike_hand_computed_with_T_for_silent_neurons():
    exact(decode.first_spike(S), FIRST)


def test_first_spike_counts_graded_values_and_keeps_exact_indices_for_bfloat16():
    s = torch.zeros(300, 1, 2, dtype=torch.bfloat16)
    s[257, 0, 0] = 0.3  # graded output, beyond bfloat16's exact integer range
    out = decode.first_spike(s)
    assert out.dtype == torch.float32
    exact(out, torch.tensor([[257.0, 300.0]]))


def test_predict_first_spike_and_ties_go_to_lower_class():
    # sample 0: class 1 fires first (t=0); sample 1: class 1 first (t=1)
    exact(decode.predict_first_spike(S), torch.tensor([1, 1]))
    tie = torch.tensor([[[0.0, 1.0, 1.0]], [[1.0, 0.0, 0.0]]])
    exact(decode.predict_first_spike(tie), torch.tensor([1]))
    exact(decode.predict_first_spike(torch.zeros(5, 2, 3)), torch.tensor([0, 0]))


@pytest.mark.parametrize("fn", [decode.rate, decode.count, lambda v: decode.membrane(v, "max")])
@pytest.mark.parametrize("shape", [(5, 2), (5, 2, 3, 4, 4)])
def test_readouts_reduce_only_time(fn, shape):
    x = torch.rand(*shape, dtype=torch.float64)
    out = fn(x)
    assert out.shape == shape[1:] and out.dtype == torch.float64


def test_rate_gradient_is_one_over_T():
    s = S.clone().requires_grad_(True)
    decode.rate(s).sum().backward()
    exact(s.grad, torch.full_like(S, 0.25))


# ---------------------------------------------------------------- losses


def test_ce_rate_loss_equals_cross_entropy_on_hand_rates():
    exact(decode.ce_rate_loss(S, Y), F.cross_entropy(RATES, Y))


def test_ce_rate_loss_gradient_is_softmax_minus_onehot_over_BT():
    s = S.clone().requires_grad_(True)
    decode.ce_rate_loss(s, Y).backward()
    per_sample = (RATES.softmax(-1) - F.one_hot(Y, 3)) / (2 * 4)  # dL/dr / B, then dr/ds = 1/T
    torch.testing.assert_close(s.grad, per_sample.expand(4, 2, 3))


def test_ce_rate_loss_per_step_is_snntorch_mean_over_steps():
    expected = sum(F.cross_entropy(S[t], Y) for t in range(4)) / 4
    torch.testing.assert_close(decode.ce_rate_loss(S, Y, per_step=True), expected)
    assert decode.ce_rate_loss(S, Y, per_step=True) >= decode.ce_rate_loss(S, Y)  # Jensen


@pytest.mark.parametrize("reduce", sorted(V_REDUCED))
def test_ce_membrane_loss_equals_cross_entropy_on_hand_reduced_membrane(reduce):
    y = torch.tensor([1])
    torch.testing.assert_close(decode.ce_membrane_loss(V, y, reduce), F.cross_entropy(V_REDUCED[reduce], y))


def test_ce_membrane_loss_default_reduce_is_mean_and_gradients_flow():
    v = V.clone().requires_grad_(True)
    loss = decode.ce_membrane_loss(v, torch.tensor([0]))
    torch.testing.assert_close(loss, F.cross_entropy(V_REDUCED["mean"], torch.tensor([0])))
    loss.backward()
    assert v.grad is not None and bool(v.grad.abs().sum() > 0)


def test_mse_count_loss_hand_computed():
    # T=4: targets 0.8*4 = 3.2 for the right class, 0.2*4 = 0.8 otherwise
    # sample 0 (y=0): counts 2, 4, 0 -> errors -1.2, 3.2, -0.8
    # sample 1 (y=1): counts 1, 2, 0 -> errors 0.2, -1.2, -0.8
    sq = [1.44, 10.24, 0.64, 0.04, 1.44, 0.64]
    torch.testing.assert_close(decode.mse_count_loss(S, Y), torch.tensor(sum(sq) / 6, dtype=torch.float64))
    # rates 1 and 0: counts must equal 4 for the right class and 0 otherwise
    want = torch.tensor([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0]], dtype=torch.float64)
    loss = decode.mse_count_loss(S, Y, correct_rate=1.0, incorrect_rate=0.0)
    torch.testing.assert_close(loss, F.mse_loss(COUNTS, want))


def test_mse_count_loss_gradient():
    s = S.clone().requires_grad_(True)
    decode.mse_count_loss(s, Y).backward()
    wanted = torch.where(F.one_hot(Y, 3).bool(), 3.2, 0.8).double()
    grad = 2 * (COUNTS - wanted) / 6  # d mean((n - n*)^2) / dn, and dn/ds[t] = 1
    torch.testing.assert_close(s.grad, grad.expand(4, 2, 3))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_losses_keep_dtype(dtype):
    s = S.to(dtype)
    for loss in (decode.ce_rate_loss(s, Y), decode.ce_membrane_loss(s, Y), decode.mse_count_loss(s, Y)):
        assert loss.dtype == dtype and loss.dim() == 0 and math.isfinite(float(loss))


# ---------------------------------------------------------------- bad input

READOUTS = {
    "rate": decode.rate,
    "count": decode.count,
    "membrane": decode.membrane,
    "first_spike": decode.first_spike,
}
LOSSES = {
    "ce_rate_loss": lambda s, y: decode.ce_rate_loss(s, y),
    "ce_rate_loss_per_step": lambda s, y: decode.ce_rate_loss(s, y, per_step=True),
    "ce_membrane_loss": lambda s, y: decode.ce_membrane_loss(s, y),
    "mse_count_loss": lambda s, y: decode.mse_count_loss(s, y),
}


@pytest.mark.parametrize("name", sorted(READOUTS))
def test_readouts_without_time_axis_raise(name):
    with pytest.raises(ValueError, match=r"must be a time-first sequence \[T, B, \.\.\.\].*got shape \(3,\)"):
        READOUTS[name](torch.rand(3))


@pytest.mark.parametrize("name", sorted(READOUTS))
def test_readouts_reject_nan_and_integer_input(name):
    x = torch.rand(3, 2)
    x[0, 0] = math.nan
    with pytest.raises(ValueError, match=r"must be finite, got 1 NaN and 0 infinite"):
        READOUTS[name](x)
    with pytest.raises(TypeError, match=r"must be a floating-point tensor, got dtype torch.int64"):
        READOUTS[name](torch.ones(3, 2, dtype=torch.int64))


def test_readouts_reject_non_tensor():
    with pytest.raises(TypeError, match=r"spikes must be a torch.Tensor, got list"):
        decode.rate([[1.0, 0.0]])


def test_membrane_unknown_reduce_raises():
    with pytest.raises(ValueError, match=r"reduce must be one of 'sum', 'mean', 'max', 'last'; got 'median'"):
        decode.membrane(V, "median")
    with pytest.raises(ValueError, match=r"reduce must be one of .*; got 'min'"):
        decode.ce_membrane_loss(V, torch.tensor([0]), reduce="min")


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_without_time_axis_raise(name):
    with pytest.raises(ValueError, match=r"must be a time-first sequence \[T, B, N\].*got shape \(2, 3\)"):
        LOSSES[name](torch.rand(2, 3), Y)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_reject_extra_axes(name):
    with pytest.raises(ValueError, match=r"must have shape \[T, B, C\] \(3 dimensions\), got shape"):
        LOSSES[name](torch.rand(4, 2, 3, 5), Y)


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("dtype", [torch.int32, torch.float32])
def test_losses_reject_targets_of_wrong_dtype(name, dtype):
    with pytest.raises(
        TypeError, match=rf"targets must hold class indices as an int64 tensor, got dtype {dtype}"
    ):
        LOSSES[name](S, Y.to(dtype))


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("bad", [torch.tensor([0, 1, 2]), torch.tensor([[0], [1]]), F.one_hot(Y, 3)])
def test_losses_reject_targets_of_wrong_shape(name, bad):
    with pytest.raises(ValueError, match=r"targets must have shape \[B\] = \(2,\), got shape"):
        LOSSES[name](S, bad)


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("bad", [[0, 3], [-1, 0]])
def test_losses_reject_targets_out_of_range(name, bad):
    with pytest.raises(ValueError, match=r"targets must be class indices in \[0, 2\], got values in"):
        LOSSES[name](S, torch.tensor(bad))


def test_mse_count_loss_rates_outside_unit_interval_raise():
    with pytest.raises(ValueError, match=r"correct_rate must lie in \[0(\.0)?, 1(\.0)?\], got 1.5"):
        decode.mse_count_loss(S, Y, correct_rate=1.5)
    with pytest.raises(ValueError, match=r"incorrect_rate must lie in \[0(\.0)?, 1(\.0)?\], got -0.1"):
        decode.mse_count_loss(S, Y, incorrect_rate=-0.1)


def test_empty_batches_no_classes_and_bad_rates_are_refused():
    with pytest.raises(ValueError, match=r"spikes must hold at least one sample \(B >= 1"):
        decode.rate(torch.zeros(4, 0, 3))
    with pytest.raises(ValueError, match=r"spikes must hold at least one sample \(B >= 1"):
        decode.ce_rate_loss(torch.zeros(4, 0, 3), torch.zeros(0, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"v must have at least one class \(C >= 1"):
        decode.ce_membrane_loss(torch.zeros(4, 2, 0), torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"spikes must have at least one class"):
        decode.predict_first_spike(torch.zeros(4, 2, 0))
    with pytest.raises(TypeError, match="correct_rate must be a real number in"):
        decode.mse_count_loss(S, torch.tensor([0, 1]), correct_rate="high")
    torch.testing.assert_close(
        decode.mse_count_loss(S, torch.tensor([0, 1]), correct_rate=torch.tensor(0.8)),
        decode.mse_count_loss(S, torch.tensor([0, 1])),
    )
