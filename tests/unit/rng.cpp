// Counter-based RNG: Philox4x32-10 known answers, and the statistics of the derived draws.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

#include "nmsim/core/rng.hpp"

using namespace nmsim;

namespace {

struct Moments {
  double mean = 0, var = 0, skew = 0, kurt = 0;
};

template <class F>
Moments moments(std::size_t n, F draw) {
  std::vector<double> x(n);
  double s = 0;
  for (auto& v : x) {
    v = draw();
    s += v;
  }
  Moments m;
  m.mean = s / static_cast<double>(n);
  double m2 = 0, m3 = 0, m4 = 0;
  for (double v : x) {
    const double d = v - m.mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  m2 /= static_cast<double>(n);
  m3 /= static_cast<double>(n);
  m4 /= static_cast<double>(n);
  m.var = m2 * static_cast<double>(n) / static_cast<double>(n - 1);
  m.skew = m3 / std::pow(m2, 1.5);
  m.kurt = m4 / (m2 * m2);
  return m;
}

double correlation(const std::vector<double>& a, const std::vector<double>& b) {
  const auto n = static_cast<double>(a.size());
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

// Upper 1e-4 quantile of chi-square with k degrees of freedom (Wilson-Hilferty), generous enough
// that a correct generator fails with probability ~1e-4 per test, a biased one almost surely.
double chi2_limit(double k) {
  const double z = 3.72;  // one-sided 1e-4
  const double c = 2.0 / (9.0 * k);
  return k * std::pow(1.0 - c + z * std::sqrt(c), 3.0);
}

}  // namespace

TEST_CASE("rng: philox4x32-10 matches the Random123 known-answer vectors") {
  // Random123 tests/kat_vectors, lines "philox4x32 10 <ctr x4> <key x2>   <expected x4>".
  struct Kat {
    std::array<std::uint32_t, 4> ctr;
    std::array<std::uint32_t, 2> key;
    std::array<std::uint32_t, 4> expected;
  };
  const Kat kats[] = {
      {{0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u},
       {0x00000000u, 0x00000000u},
       {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
       {0xffffffffu, 0xffffffffu},
       {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
       {0xa4093822u, 0x299f31d0u},
       {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
  };
  for (const Kat& k : kats) {
    const auto out = philox4x32(k.ctr, k.key);
    for (int i = 0; i < 4; ++i) {
      CAPTURE(i, out[i], k.expected[i]);
      CHECK(out[i] == k.expected[i]);
    }
  }
}

TEST_CASE("rng: a stream is philox over (counter, id, purpose) keyed by the seed") {
  const std::uint64_t seed = 0x123456789abcdef0ull;
  const std::uint32_t purpose = purpose_id("test/layout"), id = 77;
  const std::uint64_t c0 = 0x00000001fffffffeull;  // carries into the high word
  RandomStream rng(seed, purpose, id, c0);
  for (std::uint64_t b = 0; b < 4; ++b) {
    const std::uint64_t c = c0 + b;
    const auto block = philox4x32({static_cast<std::uint32_t>(c), static_cast<std::uint32_t>(c >> 32), id, purpose},
                                  {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
    for (int i = 0; i < 4; ++i) REQUIRE(rng.next_u32() == block[i]);
  }
}

TEST_CASE("rng: the same keys give identical sequences; a counter offset skips whole blocks") {
  RandomStream a(42, purpose_id("x"), 3), b(42, purpose_id("x"), 3);
  for (int i = 0; i < 10000; ++i) {
    REQUIRE(a.uniform() == b.uniform());
    REQUIRE(a.normal() == b.normal());
    REQUIRE(a.poisson(20.0) == b.poisson(20.0));
    REQUIRE(a.below(1000) == b.below(1000));
  }
  // Counter c starts at block c: the same u32s as skipping 4 c draws of a stream at counter 0.
  RandomStream from0(9, purpose_id("skip"), 1, 0), from5(9, purpose_id("skip"), 1, 5);
  for (int i = 0; i < 20; ++i) from0.next_u32();
  for (int i = 0; i < 100; ++i) REQUIRE(from0.next_u32() == from5.next_u32());
}

TEST_CASE("rng: uniform on 0 <= u < 1 has mean 1/2 and variance 1/12") {
  RandomStream rng(1, purpose_id("test/uniform"), 0);
  const std::size_t n = 1000000;
  double lo = 1, hi = 0;
  const Moments m = moments(n, [&] {
    const double u = rng.uniform();
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    return u;
  });
  const double sn = std::sqrt(static_cast<double>(n));
  CHECK(lo >= 0.0);
  CHECK(hi < 1.0);
  CHECK(std::fabs(m.mean - 0.5) < 4 * std::sqrt(1.0 / 12) / sn);
  // Var of s^2 for U(0,1): (mu4 - sigma^4) / n = (1/80 - 1/144) / n.
  CHECK(std::fabs(m.var - 1.0 / 12) < 4 * std::sqrt(1.0 / 80 - 1.0 / 144) / sn);
  RandomStream pos(1, purpose_id("test/uniform_pos"), 0);
  for (int i = 0; i < 100000; ++i) {
    const double u = pos.uniform_pos();
    REQUIRE(u > 0.0);
    REQUIRE(u <= 1.0);
  }
}

TEST_CASE("rng: below(n) is unbiased (chi-square), also for n near 2^32") {
  for (std::uint32_t n : {2u, 7u, 10u, 1000u}) {
    RandomStream rng(3, purpose_id("test/below"), n);
    const std::size_t draws = 200 * std::max<std::size_t>(n, 1000);
    std::vector<double> count(n, 0);
    for (std::size_t i = 0; i < draws; ++i) {
      const std::uint32_t v = rng.below(n);
      REQUIRE(v < n);
      count[v] += 1;
    }
    const double e = static_cast<double>(draws) / n;
    double chi2 = 0;
    for (double c : count) chi2 += (c - e) * (c - e) / e;
    CAPTURE(n, chi2);
    CHECK(chi2 < chi2_limit(n - 1));
  }
  // n = 3 * 2^30: a plain modulo would put 2/3 of the mass... unevenly; thirds must be equal.
  const std::uint32_t n = 3u << 30;
  RandomStream rng(3, purpose_id("test/below_big"), 0);
  const std::size_t draws = 600000;
  double count[3] = {0, 0, 0};
  for (std::size_t i = 0; i < draws; ++i) {
    const std::uint32_t v = rng.below(n);
    REQUIRE(v < n);
    count[v >> 30] += 1;
  }
  const double e = draws / 3.0;
  double chi2 = 0;
  for (double c : count) chi2 += (c - e) * (c - e) / e;
  CAPTURE(count[0], count[1], count[2]);
  CHECK(chi2 < chi2_limit(2));
  RandomStream one(3, purpose_id("test/below_one"), 0);
  for (int i = 0; i < 100; ++i) REQUIRE(one.below(1) == 0);
}

TEST_CASE("rng: normal has mean 0, variance 1, skewness 0, kurtosis 3") {
  RandomStream rng(5, purpose_id("test/normal"), 0);
  const std::size_t n = 1000000;
  const Moments m = moments(n, [&] { return rng.normal(); });
  const double sn = std::sqrt(static_cast<double>(n));
  CHECK(std::fabs(m.mean) < 4 / sn);
  CHECK(std::fabs(m.var - 1) < 4 * std::sqrt(2.0) / sn);
  CHECK(std::fabs(m.skew) < 4 * std::sqrt(6.0) / sn);
  CHECK(std::fabs(m.kurt - 3) < 4 * std::sqrt(24.0) / sn);
  // Tail mass beyond 3 sd: 0.0026998.
  RandomStream t(6, purpose_id("test/normal_tail"), 0);
  double beyond = 0;
  for (std::size_t i = 0; i < n; ++i) beyond += std::fabs(t.normal()) > 3.0;
  const double p = 0.0026998;
  CHECK(std::fabs(beyond - p * n) < 4 * std::sqrt(p * (1 - p) * n));
}

TEST_CASE("rng: exponential has mean 1 and variance 1") {
  RandomStream rng(7, purpose_id("test/exp"), 0);
  const std::size_t n = 500000;
  const Moments m = moments(n, [&] { return rng.exponential(); });
  const double sn = std::sqrt(static_cast<double>(n));
  CHECK(std::fabs(m.mean - 1) < 4 / sn);
  CHECK(std::fabs(m.var - 1) < 4 * std::sqrt(8.0) / sn);  // mu4 = 9, (9 - 1) / n
}

TEST_CASE("rng: poisson(lambda) mean and variance within 3 sigma, both branches") {
  for (double lambda : {0.01, 0.5, 3.0, 11.9, 12.0, 50.0, 1000.0}) {
    RandomStream rng(11, purpose_id("test/poisson"), static_cast<std::uint32_t>(lambda * 100));
    const std::size_t n = 200000;
    const Moments m = moments(n, [&] { return static_cast<double>(rng.poisson(lambda)); });
    const double nn = static_cast<double>(n);
    const double se_mean = std::sqrt(lambda / nn);
    // Var(s^2) = (mu4 - sigma^4)/n with mu4 = 3 lambda^2 + lambda for the Poisson.
    const double se_var = std::sqrt((2 * lambda * lambda + lambda) / nn);
    CAPTURE(lambda, m.mean, m.var);
    CHECK(std::fabs(m.mean - lambda) < 3 * se_mean);
    CHECK(std::fabs(m.var - lambda) < 3 * se_var);
  }
  RandomStream z(11, purpose_id("test/poisson0"), 0);
  CHECK(z.poisson(0.0) == 0);
}

TEST_CASE("rng: poisson matches the pmf (chi-square) on both sides of the branch point") {
  for (double lambda : {5.0, 12.0, 30.0, 200.0}) {
    RandomStream rng(13, purpose_id("test/poisson_pmf"), static_cast<std::uint32_t>(lambda));
    const std::size_t n = 300000;
    std::map<std::uint64_t, double> hist;
    for (std::size_t i = 0; i < n; ++i) hist[rng.poisson(lambda)] += 1;
    // Bins with expected count >= 20; the two tails pooled.
    const auto pmf = [&](std::uint64_t k) {
      return std::exp(-lambda + static_cast<double>(k) * std::log(lambda) - std::lgamma(static_cast<double>(k) + 1));
    };
    double chi2 = 0, cdf = 0, obs_lo = 0;
    int bins = 0;
    std::uint64_t k = 0;
    for (; pmf(k) * n < 20 && static_cast<double>(k) < lambda; ++k) {
      cdf += pmf(k);
      obs_lo += hist.count(k) ? hist[k] : 0;
    }
    if (cdf > 0) {
      chi2 += (obs_lo - cdf * n) * (obs_lo - cdf * n) / (cdf * n);
      ++bins;
    }
    double seen = obs_lo;
    for (; pmf(k) * n >= 20 || static_cast<double>(k) < lambda; ++k) {
      const double e = pmf(k) * n, o = hist.count(k) ? hist[k] : 0;
      chi2 += (o - e) * (o - e) / e;
      cdf += pmf(k);
      seen += o;
      ++bins;
    }
    const double e_hi = (1 - cdf) * n, o_hi = static_cast<double>(n) - seen;
    if (e_hi > 1) {
      chi2 += (o_hi - e_hi) * (o_hi - e_hi) / e_hi;
      ++bins;
    }
    CAPTURE(lambda, chi2, bins);
    CHECK(chi2 < chi2_limit(bins - 1));
  }
}

TEST_CASE("rng: streams with different (seed, purpose, id) are uncorrelated") {
  const std::size_t n = 200000;
  auto draw = [&](std::uint64_t seed, std::uint32_t purpose, std::uint32_t id, std::uint64_t counter = 0) {
    RandomStream rng(seed, purpose, id, counter);
    std::vector<double> x(n);
    for (auto& v : x) v = rng.uniform();
    return x;
  };
  const std::uint32_t pa = purpose_id("stimulus/a"), pb = purpose_id("stimulus/b");
  const auto base = draw(1, pa, 0);
  const double lim = 4.0 / std::sqrt(static_cast<double>(n));
  const std::vector<std::vector<double>> others = {draw(1, pa, 1), draw(1, pb, 0), draw(2, pa, 0),
                                                    draw(1, pa, 0, 1u << 20)};
  for (std::size_t i = 0; i < others.size(); ++i) {
    const double r = correlation(base, others[i]);
    CAPTURE(i, r);
    CHECK(std::fabs(r) < lim);
    REQUIRE(base != others[i]);
  }
  // Neighbouring ids, many of them: the mean correlation over pairs is ~0 within 4 SE.
  const std::size_t m = 20000, ids = 200;
  std::vector<std::vector<double>> s(ids, std::vector<double>(m));
  for (std::uint32_t id = 0; id < ids; ++id) {
    RandomStream rng(1, pa, id);
    for (auto& v : s[id]) v = rng.normal();
  }
  double sum_r = 0;
  for (std::size_t id = 0; id + 1 < ids; ++id) sum_r += correlation(s[id], s[id + 1]);
  const double mean_r = sum_r / static_cast<double>(ids - 1);
  CHECK(std::fabs(mean_r) < 4.0 / std::sqrt(static_cast<double>(m * (ids - 1))));
  // Purpose ids of similar strings differ (FNV-1a), so such streams are distinct.
  CHECK(purpose_id("connect/ee") != purpose_id("connect/ei"));
  CHECK(purpose_id("weight/ee") != purpose_id("delay/ee"));
}

TEST_CASE("rng: the batched philox4x32_ids gives the bits of one philox4x32 call per id") {
  // Vector and scalar paths, whole vectors and tails, and ids that wrap around 2^32.
  const std::array<std::uint32_t, 2> key{0x9A3B1C2Du, 0x00C0FFEEu};
  for (std::uint32_t id0 : {0u, 5u, 0xFFFFFFF9u}) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{8},
                          std::size_t{13}, std::size_t{100}}) {
      std::vector<std::uint32_t> w(4 * n + 1, 0xDEADBEEFu);
      std::uint32_t* const out[4] = {w.data(), w.data() + n, w.data() + 2 * n, w.data() + 3 * n};
      philox4x32_ids(0x12345678u, 7u, id0, 0xABCDu, key, n, out);
      for (std::size_t j = 0; j < n; ++j) {
        const auto b = philox4x32({0x12345678u, 7u, id0 + static_cast<std::uint32_t>(j), 0xABCDu}, key);
        for (std::size_t q = 0; q < 4; ++q) REQUIRE(out[q][j] == b[q]);
      }
      REQUIRE(w[4 * n] == 0xDEADBEEFu);  // nothing written past the end
    }
  }
}
