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

// One step for neurons [b, e). Row functions take __restrict__ pointers so that GCC vectorizes them.
template <typename S, int FORM, int RESET, typename A>
void lif_forward_row(const S* __restrict__ xt, S* __restrict__ st, S* __restrict__ ht, S* __restrict__ pv,
                     const A* __restrict__ pa, const A* __restrict__ pt, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    const A hi = integrate<S, FORM, A>(static_cast<A>(pv[i]), static_cast<A>(xt[i]), FORM ? pa[i] : A(1));
    st[i] = static_cast<S>(static_cast<A>(hi >= pt[i]));
    ht[i] = static_cast<S>(hi);
    pv[i] = static_cast<S>(after_reset<S, RESET, A>(hi, pt[i]));
  }
}

template <typename S, int FORM, int RESET>
void lif_forward_kernel(const S* px, S* ps, S* ph, S* pv, const at::opmath_type<S>* pa,
                        const at::opmath_type<S>* pt, int64_t T, int64_t M) {
  for_blocks(M, [&](int64_t b, int64_t e) {
    for (int64_t t = 0; t < T; ++t) {
      lif_forward_row<S, FORM, RESET>(px + t * M, ps + t * M, ph + t * M, pv, pa, pt, b, e);
    }
  });
}

template <typename S, int FORM>
void lif_forward_form(int reset, const S* px, S* ps, S* ph, S* pv, const at::opmath_type<S>* pa,
                      const at::opmath_type<S>* pt, int64_t T, int64_t M) {
  if (reset == 0) lif_forward_kernel<S, FORM, 0>(px, ps, ph, pv, pa, pt, T, M);
  else if (reset == 1) lif_forward_kernel<S, FORM, 1>(px, ps, ph, pv, pa, pt, T, M);
  else lif_forward_kernel<S, FORM, 2>(px, ps, ph, pv, pa, pt, T, M);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> lif_forward(
    const at::Tensor& x, at::Tensor v, const std::optional<at::Tensor>& a, const at::Tensor& thr,
    int64_t form, int64_t reset) {
  const char* fn = "lif_forward";
  check_x(x, fn);
  const int64_t T = x.size(0), M = x.size(1);
  const auto op = opmath_of(x.scalar_type());
  check_vec(v, M, x.scalar_type(), fn, "v");
  check_vec(thr, M, op, fn, "thr");
  check_opt_vec(a, M, op, fn, "a");
  check_codes(form, reset, a.has_value() && a->defined(), fn);
  auto s = at::empty_like(x);
  auto h = at::empty_like(x);
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, x.scalar_type(), "lif_forward", [&] {
    using A = at::opmath_type<scalar_t>;
    const scalar_t* px = x.data_ptr<scalar_t>();
    scalar_t* ps = s.data_ptr<scalar_t>();
    scalar_t* ph = h.data_ptr<scalar_t>();
    scalar_t* pv = v.data_ptr<scalar_t>();
    const A* pa = ptr_or_null<A>(a);
    const A* pt = thr.data_ptr<A>();
    const int r = static_cast<int>(reset);
    if (form == 0) lif_forward_form<scalar_t, 0>(r, px, ps, ph, pv, pa, pt, T, M);
    else if (form == 1) lif_forward_form<scalar_t, 1>(r, px, ps, ph, pv, pa, pt, T, M);
    else lif_forward_form<scalar_t, 2>(r, px, ps, ph, pv, pa, pt, T, M);
  });
  return {s, h, v};
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

struct LifGrads {
  bool detach, need_a, need_thr;
};

template <typename S, int FORM, int RESET, typename A>
void lif_backward_row(const S* __restrict__ ht, const S* __restrict__ hp, const S* __restrict__ gst,
                      const S* __restrict__ ght, const S* __restrict__ xt, S* __restrict__ gxt,
                      S* __restrict__ pgu, A* __restrict__ pga, A* __restrict__ pgt, const A* __restrict__ pa,
                      const A* __restrict__ pt, const S* __restrict__ pv0, const A* __restrict__ dsur, A keep,
                      bool need_a, bool need_thr, bool first, int64_t b, int64_t e) {
  const bool need_prev = need_a || FORM == 2;
  for (int64_t i = b; i < e; ++i) {
    const A hi = ht[i], th = pt[i], gui = pgu[i], ds = dsur[i - b];
    const A s = static_cast<A>(hi >= th);
    const A du_ds = RESET == 0 ? -keep * rnd<S>(th) : (RESET == 1 ? -keep * hi : A(0));
    const A du_dh = RESET == 1 ? A(1) - s : A(1);
    const A gsig = (gst ? static_cast<A>(gst[i]) : A(0)) + gui * du_ds;
    const A ghi = rnd<S>((ght ? static_cast<A>(ght[i]) : A(0)) + gsig * ds + gui * du_dh);
    if (need_thr) pgt[i] += -gsig * ds - (RESET == 0 ? s * gui : A(0));
    A prev = A(0);
    if (need_prev)
      prev = first ? static_cast<A>(pv0[i]) : after_reset<S, RESET, A>(static_cast<A>(hp[i]), th);
    if (FORM == 0) {
      gxt[i] = static_cast<S>(ghi);
      pgu[i] = static_cast<S>(ghi);
    } else if (FORM == 1) {
      gxt[i] = static_cast<S>(ghi);
      if (need_a) pga[i] += ghi * prev;
      pgu[i] = static_cast<S>(pa[i] * ghi);
    } else {
      const A kg = rnd<S>(pa[i] * ghi);
      gxt[i] = static_cast<S>(kg);
      if (need_a) pga[i] += ghi * (static_cast<A>(xt[i]) - prev);
      pgu[i] = static_cast<S>(ghi - kg);
    }
  }
}

template <typename S, int FORM, int RESET>
void lif_backward_kernel(const S* ph, const S* px, const S* pv0, const at::opmath_type<S>* pa,
                         const at::opmath_type<S>* pt, const S* pgs, const S* pgh, S* pgu, S* pgx,
                         at::opmath_type<S>* pga, at::opmath_type<S>* pgt,
                         const Surrogate<at::opmath_type<S>>& sur, LifGrads flags, int64_t T, int64_t M) {
  using A = at::opmath_type<S>;
  // du/ds is -thr (subtract), -h (zero) or 0, and 0 with detach_reset: keep = 0 or 1 selects it.
  const A keep = (flags.detach || RESET == 2) ? A(0) : A(1);
  const bool need_a = flags.need_a && FORM != 0;
  for_blocks(M, [&](int64_t b, int64_t e) {
    std::vector<A> dsur(e - b);
    for (int64_t t = T - 1; t >= 0; --t) {
      const int64_t k = t * M;
      surrogate_chunk<S, A>(sur, ph + k, pt, dsur.data(), b, e);
      lif_backward_row<S, FORM, RESET, A>(
          ph + k, t > 0 ? ph + k - M : ph, pgs ? pgs + k : nullptr, pgh ? pgh + k : nullptr,
          FORM == 2 ? px + k : nullptr, pgx + k, pgu, pga, pgt, pa, pt, pv0, dsur.data(), keep, need_a,
          flags.need_thr, t == 0, b, e);
    }
  });
}

#define SPIKEKIT_LIF_BWD(F, R) \
    lif_backward_kernel<S, F, R>(ph, px, pv0, pa, pt, pgs, pgh, pgu, pgx, pga, pgt, sur, flags, T, M)
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> lif_backward(
    const at::Tensor& h, const std::optional<at::Tensor>& x, const at::Tensor& v0,
    const std::optional<at::Tensor>& a, const at::Tensor& thr, const std::optional<at::Tensor>& gs,
    const std::optional<at::Tensor>& gh, at::Tensor gu, int64_t form, int64_t reset, bool detach,
    int64_t kind, double sp, bool need_a, bool need_thr) {
  const char* fn = "lif_backward";
  check_x(h, fn);
  const int64_t T = h.size(0), M = h.size(1);
  const auto op = opmath_of(h.scalar_type());
  check_opt_seq(x, h, fn, "x");
  TORCH_CHECK(form != 2 || (x.has_value() && x->defined()), "spikekit C++ engine ", fn, ": form 2 needs x");
  check_vec(v0, M, h.scalar_type(), fn, "v0");
  check_vec(gu, M, h.scalar_type(), fn, "gu");
  check_vec(thr, M, op, fn, "thr");
  check_opt_vec(a, M, op, fn, "a");
  check_opt_seq(gs, h, fn, "gs");
  check_opt_seq(gh, h, fn, "gh");
  check_codes(form, reset, a.has_value() && a->defined(), fn);
  auto gx = at::empty_like(h);
  auto ga = at::zeros_like(thr);
  auto gthr = at::zeros_like(thr);
  const LifGrads flags{detach, need_a, need_thr};
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, h.scalar_type(), "lif_backward", [&] {
    using S = scalar_t;
    using A = at::opmath_type<S>;
    const Surrogate<A> sur(static_cast<int>(kind), sp);
    const S* ph = h.data_ptr<S>();
    const S* px = ptr_or_null<S>(x);
    const S* pv0 = v0.data_ptr<S>();
    const A* pa = ptr_or_null<A>(a);
    const A* pt = thr.data_ptr<A>();
    const S* pgs = ptr_or_null<S>(gs);
    const S* pgh = ptr_or_null<S>(gh);
    S* pgu = gu.data_ptr<S>();
    S* pgx = gx.data_ptr<S>();
    A* pga = ga.data_ptr<A>();
    A* pgt = gthr.data_ptr<A>();
    if (form == 0) {
      if (reset == 0) SPIKEKIT_LIF_BWD(0, 0);
      else if (reset == 1) SPIKEKIT_LIF_BWD(0, 1);
      else SPIKEKIT_LIF_BWD(0, 2);
    } else if (form == 1) {
      if (reset == 0) SPIKEKIT_LIF_BWD(1, 0);
      else if (reset == 1) SPIKEKIT_LIF_BWD(1, 1);
      else SPIKEKIT_LIF_BWD(1, 2);
    } else {
      if (reset == 0) SPIKEKIT_LIF_BWD(2, 0);
      else if (reset == 1) SPIKEKIT_LIF_BWD(2, 1);
      else SPIKEKIT_LIF_BWD(2, 2);
    }
  });
  return {gx, gu, ga, gthr};
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


// ---- the state-layout families: ALIF (v, a), Synaptic (i, v), one-to-one RLIF (v, s), SRM (m, q, r) -------
// float and double only (the arithmetic type is the storage type: no rounding between operations to mirror).
// The sequences, states and gradients of one call are distinct tensors (``ivdep``: the loops over neurons
// carry no dependence, so GCC vectorizes them).
// Each step repeats its core's expressions in their order (math and derivatives in
// spikekit.kernels.families). One entry pair for all: family_forward / family_backward, with the family's
// code (0 alif, 1 synaptic, 2 rlif, 3 srm); the sizes of the state, parameter and saved lists per family:
constexpr int64_t kFamStates[] = {2, 2, 2, 3};
constexpr int64_t kFamParams[] = {5, 3, 3, 4};
constexpr int64_t kFamSaved[] = {2, 2, 1, 2};

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
  const S* sav[2];                           // backward: saved sequences (h first)
  S* st[3]; const S* st0[3];                 // state (updated in place) / initial state
  const S* p[5]; S* gp[5];                   // parameters and their gradients
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
  const S *pb = f.p[0], *prho = f.p[1], *pomr = f.p[2], *pad = f.p[3], *pth = f.p[4];
  const S *ph = f.sav[0], *pap = f.sav[1];
  S *pgv = f.gst[0], *pga = f.gst[1];
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    std::vector<S> z(e - b), ds(e - b), zero(e, S(0));
    for (int64_t t = f.T - 1; t >= 0; --t) {
      const int64_t k = t * f.M;
      const bool first = t == 0;
      const int64_t kp = first ? k : k - f.M;  // the step before (any valid row at t = 0: not read then)
      const S* go = f.gout ? f.gout + k : zero.data();
      const S* gi = f.gh ? f.gh + k : zero.data();
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) z[i - b] = ph[k + i] - (pth[i] + pad[i] * pap[k + i]);
      dsur_chunk<S>(sur, z.data(), ds.data(), e - b);
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) {
        const S h = ph[k + i], ap = pap[k + i], thr = pth[i] + pad[i] * ap;
        const S s = static_cast<S>(h >= thr);
        const S hp = ph[kp + i], tp = pth[i] + pad[i] * pap[kp + i];
        const S vprev = first ? f.st0[0][i] : reset_of<R>(hp, static_cast<S>(hp >= tp), tp);
        const S gv = pgv[i], ga = pga[i];
        const S gs = go[i] + gv * dreset_ds<R>(h, thr, keep) + ga * pomr[i];
        const S gz = gs * ds[i - b];
        const S gh = gi[i] + gz + gv * dreset_dh<R>(s);
        const S gA = -gz - (R == 0 ? s * gv : S(0));
        f.gx[k + i] = gh;
        f.gp[0][i] += gh * vprev; f.gp[1][i] += ga * ap; f.gp[2][i] += ga * s;
        f.gp[3][i] += gA * ap; f.gp[4][i] += gA;
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
  const S *pal = f.p[0], *pb = f.p[1], *pth = f.p[2];
  const S *ph = f.sav[0], *pc = f.sav[1];
  S *pgi = f.gst[0], *pgv = f.gst[1];
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    std::vector<S> z(e - b), ds(e - b), zero(e, S(0));
    for (int64_t t = f.T - 1; t >= 0; --t) {
      const int64_t k = t * f.M;
      const bool first = t == 0;
      const int64_t kp = first ? k : k - f.M;  // the step before (any valid row at t = 0: not read then)
      const S* go = f.gout ? f.gout + k : zero.data();
      const S* gi = f.gh ? f.gh + k : zero.data();
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) z[i - b] = ph[k + i] - pth[i];
      dsur_chunk<S>(sur, z.data(), ds.data(), e - b);
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) {
        const S h = ph[k + i], th = pth[i];
        const S s = static_cast<S>(h >= th);
        const S hp = ph[kp + i];
        const S vprev = first ? f.st0[1][i] : reset_of<R>(hp, static_cast<S>(hp >= th), th);
        const S iprev = first ? f.st0[0][i] : pc[kp + i];
        const S gv = pgv[i];
        const S gs = go[i] + gv * dreset_ds<R>(h, th, keep);
        const S gz = gs * ds[i - b];
        const S gh = gi[i] + gz + gv * dreset_dh<R>(s);
        const S gc = pgi[i] + gh;
        f.gx[k + i] = gc;
        f.gp[0][i] += gc * iprev; f.gp[1][i] += gh * vprev;
        f.gp[2][i] += -gz - (R == 0 ? s * gv : S(0));
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
  const S *pw = f.p[0], *pb = f.p[1], *pth = f.p[2];
  const S* ph = f.sav[0];
  S *pgv = f.gst[0], *pgs = f.gst[1];
  for_blocks(f.M, [&](int64_t b, int64_t e) {
    std::vector<S> z(e - b), ds(e - b), zero(e, S(0));
    for (int64_t t = f.T - 1; t >= 0; --t) {
      const int64_t k = t * f.M;
      const bool first = t == 0;
      const int64_t kp = first ? k : k - f.M;  // the step before (any valid row at t = 0: not read then)
      const S* go = f.gout ? f.gout + k : zero.data();
      const S* gi = f.gh ? f.gh + k : zero.data();
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) z[i - b] = ph[k + i] - pth[i];
      dsur_chunk<S>(sur, z.data(), ds.data(), e - b);
      #pragma GCC ivdep
      for (int64_t i = b; i < e; ++i) {
        const S h = ph[k + i], th = pth[i];
        const S s = static_cast<S>(h >= th);
        const S hp = ph[kp + i], sp = static_cast<S>(hp >= th);
        const S sprev = first ? f.st0[1][i] : sp;
        const S vprev = first ? f.st0[0][i] : reset_of<R>(hp, sp, th);
        const S gv = pgv[i];
        const S gs = go[i] + pgs[i] + gv * dreset_ds<R>(h, th, keep);
        const S gz = gs * ds[i - b];
        const S gh = gi[i] + gz + gv * dreset_dh<R>(s);
        f.gx[k + i] = gh;
        f.gp[0][i] += gh * sprev; f.gp[1][i] += gh * vprev;
        f.gp[2][i] += -gz - (R == 0 ? s * gv : S(0));
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

#define SPIKEKIT_FAM_RESET(FN, ...) \
  do { if (reset == 0) FN<S, 0>(__VA_ARGS__); else if (reset == 1) FN<S, 1>(__VA_ARGS__); \
       else FN<S, 2>(__VA_ARGS__); } while (0)

inline void check_family_args(const at::Tensor& x, int64_t family, int64_t reset,
                              const std::vector<at::Tensor>& state, const std::vector<at::Tensor>& params,
                              const char* fn) {
  check_x(x, fn);
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble, "spikekit C++ engine ", fn,
              ": x must be float32 or float64, got ", x.scalar_type());
  TORCH_CHECK(family >= 0 && family <= 3, "spikekit C++ engine ", fn, ": family must be 0..3, got ", family);
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
    if (kFamSaved[family] > 1) f.sv[0] = res[2].data_ptr<S>();
    for (size_t j = 0; j < state.size(); ++j) f.st[j] = state[j].data_ptr<S>();
    for (size_t j = 0; j < params.size(); ++j) f.p[j] = params[j].data_ptr<S>();
    f.T = x.size(0); f.M = x.size(1);
    if (family == 0) SPIKEKIT_FAM_RESET(alif_fwd, f);
    else if (family == 1) SPIKEKIT_FAM_RESET(syn_fwd, f);
    else if (family == 2) SPIKEKIT_FAM_RESET(rlif_fwd, f);
    else srm_fwd<S, 0>(f);
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
  TORCH_CHECK(family >= 0 && family <= 3, "spikekit C++ engine ", fn, ": family must be 0..3, got ", family);
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
    else srm_bwd<S, 0>(f, sur, keep);
  });
  std::vector<at::Tensor> res{gx};
  for (auto& t : gstate) res.push_back(t);
  for (auto& t : gp) res.push_back(t);
  return res;
}

}  // namespace
"""

FUNCTIONS = [
    "set_block_size",
    "lif_forward",
    "lif_backward",
    "refractory_forward",
    "refractory_backward",
    "family_forward",
    "family_backward",
]
