// Three-factor rule (stdp_eligibility) reading a spatial field: every synapse integrates the
// concentration at its target neuron's position. Compared with an independent clock-driven
// reference that steps each synapse's tag and weight over every time step against the field's
// probe at the target (recorded by the test through its own probes), with a point release so that
// targets at different distances see different concentrations; gating maps (learning rate,
// a_plus, a_minus) read at the target; pulse and jump ports; thread-count invariance.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "eligibility_rule.hpp"
#include "nmsim/core/modulation.hpp"
#include "nmsim/core/registry.hpp"
#include "nmsim/core/rng.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/models/plastic_projection.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/models/stdp_eligibility.hpp"
#include "nmsim/modulators/grid_field.hpp"
#include "probe_population.hpp"
#include "unbatched_eligibility.hpp"

using namespace nmsim;
using nmsim::modulators::GridField;
using nmsim::modulators::GridFieldParams;
using nmsim::test::ProbePopulation;

namespace {

constexpr double kDt = 0.1;
constexpr int kD = 15;  // synaptic delay, steps

struct Rule : test::EligibilityRule {
  Rule() {
    tau_c = 100.0;
    baseline = 0.01;
    interval = 150.0;  // short frames: many frame boundaries in a run
  }
};

enum class Gate { none, learning_rate, amplitudes };

// Receptor of the gating maps: value = 1 + 2 C / (0.2 + C).
const Receptor kGate{0.2, 1.0, 2.0, 1.0};

// Records the pieces of step k at the test's own probes (one per target neuron).
struct ProbeLog : Observer {
  const Modulator* m = nullptr;
  std::vector<std::size_t> ids;
  std::vector<std::vector<LevelPiece>> pieces;  // [target][step]
  void begin_window(Step from, Step to) override {
    pieces.resize(ids.size());
    for (Step k = from; k < to; ++k)
      for (std::size_t j = 0; j < ids.size(); ++j) pieces[j].push_back(m->probe_piece(k, ids[j]));
  }
};

// Release point R = (50, 50, 50) um in a 21^3 grid of 5 um voxels (0..100 um); targets at
// distances 0, 12.5, 27 and 45 um from it, off the voxel centres (trilinear probes).
const Position kRelease{50.0, 50.0, 50.0};
const std::vector<Position> kTargets{{50.0, 50.0, 50.0}, {62.5, 50.0, 50.0}, {50.0, 31.0, 70.0}, {50.0, 50.0, 5.0}};

// field_dt > dt: the probes hold their values over blocks of field_dt / dt steps, and the rule
// integrates once per block (StdpEligibility, held fields) instead of once per step.
GridFieldParams field_params(double field_dt) {
  GridFieldParams p;
  p.field_dt = field_dt;
  p.geometry.origin = {0.0, 0.0, 0.0};
  p.geometry.spacing = {5.0, 5.0, 5.0};
  p.geometry.shape = {21, 21, 21};
  p.diffusion = 0.763;
  p.tortuosity = 1.54;
  p.volume_fraction = 0.21;
  p.kinetics.tau = 200.0;           // first-order uptake, ms
  p.kinetics.production = 0.00005;  // a small tonic level (0.01 uM): m > 0 everywhere
  p.release.push_back({"dopa", 2000.0, 1.0, 1.0});
  return p;
}

struct Net {
  Simulation sim;
  ProbePopulation* pre;
  ProbePopulation* post;
  ProbePopulation* dopa;
  GridField* da;
  Projection* proj;
  ProbeLog log;
  Net(std::size_t n_pre, const Rule& r, const std::string& port, Gate gate, int threads, double field_dt = 0.0,
      bool unbatched = false)
      : sim({kDt, 5, threads}) {
    pre = &sim.add_population<ProbePopulation>("pre", n_pre);
    post = &sim.add_population<ProbePopulation>("post", kTargets.size());
    post->set_positions(kTargets);
    dopa = &sim.add_population<ProbePopulation>("dopa", 1);
    dopa->set_positions({kRelease});
    da = &sim.add_modulator<GridField>("da", field_params(field_dt));
    Registry reg;
    models::register_models(reg);
    ParamTable t("plasticity.e");
    test::set_eligibility_rule(t, r);
    ProjectionSpec s;
    s.name = "e";
    s.source = "pre";
    s.target = "post";
    s.port = port;
    s.connect.rule = ConnectSpec::Rule::all_to_all;
    s.weight = Distribution::constant(0.0);
    s.delay = Distribution::constant(kD * kDt);
    s.plasticity = unbatched ? std::make_shared<test::UnbatchedModel>(models::StdpEligibilityParams::from(t))
                             : reg.make_plasticity("stdp_eligibility", "e", t);
    proj = &sim.connect(s);
    const auto map = [&](const char* aspect) {
      sim.add_modulation(
          ModulationMap(std::string("projection.e.") + aspect, ModulationMap::Combine::sum, 1.0, {{da, kGate, {}}}));
    };
    if (gate == Gate::learning_rate) map("learning_rate");
    if (gate == Gate::amplitudes) {
      map("a_plus");
      map("a_minus");
    }
    log.m = da;
    for (const auto& x : kTargets) log.ids.push_back(da->add_probe(x));
    sim.add_observer(log);
  }
  std::vector<double> weights() {
    for (std::size_t t = 0; t < proj->threads(); ++t) proj->synchronize(static_cast<int>(t), sim.now());
    std::vector<double> w;
    for (const auto& syn : proj->synapses()) w.push_back(syn.weight);
    return w;
  }
};

double trace(const std::vector<Step>& s, Step a, double tau, bool inclusive) {
  double v = 0.0;
  for (Step t : s)
    if (t < a || (inclusive && t == a)) v += std::exp(-static_cast<double>(a - t) * kDt / tau);
  return v;
}

double level(const LevelPiece& p) { return p.base + p.amp; }

// Clock-driven reference for one synapse: per step k the tag c is constant-exponential and the
// weight is integrated over the step against the target's piece m_j(k) (constant over the step);
// events at synapse time a act at the start of step a. Jump ports: a pre arrival at a comes
// before a post spike at a; pulse ports: the post spike first.
double clock_reference(const std::vector<Step>& pre, const std::vector<Step>& post, const Rule& r,
                       const std::vector<LevelPiece>& m, Step end, bool post_first, Gate gate) {
  std::map<Step, std::pair<int, int>> events;
  for (Step a : pre) events[a].first++;
  for (Step a : post) events[a].second++;
  double c = 0.0, w = 0.0;
  const double decay = std::exp(-kDt / r.tau_c);
  const double k_step = r.tau_c * -std::expm1(-kDt / r.tau_c);
  auto it = events.begin();
  for (Step k = 0; k < end; ++k) {
    if (it != events.end() && it->first == k) {
      const double amp = gate == Gate::amplitudes ? 1.0 + kGate(level(m[static_cast<std::size_t>(k - 1)])) : 1.0;
      const auto depress = [&] { c -= r.a_minus * amp * trace(post, k, r.tau_minus, post_first); };
      const auto potentiate = [&] { c += r.a_plus * amp * trace(pre, k, r.tau_plus, !post_first); };
      if (post_first) {
        if (it->second.second) potentiate();
        if (it->second.first) depress();
      } else {
        if (it->second.first) depress();
        if (it->second.second) potentiate();
      }
      ++it;
    }
    const double mk = level(m[static_cast<std::size_t>(k)]);
    const double rate = gate == Gate::learning_rate ? 1.0 + kGate(mk) : 1.0;
    w += r.eta * rate * c * (mk - r.baseline) * k_step;
    c *= decay;
  }
  return w;
}

struct Trains {
  std::vector<std::vector<Step>> pre, post;     // firing steps per neuron
  std::vector<Step> dopa;                       // firing steps of the releasing neuron
  std::vector<std::pair<Step, double>> points;  // release_at_point at kRelease (uM um^3)
};

Trains random_trains(std::size_t n_pre, Step steps, std::uint64_t seed) {
  Trains tr;
  tr.pre.resize(n_pre);
  tr.post.resize(kTargets.size());
  RandomStream rng(seed, purpose_id("test/spatial_eligibility"), 0);
  const double p = 15.0 * kDt * 1e-3;
  for (Step k = 0; k < steps; ++k) {
    for (auto& v : tr.pre)
      if (rng.uniform() < p) v.push_back(k);
    for (auto& v : tr.post)
      if (rng.uniform() < p) v.push_back(k);
    if (rng.uniform() < 5.0 * kDt * 1e-3) tr.dopa.push_back(k);
    if (rng.uniform() < 2.0 * kDt * 1e-3) tr.points.push_back({k + 1, 500.0 + 3000.0 * rng.uniform()});
  }
  return tr;
}

// Runs `steps` in uneven chunks (releases are scheduled before the window that holds them).
std::vector<double> run(Net& net, const Trains& tr, Step steps) {
  for (std::size_t i = 0; i < tr.pre.size(); ++i)
    for (Step k : tr.pre[i]) net.pre->fire(k, static_cast<NeuronIndex>(i));
  for (std::size_t j = 0; j < tr.post.size(); ++j)
    for (Step k : tr.post[j]) net.post->fire(k, static_cast<NeuronIndex>(j));
  for (Step k : tr.dopa) net.dopa->fire(k, 0);
  for (const auto& [k, q] : tr.points) net.da->release_at_point(k, kRelease, q);
  RandomStream rng(3, purpose_id("test/chunks"), 0);
  Step done = 0;
  while (done < steps) {
    const Step c = std::min<Step>(steps - done, 1 + static_cast<Step>(rng.below(3000)));
    net.sim.run_steps(c);
    done += c;
  }
  return net.weights();
}

double rel_err(double got, double want) {
  return want == 0.0 ? std::fabs(got) : std::fabs(got - want) / std::fabs(want);
}

// Returns the largest relative error over all synapses.
double compare(const std::string& port, Gate gate, double field_dt = 0.0) {
  const Rule r;
  const std::size_t n_pre = 5;
  const Step steps = 15000;  // 1.5 s
  Net net(n_pre, r, port, gate, 1, field_dt);
  const Trains tr = random_trains(n_pre, steps, 11);
  const auto w = run(net, tr, steps);
  const auto& rule = dynamic_cast<models::PlasticProjection<models::StdpEligibility>&>(*net.proj).rule();
  CHECK(rule.held() == (field_dt > kDt && gate != Gate::learning_rate));
  REQUIRE(net.log.pieces.size() == kTargets.size());
  REQUIRE(net.log.pieces[0].size() == static_cast<std::size_t>(steps));
  double worst = 0.0, scale = 0.0;
  for (std::size_t j = 0; j < kTargets.size(); ++j)
    for (std::size_t i = 0; i < n_pre; ++i) {
      std::vector<Step> pre, post;
      for (Step k : tr.pre[i]) pre.push_back(k + 1 + kD);
      for (Step k : tr.post[j]) post.push_back(k + 1);
      const double want = clock_reference(pre, post, r, net.log.pieces[j], steps, port == "pul", gate);
      const double got = w[j * n_pre + i];  // synapses(): by target, then source
      CAPTURE(port, static_cast<int>(gate), field_dt, i, j, got, want);
      CHECK(rel_err(got, want) < 1e-6);
      worst = std::max(worst, rel_err(got, want));
      scale = std::max(scale, std::fabs(want));
    }
  CHECK(scale > 1e-2);
  WARN("spatial eligibility (" << port << ", gate " << static_cast<int>(gate) << ", field.dt " << field_dt
                               << " ms) vs clock-driven reference: max "
                               << "relative error " << worst << " (max |w| " << scale << ")");
  return worst;
}

}  // namespace

TEST_CASE("stdp_eligibility spatial: each synapse integrates the field at its target, as a clock-driven reference") {
  CHECK(compare("exc", Gate::none) < 1e-6);  // jump port
  CHECK(compare("pul", Gate::none) < 1e-6);  // pulse port: G moves on in after_update
}

TEST_CASE(
    "stdp_eligibility spatial: a field held over blocks (field.dt = 7 dt) is integrated once per block, exactly") {
  // Blocks of 7 steps against frames of 1500 steps: segments are cut by both.
  CHECK(compare("exc", Gate::none, 7 * kDt) < 1e-6);
  CHECK(compare("pul", Gate::none, 7 * kDt) < 1e-6);
  // A learning-rate map varies per step: the per-step path, same reference.
  CHECK(compare("exc", Gate::learning_rate, 7 * kDt) < 1e-6);
}

TEST_CASE("stdp_eligibility spatial: gating maps read at the target (learning rate, a_plus, a_minus)") {
  CHECK(compare("exc", Gate::learning_rate) < 1e-6);
  CHECK(compare("pul", Gate::learning_rate) < 1e-6);
  CHECK(compare("exc", Gate::amplitudes) < 1e-6);
}

TEST_CASE(
    "stdp_eligibility spatial: one pairing per target then one release - near targets change more, as predicted") {
  // Every target gets the same pairing (pre 5 ms before post); one quantum at the release point
  // 10 ms later. The weight change of target j is eta c0 int e^{-s/tau_c} (m_j - b): the
  // reference gives each exactly, and the field makes them fall with distance.
  const Rule r;
  Net net(1, r, "exc", Gate::none, 1);
  const Step a_pre = 2000, a_post = a_pre + 50, steps = 8000;
  net.pre->fire(a_pre - 1 - kD, 0);
  for (NeuronIndex j = 0; j < kTargets.size(); ++j) net.post->fire(a_post - 1, j);
  net.da->release_at_point(a_post + 100, kRelease, 20000.0);
  net.sim.run_steps(steps);
  const auto w = net.weights();
  std::vector<double> want;
  for (std::size_t j = 0; j < kTargets.size(); ++j) {
    want.push_back(clock_reference({a_pre}, {a_post}, r, net.log.pieces[j], steps, false, Gate::none));
    CAPTURE(j, w[j], want[j]);
    CHECK(rel_err(w[j], want[j]) < 1e-6);
  }
  // Distances 0, 12.5, 27, 45 um: strictly decreasing changes, the nearest several times the farthest.
  for (std::size_t j = 1; j < w.size(); ++j) CHECK(w[j] < w[j - 1]);
  CHECK(w[0] > 3.0 * w[3]);
  CHECK(w[3] > 0.0);
  WARN("weight change by distance 0 / 12.5 / 27 / 45 um: " << w[0] << " / " << w[1] << " / " << w[2] << " / " << w[3]);
}

TEST_CASE("stdp_eligibility spatial: bit-identical for 1, 2 and 3 threads") {
  const Rule r;
  const Step steps = 8000;
  const Trains tr = random_trains(6, steps, 12);
  for (double field_dt : {0.0, 7 * kDt})
    for (Gate gate : {Gate::none, Gate::learning_rate}) {
      std::vector<double> first;
      for (int threads : {1, 2, 3}) {
        Net net(6, r, "exc", gate, threads, field_dt);
        const auto w = run(net, tr, steps);
        if (threads == 1) first = w;
        CAPTURE(threads, static_cast<int>(gate), field_dt);
        CHECK(w == first);
      }
    }
}

TEST_CASE("stdp_eligibility spatial: the batched loops equal the per-synapse updates bit for bit") {
  const Rule r;
  const Step steps = 8000;
  const Trains tr = random_trains(6, steps, 13);
  for (double field_dt : {0.0, 7 * kDt})
    for (const std::string port : {"exc", "pul"}) {
      std::vector<double> w[2];
      for (int unbatched = 0; unbatched < 2; ++unbatched) {
        Net net(6, r, port, Gate::none, 2, field_dt, unbatched == 1);
        w[unbatched] = run(net, tr, steps);
      }
      CAPTURE(field_dt, port);
      CHECK(w[0] == w[1]);
    }
}
