// Three-factor rule (stdp_eligibility) with a well-mixed modulator: no change at the baseline,
// the closed form of one pairing and one pulse, a clock-driven reference over a long random run,
// NEST's stdp_dopamine_synapse update equations, and frame length (rebase) independence.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "eligibility_rule.hpp"
#include "nmsim/core/registry.hpp"
#include "nmsim/core/rng.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/models/plastic_projection.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/models/stdp_eligibility.hpp"
#include "nmsim/modulators/well_mixed.hpp"
#include "probe_population.hpp"
#include "unbatched_eligibility.hpp"

using namespace nmsim;
using nmsim::modulators::WellMixed;
using nmsim::modulators::WellMixedParams;
using nmsim::test::ProbePopulation;

namespace {

constexpr double kDt = 0.1;

using Rule = test::EligibilityRule;

struct PieceLog : Observer {
  const Modulator* m = nullptr;
  std::vector<LevelPiece> pieces;  // index: step
  void begin_window(Step from, Step to) override {
    for (Step k = from; k < to; ++k) pieces.push_back(m->piece(k));
  }
};

// pre (n_pre probes) -> post (n_post probes), all to all, delay D steps; modulator "da".
struct Net {
  Simulation sim;
  ProbePopulation* pre;
  ProbePopulation* post;
  ProbePopulation* dopa;
  WellMixed* da;
  Projection* proj;
  PieceLog log;
  Net(std::size_t n_pre, std::size_t n_post, int D, const Rule& r, WellMixedParams mp, int threads = 1,
      bool unbatched = false, const std::string& port = "exc", const std::string& pairing = "all_to_all")
      : sim({kDt, 5, threads}) {
    pre = &sim.add_population<ProbePopulation>("pre", n_pre);
    post = &sim.add_population<ProbePopulation>("post", n_post);
    dopa = &sim.add_population<ProbePopulation>("dopa", 1);
    da = &sim.add_modulator<WellMixed>("da", mp);
    Registry reg;
    models::register_models(reg);
    ParamTable t("plasticity.e");
    test::set_eligibility_rule(t, r);
    t.set("pairing", {pairing});
    ProjectionSpec s;
    s.name = "e";
    s.source = "pre";
    s.target = "post";
    s.port = port;
    s.connect.rule = ConnectSpec::Rule::all_to_all;
    s.weight = Distribution::constant(0.0);
    s.delay = Distribution::constant(D * kDt);
    s.plasticity = unbatched ? std::make_shared<test::UnbatchedModel>(models::StdpEligibilityParams::from(t))
                             : reg.make_plasticity("stdp_eligibility", "e", t);
    proj = &sim.connect(s);
    log.m = da;
    sim.add_observer(log);
  }
  std::vector<double> weights() {
    for (std::size_t t = 0; t < proj->threads(); ++t) proj->synchronize(static_cast<int>(t), sim.now());
    std::vector<double> w;
    for (const auto& syn : proj->synapses()) w.push_back(syn.weight);
    return w;
  }
};

double rel_err(double got, double want) {
  return want == 0.0 ? std::fabs(got) : std::fabs(got - want) / std::fabs(want);
}

// Random spike trains and rewards for the long-run comparisons.
struct Trains {
  std::vector<std::vector<Step>> pre, post;  // firing steps per neuron
  std::vector<std::pair<Step, double>> rewards;
};

Trains random_trains(std::size_t n_pre, std::size_t n_post, Step steps, double rate_hz, std::uint64_t seed) {
  Trains tr;
  tr.pre.resize(n_pre);
  tr.post.resize(n_post);
  RandomStream rng(seed, purpose_id("test/eligibility"), 0);
  const double p = rate_hz * kDt * 1e-3;
  for (Step k = 0; k < steps; ++k) {
    for (auto& v : tr.pre)
      if (rng.uniform() < p) v.push_back(k);
    for (auto& v : tr.post)
      if (rng.uniform() < p) v.push_back(k);
    if (rng.uniform() < 2.0 * kDt * 1e-3) tr.rewards.push_back({k, 0.2 + rng.uniform()});
  }
  return tr;
}

void apply(Net& net, const Trains& tr) {
  for (std::size_t i = 0; i < tr.pre.size(); ++i)
    for (Step k : tr.pre[i]) net.pre->fire(k, static_cast<NeuronIndex>(i));
  for (std::size_t j = 0; j < tr.post.size(); ++j)
    for (Step k : tr.post[j]) net.post->fire(k, static_cast<NeuronIndex>(j));
  for (const auto& [k, q] : tr.rewards) net.da->release_at(k, q);
}

// Synapse times (steps) of the events of synapse (i, j): pre k + 1 + D, post k + 1.
void synapse_times(const Trains& tr, std::size_t i, std::size_t j, int D, std::vector<Step>& pre,
                   std::vector<Step>& post) {
  pre.clear();
  post.clear();
  for (Step k : tr.pre[i]) pre.push_back(k + 1 + D);
  for (Step k : tr.post[j]) post.push_back(k + 1);
}

// Traces at synapse time a (all-to-all): pre trace includes a pre at a (pre first), post trace
// excludes a post at a.
double trace(const std::vector<Step>& s, Step a, double tau, bool inclusive) {
  double v = 0.0;
  for (Step t : s)
    if (t < a || (inclusive && t == a)) v += std::exp(-static_cast<double>(a - t) * kDt / tau);
  return v;
}

// Integral of e^{-s/tau_c} (m(t_k + s) - b) over the step, from the piece's own parameters.
double step_integral(const LevelPiece& p, double b, double tau_c) {
  const double r_c = 1.0 / tau_c;
  double v = (p.base - b) * (1.0 - std::exp(-kDt * r_c)) / r_c;
  if (p.inv_tau == 0.0)
    v += p.amp * (1.0 - std::exp(-kDt * r_c)) / r_c;
  else
    v += p.amp * (1.0 - std::exp(-kDt * (r_c + p.inv_tau))) / (r_c + p.inv_tau);
  return v;
}

// Clock-driven reference: per step, c constant-exponential and w integrated exactly over the
// step against the recorded piece; events at synapse time a act at the start of step a.
double clock_reference(const std::vector<Step>& pre, const std::vector<Step>& post, const Rule& r,
                       const std::vector<LevelPiece>& pieces, Step end) {
  std::map<Step, std::pair<int, int>> events;  // a -> (pre count, post count)
  for (Step a : pre) events[a].first++;
  for (Step a : post) events[a].second++;
  double c = 0.0, w = 0.0;
  const double decay = std::exp(-kDt / r.tau_c);
  auto it = events.begin();
  for (Step k = 0; k < end; ++k) {
    if (it != events.end() && it->first == k) {
      if (it->second.first) c -= r.a_minus * trace(post, k, r.tau_minus, false);
      if (it->second.second) c += r.a_plus * trace(pre, k, r.tau_plus, true);
      ++it;
    }
    w += r.eta * c * step_integral(pieces[static_cast<std::size_t>(k)], r.baseline, r.tau_c);
    c *= decay;
  }
  return w;
}

WellMixedParams pool(double tau, double baseline) {
  WellMixedParams p;
  p.tau = tau;
  p.baseline = baseline;
  return p;
}

}  // namespace

TEST_CASE("stdp_eligibility: a modulator at its baseline changes no weight, however much the tags move") {
  Rule r;
  r.baseline = 0.3;
  Net net(5, 5, 15, r, pool(100.0, 0.3));
  const Trains tr = random_trains(5, 5, 20000, 20.0, 1);
  Trains no_reward = tr;
  no_reward.rewards.clear();
  apply(net, no_reward);
  net.sim.run(2000.0);
  for (double w : net.weights()) CHECK(w == 0.0);
  auto& pp = dynamic_cast<models::PlasticProjection<models::StdpEligibility>&>(*net.proj);
  double tags = 0.0;
  for (const auto& r : pp.synapse_state(0).syn) tags += std::fabs(r.c);
  CHECK(tags > 0.1);
}

TEST_CASE("stdp_eligibility: one pairing then one pulse after D gives eta c0 q e^{-D/tau_c} tau_c tau_m/(tau_c+tau_m)") {
  const double tau_m = 50.0, q = 0.8;
  double worst = 0.0;
  for (double b : {0.0, 0.25})
    for (int delta : {50, -50})  // post - pre at the synapse, steps
      for (int D : {0, 1, 3000, 7777}) {
        Rule r;
        r.baseline = b;
        Net net(1, 1, 15, r, pool(tau_m, b));
        const Step a_pre = 1000, a_post = a_pre + delta;
        net.pre->fire(a_pre - 1 - 15, 0);
        net.post->fire(a_post - 1, 0);
        const Step a_last = std::max(a_pre, a_post);
        const Step R = a_last + D;
        net.sim.run_steps(R);
        net.da->release_at(R, q);
        const Step E = R + 20000;
        net.sim.run_steps(E - R);
        const double w = net.weights()[0];
        // Tag at a_last: c0 = a+ e^{-delta/tau+} (pre first) or -a- e^{delta/tau-}; it decays for D.
        const double c0 = delta > 0 ? r.a_plus * std::exp(-delta * kDt / r.tau_plus)
                                    : -r.a_minus * std::exp(delta * kDt / r.tau_minus);
        const double rate = 1.0 / r.tau_c + 1.0 / tau_m;
        const double want = r.eta * c0 * q * std::exp(-D * kDt / r.tau_c) * (1.0 - std::exp(-(E - R) * kDt * rate)) / rate;
        CAPTURE(b, delta, D, w, want);
        CHECK(rel_err(w, want) < 1e-9);
        worst = std::max(worst, rel_err(w, want));
      }
  WARN("eligibility closed form: max relative error " << worst);
}

TEST_CASE("stdp_eligibility: event-driven equals a clock-driven reference over 20 s of Poisson spikes and rewards") {
  Rule r;
  r.baseline = 0.05;
  WellMixedParams mp = pool(200.0, 0.05);
  mp.release.push_back({"dopa", 0.3, 2.0, 1.0});
  const std::size_t n = 6;
  const int D = 15;
  const Step steps = 200000;
  Net net(n, n, D, r, mp);
  Trains tr = random_trains(n, n, steps, 10.0, 2);
  apply(net, tr);
  RandomStream rng(9, purpose_id("test/dopa"), 0);
  for (Step k = 0; k < steps; ++k)
    if (rng.uniform() < 1e-3) net.dopa->fire(k, 0);  // spikes that release 0.3 uM 2 ms later
  // Uneven run chunks.
  Step done = 0;
  while (done < steps) {
    const Step c = std::min<Step>(steps - done, 1 + static_cast<Step>(rng.below(7000)));
    net.sim.run_steps(c);
    done += c;
  }
  const auto w = net.weights();
  REQUIRE(net.log.pieces.size() == static_cast<std::size_t>(steps));
  double worst = 0.0, scale = 0.0;
  std::vector<Step> pre, post;
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < n; ++i) {
      synapse_times(tr, i, j, D, pre, post);
      const double want = clock_reference(pre, post, r, net.log.pieces, steps);
      const double got = w[j * n + i];  // synapses(): by target, then source
      CAPTURE(i, j, got, want);
      CHECK(rel_err(got, want) < 1e-6);
      worst = std::max(worst, rel_err(got, want));
      scale = std::max(scale, std::fabs(want));
    }
  CHECK(scale > 1e-3);
  WARN("eligibility vs clock-driven reference: max relative error " << worst << " (max |w| " << scale << ")");
}

TEST_CASE("stdp_eligibility: matches NEST stdp_dopamine_synapse's update equations (eta = 1, quantum 1/tau_n)") {
  // NEST (documented update): between events, with c, n at the start of an interval of length dt,
  //   w -= c (n / tau_s expm1(-tau_s dt) - b tau_c expm1(-dt / tau_c)),  tau_s = 1/tau_c + 1/tau_n,
  //   c *= e^{-dt/tau_c}, n *= e^{-dt/tau_n}; a dopamine spike adds 1/tau_n to n; a post spike adds
  //   A_plus Kplus to c, a pre spike subtracts A_minus Kminus.
  Rule r;
  r.eta = 1.0;
  r.baseline = 0.004;
  r.tau_c = 1000.0;
  const double tau_n = 200.0;
  const std::size_t n = 4;
  const int D = 10;
  const Step steps = 100000;
  Net net(n, n, D, r, pool(tau_n, 0.0));
  Trains tr = random_trains(n, n, steps, 8.0, 3);
  for (auto& [k, q] : tr.rewards) q = 1.0 / tau_n;
  apply(net, tr);
  net.sim.run_steps(steps);
  const auto w = net.weights();
  double worst = 0.0;
  std::vector<Step> pre, post;
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < n; ++i) {
      synapse_times(tr, i, j, D, pre, post);
      // Events: (time, kind) with kind 0 dopamine, 1 pre, 2 post (pre before post at equal times).
      std::vector<std::pair<Step, int>> ev;
      for (const auto& [k, q] : tr.rewards) ev.push_back({k, 0});
      for (Step a : pre) ev.push_back({a, 1});
      for (Step a : post) ev.push_back({a, 2});
      std::sort(ev.begin(), ev.end());
      double c = 0.0, nd = 0.0, wn = 0.0;
      Step last = 0;
      const double tau_s = 1.0 / r.tau_c + 1.0 / tau_n;
      auto advance = [&](Step t) {
        const double h = static_cast<double>(t - last) * kDt;
        wn -= c * (nd / tau_s * std::expm1(-tau_s * h) - r.baseline * r.tau_c * std::expm1(-h / r.tau_c));
        c *= std::exp(-h / r.tau_c);
        nd *= std::exp(-h / tau_n);
        last = t;
      };
      for (const auto& [t, kind] : ev) {
        if (t > steps) continue;
        advance(t);
        if (kind == 0) nd += 1.0 / tau_n;
        if (kind == 1) c -= r.a_minus * trace(post, t, r.tau_minus, false);
        if (kind == 2) c += r.a_plus * trace(pre, t, r.tau_plus, true);
      }
      advance(steps);
      const double got = w[j * n + i];
      CAPTURE(i, j, got, wn);
      CHECK(rel_err(got, wn) < 1e-9);
      worst = std::max(worst, rel_err(got, wn));
    }
  WARN("eligibility vs NEST stdp_dopamine_synapse equations: max relative error " << worst);
}

TEST_CASE("stdp_eligibility: the frame length (rebase interval) does not change the result") {
  Rule base;
  base.tau_c = 100.0;
  const std::size_t n = 4;
  const int D = 15;
  const Step steps = 100000;
  const Trains tr = random_trains(n, n, steps, 15.0, 4);
  std::vector<std::vector<double>> results;
  for (double interval : {1000.0, 200.0, 37.3, 1.0}) {  // 10, 2, 0.373, 0.01 tau_c (1 ms < window)
    Rule r = base;
    r.interval = interval;
    Net net(n, n, D, r, pool(80.0, 0.0));
    apply(net, tr);
    net.sim.run_steps(steps / 3);
    net.sim.run_steps(steps - steps / 3);
    auto& pp = dynamic_cast<models::PlasticProjection<models::StdpEligibility>&>(*net.proj);
    CHECK(pp.rule().interval_steps() == std::llround(interval / kDt));
    results.push_back(net.weights());
  }
  double worst = 0.0;
  for (std::size_t k = 1; k < results.size(); ++k)
    for (std::size_t q = 0; q < results[0].size(); ++q) {
      CAPTURE(k, q, results[k][q], results[0][q]);
      CHECK(rel_err(results[k][q], results[0][q]) < 1e-9);
      worst = std::max(worst, rel_err(results[k][q], results[0][q]));
    }
  WARN("eligibility: interval 10 tau_c vs 2, 0.37, 0.01 tau_c: max relative difference " << worst);
  // An interval beyond 10 tau_c is refused (precision).
  Registry reg;
  models::register_models(reg);
  ParamTable t("plasticity.e");
  t.set("tau_c", {100.0});
  t.set("interval", {1001.0});
  t.set("modulator", {std::string("da")});
  CHECK_THROWS_AS(reg.make_plasticity("stdp_eligibility", "e", t), ConfigError);
}

TEST_CASE("stdp_eligibility: the batched row and post-spike loops equal the per-synapse updates bit for bit") {
  // Delay 15 steps (windows of 15 steps) and 37 ms frames: frames open inside windows, so a row
  // event can come before the newest frame. Jump and pulse ports, both pairings, 1 and 2 threads.
  Rule r;
  r.interval = 37.0;
  WellMixedParams mp;
  mp.tau = 200.0;
  mp.baseline = 0.0;
  const Step steps = 40000;
  const Trains tr = random_trains(20, 15, steps, 25.0, 21);
  for (const std::string port : {"exc", "pul"})
    for (const std::string pairing : {"all_to_all", "nearest"})
      for (int threads : {1, 2}) {
        std::vector<double> w[2], c[2];
        for (int unbatched = 0; unbatched < 2; ++unbatched) {
          Net net(20, 15, 15, r, mp, threads, unbatched == 1, port, pairing);
          apply(net, tr);
          net.sim.run_steps(steps);
          w[unbatched] = net.weights();
          for (std::size_t t = 0; t < net.proj->threads(); ++t) {
            const auto& syn = unbatched ? dynamic_cast<models::PlasticProjection<test::Unbatched>&>(*net.proj)
                                              .synapse_state(static_cast<int>(t))
                                              .syn
                                        : dynamic_cast<models::PlasticProjection<models::StdpEligibility>&>(*net.proj)
                                              .synapse_state(static_cast<int>(t))
                                              .syn;
            for (const auto& rec : syn) c[unbatched].push_back(rec.c);
          }
        }
        CAPTURE(port, pairing, threads);
        REQUIRE(w[0].size() == 300);
        CHECK(w[0] == w[1]);
        CHECK(c[0] == c[1]);
        double spread = 0.0;
        for (double x : w[0]) spread = std::max(spread, std::fabs(x));
        CHECK(spread > 1e-3);  // the weights did change
      }
}
