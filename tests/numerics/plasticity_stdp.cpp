// Pair STDP (stdp): the window of one pair against the closed form, at the documented order of
// coincident spikes, with a dendritic delay, all-to-all vs nearest pairing, hard bounds, soft
// bounds and Guetig's mu, and a plastic projection onto Izhikevich neurons (pulse ports).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nmsim/core/registry.hpp"
#include "nmsim/core/rng.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/models/izhikevich.hpp"
#include "nmsim/models/register.hpp"
#include "probe_population.hpp"

using namespace nmsim;
using nmsim::test::ProbePopulation;

namespace {

constexpr double kDt = 0.1;

std::shared_ptr<const PlasticityModel> make_rule(const std::string& rule, const std::map<std::string, double>& num,
                                                 const std::map<std::string, std::string>& str = {}) {
  Registry reg;
  models::register_models(reg);
  ParamTable t("plasticity.x");
  for (const auto& [k, v] : num) t.set(k, {v});
  for (const auto& [k, v] : str) t.set(k, {v});
  return reg.make_plasticity(rule, "x", t);
}

double rel_err(double got, double want) {
  return want == 0.0 ? std::fabs(got) : std::fabs(got - want) / std::fabs(want);
}

// One synapse per pair i: pre neuron i -> post neuron i, weight w0, delay `delay_steps`.
struct PairSim {
  Simulation sim;
  ProbePopulation* pre;
  ProbePopulation* post;
  Projection* proj;
  PairSim(std::size_t n, const std::string& port, int delay_steps, double w0,
          std::shared_ptr<const PlasticityModel> model, int threads = 1)
      : sim({kDt, 7, threads}) {
    pre = &sim.add_population<ProbePopulation>("pre", n);
    post = &sim.add_population<ProbePopulation>("post", n);
    ProjectionSpec s;
    s.name = "p";
    s.source = "pre";
    s.target = "post";
    s.port = port;
    s.connect.rule = ConnectSpec::Rule::one_to_one;
    s.weight = Distribution::constant(w0);
    s.delay = Distribution::constant(kDt * delay_steps);
    s.plasticity = std::move(model);
    proj = &sim.connect(s);
  }
  std::vector<double> weights() const {
    std::vector<double> w;
    for (const auto& syn : proj->synapses()) w.push_back(syn.weight);
    return w;
  }
};

// All-to-all pair sum with the ordering at equal synapse times: `pre_first` (jump ports) makes a
// coincident pair potentiate, otherwise (pulse ports) depress.
double pair_sum(const std::vector<double>& pre, const std::vector<double>& post, double a_plus, double a_minus,
                double tau_plus, double tau_minus, bool pre_first) {
  double dw = 0.0;
  for (double tp : pre)
    for (double to : post) {
      const double d = to - tp;
      if (d > 0 || (d == 0 && pre_first))
        dw += a_plus * std::exp(-d / tau_plus);
      else
        dw -= a_minus * std::exp(d / tau_minus);
    }
  return dw;
}

// Symmetric nearest-spike pairing (traces reset to 1): each post spike pairs with the latest pre
// spike at or before it (strictly before for pulse ports), each pre spike with the latest post
// spike strictly before it (at or before for pulse ports).
double nearest_sum(const std::vector<double>& pre, const std::vector<double>& post, double a_plus, double a_minus,
                   double tau_plus, double tau_minus, bool pre_first) {
  double dw = 0.0;
  for (double to : post) {
    double best = -1e300;
    for (double tp : pre)
      if (tp < to || (tp == to && pre_first)) best = std::max(best, tp);
    if (best > -1e300) dw += a_plus * std::exp(-(to - best) / tau_plus);
  }
  for (double tp : pre) {
    double best = -1e300;
    for (double to : post)
      if (to < tp || (to == tp && !pre_first)) best = std::max(best, to);
    if (best > -1e300) dw -= a_minus * std::exp(-(tp - best) / tau_minus);
  }
  return dw;
}

const std::map<std::string, double> kAdditive = {{"a_plus", 0.01},    {"a_minus", 0.012}, {"tau_plus", 16.8},
                                                 {"tau_minus", 33.7}, {"w_min", -1e6},    {"w_max", 1e6}};

}  // namespace

TEST_CASE("stdp: one pair gives exactly the window a+ e^{-dt/tau+} / -a- e^{dt/tau-}, coincidence by port kind") {
  // Pairs i: post - pre at the synapse = n_i dt, n in [-1000, 1000] (+-100 ms).
  std::vector<int> ns = {-1000, -999, -500, -201, -100, -37, -10, -2, -1, 0, 1, 2, 10, 37, 100, 200, 500, 999, 1000};
  for (int n = -1000; n <= 1000; n += 53) ns.push_back(n);
  double worst = 0.0;
  for (const std::string port : {"exc", "pul"}) {
    const bool jump = port == "exc";
    const int D = 15;  // 1.5 ms, all axonal
    PairSim ps(ns.size(), port, D, 0.0, make_rule("stdp", kAdditive));
    const Step k_pre = 2000;
    Step last = 0;
    for (std::size_t i = 0; i < ns.size(); ++i) {
      ps.pre->fire(k_pre, static_cast<NeuronIndex>(i));
      // Synapse times: pre k_pre + 1 + D, post k_post + 1.
      const Step k_post = k_pre + D + ns[i];
      ps.post->fire(k_post, static_cast<NeuronIndex>(i));
      last = std::max(last, k_post);
    }
    ps.sim.run_steps(last + D + 5);
    const auto w = ps.weights();
    for (std::size_t i = 0; i < ns.size(); ++i) {
      const double d = ns[i] * kDt;
      const bool pot = d > 0 || (d == 0 && jump);
      const double want = pot ? 0.01 * std::exp(-d / 16.8) : -0.012 * std::exp(d / 33.7);
      CAPTURE(port, ns[i], w[i], want);
      CHECK(rel_err(w[i], want) < 1e-9);
      worst = std::max(worst, rel_err(w[i], want));
    }
    // The documented order at dt_pair = 0: jump port pre first (+a_plus), pulse port post first.
    const auto zero = static_cast<std::size_t>(std::find(ns.begin(), ns.end(), 0) - ns.begin());
    CHECK(w[zero] == (jump ? 0.01 : -0.012));
  }
  WARN("stdp window: max relative error " << worst);
}

TEST_CASE("stdp: the transmitted weight is the weight after the pre-synaptic update, at t_pre + d") {
  // A post spike 5 ms before the pre arrival: the pre event depresses, then transmits.
  const int D = 20;
  PairSim ps(1, "exc", D, 0.5, make_rule("stdp", kAdditive));
  ps.post->fire(100, 0);          // post at synapse time 101
  ps.pre->fire(101 - D - 1 + 50, 0);  // pre arrival at synapse (and soma) time 151
  ps.sim.run_steps(200);
  const double w = 0.5 - 0.012 * std::exp(-5.0 / 33.7);
  const auto& a = ps.post->arrivals(0);
  REQUIRE(a.size() == 1);
  CHECK(a[0].step == 151);
  CHECK(a[0].value == w);
  CHECK(ps.weights()[0] == w);
}

TEST_CASE("stdp: dendritic delay - pairing measured at the synapse, window shifted by d - 2 d_dend") {
  // d = 3 ms, d_dend = 0.8 ms: pre reaches the synapse at t_pre + 2.2 ms, a post spike at
  // t_post + 0.8 ms; at the soma the pre input arrives at t_pre + 3 ms.
  auto num = kAdditive;
  num["dendritic_delay"] = 0.8;
  const int D = 30, dend = 8;
  std::vector<int> soma;  // t_post - t_pre (stamps) in steps
  for (int n = -300; n <= 300; n += 7) soma.push_back(n);
  for (int n : {D - 2 * dend - 1, D - 2 * dend, D - 2 * dend + 1}) soma.push_back(n);  // around coincidence
  for (const std::string port : {"exc", "pul"}) {
    const bool jump = port == "exc";
    PairSim ps(soma.size(), port, D, 1.0, make_rule("stdp", num));
    // Pre spikes at every phase of the delivery window.
    auto k_pre = [](std::size_t i) { return static_cast<Step>(1000 + i % 37); };
    for (std::size_t i = 0; i < soma.size(); ++i) {
      ps.pre->fire(k_pre(i), static_cast<NeuronIndex>(i));
      ps.post->fire(k_pre(i) + soma[i], static_cast<NeuronIndex>(i));
    }
    ps.sim.run_steps(1500);
    CHECK(ps.sim.min_delay() >= 1);
    const auto w = ps.weights();
    for (std::size_t i = 0; i < soma.size(); ++i) {
      const int n_syn = soma[i] - D + 2 * dend;  // (t_post + d_dend) - (t_pre + d - d_dend)
      const double d = n_syn * kDt;
      const bool pot = d > 0 || (d == 0 && jump);
      const double want = pot ? 0.01 * std::exp(-d / 16.8) : -0.012 * std::exp(d / 33.7);
      CAPTURE(port, soma[i], n_syn, w[i], want);
      CHECK(rel_err(w[i] - 1.0, want) < 1e-9);
      // The input still reaches the soma at t_pre + d.
      const auto& a = ps.post->arrivals(i);
      REQUIRE(a.size() == 1);
      CHECK(a[0].step == k_pre(i) + 1 + D);
    }
  }
}

TEST_CASE("stdp: all-to-all vs nearest pairing on triplets, quadruplets and pairing trains") {
  const double ap = 0.01, am = 0.012, tp = 16.8, tm = 33.7;
  // Spike patterns (synapse times in steps, relative): pre list, post list.
  struct Pattern {
    const char* name;
    std::vector<int> pre, post;
  };
  std::vector<Pattern> patterns = {
      {"pre-post-pre", {0, 100}, {50}},          {"post-pre-post", {50}, {0, 100}},
      {"pre-pre-post", {0, 30}, {100}},          {"post-post-pre", {100}, {0, 40}},
      {"pre-post-post", {0}, {20, 70}},          {"post-pre-pre", {0, 30}, {-40}},
  };
  // 20 pairings at 10..50 Hz, post 10 ms after pre and 10 ms before pre.
  for (int f : {10, 20, 25, 40, 50})
    for (int delta : {100, -100}) {
      Pattern p{"train", {}, {}};
      const int period = 10000 / f;  // steps
      for (int i = 0; i < 20; ++i) {
        p.pre.push_back(i * period);
        p.post.push_back(i * period + delta);
      }
      patterns.push_back(p);
    }
  const int D = 10;
  for (const std::string pairing : {"all_to_all", "nearest"}) {
    const bool nearest = pairing == "nearest";
    PairSim ps(patterns.size(), "exc", D, 0.0, make_rule("stdp", kAdditive, {{"pairing", pairing}}));
    const Step k0 = 2000;
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      for (int t : patterns[i].pre) ps.pre->fire(k0 + t - D, static_cast<NeuronIndex>(i));
      for (int t : patterns[i].post) ps.post->fire(k0 + t, static_cast<NeuronIndex>(i));
    }
    ps.sim.run_steps(k0 + 25000);
    const auto w = ps.weights();
    double worst = 0.0;
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      std::vector<double> pre, post;
      for (int t : patterns[i].pre) pre.push_back(t * kDt);
      for (int t : patterns[i].post) post.push_back(t * kDt);
      const double want = nearest ? nearest_sum(pre, post, ap, am, tp, tm, true) : pair_sum(pre, post, ap, am, tp, tm, true);
      CAPTURE(pairing, patterns[i].name, i, w[i], want);
      CHECK(rel_err(w[i], want) < 1e-9);
      worst = std::max(worst, rel_err(w[i], want));
    }
    WARN("stdp " << pairing << ": max relative error over patterns " << worst);
    // Theory, by pattern: a pre-post-pre or post-pre-post triplet has one partner per side, so
    // both schemes agree; with two spikes of one kind before the other they differ.
    const double e5 = std::exp(-5.0 / tp), e5m = std::exp(-5.0 / tm);
    CHECK(rel_err(w[0], ap * e5 - am * e5m) < 1e-9);
    CHECK(rel_err(w[1], -am * e5m + ap * e5) < 1e-9);
    const double pre_pre_post = nearest ? ap * std::exp(-7.0 / tp) : ap * (std::exp(-10.0 / tp) + std::exp(-7.0 / tp));
    CHECK(rel_err(w[2], pre_pre_post) < 1e-9);
    const double post_post_pre = nearest ? -am * std::exp(-6.0 / tm) : -am * (std::exp(-10.0 / tm) + std::exp(-6.0 / tm));
    CHECK(rel_err(w[3], post_post_pre) < 1e-9);
    // Closed forms for the trains (period T, offset delta, N = 20):
    //   all-to-all: sum_{m=-(N-1)}^{N-1} (N - |m|) W(delta + m T)
    //   nearest, delta > 0: N a+ e^{-delta/tau+} - (N-1) a- e^{-(T-delta)/tau-}
    //   nearest, delta < 0: -N a- e^{delta/tau-} + (N-1) a+ e^{-(T+delta)/tau+}
    std::size_t i = 6;
    for (int f : {10, 20, 25, 40, 50})
      for (int delta_steps : {100, -100}) {
        const double T = 1000.0 / f, delta = delta_steps * kDt;
        const int N = 20;
        double want = 0.0;
        if (!nearest) {
          for (int m = -(N - 1); m <= N - 1; ++m) {
            const double d = delta + m * T;
            want += (N - std::abs(m)) * (d >= 0 ? ap * std::exp(-d / tp) : -am * std::exp(d / tm));
          }
        } else if (delta > 0) {
          want = N * ap * std::exp(-delta / tp) - (N - 1) * am * std::exp(-(T - delta) / tm);
        } else {
          want = -N * am * std::exp(delta / tm) + (N - 1) * ap * std::exp(-(T + delta) / tp);
        }
        CAPTURE(pairing, f, delta, w[i], want);
        CHECK(rel_err(w[i], want) < 1e-9);
        ++i;
      }
  }
}

TEST_CASE("stdp: hard bounds hold for any spike trains; soft bounds and Guetig mu give the analytic change") {
  SECTION("hard bounds") {
    const double w_min = 0.1, w_max = 0.6;
    const std::size_t n = 40;
    PairSim ps(n, "exc", 10, 0.35,
               make_rule("stdp", {{"a_plus", 0.2}, {"a_minus", 0.25}, {"w_min", w_min}, {"w_max", w_max}}), 2);
    RandomStream rng(3, purpose_id("test/stdp_bounds"), 0);
    for (Step k = 0; k < 20000; ++k)
      for (NeuronIndex i = 0; i < n; ++i) {
        if (rng.uniform() < 0.004 * (1 + i % 3)) ps.pre->fire(k, i);
        if (rng.uniform() < 0.004 * (1 + (i / 3) % 3)) ps.post->fire(k, i);
      }
    bool hit_low = false, hit_high = false;
    for (int chunk = 0; chunk < 20; ++chunk) {
      ps.sim.run_steps(1000);
      for (double w : ps.weights()) {
        REQUIRE(w >= w_min);
        REQUIRE(w <= w_max);
        hit_low |= w == w_min;
        hit_high |= w == w_max;
      }
    }
    for (std::size_t i = 0; i < n; ++i)
      for (const auto& a : ps.post->arrivals(i)) {
        REQUIRE(a.value >= w_min);
        REQUIRE(a.value <= w_max);
      }
    CHECK(hit_low);
    CHECK(hit_high);
  }
  SECTION("multiplicative and gutig") {
    const double w_min = 0.2, w_max = 2.2, ap = 0.05, am = 0.04, tp = 20.0, tm = 30.0;
    for (double mu : {1.0, 0.4}) {
      std::map<std::string, double> num = {{"a_plus", ap}, {"a_minus", am}, {"tau_plus", tp},
                                           {"tau_minus", tm}, {"w_min", w_min}, {"w_max", w_max}};
      std::map<std::string, std::string> str = {{"dependence", mu == 1.0 ? "multiplicative" : "gutig"}};
      if (mu != 1.0) num["mu"] = mu;
      const std::vector<double> w0s = {0.2, 0.5, 1.2, 2.0, 2.2};
      const std::vector<int> ns = {73, -73};
      // Weights differ per synapse: pairs with per-pair weights.
      Simulation sim({kDt, 1, 1});
      auto& pre = sim.add_population<ProbePopulation>("pre", w0s.size() * ns.size());
      auto& post = sim.add_population<ProbePopulation>("post", w0s.size() * ns.size());
      ProjectionSpec s;
      s.name = "p";
      s.source = "pre";
      s.target = "post";
      s.port = "exc";
      s.connect.rule = ConnectSpec::Rule::pairs;
      for (std::size_t i = 0; i < w0s.size() * ns.size(); ++i) {
        s.connect.pairs.push_back({static_cast<NeuronIndex>(i), static_cast<NeuronIndex>(i)});
        s.connect.pair_weights.push_back(w0s[i % w0s.size()]);
        s.connect.pair_delays.push_back(1.0);
        pre.fire(500, static_cast<NeuronIndex>(i));
        post.fire(500 + 10 + ns[i / w0s.size()], static_cast<NeuronIndex>(i));
      }
      s.plasticity = make_rule("stdp", num, str);
      const Projection& proj = sim.connect(s);
      sim.run_steps(800);
      const auto syn = proj.synapses();
      for (std::size_t i = 0; i < syn.size(); ++i) {
        const double w0 = w0s[i % w0s.size()];
        const double u = (w0 - w_min) / (w_max - w_min);
        const double d = ns[i / w0s.size()] * kDt;
        const double want = d > 0 ? w0 + ap * std::pow(1 - u, mu) * std::exp(-d / tp)
                                  : w0 - am * std::pow(u, mu) * std::exp(d / tm);
        CAPTURE(mu, w0, d, syn[i].weight, want);
        CHECK(std::fabs(syn[i].weight - want) <= 1e-12 * std::fabs(want - w0) + 1e-15);
        CHECK(syn[i].weight >= w_min);
        CHECK(syn[i].weight <= w_max);
      }
    }
  }
}

namespace {
struct SpikeLog : Observer {
  std::vector<Spike> spikes;
  void on_spikes(const std::vector<Spike>& s) override { spikes.insert(spikes.end(), s.begin(), s.end()); }
};
}  // namespace

TEST_CASE("stdp: plastic projection onto Izhikevich neurons (pulse ports): post first at coincidence") {
  // Izhikevich RS neurons driven by a constant current spike regularly. Pre probes fire so that
  // some inputs reach the synapse exactly at a post spike, others just before or after. The
  // plastic weights are tiny (pA) so they do not move the post spikes; the weights must equal the
  // pair sum over the recorded spikes with the pulse-port order (post first at equal times).
  const std::size_t n = 6;
  const int D = 10;
  auto run = [&](bool plastic, std::vector<Spike>& post_spikes, std::vector<double>& w,
                 const std::vector<std::vector<Step>>& pre_fire) {
    Simulation sim({kDt, 11, 2});
    auto& pre = sim.add_population<ProbePopulation>("pre", n);
    auto& izh = sim.add_population<models::Izhikevich>("izh", n);
    sim.add_stimulus<CurrentInput>("drive", izh, std::vector<double>{0.0}, std::vector<double>{10.0});
    ProjectionSpec s;
    s.name = "p";
    s.source = "pre";
    s.target = "izh";
    s.port = "exc";
    s.connect.rule = ConnectSpec::Rule::one_to_one;
    s.weight = Distribution::constant(1e-6);
    s.delay = Distribution::constant(D * kDt);
    if (plastic)
      s.plasticity = make_rule("stdp", {{"a_plus", 1e-6}, {"a_minus", 1.2e-6}, {"w_min", -1.0}, {"w_max", 1.0}});
    const Projection& proj = sim.connect(s);
    REQUIRE(izh.ports()[static_cast<std::size_t>(proj.port())].kind == PortKind::pulse);
    for (std::size_t i = 0; i < n; ++i)
      for (Step k : pre_fire[i]) pre.fire(k, static_cast<NeuronIndex>(i));
    SpikeLog log;
    sim.add_observer(log);
    sim.run(1000.0);
    post_spikes.clear();
    for (const Spike& sp : log.spikes)
      if (sp.population == izh.index()) post_spikes.push_back(sp);
    w.clear();
    for (const auto& syn : proj.synapses()) w.push_back(syn.weight);
  };
  std::vector<Spike> ref_spikes, spikes;
  std::vector<double> w;
  std::vector<std::vector<Step>> none(n);
  run(false, ref_spikes, w, none);
  REQUIRE(ref_spikes.size() > 20);
  // Pre spikes: neuron i aims at the post spikes of neuron i with offsets -i..+i steps (0 included).
  std::vector<std::vector<Step>> pre_fire(n);
  std::vector<std::vector<double>> post_t(n);
  for (const Spike& sp : ref_spikes) post_t[sp.neuron].push_back((sp.step + 1) * kDt);
  for (std::size_t i = 0; i < n; ++i) {
    const int off = static_cast<int>(i) - 2;  // -2 .. 3 steps: includes exact coincidence
    for (double t : post_t[i]) {
      const auto stamp = static_cast<Step>(std::llround(t / kDt));
      const Step k = stamp + off - 1 - D;  // synapse time stamp + off
      if (k >= 0) pre_fire[i].push_back(k);
    }
  }
  run(true, spikes, w, pre_fire);
  REQUIRE(spikes.size() == ref_spikes.size());
  for (std::size_t s = 0; s < spikes.size(); ++s) REQUIRE((spikes[s].step == ref_spikes[s].step && spikes[s].neuron == ref_spikes[s].neuron));
  double worst = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> pre_t;
    for (Step k : pre_fire[i]) pre_t.push_back((k + 1 + D) * kDt);
    const double want = 1e-6 + pair_sum(pre_t, post_t[i], 1e-6, 1.2e-6, 20.0, 20.0, false);
    CAPTURE(i, w[i], want);
    CHECK(rel_err(w[i] - 1e-6, want - 1e-6) < 1e-9);
    worst = std::max(worst, rel_err(w[i] - 1e-6, want - 1e-6));
    // With the wrong order the coincident pairs would potentiate instead.
    if (i == 2) CHECK(w[i] < 1e-6);
  }
  WARN("stdp onto izhikevich: max relative error " << worst);
}
