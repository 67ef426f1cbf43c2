// bench_coba: the COBA network of Vogels & Abbott (2005), benchmark 1 of Brette et al. (2007),
// through the nmsim C++ API with lif_cond, timed.
//
// 4000 neurons (3200 exc, 800 inh), connected with probability p = 0.02 (autapses off), in the
// form the Brian2 COBA benchmarks use (Brian2GeNN / Brian2CUDA / BrainPy comparisons): a constant
// bias I = 20 mV above E_L keeps the network active for any initial state, so 10 s of activity
// are guaranteed (the original self-sustained version depends on its initial kick; with our
// truncated initial conductances it died out within 1 s). Model (Brian2 form, conductances
// g_e, g_i dimensionless, in units of the leak conductance g_L):
//   tau_m dV/dt = (E_L - V) + g_e (E_e - V) + g_i (E_i - V) + I
//   tau_m = 20 ms, E_L = -60 mV, I = 20 mV, V_th = -50 mV, V_reset = -60 mV, t_ref = 5 ms,
//   E_e = 0 mV, E_i = -80 mV, tau_e = 5 ms, tau_i = 10 ms, we = 0.6, wi = 6.7 (units of g_L),
//   V(0) ~ N(-55 mV, 5 mV), g_e(0) = g_i(0) = 0.
// nmsim units (lif_cond): C_m dV/dt = g_L (E_L - V) + g_ex (E_ex - V) + g_in (E_in - V) + I_e.
// Multiplying the Brian2 equation by g_L = 10 nS (Brette et al. 2007) gives C_m = tau_m g_L =
// 200 pF, I_e = 20 mV x 10 nS = 200 pA, and a weight w in units of g_L is w x 10 nS:
//   we = 6 nS, wi = 67 nS (the published 6 nS and 67 nS of Brette et al. 2007).
// Delay 0.1 ms = dt (the smallest nmsim allows; bench/brian2_coba.py uses the same delay).
// Integration: lif_cond's default "exponential" integrator (Brian2: exponential_euler).
//
//   bench_coba [--duration 10000] [--threads 1] [--seed 1] [--kernel 1]
#include <cmath>
#include <cstdio>

#include "bench_util.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/models/lif_cond.hpp"
#include "scatter_kernel.hpp"

using namespace nmsim;

int main(int argc, char** argv) {
  bench::Args args(argc, argv, {"duration", "threads", "seed", "kernel", "probe"});
  const double duration = args.number("duration", 10000.0);
  const int threads = static_cast<int>(args.number("threads", 1));
  const auto seed = static_cast<std::uint64_t>(args.number("seed", 1));
  const bool kernel = args.number("kernel", 1) != 0;
  const std::size_t n_e = 3200, n_i = 800, n = n_e + n_i;
  const double dt = 0.1, p_conn = 0.02, g_l = 10.0, tau_m = 20.0, we = 0.6 * g_l, wi = 6.7 * g_l, delay = 0.1;

  const double t_build0 = bench::wall_seconds();
  Simulation sim({dt, seed, threads});
  models::LifCondParams p;
  p.c_m = tau_m * g_l;  // 200 pF
  p.g_l = g_l;
  p.e_l = -60.0;
  p.e_ex = 0.0;
  p.e_in = -80.0;
  p.v_th = -50.0;
  p.v_reset = -60.0;
  p.t_ref = 5.0;
  p.tau_syn_ex = 5.0;
  p.tau_syn_in = 10.0;
  p.i_e = 20.0 * g_l;  // 200 pA
  models::LifCondInit init;
  init.v = Distribution::normal(-55.0, 5.0);
  init.v_given = true;
  auto& exc = sim.add_population<models::LifCond>("exc", n_e, p, init);
  sim.add_population<models::LifCond>("inh", n_i, p, init);
  auto proj = [&](const char* name, const char* src, const char* tgt, const char* port, double w) {
    ProjectionSpec s;
    s.name = name;
    s.source = src;
    s.target = tgt;
    s.port = port;
    s.weight = Distribution::constant(w);
    s.delay = Distribution::constant(delay);
    s.connect.rule = ConnectSpec::Rule::fixed_probability;
    s.connect.p = p_conn;
    s.connect.allow_autapses = false;
    sim.connect(s);
  };
  proj("ee", "exc", "exc", "exc", we);
  proj("ei", "exc", "inh", "exc", we);
  proj("ie", "inh", "exc", "inh", wi);
  proj("ii", "inh", "inh", "inh", wi);
  bench::DeliveryTiming timing;
  bench::DeliveryClock clock(timing);
  // --probe 0: no delivery clock, so the engine may take its one-barrier loop (the clock is an
  // active observer); run_s is then the engine alone and deliver_s is not measured.
  const bool probe = args.number("probe", 1.0) != 0.0;
  if (probe) {
    sim.add_stimulus<bench::DeliveryProbe>(exc, timing);
    sim.add_observer(clock);
  }
  sim.prepare();
  const double build_s = bench::wall_seconds() - t_build0;

  const auto [run_s, run_cpu_s] = bench::timed_run(sim, duration, clock);
  sim.finish(true);

  const double spikes = static_cast<double>(sim.total_spikes());
  const double events = static_cast<double>(sim.synaptic_events());
  const double rate = spikes / static_cast<double>(n) / (duration * 1e-3);
  std::size_t synapses = 0;
  for (const auto& pr : sim.projections()) synapses += pr->synapse_count();
  bench::ResultLine line;
  line.add("bench", "coba").add("sim", "nmsim").add("threads", sim.threads()).add("neurons", static_cast<double>(n));
  line.add("synapses", static_cast<double>(synapses), "%.0f").add("duration_ms", duration);
  line.add("build_s", build_s, "%.3f").add("run_s", run_s, "%.3f").add("run_cpu_s", run_cpu_s, "%.3f").add("spikes", spikes, "%.0f");
  line.add("rate_hz", rate, "%.3f").add("events", events, "%.0f").add("events_per_s", events / run_s, "%.4g");
  line.add("rtf", run_s / (duration * 1e-3), "%.4g").add("peak_mb", bench::peak_rss_mb(), "%.1f");
  line.add("deliver_s", timing.total, "%.3f").add("deliver_events_per_s", events / timing.total, "%.4g");
  if (kernel) {
    bench::ScatterConfig kc;
    kc.n_exc = static_cast<std::uint32_t>(n_e);
    kc.n_inh = static_cast<std::uint32_t>(n_i);
    kc.k_exc = static_cast<std::uint32_t>(std::llround(p_conn * static_cast<double>(n_e)));
    kc.k_inh = static_cast<std::uint32_t>(std::llround(p_conn * static_cast<double>(n_i)));
    kc.w_exc = we;
    kc.w_inh = wi;
    kc.delay = 1;
    kc.rate_hz = rate;
    kc.dt = dt;
    kc.steps = static_cast<std::int64_t>(std::llround(duration / dt));
    kc.threads = sim.threads();
    kc.seed = seed;
    const bench::ScatterResult kr = bench::run_scatter(kc);
    line.add("kernel_events_per_s", kr.events_per_s(), "%.4g");
    line.add("deliver_pct_of_kernel", 100.0 * (events / timing.total) / kr.events_per_s(), "%.1f");
  }
  line.print();
  return 0;
}
