"""The counter-based Philox4x32-10 generator: known answers, C++ == reference, statistics, errors."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from spikekit.kernels import rng

needs_cpp = pytest.mark.skipif(not rng.available(), reason="the C++ generator could not be built here")

# Random123's kat_vectors (philox4x32 10): counter (4 words), key (2 words) -> output (4 words). The same
# numbers come out of an independent transcription of the algorithm (Salmon et al. 2011, Fig. 2).
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


def _philox_python(counter, key):
    """Philox4x32-10 on Python ints, written from the paper (independent of the module)."""
    m = 0xFFFFFFFF
    c, k = list(counter), list(key)
    for r in range(10):
        if r:
            k = [(k[0] + 0x9E3779B9) & m, (k[1] + 0xBB67AE85) & m]
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k[0], p1 & m, (p0 >> 32) ^ c[3] ^ k[1], p0 & m]
    return tuple(c)


@pytest.mark.parametrize("counter, key, expected", KAT)
def test_known_answers(counter, key, expected):
    assert _philox_python(counter, key) == expected
    assert tuple(rng.philox4x32(counter, key)) == expected
    if rng.available():
        assert tuple(rng.philox4x32(counter, key, engine="cpp")) == expected


def test_stream_layout_is_word_i_mod_4_of_counter_i_div_4():
    seed, block = (7 << 32) | 3, (1 << 32) + 5  # both words of the key and of the counter in use
    words = _philox_python((block & 0xFFFFFFFF, block >> 32, 0, 0), (seed & 0xFFFFFFFF, seed >> 32))
    expected = torch.tensor([(w >> 8) * 2.0**-24 for w in words], dtype=torch.float32)
    assert torch.equal(rng.philox_reference(4, seed, 4 * block), expected)
    assert torch.equal(rng.uniform((4,), seed, 4 * block), expected)


@needs_cpp
@pytest.mark.parametrize("n", [1, 3, 63, 64, 65, 1000, 4099])
@pytest.mark.parametrize("offset", [0, 1, 61, 2**34 - 7, 2**40 + 3])
@pytest.mark.parametrize("seed", [0, 2**32 + 5, 2**63 - 1])
def test_cpp_equals_reference_bit_for_bit(n, offset, seed):
    ref = rng.philox_reference(n, seed, offset)
    assert torch.equal(rng.uniform((n,), seed, offset), ref)
    assert torch.equal(rng.fill_uniform(torch.empty(n), seed, offset, portable=True), ref)
    assert torch.equal(rng.uniform((n,), seed, offset, dtype=torch.float64), ref.double())


@needs_cpp
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape, offset", [((3, 13), 0), ((2, 5, 70), 37), ((4, 64), 2**33 + 1)])
def test_flicker_fill_and_mul_uniform_equal_reference(dtype, shape, offset):
    x = torch.randn(shape[1:], dtype=dtype)
    u = rng.philox_reference(math.prod(shape), 11, offset).view(shape).to(dtype)
    out = rng.flicker_fill(torch.empty(shape, dtype=dtype), x, 11, offset)
    assert torch.equal(out, x * u)
    y = torch.randn(shape, dtype=dtype)
    assert torch.equal(rng.mul_uniform(y.clone(), 11, offset), y * u)


@needs_cpp
def test_independent_of_threads_and_of_how_the_stream_is_cut():
    n, seed = 200_003, 42
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = rng.uniform((n,), seed)
        torch.set_num_threads(2)
        two = rng.uniform((n,), seed)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, two)
    cuts = [0, 5, 64, 1000, 77_777, n]
    pieces = [rng.uniform((b - a,), seed, a) for a, b in zip(cuts, cuts[1:], strict=False)]
    assert torch.equal(torch.cat(pieces), one)


def test_statistics_of_a_million_draws():
    n = 10**6
    u = rng.uniform((n,), 2024).double()
    assert float(u.min()) >= 0.0 and float(u.max()) < 1.0
    assert torch.equal(u * 2**24, (u * 2**24).round())  # on the grid k 2^-24
    assert abs(float(u.mean()) - 0.5) < 5 * math.sqrt(1 / 12 / n)
    assert abs(float(u.var()) - 1 / 12) < 5 * math.sqrt(1 / 180 / n)  # Var[(u - 1/2)^2] = 1/180
    counts = torch.histc(u, bins=100, min=0.0, max=1.0)
    chi2 = float(((counts - n / 100) ** 2 / (n / 100)).sum())
    assert chi2 < 99 + 5 * math.sqrt(2 * 99)  # chi-square, 99 degrees of freedom
    ks = float((torch.arange(1, n + 1, dtype=torch.float64) / n - u.sort().values).abs().max())
    assert ks < 1.63 / math.sqrt(n) * 1.5  # Kolmogorov-Smirnov, well beyond the 1% critical value
    v = u - u.mean()
    lag1 = float((v[1:] * v[:-1]).mean() / v.var())
    assert abs(lag1) < 5 / math.sqrt(n)


def test_different_seeds_and_offsets_give_different_streams():
    a = rng.uniform((1000,), 1)
    assert not torch.equal(a, rng.uniform((1000,), 2))
    assert not torch.equal(a, rng.uniform((1000,), 1, 1000))
    assert torch.equal(a[10:], rng.uniform((990,), 1, 10))


def test_reference_runs_on_any_device_and_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    ref = rng.philox_reference(1000, 9, 3)
    assert torch.equal(rng.uniform((1000,), 9, 3, device="cuda").cpu(), ref)


def test_bad_input_raises():
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*63\), got -1"):
        rng.uniform((3,), -1)
    with pytest.raises(ValueError, match="seed must be an int"):
        rng.uniform((3,), 2**63)
    with pytest.raises(TypeError, match="seed must be an int in .* got float 1.5"):
        rng.uniform((3,), 1.5)
    with pytest.raises(TypeError, match="seed must be an int"):
        rng.uniform((3,), True)
    with pytest.raises(ValueError, match="offset must be an int"):
        rng.uniform((3,), 1, -2)
    with pytest.raises(TypeError, match="out must be a floating-point tensor, got torch.int64"):
        rng.fill_uniform(torch.zeros(3, dtype=torch.int64), 1)
    with pytest.raises(ValueError, match="out must be contiguous"):
        rng.fill_uniform(torch.zeros(4, 4).t(), 1)
    with pytest.raises(ValueError, match=r"flicker_fill: out must be \[c, \*x.shape\]"):
        rng.flicker_fill(torch.zeros(2, 3), torch.zeros(4), 1)
    with pytest.raises(ValueError, match="counter must be 4 and key 2 words"):
        rng.philox4x32((0, 0, 0), (0, 0))
    with pytest.raises(ValueError, match="counter must be 4 and key 2 words"):
        rng.philox4x32((0, 0, 0, 2**32), (0, 0))


def test_without_a_compiler_warns_once_and_falls_back_to_the_reference(monkeypatch):
    import torch.utils.cpp_extension as ext

    def no_compiler(*args, **kwargs):
        raise RuntimeError("Error building extension: no C++ compiler")

    monkeypatch.setattr(ext, "load_inline", no_compiler)
    rng._load.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="Philox generator could not be built .*no C\\+\\+ compiler"):
            assert not rng.available()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # once: no second warning
            out = rng.uniform((100,), 5, 7)
        assert torch.equal(out, rng.philox_reference(100, 5, 7))
        with pytest.raises(RuntimeError, match="not available"):
            rng.philox4x32((0, 0, 0, 0), (0, 0), engine="cpp")
    finally:
        rng._load.cache_clear()
