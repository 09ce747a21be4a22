"""Tests for spikekit.encode: statistics, exact hand-computed codes, reproducibility and bad input."""

from __future__ import annotations

import math

import pytest
import torch

from spikekit import encode

FLOATS = [torch.float32, torch.float64, torch.bfloat16]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def within_5_sigma(mean: torch.Tensor, expected: torch.Tensor, sd_of_mean: torch.Tensor) -> bool:
    """|mean - expected| <= 5 sd, elementwise (exact equality where the sd is 0)."""
    return bool(((mean - expected).abs() <= 5 * sd_of_mean).all())


# ---------------------------------------------------------------- poisson


def test_poisson_rate_within_5_sigma_over_a_million_draws():
    p = 0.3
    s = encode.poisson(torch.full((100, 1000), p, dtype=torch.float64), steps=10, generator=gen(1))
    n = s.numel()
    assert n >= 1_000_000
    assert abs(float(s.mean()) - p) <= 5 * math.sqrt(p * (1 - p) / n)


def test_poisson_per_pixel_rates_within_5_sigma():
    p = torch.linspace(0, 1, 11, dtype=torch.float64)  # includes the exact ends 0 and 1
    steps = 100_000
    s = encode.poisson(p.unsqueeze(0), steps=steps, generator=gen(2))  # [T, 1, 11]
    assert s.numel() >= 1_000_000
    mean = s.mean(0)[0]
    assert within_5_sigma(mean, p, (p * (1 - p) / steps).sqrt())
    assert mean[0] == 0 and mean[-1] == 1  # p = 0 never fires, p = 1 always fires


def test_poisson_gain_scales_the_probability():
    x = torch.full((1000, 100), 0.8, dtype=torch.float64)
    s = encode.poisson(x, steps=10, gain=0.5, generator=gen(3))
    p, n = 0.4, s.numel()
    assert abs(float(s.mean()) - p) <= 5 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("dtype", FLOATS)
def test_poisson_shape_dtype_values(dtype):
    x = torch.rand(4, 2, 3, generator=gen(4)).to(dtype)
    s = encode.poisson(x, steps=7, generator=gen(5))
    assert s.shape == (7, 4, 2, 3)
    assert s.dtype == dtype and s.device == x.device
    assert set(s.unique().tolist()) <= {0.0, 1.0}


# ---------------------------------------------------------------- flicker


def test_flicker_mean_is_half_the_input_within_5_sigma():
    x = torch.tensor([[-0.5, -0.1, 0.0, 0.2, 0.5, 3.0]], dtype=torch.float64)
    steps = 200_000
    out = encode.flicker(x, steps=steps, generator=gen(6))  # [T, 1, 6]
    assert out.numel() >= 1_000_000
    sd_of_mean = x.abs() / math.sqrt(12 * steps)  # Var[x * U] = x^2 / 12
    assert within_5_sigma(out.mean(0), x / 2, sd_of_mean)
    lo, hi = torch.minimum(x, torch.zeros_like(x)), torch.maximum(x, torch.zeros_like(x))
    assert bool(((out >= lo) & (out <= hi)).all())
    assert bool((out[:, 0, 2] == 0).all())


def test_flicker_equals_input_times_the_seeded_uniform_mask():
    x = torch.randn(3, 5, generator=gen(7))
    expected = x * torch.rand(4, 3, 5, generator=gen(8))
    torch.testing.assert_close(encode.flicker(x, steps=4, generator=gen(8)), expected, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", FLOATS)
def test_flicker_shape_dtype(dtype):
    out = encode.flicker(torch.ones(2, 3, dtype=dtype), steps=5, generator=gen(9))
    assert out.shape == (5, 2, 3) and out.dtype == dtype


# ---------------------------------------------------------------- reproducibility


RANDOM_ENCODERS = {
    "poisson": lambda x, g: encode.poisson(x, 20, generator=g),
    "flicker": lambda x, g: encode.flicker(x, 20, generator=g),
    "population": lambda x, g: encode.population(x, 4, steps=20, generator=g),
}


@pytest.mark.parametrize("name", sorted(RANDOM_ENCODERS))
def test_seeded_generator_is_reproducible(name):
    fn = RANDOM_ENCODERS[name]
    x = torch.rand(8, 16, generator=gen(10))
    a, b, c = fn(x, gen(123)), fn(x, gen(123)), fn(x, gen(124))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("name", sorted(RANDOM_ENCODERS))
def test_generator_none_uses_the_global_generator(name):
    x = torch.rand(8, 16, generator=gen(11))
    torch.manual_seed(5)
    a = RANDOM_ENCODERS[name](x, None)
    torch.manual_seed(5)
    assert torch.equal(a, RANDOM_ENCODERS[name](x, None))


# ---------------------------------------------------------------- latency


def spike_times(s: torch.Tensor) -> list[int | None]:
    """Step of each input's spike in a [T, 1, N] code, None where it never fires."""
    return [int(s[:, 0, i].argmax()) if s[:, 0, i].any() else None for i in range(s.shape[2])]


def test_latency_linear_exact_times():
    # t = round((1 - x) * (T - 1)) with T = 5; x <= threshold (0.01) never fires.
    x = torch.tensor([[1.0, 0.75, 0.5, 0.25, 0.005, 0.0]])
    assert spike_times(encode.latency(x, 5)) == [0, 1, 2, 3, None, None]


def test_latency_linear_normalize_stretches_the_firing_range():
    # t = round((1 - x) / (1 - 0.2) * 4): 1 -> 0, 0.6 -> 2, 0.4 -> 3, 0.25 -> 3.75 -> 4; 0.2 never.
    x = torch.tensor([[1.0, 0.6, 0.4, 0.25, 0.2]])
    s = encode.latency(x, 5, threshold=0.2, normalize=True)
    assert spike_times(s) == [0, 2, 3, 4, None]


def test_latency_log_exact_times():
    # t = round(2 * ln(x / (x - 0.2))), T = 10:
    # 1 -> 0.446 -> 0; 0.5 -> 1.022 -> 1; 0.35 -> 1.695 -> 2; 0.3 -> 2.197 -> 2; 0.22 -> 4.796 -> 5;
    # 0.201 -> 10.6 -> past T - 1, dropped; 0.2 and 0.1 are at or below threshold.
    x = torch.tensor([[1.0, 0.5, 0.35, 0.3, 0.22, 0.201, 0.2, 0.1]])
    s = encode.latency(x, 10, method="log", tau=2.0, threshold=0.2)
    assert spike_times(s) == [0, 1, 2, 2, 5, None, None, None]


def test_latency_log_normalize_shifts_x_equal_1_to_step_0():
    # shift by 2 * ln(1 / 0.8) = 0.446: 0.35 -> 1.248 -> 1; 0.22 -> 4.349 -> 4.
    x = torch.tensor([[1.0, 0.35, 0.22]])
    s = encode.latency(x, 10, method="log", tau=2.0, threshold=0.2, normalize=True)
    assert spike_times(s) == [0, 1, 4]


@pytest.mark.parametrize("method", ["linear", "log"])
def test_latency_one_spike_at_most_and_brighter_fires_earlier(method):
    x = torch.rand(64, 50, generator=gen(12), dtype=torch.float64)
    s = encode.latency(x, 16, method=method)
    assert s.shape == (16, 64, 50)
    assert set(s.unique().tolist()) <= {0.0, 1.0}
    assert int(s.sum(0).max()) <= 1
    fired = s.sum(0) == 1
    t = torch.where(fired, s.argmax(0).double(), torch.tensor(math.inf, dtype=torch.float64)).flatten()
    order = x.flatten().argsort()  # dimmest to brightest: times must not increase
    assert bool((t[order][1:] <= t[order][:-1]).all())
    if method == "linear":
        assert torch.equal(fired, x > 0.01)


@pytest.mark.parametrize("dtype", FLOATS)
def test_latency_dtype_kept(dtype):
    s = encode.latency(torch.tensor([[1.0, 0.5]], dtype=dtype), 3)
    assert s.dtype == dtype and s.shape == (3, 1, 2)


# ---------------------------------------------------------------- delta


def test_delta_hand_computed_events():
    seq = torch.tensor([[0.0, 1.0], [0.5, 1.0], [0.625, 0.75], [0.25, 0.5], [0.25, 1.0]]).unsqueeze(
        1
    )  # [T=5, B=1, 2]
    on_off = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, -1.0], [-1.0, -1.0], [0.0, 1.0]]).unsqueeze(1)
    torch.testing.assert_close(encode.delta(seq, threshold=0.25), on_off, rtol=0, atol=0)
    on_only = on_off.clamp(min=0)
    torch.testing.assert_close(encode.delta(seq, threshold=0.25, off_spikes=False), on_only, rtol=0, atol=0)


def test_delta_first_step_never_fires():
    seq = torch.full((3, 2, 4), 9.0)
    assert not encode.delta(seq).any()


@pytest.mark.parametrize("dtype", FLOATS)
def test_delta_dtype_and_shape_kept(dtype):
    out = encode.delta(torch.zeros(4, 2, 3, 3, dtype=dtype))
    assert out.shape == (4, 2, 3, 3) and out.dtype == dtype


# ---------------------------------------------------------------- population


def test_population_peak_at_each_centre_and_shape():
    centres = torch.linspace(0.0, 1.0, 5)
    a = encode.population(centres.unsqueeze(0), 5)  # [1, 5, N=5]
    assert a.shape == (1, 5, 5)
    torch.testing.assert_close(a[0].diagonal(), torch.ones(5))
    assert torch.equal(a[0].argmax(-1), torch.arange(5))
    assert bool(((a > 0) & (a <= 1)).all())
    assert encode.population(torch.rand(2, 3, 4), 7, low=-1.0, high=2.0).shape == (2, 3, 4, 7)


def test_population_default_sigma_neighbours_cross_at_half_maximum():
    # centres 0, 0.25, 0.5, 0.75, 1; halfway between two neighbours both fields read 0.5
    a = encode.population(torch.tensor([0.125, 0.625], dtype=torch.float64), 5)
    torch.testing.assert_close(a[0, :2], torch.tensor([0.5, 0.5], dtype=torch.float64))
    torch.testing.assert_close(a[1, 2:4], torch.tensor([0.5, 0.5], dtype=torch.float64))


def test_population_sum_over_neurons_is_sqrt_2pi_in_the_interior():
    # with sigma equal to the spacing, sum_i exp(-(x - c_i)^2 / 2 sigma^2) = sqrt(2 pi) (+ ~1e-8)
    x = torch.linspace(0.3, 0.7, 17, dtype=torch.float64)
    a = encode.population(x, 101, sigma=0.01)
    torch.testing.assert_close(a.sum(-1), torch.full_like(x, math.sqrt(2 * math.pi)), rtol=1e-7, atol=0)


def test_population_single_neuron_sits_at_the_midpoint():
    a = encode.population(torch.tensor([0.5, 0.0], dtype=torch.float64), 1)
    torch.testing.assert_close(a[:, 0], torch.tensor([1.0, 0.5], dtype=torch.float64))


def test_population_spike_rate_matches_activations_within_5_sigma():
    x = torch.tensor([[0.1, 0.45, 0.9]], dtype=torch.float64)
    steps = 20_000
    s = encode.population(x, 5, steps=steps, generator=gen(13))  # [T, 1, 3, 5]
    assert s.shape == (steps, 1, 3, 5)
    p = encode.population(x, 5)
    assert within_5_sigma(s.mean(0), p, (p * (1 - p) / steps).sqrt())


@pytest.mark.parametrize("dtype", FLOATS)
def test_population_dtype_kept(dtype):
    assert encode.population(torch.rand(2, 3).to(dtype), 4).dtype == dtype
    assert encode.population(torch.rand(2, 3).to(dtype), 4, steps=2).dtype == dtype


# ---------------------------------------------------------------- bad input

ALL_STEP_ENCODERS = {
    "poisson": lambda steps: encode.poisson(torch.rand(2, 3), steps),
    "flicker": lambda steps: encode.flicker(torch.rand(2, 3), steps),
    "latency": lambda steps: encode.latency(torch.rand(2, 3), steps),
    "population": lambda steps: encode.population(torch.rand(2, 3), 4, steps=steps),
}


@pytest.mark.parametrize("name", sorted(ALL_STEP_ENCODERS))
@pytest.mark.parametrize("steps", [0, -3])
def test_steps_not_positive_raises_value_error(name, steps):
    with pytest.raises(ValueError, match=rf"steps must be an int >= 1, got {steps}"):
        ALL_STEP_ENCODERS[name](steps)


@pytest.mark.parametrize("name", sorted(ALL_STEP_ENCODERS))
@pytest.mark.parametrize("steps", [2.5, True, "10"])
def test_steps_not_int_raises_type_error(name, steps):
    with pytest.raises(TypeError, match=r"steps must be an int >= 1, got (float|bool|str)"):
        ALL_STEP_ENCODERS[name](steps)


X_ENCODERS = {
    "poisson": lambda x: encode.poisson(x, 3),
    "flicker": lambda x: encode.flicker(x, 3),
    "latency": lambda x: encode.latency(x, 3),
    "population": lambda x: encode.population(x, 4),
}


@pytest.mark.parametrize("name", sorted(X_ENCODERS))
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_or_inf_input_raises(name, bad):
    x = torch.rand(2, 3)
    x[1, 2] = bad
    with pytest.raises(ValueError, match=r"x must be finite, got \d NaN and \d infinite value"):
        X_ENCODERS[name](x)


def test_delta_nan_input_raises():
    seq = torch.zeros(3, 2)
    seq[1, 1] = math.nan
    with pytest.raises(ValueError, match=r"seq must be finite, got 1 NaN"):
        encode.delta(seq)


@pytest.mark.parametrize("name", sorted(X_ENCODERS))
def test_integer_input_raises_type_error(name):
    with pytest.raises(TypeError, match=r"x must be a floating-point tensor, got dtype torch.uint8"):
        X_ENCODERS[name](torch.zeros(2, 3, dtype=torch.uint8))


@pytest.mark.parametrize("name", sorted(X_ENCODERS))
def test_non_tensor_and_scalar_input_raise(name):
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor, got list"):
        X_ENCODERS[name]([0.5, 0.5])
    with pytest.raises(ValueError, match=r"x must have at least a batch axis"):
        X_ENCODERS[name](torch.tensor(0.5))


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_poisson_probability_outside_unit_interval_raises(value):
    x = torch.full((2, 2), 0.5)
    x[0, 0] = value
    with pytest.raises(ValueError, match=r"x must hold probabilities in \[0, 1\], got values in"):
        encode.poisson(x, 4)


def test_poisson_gain_pushing_probability_above_1_raises():
    with pytest.raises(ValueError, match=r"gain \* x \(gain=3\) must hold probabilities in \[0, 1\]"):
        encode.poisson(torch.full((2, 2), 0.5), 4, gain=3.0)
    with pytest.raises(ValueError, match=r"gain must be finite, got nan"):
        encode.poisson(torch.full((2, 2), 0.5), 4, gain=math.nan)


def test_wrong_generator_raises():
    with pytest.raises(TypeError, match=r"generator must be a torch.Generator or None, got int"):
        encode.poisson(torch.rand(2), 3, generator=0)
    with pytest.raises(TypeError, match=r"generator must be a torch.Generator or None, got int"):
        encode.flicker(torch.rand(2), 3, generator=0)


def test_latency_unknown_method_raises():
    with pytest.raises(ValueError, match=r"method must be one of 'linear', 'log'; got 'cubic'"):
        encode.latency(torch.rand(2, 3), 5, method="cubic")


@pytest.mark.parametrize("value", [-0.5, 1.01])
def test_latency_input_outside_unit_interval_raises(value):
    with pytest.raises(ValueError, match=r"x must hold probabilities in \[0, 1\]"):
        encode.latency(torch.tensor([[0.5, value]]), 5)


def test_latency_bad_tau_and_threshold_raise():
    x = torch.rand(2, 3)
    with pytest.raises(ValueError, match=r"tau is used by method='log' only; got tau=2.0"):
        encode.latency(x, 5, tau=2.0)
    with pytest.raises(ValueError, match=r"tau must lie in \(0(\.0)?, inf\], got 0"):
        encode.latency(x, 5, method="log", tau=0.0)
    with pytest.raises(ValueError, match=r"threshold must lie in \(0(\.0)?, 1(\.0)?\), got 0"):
        encode.latency(x, 5, method="log", threshold=0.0)
    with pytest.raises(ValueError, match=r"threshold must lie in \[0(\.0)?, 1(\.0)?\), got 1"):
        encode.latency(x, 5, threshold=1.0)


def test_delta_without_time_axis_raises():
    with pytest.raises(ValueError, match=r"seq must be a time-first sequence \[T, B, \.\.\.\]"):
        encode.delta(torch.rand(5))


@pytest.mark.parametrize("threshold", [0.0, -0.1])
def test_delta_threshold_not_positive_raises(threshold):
    with pytest.raises(ValueError, match=r"threshold must lie in \(0(\.0)?, inf\]"):
        encode.delta(torch.rand(3, 2), threshold=threshold)


def test_population_bad_arguments_raise():
    x = torch.rand(2, 3)
    with pytest.raises(ValueError, match=r"low must be smaller than high, got low=1 and high=1"):
        encode.population(x, 4, low=1.0, high=1.0)
    with pytest.raises(ValueError, match=r"sigma must lie in \(0(\.0)?, inf\], got -1"):
        encode.population(x, 4, sigma=-1.0)
    with pytest.raises(ValueError, match=r"neurons must be an int >= 1, got 0"):
        encode.population(x, 0)
    with pytest.raises(TypeError, match=r"neurons must be an int >= 1, got float 4.0"):
        encode.population(x, 4.0)
    with pytest.raises(ValueError, match=r"generator is only used to draw spikes; pass steps"):
        encode.population(x, 4, generator=gen())


def test_delta_scalar_and_non_tensor_raise():
    with pytest.raises(ValueError, match=r"seq must be a time-first sequence .* got shape \(\)"):
        encode.delta(torch.tensor(1.0))
    with pytest.raises(TypeError, match=r"seq must be a torch.Tensor, got list"):
        encode.delta([[0.0], [1.0]])
    with pytest.raises(TypeError, match=r"seq must be a floating-point tensor, got dtype torch.int64"):
        encode.delta(torch.zeros(3, 2, dtype=torch.int64))


@pytest.mark.parametrize(
    "encoder",
    [
        lambda x, s: encode.poisson(x, s),
        lambda x, s: encode.flicker(x, s),
        lambda x, s: encode.latency(x, s),
        lambda x, s: encode.population(x, 3, steps=s),
    ],
    ids=["poisson", "flicker", "latency", "population"],
)
def test_absurd_sizes_are_refused_before_allocating(encoder, monkeypatch):
    def no_alloc(*args, **kwargs):
        raise AssertionError("allocated before refusing")

    x = torch.full((2, 3), 0.5)
    monkeypatch.setattr(torch, "rand", no_alloc)
    monkeypatch.setattr(torch, "zeros", no_alloc)
    with pytest.raises(ValueError, match=r"would need .*TiB .*more than this machine's memory"):
        encoder(x, 2**40)
    with pytest.raises(ValueError, match=r"must be an int >= 1, got 0"):
        encoder(x, 0)
    with pytest.raises(ValueError, match=r"x is on the 'meta' device"):
        encoder(torch.empty(2, 3, device="meta"), 4)


def test_population_refuses_an_absurd_neuron_count():
    with pytest.raises(ValueError, match=r"population: the output .* would need"):
        encode.population(torch.rand(2, 3), 2**40)
