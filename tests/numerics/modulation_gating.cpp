// Receptors and many-to-one modulation change their targets exactly as configured.
#include <catch2/catch.hpp>
#include <cmath>

#include "nmsim/core/modulation.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/models/lif.hpp"
#include "nmsim/modulators/well_mixed.hpp"

using namespace nmsim;

namespace {
// A pool held at `level` uM (baseline = initial = level, no release).
modulators::WellMixed& pool(Simulation& sim, const std::string& name, double level) {
  modulators::WellMixedParams p;
  p.baseline = level;
  p.initial = level;
  return sim.add_modulator<modulators::WellMixed>(name, p);
}

struct VProbe : Observer {
  models::Lif* lif;
  std::vector<double> v;
  explicit VProbe(models::Lif& l) : lif(&l) {}
  bool samples() const override { return true; }
  void sample(Step, int tid) override {
    if (tid == 0) v.push_back(lif->v()[0]);
  }
};
}  // namespace

TEST_CASE("modulation: Hill receptors and presets") {
  Receptor r{0.5, 2.0, 3.0, -1.0};
  CHECK(r(0.0) == 0.0);
  CHECK(r(0.5) == Approx(-1.5).epsilon(1e-15));
  CHECK(r(1.0) == Approx(-3.0 * 4.0 / 5.0).epsilon(1e-15));
  Receptor d1, d2;
  REQUIRE(Receptor::preset("D1", d1));
  REQUIRE(Receptor::preset("D2", d2));
  // D2-like receptors are high-affinity: at 50 nM they are mostly occupied, D1-like barely.
  CHECK(d2(0.05) > 0.8);
  CHECK(d1(0.05) < 0.06);
  Receptor none;
  CHECK_FALSE(Receptor::preset("D7", none));
}

TEST_CASE("modulation: a modulated threshold changes the firing period as the f-I formula predicts") {
  const double dt = 0.1;
  for (double level : {0.0, 0.5, 2.0}) {
    Simulation sim({dt, 1, 1});
    models::LifParams p;
    p.i_e = 600.0;
    sim.add_population<models::Lif>("n", 1, p);
    auto& da = pool(sim, "DA", level);
    // shift = +5 mV * C / (1 + C)
    sim.add_modulation(ModulationMap("population.n.v_th", ModulationMap::Combine::sum, 0.0,
                                     {{&da, Receptor{1.0, 1.0, 5.0, 1.0}, {}}}));
    sim.run(2000.0);
    const double shift = 5.0 * level / (1.0 + level);
    const double R = p.tau_m / p.c_m;
    const double period =
        p.t_ref + p.tau_m * std::log((R * p.i_e - (p.v_reset - p.e_l)) / (R * p.i_e - (p.v_th + shift - p.e_l)));
    const double n = static_cast<double>(sim.spike_counts("n")[0]);
    const double measured = (2000.0 + p.t_ref) / n;
    CAPTURE(level, period, measured);
    CHECK(std::fabs(measured - period) <= dt + period * period / 2000.0);
  }
}

TEST_CASE("modulation: gain scales every input, bias adds current, several modulators combine") {
  const double dt = 0.1;
  Simulation sim({dt, 1, 1});
  models::LifParams p;
  p.synapse = models::LifParams::Synapse::delta;
  p.t_ref = 0.0;
  auto& lif = sim.add_population<models::Lif>("n", 1, p);
  auto& da = pool(sim, "DA", 1.0);
  auto& na = pool(sim, "NA", 3.0);
  sim.add_stimulus<SpikeTimesInput>("in", lif, "exc", std::vector<double>{5.0}, std::vector<NeuronIndex>{0}, 2.0);
  // gain = 1 * (1 + 0.5 * 1/(1+1)) * (1 + 1 * 3/(3+1)) = 1.25 * 1.75
  sim.add_modulation(ModulationMap("population.n.gain", ModulationMap::Combine::product, 1.0,
                                   {{&da, Receptor{1.0, 1.0, 0.5, 1.0}, {}}, {&na, Receptor{1.0, 1.0, 1.0, 1.0}, {}}}));
  VProbe probe(lif);
  sim.add_observer(probe);
  sim.run(10.0);
  // The jump at t = 5 ms (row 49 -> 50) is 2 mV x gain, on top of the leak's tiny change.
  const double gain = 1.25 * 1.75;
  const double before = probe.v[48];  // V(4.9 ms) = E_L: no input yet
  CHECK(before == Approx(p.e_l).epsilon(1e-12));
  CHECK(probe.v[49] - p.e_l == Approx(2.0 * gain).epsilon(1e-12));

  // Bias: sum of two terms, V settles at E_L + R * I_bias.
  Simulation sim2({dt, 1, 1});
  auto& l2 = sim2.add_population<models::Lif>("n", 1, models::LifParams{});
  auto& a2 = pool(sim2, "DA", 1.0);
  auto& b2 = pool(sim2, "ACh", 1.0);
  sim2.add_modulation(ModulationMap("population.n.i_bias", ModulationMap::Combine::sum, 50.0,
                                    {{&a2, Receptor{1.0, 1.0, 100.0, 1.0}, {}}, {&b2, Receptor{1.0, 1.0, 40.0, -1.0}, {}}}));
  sim2.run(300.0);
  const double bias = 50.0 + 50.0 - 20.0;  // pA
  const models::LifParams d;
  CHECK(l2.v()[0] == Approx(d.e_l + d.tau_m / d.c_m * bias).epsilon(1e-9));
}

TEST_CASE("modulation: bad targets are clear errors") {
  Simulation sim({0.1, 1, 1});
  sim.add_population<models::Lif>("n", 1, models::LifParams{});
  auto& da = pool(sim, "DA", 1.0);
  auto make = [&](const std::string& target) {
    return ModulationMap(target, ModulationMap::Combine::sum, 0.0, {{&da, Receptor{}, {}}});
  };
  CHECK_THROWS_WITH(sim.add_modulation(make("population.m.gain")), Catch::Contains("population") && Catch::Contains("\"m\""));
  CHECK_THROWS_WITH(sim.add_modulation(make("population.n.colour")), Catch::Contains("gain, v_th, i_bias or adaptation"));
  CHECK_THROWS_WITH(sim.add_modulation(make("projection.x.gain")), Catch::Contains("projection"));
  CHECK_THROWS_WITH(sim.add_modulation(make("n.gain")), Catch::Contains("population.<name>.<aspect>"));
  sim.add_modulation(make("population.n.gain"));
  CHECK_THROWS_WITH(sim.add_modulation(make("population.n.gain")), Catch::Contains("modulated already"));
}

#include "nmsim/core/registry.hpp"
#include "nmsim/models/register.hpp"

namespace {
// One pre/post pairing, then a DA pulse; returns the weight change of the single synapse, with
// the learning rate gated by NA through a receptor (factor 1 + r) when `gate` is set.
double rewarded_change(double na_level, bool gate, int threads) {
  Simulation sim({0.1, 3, threads});
  models::LifParams p;
  p.synapse = models::LifParams::Synapse::delta;
  auto& pre = sim.add_population<models::Lif>("pre", 1, p);
  auto& post = sim.add_population<models::Lif>("post", 1, p);
  // Pre fires at 10 ms, post at 15 ms (suprathreshold delta inputs).
  sim.add_stimulus<SpikeTimesInput>("kick_pre", pre, "exc", std::vector<double>{10.0}, std::vector<NeuronIndex>{0}, 30.0);
  sim.add_stimulus<SpikeTimesInput>("kick_post", post, "exc", std::vector<double>{15.0}, std::vector<NeuronIndex>{0}, 30.0);
  auto& da = pool(sim, "DA", 0.0);
  auto& na = pool(sim, "NA", na_level);
  Registry reg;
  models::register_models(reg);
  ParamTable t("plasticity.three");
  t.set("modulator", {std::string("DA")});
  t.set("tau_c", {500.0});
  t.set("w_max", {100.0});
  t.set("eta", {0.01});  // stays far from w_max: the gate must scale, not clip
  ProjectionSpec spec;
  spec.name = "ff";
  spec.source = "pre";
  spec.target = "post";
  spec.port = "exc";
  spec.weight = Distribution::constant(1.0);
  spec.delay = Distribution::constant(1.0);
  spec.plasticity = reg.make_plasticity("stdp_eligibility", "three", t);
  Projection& proj = sim.connect(spec);
  if (gate)
    sim.add_modulation(ModulationMap("projection.ff.learning_rate", ModulationMap::Combine::product, 1.0,
                                     {{&na, Receptor{0.5, 1.0, 2.0, 1.0}, {}}}));
  da.release_at(300, 0.4);  // t = 30 ms
  sim.run(1000.0);
  for (int tid = 0; tid < sim.threads(); ++tid) proj.synchronize(tid, sim.now());
  return proj.synapses().at(0).weight - 1.0;
}
}  // namespace

TEST_CASE("modulation: a gated learning rate scales the three-factor change exactly, for any thread count") {
  const double plain = rewarded_change(0.0, false, 1);
  REQUIRE(plain > 1e-3);
  for (double na : {0.25, 1.0, 4.0}) {
    const double factor = 1.0 + 2.0 * na / (0.5 + na);
    const double gated = rewarded_change(na, true, 1);
    CAPTURE(na, plain, gated);
    CHECK(gated / plain == Approx(factor).epsilon(1e-9));
    CHECK(rewarded_change(na, true, 3) == gated);
  }
}

#include "nmsim/models/izhikevich.hpp"

TEST_CASE("modulation: gated adaptation of an Izhikevich RS neuron changes its adaptation exactly as d * factor") {
  // With factor f the model is the RS model with d -> f d: compare with that model directly.
  for (double level : {0.0, 1.0, 3.0}) {
    const double factor = 1.0 + (-1.0) * level / (1.0 + level);  // product of (1 + r), r = -C/(1+C)
    auto count = [&](bool gated) {
      Simulation sim({0.1, 1, 1});
      models::IzhikevichParams p = models::IzhikevichParams::preset_params("RS");
      if (!gated) p.d *= factor;
      auto& n = sim.add_population<models::Izhikevich>("n", 1, p);
      sim.add_stimulus<CurrentInput>("step", n, std::vector<double>{10.0}, std::vector<double>{10.0});
      auto& pool5 = pool(sim, "5HT", level);
      if (gated)
        sim.add_modulation(ModulationMap("population.n.adaptation", ModulationMap::Combine::product, 1.0,
                                         {{&pool5, Receptor{1.0, 1.0, 1.0, -1.0}, {}}}));
      sim.run(500.0);
      return std::make_pair(sim.spike_counts("n")[0], n.variable("u")[0]);
    };
    const auto gated = count(true), direct = count(false);
    CAPTURE(level, factor, gated.first, direct.first);
    CHECK(gated.first == direct.first);
    CHECK(gated.second == Approx(direct.second).epsilon(1e-12));
    CHECK(gated.first > 0);
  }
}
