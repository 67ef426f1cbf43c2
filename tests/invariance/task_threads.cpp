// A closed-loop task inside the simulation: the same seed gives the same trials, decisions,
// releases and bit-identical spikes and weights for 1, 2 and 3 threads and for a run split into
// chunks that end in the middle of trials.
#include <catch2/catch.hpp>

#include <cstring>

#include "nmsim/core/simulation.hpp"
#include "nmsim/core/task.hpp"
#include "nmsim/io/config.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/modulators/register.hpp"

using namespace nmsim;

namespace {

// Sensory -> action with DA-gated three-factor plasticity; NA gates the action gain and the
// learning rate; two action pools decide by winner-take-all.
const char* kNet = R"([simulation]
dt = 0.5
duration = 5600.0
seed = 11

[[population]]
name = "sens"
model = "lif"
size = 40

[[population]]
name = "act"
model = "lif"
size = 20
init = { v = { uniform = [-70.0, -56.0] } }

[[modulator]]
name = "DA"
field = { type = "well_mixed" }
baseline = 1.0
uptake = { kind = "linear", tau = 100.0 }

[[modulator]]
name = "NA"
field = { type = "well_mixed" }
uptake = { kind = "linear", tau = 1000.0 }

[[plasticity]]
name = "da"
rule = "stdp_eligibility"
modulator = "DA"
baseline = 1.0
a_minus = 0.5
tau_c = 300.0
eta = 0.01
w_max = 80.0

[[projection]]
name = "sa"
source = "sens"
target = "act"
connect = { rule = "fixed_probability", p = 0.5 }
weight = { uniform = [10.0, 40.0] }
delay = 1.0
plasticity = "da"

[[projection]]
name = "aa"
source = "act"
target = "act"
connect = { rule = "fixed_probability", p = 0.3 }
weight = -30.0
delay = 1.0

[[stimulus]]
name = "noise"
kind = "poisson"
target = "act"
rate = 3000.0
weight = 40.0

[[modulation]]
name = "gain"
target = "population.act.gain"
terms = [ { modulator = "NA", receptor = "beta", emax = 0.5 } ]

[[modulation]]
name = "lr"
target = "projection.sa.learning_rate"
terms = [ { modulator = "NA", receptor = "alpha1", emax = 2.0 }, { modulator = "DA", receptor = "D2", emax = 0.1 } ]

[[task]]
name = "gng"
input = "sens"
weight = 100.0
trials = 8
response = 200.0
outcome = 200.0
iti = 300.0
alpha = 0.3
cues = [ { name = "A", neurons = { from = 0, to = 20 }, rate = 2500.0, reward = { go = 1.0, nogo = 0.0 } },
         { name = "B", neurons = { from = 20, to = 40 }, rate = 2500.0, reward = { go = -1.0, nogo = 0.5 } } ]
decision = { rule = "wta", population = "act", pools = [ { from = 0, to = 10 }, { from = 10, to = 20 } ], default = "nogo" }
reversal = { after = 4 }
releases = [ { name = "DA", modulator = "DA", signal = "rpe", gain = 0.5, min = -0.9, delay = 10.0 },
             { name = "NA", modulator = "NA", signal = "abs_rpe", gain = 0.4, threshold = 0.3, delay = 20.0 } ]
)";

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
  const io::Config cfg = io::Config::parse(kNet, "net.toml", {"simulation.threads=" + std::to_string(threads)});
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
