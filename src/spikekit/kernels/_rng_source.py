"""C++ source of the counter-based generator (compiled on first use by :mod:`spikekit.kernels.rng`).

Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): element ``i``
of the stream of ``seed`` is word ``i % 4`` of ``philox(counter = (i // 4) as 64 bits, 0, 0;
key = seed as 64 bits)``, turned into ``(word >> 8) * 2^-24`` (a float32 in [0, 1), exact in float64).

Streams are cut into groups of 64 elements (16 counters) computed lane-parallel: with AVX-512, 16
counters in the 32-bit lanes of four registers (each 32 x 32 -> 64-bit product is two ``vpmuludq`` on
the even and odd lanes, merged by blends), then a 4 x 4 transpose puts the words in stream order; the
portable version keeps words in 64-bit lanes of plain arrays, which the compiler vectorizes. Both give the
same bits (tested). ``at::parallel_for`` splits the groups over threads; every element depends only on
``(seed, offset + i)``, so results do not depend on the thread count or on how a range is split.
"""

SOURCE = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <algorithm>
#include <cstdint>
#include <vector>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace {

constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Weyl key increments
constexpr int kLanes = 16;                                // counters per group
constexpr int64_t kGroup = 4 * kLanes;                    // stream elements per group
constexpr int64_t kGrain = 256;                           // groups per thread at least
constexpr float kScale = 1.0f / 16777216.0f;              // 2^-24

// Portable: the 16 counters (first + l, 0, 0) under key (k0, k1) -> out[4 l + w] = uniform of word w.
// Words live in the low halves of 64-bit lanes (the high halves hold garbage that masks ignore).
inline void philox_group_portable(uint64_t first, uint32_t key0, uint32_t key1, float* out) {
  constexpr uint64_t kLow = 0xFFFFFFFFu;
  uint64_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    const uint64_t n = first + static_cast<uint64_t>(l);
    c0[l] = n & kLow;
    c1[l] = n >> 32;
    c2[l] = 0u;
    c3[l] = 0u;
  }
  uint64_t k0 = key0, k1 = key1;
  for (int r = 0; r < 10; ++r) {
#pragma GCC unroll 1
    for (int l = 0; l < kLanes; ++l) {
      const uint64_t p0 = (c0[l] & kLow) * kM0;  // hi0:lo0
      const uint64_t p1 = (c2[l] & kLow) * kM1;  // hi1:lo1
      const uint64_t n0 = (p1 >> 32) ^ c1[l] ^ k0;
      const uint64_t n2 = (p0 >> 32) ^ c3[l] ^ k1;
      c1[l] = p1;
      c3[l] = p0;
      c0[l] = n0;
      c2[l] = n2;
    }
    k0 = (k0 + kW0) & kLow;
    k1 = (k1 + kW1) & kLow;
  }
  for (int l = 0; l < kLanes; ++l) {
    out[4 * l + 0] = static_cast<float>(static_cast<int32_t>((c0[l] & kLow) >> 8)) * kScale;
    out[4 * l + 1] = static_cast<float>(static_cast<int32_t>((c1[l] & kLow) >> 8)) * kScale;
    out[4 * l + 2] = static_cast<float>(static_cast<int32_t>((c2[l] & kLow) >> 8)) * kScale;
    out[4 * l + 3] = static_cast<float>(static_cast<int32_t>((c3[l] & kLow) >> 8)) * kScale;
  }
}

#if defined(__AVX512F__)
// hi and lo 32-bit words of a * m in each of the 16 lanes (m: the multiplier in every 64-bit lane)
inline void mulhilo16(__m512i a, __m512i m, __m512i& hi, __m512i& lo) {
  const __m512i even = _mm512_mul_epu32(a, m);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

inline __m512i to_uniform(__m512i w) {
  const __m512 f = _mm512_cvtepi32_ps(_mm512_srli_epi32(w, 8));
  return _mm512_castps_si512(_mm512_mul_ps(f, _mm512_set1_ps(kScale)));
}

// AVX-512: the same function; first is a multiple of 16, so first + l never carries into the high word.
inline void philox_group(uint64_t first, uint32_t k0, uint32_t k1, float* out) {
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512i c0 = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(first)), iota);
  __m512i c1 = _mm512_set1_epi32(static_cast<int32_t>(first >> 32));
  __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
  const __m512i m0 = _mm512_set1_epi64(kM0), m1 = _mm512_set1_epi64(kM1);
  for (int r = 0; r < 10; ++r) {
    __m512i hi0, lo0, hi1, lo1;
    mulhilo16(c0, m0, hi0, lo0);
    mulhilo16(c2, m1, hi1, lo1);
    c0 = _mm512_ternarylogic_epi32(hi1, c1, _mm512_set1_epi32(static_cast<int32_t>(k0)), 0x96);  // xor3
    c2 = _mm512_ternarylogic_epi32(hi0, c3, _mm512_set1_epi32(static_cast<int32_t>(k1)), 0x96);
    c1 = lo1;
    c3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
  const __m512i w0 = to_uniform(c0), w1 = to_uniform(c1), w2 = to_uniform(c2), w3 = to_uniform(c3);
  // transpose: lane l of w0..w3 -> out[4 l .. 4 l + 3]
  const __m512i t0 = _mm512_unpacklo_epi32(w0, w1), t1 = _mm512_unpackhi_epi32(w0, w1);
  const __m512i t2 = _mm512_unpacklo_epi32(w2, w3), t3 = _mm512_unpackhi_epi32(w2, w3);
  const __m512i r0 = _mm512_unpacklo_epi64(t0, t2), r1 = _mm512_unpackhi_epi64(t0, t2);
  const __m512i r2 = _mm512_unpacklo_epi64(t1, t3), r3 = _mm512_unpackhi_epi64(t1, t3);
  const __m512i s0 = _mm512_shuffle_i32x4(r0, r1, 0x44), s1 = _mm512_shuffle_i32x4(r2, r3, 0x44);
  const __m512i s2 = _mm512_shuffle_i32x4(r0, r1, 0xEE), s3 = _mm512_shuffle_i32x4(r2, r3, 0xEE);
  _mm512_storeu_si512(out + 0, _mm512_shuffle_i32x4(s0, s1, 0x88));
  _mm512_storeu_si512(out + 16, _mm512_shuffle_i32x4(s0, s1, 0xDD));
  _mm512_storeu_si512(out + 32, _mm512_shuffle_i32x4(s2, s3, 0x88));
  _mm512_storeu_si512(out + 48, _mm512_shuffle_i32x4(s2, s3, 0xDD));
}
constexpr bool kVectorized = true;
#else
inline void philox_group(uint64_t first, uint32_t k0, uint32_t k1, float* out) {
  philox_group_portable(first, k0, k1, out);
}
constexpr bool kVectorized = false;
#endif

// Calls op(i, u, len) on consecutive pieces of [0, n), in order within each thread's range:
// u[j] is the uniform of stream element offset + i + j. begin(i) is called first in each thread's range.
template <bool kPortable, typename Begin, typename Op>
void for_uniforms(int64_t n, int64_t seed, int64_t offset, const Begin& begin, const Op& op) {
  TORCH_CHECK(seed >= 0 && offset >= 0, "philox: seed and offset must be >= 0");
  if (n <= 0) return;
  const uint32_t k0 = static_cast<uint32_t>(static_cast<uint64_t>(seed));
  const uint32_t k1 = static_cast<uint32_t>(static_cast<uint64_t>(seed) >> 32);
  const int64_t g_begin = offset / kGroup, g_end = (offset + n - 1) / kGroup + 1;
  at::parallel_for(g_begin, g_end, kGrain, [&](int64_t gb, int64_t ge) {
    alignas(64) float u[kGroup];
    auto state = begin(std::max(gb * kGroup, offset) - offset);
    for (int64_t g = gb; g < ge; ++g) {
      const uint64_t first = static_cast<uint64_t>(g) * kLanes;
      if constexpr (kPortable) {
        philox_group_portable(first, k0, k1, u);
      } else {
        philox_group(first, k0, k1, u);
      }
      const int64_t lo = std::max(g * kGroup, offset), hi = std::min((g + 1) * kGroup, offset + n);
      op(state, lo - offset, u + (lo - g * kGroup), hi - lo);
    }
  });
}

void check_out(const torch::Tensor& out) {
  TORCH_CHECK(out.device().is_cpu() && out.is_contiguous(), "philox: out must be a contiguous CPU tensor");
  TORCH_CHECK(out.scalar_type() == at::kFloat || out.scalar_type() == at::kDouble,
              "philox: out must be float32 or float64, got ", out.scalar_type());
}

auto no_state = [](int64_t) { return 0; };

// out[i] = u(offset + i); portable=true forces the portable generator (to test it against the other).
void uniform_(torch::Tensor out, int64_t seed, int64_t offset, bool portable) {
  check_out(out);
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "philox_uniform", [&] {
    scalar_t* o = out.data_ptr<scalar_t>();
    auto op = [&](int, int64_t i, const float* u, int64_t len) {
      for (int64_t j = 0; j < len; ++j) o[i + j] = static_cast<scalar_t>(u[j]);
    };
    if (portable) {
      for_uniforms<true>(out.numel(), seed, offset, no_state, op);
    } else {
      for_uniforms<false>(out.numel(), seed, offset, no_state, op);
    }
  });
}

// out[i] = x[i % x.numel()] * u(offset + i): the flicker of x over out.numel() / x.numel() steps.
void flicker_(torch::Tensor out, torch::Tensor x, int64_t seed, int64_t offset) {
  check_out(out);
  if (out.numel() == 0) return;
  TORCH_CHECK(x.device().is_cpu() && x.is_contiguous() && x.scalar_type() == out.scalar_type(),
              "philox: x must be a contiguous CPU tensor of out's dtype");
  const int64_t m = x.numel();
  TORCH_CHECK(m > 0 && out.numel() % m == 0, "philox: out.numel() must be a multiple of x.numel()");
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "philox_flicker", [&] {
    scalar_t* __restrict__ o = out.data_ptr<scalar_t>();
    const scalar_t* __restrict__ xs = x.data_ptr<scalar_t>();
    auto begin = [m](int64_t i) { return i % m; };  // k: the position of element i in x
    auto op = [&](int64_t& k, int64_t i, const float* u, int64_t len) {
      if (k + len <= m) {
        scalar_t* __restrict__ oi = o + i;
        const scalar_t* __restrict__ xk = xs + k;
        for (int64_t j = 0; j < len; ++j) oi[j] = xk[j] * static_cast<scalar_t>(u[j]);
        k += len;
        if (k == m) k = 0;
      } else {
        for (int64_t j = 0; j < len; ++j) {
          o[i + j] = xs[k] * static_cast<scalar_t>(u[j]);
          if (++k == m) k = 0;
        }
      }
    };
    for_uniforms<false>(out.numel(), seed, offset, begin, op);
  });
}

// out[i] *= u(offset + i)
void mul_uniform_(torch::Tensor out, int64_t seed, int64_t offset) {
  check_out(out);
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "philox_mul", [&] {
    scalar_t* o = out.data_ptr<scalar_t>();
    auto op = [&](int, int64_t i, const float* u, int64_t len) {
      for (int64_t j = 0; j < len; ++j) o[i + j] *= static_cast<scalar_t>(u[j]);
    };
    for_uniforms<false>(out.numel(), seed, offset, no_state, op);
  });
}

// The raw Philox4x32-10 block function on one counter and key (for known-answer tests).
std::vector<int64_t> philox4x32(std::vector<int64_t> ctr, std::vector<int64_t> key) {
  TORCH_CHECK(ctr.size() == 4 && key.size() == 2, "philox4x32: counter has 4 words, key 2");
  uint32_t c[4], k[2];
  for (int w = 0; w < 4; ++w) c[w] = static_cast<uint32_t>(ctr[w]);
  for (int w = 0; w < 2; ++w) k[w] = static_cast<uint32_t>(key[w]);
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = static_cast<uint64_t>(kM0) * c[0];
    const uint64_t p1 = static_cast<uint64_t>(kM1) * c[2];
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0];
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1];
    c[1] = static_cast<uint32_t>(p1);
    c[3] = static_cast<uint32_t>(p0);
    c[0] = n0;
    c[2] = n2;
    k[0] += kW0;
    k[1] += kW1;
  }
  return {c[0], c[1], c[2], c[3]};
}

bool vectorized() { return kVectorized; }

}  // namespace
"""

FUNCTIONS = ["uniform_", "flicker_", "mul_uniform_", "philox4x32", "vectorized"]
