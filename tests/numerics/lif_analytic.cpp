// LIF against its analytic solution: subthreshold response to a constant current, to one
// exponential PSC, and the f-I curve.
#include <catch2/catch.hpp>
#include <cmath>

#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/models/lif.hpp"

using namespace nmsim;
using nmsim::models::Lif;
using nmsim::models::LifParams;

namespace {
struct VProbe : Observer {
  Lif* lif;
  std::vector<double> v;  // v[k] = V(t_{k+1})
  explicit VProbe(Lif& l) : lif(&l) {}
  bool samples() const override { return true; }
  void sample(Step, int tid) override {
    if (tid == 0) v.push_back(lif->v()[0]);
  }
};
}  // namespace

TEST_CASE("lif: subthreshold V(t) under a constant current equals the analytic solution") {
  for (double dt : {0.1, 0.05, 1.0}) {
    Simulation sim({dt, 1, 1});
    LifParams p;  // C=250 pF, tau_m=10 ms, E_L=-70 mV, V_th=-55 mV
    p.i_e = 300.0;  // R I = 12 mV < 15 mV: stays below threshold
    auto& lif = sim.add_population<Lif>("n", 1, p);
    VProbe probe(lif);
    sim.add_observer(probe);
    sim.run(100.0);
    const double R = p.tau_m / p.c_m;
    double max_rel = 0;
    for (std::size_t k = 0; k < probe.v.size(); ++k) {
      const double t = static_cast<double>(k + 1) * dt;
      const double exact = p.e_l + R * p.i_e * (1 - std::exp(-t / p.tau_m));
      max_rel = std::max(max_rel, std::fabs((probe.v[k] - exact) / exact));
    }
    CAPTURE(dt);
    REQUIRE(probe.v.size() == static_cast<std::size_t>(std::llround(100.0 / dt)));
    CHECK(max_rel < 1e-9);
  }
}

TEST_CASE("lif: one exponential PSC gives the analytic PSP, for tau_syn != tau_m and ==") {
  for (double tau_s : {2.0, 10.0, 9.999999}) {
    const double dt = 0.1;
    Simulation sim({dt, 1, 1});
    LifParams p;
    p.tau_syn_ex = tau_s;
    auto& lif = sim.add_population<Lif>("n", 1, p);
    const double w = 1000.0, t0 = 5.0;  // pA at t0 ms
    sim.add_stimulus<SpikeTimesInput>("in", lif, "exc", std::vector<double>{t0}, std::vector<NeuronIndex>{0}, w);
    VProbe probe(lif);
    sim.add_observer(probe);
    sim.run(60.0);
    double max_rel = 0;
    const double tm = p.tau_m, C = p.c_m;
    for (std::size_t k = 0; k < probe.v.size(); ++k) {
      const double t = static_cast<double>(k + 1) * dt - t0;
      double dv = 0;
      if (t > 1e-12)
        dv = tau_s == tm ? w * t / C * std::exp(-t / tm)
                         : w * tm * tau_s / (C * (tm - tau_s)) * (std::exp(-t / tm) - std::exp(-t / tau_s));
      const double exact = p.e_l + dv;
      max_rel = std::max(max_rel, std::fabs((probe.v[k] - exact) / exact));
    }
    CAPTURE(tau_s);
    CHECK(max_rel < 1e-9);
    // The PSP must be a real bump, not nothing.
    CHECK(*std::max_element(probe.v.begin(), probe.v.end()) > p.e_l + 0.5);
  }
}

TEST_CASE("lif: firing period under suprathreshold current equals the f-I formula within one step") {
  for (double i_e : {400.0, 600.0, 1000.0, 3000.0}) {
    const double dt = 0.1;
    Simulation sim({dt, 1, 1});
    LifParams p;
    p.i_e = i_e;
    sim.add_population<Lif>("n", 1, p);
    sim.run(1000.0);
    const double R = p.tau_m / p.c_m;
    const double period = p.t_ref + p.tau_m * std::log((R * i_e - (p.v_reset - p.e_l)) / (R * i_e - (p.v_th - p.e_l)));
    const double n = static_cast<double>(sim.spike_counts("n")[0]);
    // First spike needs one interval from E_L = V_reset, minus t_ref; spikes in 1000 ms:
    const double measured = (1000.0 + p.t_ref) / n;
    CAPTURE(i_e, period, measured);
    CHECK(std::fabs(measured - period) <= dt + period * period / 1000.0);
  }
}
