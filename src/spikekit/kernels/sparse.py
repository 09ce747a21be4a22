"""A Linear layer for binary spike inputs that only touches the active inputs (event-driven on the CPU).

``out = x W^T + b`` for ``x`` in {0, 1} is, row by row, the bias plus the sum of the weight columns of the
inputs that spiked. With firing rates of a few per cent most of the dense GEMM multiplies by zero; the
sparse path (a small C++ kernel, compiled on first use like the fused engine) instead

- **forward**: scans each row of ``x [N, F]`` (``N = T * B``) once, vectorised, skipping blocks of zeros,
  writes the indices of its active inputs (a CSR index, ``int32``) and adds the matching rows of ``W^T``;
- **saves** that index instead of ``x`` (``4 nnz`` bytes instead of ``4 N F``);
- **backward**: ``dW[:, i] = sum of g[n, :]`` over the rows ``n`` where input ``i`` spiked (the index
  turned column-major by a counting sort, then one independent sum per input, in increasing ``n``);
  ``db = g.sum(0)`` and ``dx = g W`` are the dense path's own operations (``g`` is not sparse).

Equality with the dense path: every product ``x w`` with ``x`` in {0, 1} is exact (``w`` or a zero), so
both paths round the same exact sum of the same weights and differ only in the order of the additions:
``|sparse - dense| <= 2 (k - 1) u sum |w|`` for ``k`` active inputs (``u`` the unit roundoff), and equal
bit for bit when a row has at most two active inputs. The sparse path's own order (increasing input index,
bias added last) does not depend on the thread count. ``tests/test_sparse.py`` checks both against a
float64 reference.

Only binary inputs take the sparse path: the kernel notices any other value (graded spikes, NaN, inf) in
the same scan, and :func:`spike_linear` then runs the dense path (``sparse="auto"``) or raises
(``sparse=True``). NaN and infinities are always refused, by :func:`spikekit._checks.check_finite`.

``sparse="auto"`` estimates the firing rate from a strided sample of 1/16 of the rows (a count over
``N F / 16`` values) and takes the sparse path when the rate is below :func:`crossover` for the layer's
shape, a cost model whose constants were measured on a 2-core AVX-512 EPYC (``benchmarks/sparse.py``).
"""

from __future__ import annotations

import functools
from types import ModuleType

import torch

from .._checks import check_finite, check_floating, check_has_values
from .cpp import _flags, build

__all__ = ["SPARSE_MODES", "crossover", "sparse_available", "spike_linear", "spike_rate_estimate"]

SPARSE_MODES = ("auto", True, False)
DTYPES = (torch.float32, torch.float64)

SOURCE = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <atomic>
#include <cstring>
#include <vector>

static const int64_t ROWS = 32;  // rows per task: the result does not depend on it nor on the threads

template <typename T> struct Bits;
template <> struct Bits<float> { using U = uint32_t; static constexpr U MAG = 0x7fffffffu; };
template <> struct Bits<double> { using U = uint64_t; static constexpr U MAG = 0x7fffffffffffffffull; };

// out[n] = sum over active i (increasing) of wt[i] (+ bias); idx: CSR of the active inputs.
template <typename T>
static inline uint32_t block_mask(const T* __restrict__ xr, int64_t len) {
  using U = typename Bits<T>::U;
  uint32_t m = 0;  // bit j: xr[j] is neither +0 nor -0
  if (len == 16) {
    for (int j = 0; j < 16; ++j) {
      U b;
      std::memcpy(&b, xr + j, sizeof(T));
      m |= uint32_t((b & Bits<T>::MAG) != 0) << j;
    }
  } else {
    for (int j = 0; j < len; ++j) {
      U b;
      std::memcpy(&b, xr + j, sizeof(T));
      m |= uint32_t((b & Bits<T>::MAG) != 0) << j;
    }
  }
  return m;
}

template <typename T>
static inline void add_row(T* __restrict__ o, const T* __restrict__ w, int64_t O) {
  for (int64_t k = 0; k < O; ++k) o[k] += w[k];
}

// out[n] = sum over active i (increasing) of wt[i], then + bias; idx: CSR of the active inputs.
template <typename T>
static bool forward_impl(const T* x, const T* wt, const T* bias, T* out, int64_t N, int64_t F, int64_t O,
                         std::vector<std::vector<int32_t>>& idx, int64_t* count) {
  const int64_t tasks = (N + ROWS - 1) / ROWS;
  std::atomic<bool> bad(false);
  at::parallel_for(0, tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      std::vector<int32_t>& mine = idx[t];
      mine.reserve(64);
      bool local_bad = false;
      for (int64_t n = t * ROWS; n < std::min(N, (t + 1) * ROWS); ++n) {
        const T* xr = x + n * F;
        T* o = out + n * O;
        std::memset(o, 0, O * sizeof(T));
        const size_t before = mine.size();
        for (int64_t i = 0; i < F; i += 16) {
          uint32_t m = block_mask(xr + i, std::min<int64_t>(16, F - i));
          while (m) {
            const int64_t j = i + __builtin_ctz(m);
            m &= m - 1;
            local_bad |= xr[j] != T(1);
            mine.push_back((int32_t)j);
            add_row(o, wt + j * O, O);
          }
        }
        if (bias) add_row(o, bias, O);
        count[n] = (int64_t)(mine.size() - before);
      }
      if (local_bad) bad.store(true, std::memory_order_relaxed);
    }
  });
  return !bad.load();
}

std::vector<torch::Tensor> sparse_linear_forward(torch::Tensor x, torch::Tensor wt, torch::Tensor bias) {
  TORCH_CHECK(x.dim() == 2 && wt.dim() == 2 && x.is_contiguous() && wt.is_contiguous(), "bad x or wt");
  TORCH_CHECK(x.size(1) == wt.size(0) && x.scalar_type() == wt.scalar_type(), "x and wt do not match");
  TORCH_CHECK(x.size(1) < (int64_t(1) << 31), "too many inputs");
  const bool has_bias = bias.numel() > 0;
  TORCH_CHECK(!has_bias || (bias.dim() == 1 && bias.size(0) == wt.size(1) && bias.is_contiguous() &&
              bias.scalar_type() == x.scalar_type()), "bad bias");
  const int64_t N = x.size(0), F = x.size(1), O = wt.size(1);
  auto out = torch::empty({N, O}, x.options());
  auto count = torch::empty({N + 1}, x.options().dtype(torch::kInt64));
  std::vector<std::vector<int32_t>> idx((N + ROWS - 1) / ROWS);
  bool ok = true;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "sparse_linear_forward", [&] {
    ok = forward_impl<scalar_t>(x.data_ptr<scalar_t>(), wt.data_ptr<scalar_t>(),
                                has_bias ? bias.data_ptr<scalar_t>() : nullptr, out.data_ptr<scalar_t>(),
                                N, F, O, idx, count.data_ptr<int64_t>() + 1);
  });
  int64_t* ptr = count.data_ptr<int64_t>();
  ptr[0] = 0;
  for (int64_t n = 0; n < N; ++n) ptr[n + 1] += ptr[n];
  auto col = torch::empty({ptr[N]}, x.options().dtype(torch::kInt32));
  int32_t* c = col.data_ptr<int32_t>();
  for (auto& v : idx) {
    if (!v.empty()) std::memcpy(c, v.data(), v.size() * sizeof(int32_t));
    c += v.size();
  }
  auto flag = torch::tensor({(int64_t)ok});
  return {out, count, col, flag};
}

// dW^T[i, o] = sum over the rows n where input i spiked (increasing n) of g[n, o].
template <typename T>
static void weight_grad_impl(const T* g, const int64_t* row_ptr, const int32_t* col, T* dwt, int64_t N,
                             int64_t F, int64_t O) {
  const int64_t nnz = row_ptr[N];
  std::vector<int64_t> cptr(F + 1, 0);
  for (int64_t e = 0; e < nnz; ++e) ++cptr[col[e] + 1];
  for (int64_t i = 0; i < F; ++i) cptr[i + 1] += cptr[i];
  std::vector<int64_t> fill(cptr.begin(), cptr.end() - 1);
  std::vector<int64_t> rows(nnz);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t e = row_ptr[n]; e < row_ptr[n + 1]; ++e) rows[fill[col[e]]++] = n;
  at::parallel_for(0, F, 16, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      T* d = dwt + i * O;
      std::memset(d, 0, O * sizeof(T));
      for (int64_t e = cptr[i]; e < cptr[i + 1]; ++e) add_row(d, g + rows[e] * O, O);
    }
  });
}

torch::Tensor sparse_linear_weight_grad(torch::Tensor g, torch::Tensor row_ptr, torch::Tensor col,
                                        int64_t F) {
  TORCH_CHECK(g.dim() == 2 && g.is_contiguous() && row_ptr.is_contiguous() && col.is_contiguous(), "bad g");
  TORCH_CHECK(row_ptr.scalar_type() == torch::kInt64 && col.scalar_type() == torch::kInt32, "bad index");
  const int64_t N = g.size(0), O = g.size(1);
  TORCH_CHECK(row_ptr.numel() == N + 1, "row_ptr does not match g");
  const int64_t* rp = row_ptr.data_ptr<int64_t>();
  TORCH_CHECK(rp[0] == 0 && rp[N] == col.numel(), "row_ptr does not match col");
  const int32_t* c = col.data_ptr<int32_t>();
  for (int64_t e = 0; e < col.numel(); ++e) TORCH_CHECK(c[e] >= 0 && c[e] < F, "index out of range");
  auto dwt = torch::empty({F, O}, g.options());
  AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "sparse_linear_weight_grad", [&] {
    weight_grad_impl<scalar_t>(g.data_ptr<scalar_t>(), rp, c, dwt.data_ptr<scalar_t>(), N, F, O);
  });
  return dwt.t().contiguous();
}
"""

FUNCTIONS = ["sparse_linear_forward", "sparse_linear_weight_grad"]


@functools.lru_cache(maxsize=1)
def _load() -> ModuleType | None:
    return build(
        "spikekit_sparse",
        "the C++ sparse spike Linear",
        SOURCE,
        FUNCTIONS,
        _flags(),
        "SpikeLinear runs its PyTorch sparse path instead (sparse='auto' then stays dense)",
    )


def sparse_available() -> bool:
    """Whether the compiled sparse kernel is built (building it now if needed)."""
    return _load() is not None


# ---------------------------------------------------------------------------------------------------
# The automatic choice: a cost model per pass (forward, or weight gradient; the input gradient is the same
# GEMM on both paths), per input value of x [N, F]:
#   dense  = GEMM_S O                  (a multiply-add for each of the O outputs)
#   sparse = SCAN_S + rate ADD_S O     (look at the value; if it spiked, add its O weights)
# so the sparse path wins below  rate* = GEMM_S / ADD_S - SCAN_S / (ADD_S O): about 0.03 for O = 10 and
# 0.28 for wide layers. Fitted to the crossovers measured by benchmarks/sparse.py (forward + backward,
# float32, one thread, 2-core AVX-512 EPYC): 784->100 about 0.25, 100->10 about 0.025, 512->512 about
# 0.27 (benchmarks/results/sparse.json). The constants' ratios are what matter, not their scale.
# ---------------------------------------------------------------------------------------------------
GEMM_S = 2.0e-11  # dense: seconds per multiply-add of the GEMM
SCAN_S = 1.8e-10  # sparse: seconds per input value scanned
ADD_S = 7.1e-11  # sparse: seconds per weight (or gradient) value added for one active input
MAX_RATE = 0.5  # never sparse above this rate


def crossover(in_features: int, out_features: int) -> float:
    """The firing rate below which ``sparse="auto"`` takes the sparse path for a layer of this shape.

    (``in_features`` cancels out of the model; it is taken so the rule can grow a dependence on it.)"""
    rate = GEMM_S / ADD_S - SCAN_S / (ADD_S * out_features)
    return float(min(MAX_RATE, max(0.0, rate)))


def spike_rate_estimate(x2d: torch.Tensor) -> float:
    """Share of non-zero values in a strided sample of about 1/16 of the rows of ``x2d`` ``[N, F]``."""
    n = x2d.shape[0]
    stride = max(1, n // max(1, min(n, max(64, n // 16))))
    sample = x2d[::stride]
    return float(torch.count_nonzero(sample)) / max(1, sample.numel())


class _NotBinary(Exception):
    """Raised inside the sparse forward when an input is neither 0 nor 1."""


def _forward_torch(x, weight, bias):
    """The sparse path without the compiled kernel (same order of additions per row is not promised)."""
    nz = x != 0
    if not bool(((x == 1) | ~nz).all()):
        raise _NotBinary
    counts = nz.sum(1)
    rows, cols = nz.nonzero(as_tuple=True)
    out = torch.zeros(x.shape[0], weight.shape[0], dtype=x.dtype, device=x.device)
    out.index_add_(0, rows, weight.t().index_select(0, cols))
    if bias is not None:
        out += bias
    row_ptr = torch.zeros(x.shape[0] + 1, dtype=torch.int64, device=x.device)
    row_ptr[1:] = counts.cumsum(0)
    return out, row_ptr, cols.to(torch.int32)


def _weight_grad_torch(g, row_ptr, col, in_features):
    rows = torch.repeat_interleave(torch.arange(g.shape[0], device=g.device), row_ptr.diff())
    dwt = torch.zeros(in_features, g.shape[1], dtype=g.dtype, device=g.device)
    dwt.index_add_(0, col.long(), g.index_select(0, rows))
    return dwt.t().contiguous()


class SparseSpikeLinear(torch.autograd.Function):
    """``x W^T + b`` from the active inputs of a binary ``x [N, F]``; saves a CSR index, not ``x``."""

    @staticmethod
    def forward(ctx, x, weight, bias, ext):
        if ext is not None:
            wt = weight.detach().t().contiguous()
            b = bias.detach() if bias is not None else torch.empty(0, dtype=x.dtype)
            out, row_ptr, col, ok = ext.sparse_linear_forward(x.detach(), wt, b)
            if not bool(ok):
                raise _NotBinary
        else:
            out, row_ptr, col = _forward_torch(x.detach(), weight.detach(), None if bias is None else bias)
        ctx.save_for_backward(row_ptr, col, weight)
        ctx.ext, ctx.in_features, ctx.has_bias = ext, x.shape[1], bias is not None
        return out

    @staticmethod
    def backward(ctx, g):
        row_ptr, col, weight = ctx.saved_tensors
        g = g.contiguous()
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dx = g.mm(weight)
        if ctx.needs_input_grad[1]:
            if ctx.ext is not None:
                dw = ctx.ext.sparse_linear_weight_grad(g, row_ptr, col, ctx.in_features)
            else:
                dw = _weight_grad_torch(g, row_ptr, col, ctx.in_features)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            db = g.sum(0)
        return dx, dw, db, None


def _check(x, weight, bias, fn):
    check_floating(x, f"{fn}: x")
    check_floating(weight, f"{fn}: weight")
    if weight.dim() != 2:
        raise ValueError(f"{fn}: weight must be [out_features, in_features], got {tuple(weight.shape)}")
    if x.dim() < 3:
        raise ValueError(
            f"{fn}: x must be a time-first spike sequence [T, B, ..., in_features] with at least 3 "
            f"dimensions, got shape {tuple(x.shape)}; did you forget the time axis?"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{fn}: x must have at least one time step (T >= 1), got shape {tuple(x.shape)}")
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"{fn}: x has {x.shape[-1]} features in its last dimension, but the weight takes "
            f"in_features = {weight.shape[1]} (x shape {tuple(x.shape)})"
        )
    if bias is not None:
        check_floating(bias, f"{fn}: bias")
        if tuple(bias.shape) != (weight.shape[0],):
            raise ValueError(f"{fn}: bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None:
            check_has_values(t, f"{fn}: {name}")
            if t.dtype != x.dtype or t.device != x.device:
                raise TypeError(
                    f"{fn}: {name} must have x's dtype and device ({x.dtype}, {x.device}), "
                    f"got {t.dtype} on {t.device}"
                )


def spike_linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    sparse: bool | str = "auto",
    _fn: str = "spike_linear",
) -> tuple[torch.Tensor, bool]:
    """``x W^T + b`` for a spike sequence ``x [T, B, ..., in_features]``; dense or from the active inputs.

    Args:
        x: spikes, time first; binary for the sparse path.
        weight, bias: ``[out_features, in_features]`` and ``[out_features]`` (or ``None``).
        sparse: ``"auto"`` (sparse when the sampled firing rate is below :func:`crossover`, the compiled
            kernel is available, the dtype is float32/float64 on the CPU, and ``x`` is binary; otherwise
            dense), ``True`` (always sparse: a non-binary ``x`` or another dtype or device raises
            ``ValueError``), ``False`` (always ``torch.nn.functional.linear``).

    Returns:
        ``(out [T, B, ..., out_features], whether the sparse path ran)``.
    """
    if sparse not in SPARSE_MODES or isinstance(sparse, int) and not isinstance(sparse, bool):
        raise ValueError(f"{_fn}: sparse must be 'auto', True or False; got {sparse!r}")
    _check(x, weight, bias, _fn)
    x2d = x.reshape(-1, x.shape[-1])
    use = sparse is True
    if sparse == "auto":
        use = (
            x.device.type == "cpu"
            and x.dtype in DTYPES
            and x2d.shape[0] > 0
            and sparse_available()
            and spike_rate_estimate(x2d) < crossover(weight.shape[1], weight.shape[0])
        )
    if use:
        if x.device.type != "cpu" or x.dtype not in DTYPES:
            raise ValueError(
                f"{_fn}: sparse=True runs on the CPU in float32 or float64, got {x.dtype} on {x.device}; "
                "use sparse='auto' or False"
            )
        try:
            out = SparseSpikeLinear.apply(x2d.contiguous(), weight, bias, _load())
            return out.reshape(*x.shape[:-1], weight.shape[0]), True
        except _NotBinary:
            check_finite(x, f"{_fn}: x")  # NaN / inf: the same error as the dense path
            if sparse is True:
                raise ValueError(
                    f"{_fn}: sparse=True needs binary spikes (every value 0 or 1), but x holds other values; "
                    "use sparse='auto' (routes such input to the dense path) or False"
                ) from None
    else:
        check_finite(x, f"{_fn}: x")
    return torch.nn.functional.linear(x, weight, bias), False
