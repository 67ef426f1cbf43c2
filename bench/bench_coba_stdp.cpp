// bench_coba_stdp: the cost of plasticity. The COBA network of bench_coba.cpp (Vogels & Abbott
// 2005 in the Brian2 benchmark form: 4000 lif_cond neurons, p = 0.02, delay 0.1 ms = dt, 10 s),
// once static and once with pair STDP on E->E, timed in the same process, alternating, best of
// --reps each. The plastic overhead is run_s(plastic) / run_s(static).
//
// STDP on E->E ("stdp", stdp.hpp): additive, all-to-all, tau+ = tau- = 20 ms, bounds
// [0, 2 we] = [0, 12 nS], a_plus = 0.005 we = 0.03 nS, a_minus = 1.05 a_plus (slightly
// depression-dominated). The amplitudes are small so that the weights drift by only a few percent
// in 10 s and the rates stay near the static network's (printed: rate_hz vs static_rate_hz,
// w_ee_mean vs we). Everything else (model, connectivity with the same seed, stimulus) is
// identical to bench_coba, so both networks have the same synapses; only E->E learns.
//
//   bench_coba_stdp [--duration 10000] [--threads 1] [--seed 1] [--reps 3]
#include <cmath>
#include <cstdio>
#include <memory>

#include "bench_util.hpp"
#include "nmsim/core/registry.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/models/lif_cond.hpp"
#include "nmsim/models/register.hpp"

using namespace nmsim;

namespace {

constexpr std::size_t kNe = 3200, kNi = 800, kN = kNe + kNi;
constexpr double kDt = 0.1, kP = 0.02, kGl = 10.0, kTauM = 20.0, kWe = 0.6 * kGl, kWi = 6.7 * kGl, kDelay = 0.1;

struct Outcome {
  double build_s = 0, run_s = 0, run_cpu_s = 0, spikes = 0, events = 0, synapses = 0, w_ee_mean = 0;
  double peak_mb = 0;
};

Outcome run_once(bool plastic, double duration, int threads, std::uint64_t seed) {
  Outcome o;
  const double t_build0 = bench::wall_seconds();
  Simulation sim({kDt, seed, threads});
  models::LifCondParams p;
  p.c_m = kTauM * kGl;
  p.g_l = kGl;
  p.e_l = -60.0;
  p.e_ex = 0.0;
  p.e_in = -80.0;
  p.v_th = -50.0;
  p.v_reset = -60.0;
  p.t_ref = 5.0;
  p.tau_syn_ex = 5.0;
  p.tau_syn_in = 10.0;
  p.i_e = 20.0 * kGl;
  models::LifCondInit init;
  init.v = Distribution::normal(-55.0, 5.0);
  init.v_given = true;
  sim.add_population<models::LifCond>("exc", kNe, p, init);
  sim.add_population<models::LifCond>("inh", kNi, p, init);
  std::shared_ptr<const PlasticityModel> rule;
  Registry reg;
  models::register_models(reg);
  if (plastic) {
    ParamTable t("plasticity.stdp_ee");
    auto num = [](double v) { return ParamValue{v, {}}; };
    t.set("tau_plus", num(20.0));
    t.set("tau_minus", num(20.0));
    t.set("a_plus", num(0.005 * kWe));
    t.set("a_minus", num(1.05 * 0.005 * kWe));
    t.set("w_min", num(0.0));
    t.set("w_max", num(2.0 * kWe));
    t.set("dependence", ParamValue{std::string("additive"), {}});
    rule = reg.make_plasticity("stdp", "stdp_ee", t);
  }
  auto proj = [&](const char* name, const char* src, const char* tgt, const char* port, double w, bool learn) {
    ProjectionSpec s;
    s.name = name;
    s.source = src;
    s.target = tgt;
    s.port = port;
    s.weight = Distribution::constant(w);
    s.delay = Distribution::constant(kDelay);
    s.connect.rule = ConnectSpec::Rule::fixed_probability;
    s.connect.p = kP;
    s.connect.allow_autapses = false;
    if (learn) s.plasticity = rule;
    sim.connect(s);
  };
  proj("ee", "exc", "exc", "exc", kWe, plastic);
  proj("ei", "exc", "inh", "exc", kWe, false);
  proj("ie", "inh", "exc", "inh", kWi, false);
  proj("ii", "inh", "inh", "inh", kWi, false);
  sim.prepare();
  o.build_s = bench::wall_seconds() - t_build0;

  const double t_run0 = bench::wall_seconds(), cpu_run0 = bench::cpu_seconds();
  sim.run(duration);
  o.run_s = bench::wall_seconds() - t_run0;
  o.run_cpu_s = bench::cpu_seconds() - cpu_run0;

  Projection& ee = sim.projection("ee");
  double sum = 0.0, n = 0.0;
  for (const auto& s : ee.synapses()) {
    sum += s.weight;
    n += 1.0;
  }
  o.w_ee_mean = sum / n;
  sim.finish(true);
  o.spikes = static_cast<double>(sim.total_spikes());
  o.events = static_cast<double>(sim.synaptic_events());
  for (const auto& pr : sim.projections()) o.synapses += static_cast<double>(pr->synapse_count());
  o.peak_mb = bench::peak_rss_mb();
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, {"duration", "threads", "seed", "reps"});
  const double duration = args.number("duration", 10000.0);
  const int threads = static_cast<int>(args.number("threads", 1));
  const auto seed = static_cast<std::uint64_t>(args.number("seed", 1));
  const int reps = static_cast<int>(args.number("reps", 3));

  Outcome best_static, best_plastic;
  for (int r = 0; r < reps; ++r) {
    const Outcome s = run_once(false, duration, threads, seed);
    const Outcome p = run_once(true, duration, threads, seed);
    std::fprintf(stderr, "rep %d: static %.3f s (cpu %.3f), plastic %.3f s (cpu %.3f)\n", r, s.run_s, s.run_cpu_s,
                 p.run_s, p.run_cpu_s);
    if (r == 0 || s.run_s < best_static.run_s) best_static = s;
    if (r == 0 || p.run_s < best_plastic.run_s) best_plastic = p;
  }
  const Outcome& p = best_plastic;
  const Outcome& s = best_static;
  bench::ResultLine line;
  line.add("bench", "coba_stdp").add("sim", "nmsim").add("threads", threads).add("neurons", static_cast<double>(kN));
  line.add("synapses", p.synapses, "%.0f").add("duration_ms", duration, "%.0f");
  line.add("build_s", p.build_s, "%.3f").add("run_s", p.run_s, "%.3f").add("run_cpu_s", p.run_cpu_s, "%.3f");
  line.add("spikes", p.spikes, "%.0f").add("rate_hz", p.spikes / static_cast<double>(kN) / (duration * 1e-3), "%.3f");
  line.add("events", p.events, "%.0f").add("events_per_s", p.events / p.run_s, "%.4g");
  line.add("rtf", p.run_s / (duration * 1e-3), "%.4g").add("peak_mb", p.peak_mb, "%.1f");
  line.add("static_run_s", s.run_s, "%.3f").add("static_run_cpu_s", s.run_cpu_s, "%.3f");
  line.add("static_rate_hz", s.spikes / static_cast<double>(kN) / (duration * 1e-3), "%.3f");
  line.add("overhead", p.run_s / s.run_s, "%.3f").add("overhead_cpu", p.run_cpu_s / s.run_cpu_s, "%.3f");
  line.add("w_ee_mean", p.w_ee_mean, "%.4f").add("w_ee_static", kWe, "%.4f");
  line.print();
  return 0;
}
