// Spike delivery through the input rings: exact arrival times, sums, long delays across many
// windows, wraparound, several projections and ports, and stimuli arriving on the grid.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "nmsim/core/error.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/models/lif.hpp"
#include "probe_population.hpp"

using namespace nmsim;
using nmsim::models::Lif;
using nmsim::models::LifParams;
using nmsim::test::Arrival;
using nmsim::test::ProbePopulation;

namespace {

// (target neuron, arrival step, port) -> summed value.
using ArrivalMap = std::map<std::tuple<std::size_t, Step, int>, double>;

ArrivalMap recorded(const ProbePopulation& p) {
  ArrivalMap m;
  for (std::size_t i = 0; i < p.size(); ++i)
    for (const Arrival& a : p.arrivals(i)) {
      auto [it, fresh] = m.emplace(std::make_tuple(i, a.step, a.port), a.value);
      REQUIRE(fresh);  // one entry per neuron, step and port
    }
  return m;
}

// What the synapses of `proj` must deliver for the spikes `fires` of its source (k: emission step).
void expect(ArrivalMap& m, const Projection& proj, const std::vector<std::pair<Step, NeuronIndex>>& fires) {
  for (const auto& syn : proj.synapses())
    for (const auto& [k, s] : fires)
      if (s == syn.source) m[std::make_tuple(syn.target, k + 1 + syn.delay, proj.port())] += syn.weight;
}

struct VProbe : Observer {
  Lif* lif;
  std::vector<double> v, i_ex;  // index k: state at t_{k+1}, neuron 0
  explicit VProbe(Lif& l) : lif(&l) {}
  bool samples() const override { return true; }
  void sample(Step, int tid) override {
    if (tid != 0) return;
    v.push_back(lif->v()[0]);
    if (lif->params().synapse == LifParams::Synapse::exp) i_ex.push_back(lif->i_syn_ex()[0]);
  }
};

LifParams quiet(LifParams::Synapse syn) {
  LifParams p;
  p.e_l = 0.0;
  p.v_reset = 0.0;
  p.v_th = 1e9;  // never fires
  p.synapse = syn;
  return p;
}

}  // namespace

TEST_CASE("delivery: a spike with delay d arrives at exactly t_spike + d (probe)") {
  for (int threads : {1, 3}) {
    for (int d : {1, 2, 3, 10, 57, 100, 1000}) {
      CAPTURE(threads, d);
      Simulation sim({0.1, 1, threads});
      auto& src = sim.add_population<ProbePopulation>("src", 2);
      auto& tgt = sim.add_population<ProbePopulation>("tgt", 5);
      ConnectSpec c;
      c.rule = ConnectSpec::Rule::pairs;
      c.pairs = {{1, 4}};
      ProjectionSpec s{"p", "src", "tgt", "exc", c, Distribution::constant(2.5), Distribution::constant(0.1 * d)};
      sim.connect(s);
      src.fire(7, 1);  // stamp t = 0.8 ms
      sim.run(0.1 * (d + 20));
      REQUIRE(sim.total_spikes() == 1);
      const auto& a = tgt.arrivals(4);
      REQUIRE(a.size() == 1);
      CHECK(a[0].step == 7 + 1 + d);
      CHECK(a[0].port == 0);
      CHECK(a[0].value == 2.5);
      for (std::size_t i = 0; i < 4; ++i) CHECK(tgt.arrivals(i).empty());
    }
  }
}

TEST_CASE("delivery: lif delta V jumps by w, lif exp I_syn jumps by w, exactly at t_spike + d") {
  for (auto syn : {LifParams::Synapse::delta, LifParams::Synapse::exp}) {
    for (int d : {1, 4, 25}) {
      CAPTURE(d, syn == LifParams::Synapse::delta);
      Simulation sim({0.1, 1, 1});
      auto& src = sim.add_population<ProbePopulation>("src", 1);
      auto& lif = sim.add_population<Lif>("n", 1, quiet(syn));
      ProjectionSpec s{"p", "src", "n", "exc", {}, Distribution::constant(0.75), Distribution::constant(0.1 * d)};
      sim.connect(s);
      const Step k = 12;  // spike at t = 1.3 ms, arrival at t_a, a = 13 + d
      src.fire(k, 0);
      VProbe probe(lif);
      sim.add_observer(probe);
      sim.run(5.0);
      const auto a = static_cast<std::size_t>(k + 1 + d);
      // probe.v[j] is V(t_{j+1}): nothing before t_a, exactly w at t_a.
      const auto& x = syn == LifParams::Synapse::delta ? probe.v : probe.i_ex;
      for (std::size_t j = 0; j + 1 < a; ++j) REQUIRE(x[j] == 0.0);
      CHECK(x[a - 1] == 0.75);
      if (syn == LifParams::Synapse::exp) CHECK(probe.v[a - 1] == 0.0);  // the current acts from t_a on
      if (syn == LifParams::Synapse::exp) CHECK(probe.v[a] > 0.0);
      CHECK(x[a] < 0.75);  // then decays
    }
  }
}

TEST_CASE("delivery: several inputs arriving at the same time are summed") {
  Simulation sim({0.1, 1, 2});
  auto& src = sim.add_population<ProbePopulation>("src", 6);
  auto& tgt = sim.add_population<ProbePopulation>("tgt", 2);
  ConnectSpec c;
  c.rule = ConnectSpec::Rule::pairs;
  // Four sources on neuron 1 with delay 5, plus a multapse of source 5, plus one input from an
  // earlier spike with a longer delay, all arriving at step 3 + 1 + 5 = 9.
  c.pairs = {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {5, 1}, {5, 1}, {4, 1}};
  c.pair_weights = {0.25, 0.5, 1.0, 2.0, 8.0, 16.0, 64.0};
  c.pair_delays = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.8};
  sim.connect({"p", "src", "tgt", "exc", c});
  for (NeuronIndex i : {0u, 1u, 2u, 3u, 5u}) src.fire(3, i);
  src.fire(0, 4);
  sim.run(2.0);
  const auto& a = tgt.arrivals(1);
  REQUIRE(a.size() == 1);
  CHECK(a[0].step == 9);
  CHECK(a[0].value == 0.25 + 0.5 + 1.0 + 2.0 + 8.0 + 16.0 + 64.0);
  CHECK(tgt.arrivals(0).empty());
  CHECK(sim.synaptic_events() == 7);
}

TEST_CASE("delivery: random delays 1..100 steps over many windows and ring wraparounds, any chunking") {
  // Integer weights make every sum exact, so the expectation needs no summation order.
  for (int min_steps : {1, 10}) {
    for (int threads : {1, 3}) {
      CAPTURE(min_steps, threads);
      const double dt = 0.1;
      Simulation sim({dt, 5, threads});
      auto& src = sim.add_population<ProbePopulation>("src", 30);
      auto& tgt = sim.add_population<ProbePopulation>("tgt", 40);
      ConnectSpec c;
      c.rule = ConnectSpec::Rule::pairs;
      RandomStream rng(5, purpose_id("test/delivery"), static_cast<std::uint32_t>(min_steps));
      for (int q = 0; q < 300; ++q) {
        c.pairs.push_back({rng.below(30), rng.below(40)});
        c.pair_weights.push_back(1.0 + rng.below(8));
        c.pair_delays.push_back(dt * (min_steps + rng.below(static_cast<std::uint32_t>(101 - min_steps))));
      }
      c.pair_delays[0] = dt * min_steps;
      c.pair_delays[1] = dt * 100;
      const Projection& proj = sim.connect({"p", "src", "tgt", "exc", c});
      const Step steps = 30000;  // 300 passes around a 101-slot ring
      std::vector<std::pair<Step, NeuronIndex>> fires;
      for (Step k = 0; k < steps; ++k)
        for (NeuronIndex i = 0; i < 30; ++i)
          if (rng.uniform() < 0.01) {
            src.fire(k, i);
            fires.push_back({k, i});
          }
      // Advance in uneven chunks that do not line up with the delivery windows.
      Step done = 0;
      while (done < steps) {
        const Step n = std::min<Step>(steps - done, 1 + rng.below(250));
        sim.run_steps(n);
        done += n;
      }
      REQUIRE(sim.min_delay() == min_steps);
      REQUIRE(proj.max_delay() == 100);
      REQUIRE(tgt.inputs().slots() == 101);
      ArrivalMap want;
      expect(want, proj, fires);
      // Inputs due after the end of the run are not seen.
      for (auto it = want.begin(); it != want.end();)
        it = std::get<1>(it->first) > steps ? want.erase(it) : std::next(it);
      const ArrivalMap got = recorded(tgt);
      REQUIRE(want.size() > 5000);
      CHECK(got.size() == want.size());
      std::size_t wrong = 0;
      for (const auto& [key, v] : want) {
        auto it = got.find(key);
        wrong += it == got.end() || it->second != v;
      }
      CHECK(wrong == 0);
      CHECK(sim.total_spikes() == fires.size());
    }
  }
}

TEST_CASE("delivery: several projections onto exc, inh and a pulse port") {
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    Simulation sim({0.1, 9, threads});
    auto& a = sim.add_population<ProbePopulation>("a", 10);
    auto& b = sim.add_population<ProbePopulation>("b", 7);
    auto& t = sim.add_population<ProbePopulation>("t", 12);
    auto spec = [](const char* name, const char* src, const char* port, double w, Distribution d) {
      ProjectionSpec s;
      s.name = name;
      s.source = src;
      s.target = "t";
      s.port = port;
      s.connect.rule = ConnectSpec::Rule::fixed_indegree;
      s.connect.k = 3;
      s.weight = Distribution::constant(w);
      s.delay = d;
      return s;
    };
    std::vector<const Projection*> projs = {
        &sim.connect(spec("a_exc", "a", "exc", 1.0, Distribution::uniform(0.2, 3.0))),
        &sim.connect(spec("b_exc", "b", "exc", 4.0, Distribution::uniform(0.5, 1.0))),
        &sim.connect(spec("b_inh", "b", "inh", -2.0, Distribution::constant(0.2))),
        &sim.connect(spec("a_pul", "a", "pul", 32.0, Distribution::uniform(0.2, 6.0))),
        // A second projection a -> t.exc with its own delays.
        &sim.connect(spec("a_exc2", "a", "exc", 64.0, Distribution::uniform(1.0, 2.0)))};
    std::vector<std::pair<Step, NeuronIndex>> fa, fb;
    RandomStream rng(1, purpose_id("test/ports"), 0);
    const Step steps = 3000;
    for (Step k = 0; k < steps; ++k) {
      for (NeuronIndex i = 0; i < 10; ++i)
        if (rng.uniform() < 0.02) a.fire(k, i), fa.push_back({k, i});
      for (NeuronIndex i = 0; i < 7; ++i)
        if (rng.uniform() < 0.02) b.fire(k, i), fb.push_back({k, i});
    }
    sim.run_steps(1234);
    sim.run_steps(steps - 1234);
    ArrivalMap want;
    for (const Projection* p : projs) expect(want, *p, p->source().name() == "a" ? fa : fb);
    for (auto it = want.begin(); it != want.end();)
      it = std::get<1>(it->first) > steps ? want.erase(it) : std::next(it);
    // The pulse port's input for arrival step `steps` is read in update(steps): not yet run.
    for (auto it = want.begin(); it != want.end();)
      it = (std::get<2>(it->first) == 2 && std::get<1>(it->first) == steps) ? want.erase(it) : std::next(it);
    const ArrivalMap got = recorded(t);
    CHECK(got.size() == want.size());
    std::size_t wrong = 0;
    for (const auto& [key, v] : want) {
      auto it = got.find(key);
      wrong += it == got.end() || it->second != v;
    }
    CHECK(wrong == 0);
    std::set<int> ports;
    for (const auto& [key, v] : got) ports.insert(std::get<2>(key));
    CHECK(ports == std::set<int>{0, 1, 2});
  }
}

TEST_CASE("stimuli: SpikeTimesInput events arrive at t on the grid, on jump and pulse ports") {
  for (int threads : {1, 3}) {
    Simulation sim({0.1, 1, threads});
    auto& t = sim.add_population<ProbePopulation>("t", 4);
    sim.add_stimulus<SpikeTimesInput>("s", t, "exc", std::vector<double>{2.3, 0.1, 0.5, 2.3, 2.3},
                                      std::vector<NeuronIndex>{2, 0, 1, 2, 3}, 1.5);
    sim.add_stimulus<SpikeTimesInput>("all", t, "inh", std::vector<double>{0.7, 1.2}, std::vector<NeuronIndex>{}, -1.0);
    sim.add_stimulus<SpikeTimesInput>("pul", t, "pul", std::vector<double>{0.0, 0.3}, std::vector<NeuronIndex>{1, 1},
                                      4.0);
    sim.run(1.0);
    sim.run(2.0);
    const auto a0 = t.arrivals(0), a1 = t.arrivals(1), a2 = t.arrivals(2), a3 = t.arrivals(3);
    CHECK(a0 == std::vector<Arrival>{{1, 0, 1.5}, {7, 1, -1.0}, {12, 1, -1.0}});
    CHECK(a1 == std::vector<Arrival>{{0, 2, 4.0}, {3, 2, 4.0}, {5, 0, 1.5}, {7, 1, -1.0}, {12, 1, -1.0}});
    CHECK(a2 == std::vector<Arrival>{{7, 1, -1.0}, {12, 1, -1.0}, {23, 0, 3.0}});
    CHECK(a3 == std::vector<Arrival>{{7, 1, -1.0}, {12, 1, -1.0}, {23, 0, 1.5}});
  }
  {
    // With lif (delta) the voltage jumps at t = 0.5 ms: V(t_5) = w.
    Simulation sim({0.1, 1, 1});
    auto& lif = sim.add_population<Lif>("n", 1, quiet(LifParams::Synapse::delta));
    sim.add_stimulus<SpikeTimesInput>("s", lif, "exc", std::vector<double>{0.5}, std::vector<NeuronIndex>{0}, 0.3);
    VProbe probe(lif);
    sim.add_observer(probe);
    sim.run(1.0);
    CHECK(probe.v[3] == 0.0);
    CHECK(probe.v[4] == 0.3);
  }
}

TEST_CASE("stimuli: SpikeTimesInput rejects times that cannot be delivered") {
  auto run_with = [](std::vector<double> times, const char* port) {
    Simulation sim({0.1, 1, 1});
    auto& t = sim.add_population<ProbePopulation>("t", 2);
    sim.add_stimulus<SpikeTimesInput>("s", t, port, std::move(times), std::vector<NeuronIndex>{}, 1.0);
    sim.run(1.0);
  };
  // A jump port's first arrival is at t = dt: t = 0 would be dropped silently.
  CHECK_THROWS_WITH(run_with({0.0}, "exc"), Catch::Contains("expected times >= dt"));
  CHECK_THROWS_AS(run_with({0.5, 0.0}, "inh"), ConfigError);
  CHECK_THROWS_AS(run_with({0.15}, "exc"), ConfigError);
  CHECK_THROWS_AS(run_with({-0.1}, "pul"), ConfigError);
  CHECK_NOTHROW(run_with({0.0}, "pul"));
  CHECK_NOTHROW(run_with({0.1}, "exc"));
  Simulation sim({0.1, 1, 1});
  auto& t = sim.add_population<ProbePopulation>("t", 2);
  CHECK_THROWS_AS(sim.add_stimulus<SpikeTimesInput>("s", t, "nope", std::vector<double>{1.0},
                                                    std::vector<NeuronIndex>{}, 1.0),
                  ConfigError);
  CHECK_THROWS_AS(sim.add_stimulus<SpikeTimesInput>("s", t, "exc", std::vector<double>{1.0},
                                                    std::vector<NeuronIndex>{2}, 1.0),
                  ConfigError);
}

TEST_CASE("stimuli: CurrentInput holds each amplitude over t_i <= t < t_{i+1} and stops at stop") {
  Simulation sim({0.1, 1, 2});
  auto& t = sim.add_population<ProbePopulation>("t", 3);
  sim.add_stimulus<CurrentInput>("c", t, std::vector<double>{0.5, 1.0, 1.3}, std::vector<double>{10.0, 0.0, -5.0},
                                 2.0, NeuronSubset({0, 2}, 3));
  sim.run(3.0);
  std::vector<Arrival> want;
  for (Step k = 5; k < 10; ++k) want.push_back({k, -1, 10.0});
  for (Step k = 13; k < 20; ++k) want.push_back({k, -1, -5.0});
  CHECK(t.i_ext(0) == want);
  CHECK(t.i_ext(1).empty());
  CHECK(t.i_ext(2) == want);
}

TEST_CASE("populations: a model with more input ports than the engine supports is rejected") {
  Simulation sim({0.1, 1, 1});
  std::vector<PortInfo> ports;
  for (int q = 0; q <= InputView::kMaxPorts; ++q) ports.push_back({"p" + std::to_string(q), "pA", PortKind::jump});
  CHECK_THROWS_AS(sim.add_population<ProbePopulation>("t", 2, ports), ConfigError);
  ports.pop_back();
  CHECK_NOTHROW(sim.add_population<ProbePopulation>("u", 2, ports));
}
