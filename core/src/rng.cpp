#include "nmsim/core/rng.hpp"

#include <cmath>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace nmsim {

namespace {
constexpr std::uint32_t kM0 = 0xD2511F53u;
constexpr std::uint32_t kM1 = 0xCD9E8D57u;
constexpr std::uint32_t kW0 = 0x9E3779B9u;
constexpr std::uint32_t kW1 = 0xBB67AE85u;
}  // namespace

std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> c,
                                        std::array<std::uint32_t, 2> k) {
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(kM0) * c[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(kM1) * c[2];
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32);
    const std::uint32_t lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32);
    const std::uint32_t lo1 = static_cast<std::uint32_t>(p1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k[0] += kW0;
    k[1] += kW1;
  }
  return c;
}

namespace {
void philox_ids_scalar(std::uint32_t c0, std::uint32_t c1, std::uint32_t id0, std::uint32_t c3,
                       std::array<std::uint32_t, 2> key, std::size_t j, std::size_t n, std::uint32_t* const out[4]) {
  for (; j < n; ++j) {
    const auto b = philox4x32({c0, c1, id0 + static_cast<std::uint32_t>(j), c3}, key);
    for (std::size_t w = 0; w < 4; ++w) out[w][j] = b[w];
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
// GCC 12 warns about the deliberately undefined pass-through operands inside its own AVX-512
// intrinsics (_mm512_undefined_*): a known false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
// Each 32-bit word of a block sits in the low half of a 64-bit lane, so the 32x32 -> 64-bit
// products of a round are one vpmuludq per word pair (it reads the low halves only).
__attribute__((target("avx512f"))) void philox_ids_avx512(std::uint32_t c0, std::uint32_t c1, std::uint32_t id0,
                                                           std::uint32_t c3, std::array<std::uint32_t, 2> key,
                                                           std::size_t n, std::uint32_t* const out[4]) {
  const __m512i m0 = _mm512_set1_epi64(kM0), m1 = _mm512_set1_epi64(kM1);
  const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m512i x0 = _mm512_set1_epi64(c0), x1 = _mm512_set1_epi64(c1), x3 = _mm512_set1_epi64(c3);
    __m512i x2 = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(id0 + static_cast<std::uint32_t>(j))), lane);
    std::uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; ++round) {
      const __m512i p0 = _mm512_mul_epu32(x0, m0), p1 = _mm512_mul_epu32(x2, m1);
      x0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p1, 32), x1), _mm512_set1_epi64(k0));
      x1 = p1;
      x2 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p0, 32), x3), _mm512_set1_epi64(k1));
      x3 = p0;
      k0 += kW0;
      k1 += kW1;
    }
    // The high halves of x1, x3 (product bits) and of x2 (id0 + j overflowing 32 bits) are
    // dropped here, as the truncations of the scalar code do.
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[0] + j), _mm512_cvtepi64_epi32(x0));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[1] + j), _mm512_cvtepi64_epi32(x1));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[2] + j), _mm512_cvtepi64_epi32(x2));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[3] + j), _mm512_cvtepi64_epi32(x3));
  }
  philox_ids_scalar(c0, c1, id0, c3, key, j, n, out);
}

__attribute__((target("avx2"))) void philox_ids_avx2(std::uint32_t c0, std::uint32_t c1, std::uint32_t id0,
                                                      std::uint32_t c3, std::array<std::uint32_t, 2> key, std::size_t n,
                                                      std::uint32_t* const out[4]) {
  const __m256i m0 = _mm256_set1_epi64x(kM0), m1 = _mm256_set1_epi64x(kM1);
  const __m256i lane = _mm256_set_epi64x(3, 2, 1, 0);
  const __m256i pack = _mm256_set_epi32(7, 5, 3, 1, 6, 4, 2, 0);  // low halves to the low 128 bits
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    __m256i x0 = _mm256_set1_epi64x(c0), x1 = _mm256_set1_epi64x(c1), x3 = _mm256_set1_epi64x(c3);
    __m256i x2 = _mm256_add_epi64(_mm256_set1_epi64x(static_cast<long long>(id0 + static_cast<std::uint32_t>(j))), lane);
    std::uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; ++round) {
      const __m256i p0 = _mm256_mul_epu32(x0, m0), p1 = _mm256_mul_epu32(x2, m1);
      x0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), x1), _mm256_set1_epi64x(k0));
      x1 = p1;
      x2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), x3), _mm256_set1_epi64x(k1));
      x3 = p0;
      k0 += kW0;
      k1 += kW1;
    }
    const __m256i* xs[4] = {&x0, &x1, &x2, &x3};
    for (std::size_t w = 0; w < 4; ++w)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out[w] + j),
                       _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(*xs[w], pack)));
  }
  philox_ids_scalar(c0, c1, id0, c3, key, j, n, out);
}
#pragma GCC diagnostic pop
#endif

using PhiloxIds = void (*)(std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t, std::array<std::uint32_t, 2>,
                           std::size_t, std::uint32_t* const[4]);
void philox_ids_default(std::uint32_t c0, std::uint32_t c1, std::uint32_t id0, std::uint32_t c3,
                        std::array<std::uint32_t, 2> key, std::size_t n, std::uint32_t* const out[4]) {
  philox_ids_scalar(c0, c1, id0, c3, key, 0, n, out);
}
PhiloxIds pick_philox_ids() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return philox_ids_avx512;
  if (__builtin_cpu_supports("avx2")) return philox_ids_avx2;
#endif
  return philox_ids_default;
}
}  // namespace

void philox4x32_ids(std::uint32_t c0, std::uint32_t c1, std::uint32_t id0, std::uint32_t c3,
                    std::array<std::uint32_t, 2> key, std::size_t n, std::uint32_t* const out[4]) {
  // Integer arithmetic only: every variant gives the same bits (tests/unit compares them).
  static const PhiloxIds impl = pick_philox_ids();
  impl(c0, c1, id0, c3, key, n, out);
}

void RandomStream::refill() {
  buf_ = philox4x32({static_cast<std::uint32_t>(counter_), static_cast<std::uint32_t>(counter_ >> 32),
                     id_, purpose_},
                    key_);
  ++counter_;
  pos_ = 0;
}

std::uint32_t RandomStream::below(std::uint32_t n) {
  std::uint64_t m = static_cast<std::uint64_t>(next_u32()) * n;
  auto low = static_cast<std::uint32_t>(m);
  if (low < n) {
    const std::uint32_t threshold = static_cast<std::uint32_t>(-n) % n;
    while (low < threshold) {
      m = static_cast<std::uint64_t>(next_u32()) * n;
      low = static_cast<std::uint32_t>(m);
    }
  }
  return static_cast<std::uint32_t>(m >> 32);
}

double RandomStream::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  const double r = std::sqrt(-2.0 * std::log(uniform_pos()));
  const double phi = 2.0 * M_PI * uniform();
  spare_normal_ = r * std::sin(phi);
  has_spare_normal_ = true;
  return r * std::cos(phi);
}

double RandomStream::exponential() { return -std::log(uniform_pos()); }

std::uint64_t RandomStream::poisson(double lambda) {
  if (lambda <= 0.0) return 0;
  if (lambda < 12.0) {
    // Inversion by sequential search: exact, about lambda + 1 uniforms' worth of work.
    const double u = uniform();
    double p = std::exp(-lambda);
    double cdf = p;
    std::uint64_t k = 0;
    while (u >= cdf) {
      ++k;
      p *= lambda / static_cast<double>(k);
      const double next = cdf + p;
      if (next == cdf) break;  // tail below double resolution
      cdf = next;
    }
    return k;
  }
  // PTRS: transformed rejection with squeeze (Hoermann 1993, Insurance Math. Econ. 12:39).
  const double slam = std::sqrt(lambda);
  const double loglam = std::log(lambda);
  const double b = 0.931 + 2.53 * slam;
  const double a = -0.059 + 0.02483 * b;
  const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
  const double vr = 0.9277 - 3.6224 / (b - 2.0);
  while (true) {
    const double u = uniform() - 0.5;
    const double v = uniform_pos();
    const double us = 0.5 - std::fabs(u);
    const double k = std::floor((2.0 * a / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return static_cast<std::uint64_t>(k);
    if (k < 0.0 || (us < 0.013 && v > us)) continue;
    if (std::log(v) + std::log(inv_alpha) - std::log(a / (us * us) + b) <=
        -lambda + k * loglam - std::lgamma(k + 1.0))
      return static_cast<std::uint64_t>(k);
  }
}

}  // namespace nmsim
