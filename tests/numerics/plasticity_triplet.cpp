// Triplet STDP (stdp_triplet, Pfister & Gerstner 2006): weight change against pairing frequency
// (60 pairings, post 10 ms after / before pre, 0.1..50 Hz), against an independent reference that
// evaluates the traces as explicit sums over all earlier spikes (not the rule's recursion).
//
// Parameters: "minimal all-to-all, visual cortex" of Pfister & Gerstner (2006) Table 4, as
// quoted by third-party code found with the search tool (not checked against the paper itself):
// tau_+ = 16.8 ms, tau_- = 33.7 ms, tau_y = 114 ms, A2+ = 0, A3+ = 6.5e-3, A2- = 7.1e-3, A3- = 0;
// and the full all-to-all set that stdp_triplet.hpp uses as defaults (5e-10, 6.2e-3, 7e-3,
// 2.3e-4, tau_x = 101 ms, tau_y = 125 ms). The minimal set is also compared with the data it was
// fitted to (Sjostrom et al. 2001): within 2 SEM at every point.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "nmsim/core/registry.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/models/register.hpp"
#include "probe_population.hpp"

using namespace nmsim;
using nmsim::test::ProbePopulation;

namespace {

struct TripletSet {
  const char* name;
  double tau_plus, tau_minus, tau_x, tau_y, a2p, a3p, a2m, a3m;
  bool nearest;
};

// Synapse times in ms; jump port: at equal times pre first.
double reference(const TripletSet& p, const std::vector<double>& pre, const std::vector<double>& post) {
  // Trace of spikes `s` with time constant tau at t; `inclusive`: spikes at t count.
  auto trace = [&](const std::vector<double>& s, double t, double tau, bool inclusive) {
    double v = 0.0, last = -1e300;
    for (double ts : s)
      if (ts < t || (inclusive && ts == t)) {
        v += std::exp(-(t - ts) / tau);
        last = std::max(last, ts);
      }
    if (p.nearest) return last > -1e300 ? std::exp(-(t - last) / tau) : 0.0;
    return v;
  };
  double dw = 0.0;
  // Pre at t: o1(t) counts post spikes strictly before t (post at t comes after the pre event);
  // r2(t-) counts pre spikes strictly before t.
  for (double t : pre) dw -= trace(post, t, p.tau_minus, false) * (p.a2m + p.a3m * trace(pre, t, p.tau_x, false));
  // Post at t: r1(t) counts pre spikes at or before t; o2(t-) post spikes strictly before t.
  for (double t : post) dw += trace(pre, t, p.tau_plus, true) * (p.a2p + p.a3p * trace(post, t, p.tau_y, false));
  return dw;
}

}  // namespace

TEST_CASE("stdp_triplet: weight change vs pairing frequency matches the triplet equations (60 pairings, +-10 ms)") {
  const std::vector<TripletSet> sets = {
      {"minimal all-to-all (visual cortex)", 16.8, 33.7, 101.0, 114.0, 0.0, 6.5e-3, 7.1e-3, 0.0, false},
      {"full all-to-all (visual cortex)", 16.8, 33.7, 101.0, 125.0, 5e-10, 6.2e-3, 7e-3, 2.3e-4, false},
      {"nearest-spike, same constants", 16.8, 33.7, 101.0, 114.0, 0.0, 6.5e-3, 7.1e-3, 0.0, true},
  };
  const std::vector<double> freqs = {0.1, 1.0, 5.0, 10.0, 20.0, 25.0, 40.0, 50.0};
  const std::vector<int> deltas = {10, -10};  // ms, post - pre
  const double dt = 1.0;                      // every spike time is a whole ms
  const int D = 10;                           // delay steps (10 ms): 10-step windows
  for (const TripletSet& p : sets) {
    Registry reg;
    models::register_models(reg);
    ParamTable t("plasticity.t");
    t.set("tau_plus", {p.tau_plus});
    t.set("tau_minus", {p.tau_minus});
    t.set("tau_x", {p.tau_x});
    t.set("tau_y", {p.tau_y});
    t.set("a2_plus", {p.a2p});
    t.set("a3_plus", {p.a3p});
    t.set("a2_minus", {p.a2m});
    t.set("a3_minus", {p.a3m});
    t.set("w_min", {-100.0});
    t.set("w_max", {100.0});
    t.set("pairing", {std::string(p.nearest ? "nearest" : "all_to_all")});
    const std::size_t n = freqs.size() * deltas.size();
    Simulation sim({dt, 1, 1});
    auto& pre = sim.add_population<ProbePopulation>("pre", n);
    auto& post = sim.add_population<ProbePopulation>("post", n);
    ProjectionSpec s;
    s.name = "t";
    s.source = "pre";
    s.target = "post";
    s.port = "exc";
    s.connect.rule = ConnectSpec::Rule::one_to_one;
    s.weight = Distribution::constant(0.0);
    s.delay = Distribution::constant(D * dt);
    s.plasticity = reg.make_plasticity("stdp_triplet", "t", t);
    const Projection& proj = sim.connect(s);
    std::vector<std::vector<double>> pre_t(n), post_t(n);
    Step last = 0;
    for (std::size_t f = 0; f < freqs.size(); ++f)
      for (std::size_t d = 0; d < deltas.size(); ++d) {
        const std::size_t i = f * deltas.size() + d;
        const auto period = static_cast<Step>(std::llround(1000.0 / freqs[f] / dt));
        for (Step m = 0; m < 60; ++m) {
          const Step a_pre = 100 + m * period;  // synapse times (steps)
          const Step a_post = a_pre + deltas[d];
          pre.fire(a_pre - 1 - D, static_cast<NeuronIndex>(i));
          post.fire(a_post - 1, static_cast<NeuronIndex>(i));
          pre_t[i].push_back(static_cast<double>(a_pre) * dt);
          post_t[i].push_back(static_cast<double>(a_post) * dt);
          last = std::max(last, std::max(a_pre, a_post));
        }
      }
    sim.run_steps(last + 2);
    const auto syn = proj.synapses();
    double worst = 0.0;
    std::ostringstream curve;
    curve << p.name << ": rho [Hz] -> dw(+10 ms), dw(-10 ms)\n";
    for (std::size_t f = 0; f < freqs.size(); ++f) {
      curve << "  " << freqs[f];
      for (std::size_t d = 0; d < deltas.size(); ++d) {
        const std::size_t i = f * deltas.size() + d;
        const double want = reference(p, pre_t[i], post_t[i]);
        const double got = syn[i].weight;
        const double err = std::fabs(got - want) / std::max(std::fabs(want), 1e-12);
        CAPTURE(p.name, freqs[f], deltas[d], got, want);
        CHECK(err < 0.05);  // the acceptance bound
        CHECK(err < 1e-9);  // what an exact event-driven rule gives
        worst = std::max(worst, err);
        curve << "  " << got;
      }
      curve << "\n";
    }
    WARN(curve.str() << "  max relative error " << worst);
    if (!p.nearest) {
      // The frequency dependence of the fitted models: depression for -10 ms at 0.1 Hz, and
      // potentiation for both orders at 50 Hz; +10 ms grows with frequency.
      CHECK(syn[1].weight < 0.0);
      CHECK(syn[(freqs.size() - 1) * 2].weight > 0.0);
      CHECK(syn[(freqs.size() - 1) * 2 + 1].weight > 0.0);
      for (std::size_t f = 1; f < freqs.size(); ++f) CHECK(syn[f * 2].weight > syn[(f - 1) * 2].weight);
    }
    if (std::string(p.name).rfind("minimal", 0) == 0) {
      // Against the data the model was fitted to: Sjostrom, Turrigiano & Nelson (2001) Neuron
      // 32:1149, fractional change after 60 pairings at +10 / -10 ms, mean and SEM per frequency
      // (as tabulated in VH-Lab/vhlab-toolbox-matlab, sjostrom_freq_stdp.m). Each model point
      // within 2 SEM, and the fit error E = mean((model - data)^2 / SEM^2) of a good fit.
      struct Point {
        double rho, dw_plus, sem_plus, dw_minus, sem_minus;
      };
      const Point data[] = {{0.1, -0.04, 0.05, -0.29, 0.08},
                            {10, 0.14, 0.10, -0.41, 0.11},
                            {20, 0.29, 0.14, -0.34, 0.10},
                            {40, 0.53, 0.11, 0.56, 0.32},
                            {50, 0.56, 0.26, 0.75, 0.19}};
      double e = 0.0;
      int points = 0;
      for (const Point& d : data) {
        const auto f = static_cast<std::size_t>(std::find(freqs.begin(), freqs.end(), d.rho) - freqs.begin());
        REQUIRE(f < freqs.size());
        const double z_plus = (syn[f * 2].weight - d.dw_plus) / d.sem_plus;
        const double z_minus = (syn[f * 2 + 1].weight - d.dw_minus) / d.sem_minus;
        CAPTURE(d.rho, syn[f * 2].weight, syn[f * 2 + 1].weight, z_plus, z_minus);
        CHECK(std::fabs(z_plus) < 2.0);
        CHECK(std::fabs(z_minus) < 2.0);
        e += z_plus * z_plus + z_minus * z_minus;
        points += 2;
      }
      e /= points;
      CHECK(e < 0.5);
      WARN("minimal all-to-all triplet rule vs Sjostrom et al. 2001: fit error E = " << e << " over " << points
                                                                                    << " points");
    }
  }
}

TEST_CASE("stdp_triplet: single pairs reduce to the pair window; triplet terms need a second spike") {
  // Minimal model with A2+ > 0 for the check: one pre-post pair changes w by A2+ e^{-dt/tau+},
  // one post-pre pair by -A2- e^{-dt/tau-} (the triplet terms see empty traces).
  Registry reg;
  models::register_models(reg);
  ParamTable t("plasticity.t");
  t.set("a2_plus", {4e-3});
  t.set("a3_minus", {1e-3});
  t.set("w_min", {-1.0});
  Simulation sim({0.1, 1, 1});
  auto& pre = sim.add_population<ProbePopulation>("pre", 3);
  auto& post = sim.add_population<ProbePopulation>("post", 3);
  ProjectionSpec s;
  s.name = "t";
  s.source = "pre";
  s.target = "post";
  s.port = "exc";
  s.connect.rule = ConnectSpec::Rule::one_to_one;
  s.weight = Distribution::constant(0.0);
  s.delay = Distribution::constant(1.0);
  s.plasticity = reg.make_plasticity("stdp_triplet", "t", t);
  const Projection& proj = sim.connect(s);
  // 0: pre at 101, post at 151 (synapse times, steps); 1: post at 101, pre at 151;
  // 2: post 101, post 201, pre 251 after a pre at 51: pre-post, post-post-pre (o1 sums two).
  pre.fire(101 - 11, 0);
  post.fire(150, 0);
  post.fire(100, 1);
  pre.fire(151 - 11, 1);
  pre.fire(51 - 11, 2);
  post.fire(100, 2);
  post.fire(200, 2);
  pre.fire(251 - 11, 2);
  sim.run_steps(400);
  const auto syn = proj.synapses();
  const double tp = 16.8, tm = 33.7, tx = 101.0, ty = 125.0;
  CHECK(std::fabs(syn[0].weight - 4e-3 * std::exp(-5.0 / tp)) < 1e-15);
  CHECK(std::fabs(syn[1].weight + 7e-3 * std::exp(-5.0 / tm)) < 1e-15);
  // Neuron 2: post 10.1 ms: + r1 [A2+ + A3+ o2(-)=0] with r1 = e^{-5/tp}; post 20.1: r1 = e^{-15/tp},
  // o2(-) = e^{-10/ty}; pre 25.1: - o1 [A2- + A3- r2(-)], o1 = e^{-15/tm} + e^{-5/tm}, r2 = e^{-20/tx}.
  const double want = 4e-3 * std::exp(-5.0 / tp) + std::exp(-15.0 / tp) * (4e-3 + 6.2e-3 * std::exp(-10.0 / ty)) -
                      (std::exp(-15.0 / tm) + std::exp(-5.0 / tm)) * (7e-3 + 1e-3 * std::exp(-20.0 / tx));
  CHECK(std::fabs(syn[2].weight - want) < 1e-15);
}
