"""C++ source of the CPU engine (compiled on first use by :mod:`spikekit.kernels.cpp`).

Each loop runs over time inside, over neurons outside (``at::parallel_for`` splits the neurons into
contiguous chunks, one per thread; the inner loop walks a chunk contiguously at every step). Arithmetic
repeats the functional core's operations in the same order, rounding to the storage type ``S`` after each
one (``rnd``: a no-op for float and double, the per-operation rounding of bfloat16/half tensors), so
spikes equal the reference loop's bit for bit. Compiled with ``-ffp-contract=off`` so that no
multiply-add is fused (and ``-fno-trapping-math``, which lets GCC vectorize the compare-and-select loops;
it changes no result). The math of the backward passes is documented in
:mod:`spikekit.kernels.torch_engine`.

Every entry function first checks (``TORCH_CHECK``) the rank, size, dtype, device and contiguity of every
tensor it indexes, so that even a direct call with mis-sized tensors raises instead of writing out of bounds
(:mod:`spikekit.kernels._validate` checks the same in Python before, with the argument's name).
"""

SOURCE = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <ATen/OpMathType.h>
#include <cmath>
#include <memory>
#include <optional>
#include <algorithm>
#include <tuple>
#include <vector>

namespace {

constexpr int64_t kGrain = 2048;  // neurons per thread at least
int64_t block_size = 1 << 30;  // neurons that run all their time steps before the next ones (tunable)

// Split [0, M) over threads, then each thread's range into blocks that run all their time steps.
template <typename F>
inline void for_blocks(int64_t M, const F& fn) {
  const int64_t blk = block_size;
  at::parallel_for(0, M, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t bb = b; bb < e; bb += blk) fn(bb, std::min(bb + blk, e));
  });
}

int64_t set_block_size(int64_t n) {
  const int64_t old = block_size;
  block_size = n > 0 ? n : old;
  return old;
}

template <typename S, typename A>
inline A rnd(A v) { return static_cast<A>(static_cast<S>(v)); }

// Closed-form surrogate derivatives P'(z), codes as in spikekit.kernels._spec.SURROGATE_CODES.
template <typename A>
struct Surrogate {
  int kind; A p, c;
  Surrogate(int kind_, double p_) : kind(kind_), p(static_cast<A>(p_)),
      c(static_cast<A>(kind_ == 0 ? M_PI / 2 * p_ : p_)) {}
  inline A operator()(A z) const {
    switch (kind) {
      case 0: { A u = c * z; return p / A(2) / (A(1) + u * u); }
      case 1: { A s = A(1) / (A(1) + std::exp(-p * z)); return p * s * (A(1) - s); }
      case 2: { A d = A(1) + p * std::abs(z); return A(1) / (d * d); }
      case 3: { A r = A(1) - std::abs(z) / p; return r > A(0) ? r / p : A(0); }
      case 4: return std::abs(z) < p / A(2) ? A(1) / p : A(0);
      default: return p;
    }
  }
};

template <typename T>
inline const T* ptr_or_null(const std::optional<at::Tensor>& t) {
  return (t.has_value() && t->defined()) ? t->data_ptr<T>() : nullptr;
}

// ---- bounds checks: every tensor a kernel indexes has the size the loops assume -----------------------
// (the Python entry points check the same first, with friendlier messages; these make a direct call safe)
inline void check_x(const at::Tensor& x, const char* fn) {
  TORCH_CHECK(x.defined() && x.dim() == 2, "spikekit C++ engine ", fn, ": x must be [T, M], got ",
              x.defined() ? x.sizes() : at::IntArrayRef{});
  TORCH_CHECK(x.device().is_cpu() && x.is_contiguous(), "spikekit C++ engine ", fn,
              ": x must be a contiguous CPU tensor");
}

inline void check_seq(const at::Tensor& t, const at::Tensor& x, const char* fn, const char* name) {
  TORCH_CHECK(t.defined() && t.dim() == 2 && t.size(0) == x.size(0) && t.size(1) == x.size(1),
              "spikekit C++ engine ", fn, ": ", name, " must be [T, M] = ", x.sizes(), ", got ",
              t.defined() ? t.sizes() : at::IntArrayRef{});
  TORCH_CHECK(t.device().is_cpu() && t.is_contiguous() && t.scalar_type() == x.scalar_type(),
              "spikekit C++ engine ", fn, ": ", name, " must be a contiguous CPU tensor of x's dtype ",
              x.scalar_type(), ", got ", t.scalar_type());
}

inline void check_vec(const at::Tensor& t, int64_t M, at::ScalarType dtype, const char* fn,
                      const char* name) {
  TORCH_CHECK(t.defined() && t.numel() == M, "spikekit C++ engine ", fn, ": ", name, " must hold M = ", M,
              " values (one per neuron), got ", t.defined() ? t.numel() : 0);
  TORCH_CHECK(t.device().is_cpu() && t.is_contiguous() && t.scalar_type() == dtype, "spikekit C++ engine ",
              fn, ": ", name, " must be a contiguous CPU tensor of dtype ", dtype, ", got ", t.scalar_type());
}

inline void check_opt_seq(const std::optional<at::Tensor>& t, const at::Tensor& x, const char* fn,
                          const char* name) {
  if (t.has_value() && t->defined()) check_seq(*t, x, fn, name);
}

inline void check_opt_vec(const std::optional<at::Tensor>& t, int64_t M, at::ScalarType dtype, const char* fn,
                          const char* name) {
  if (t.has_value() && t->defined()) check_vec(*t, M, dtype, fn, name);
}

inline at::ScalarType opmath_of(at::ScalarType s) {
  return s == at::kBFloat16 || s == at::kHalf ? at::kFloat : s;
}

inline void check_codes(int64_t form, int64_t reset, bool has_a, const char* fn) {
  TORCH_CHECK(form >= 0 && form <= 2, "spikekit C++ engine ", fn, ": form must be 0, 1 or 2, got ", form);
  TORCH_CHECK(reset >= 0 && reset <= 2, "spikekit C++ engine ", fn, ": reset must be 0, 1 or 2, got ", reset);
  TORCH_CHECK(form == 0 || has_a, "spikekit C++ engine ", fn, ": form ", form, " needs the decay a");
}

// ---- LIF family ------------------------------------------------------------------------------------
// FORM 0: h = v + x; 1: h = a v + x; 2: h = v + a (x - v).  RESET 0: subtract, 1: zero, 2: none.
template <typename S, int FORM, typename A>
inline A integrate(A v, A x, A a) {
  if (FORM == 0) return rnd<S>(v + x);
  if (FORM == 1) return rnd<S>(rnd<S>(a * v) + x);
  return rnd<S>(v + rnd<S>(a * rnd<S>(x - v)));
}

template <typename S, int RESET, typename A>
inline A after_reset(A h, A thr) {
  // the core's own expressions, branch-free: subtract v - s thr, zero v (1 - s)
  if (RESET == 2) return h;
  const A s = static_cast<A>(h >= thr);
  if (RESET == 0) return rnd<S>(h - rnd<S>(s * thr));
  return rnd<S>(h * (A(1) - s));
}

// Split [0, M) over threads, then each thread's range into blocks of at most blk neurons.
template <typename F>
inline void for_chunks(int64_t M, int64_t blk, const F& fn) {
  at::parallel_for(0, M, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t bb = b; bb < e; bb += blk) fn(bb, std::min(bb + blk, e));
  });
}

// Sequences [T, M] are read by rows: row t of x is px + t * xs, with xs = M (contiguous) or 0 (one row
// for every step: an input or output gradient that is the same at every step, expand()-ed, read without
// being copied).
inline bool broadcast_rows(const at::Tensor& t) {
  return t.stride(0) == 0 && (t.stride(1) == 1 || t.size(1) <= 1);
}

inline int64_t check_x_rows(const at::Tensor& x, const char* fn) {
  TORCH_CHECK(x.defined() && x.dim() == 2, "spikekit C++ engine ", fn, ": x must be [T, M], got ",
              x.defined() ? x.sizes() : at::IntArrayRef{});
  TORCH_CHECK(x.device().is_cpu() && (x.is_contiguous() || broadcast_rows(x)), "spikekit C++ engine ", fn,
              ": x must be a contiguous CPU tensor (or one row broadcast over time)");
  return x.is_contiguous() ? x.size(1) : 0;
}

inline int64_t check_rows_seq(const at::Tensor& t, const at::Tensor& x, const char* fn, const char* name) {
  TORCH_CHECK(t.defined() && t.dim() == 2 && t.size(0) == x.size(0) && t.size(1) == x.size(1),
              "spikekit C++ engine ", fn, ": ", name, " must be [T, M] = ", x.sizes(), ", got ",
              t.defined() ? t.sizes() : at::IntArrayRef{});
  TORCH_CHECK(t.device().is_cpu() && (t.is_contiguous() || broadcast_rows(t)) &&
                  t.scalar_type() == x.scalar_type(),
              "spikekit C++ engine ", fn, ": ", name, " must be a contiguous (or time-broadcast) CPU tensor ",
              "of x's dtype ", x.scalar_type(), ", got ", t.scalar_type());
  return t.is_contiguous() ? x.size(1) : 0;
}

// Checkpoints for recomputing h in the backward: the state v before steps K, 2K, ... (v0 is the one
// before step 0), rows [C, M] with C = ceil(T / K) - 1.
inline int64_t checkpoint_rows(int64_t T, int64_t K) { return (T + K - 1) / K - 1; }

inline void check_checkpoints(const at::Tensor& ck, int64_t K, const at::Tensor& x, const char* fn) {
  TORCH_CHECK(K >= 1, "spikekit C++ engine ", fn, ": K (steps per checkpoint) must be >= 1, got ", K);
  const int64_t C = checkpoint_rows(x.size(0), K);
  TORCH_CHECK(ck.defined() && ck.dim() == 2 && ck.size(0) == C && ck.size(1) == x.size(1),
              "spikekit C++ engine ", fn, ": ck must be [ceil(T / K) - 1, M] = [", C, ", ", x.size(1),
              "], got ", ck.defined() ? ck.sizes() : at::IntArrayRef{});
  TORCH_CHECK(ck.device().is_cpu() && ck.is_contiguous() && ck.scalar_type() == x.scalar_type(),
              "spikekit C++ engine ", fn, ": ck must be a contiguous CPU tensor of x's dtype ",
              x.scalar_type(), ", got ", ck.scalar_type());
}

// One step for n neurons (every pointer at the block's first neuron): the spikes (STORE_S), the pre-reset
// membrane (STORE_H) and the state. __restrict__ pointers so that GCC vectorizes the loop. The backward's
// recomputation of h runs this same function, so it gives the forward's h bit for bit.
template <typename S, int FORM, int RESET, bool STORE_S, bool STORE_H, typename A>
void lif_forward_row(const S* __restrict__ xt, S* __restrict__ st, S* __restrict__ ht, S* __restrict__ pv,
                     const A* __restrict__ pa, const A* __restrict__ pt, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const A hi = integrate<S, FORM, A>(static_cast<A>(pv[i]), static_cast<A>(xt[i]), FORM ? pa[i] : A(1));
    if (STORE_S) st[i] = static_cast<S>(static_cast<A>(hi >= pt[i]));
    if (STORE_H) ht[i] = static_cast<S>(hi);
    pv[i] = static_cast<S>(after_reset<S, RESET, A>(hi, pt[i]));
  }
}

// pck: checkpoint rows (nullptr: none), every K steps
template <typename S, int FORM, int RESET, bool STORE_H>
void lif_forward_kernel(const S* px, int64_t xs, S* ps, S* ph, S* pv, S* pck, int64_t K,
                        const at::opmath_type<S>* pa, const at::opmath_type<S>* pt, int64_t T, int64_t M) {
  for_blocks(M, [&](int64_t b, int64_t e) {
    for (int64_t t = 0; t < T; ++t) {
      if (pck != nullptr && t > 0 && t % K == 0) std::copy(pv + b, pv + e, pck + (t / K - 1) * M + b);
      const int64_t k = t * M + b;
      lif_forward_row<S, FORM, RESET, true, STORE_H>(px + t * xs + b, ps + k, STORE_H ? ph + k : nullptr,
                                                     pv + b, FORM ? pa + b : nullptr, pt + b, e - b);
    }
  });
}

template <typename S, int FORM>
void lif_forward_form(int reset, bool store_h, const S* px, int64_t xs, S* ps, S* ph, S* pv, S* pck,
                      int64_t K, const at::opmath_type<S>* pa, const at::opmath_type<S>* pt, int64_t T,
                      int64_t M) {
  if (store_h) {
    if (reset == 0) lif_forward_kernel<S, FORM, 0, true>(px, xs, ps, ph, pv, pck, K, pa, pt, T, M);
    else if (reset == 1) lif_forward_kernel<S, FORM, 1, true>(px, xs, ps, ph, pv, pck, K, pa, pt, T, M);
    else lif_forward_kernel<S, FORM, 2, true>(px, xs, ps, ph, pv, pck, K, pa, pt, T, M);
  } else {
    if (reset == 0) lif_forward_kernel<S, FORM, 0, false>(px, xs, ps, ph, pv, pck, K, pa, pt, T, M);
    else if (reset == 1) lif_forward_kernel<S, FORM, 1, false>(px, xs, ps, ph, pv, pck, K, pa, pt, T, M);
    else lif_forward_kernel<S, FORM, 2, false>(px, xs, ps, ph, pv, pck, K, pa, pt, T, M);
  }
}

// -> {spikes, h (undefined unless store_h), v, checkpoints (K > 0: every K steps; else undefined)};
// v is updated in place.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> lif_forward_impl(
    const at::Tensor& x, at::Tensor v, const std::optional<at::Tensor>& a, const at::Tensor& thr,
    int64_t form, int64_t reset, bool store_h, int64_t K, const char* fn) {
  const int64_t xs = check_x_rows(x, fn);
  const int64_t T = x.size(0), M = x.size(1);
  const auto op = opmath_of(x.scalar_type());
  check_vec(v, M, x.scalar_type(), fn, "v");
  check_vec(thr, M, op, fn, "thr");
  check_opt_vec(a, M, op, fn, "a");
  check_codes(form, reset, a.has_value() && a->defined(), fn);
  auto s = at::empty({T, M}, x.options());
  at::Tensor h = store_h ? at::empty({T, M}, x.options()) : at::Tensor();
  at::Tensor ck = K > 0 ? at::empty({checkpoint_rows(T, K), M}, x.options()) : at::Tensor();
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, x.scalar_type(), "lif_forward", [&] {
    using A = at::opmath_type<scalar_t>;
    const scalar_t* px = x.data_ptr<scalar_t>();
    scalar_t* ps = s.data_ptr<scalar_t>();
    scalar_t* ph = store_h ? h.data_ptr<scalar_t>() : nullptr;
    scalar_t* pv = v.data_ptr<scalar_t>();
    scalar_t* pck = K > 0 && ck.numel() > 0 ? ck.data_ptr<scalar_t>() : nullptr;
    const A* pa = ptr_or_null<A>(a);
    const A* pt = thr.data_ptr<A>();
    const int r = static_cast<int>(reset);
    if (form == 0) lif_forward_form<scalar_t, 0>(r, store_h, px, xs, ps, ph, pv, pck, K, pa, pt, T, M);
    else if (form == 1) lif_forward_form<scalar_t, 1>(r, store_h, px, xs, ps, ph, pv, pck, K, pa, pt, T, M);
    else lif_forward_form<scalar_t, 2>(r, store_h, px, xs, ps, ph, pv, pck, K, pa, pt, T, M);
  });
  return {s, h, v, ck};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> lif_forward(
    const at::Tensor& x, at::Tensor v, const std::optional<at::Tensor>& a, const at::Tensor& thr,
    int64_t form, int64_t reset) {
  auto res = lif_forward_impl(x, v, a, thr, form, reset, true, 0, "lif_forward");
  return {std::get<0>(res), std::get<1>(res), std::get<2>(res)};
}

// The forward for a backward that recomputes h (lif_backward_recompute): -> {spikes, h (if store_h, else
// undefined), v, checkpoints [ceil(T / K) - 1, M]}.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> lif_forward_ck(
    const at::Tensor& x, at::Tensor v, const std::optional<at::Tensor>& a, const at::Tensor& thr,
    int64_t form, int64_t reset, int64_t K, bool store_h) {
  TORCH_CHECK(K >= 1, "spikekit C++ engine lif_forward_ck: K (steps per checkpoint) must be >= 1, got ", K);
  return lif_forward_impl(x, v, a, thr, form, reset, store_h, K, "lif_forward_ck");
}

// P'(h - thr) for a chunk of neurons at one step, into dsur: one tight loop per surrogate kind.
template <typename S, typename A>
void surrogate_chunk(const Surrogate<A>& sur, const S* __restrict__ ht, const A* __restrict__ pt,
                     A* __restrict__ dsur, int64_t b, int64_t e) {
  const A p = sur.p, c = sur.c;
  switch (sur.kind) {
    case 0:
      for (int64_t i = b; i < e; ++i) {
        const A u = c * rnd<S>(static_cast<A>(ht[i]) - pt[i]);
        dsur[i - b] = rnd<S>(p / A(2) / (A(1) + u * u));
      }
      break;
    default:
      for (int64_t i = b; i < e; ++i) dsur[i - b] = rnd<S>(sur(rnd<S>(static_cast<A>(ht[i]) - pt[i])));
  }
}

// One backward step for n neurons (pointers at the block's first neuron). ATAN: the arc-tangent surrogate
// computed in the loop (the expression of surrogate_chunk's case 0), else read from dsur. PARAMS: also the
// gradients of the decay and the threshold. Absent output gradients are rows of zeros (the same sums).
// first: the state before this step is pv0 (v0, or a checkpoint), else the reset of the step before's h.
template <typename S, int FORM, int RESET, bool ATAN, bool PARAMS, typename A>
void lif_backward_row(const S* __restrict__ ht, const S* __restrict__ hp, const S* __restrict__ gst,
                      const S* __restrict__ ght, const S* __restrict__ xt, S* __restrict__ gxt,
                      S* __restrict__ pgu, A* __restrict__ pga, A* __restrict__ pgt, const A* __restrict__ pa,
                      const A* __restrict__ pt, const S* __restrict__ pv0, const A* __restrict__ dsur, A keep,
                      A p, A c, bool first, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const A hi = ht[i], th = pt[i], gui = pgu[i];
    A ds;
    if (ATAN) {
      const A u = c * rnd<S>(hi - th);
      ds = rnd<S>(p / A(2) / (A(1) + u * u));
    } else {
      ds = dsur[i];
    }
    const A s = static_cast<A>(hi >= th);
    const A du_ds = RESET == 0 ? -keep * rnd<S>(th) : (RESET == 1 ? -keep * hi : A(0));
    const A du_dh = RESET == 1 ? A(1) - s : A(1);
    const A gsig = static_cast<A>(gst[i]) + gui * du_ds;
    const A ghi = rnd<S>(static_cast<A>(ght[i]) + gsig * ds + gui * du_dh);
    if (PARAMS) pgt[i] += -gsig * ds - (RESET == 0 ? s * gui : A(0));
    A prev = A(0);
    if (FORM == 2 || (PARAMS && FORM == 1))
      prev = first ? static_cast<A>(pv0[i]) : after_reset<S, RESET, A>(static_cast<A>(hp[i]), th);
    if (FORM == 0) {
      gxt[i] = static_cast<S>(ghi);
      pgu[i] = static_cast<S>(ghi);
    } else if (FORM == 1) {
      gxt[i] = static_cast<S>(ghi);
      if (PARAMS) pga[i] += ghi * prev;
      pgu[i] = static_cast<S>(pa[i] * ghi);
    } else {
      const A kg = rnd<S>(pa[i] * ghi);
      gxt[i] = static_cast<S>(kg);
      if (PARAMS) pga[i] += ghi * (static_cast<A>(xt[i]) - prev);
      pgu[i] = static_cast<S>(ghi - kg);
    }
  }
}

template <typename S>
struct LifBwd {  // one backward call's pointers: sequences [T, M] (read by rows), vectors [M]
  const S* h;   // the saved membrane; nullptr: recompute it from x and the checkpoints
  const S* x;
  const S* ck;  // checkpoints: the state before steps K, 2K, ...
  int64_t x_rs, gs_rs, gh_rs, K;
  const S* v0;
  const at::opmath_type<S>* a;
  const at::opmath_type<S>* thr;
  const S* gs;
  const S* gh;
  S* gu;
  S* gx;
  at::opmath_type<S>* ga;
  at::opmath_type<S>* gthr;
  int64_t T, M;
};

constexpr int64_t kRecomputeWidth = 8192;  // neurons per block when recomputing h (K x width in the cache)

template <typename S, int FORM, int RESET, bool ATAN, bool PARAMS>
void lif_backward_kernel(const LifBwd<S>& g, const Surrogate<at::opmath_type<S>>& sur, bool detach) {
  using A = at::opmath_type<S>;
  // du/ds is -thr (subtract), -h (zero) or 0, and 0 with detach_reset: keep = 0 or 1 selects it.
  const A keep = (detach || RESET == 2) ? A(0) : A(1);
  const int64_t T = g.T, M = g.M;
  const bool recompute = g.h == nullptr;
  // One block of neurons, steps [t0, t1) backwards: h of step t is ht(t); the state before t0 is pv0.
  auto steps_back = [&](int64_t b, int64_t n, int64_t t0, int64_t t1, const S* pv0, A* dsur,
                        const auto& ht) {
    for (int64_t t = t1 - 1; t >= t0; --t) {
      const S* h = ht(t);
      if (!ATAN) surrogate_chunk<S, A>(sur, h, g.thr + b, dsur, 0, n);
      lif_backward_row<S, FORM, RESET, ATAN, PARAMS, A>(
          h, t > t0 ? ht(t - 1) : h, g.gs + t * g.gs_rs + b, g.gh + t * g.gh_rs + b,
          FORM == 2 ? g.x + t * g.x_rs + b : nullptr, g.gx + t * M + b, g.gu + b, g.ga + b, g.gthr + b,
          FORM ? g.a + b : nullptr, g.thr + b, pv0, dsur, keep, sur.p, sur.c, t == t0, n);
    }
  };
  if (!recompute) {  // h saved: each thread's neurons in blocks of block_size, all steps
    for_chunks(M, block_size, [&](int64_t b, int64_t e) {
      std::vector<A> dsur(ATAN ? 0 : e - b);
      steps_back(b, e - b, 0, T, g.v0 + b, dsur.data(), [&](int64_t t) { return g.h + t * M + b; });
    });
    return;
  }
  // Recomputing: blocks of kRecomputeWidth neurons; for each K-step chunk of time, last first, the
  // forward again from the chunk's checkpoint into hbuf (K x width: still in the cache when read back),
  // then the backward over the chunk.
  const int64_t K = std::min(g.K, T);
  for_chunks(M, kRecomputeWidth, [&](int64_t b, int64_t e) {
    const int64_t n = e - b;
    std::vector<A> dsur(ATAN ? 0 : n);
    std::unique_ptr<S[]> hbuf(new S[K * n]);
    std::unique_ptr<S[]> v(new S[n]);
    for (int64_t c = (T + K - 1) / K - 1; c >= 0; --c) {
      const int64_t t0 = c * K, t1 = std::min(T, t0 + K);
      const S* pv0 = c == 0 ? g.v0 + b : g.ck + (c - 1) * M + b;
      std::copy(pv0, pv0 + n, v.get());
      for (int64_t t = t0; t < t1; ++t)
        lif_forward_row<S, FORM, RESET, false, true>(g.x + t * g.x_rs + b, nullptr, hbuf.get() + (t - t0) * n,
                                                     v.get(), FORM ? g.a + b : nullptr, g.thr + b, n);
      steps_back(b, n, t0, t1, pv0, dsur.data(), [&](int64_t t) { return hbuf.get() + (t - t0) * n; });
    }
  });
}

template <typename S, int FORM, int RESET>
void lif_backward_flags(const LifBwd<S>& g, const Surrogate<at::opmath_type<S>>& sur, bool detach,
                        bool params) {
  const bool atan = sur.kind == 0;
  if (atan) {
    if (params) lif_backward_kernel<S, FORM, RESET, true, true>(g, sur, detach);
    else lif_backward_kernel<S, FORM, RESET, true, false>(g, sur, detach);
  } else {
    if (params) lif_backward_kernel<S, FORM, RESET, false, true>(g, sur, detach);
    else lif_backward_kernel<S, FORM, RESET, false, false>(g, sur, detach);
  }
}

#define SPIKEKIT_LIF_BWD(F) \
  do { if (reset == 0) lif_backward_flags<S, F, 0>(g, sur, detach, params); \
       else if (reset == 1) lif_backward_flags<S, F, 1>(g, sur, detach, params); \
       else lif_backward_flags<S, F, 2>(g, sur, detach, params); } while (0)
// The backward from h (h defined) or, h undefined, recomputed from x and the checkpoints ck (every K steps).
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> lif_backward_impl(
    const at::Tensor& h, const std::optional<at::Tensor>& x, const at::Tensor& ck, int64_t K,
    const at::Tensor& v0, const std::optional<at::Tensor>& a, const at::Tensor& thr,
    const std::optional<at::Tensor>& gs, const std::optional<at::Tensor>& gh, at::Tensor gu, int64_t form,
    int64_t reset, bool detach, int64_t kind, double sp, bool need_a, bool need_thr, const char* fn) {
  const bool has_h = h.defined(), has_x = x.has_value() && x->defined();
  const at::Tensor& ref = has_h ? h : *x;
  int64_t x_rs = 0;
  if (has_h) {
    check_x(h, fn);
    if (has_x) x_rs = check_rows_seq(*x, h, fn, "x");
  } else {
    x_rs = check_x_rows(*x, fn);
    check_checkpoints(ck, K, *x, fn);
  }
  const int64_t T = ref.size(0), M = ref.size(1);
  const auto op = opmath_of(ref.scalar_type());
  TORCH_CHECK(form != 2 || has_x, "spikekit C++ engine ", fn, ": form 2 needs x");
  check_vec(v0, M, ref.scalar_type(), fn, "v0");
  check_vec(gu, M, ref.scalar_type(), fn, "gu");
  check_vec(thr, M, op, fn, "thr");
  check_opt_vec(a, M, op, fn, "a");
  const bool has_gs = gs.has_value() && gs->defined(), has_gh = gh.has_value() && gh->defined();
  const int64_t gs_rs = has_gs ? check_rows_seq(*gs, ref, fn, "gs") : 0;
  const int64_t gh_rs = has_gh ? check_rows_seq(*gh, ref, fn, "gh") : 0;
  check_codes(form, reset, a.has_value() && a->defined(), fn);
  auto gx = at::empty({T, M}, ref.options());
  auto ga = at::zeros_like(thr);
  auto gthr = at::zeros_like(thr);
  const bool params = (need_a && form != 0) || need_thr;
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, ref.scalar_type(), "lif_backward", [&] {
    using S = scalar_t;
    using A = at::opmath_type<S>;
    const Surrogate<A> sur(static_cast<int>(kind), sp);
    std::vector<S> zeros((has_gs && has_gh) ? 0 : M, S(0));  // an absent output gradient: zeros
    LifBwd<S> g{};
    g.h = has_h ? h.data_ptr<S>() : nullptr;
    g.x = has_x ? x->data_ptr<S>() : nullptr;
    g.ck = !has_h && ck.numel() > 0 ? ck.data_ptr<S>() : nullptr;
    g.x_rs = x_rs;
    g.K = K;
    g.v0 = v0.data_ptr<S>();
    g.a = ptr_or_null<A>(a);
    g.thr = thr.data_ptr<A>();
    g.gs = has_gs ? gs->data_ptr<S>() : zeros.data();
    g.gh = has_gh ? gh->data_ptr<S>() : zeros.data();
    g.gs_rs = gs_rs;
    g.gh_rs = gh_rs;
    g.gu = gu.data_ptr<S>();
    g.gx = gx.data_ptr<S>();
    g.ga = ga.data_ptr<A>();
    g.gthr = gthr.data_ptr<A>();
    g.T = T;
    g.M = M;
    if (form == 0) SPIKEKIT_LIF_BWD(0);
    else if (form == 1) SPIKEKIT_LIF_BWD(1);
    else SPIKEKIT_LIF_BWD(2);
  });
  return {gx, gu, ga, gthr};
}
#undef SPIKEKIT_LIF_BWD

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> lif_backward(
    const at::Tensor& h, const std::optional<at::Tensor>& x, const at::Tensor& v0,
    const std::optional<at::Tensor>& a, const at::Tensor& thr, const std::optional<at::Tensor>& gs,
    const std::optional<at::Tensor>& gh, at::Tensor gu, int64_t form, int64_t reset, bool detach,
    int64_t kind, double sp, bool need_a, bool need_thr) {
  TORCH_CHECK(h.defined(), "spikekit C++ engine lif_backward: x must be [T, M], got an undefined tensor");
  return lif_backward_impl(h, x, at::Tensor(), 0, v0, a, thr, gs, gh, gu, form, reset, detach, kind, sp,
                           need_a, need_thr, "lif_backward");
}

// The backward of lif_forward_ck: h recomputed from its input x and checkpoints ck (every K steps).
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> lif_backward_recompute(
    const at::Tensor& x, const at::Tensor& ck, int64_t K, const at::Tensor& v0,
    const std::optional<at::Tensor>& a, const at::Tensor& thr, const std::optional<at::Tensor>& gs,
    const std::optional<at::Tensor>& gh, at::Tensor gu, int64_t form, int64_t reset, bool detach,
    int64_t kind, double sp, bool need_a, bool need_thr) {
  const char* fn = "lif_backward_recompute";
  TORCH_CHECK(x.defined(), "spikekit C++ engine ", fn, ": x must be [T, M], got an undefined tensor");
  return lif_backward_impl(at::Tensor(), x, ck, K, v0, a, thr, gs, gh, gu, form, reset, detach, kind, sp,
                           need_a, need_thr, fn);
}

// ---- the seed's refractory neuron ---------------------------------------------------------------------
// h = x + d c; graded: o = relu(h - thr), gate o > 0; binary: o = H(h - thr).
// seed: c = h - (cp h) gate (cp = penalty / threshold); prose: c = h - (cp + o) gate (cp = penalty).
template <typename S, bool SEED, bool GRADED, typename A>
inline A refractory_c(A h, A thr, A cp) {
  // the core's expressions, branch-free: h - (cp h) gate, or h - (cp + o) gate
  const A z = rnd<S>(h - thr);
  const A gate = static_cast<A>(GRADED ? z > A(0) : z >= A(0));
  const A o = GRADED ? z * gate : gate;
  return SEED ? rnd<S>(h - rnd<S>(rnd<S>(cp * h) * gate)) : rnd<S>(h - rnd<S>(rnd<S>(cp + o) * gate));
}

template <typename S, bool SEED, bool GRADED, typename A>
void refractory_forward_row(const S* __restrict__ xt, S* __restrict__ outt, S* __restrict__ vt,
                            S* __restrict__ ht, S* __restrict__ pc, S* __restrict__ po,
                            const A* __restrict__ pd,
                            const A* __restrict__ pt, const A* __restrict__ pcp, int64_t b, int64_t e) {
  if (vt) std::copy(pc + b, pc + e, vt + b);
  std::copy(po + b, po + e, outt + b);
  for (int64_t i = b; i < e; ++i) {
    const A hi = rnd<S>(static_cast<A>(xt[i]) + rnd<S>(pd[i] * static_cast<A>(pc[i])));
    const A z = rnd<S>(hi - pt[i]);
    const A gate = static_cast<A>(GRADED ? z > A(0) : z >= A(0));
    ht[i] = static_cast<S>(hi);
    pc[i] = static_cast<S>(refractory_c<S, SEED, GRADED, A>(hi, pt[i], pcp[i]));
    po[i] = static_cast<S>(GRADED ? z * gate : gate);
  }
}

template <typename S, bool SEED, bool GRADED>
void refractory_forward_kernel(const S* px, S* pout, S* pvs, S* phs, S* pc, S* po,
                               const at::opmath_type<S>* pd,
                               const at::opmath_type<S>* pt, const at::opmath_type<S>* pcp, int64_t T,
                               int64_t M) {
  for_blocks(M, [&](int64_t b, int64_t e) {
    for (int64_t t = 0; t < T; ++t) {
      const int64_t k = t * M;
      refractory_forward_row<S, SEED, GRADED>(px + k, pout + k, pvs ? pvs + k : nullptr, phs + k, pc, po, pd,
                                              pt,
                                              pcp, b, e);
    }
  });
}

#define SPIKEKIT_REF_FWD(SE, GR) refractory_forward_kernel<S, SE, GR>( \
    px, out.data_ptr<S>(), pvs, hs.data_ptr<S>(), c.data_ptr<S>(), o.data_ptr<S>(), pd, pt, pcp, T, M)
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> refractory_forward(
    const at::Tensor& x, at::Tensor c, at::Tensor o, const at::Tensor& d, const at::Tensor& thr,
    const at::Tensor& cp, bool seed, bool graded, bool record_v) {
  const char* fn = "refractory_forward";
  check_x(x, fn);
  const int64_t T = x.size(0), M = x.size(1);
  const auto op = opmath_of(x.scalar_type());
  check_vec(c, M, x.scalar_type(), fn, "c");
  check_vec(o, M, x.scalar_type(), fn, "o");
  check_vec(d, M, op, fn, "d");
  check_vec(thr, M, op, fn, "thr");
  check_vec(cp, M, op, fn, "cp");
  auto out = at::empty_like(x);
  auto hs = at::empty_like(x);
  at::Tensor v = record_v ? at::empty_like(x) : at::Tensor();
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, x.scalar_type(), "refractory_forward", [&] {
    using S = scalar_t;
    using A = at::opmath_type<S>;
    const S* px = x.data_ptr<S>();
    S* pvs = record_v ? v.data_ptr<S>() : nullptr;
    const A *pd = d.data_ptr<A>(), *pt = thr.data_ptr<A>(), *pcp = cp.data_ptr<A>();
    if (seed) { if (graded) SPIKEKIT_REF_FWD(true, true); else SPIKEKIT_REF_FWD(true, false); }
    else { if (graded) SPIKEKIT_REF_FWD(false, true); else SPIKEKIT_REF_FWD(false, false); }
  });
  return {out, v, hs, c, o};
}

struct RefGrads {
  const void *gout, *gv, *gc_end, *go_end;
  bool need_d;
};

template <typename S, bool SEED, bool GRADED, typename A>
void refractory_backward_row(const S* __restrict__ ht, const S* __restrict__ hp, const S* __restrict__ go_t,
                             const S* __restrict__ gc_t, const S* __restrict__ pc0, const A* __restrict__ pd,
                             const A* __restrict__ pt, const A* __restrict__ pcp, const A* __restrict__ dsur,
                             S* __restrict__ gxt, S* __restrict__ pcar, A* __restrict__ pgd,
                             A* __restrict__ pgt,
                             A* __restrict__ pgcp, bool need_d, bool first, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    const A go = go_t ? static_cast<A>(go_t[i]) : A(0);
    const A gc = (gc_t ? static_cast<A>(gc_t[i]) : A(0)) + static_cast<A>(pcar[i]);
    const A hi = ht[i];
    const A z = rnd<S>(hi - pt[i]);
    const A gate = static_cast<A>(GRADED ? z > A(0) : z >= A(0));
    const A do_dh = GRADED ? gate : dsur[i - b];
    const A dc_dh = SEED ? A(1) - gate * pcp[i] : A(1);
    const A dc_do = SEED ? A(0) : -gate;
    const A gtot = go + gc * dc_do;
    const A ghi = rnd<S>(gc * dc_dh + gtot * do_dh);
    pgt[i] += -gtot * do_dh;
    pgcp[i] += SEED ? -gc * hi * gate : -gc * gate;
    if (need_d) {
      const A prev = first ? static_cast<A>(pc0[i])
                           : refractory_c<S, SEED, GRADED, A>(static_cast<A>(hp[i]), pt[i], pcp[i]);
      pgd[i] += ghi * prev;
    }
    gxt[i] = static_cast<S>(ghi);
    pcar[i] = static_cast<S>(pd[i] * ghi);
  }
}

template <typename S, bool SEED, bool GRADED>
void refractory_backward_kernel(const S* ph, const S* pc0, const at::opmath_type<S>* pd,
                                const at::opmath_type<S>* pt,
                                const at::opmath_type<S>* pcp, RefGrads g, S* pgx, S* pcar,
                                at::opmath_type<S>* pgd,
                                at::opmath_type<S>* pgt, at::opmath_type<S>* pgcp,
                                const Surrogate<at::opmath_type<S>>& sur, int64_t T, int64_t M) {
  using A = at::opmath_type<S>;
  const S* pgo = static_cast<const S*>(g.gout);
  const S* pgv = static_cast<const S*>(g.gv);
  const S* pgce = static_cast<const S*>(g.gc_end);
  const S* pgoe = static_cast<const S*>(g.go_end);
  for_blocks(M, [&](int64_t b, int64_t e) {
    std::vector<A> dsur(GRADED ? 0 : e - b);
    for (int64_t t = T - 1; t >= 0; --t) {
      const bool last = t + 1 == T;
      const int64_t k = t * M;
      const S* go_t = last ? pgoe : (pgo ? pgo + k + M : nullptr);  // gradient reaching o_t
      const S* gc_t = last ? pgce : (pgv ? pgv + k + M : nullptr);  // ... and c_t, from outside
      if (!GRADED) surrogate_chunk<S, A>(sur, ph + k, pt, dsur.data(), b, e);
      refractory_backward_row<S, SEED, GRADED, A>(ph + k, t > 0 ? ph + k - M : ph, go_t, gc_t, pc0, pd, pt,
                                                  pcp, dsur.data(), pgx + k, pcar, pgd, pgt, pgcp, g.need_d,
                                                  t == 0, b, e);
    }
  });
}

#define SPIKEKIT_REF_BWD(SE, GR) refractory_backward_kernel<S, SE, GR>(ph, pc0, pd, pt, pcp, g, \
    gx.data_ptr<S>(), carry.data_ptr<S>(), gd.data_ptr<A>(), gthr.data_ptr<A>(), gcp.data_ptr<A>(), sur, T, M)
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> refractory_backward(
    const at::Tensor& hs, const at::Tensor& c0, const at::Tensor& d, const at::Tensor& thr,
    const at::Tensor& cp, const std::optional<at::Tensor>& gout, const std::optional<at::Tensor>& gv,
    const std::optional<at::Tensor>& gc_end, const std::optional<at::Tensor>& go_end, bool seed,
    bool graded, int64_t kind, double sp, bool need_d) {
  const char* fn = "refractory_backward";
  check_x(hs, fn);
  {
    const int64_t M = hs.size(1);
    const auto op = opmath_of(hs.scalar_type());
    check_vec(c0, M, hs.scalar_type(), fn, "c0");
    check_vec(d, M, op, fn, "d");
    check_vec(thr, M, op, fn, "thr");
    check_vec(cp, M, op, fn, "cp");
    check_opt_seq(gout, hs, fn, "gout");
    check_opt_seq(gv, hs, fn, "gv");
    check_opt_vec(gc_end, M, hs.scalar_type(), fn, "gc_end");
    check_opt_vec(go_end, M, hs.scalar_type(), fn, "go_end");
  }
  auto gx = at::empty_like(hs);
  auto carry = at::zeros_like(c0);
  auto gd = at::zeros_like(thr);
  auto gthr = at::zeros_like(thr);
  auto gcp = at::zeros_like(thr);
  const int64_t T = hs.size(0), M = hs.size(1);
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, hs.scalar_type(), "refractory_backward", [&] {
    using S = scalar_t;
    using A = at::opmath_type<S>;
    const Surrogate<A> sur(static_cast<int>(kind), sp);
    const RefGrads g{ptr_or_null<S>(gout), ptr_or_null<S>(gv), ptr_or_null<S>(gc_end), ptr_or_null<S>(go_end),
                     need_d};
    const S* ph = hs.data_ptr<S>();
    const S* pc0 = c0.data_ptr<S>();
    const A *pd = d.data_ptr<A>(), *pt = thr.data_ptr<A>(), *pcp = cp.data_ptr<A>();
    if (seed) { if (graded) SPIKEKIT_REF_BWD(true, true); else SPIKEKIT_REF_BWD(true, false); }
    else { if (graded) SPIKEKIT_REF_BWD(false, true); else SPIKEKIT_REF_BWD(false, false); }
  });
  return {gx, carry, gd, gthr, gcp};
}


// ---- the state-layout families: ALIF (v, a), Synaptic (i, v), RLIF (v, s), SRM (m, q, r), -----------------
// Izhikevich (v, u), AdEx (V, w), Alpha (exc, inh, s)
// float and double only (the arithmetic type is the storage type: no rounding between operations to mirror).
// The sequences, states and gradients of one call are distinct tensors (``ivdep``: the loops over neurons
// carry no dependence, so GCC vectorizes them).
// Each step repeats its core's expressions in their order (math and derivatives in
// spikekit.kernels.families). One entry pair for all: family_forward / family_backward, with the family's
// code (0 alif, 1 synaptic, 2 one-to-one rlif, 3 srm, 4 izhikevich, 5 adex, 6 alpha; the dense RLIF has its
// own pair, rlif_dense_forward / _backward); the sizes of the state, parameter and saved lists per family:
constexpr int64_t kFamilies = 7;
constexpr int64_t kFamStates[] = {2, 2, 2, 3, 2, 2, 3};
constexpr int64_t kFamParams[] = {5, 3, 3, 4, 7, 13, 4};
constexpr int64_t kFamSaved[] = {2, 2, 1, 2, 3, 3, 3};

template <int R, typename A>
inline A reset_of(A h, A s, A thr) {
  if (R == 2) return h;
  if (R == 0) return h - s * thr;
  return h * (A(1) - s);
}

// d(reset)/ds (with keep = 0 under detach_reset) and d(reset)/dh
template <int R, typename A>
inline A dreset_ds(A h, A thr, A keep) { return R == 0 ? -keep * thr : (R == 1 ? -keep * h : A(0)); }
template <int R, typename A>
inline A dreset_dh(A s) { return R == 1 ? A(1) - s : A(1); }

template <typename A>
void dsur_chunk(const Surrogate<A>& sur, const A* __restrict__ z, A* __restrict__ out, int64_t n) {
  const A p = sur.p, c = sur.c;
  if (sur.kind == 0) {
    for (int64_t j = 0; j < n; ++j) { const A u = c * z[j]; out[j] = p / A(2) / (A(1) + u * u); }
  } else {
    for (int64_t j = 0; j < n; ++j) out[j] = sur(z[j]);
  }
}

template <typename S>
struct Fam {  // raw pointers of one call: sequences [T, M], states / parameters / gradients [M]
  const S* x; S* out; S* h; S* sv[2];        // forward: input, spikes, membrane, extra saved sequence(s)
  const S* sav[3];                           // backward: saved sequences (h first)
  S* st[3]; const S* st0[3];                 // state (updated in place) / initial state
  const S* p[13]; S* gp[13];                 // parameters and their gradients
  const S* gout; const S* gh; S* gx; S* gst[3];
  int64_t T, M;
};

// ALIF: h = b v + x; A = th + ad a; s = H(h - A); v = reset(h, s, A); a = rho a + omr s.
// params (b, rho, omr, ad, th); saved (h, a before the step)
template <typename S, int R>
void alif_fwd(Fam<S> f) {
  const S *pb = f.p[0], *prho = f.p[1], *pomr = f.p[2], *pad = f.p[3], *pth = f.p[4];
  S *pv = f.st[0], *pa = f.st[1];
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    for (int64_t t = 0; t < f.T; ++t) {
      const int64_t k = t * f.M;
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) {
        const S a = pa[i];
        const S h = pb[i] * pv[i] + f.x[k + i];
        const S thr = pth[i] + pad[i] * a;
        const S s = static_cast<S>(h >= thr);
        f.out[k + i] = s; f.h[k + i] = h; f.sv[0][k + i] = a;
        pv[i] = reset_of<R>(h, s, thr);
        pa[i] = prho[i] * a + pomr[i] * s;
      }
    }
  });
}

template <typename S, int R>
void alif_bwd(Fam<S> f, const Surrogate<S>& sur, S keep) {
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    const int64_t n = e - b;
    // every pointer offset to the block and restrict-qualified: GCC vectorizes the step loop only then
    const S *__restrict__ pb = f.p[0] + b, *__restrict__ prho = f.p[1] + b, *__restrict__ pomr = f.p[2] + b;
    const S *__restrict__ pad = f.p[3] + b, *__restrict__ pth = f.p[4] + b, *__restrict__ v0 = f.st0[0] + b;
    S *__restrict__ gb = f.gp[0] + b, *__restrict__ grho = f.gp[1] + b, *__restrict__ gomr = f.gp[2] + b;
    S *__restrict__ gad = f.gp[3] + b, *__restrict__ gth = f.gp[4] + b;
    S *__restrict__ pgv = f.gst[0] + b, *__restrict__ pga = f.gst[1] + b;
    std::vector<S> zb(n), dsb(n), vpb(n), zero(n, S(0));
    S *__restrict__ z = zb.data(), *__restrict__ ds = dsb.data(), *__restrict__ vprev = vpb.data();
    for (int64_t t = f.T - 1; t >= 0; --t) {
      const int64_t k = t * f.M + b;
      const S *__restrict__ h = f.sav[0] + k, *__restrict__ ap = f.sav[1] + k;
      const S *__restrict__ go = f.gout ? f.gout + k : zero.data();
      const S *__restrict__ gi = f.gh ? f.gh + k : zero.data();
      S *__restrict__ gx = f.gx + k;
      if (t == 0) {
        std::copy(v0, v0 + n, vprev);
      } else {  // v before this step: the step before's reset, recomputed
        const S *__restrict__ hp = h - f.M, *__restrict__ app = ap - f.M;
        #pragma GCC ivdep
        for (int64_t i = 0; i < n; ++i) {
          const S tp = pth[i] + pad[i] * app[i];
          vprev[i] = reset_of<R>(hp[i], static_cast<S>(hp[i] >= tp), tp);
        }
      }
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) z[i] = h[i] - (pth[i] + pad[i] * ap[i]);
      dsur_chunk<S>(sur, z, ds, n);
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) {
        const S thr = pth[i] + pad[i] * ap[i];
        const S s = static_cast<S>(h[i] >= thr);
        const S gv = pgv[i], ga = pga[i];
        const S gs = go[i] + gv * dreset_ds<R>(h[i], thr, keep) + ga * pomr[i];
        const S gz = gs * ds[i];
        const S gh = gi[i] + gz + gv * dreset_dh<R>(s);
        const S gA = -gz - (R == 0 ? s * gv : S(0));
        gx[i] = gh;
        gb[i] += gh * vprev[i]; grho[i] += ga * ap[i]; gomr[i] += ga * s;
        gad[i] += gA * ap[i]; gth[i] += gA;
        pgv[i] = pb[i] * gh;
        pga[i] = pad[i] * gA + prho[i] * ga;
      }
    }
  });
}

// Synaptic: i = al i + x; h = b v + i; s = H(h - th); v = reset(h, s, th). params (al, b, th); saved (h, i)
template <typename S, int R>
void syn_fwd(Fam<S> f) {
  const S *pal = f.p[0], *pb = f.p[1], *pth = f.p[2];
  S *pi = f.st[0], *pv = f.st[1];
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    for (int64_t t = 0; t < f.T; ++t) {
      const int64_t k = t * f.M;
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) {
        const S c = pal[i] * pi[i] + f.x[k + i];
        const S h = pb[i] * pv[i] + c;
        const S s = static_cast<S>(h >= pth[i]);
        f.out[k + i] = s; f.h[k + i] = h; f.sv[0][k + i] = c;
        pi[i] = c;
        pv[i] = reset_of<R>(h, s, pth[i]);
      }
    }
  });
}

template <typename S, int R>
void syn_bwd(Fam<S> f, const Surrogate<S>& sur, S keep) {
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    const int64_t n = e - b;  // pointers offset to the block and restrict-qualified, as in alif_bwd
    const S *__restrict__ pal = f.p[0] + b, *__restrict__ pb = f.p[1] + b, *__restrict__ pth = f.p[2] + b;
    const S *__restrict__ i00 = f.st0[0] + b, *__restrict__ v00 = f.st0[1] + b;
    S *__restrict__ gal = f.gp[0] + b, *__restrict__ gb = f.gp[1] + b, *__restrict__ gth = f.gp[2] + b;
    S *__restrict__ pgi = f.gst[0] + b, *__restrict__ pgv = f.gst[1] + b;
    std::vector<S> zb(n), dsb(n), vb(n), ib(n), zero(n, S(0));
    S *__restrict__ z = zb.data(), *__restrict__ ds = dsb.data();
    S *__restrict__ vprev = vb.data(), *__restrict__ iprev = ib.data();
    for (int64_t t = f.T - 1; t >= 0; --t) {
      const int64_t k = t * f.M + b;
      const S *__restrict__ ph = f.sav[0] + k;
      const S *__restrict__ go = f.gout ? f.gout + k : zero.data();
      const S *__restrict__ gi = f.gh ? f.gh + k : zero.data();
      S *__restrict__ gx = f.gx + k;
      if (t == 0) {
        std::copy(v00, v00 + n, vprev); std::copy(i00, i00 + n, iprev);
      } else {  // the state before this step: the step before's reset membrane and its current
        const S *__restrict__ hp = ph - f.M;
        std::copy(f.sav[1] + k - f.M, f.sav[1] + k - f.M + n, iprev);
        #pragma GCC ivdep
        for (int64_t i = 0; i < n; ++i)
          vprev[i] = reset_of<R>(hp[i], static_cast<S>(hp[i] >= pth[i]), pth[i]);
      }
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) z[i] = ph[i] - pth[i];
      dsur_chunk<S>(sur, z, ds, n);
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) {
        const S h = ph[i], th = pth[i];
        const S s = static_cast<S>(h >= th);
        const S gv = pgv[i];
        const S gs = go[i] + gv * dreset_ds<R>(h, th, keep);
        const S gz = gs * ds[i];
        const S gh = gi[i] + gz + gv * dreset_dh<R>(s);
        const S gc = pgi[i] + gh;
        gx[i] = gc;
        gal[i] += gc * iprev[i]; gb[i] += gh * vprev[i];
        gth[i] += -gz - (R == 0 ? s * gv : S(0));
        pgi[i] = pal[i] * gc;
        pgv[i] = pb[i] * gh;
      }
    }
  });
}

// one-to-one RLIF: h = (b v + x) + s w; s = H(h - th); v = reset(h, s, th). params (w, b, th); saved (h)
template <typename S, int R>
void rlif_fwd(Fam<S> f) {
  const S *pw = f.p[0], *pb = f.p[1], *pth = f.p[2];
  S *pv = f.st[0], *ps = f.st[1];
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    for (int64_t t = 0; t < f.T; ++t) {
      const int64_t k = t * f.M;
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) {
        const S h = (pb[i] * pv[i] + f.x[k + i]) + ps[i] * pw[i];
        const S s = static_cast<S>(h >= pth[i]);
        f.out[k + i] = s; f.h[k + i] = h;
        pv[i] = reset_of<R>(h, s, pth[i]);
        ps[i] = s;
      }
    }
  });
}

template <typename S, int R>
void rlif_bwd(Fam<S> f, const Surrogate<S>& sur, S keep) {
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    const int64_t n = e - b;  // pointers offset to the block and restrict-qualified, as in alif_bwd
    const S *__restrict__ pw = f.p[0] + b, *__restrict__ pb = f.p[1] + b, *__restrict__ pth = f.p[2] + b;
    const S *__restrict__ v00 = f.st0[0] + b, *__restrict__ s00 = f.st0[1] + b;
    S *__restrict__ gw = f.gp[0] + b, *__restrict__ gb = f.gp[1] + b, *__restrict__ gth = f.gp[2] + b;
    S *__restrict__ pgv = f.gst[0] + b, *__restrict__ pgs = f.gst[1] + b;
    std::vector<S> zb(n), dsb(n), vb(n), sb(n), zero(n, S(0));
    S *__restrict__ z = zb.data(), *__restrict__ ds = dsb.data();
    S *__restrict__ vprev = vb.data(), *__restrict__ sprev = sb.data();
    for (int64_t t = f.T - 1; t >= 0; --t) {
      const int64_t k = t * f.M + b;
      const S *__restrict__ ph = f.sav[0] + k;
      const S *__restrict__ go = f.gout ? f.gout + k : zero.data();
      const S *__restrict__ gi = f.gh ? f.gh + k : zero.data();
      S *__restrict__ gx = f.gx + k;
      if (t == 0) {
        std::copy(v00, v00 + n, vprev); std::copy(s00, s00 + n, sprev);
      } else {  // the state before this step: the step before's spike and reset membrane
        const S *__restrict__ hp = ph - f.M;
        #pragma GCC ivdep
        for (int64_t i = 0; i < n; ++i) {
          const S sp = static_cast<S>(hp[i] >= pth[i]);
          sprev[i] = sp;
          vprev[i] = reset_of<R>(hp[i], sp, pth[i]);
        }
      }
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) z[i] = ph[i] - pth[i];
      dsur_chunk<S>(sur, z, ds, n);
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) {
        const S h = ph[i], th = pth[i];
        const S s = static_cast<S>(h >= th);
        const S gv = pgv[i];
        const S gs = go[i] + pgs[i] + gv * dreset_ds<R>(h, th, keep);
        const S gz = gs * ds[i];
        const S gh = gi[i] + gz + gv * dreset_dh<R>(s);
        gx[i] = gh;
        gw[i] += gh * sprev[i]; gb[i] += gh * vprev[i];
        gth[i] += -gz - (R == 0 ? s * gv : S(0));
        pgv[i] = pb[i] * gh;
        pgs[i] = gh * pw[i];
      }
    }
  });
}

// SRM: m = em m + x; q = es q + x; rp = er r; u = (m - q) + rp; s = H(u - th); r = rp (1 - s) - th s.
// params (em, es, er, th); saved (u, rp). Reset code unused (R = 0).
template <typename S, int R>
void srm_fwd(Fam<S> f) {
  const S *pem = f.p[0], *pes = f.p[1], *per = f.p[2], *pth = f.p[3];
  S *pm = f.st[0], *pq = f.st[1], *pr = f.st[2];
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    for (int64_t t = 0; t < f.T; ++t) {
      const int64_t k = t * f.M;
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) {
        const S m = pem[i] * pm[i] + f.x[k + i];
        const S q = pes[i] * pq[i] + f.x[k + i];
        const S rp = per[i] * pr[i];
        const S u = (m - q) + rp;
        const S s = static_cast<S>(u >= pth[i]);
        f.out[k + i] = s; f.h[k + i] = u; f.sv[0][k + i] = rp;
        pm[i] = m; pq[i] = q;
        pr[i] = rp * (S(1) - s) - pth[i] * s;
      }
    }
  });
}

template <typename S, int R>
void srm_bwd(Fam<S> f, const Surrogate<S>& sur, S keep) {
  const S *pem = f.p[0], *pes = f.p[1], *per = f.p[2], *pth = f.p[3];
  const S *pu = f.sav[0], *prp = f.sav[1];
  S *pgm = f.gst[0], *pgq = f.gst[1], *pgr = f.gst[2];
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    std::vector<S> z(e - b), ds(e - b), zero(e, S(0));
    for (int64_t t = f.T - 1; t >= 0; --t) {
      const int64_t k = t * f.M;
      const bool first = t == 0;
      const int64_t kp = first ? k : k - f.M;  // the step before (any valid row at t = 0: not read then)
      const S* go = f.gout ? f.gout + k : zero.data();
      const S* gi = f.gh ? f.gh + k : zero.data();
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) z[i - b] = pu[k + i] - pth[i];
      dsur_chunk<S>(sur, z.data(), ds.data(), e - b);
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) {
        const S u = pu[k + i], rp = prp[k + i], th = pth[i];
        const S s = static_cast<S>(u >= th);
        const S gr = pgr[i];
        const S gs = go[i] + keep * gr * (-rp - th);
        const S gz = gs * ds[i - b];
        const S gu = gi[i] + gz;
        f.gp[3][i] += -gz - gr * s;
        const S gm = pgm[i] + gu, gq = pgq[i] - gu;
        f.gx[k + i] = gm + gq;
        pgm[i] = pem[i] * gm;
        pgq[i] = pes[i] * gq;
        pgr[i] = per[i] * (gu + gr * (S(1) - s));
      }
    }
  });
}

// ---- Izhikevich, AdEx, Alpha (families 4, 5, 6) ----------------------------------------------------------
template <typename A>
inline A cap(A v, A peak) { return v > peak ? peak : v; }  // torch.clamp(v, max=peak), NaN kept

// 0.04 v v + 5 v + 140 - u + x, in the core's order
template <typename S>
inline S izh_rate(S v, S u, S x) { return ((((S(0.04) * v) * v + S(5) * v) + S(140)) - u) + x; }

// Izhikevich: v1 = v + h rate(v); v2 = v1 + h rate(min(v1, pk)); u' = u + dta (b min(v2, pk) - u);
// s = H((v2 - pk) / vs); v = v2 - s (v2 - c); u = u' + s d.
// params (h = dt / 2, pk, dta = dt a, b, c, d, vs); saved (v2, u before the step, v1). Reset code unused.
template <typename S, int R>
void izh_fwd(Fam<S> f) {
  const S *ph = f.p[0], *ppk = f.p[1], *pdta = f.p[2], *pb = f.p[3], *pc = f.p[4], *pd = f.p[5];
  const S* pvs = f.p[6];
  S *pv = f.st[0], *pu = f.st[1];
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    for (int64_t t = 0; t < f.T; ++t) {
      const int64_t k = t * f.M;
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) {
        const S v0 = pv[i], u0 = pu[i], x = f.x[k + i], pk = ppk[i];
        const S v1 = v0 + ph[i] * izh_rate<S>(v0, u0, x);
        const S v2 = v1 + ph[i] * izh_rate<S>(cap(v1, pk), u0, x);
        const S u1 = u0 + pdta[i] * (pb[i] * cap(v2, pk) - u0);
        const S s = static_cast<S>((v2 - pk) / pvs[i] >= S(0));
        f.out[k + i] = s; f.h[k + i] = v2; f.sv[0][k + i] = u0; f.sv[1][k + i] = v1;
        pv[i] = v2 - s * (v2 - pc[i]);
        pu[i] = u1 + s * pd[i];
      }
    }
  });
}

template <typename S, int R>
void izh_bwd(Fam<S> f, const Surrogate<S>& sur, S keep) {
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    const int64_t n = e - b;  // pointers offset to the block and restrict-qualified, as in alif_bwd
    const S *__restrict__ ph = f.p[0] + b, *__restrict__ ppk = f.p[1] + b, *__restrict__ pdta = f.p[2] + b;
    const S *__restrict__ pb = f.p[3] + b, *__restrict__ pc = f.p[4] + b, *__restrict__ pd = f.p[5] + b;
    const S *__restrict__ pvs = f.p[6] + b, *__restrict__ st0 = f.st0[0] + b;
    S *__restrict__ gpk_ = f.gp[1] + b, *__restrict__ gdta = f.gp[2] + b, *__restrict__ gb = f.gp[3] + b;
    S *__restrict__ gc = f.gp[4] + b, *__restrict__ gd = f.gp[5] + b, *__restrict__ gvs = f.gp[6] + b;
    S *__restrict__ pgv = f.gst[0] + b, *__restrict__ pgu = f.gst[1] + b;
    std::vector<S> zb(n), dsb(n), v0b(n), zero(n, S(0));
    S *__restrict__ z = zb.data(), *__restrict__ ds = dsb.data(), *__restrict__ v0 = v0b.data();
    for (int64_t t = f.T - 1; t >= 0; --t) {
      const int64_t k = t * f.M + b;
      const S *__restrict__ pv2 = f.sav[0] + k, *__restrict__ pu0 = f.sav[1] + k;
      const S *__restrict__ pv1 = f.sav[2] + k;
      const S *__restrict__ go = f.gout ? f.gout + k : zero.data();
      const S *__restrict__ gi = f.gh ? f.gh + k : zero.data();
      S *__restrict__ gx = f.gx + k;
      if (t == 0) {
        std::copy(st0, st0 + n, v0);
      } else {  // v before this step: the step before's reset, recomputed
        const S *__restrict__ pvp = pv2 - f.M;
        #pragma GCC ivdep
        for (int64_t i = 0; i < n; ++i) {
          const S vp = pvp[i], sp = static_cast<S>((vp - ppk[i]) / pvs[i] >= S(0));
          v0[i] = vp - sp * (vp - pc[i]);
        }
      }
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) z[i] = (pv2[i] - ppk[i]) / pvs[i];
      dsur_chunk<S>(sur, z, ds, n);
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) {
        const S v2 = pv2[i], u0 = pu0[i], v1 = pv1[i], pk = ppk[i], vs = pvs[i], h = ph[i];
        const S zi = z[i], s = static_cast<S>(zi >= S(0));
        const S gv = pgv[i], gu = pgu[i];
        const S gs = go[i] + keep * (gv * -(v2 - pc[i]) + gu * pd[i]);
        const S gzs = gs * ds[i] / vs;
        gc[i] += gv * s; gd[i] += gu * s; gvs[i] += -gzs * zi;
        S gv2 = gi[i] + gv * (S(1) - s) + gzs;
        S gpk = -gzs;
        const S c2 = cap(v2, pk), w = pb[i] * c2 - u0;
        gdta[i] += gu * w;
        const S gw = gu * pdta[i];
        gb[i] += gw * c2;
        const S gc2 = gw * pb[i], m2 = static_cast<S>(v2 <= pk);
        gv2 += gc2 * m2; gpk += gc2 * (S(1) - m2);
        const S gy = gv2 * h, m1 = static_cast<S>(v1 <= pk);
        const S gm = gy * (S(0.08) * cap(v1, pk) + S(5));
        const S gv1 = gv2 + gm * m1;
        gpk += gm * (S(1) - m1);
        const S gy0 = gv1 * h;
        gx[i] = gy + gy0;
        gpk_[i] += gpk;
        pgv[i] = gv1 + gy0 * (S(0.08) * v0[i] + S(5));
        pgu[i] = ((gu - gw) - gy) - gy0;
      }
    }
  });
}

// AdEx: E = exp((min(V, pk) - VT) / dT) (torch.exp itself: std::exp rounds differently);
// dV = ((ng (V - EL) + gd E) - w + x) / C; dw = (a (V - EL) - w) / tw; V1 = V + dt dV; w1 = w + dt dw;
// s = H((V1 - pk) / vs); V = V1 - s (V1 - Vr); w = w1 + s b.
// params (C, ng = -g_L, EL, VT, dT, gd = g_L delta_T, tw, a, b, Vr, pk, dt, vs); saved (V1, w before, dV)
template <typename S, int R>
void adex_fwd(Fam<S> f) {
  const S *pC = f.p[0], *png = f.p[1], *pEL = f.p[2], *pVT = f.p[3], *pdT = f.p[4], *pgd = f.p[5];
  const S *ptw = f.p[6], *pa = f.p[7], *pb = f.p[8], *pVr = f.p[9], *ppk = f.p[10], *pdt = f.p[11];
  const S* pvs = f.p[12];
  S *pV = f.st[0], *pw = f.st[1];
  const auto opts = at::TensorOptions().dtype(c10::CppTypeToScalarType<S>::value);
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    at::Tensor yb = at::empty({e - b}, opts), eb = at::empty({e - b}, opts);
    S* y = yb.data_ptr<S>();
    const S* ex = eb.data_ptr<S>();
    for (int64_t t = 0; t < f.T; ++t) {
      const int64_t k = t * f.M;
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) y[i - b] = (cap(pV[i], ppk[i]) - pVT[i]) / pdT[i];
      at::exp_out(eb, yb);
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) {
        const S V = pV[i], w = pw[i], d = V - pEL[i];
        const S dV = (((png[i] * d + pgd[i] * ex[i - b]) - w) + f.x[k + i]) / pC[i];
        const S dw = (pa[i] * d - w) / ptw[i];
        const S V1 = V + pdt[i] * dV;
        const S w1 = w + pdt[i] * dw;
        const S s = static_cast<S>((V1 - ppk[i]) / pvs[i] >= S(0));
        f.out[k + i] = s; f.h[k + i] = V1; f.sv[0][k + i] = w; f.sv[1][k + i] = dV;
        pV[i] = V1 - s * (V1 - pVr[i]);
        pw[i] = w1 + s * pb[i];
      }
    }
  });
}

template <typename S, int R>
void adex_bwd(Fam<S> f, const Surrogate<S>& sur, S keep) {
  const auto opts = at::TensorOptions().dtype(c10::CppTypeToScalarType<S>::value);
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    const int64_t n = e - b;  // pointers offset to the block and restrict-qualified, as in alif_bwd
    const S *__restrict__ pC = f.p[0] + b, *__restrict__ png = f.p[1] + b, *__restrict__ pEL = f.p[2] + b;
    const S *__restrict__ pVT = f.p[3] + b, *__restrict__ pdT = f.p[4] + b, *__restrict__ pgd = f.p[5] + b;
    const S *__restrict__ ptw = f.p[6] + b, *__restrict__ pa = f.p[7] + b, *__restrict__ pb = f.p[8] + b;
    const S *__restrict__ pVr = f.p[9] + b, *__restrict__ ppk = f.p[10] + b, *__restrict__ pdt = f.p[11] + b;
    const S *__restrict__ pvs = f.p[12] + b, *__restrict__ V00 = f.st0[0] + b;
    S *__restrict__ gC = f.gp[0] + b, *__restrict__ gng = f.gp[1] + b, *__restrict__ gEL = f.gp[2] + b;
    S *__restrict__ gVT = f.gp[3] + b, *__restrict__ gdT = f.gp[4] + b, *__restrict__ ggd = f.gp[5] + b;
    S *__restrict__ gtw = f.gp[6] + b, *__restrict__ ga = f.gp[7] + b, *__restrict__ gb = f.gp[8] + b;
    S *__restrict__ gVr = f.gp[9] + b, *__restrict__ gpk = f.gp[10] + b, *__restrict__ gdt = f.gp[11] + b;
    S *__restrict__ gvs = f.gp[12] + b;
    S *__restrict__ pgV = f.gst[0] + b, *__restrict__ pgw = f.gst[1] + b;
    std::vector<S> zb(n), dsb(n), V0b(n), zero(n, S(0));
    S *__restrict__ z = zb.data(), *__restrict__ ds = dsb.data(), *__restrict__ V0s = V0b.data();
    at::Tensor yb = at::empty({n}, opts), eb = at::empty({n}, opts);
    S *__restrict__ ys = yb.data_ptr<S>();
    const S *__restrict__ exs = eb.data_ptr<S>();
    for (int64_t t = f.T - 1; t >= 0; --t) {
      const int64_t k = t * f.M + b;
      const S *__restrict__ pV1 = f.sav[0] + k, *__restrict__ pw0 = f.sav[1] + k;
      const S *__restrict__ pdV = f.sav[2] + k;
      const S *__restrict__ go = f.gout ? f.gout + k : zero.data();
      const S *__restrict__ gi = f.gh ? f.gh + k : zero.data();
      S *__restrict__ gx = f.gx + k;
      if (t == 0) {
        std::copy(V00, V00 + n, V0s);
      } else {  // V before this step: the step before's reset, recomputed
        const S *__restrict__ pVp = pV1 - f.M;
        #pragma GCC ivdep
        for (int64_t i = 0; i < n; ++i) {
          const S Vp = pVp[i], sp = static_cast<S>((Vp - ppk[i]) / pvs[i] >= S(0));
          V0s[i] = Vp - sp * (Vp - pVr[i]);
        }
      }
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) {
        z[i] = (pV1[i] - ppk[i]) / pvs[i];
        ys[i] = (cap(V0s[i], ppk[i]) - pVT[i]) / pdT[i];
      }
      dsur_chunk<S>(sur, z, ds, n);
      at::exp_out(eb, yb);  // the forward's own exponentials
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) {
        const S V1 = pV1[i], w0 = pw0[i], dV = pdV[i], pk = ppk[i], vs = pvs[i];
        const S zi = z[i], s = static_cast<S>(zi >= S(0));
        const S V0 = V0s[i], d = V0 - pEL[i], y = ys[i], ex = exs[i];
        const S dw = (pa[i] * d - w0) / ptw[i];
        const S gV = pgV[i], gw = pgw[i];
        const S gs = go[i] + keep * (gV * -(V1 - pVr[i]) + gw * pb[i]);
        const S gzs = gs * ds[i] / vs;
        gvs[i] += -gzs * zi; gVr[i] += gV * s; gb[i] += gw * s;
        const S gV1 = gi[i] + gV * (S(1) - s) + gzs;
        gdt[i] += gw * dw + gV1 * dV;
        const S gq = gw * pdt[i] / ptw[i];
        gtw[i] += -gq * dw; ga[i] += gq * d;
        const S gP = gV1 * pdt[i] / pC[i];
        gC[i] += -gP * dV; gng[i] += gP * d; gEL[i] += -gq * pa[i] - gP * png[i];
        ggd[i] += gP * ex;
        gx[i] = gP;
        const S gcl = gP * pgd[i] * ex / pdT[i];
        gVT[i] += -gcl; gdT[i] += -gcl * y;
        const S m0 = static_cast<S>(V0 <= pk);
        gpk[i] += -gzs + gcl * (S(1) - m0);
        pgV[i] = gV1 + gq * pa[i] + gP * png[i] + gcl * m0;
        pgw[i] = (gw - gq) - gP;
      }
    }
  });
}

// Alpha: r = the previous step's spike (state s); E = al exc + x; I = be inh - x; v = tau (E + I);
// subtract: exc = E - thr r, inh = I - I r, v = v + inh r; zero: exc, inh, v = E - E r, I - I r, v - v r;
// s = H(v - thr). params (al, be, tau, thr); saved (v, E, I: before the reset)
template <int R, typename S>
inline S alpha_exc(S E, S r, S th) { return R == 0 ? E - th * r : (R == 1 ? E - E * r : E); }
template <int R, typename S>
inline S alpha_inh(S I, S r) { return R == 2 ? I : I - I * r; }

template <typename S, int R>
void alpha_fwd(Fam<S> f) {
  const S *pal = f.p[0], *pbe = f.p[1], *ptau = f.p[2], *pth = f.p[3];
  S *pe = f.st[0], *pi = f.st[1], *ps = f.st[2];
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    for (int64_t t = 0; t < f.T; ++t) {
      const int64_t k = t * f.M;
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) {
        const S r = ps[i], inh0 = pi[i], th = pth[i], x = f.x[k + i];
        const S E = pal[i] * pe[i] + x;
        const S I = pbe[i] * inh0 - x;
        S v = ptau[i] * (E + I);
        if (R == 0) v = v + inh0 * r;
        else if (R == 1) v = v - v * r;
        const S s = static_cast<S>(v >= th);
        f.out[k + i] = s; f.h[k + i] = v; f.sv[0][k + i] = E; f.sv[1][k + i] = I;
        pe[i] = alpha_exc<R>(E, r, th);
        pi[i] = alpha_inh<R>(I, r);
        ps[i] = s;
      }
    }
  });
}

template <typename S, int R>
void alpha_bwd(Fam<S> f, const Surrogate<S>& sur, S keep) {
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    const int64_t n = e - b;  // pointers offset to the block and restrict-qualified, as in alif_bwd
    const S *__restrict__ pal = f.p[0] + b, *__restrict__ pbe = f.p[1] + b, *__restrict__ ptau = f.p[2] + b;
    const S *__restrict__ pth = f.p[3] + b;
    const S *__restrict__ e00 = f.st0[0] + b, *__restrict__ i00 = f.st0[1] + b;
    const S *__restrict__ r00 = f.st0[2] + b;
    S *__restrict__ gal = f.gp[0] + b, *__restrict__ gbe = f.gp[1] + b, *__restrict__ gtau = f.gp[2] + b;
    S *__restrict__ gthr = f.gp[3] + b;
    S *__restrict__ pgE = f.gst[0] + b, *__restrict__ pgI = f.gst[1] + b, *__restrict__ pgS = f.gst[2] + b;
    std::vector<S> zb(n), dsb(n), rb(n), r2b(n), eb(n), ib(n), zero(n, S(0));
    S *__restrict__ z = zb.data(), *__restrict__ ds = dsb.data(), *__restrict__ r = rb.data();
    S *__restrict__ r2 = r2b.data(), *__restrict__ exc0 = eb.data(), *__restrict__ inh0 = ib.data();
    for (int64_t t = f.T - 1; t >= 0; --t) {
      const int64_t k = t * f.M + b;
      const S *__restrict__ pv = f.sav[0] + k, *__restrict__ pE = f.sav[1] + k;
      const S *__restrict__ pI = f.sav[2] + k;
      const S *__restrict__ go = f.gout ? f.gout + k : zero.data();
      const S *__restrict__ gi = f.gh ? f.gh + k : zero.data();
      S *__restrict__ gx = f.gx + k;
      // the state before the step: step t - 1's currents reset by the spike of step t - 2, as forward did
      if (t == 0) {
        std::copy(r00, r00 + n, r); std::copy(e00, e00 + n, exc0); std::copy(i00, i00 + n, inh0);
      } else {
        const S *__restrict__ pvp = pv - f.M, *__restrict__ pEp = pE - f.M, *__restrict__ pIp = pI - f.M;
        if (t == 1) {
          std::copy(r00, r00 + n, r2);
        } else {
          const S* __restrict__ pvpp = pvp - f.M;
          #pragma GCC ivdep
          for (int64_t i = 0; i < n; ++i) r2[i] = static_cast<S>(pvpp[i] >= pth[i]);
        }
        #pragma GCC ivdep
        for (int64_t i = 0; i < n; ++i) {
          r[i] = static_cast<S>(pvp[i] >= pth[i]);
          exc0[i] = alpha_exc<R>(pEp[i], r2[i], pth[i]);
          inh0[i] = alpha_inh<R>(pIp[i], r2[i]);
        }
      }
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) z[i] = pv[i] - pth[i];
      dsur_chunk<S>(sur, z, ds, n);
      #pragma GCC ivdep
      for (int64_t i = 0; i < n; ++i) {
        const S th = pth[i], E = pE[i], I = pI[i], tau = ptau[i], ri = r[i];
        const S gz = (go[i] + pgS[i]) * ds[i];
        const S gvv = gi[i] + gz, gE = pgE[i], gI = pgI[i];
        S gEp = gE, gIp = gI, gvp = gvv, gr = S(0), ginh0 = S(0), gth = -gz;
        if (R == 0) {
          gth -= gE * ri; gIp = gI * (S(1) - ri); ginh0 = gvv * ri;
          gr = (-gE * th - gI * I) + gvv * inh0[i];
        } else if (R == 1) {
          const S keepr = S(1) - ri;
          gEp = gE * keepr; gIp = gI * keepr; gvp = gvv * keepr;
          gr = (-gE * E - gI * I) - gvv * (tau * (E + I));
        }
        gtau[i] += gvp * (E + I);
        gEp += gvp * tau; gIp += gvp * tau;
        gal[i] += gEp * exc0[i]; gbe[i] += gIp * inh0[i]; gthr[i] += gth;
        gx[i] = gEp - gIp;
        pgE[i] = gEp * pal[i];
        pgI[i] = gIp * pbe[i] + ginh0;
        pgS[i] = keep * gr;
      }
    }
  });
}

#define SPIKEKIT_FAM_RESET(FN, ...) \
  do { if (reset == 0) FN<S, 0>(__VA_ARGS__); else if (reset == 1) FN<S, 1>(__VA_ARGS__); \
       else FN<S, 2>(__VA_ARGS__); } while (0)

inline void check_family_args(const at::Tensor& x, int64_t family, int64_t reset,
                              const std::vector<at::Tensor>& state, const std::vector<at::Tensor>& params,
                              const char* fn) {
  check_x(x, fn);
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble, "spikekit C++ engine ", fn,
              ": x must be float32 or float64, got ", x.scalar_type());
  TORCH_CHECK(family >= 0 && family < kFamilies, "spikekit C++ engine ", fn, ": family must be 0..",
              kFamilies - 1, ", got ", family);
  TORCH_CHECK(reset >= 0 && reset <= 2, "spikekit C++ engine ", fn, ": reset must be 0, 1 or 2, got ", reset);
  const int64_t M = x.size(1);
  TORCH_CHECK(static_cast<int64_t>(state.size()) == kFamStates[family], "spikekit C++ engine ", fn,
              ": family ", family, " needs ", kFamStates[family], " state tensors, got ", state.size());
  TORCH_CHECK(static_cast<int64_t>(params.size()) == kFamParams[family], "spikekit C++ engine ", fn,
              ": family ", family, " needs ", kFamParams[family], " parameters, got ", params.size());
  for (const auto& t : state) check_vec(t, M, x.scalar_type(), fn, "state");
  for (const auto& t : params) check_vec(t, M, x.scalar_type(), fn, "params");
}

// -> {spikes, membrane, extra saved sequences..., final state...}; `state` is updated in place.
std::vector<at::Tensor> family_forward(int64_t family, const at::Tensor& x, std::vector<at::Tensor> state,
                                       const std::vector<at::Tensor>& params, int64_t reset) {
  const char* fn = "family_forward";
  check_family_args(x, family, reset, state, params, fn);
  std::vector<at::Tensor> res{at::empty_like(x), at::empty_like(x)};
  for (int64_t j = 1; j < kFamSaved[family]; ++j) res.push_back(at::empty_like(x));
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "family_forward", [&] {
    using S = scalar_t;
    Fam<S> f{};
    f.x = x.data_ptr<S>(); f.out = res[0].data_ptr<S>(); f.h = res[1].data_ptr<S>();
    for (int64_t j = 1; j < kFamSaved[family]; ++j) f.sv[j - 1] = res[1 + j].data_ptr<S>();
    for (size_t j = 0; j < state.size(); ++j) f.st[j] = state[j].data_ptr<S>();
    for (size_t j = 0; j < params.size(); ++j) f.p[j] = params[j].data_ptr<S>();
    f.T = x.size(0); f.M = x.size(1);
    if (family == 0) SPIKEKIT_FAM_RESET(alif_fwd, f);
    else if (family == 1) SPIKEKIT_FAM_RESET(syn_fwd, f);
    else if (family == 2) SPIKEKIT_FAM_RESET(rlif_fwd, f);
    else if (family == 3) srm_fwd<S, 0>(f);
    else if (family == 4) izh_fwd<S, 0>(f);
    else if (family == 5) adex_fwd<S, 0>(f);
    else SPIKEKIT_FAM_RESET(alpha_fwd, f);
  });
  for (auto& t : state) res.push_back(t);
  return res;
}

// -> {gx, gradient of the initial state..., gradient of each parameter...}; gstate (the final state's
// gradient) is updated in place into the initial state's.
std::vector<at::Tensor> family_backward(int64_t family, const std::vector<at::Tensor>& saved,
                                        const std::vector<at::Tensor>& state0,
                                        const std::vector<at::Tensor>& params,
                                        const std::optional<at::Tensor>& gout,
                                        const std::optional<at::Tensor>& gh, std::vector<at::Tensor> gstate,
                                        int64_t reset, bool detach, int64_t kind, double sp) {
  const char* fn = "family_backward";
  TORCH_CHECK(family >= 0 && family < kFamilies, "spikekit C++ engine ", fn, ": family must be 0..",
              kFamilies - 1, ", got ", family);
  TORCH_CHECK(static_cast<int64_t>(saved.size()) == kFamSaved[family], "spikekit C++ engine ", fn,
              ": family ", family, " saves ", kFamSaved[family], " sequences, got ", saved.size());
  const at::Tensor& h = saved[0];
  check_family_args(h, family, reset, state0, params, fn);
  for (const auto& t : saved) check_seq(t, h, fn, "saved");
  TORCH_CHECK(gstate.size() == state0.size(), "spikekit C++ engine ", fn, ": gstate must hold ",
              state0.size(), " tensors, got ", gstate.size());
  for (const auto& t : gstate) check_vec(t, h.size(1), h.scalar_type(), fn, "gstate");
  check_opt_seq(gout, h, fn, "gout");
  check_opt_seq(gh, h, fn, "gh");
  std::vector<at::Tensor> gp;
  for (const auto& p : params) gp.push_back(at::zeros_like(p));
  auto gx = at::empty_like(h);
  AT_DISPATCH_FLOATING_TYPES(h.scalar_type(), "family_backward", [&] {
    using S = scalar_t;
    const Surrogate<S> sur(static_cast<int>(kind), sp);
    const S keep = detach ? S(0) : S(1);
    Fam<S> f{};
    for (size_t j = 0; j < saved.size(); ++j) f.sav[j] = saved[j].data_ptr<S>();
    for (size_t j = 0; j < state0.size(); ++j) f.st0[j] = state0[j].data_ptr<S>();
    for (size_t j = 0; j < gstate.size(); ++j) f.gst[j] = gstate[j].data_ptr<S>();
    for (size_t j = 0; j < params.size(); ++j) {
      f.p[j] = params[j].data_ptr<S>();
      f.gp[j] = gp[j].data_ptr<S>();
    }
    f.gout = ptr_or_null<S>(gout); f.gh = ptr_or_null<S>(gh); f.gx = gx.data_ptr<S>();
    f.T = h.size(0); f.M = h.size(1);
    if (family == 0) SPIKEKIT_FAM_RESET(alif_bwd, f, sur, keep);
    else if (family == 1) SPIKEKIT_FAM_RESET(syn_bwd, f, sur, keep);
    else if (family == 2) SPIKEKIT_FAM_RESET(rlif_bwd, f, sur, keep);
    else if (family == 3) srm_bwd<S, 0>(f, sur, keep);
    else if (family == 4) izh_bwd<S, 0>(f, sur, keep);
    else if (family == 5) adex_bwd<S, 0>(f, sur, keep);
    else SPIKEKIT_FAM_RESET(alpha_bwd, f, sur, keep);
  });
  std::vector<at::Tensor> res{gx};
  for (auto& t : gstate) res.push_back(t);
  for (auto& t : gp) res.push_back(t);
  return res;
}


// ---- dense RLIF: rec = s @ W^T per step, with ATen's own GEMM (at::mm on a [B, N] spike tensor of its own,
// 64-byte aligned as the core's: MKL's double GEMM rounds by alignment), then the one-to-one arithmetic with
// rec in place of s w. Backward: gs_prev = gh @ W per step; gW = sum_t gh_t^T s_{t-1}, one GEMM at the end.
// The elementwise part of a step is small next to its GEMM: threads only for large layers (a parallel region
// per step, twice per step in backward, costs more than it saves on a loaded machine).
constexpr int64_t kDenseGrain = int64_t(1) << 16;

template <typename S, int R>
void rlif_dense_step(const S* __restrict__ x, const S* __restrict__ rec, S* __restrict__ out,
                     S* __restrict__ hs, S* __restrict__ pv, S* __restrict__ ps, const S* __restrict__ pb,
                     const S* __restrict__ pth, int64_t M) {
  at::parallel_for(0, M, kDenseGrain, [&](int64_t b, int64_t e) {
    #pragma GCC ivdep
    for (int64_t i = b; i < e; ++i) {
      const S h = (pb[i] * pv[i] + x[i]) + rec[i];
      const S s = static_cast<S>(h >= pth[i]);
      out[i] = s; hs[i] = h; ps[i] = s;
      pv[i] = reset_of<R>(h, s, pth[i]);
    }
  });
}

template <typename S, int R>
void rlif_dense_bwd_step(const S* __restrict__ ht, const S* __restrict__ hp, const S* __restrict__ pv0,
                         const S* __restrict__ ps0, const S* __restrict__ go, const S* __restrict__ gi,
                         S* __restrict__ gx, S* __restrict__ sprev, S* __restrict__ pgv,
                         const S* __restrict__ pgs, S* __restrict__ gb, S* __restrict__ gt,
                         const S* __restrict__ pb, const S* __restrict__ pth, const Surrogate<S>& sur, S keep,
                         bool first, int64_t M) {
  at::parallel_for(0, M, kDenseGrain, [&](int64_t b, int64_t e) {
    std::vector<S> z(e - b), ds(e - b);
    #pragma GCC ivdep
    for (int64_t i = b; i < e; ++i) z[i - b] = ht[i] - pth[i];
    dsur_chunk<S>(sur, z.data(), ds.data(), e - b);
    #pragma GCC ivdep
    for (int64_t i = b; i < e; ++i) {
      const S h = ht[i], th = pth[i];
      const S s = static_cast<S>(h >= th);
      const S hq = hp[i], sq = static_cast<S>(hq >= th);
      const S sp = first ? ps0[i] : sq;
      const S vprev = first ? pv0[i] : reset_of<R>(hq, sq, th);
      const S gv = pgv[i];
      const S gs = (go ? go[i] : S(0)) + pgs[i] + gv * dreset_ds<R>(h, th, keep);
      const S gz = gs * ds[i - b];
      const S gh = (gi ? gi[i] : S(0)) + gz + gv * dreset_dh<R>(s);
      gx[i] = gh; sprev[i] = sp;
      gb[i] += gh * vprev;
      gt[i] += -gz - (R == 0 ? s * gv : S(0));
      pgv[i] = pb[i] * gh;
    }
  });
}

inline int64_t check_dense(const at::Tensor& x, const at::Tensor& W, int64_t reset, const char* fn) {
  check_x(x, fn);
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble, "spikekit C++ engine ", fn,
              ": x must be float32 or float64, got ", x.scalar_type());
  TORCH_CHECK(reset >= 0 && reset <= 2, "spikekit C++ engine ", fn, ": reset must be 0, 1 or 2, got ", reset);
  TORCH_CHECK(W.defined() && W.dim() == 2 && W.size(0) == W.size(1) && W.size(0) > 0 &&
                  x.size(1) % W.size(0) == 0,
              "spikekit C++ engine ", fn, ": W must be [N, N] with N dividing M = ", x.size(1), ", got ",
              W.defined() ? W.sizes() : at::IntArrayRef{});
  TORCH_CHECK(W.device().is_cpu() && W.is_contiguous() && W.scalar_type() == x.scalar_type(),
              "spikekit C++ engine ", fn, ": W must be a contiguous CPU tensor of x's dtype");
  return W.size(0);
}

#define SPIKEKIT_DENSE_RESET(FN, ...) \
  do { if (reset == 0) FN<S, 0>(__VA_ARGS__); else if (reset == 1) FN<S, 1>(__VA_ARGS__); \
       else FN<S, 2>(__VA_ARGS__); } while (0)

// -> {spikes, membrane, v, s}; v and s (the state) are updated in place.
std::vector<at::Tensor> rlif_dense_forward(const at::Tensor& x, at::Tensor v, at::Tensor s,
                                           const at::Tensor& W, const at::Tensor& beta, const at::Tensor& thr,
                                           int64_t reset) {
  const char* fn = "rlif_dense_forward";
  const int64_t N = check_dense(x, W, reset, fn);
  const int64_t T = x.size(0), M = x.size(1);
  check_vec(v, M, x.scalar_type(), fn, "state");
  check_vec(s, M, x.scalar_type(), fn, "state");
  check_vec(beta, M, x.scalar_type(), fn, "params");
  check_vec(thr, M, x.scalar_type(), fn, "params");
  auto out = at::empty_like(x);
  auto hs = at::empty_like(x);
  const at::Tensor s2 = s.view({M / N, N}), Wt = W.t();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rlif_dense_forward", [&] {
    using S = scalar_t;
    const S* px = x.data_ptr<S>();
    for (int64_t t = 0; t < T; ++t) {
      const at::Tensor rec = at::mm(s2, Wt);  // the core's s @ W.T
      const int64_t k = t * M;
      SPIKEKIT_DENSE_RESET(rlif_dense_step, px + k, rec.data_ptr<S>(), out.data_ptr<S>() + k,
                           hs.data_ptr<S>() + k, v.data_ptr<S>(), s.data_ptr<S>(), beta.data_ptr<S>(),
                           thr.data_ptr<S>(), M);
    }
  });
  return {out, hs, v, s};
}

// -> {gx, gv0, gs0, gW, gbeta, gthr}; gv and gs (the final state's gradient) become the initial state's.
std::vector<at::Tensor> rlif_dense_backward(const at::Tensor& h, const at::Tensor& v0, const at::Tensor& s0,
                                            const at::Tensor& W, const at::Tensor& beta,
                                            const at::Tensor& thr, const std::optional<at::Tensor>& gout,
                                            const std::optional<at::Tensor>& gh, at::Tensor gv, at::Tensor gs,
                                            int64_t reset, bool detach, int64_t kind, double sp) {
  const char* fn = "rlif_dense_backward";
  const int64_t N = check_dense(h, W, reset, fn);
  const int64_t T = h.size(0), M = h.size(1), B = M / N;
  for (const at::Tensor& t : {v0, s0}) check_vec(t, M, h.scalar_type(), fn, "state");
  for (const at::Tensor& t : {gv, gs}) check_vec(t, M, h.scalar_type(), fn, "gstate");
  for (const at::Tensor& t : {beta, thr}) check_vec(t, M, h.scalar_type(), fn, "params");
  check_opt_seq(gout, h, fn, "gout");
  check_opt_seq(gh, h, fn, "gh");
  auto gx = at::empty_like(h);
  auto sprev = at::empty_like(h);
  auto gb = at::zeros_like(beta);
  auto gt = at::zeros_like(thr);
  AT_DISPATCH_FLOATING_TYPES(h.scalar_type(), "rlif_dense_backward", [&] {
    using S = scalar_t;
    const Surrogate<S> sur(static_cast<int>(kind), sp);
    const S keep = detach ? S(0) : S(1);
    const S* ph = h.data_ptr<S>();
    const S* pgo = ptr_or_null<S>(gout);
    const S* pgi = ptr_or_null<S>(gh);
    for (int64_t t = T - 1; t >= 0; --t) {
      const int64_t k = t * M;
      SPIKEKIT_DENSE_RESET(rlif_dense_bwd_step, ph + k, t > 0 ? ph + k - M : ph, v0.data_ptr<S>(),
                           s0.data_ptr<S>(), pgo ? pgo + k : nullptr, pgi ? pgi + k : nullptr,
                           gx.data_ptr<S>() + k, sprev.data_ptr<S>() + k, gv.data_ptr<S>(), gs.data_ptr<S>(),
                           gb.data_ptr<S>(), gt.data_ptr<S>(), beta.data_ptr<S>(), thr.data_ptr<S>(), sur,
                           keep, t == 0, M);
      at::Tensor gs2 = gs.view({B, N});
      at::mm_out(gs2, gx[t].view({B, N}), W);  // the gradient reaching s_{t-1}
    }
  });
  auto gW = at::mm(gx.view({T * B, N}).t(), sprev.view({T * B, N}));
  return {gx, gv, gs, gW, gb, gt};
}

}  // namespace
"""

FUNCTIONS = [
    "set_block_size",
    "lif_forward",
    "lif_forward_ck",
    "lif_backward",
    "lif_backward_recompute",
    "refractory_forward",
    "refractory_backward",
    "family_forward",
    "family_backward",
    "rlif_dense_forward",
    "rlif_dense_backward",
]
