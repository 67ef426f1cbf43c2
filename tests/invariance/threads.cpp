// Bit-identical results for any thread count, and for any way of chunking run() calls.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/models/lif.hpp"

using namespace nmsim;
using nmsim::models::Lif;
using nmsim::models::LifInit;
using nmsim::models::LifParams;

namespace {

struct SpikeLog : Observer {
  std::vector<Spike> spikes;
  std::vector<std::pair<Step, Step>> windows;
  void begin_window(Step from, Step to) override { windows.push_back({from, to}); }
  void on_spikes(const std::vector<Spike>& s) override { spikes.insert(spikes.end(), s.begin(), s.end()); }
};

bool same_spikes(const std::vector<Spike>& a, const std::vector<Spike>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].step != b[i].step || a[i].population != b[i].population || a[i].neuron != b[i].neuron) return false;
  return true;
}

struct Result {
  std::vector<Spike> spikes;
  std::vector<double> v_e, v_i, iex_e, iin_e;
  std::uint64_t events = 0;
  DelaySteps min_delay = 0;
};

// 240 excitatory + 60 inhibitory lif (exp synapses), random recurrent connectivity with
// distributed weights and delays, Poisson drive, plus an external population feeding the same
// exc port of E as the recurrent E -> E projection (two projections into one port).
struct Net {
  Simulation sim;
  SpikeLog log;
  Lif* e;
  Lif* i;

  explicit Net(int threads) : sim({0.1, 2024, threads}) {
    LifInit init;
    init.v = Distribution::uniform(-70.0, -56.0);
    init.v_given = true;
    e = &sim.add_population<Lif>("E", 240, LifParams{}, init);
    i = &sim.add_population<Lif>("I", 60, LifParams{}, init);
    auto& x = sim.add_population<Lif>("X", 40, LifParams{}, init);
    auto proj = [&](const char* name, const char* src, const char* tgt, double p, Distribution w,
                    Distribution d) {
      ProjectionSpec s;
      s.name = name;
      s.source = src;
      s.target = tgt;
      s.connect.rule = ConnectSpec::Rule::fixed_probability;
      s.connect.p = p;
      s.connect.allow_autapses = false;
      s.weight = w;
      s.delay = d;
      sim.connect(s);
    };
    Distribution we = Distribution::normal(60.0, 20.0);
    we.lo = 0.0;
    Distribution wi = Distribution::normal(-250.0, 50.0);
    wi.hi = 0.0;
    proj("EE", "E", "E", 0.1, we, Distribution::uniform(0.5, 3.0));
    proj("EI", "E", "I", 0.1, we, Distribution::uniform(0.5, 2.0));
    proj("IE", "I", "E", 0.2, wi, Distribution::uniform(0.5, 1.5));
    proj("II", "I", "I", 0.2, wi, Distribution::constant(0.8));
    proj("XE", "X", "E", 0.3, Distribution::uniform(20.0, 120.0), Distribution::uniform(0.5, 5.0));
    sim.add_stimulus<PoissonInput>("drive_e", *e, "exc", 2000.0, 100.0);
    sim.add_stimulus<PoissonInput>("drive_i", *i, "exc", 2000.0, 100.0);
    sim.add_stimulus<PoissonInput>("drive_x", x, "exc", 2500.0, 100.0);
    sim.add_stimulus<PoissonInput>("noise_e", *e, "inh", 500.0, -100.0);
    sim.add_observer(log);
  }

  Result result() const {
    Result r;
    r.spikes = log.spikes;
    r.v_e = e->v();
    r.v_i = i->v();
    r.iex_e = e->i_syn_ex();
    r.iin_e = e->i_syn_in();
    r.events = sim.synaptic_events();
    r.min_delay = sim.min_delay();
    return r;
  }
};

Result run_net(int threads, const std::vector<double>& chunks) {
  Net net(threads);
  for (double c : chunks) net.sim.run(c);
  return net.result();
}

void check_same(const Result& a, const Result& b) {
  CHECK(a.spikes.size() == b.spikes.size());
  CHECK(same_spikes(a.spikes, b.spikes));
  CHECK(a.v_e == b.v_e);  // bitwise: operator== on doubles
  CHECK(a.v_i == b.v_i);
  CHECK(a.iex_e == b.iex_e);
  CHECK(a.iin_e == b.iin_e);
  CHECK(a.events == b.events);
}

}  // namespace

TEST_CASE("invariance: a recurrent network is bit-identical for threads = 1, 2, 3") {
  const Result one = run_net(1, {200.0});
  // The network must actually be busy for this to mean anything.
  REQUIRE(one.spikes.size() > 500);
  REQUIRE(one.min_delay == 5);
  std::size_t e_spikes = 0, i_spikes = 0;
  for (const Spike& s : one.spikes) {
    if (s.population == 0) ++e_spikes;
    if (s.population == 1) ++i_spikes;
  }
  CHECK(e_spikes > 100);
  CHECK(i_spikes > 20);
  // Spikes arrive sorted by (step, population, neuron).
  for (std::size_t k = 1; k < one.spikes.size(); ++k) {
    const Spike& a = one.spikes[k - 1];
    const Spike& b = one.spikes[k];
    REQUIRE((a.step < b.step || (a.step == b.step && (a.population < b.population ||
                                                      (a.population == b.population && a.neuron < b.neuron)))));
  }
  for (int threads : {2, 3}) {
    CAPTURE(threads);
    check_same(one, run_net(threads, {200.0}));
  }
}

TEST_CASE("invariance: run(a) + run(b) == run(a + b), for windows that do not line up") {
  const Result whole = run_net(1, {150.0});
  REQUIRE(whole.spikes.size() > 300);
  for (const auto& chunks : std::vector<std::vector<double>>{
           {37.3, 112.7}, {0.1, 149.9}, {75.0, 75.0}, {0.3, 0.7, 1.1, 13.3, 24.6, 110.0}}) {
    CAPTURE(chunks.size(), chunks[0]);
    check_same(whole, run_net(1, chunks));
    check_same(whole, run_net(3, chunks));
  }
  // Many short chunks, each shorter than the delivery window.
  std::vector<double> small(500, 0.3);
  check_same(whole, run_net(2, small));
}

TEST_CASE("invariance: the delivery windows follow the min delay and the chunk ends") {
  Net net(2);
  net.sim.run(1.2);
  net.sim.run(0.5);
  REQUIRE(net.sim.min_delay() == 5);
  const std::vector<std::pair<Step, Step>> want = {{0, 5}, {5, 10}, {10, 12}, {12, 17}};
  CHECK(net.log.windows == want);
  CHECK(net.sim.now() == 17);
}
