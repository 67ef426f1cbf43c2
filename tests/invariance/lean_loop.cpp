// The one-barrier loop (no modulators, plasticity or active observers) gives exactly the same
// spikes and state as the general loop, for any thread count and any run() chunking.
#include <catch2/catch.hpp>

#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/models/lif.hpp"
#include "nmsim/models/lif_cond.hpp"

using namespace nmsim;

namespace {
struct Collector : Observer {
  bool passive_;
  std::vector<Spike> spikes;
  std::vector<Step> windows;
  explicit Collector(bool passive) : passive_(passive) {}
  bool passive() const override { return passive_; }
  void on_spikes(const std::vector<Spike>& s) override { spikes.insert(spikes.end(), s.begin(), s.end()); }
  void end_window(Step to) override { windows.push_back(to); }
};

// Built from std::string arguments: assigning literals field by field trips a GCC 12 -Wrestrict
// false positive here.
ProjectionSpec spec(std::string name, std::string source, std::string target, std::string port) {
  ProjectionSpec s;
  s.name = std::move(name);
  s.source = std::move(source);
  s.target = std::move(target);
  s.port = std::move(port);
  return s;
}

struct Result {
  std::vector<Spike> spikes;
  std::vector<double> v;
  std::uint64_t events;
  Step now;
};

Result run(int threads, bool passive, std::vector<double> chunks) {
  Simulation sim({0.1, 21, threads});
  models::LifParams p;
  p.tau_syn_ex = 5.0;
  auto& e = sim.add_population<models::Lif>("e", 160, p);
  models::LifCondParams c;
  auto& i = sim.add_population<models::LifCond>("i", 40, c);
  ProjectionSpec ee = spec("ee", "e", "e", "exc");
  ee.connect.rule = ConnectSpec::Rule::fixed_probability;
  ee.connect.p = 0.1;
  ee.weight = Distribution::normal(30.0, 8.0);
  ee.weight.lo = 0.0;
  ee.delay = Distribution::constant(0.1);  // one-step windows: the hardest case
  sim.connect(ee);
  ProjectionSpec ei = spec("ei", "e", "i", "exc");
  ei.connect = ee.connect;
  ei.weight = Distribution::constant(2.0);
  ei.delay = Distribution::uniform(0.1, 2.0);
  sim.connect(ei);
  ProjectionSpec ie = spec("ie", "i", "e", "inh");
  ie.connect.rule = ConnectSpec::Rule::fixed_indegree;
  ie.connect.k = 10;
  ie.weight = Distribution::constant(-60.0);
  ie.delay = Distribution::constant(0.3);
  sim.connect(ie);
  sim.add_stimulus<PoissonInput>("drive_e", e, "exc", 3000.0, 40.0);
  sim.add_stimulus<PoissonInput>("drive_i", i, "exc", 1500.0, 3.0);
  Collector col(passive);
  sim.add_observer(col);
  for (double d : chunks) sim.run(d);
  Result r{col.spikes, e.v(), sim.synaptic_events(), sim.now()};
  REQUIRE(col.windows.back() == sim.now());
  return r;
}

bool same(const Result& a, const Result& b) {
  if (a.spikes.size() != b.spikes.size() || a.v != b.v || a.events != b.events || a.now != b.now) return false;
  for (std::size_t k = 0; k < a.spikes.size(); ++k)
    if (a.spikes[k].step != b.spikes[k].step || a.spikes[k].population != b.spikes[k].population ||
        a.spikes[k].neuron != b.spikes[k].neuron)
      return false;
  return true;
}
}  // namespace

TEST_CASE("lean loop: identical to the general loop for 1, 2, 3 threads and any chunking") {
  const Result ref = run(1, false, {150.0});
  REQUIRE(ref.spikes.size() > 300);
  for (int t : {1, 2, 3}) {
    CAPTURE(t);
    CHECK(same(run(t, true, {150.0}), ref));
    CHECK(same(run(t, true, {0.1, 49.9, 37.3, 62.7}), ref));
    CHECK(same(run(t, false, {75.0, 75.0}), ref));
  }
}
