// Chunked runs must add inputs in the same order as one long run: floating-point sums of three or
// more terms depend on order, so the engine must not let the window boundaries pick it.
#include <catch2/catch.hpp>

#include <vector>

#include "nmsim/core/error.hpp"
#include "nmsim/core/simulation.hpp"
#include "probe_population.hpp"

using namespace nmsim;
using nmsim::test::Arrival;
using nmsim::test::ProbePopulation;

namespace {

// Two projections into the same port of one target neuron. With min delay 10 steps, one long run
// delivers the spikes of steps 10..19 in one window; run(1.5 ms) + ... splits them at step 15.
//   P1: a0 -> t0, w = 1,     delay 10 steps, a0 fires at step 16  -> arrival 27
//   P2: b0 -> t0, w = 1e16,  delay 14 steps, b0 fires at step 12  -> arrival 27
//       b1 -> t0, w = -1e16, delay 14 steps, b1 fires at step 12  -> arrival 27
// (1 + 1e16) - 1e16 = 0 but (1e16 - 1e16) + 1 = 1: the order shows in the result.
double arrival_sum(const std::vector<double>& chunks, int threads) {
  Simulation sim({0.1, 1, threads});
  auto& a = sim.add_population<ProbePopulation>("a", 1);
  auto& b = sim.add_population<ProbePopulation>("b", 2);
  auto& t = sim.add_population<ProbePopulation>("t", 1);
  ConnectSpec c1;
  c1.rule = ConnectSpec::Rule::pairs;
  c1.pairs = {{0, 0}};
  sim.connect({"P1", "a", "t", "exc", c1, Distribution::constant(1.0), Distribution::constant(1.0)});
  ConnectSpec c2;
  c2.rule = ConnectSpec::Rule::pairs;
  c2.pairs = {{0, 0}, {1, 0}};
  c2.pair_weights = {1e16, -1e16};
  sim.connect({"P2", "b", "t", "exc", c2, Distribution::constant(1.0), Distribution::constant(1.4)});
  a.fire(16, 0);
  b.fire(12, 0);
  b.fire(12, 1);
  for (double c : chunks) sim.run(c);
  REQUIRE(sim.min_delay() == 10);
  const auto& arr = t.arrivals(0);
  REQUIRE(arr.size() <= 1);
  if (arr.empty()) return 0.0;
  REQUIRE(arr[0].step == 27);
  return arr[0].value;
}

}  // namespace

TEST_CASE("chunks: inputs from several projections are summed in an order independent of chunking") {
  const double whole = arrival_sum({5.0}, 1);
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    CHECK(arrival_sum({5.0}, threads) == whole);
    CHECK(arrival_sum({1.5, 3.5}, threads) == whole);
    CHECK(arrival_sum({1.3, 0.4, 3.3}, threads) == whole);
    CHECK(arrival_sum({0.7, 0.7, 0.7, 2.9}, threads) == whole);
  }
}

TEST_CASE("chunks: run(0) does nothing and a non-multiple of dt is rejected") {
  Simulation sim({0.1, 1, 2});
  auto& t = sim.add_population<ProbePopulation>("t", 3);
  t.fire(0, 1);
  sim.run(0.0);
  CHECK(sim.now() == 0);
  CHECK(sim.prepared());
  CHECK_THROWS_AS(sim.run(0.05), ConfigError);
  CHECK_THROWS_AS(sim.run(-1.0), ConfigError);
  sim.run(0.1);
  CHECK(sim.now() == 1);
  CHECK(sim.total_spikes() == 1);
  CHECK(sim.spike_counts("t") == std::vector<std::uint64_t>{0, 1, 0});
}
