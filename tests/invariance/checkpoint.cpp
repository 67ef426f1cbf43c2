// Checkpoint and resume at the C++ API level (Simulation::save_state / restore_state,
// docs/checkpoint.md): a simulation saved at t1, restored into a freshly built one (any thread
// count) and run on gives spikes, states, weights and fields bit-identical to one run without
// a break, and the complete state saved at the end is the same, array for array.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "nmsim/core/registry.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/state.hpp"
#include "nmsim/io/config.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/modulators/register.hpp"
#include "probe_population.hpp"

using namespace nmsim;

namespace {

struct SpikeLog : Observer {
  std::vector<Spike> spikes;
  void on_spikes(const std::vector<Spike>& s) override { spikes.insert(spikes.end(), s.begin(), s.end()); }
};

struct Net {
  std::unique_ptr<Simulation> sim;
  SpikeLog log;
};

const std::string kConfig = std::string(NMSIM_SOURCE_DIR) + "/tests/data/checkpoint_net.toml";

std::unique_ptr<Net> build(int threads, std::vector<std::string> sets = {}) {
  sets.push_back("simulation.threads=" + std::to_string(threads));
  const io::Config cfg = io::Config::load(kConfig, sets);
  Registry reg;
  models::register_models(reg);
  modulators::register_modulators(reg);
  auto net = std::make_unique<Net>();
  net->sim = std::make_unique<Simulation>(cfg.simulation_options());
  cfg.build(*net->sim, reg);
  net->sim->add_observer(net->log);
  return net;
}

bool same_spikes(const std::vector<Spike>& a, const std::vector<Spike>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].step != b[i].step || a[i].population != b[i].population || a[i].neuron != b[i].neuron) return false;
  return true;
}

}  // namespace

TEST_CASE("checkpoint: a simulation restored from its saved state continues bit-identically, any thread count") {
  const double t1 = 73.0, t2 = 127.0;  // 730 steps: not a multiple of the 7-step window
  auto whole = build(2);
  whole->sim->run(t1 + t2);
  MemoryState end_whole;
  whole->sim->save_state(end_whole);
  REQUIRE(whole->sim->total_spikes() > 300);

  for (auto [a, b] : std::vector<std::pair<int, int>>{{1, 2}, {2, 3}, {3, 1}}) {
    CAPTURE(a, b);
    auto first = build(a);
    first->sim->run(t1);
    MemoryState saved;
    first->sim->save_state(saved);
    first.reset();  // nothing of the first half survives but the saved state

    auto second = build(b);
    second->sim->prepare();
    second->sim->restore_state(saved);
    CHECK(second->sim->now() == 730);
    second->sim->run(t2);
    CHECK(second->sim->now() == whole->sim->now());

    std::vector<Spike> tail;
    for (const Spike& s : whole->log.spikes)
      if (s.step >= 730) tail.push_back(s);
    CHECK(same_spikes(second->log.spikes, tail));
    CHECK(second->sim->total_spikes() == whole->sim->total_spikes());
    CHECK(second->sim->synaptic_events() == whole->sim->synaptic_events());
    for (const auto& p : whole->sim->populations()) {
      CHECK(second->sim->spike_counts(p->name()) == whole->sim->spike_counts(p->name()));
      for (const auto& var : p->variables()) {
        const VarView x = p->variable(var), y = second->sim->population(p->name()).variable(var);
        bool same = true;
        for (std::size_t i = 0; i < p->size(); ++i) same = same && x[i] == y[i];
        CHECK(same);
      }
    }
    for (const auto& p : whole->sim->projections()) {
      const auto x = p->synapses(), y = second->sim->projection(p->name()).synapses();
      REQUIRE(x.size() == y.size());
      bool same = true;
      for (std::size_t i = 0; i < x.size(); ++i) same = same && x[i].weight == y[i].weight;
      CHECK(same);
    }
    const auto fa = whole->sim->modulator("DA").field_view().values;
    const auto fb = second->sim->modulator("DA").field_view().values;
    CHECK(std::equal(fa.begin(), fa.end(), fb.begin(), fb.end()));

    // Everything the state holds, array for array, byte for byte.
    MemoryState end_second;
    second->sim->save_state(end_second);
    REQUIRE(end_second.entries().size() == end_whole.entries().size());
    std::vector<std::string> differ;
    for (const auto& [path, e] : end_whole.entries()) {
      const auto it = end_second.entries().find(path);
      if (it == end_second.entries().end() || it->second.type != e.type || it->second.bytes != e.bytes)
        differ.push_back(path);
    }
    CAPTURE(differ);
    CHECK(differ.empty());
  }
}

TEST_CASE("checkpoint: the saved state holds spikes in flight and queued plastic events") {
  // The round trip above is only a strong test if the state it carries over is not trivial.
  auto net = build(1);
  net->sim->run(73.0);
  MemoryState s;
  net->sim->save_state(s);
  const auto& e = s.entries();
  bool field_pending = false;
  for (int i = 0; i < 20 && !field_pending; ++i) {
    net->sim->run(0.3);
    MemoryState later;
    net->sim->save_state(later);
    field_pending = later.entries().at("modulator/DA/pending_step").bytes.size() > 0;
  }
  CHECK(field_pending);
  auto nonzero_f64 = [&](const std::string& path) {
    const auto& b = e.at(path).bytes;
    for (std::size_t i = 0; i + 8 <= b.size(); i += 8) {
      double v;
      std::memcpy(&v, b.data() + i, 8);
      if (v != 0.0) return true;
    }
    return false;
  };
  CHECK(nonzero_f64("population/post/ring/0"));  // pre -> post is plastic, but rec -> post (inh) is static
  CHECK(nonzero_f64("population/post/ring/1"));
  CHECK(e.at("projection/ff/pre_queue/synapse").bytes.size() > 0);
  CHECK(e.at("modulator/NA/pending_step").bytes.size() > 0);  // the reward at 130 ms
  CHECK(e.at("stimulus/gng/done/index").bytes.size() >= 2 * sizeof(std::int64_t));  // 25 ms trials of the task
}

TEST_CASE("checkpoint: restoring into another network or a component without checkpoint support fails clearly") {
  auto net = build(1);
  net->sim->run(10.0);
  MemoryState s;
  net->sim->save_state(s);
  auto other = build(1, {"projection.ff.connect.k=14"});
  CHECK_THROWS_AS(other->sim->restore_state(s), StateError);
  auto reseeded = build(1, {"simulation.seed=12"});
  CHECK_THROWS_WITH(reseeded->sim->restore_state(s), Catch::Contains("seed"));

  Simulation sim({0.1, 1, 1});
  sim.add_population<test::ProbePopulation>("p", 3);
  NullStateWriter null;
  CHECK_THROWS_WITH(sim.save_state(null), Catch::Contains("cannot be checkpointed"));
}

namespace {

// A static network (no modulators, plasticity or active observers): the engine's one-barrier loop.
const char* kStatic = R"(
[simulation]
dt = 0.1
duration = 100.0
seed = 3
[[population]]
name = "e"
model = "lif"
size = 60
params = { i_e = 300.0 }
init = { v = { uniform = [-70.0, -55.0] } }
[[population]]
name = "i"
model = "lif_cond"
size = 15
[[projection]]
name = "ee"
source = "e"
target = "e"
connect = { rule = "fixed_indegree", k = 10 }
weight = 40.0
delay = { uniform = [0.5, 4.0], min = 0.5 }
[[projection]]
name = "ei"
source = "e"
target = "i"
connect = { rule = "fixed_probability", p = 0.3 }
weight = 2.0
delay = 1.5
[[projection]]
name = "ie"
source = "i"
target = "e"
connect = { rule = "all_to_all" }
weight = -30.0
delay = 0.8
[[stimulus]]
name = "x"
kind = "poisson"
target = "e"
rate = 3000.0
weight = 20.0
)";

std::unique_ptr<Simulation> build_static(int threads) {
  const io::Config cfg = io::Config::parse(kStatic, "static.toml", {"simulation.threads=" + std::to_string(threads)});
  Registry reg;
  models::register_models(reg);
  modulators::register_modulators(reg);
  auto sim = std::make_unique<Simulation>(cfg.simulation_options());
  cfg.build(*sim, reg);
  return sim;
}

}  // namespace

TEST_CASE("checkpoint: the one-barrier loop of static networks resumes bit-identically too") {
  auto whole = build_static(2);
  whole->run(100.0);
  MemoryState end_whole;
  whole->save_state(end_whole);
  REQUIRE(whole->total_spikes() > 100);
  for (auto [a, b] : std::vector<std::pair<int, int>>{{1, 3}, {3, 2}}) {
    CAPTURE(a, b);
    auto first = build_static(a);
    first->run(37.3);
    MemoryState saved;
    first->save_state(saved);
    auto second = build_static(b);
    second->restore_state(saved);
    second->run(62.7);
    MemoryState end_second;
    second->save_state(end_second);
    bool same = end_second.entries().size() == end_whole.entries().size();
    for (const auto& [path, e] : end_whole.entries()) {
      const auto it = end_second.entries().find(path);
      same = same && it != end_second.entries().end() && it->second.bytes == e.bytes;
    }
    CHECK(same);
  }
}
