// Mechanics of examples/continual on a tiny synthetic problem (8 x 8 images, seconds):
// the cholinergic gate confines activity, and so three-factor plasticity, to the hidden neurons
// of the current task's zone. Neurons outside the zone fire no spike, so their readout synapses
// get no eligibility and keep their weights bit for bit, while synapses inside the zone change;
// without gating (ACh everywhere) the same neurons fire and their synapses change.
#include <catch2/catch.hpp>

#include <cmath>

#include "continual.hpp"

using namespace nmsim;

namespace {

// bias_gate: the earlier gate (ACh cancels a hyperpolarising bias) instead of the default one
// (ACh sets the hidden layer's input gain).
continual::Params tiny(bool gating, bool bias_gate) {
  continual::Params p;
  p.side = 8;
  p.pool = 1;
  p.rf = 4;
  p.hidden = 60;
  p.pool_size = 4;
  p.tasks = 2;
  p.gating = gating;
  p.zone_half_um = 150.0;  // zones (2 tasks): task 0 [100, 400] um, task 1 [600, 900] um (layer 0..1000)
  if (bias_gate) {
    p.ach_gain = 0.0;
    p.hidden_i_e = -3000.0;  // no input pattern here can overcome this without ACh
    p.ach_emax = 3000.0;
  }
  p.settle_ms = 1500.0;
  p.a_minus = 0.0;
  p.eta = 0.05;
  p.w_out0 = 150.0;
  p.w_out_max = 400.0;
  p.w_inh = -30.0;
  return p;
}

// Bright bar: top half (target 0) or bottom half (target 1).
std::vector<double> bar(int target) {
  std::vector<double> im(64, 0.0);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x)
      if ((y < 4) == (target == 0)) im[static_cast<std::size_t>(y * 8 + x)] = 1.0;
  return im;
}

struct Outcome {
  std::vector<double> x;                           // hidden positions (um)
  std::vector<std::uint64_t> spikes;               // hidden spikes during training of task 1
  std::vector<Projection::Synapse> before, after;  // readout synapses
};

Outcome train_task1(bool gating, bool bias_gate) {
  const continual::Params p = tiny(gating, bias_gate);
  Simulation sim({p.dt, 5, 1});
  continual::Network net = continual::build(sim, p);
  continual::Runner run(sim, net, p);
  run.set_context(1, true);  // a new task: the novelty channel opens plasticity
  Outcome o;
  o.x = net.hidden_x;
  auto all_synapses = [&] {
    std::vector<Projection::Synapse> v;
    for (const auto& name : continual::readout_names(p)) {
      // Synchronise the lazy rule first so that the weights are current.
      sim.projection(name).synchronize(0, sim.now());
      for (const auto& q : sim.projection(name).synapses()) v.push_back(q);
    }
    return v;
  };
  o.before = all_synapses();
  const auto h0 = sim.spike_counts("hidden");
  for (int n = 0; n < 30; ++n) run.trial(bar(n % 2), n % 2, true);
  // Let DA and eligibility decay, then read the synchronised weights.
  sim.run(500.0);
  o.after = all_synapses();
  const auto& h1 = sim.spike_counts("hidden");
  for (std::size_t j = 0; j < h1.size(); ++j) o.spikes.push_back(h1[j] - h0[j]);
  return o;
}

}  // namespace

TEST_CASE("continual: ACh gating freezes the readout synapses of hidden neurons outside the zone", "[continual]") {
  const bool bias_gate = GENERATE(false, true);
  INFO("gate: " << (bias_gate ? "ACh cancels a bias" : "ACh sets the input gain"));
  const Outcome g = train_task1(true, bias_gate);
  const Outcome c = train_task1(false, bias_gate);
  REQUIRE(g.before.size() == g.after.size());
  // Far outside zone 1 (more than 4 ACh space constants beyond its edges).
  auto outside = [](double x) { return x < 600.0 - 50.0 || x > 900.0 + 50.0; };
  auto inside = [](double x) { return x > 600.0 && x < 900.0; };
  std::size_t n_out = 0, fired_out_g = 0, fired_out_c = 0, fired_in_g = 0;
  for (std::size_t j = 0; j < g.x.size(); ++j) {
    if (outside(g.x[j])) {
      ++n_out;
      fired_out_g += g.spikes[j] > 0;
      fired_out_c += c.spikes[j] > 0;
    }
    if (inside(g.x[j])) fired_in_g += g.spikes[j] > 0;
  }
  REQUIRE(n_out > 20);
  CHECK(fired_out_g == 0);         // gated: silent outside the zone
  CHECK(fired_out_c > n_out / 4);  // control: the same neurons respond
  CHECK(fired_in_g > 0);
  std::size_t frozen_ok = 0, frozen = 0, changed_in = 0, changed_out_c = 0;
  for (std::size_t q = 0; q < g.before.size(); ++q) {
    const double x = g.x[g.before[q].source];
    if (outside(x)) {
      ++frozen;
      frozen_ok += g.after[q].weight == g.before[q].weight;  // bit for bit
      changed_out_c += c.after[q].weight != c.before[q].weight;
    }
    if (inside(x) && g.spikes[g.before[q].source] > 0) changed_in += g.after[q].weight != g.before[q].weight;
  }
  CHECK(frozen_ok == frozen);
  CHECK(changed_in > 0);
  CHECK(changed_out_c > 0);
}
