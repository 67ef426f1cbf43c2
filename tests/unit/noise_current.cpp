// NoiseCurrent: the right distribution per neuron and step, independent across neurons and
// steps, the same for any thread count.
#include <catch2/catch.hpp>
#include <cmath>

#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "probe_population.hpp"

using namespace nmsim;

namespace {
// Currents per (neuron, step), as seen by the population, for `steps` steps.
std::vector<std::vector<double>> currents(const Distribution& d, int threads, std::size_t n, Step steps) {
  Simulation sim({0.1, 77, threads});
  auto& probe = sim.add_population<nmsim::test::ProbePopulation>("p", n, std::vector<PortInfo>{{"exc", "pA", PortKind::jump}});
  sim.add_stimulus<NoiseCurrent>("noise", probe, d);
  sim.run_steps(steps);
  std::vector<std::vector<double>> out(n, std::vector<double>(static_cast<std::size_t>(steps), 0.0));
  for (std::size_t i = 0; i < n; ++i)
    for (const auto& a : probe.i_ext(i)) out[i][static_cast<std::size_t>(a.step)] = a.value;
  return out;
}

void moments(const std::vector<std::vector<double>>& x, double& mean, double& var, double& lag1, double& cross) {
  double s = 0, s2 = 0, sl = 0, sc = 0;
  std::size_t n = 0, nl = 0, nc = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::size_t k = 0; k < x[i].size(); ++k) {
      s += x[i][k];
      s2 += x[i][k] * x[i][k];
      ++n;
    }
  mean = s / static_cast<double>(n);
  var = s2 / static_cast<double>(n) - mean * mean;
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::size_t k = 1; k < x[i].size(); ++k, ++nl) sl += (x[i][k] - mean) * (x[i][k - 1] - mean);
  for (std::size_t i = 1; i < x.size(); ++i)
    for (std::size_t k = 0; k < x[i].size(); ++k, ++nc) sc += (x[i][k] - mean) * (x[i - 1][k] - mean);
  lag1 = sl / static_cast<double>(nl) / var;
  cross = sc / static_cast<double>(nc) / var;
}
}  // namespace

TEST_CASE("noise current: uniform and normal amplitudes have the right moments, no correlations") {
  struct Case {
    Distribution d;
    double mean, var;
  };
  for (const Case& c : {Case{Distribution::uniform(-6.5, 6.5), 0.0, 13.0 * 13.0 / 12.0},
                        Case{Distribution::normal(2.0, 3.0), 2.0, 9.0}}) {
    const auto x = currents(c.d, 1, 200, 1000);  // 2e5 draws
    double mean, var, lag1, cross;
    moments(x, mean, var, lag1, cross);
    const double n = 2e5;
    CAPTURE(c.d.str(), mean, var, lag1, cross);
    CHECK(std::fabs(mean - c.mean) < 4.0 * std::sqrt(c.var / n));
    CHECK(std::fabs(var / c.var - 1.0) < 0.02);
    CHECK(std::fabs(lag1) < 4.0 / std::sqrt(n));
    CHECK(std::fabs(cross) < 4.0 / std::sqrt(n));
  }
}

TEST_CASE("noise current: bounded distributions stay in bounds; every path is thread-count invariant") {
  Distribution bounded = Distribution::normal(0.0, 5.0);
  bounded.lo = -2.0;
  bounded.hi = 3.0;
  const auto b = currents(bounded, 1, 50, 200);
  for (const auto& row : b)
    for (double v : row) REQUIRE((v >= -2.0 && v <= 3.0));
  for (const Distribution& d : {Distribution::uniform(-1.0, 1.0), Distribution::normal(0.0, 1.0), bounded}) {
    const auto one = currents(d, 1, 37, 101);
    CHECK(currents(d, 2, 37, 101) == one);
    CHECK(currents(d, 3, 37, 101) == one);
  }
}
