// A closed-loop task inside the simulation: the same seed gives the same trials, decisions,
// releases and bit-identical spikes and weights for 1, 2 and 3 threads and for a run split into
// chunks that end in the middle of trials.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "nmsim/core/simulation.hpp"
#include "nmsim/core/task.hpp"
#include "nmsim/io/config.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/modulators/register.hpp"

using namespace nmsim;

namespace {

// Sensory -> action with DA-gated three-factor plasticity, NA gating gain and learning rate,
// winner-take-all between two action pools (shared with tests/python/test_trials.py).
const std::string kNet = std::string(NMSIM_SOURCE_DIR) + "/tests/data/task_net.toml";

struct SpikeLog : Observer {
  std::vector<Spike> spikes;
  void on_spikes(const std::vector<Spike>& s) override { spikes.insert(spikes.end(), s.begin(), s.end()); }
};

struct Result {
  std::vector<Spike> spikes;
  std::vector<double> weights;
  std::vector<TrialRecord> trials;
};

Result run(int threads, const std::vector<double>& chunks) {
  const io::Config cfg = io::Config::load(kNet, {"simulation.threads=" + std::to_string(threads)});
  Registry reg;
  models::register_models(reg);
  modulators::register_modulators(reg);
  Simulation sim(cfg.simulation_options());
  cfg.build(sim, reg);
  SpikeLog log;
  sim.add_observer(log);
  for (double c : chunks) sim.run(c);
  Result r;
  r.spikes = log.spikes;
  Projection& p = sim.projection("sa");
  for (std::size_t t = 0; t < p.threads(); ++t) p.synchronize(static_cast<int>(t), sim.now());
  for (const auto& s : p.synapses()) r.weights.push_back(s.weight);
  for (const auto& s : sim.stimuli())
    if (const auto* t = dynamic_cast<const Task*>(s.get())) r.trials = t->trials();
  return r;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("task invariance: trials, spikes and weights for 1, 2, 3 threads and chunked runs") {
  const Result ref = run(1, {5600.0});
  REQUIRE(ref.trials.size() == 8);
  REQUIRE(ref.spikes.size() > 1000);
  // The loop is closed: releases happened and the weights moved.
  double released = 0;
  for (const auto& t : ref.trials) released += std::fabs(t.released[0]) + t.released[1];
  CHECK(released > 0);
  for (const auto& [threads, chunks] : std::vector<std::pair<int, std::vector<double>>>{
           {2, {5600.0}}, {3, {5600.0}}, {2, {1234.5, 3000.0, 1365.5}}, {1, {350.0, 5250.0}}}) {
    INFO("threads " << threads << ", chunks " << chunks.size());
    const Result r = run(threads, chunks);
    REQUIRE(r.spikes.size() == ref.spikes.size());
    std::size_t diff = 0;
    for (std::size_t i = 0; i < r.spikes.size(); ++i)
      diff += r.spikes[i].step != ref.spikes[i].step || r.spikes[i].neuron != ref.spikes[i].neuron ||
              r.spikes[i].population != ref.spikes[i].population;
    CHECK(diff == 0);
    REQUIRE(r.weights.size() == ref.weights.size());
    std::size_t wdiff = 0;
    for (std::size_t i = 0; i < r.weights.size(); ++i) wdiff += !same_bits(r.weights[i], ref.weights[i]);
    CHECK(wdiff == 0);
    REQUIRE(r.trials.size() == ref.trials.size());
    for (std::size_t i = 0; i < r.trials.size(); ++i) {
      const auto &a = r.trials[i], &b = ref.trials[i];
      CHECK(a.cue == b.cue);
      CHECK(a.decision == b.decision);
      CHECK(a.counts == b.counts);
      CHECK(same_bits(a.rpe, b.rpe));
      CHECK(a.released == b.released);
      for (std::size_t m = 0; m < a.peak.size(); ++m) CHECK(same_bits(a.peak[m], b.peak[m]));
    }
  }
}
