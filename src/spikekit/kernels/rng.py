r"""A counter-based uniform generator: Philox4x32-10 (Salmon et al., SC 2011).

Element ``i`` of the stream of ``seed`` is

.. math::
    u_i = \lfloor w_{i \bmod 4} / 2^8 \rfloor \cdot 2^{-24}, \quad
    (w_0, w_1, w_2, w_3) = \mathrm{philox}_{10}\big(\text{counter} = (\lfloor i/4 \rfloor, 0),
    \text{key} = \text{seed}\big)

(counter and key as 64-bit numbers split into 32-bit words, low word first): a float32 in ``[0, 1)``,
uniform on the grid ``k 2^{-24}``. Any element can be computed on its own, so a stream can be produced in
pieces, in parallel, or again in backward, and it does not depend on the thread count. This is not
``torch.rand``'s stream: the same distribution, different numbers.

Two implementations of the same function: a C++ one (built on first use with
:func:`torch.utils.cpp_extension.load_inline`, cached like :mod:`spikekit.kernels.cpp`; OpenMP threads,
lane-parallel code the compiler vectorizes) and :func:`philox_reference`, plain PyTorch on int64 tensors
(slow; the tests' reference and the fallback when no compiler is available or the tensor is not on the
CPU). They agree bit for bit (tested).
"""

from __future__ import annotations

import functools
from types import ModuleType

import torch

from ._rng_source import FUNCTIONS, SOURCE

__all__ = [
    "MASK32",
    "available",
    "fill_uniform",
    "flicker_fill",
    "mul_uniform",
    "philox4x32",
    "philox_reference",
    "uniform",
    "vectorized",
]

MASK32 = 0xFFFFFFFF
_M0, _M1 = 0xD2511F53, 0xCD9E8D57  # round multipliers
_W0, _W1 = 0x9E3779B9, 0xBB67AE85  # Weyl key increments
_SEED_LIMIT = 2**63  # seeds and offsets are int64 >= 0


def _flags() -> list[str]:
    """The fused engine's flags, plus AVX-512 where PyTorch runs AVX-512 kernels (the source's intrinsics
    path: 16 counters per register; about 2x the AVX2 build's speed here)."""
    from .cpp import _flags as cpp_flags

    avx512 = ["-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx512bw", "-mprefer-vector-width=512"]
    return cpp_flags() + (avx512 if torch.backends.cpu.get_cpu_capability() == "AVX512" else [])


@functools.lru_cache(maxsize=1)
def _load() -> ModuleType | None:
    from .cpp import build

    return build(
        "spikekit_rng",
        "the C++ Philox generator",
        SOURCE,
        FUNCTIONS,
        _flags(),
        "its PyTorch reference runs instead (slow)",
    )


def available() -> bool:
    """Whether the C++ generator is built (building it now if needed)."""
    return _load() is not None


def vectorized() -> bool:
    """Whether the C++ generator was built with its AVX-512 path (``False`` when it is unavailable)."""
    ext = _load()
    return ext is not None and bool(ext.vectorized())


def _check_seed(seed: int, name: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"{name} must be an int in [0, 2**63), got {type(seed).__name__} {seed!r}")
    if not 0 <= seed < _SEED_LIMIT:
        raise ValueError(f"{name} must be an int in [0, 2**63), got {seed}")
    return seed


def _mulhilo(m: int, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """High and low 32-bit words of ``m * c`` (``c`` int64 holding 32-bit values), without overflow."""
    a = m * (c & 0xFFFF)  # < 2^48
    b = m * (c >> 16)  # < 2^48
    s = a + ((b & 0xFFFF) << 16)  # < 2^49
    return (b >> 16) + (s >> 32), s & MASK32


def _rounds(c: list[torch.Tensor], k0: int, k1: int) -> list[torch.Tensor]:
    for _ in range(10):
        hi0, lo0 = _mulhilo(_M0, c[0])
        hi1, lo1 = _mulhilo(_M1, c[2])
        c = [hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0]
        k0, k1 = (k0 + _W0) & MASK32, (k1 + _W1) & MASK32
    return c


def philox4x32(
    counter: tuple[int, int, int, int], key: tuple[int, int], *, engine: str = "torch"
) -> list[int]:
    """The Philox4x32-10 block function on one 128-bit counter and 64-bit key (32-bit words).

    ``engine="torch"`` runs the PyTorch reference, ``"cpp"`` the compiled one (for known-answer tests).
    """
    if len(counter) != 4 or len(key) != 2 or any(not 0 <= w <= MASK32 for w in (*counter, *key)):
        raise ValueError(f"philox4x32: counter must be 4 and key 2 words in [0, 2**32), got {counter}, {key}")
    if engine == "cpp":
        ext = _load()
        if ext is None:
            raise RuntimeError("spikekit: the C++ Philox generator is not available on this machine")
        return list(ext.philox4x32(list(counter), list(key)))
    if engine != "torch":
        raise ValueError(f"philox4x32: engine must be 'torch' or 'cpp', got {engine!r}")
    c = _rounds([torch.tensor([w], dtype=torch.int64) for w in counter], key[0], key[1])
    return [int(w) for w in c]


def philox_reference(
    n: int, seed: int, offset: int = 0, *, device: torch.device | str | None = None
) -> torch.Tensor:
    """Stream elements ``offset .. offset + n - 1`` of ``seed`` as float32, in plain PyTorch (slow)."""
    seed, offset = _check_seed(seed), _check_seed(offset, "offset")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n == 0:
        return torch.empty(0, device=device)
    first, last = offset // 4, (offset + n - 1) // 4
    blocks = torch.arange(first, last + 1, dtype=torch.int64, device=device)
    zero = torch.zeros_like(blocks)
    words = _rounds([blocks & MASK32, blocks >> 32, zero, zero], seed & MASK32, seed >> 32)
    stream = torch.stack(words, 1).reshape(-1)[offset - 4 * first : offset - 4 * first + n]
    return (stream >> 8).to(torch.float32) * 2.0**-24


def _use_cpp(t: torch.Tensor) -> bool:
    return t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64) and _load() is not None


def fill_uniform(out: torch.Tensor, seed: int, offset: int = 0, *, portable: bool = False) -> torch.Tensor:
    """``out.view(-1)[i] = u(seed, offset + i)`` in place; returns ``out`` (contiguous, floating).

    ``portable=True`` makes the C++ engine use its portable generator instead of its AVX-512 one (the
    same bits; for tests).
    """
    seed, offset = _check_seed(seed), _check_seed(offset, "offset")
    _check_out(out)
    if _use_cpp(out):
        _load().uniform_(out, seed, offset, portable)
    else:
        out.copy_(philox_reference(out.numel(), seed, offset, device=out.device).view_as(out))
    return out


def uniform(shape: tuple[int, ...] | torch.Size, seed: int, offset: int = 0, **kw) -> torch.Tensor:
    """A new tensor of ``shape`` holding ``u(seed, offset + i)`` in row-major order (``dtype``/``device``
    keywords as :func:`torch.empty`; float32 by default)."""
    return fill_uniform(torch.empty(tuple(shape), **kw), seed, offset)


def flicker_fill(out: torch.Tensor, x: torch.Tensor, seed: int, offset: int = 0) -> torch.Tensor:
    r"""``out[t] = x * u[t]`` in place, ``u[t]`` the stream elements ``offset + t x.numel() + j``.

    .. math:: \text{out}_{t, j} = x_j \, u(\text{seed}, \text{offset} + t\,|x| + j)

    ``out`` is ``[c, *x.shape]`` (contiguous, ``x``'s dtype). One pass: each 64-element piece of the
    stream is generated in registers and multiplied by ``x`` as it is written.
    """
    seed, offset = _check_seed(seed), _check_seed(offset, "offset")
    _check_out(out)
    if out.shape[1:] != x.shape or out.dtype != x.dtype or out.device != x.device:
        raise ValueError(
            f"flicker_fill: out must be [c, *x.shape] with x's dtype and device, got out "
            f"{tuple(out.shape)} {out.dtype} and x {tuple(x.shape)} {x.dtype}"
        )
    if _use_cpp(out):
        _load().flicker_(out, x.contiguous(), seed, offset)
    else:
        u = philox_reference(out.numel(), seed, offset, device=out.device).view_as(out)
        torch.mul(u.to(out.dtype), x, out=out)
    return out


def mul_uniform(out: torch.Tensor, seed: int, offset: int = 0) -> torch.Tensor:
    """``out.view(-1)[i] *= u(seed, offset + i)`` in place; returns ``out``."""
    seed, offset = _check_seed(seed), _check_seed(offset, "offset")
    _check_out(out)
    if _use_cpp(out):
        _load().mul_uniform_(out, seed, offset)
    else:
        out.mul_(philox_reference(out.numel(), seed, offset, device=out.device).view_as(out).to(out.dtype))
    return out


def _check_out(out: torch.Tensor) -> None:
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"out must be a torch.Tensor, got {type(out).__name__}")
    if not out.is_floating_point():
        raise TypeError(f"out must be a floating-point tensor, got {out.dtype}")
    if not out.is_contiguous():
        raise ValueError("out must be contiguous")
