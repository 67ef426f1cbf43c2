// PoissonInput: rate, independence across neurons and steps, start/stop, set_rate between runs.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "nmsim/core/error.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "probe_population.hpp"

using namespace nmsim;
using nmsim::test::Arrival;
using nmsim::test::ProbePopulation;

namespace {

// counts[i][k - first]: events of neuron i arriving at step k (weight 1 per event).
std::vector<std::vector<double>> counts(const ProbePopulation& p, Step first, Step last, int port = 0) {
  std::vector<std::vector<double>> c(p.size(), std::vector<double>(static_cast<std::size_t>(last - first + 1), 0.0));
  for (std::size_t i = 0; i < p.size(); ++i)
    for (const Arrival& a : p.arrivals(i)) {
      REQUIRE(a.port == port);
      REQUIRE(a.step >= first);
      REQUIRE(a.step <= last);
      c[i][static_cast<std::size_t>(a.step - first)] += a.value;
    }
  return c;
}

double total(const std::vector<std::vector<double>>& c) {
  double s = 0;
  for (const auto& row : c)
    for (double v : row) s += v;
  return s;
}

double correlation(const std::vector<double>& a, const std::vector<double>& b) {
  const auto n = static_cast<double>(a.size());
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
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

}  // namespace

TEST_CASE("poisson input: count over neurons x time within 3 sigma, variance Poisson") {
  // lambda per step: 0.002 (20 Hz), 0.5, 11.9 (inversion) and 12, 40 (PTRS).
  for (double rate : {20.0, 5000.0, 119000.0, 120000.0, 400000.0}) {
    CAPTURE(rate);
    const double dt = 0.1;
    const std::size_t n = rate < 1000 ? 1000 : 100;
    const Step steps = rate < 1000 ? 10000 : 1000;
    Simulation sim({dt, 3, 2});
    auto& t = sim.add_population<ProbePopulation>("t", n);
    sim.add_stimulus<PoissonInput>("drive", t, "exc", rate, 1.0);
    sim.run_steps(steps);
    const auto c = counts(t, 1, steps);
    const double lambda = rate * dt * 1e-3;
    const double cells = static_cast<double>(n) * static_cast<double>(steps);
    const double mean = lambda * cells;
    CAPTURE(total(c), mean);
    CHECK(std::fabs(total(c) - mean) < 3 * std::sqrt(mean));
    // Per-cell variance equals lambda (Poisson), within 4 SE of the sample variance.
    double m = total(c) / cells, v = 0;
    for (const auto& row : c)
      for (double x : row) v += (x - m) * (x - m);
    v /= cells - 1;
    CHECK(std::fabs(v - lambda) < 4 * std::sqrt((2 * lambda * lambda + lambda) / cells));
  }
}

TEST_CASE("poisson input: per-neuron and per-step streams are independent") {
  for (double rate : {2000.0, 300000.0}) {  // lambda 0.2 (inversion) and 30 (PTRS) per step
    CAPTURE(rate);
    const std::size_t n = 200;
    const Step steps = 2000;
    Simulation sim({0.1, 8, 3});
    auto& t = sim.add_population<ProbePopulation>("t", n);
    sim.add_stimulus<PoissonInput>("drive", t, "exc", rate, 1.0);
    sim.run_steps(steps);
    const auto c = counts(t, 1, steps);
    // Between neighbouring neurons: mean correlation of per-step counts ~ 0 within 4 SE.
    double sum_r = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) sum_r += correlation(c[i], c[i + 1]);
    const double r_neuron = sum_r / static_cast<double>(n - 1);
    const double se = 1.0 / std::sqrt(static_cast<double>(steps) * static_cast<double>(n - 1));
    CAPTURE(r_neuron, se);
    CHECK(std::fabs(r_neuron) < 4 * se);
    // Between consecutive steps of one neuron (lag-1 autocorrelation) ~ 0 as well: the draws of
    // step k must not reuse random blocks that step k + 1 starts from.
    double sum_lag = 0;
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<double> x(c[i].begin(), c[i].end() - 1), y(c[i].begin() + 1, c[i].end());
      sum_lag += correlation(x, y);
    }
    const double r_lag = sum_lag / static_cast<double>(n);
    CAPTURE(r_lag);
    CHECK(std::fabs(r_lag) < 4 * se);
  }
}

TEST_CASE("poisson input: identical inputs for threads = 1, 2, 3 and for other stimuli present") {
  auto run = [](int threads, bool extra) {
    Simulation sim({0.1, 21, threads});
    auto& t = sim.add_population<ProbePopulation>("t", 50);
    if (extra) sim.add_stimulus<PoissonInput>("other", t, "inh", 800.0, 1.0);
    sim.add_stimulus<PoissonInput>("drive", t, "exc", 1500.0, 0.5);
    sim.add_stimulus<PoissonInput>("big", t, "pul", 150000.0, 1.0);
    sim.run(50.0);
    std::vector<std::vector<Arrival>> a;
    for (std::size_t i = 0; i < t.size(); ++i) {
      a.push_back({});
      for (const Arrival& x : t.arrivals(i))
        if (x.port != 1) a.back().push_back(x);
    }
    return a;
  };
  const auto one = run(1, false);
  CHECK(one == run(2, false));
  CHECK(one == run(3, true));
}

TEST_CASE("poisson input: start and stop are honoured, subsets respected") {
  const double dt = 0.1;
  Simulation sim({dt, 4, 3});
  auto& t = sim.add_population<ProbePopulation>("t", 60);
  // Active for 10 <= t_k < 20 ms: steps k = 100..199, arrivals at k + 1 = 101..200 (jump port).
  sim.add_stimulus<PoissonInput>("drive", t, "exc", 5000.0, 1.0, 10.0, 20.0, NeuronSubset({1, 5, 7, 59}, 60));
  // Pulse port: arrivals at k itself, 300..399.
  sim.add_stimulus<PoissonInput>("pulse", t, "pul", 5000.0, 2.0, 30.0, 40.0, NeuronSubset({1, 5, 7, 59}, 60));
  sim.run(50.0);
  std::size_t n_exc = 0, n_pul = 0;
  for (std::size_t i = 0; i < 60; ++i) {
    const bool in = i == 1 || i == 5 || i == 7 || i == 59;
    if (!in) REQUIRE(t.arrivals(i).empty());
    for (const Arrival& a : t.arrivals(i)) {
      if (a.port == 0) {
        CHECK(a.step >= 101);
        CHECK(a.step <= 200);
        n_exc += static_cast<std::size_t>(a.value);
      } else {
        REQUIRE(a.port == 2);
        CHECK(a.step >= 300);
        CHECK(a.step <= 399);
        n_pul += static_cast<std::size_t>(a.value / 2);
      }
    }
  }
  const double mean = 4 * 100 * 0.5;  // neurons x steps x lambda
  CHECK(std::fabs(static_cast<double>(n_exc) - mean) < 4 * std::sqrt(mean));
  CHECK(std::fabs(static_cast<double>(n_pul) - mean) < 4 * std::sqrt(mean));
  CHECK_THROWS_AS(sim.add_stimulus<PoissonInput>("bad", t, "exc", -1.0, 1.0), ConfigError);
}

TEST_CASE("poisson input: set_rate between run() chunks takes effect at the next step") {
  const double dt = 0.1;
  Simulation sim({dt, 6, 2});
  auto& t = sim.add_population<ProbePopulation>("t", 500);
  auto& p = sim.add_stimulus<PoissonInput>("drive", t, "exc", 100.0, 1.0);
  sim.run(100.0);  // steps 0..999, arrivals 1..1000
  p.set_rate(1000.0);
  sim.run(100.0);  // steps 1000..1999, arrivals 1001..2000
  p.set_rate(0.0);
  sim.run(50.0);  // nothing
  CHECK(p.rate() == 0.0);
  double first = 0, second = 0, third = 0;
  for (std::size_t i = 0; i < t.size(); ++i)
    for (const Arrival& a : t.arrivals(i)) (a.step <= 1000 ? first : a.step <= 2000 ? second : third) += a.value;
  const double m1 = 500 * 1000 * 100 * dt * 1e-3, m2 = 500 * 1000 * 1000 * dt * 1e-3;
  CAPTURE(first, m1, second, m2);
  CHECK(std::fabs(first - m1) < 3 * std::sqrt(m1));
  CHECK(std::fabs(second - m2) < 3 * std::sqrt(m2));
  CHECK(third == 0);
}

TEST_CASE("poisson input: set_rate rejects negative and non-finite rates") {
  Simulation sim({0.1, 6, 1});
  auto& t = sim.add_population<ProbePopulation>("t", 5);
  auto& p = sim.add_stimulus<PoissonInput>("drive", t, "exc", 100.0, 1.0);
  sim.run(1.0);
  // A NaN or infinite lambda would never be accepted by the rejection sampler: the run would hang.
  CHECK_THROWS_AS(p.set_rate(std::nan("")), ConfigError);
  CHECK_THROWS_AS(p.set_rate(std::numeric_limits<double>::infinity()), ConfigError);
  CHECK_THROWS_AS(p.set_rate(-5.0), ConfigError);
  CHECK(p.rate() == 100.0);  // a rejected value leaves the rate as it was
  CHECK_NOTHROW(p.set_rate(0.0));
  CHECK_NOTHROW(sim.run(1.0));
}
