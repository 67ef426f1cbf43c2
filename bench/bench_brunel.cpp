// bench_brunel: Brunel (2000) model A through the nmsim C++ API, timed.
//
// N_E = 4 N_I current-based LIF neurons with delta synapses (voltages relative to rest):
//   tau_m = 20 ms, theta = 20 mV, V_r = 10 mV, t_ref = 2 ms, V(0) ~ U[0, 20) mV;
//   fixed in-degree C_E excitatory and C_I inhibitory inputs per neuron (multapses on, autapses
//   off, as NEST's brunel_delta example), J = 0.1 mV, inhibitory -g J with g = 5, delay 1.5 ms;
//   external drive: one Poisson train per neuron of rate eta nu_thr C_E, nu_thr = theta/(J C_E
//   tau_m), weight J, eta = 2 (asynchronous irregular regime); dt = 0.1 ms.
// Scaling: C_E = 1000 and C_I = 250 stay fixed by default (epsilon = 0.1 at N = 12 500, 0.0125 at
// N = 100 000): the mean-field state depends on C_E, J, g, eta only, so every size simulates the
// same dynamics and the cost grows linearly in N (100 000 neurons: 1.25e8 synapses, ~2 GB).
// --epsilon e instead sets C_E = e N_E, C_I = e N_I (memory then grows as N^2).
//
//   bench_brunel [--neurons 12500] [--duration 1000] [--threads 1] [--seed 1] [--epsilon e]
//                [--kernel 1]  (0: skip the scatter-kernel comparison)
// Prints one RESULT line (bench_util.hpp), see bench/README.md.
#include <cmath>
#include <cstdio>

#include "bench_util.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/models/lif.hpp"
#include "scatter_kernel.hpp"

using namespace nmsim;

int main(int argc, char** argv) {
  bench::Args args(argc, argv, {"neurons", "duration", "threads", "seed", "epsilon", "kernel", "probe"});
  const auto n = static_cast<std::size_t>(args.number("neurons", 12500));
  const double duration = args.number("duration", 1000.0);
  const int threads = static_cast<int>(args.number("threads", 1));
  const auto seed = static_cast<std::uint64_t>(args.number("seed", 1));
  const bool kernel = args.number("kernel", 1) != 0;
  const std::size_t n_e = n * 4 / 5, n_i = n - n_e;
  std::uint64_t c_e = 1000, c_i = 250;
  if (args.has("epsilon")) {
    const double eps = args.number("epsilon", 0.1);
    c_e = static_cast<std::uint64_t>(std::llround(eps * static_cast<double>(n_e)));
    c_i = static_cast<std::uint64_t>(std::llround(eps * static_cast<double>(n_i)));
  }
  const double dt = 0.1, J = 0.1, g = 5.0, eta = 2.0, delay = 1.5, theta = 20.0, tau_m = 20.0;
  const double nu_thr_hz = theta / (J * static_cast<double>(c_e) * tau_m) * 1000.0;
  const double rate_ext_hz = eta * nu_thr_hz * static_cast<double>(c_e);

  const double t_build0 = bench::wall_seconds();
  Simulation sim({dt, seed, threads});
  models::LifParams p;
  p.synapse = models::LifParams::Synapse::delta;
  p.tau_m = tau_m;
  p.e_l = 0.0;
  p.v_th = theta;
  p.v_reset = 10.0;
  p.t_ref = 2.0;
  models::LifInit init;
  init.v = Distribution::uniform(0.0, theta);
  init.v_given = true;
  auto& exc = sim.add_population<models::Lif>("exc", n_e, p, init);
  auto& inh = sim.add_population<models::Lif>("inh", n_i, p, init);
  auto proj = [&](const char* name, const char* src, const char* tgt, const char* port, std::uint64_t k, double w) {
    ProjectionSpec s;
    s.name = name;
    s.source = src;
    s.target = tgt;
    s.port = port;
    s.weight = Distribution::constant(w);
    s.delay = Distribution::constant(delay);
    s.connect.rule = ConnectSpec::Rule::fixed_indegree;
    s.connect.k = k;
    s.connect.allow_autapses = false;
    s.connect.allow_multapses = true;
    sim.connect(s);
  };
  proj("ee", "exc", "exc", "exc", c_e, J);
  proj("ei", "exc", "inh", "exc", c_e, J);
  proj("ie", "inh", "exc", "inh", c_i, -g * J);
  proj("ii", "inh", "inh", "inh", c_i, -g * J);
  bench::DeliveryTiming timing;
  bench::DeliveryClock clock(timing);
  // --probe 0: no delivery clock (an active observer), so the engine may take its one-barrier
  // loop; run_s is then the engine alone and deliver_s is not measured.
  const bool probe = args.number("probe", 1.0) != 0.0;
  if (probe) sim.add_stimulus<bench::DeliveryProbe>(exc, timing);  // first stimulus: see bench_util.hpp
  sim.add_stimulus<PoissonInput>("ext_e", exc, "exc", rate_ext_hz, J);
  sim.add_stimulus<PoissonInput>("ext_i", inh, "exc", rate_ext_hz, J);
  if (probe) sim.add_observer(clock);
  sim.prepare();
  const double build_s = bench::wall_seconds() - t_build0;

  const auto [run_s, run_cpu_s] = bench::timed_run(sim, duration, clock);
  sim.finish(true);

  const double spikes = static_cast<double>(sim.total_spikes());
  const double events = static_cast<double>(sim.synaptic_events());
  const double rate = spikes / static_cast<double>(n) / (duration * 1e-3);
  bench::ResultLine line;
  line.add("bench", "brunel").add("sim", "nmsim").add("threads", sim.threads()).add("neurons", static_cast<double>(n));
  line.add("c_e", static_cast<double>(c_e)).add("c_i", static_cast<double>(c_i)).add("duration_ms", duration);
  line.add("build_s", build_s, "%.3f").add("run_s", run_s, "%.3f").add("run_cpu_s", run_cpu_s, "%.3f").add("spikes", spikes, "%.0f");
  line.add("rate_hz", rate, "%.3f").add("events", events, "%.0f").add("events_per_s", events / run_s, "%.4g");
  line.add("rtf", run_s / (duration * 1e-3), "%.4g").add("peak_mb", bench::peak_rss_mb(), "%.1f");
  line.add("deliver_s", timing.total, "%.3f").add("deliver_events_per_s", events / timing.total, "%.4g");
  if (kernel) {
    // The machine's limit for the same delivery shape: same N, in-degrees, measured rate, ring size.
    bench::ScatterConfig kc;
    kc.n_exc = static_cast<std::uint32_t>(n_e);
    kc.n_inh = static_cast<std::uint32_t>(n_i);
    kc.k_exc = static_cast<std::uint32_t>(c_e);
    kc.k_inh = static_cast<std::uint32_t>(c_i);
    kc.w_exc = J;
    kc.w_inh = -g * J;
    kc.delay = static_cast<std::uint16_t>(std::llround(delay / dt));
    kc.rate_hz = rate;
    kc.dt = dt;
    kc.steps = std::min<std::int64_t>(static_cast<std::int64_t>(std::llround(duration / dt)), 10000);
    kc.threads = sim.threads();
    kc.seed = seed;
    const bench::ScatterResult kr = bench::run_scatter(kc);
    line.add("kernel_events_per_s", kr.events_per_s(), "%.4g");
    line.add("deliver_pct_of_kernel", 100.0 * (events / timing.total) / kr.events_per_s(), "%.1f");
  }
  line.print();
  return 0;
}
