// Plastic networks give bit-identical weights and spikes for any thread count and any chunking of
// run(): stdp, stdp_triplet and stdp_eligibility (with a well-mixed modulator released by spikes
// and by scheduled rewards), with and without a dendritic delay.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "nmsim/core/registry.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/models/lif.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/modulators/well_mixed.hpp"

using namespace nmsim;
using nmsim::models::Lif;
using nmsim::models::LifInit;
using nmsim::models::LifParams;

namespace {

struct SpikeLog : Observer {
  std::vector<Spike> spikes;
  void on_spikes(const std::vector<Spike>& s) override { spikes.insert(spikes.end(), s.begin(), s.end()); }
};

struct Result {
  std::vector<Spike> spikes;
  std::vector<std::vector<double>> weights;  // per projection, thread-independent order
  DelaySteps min_delay = 0;
};

// 160 E + 40 I lif with recurrent plastic E->E (stdp), E->I (stdp_triplet), X->E (stdp_eligibility,
// dopamine released by the spikes of D and by rewards), static I->E, Poisson drive.
Result run_net(int threads, const std::vector<double>& chunks, bool dendritic) {
  Simulation sim({0.1, 77, threads});
  LifInit init;
  init.v = Distribution::uniform(-70.0, -56.0);
  init.v_given = true;
  auto& e = sim.add_population<Lif>("E", 160, LifParams{}, init);
  auto& i = sim.add_population<Lif>("I", 40, LifParams{}, init);
  auto& x = sim.add_population<Lif>("X", 40, LifParams{}, init);
  auto& d = sim.add_population<Lif>("D", 10, LifParams{}, init);
  modulators::WellMixedParams mp;
  mp.tau = 100.0;
  mp.baseline = 0.01;
  mp.release.push_back({"D", 0.05, 1.0, 0.7});
  auto& da = sim.add_modulator<modulators::WellMixed>("da", mp);
  for (int r = 1; r <= 8; ++r) da.release_at(1234 * r, 0.3);

  Registry reg;
  models::register_models(reg);
  auto table = [&](std::vector<std::pair<std::string, double>> num, std::vector<std::pair<std::string, std::string>> str) {
    ParamTable t("plasticity.x");
    for (auto& [k, v] : num) t.set(k, {v});
    for (auto& [k, v] : str) t.set(k, {v});
    if (dendritic) t.set("dendritic_delay", {0.4});
    return t;
  };
  auto proj = [&](const char* name, const char* src, const char* tgt, double p, Distribution w, Distribution dl,
                  std::shared_ptr<const PlasticityModel> model) {
    ProjectionSpec s;
    s.name = name;
    s.source = src;
    s.target = tgt;
    s.connect.rule = ConnectSpec::Rule::fixed_probability;
    s.connect.p = p;
    s.weight = w;
    s.delay = dl;
    s.plasticity = std::move(model);
    return &sim.connect(s);
  };
  std::vector<Projection*> plastic;
  plastic.push_back(proj("EE", "E", "E", 0.1, Distribution::uniform(40.0, 90.0), Distribution::uniform(0.5, 3.0),
                         reg.make_plasticity("stdp", "EE",
                                             table({{"a_plus", 2.0}, {"a_minus", 2.4}, {"w_max", 150.0}},
                                                   {{"dependence", "multiplicative"}}))));
  plastic.push_back(proj("EI", "E", "I", 0.1, Distribution::uniform(40.0, 90.0), Distribution::uniform(0.5, 2.0),
                         reg.make_plasticity("stdp_triplet", "EI",
                                             table({{"a2_plus", 1.0}, {"a3_plus", 2.0}, {"a2_minus", 1.5},
                                                    {"a3_minus", 0.1}, {"w_max", 200.0}},
                                                   {{"pairing", "nearest"}}))));
  plastic.push_back(proj("XE", "X", "E", 0.3, Distribution::uniform(20.0, 120.0), Distribution::uniform(0.6, 5.0),
                         reg.make_plasticity("stdp_eligibility", "XE",
                                             table({{"a_plus", 1.0}, {"a_minus", 1.2}, {"tau_c", 50.0},
                                                    {"eta", 40.0}, {"baseline", 0.01}, {"w_max", 300.0},
                                                    {"interval", 33.0}},
                                                   {{"modulator", "da"}}))));
  Distribution wi = Distribution::normal(-250.0, 50.0);
  wi.hi = 0.0;
  proj("IE", "I", "E", 0.2, wi, Distribution::uniform(0.5, 1.5), nullptr);
  sim.add_stimulus<PoissonInput>("drive_e", e, "exc", 2000.0, 100.0);
  sim.add_stimulus<PoissonInput>("drive_i", i, "exc", 2000.0, 100.0);
  sim.add_stimulus<PoissonInput>("drive_x", x, "exc", 2500.0, 100.0);
  sim.add_stimulus<PoissonInput>("drive_d", d, "exc", 2000.0, 100.0);
  SpikeLog log;
  sim.add_observer(log);
  for (double c : chunks) sim.run(c);
  Result r;
  r.spikes = log.spikes;
  r.min_delay = sim.min_delay();
  for (Projection* p : plastic) {
    for (std::size_t t = 0; t < p->threads(); ++t) p->synchronize(static_cast<int>(t), sim.now());
    std::vector<double> w;
    for (const auto& s : p->synapses()) w.push_back(s.weight);
    r.weights.push_back(w);
  }
  return r;
}

bool same_spikes(const std::vector<Spike>& a, const std::vector<Spike>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (a[k].step != b[k].step || a[k].population != b[k].population || a[k].neuron != b[k].neuron) return false;
  return true;
}

void check_invariance(bool dendritic) {
  {
    const Result ref = run_net(1, {600.0}, dendritic);
    REQUIRE(ref.spikes.size() > 1000);
    // The weights moved (every rule did something).
    // Every rule moved some weight out of its initial range.
    const double lo[] = {40.0, 40.0, 20.0}, hi[] = {90.0, 90.0, 120.0};
    for (std::size_t p = 0; p < ref.weights.size(); ++p) {
      std::size_t moved = 0;
      for (double w : ref.weights[p]) moved += w < lo[p] || w > hi[p];
      CAPTURE(p);
      CHECK(moved > 0);
    }
    const std::vector<std::pair<int, std::vector<double>>> variants = {
        {2, {600.0}}, {3, {600.0}}, {1, {123.4, 476.6}}, {3, {0.7, 333.3, 0.1, 265.9}}};
    for (const auto& [threads, chunks] : variants) {
      CAPTURE(threads, chunks.size());
      const Result r = run_net(threads, chunks, dendritic);
      CHECK(r.min_delay == ref.min_delay);
      CHECK(same_spikes(r.spikes, ref.spikes));
      REQUIRE(r.weights.size() == ref.weights.size());
      for (std::size_t p = 0; p < r.weights.size(); ++p) {
        CAPTURE(p);
        CHECK(r.weights[p] == ref.weights[p]);
      }
    }
  }
}

}  // namespace

TEST_CASE("plasticity: bit-identical weights and spikes for 1, 2, 3 threads and for run(a)+run(b) vs run(a+b)") {
  REQUIRE_NOTHROW(check_invariance(false));  // the CHECKs are inside
}

TEST_CASE("plasticity: the same with a dendritic delay (0.4 ms) on every plastic projection") {
  REQUIRE_NOTHROW(check_invariance(true));
}
