// bench_scatter: the machine's limit for nmsim's delivery loop (scatter_kernel.hpp), standalone.
// Defaults are the Brunel run (bench_brunel): N = 12 500 (4:1), C_E = 1000, C_I = 250, delay
// 15 steps (16 ring slots), dt = 0.1 ms; --rate is the per-neuron rate to replay (Hz).
//
//   bench_scatter [--neurons 12500] [--k-exc 1000] [--k-inh 250] [--rate 30] [--delay 15]
//                 [--duration 1000] [--threads 1] [--seed 7]
#include <cmath>

#include "bench_util.hpp"
#include "scatter_kernel.hpp"

int main(int argc, char** argv) {
  using namespace nmsim;
  bench::Args args(argc, argv, {"neurons", "k-exc", "k-inh", "rate", "delay", "duration", "threads", "seed"});
  const auto n = static_cast<std::uint32_t>(args.number("neurons", 12500));
  bench::ScatterConfig c;
  c.n_exc = n * 4 / 5;
  c.n_inh = n - c.n_exc;
  c.k_exc = static_cast<std::uint32_t>(args.number("k-exc", 1000));
  c.k_inh = static_cast<std::uint32_t>(args.number("k-inh", 250));
  c.rate_hz = args.number("rate", 30.0);
  c.delay = static_cast<std::uint16_t>(args.number("delay", 15));
  const double duration = args.number("duration", 1000.0);
  c.steps = static_cast<std::int64_t>(std::llround(duration / c.dt));
  c.threads = static_cast<int>(args.number("threads", 1));
  c.seed = static_cast<std::uint64_t>(args.number("seed", 7));
  const double t0 = bench::wall_seconds();
  const bench::ScatterResult r = bench::run_scatter(c);
  const double total = bench::wall_seconds() - t0;
  bench::ResultLine line;
  line.add("bench", "scatter").add("sim", "kernel").add("threads", c.threads).add("neurons", n);
  line.add("k_exc", c.k_exc).add("k_inh", c.k_inh).add("rate_hz", c.rate_hz).add("delay_steps", c.delay);
  line.add("duration_ms", duration).add("spikes", static_cast<double>(r.spikes), "%.0f");
  line.add("events", static_cast<double>(r.events), "%.0f").add("run_s", r.seconds, "%.3f");
  line.add("events_per_s", r.events_per_s(), "%.4g").add("ns_per_event", 1e9 / r.events_per_s(), "%.3f");
  line.add("total_s", total, "%.3f").add("peak_mb", bench::peak_rss_mb(), "%.1f").add("checksum", r.checksum, "%.6g");
  line.print();
  return 0;
}
