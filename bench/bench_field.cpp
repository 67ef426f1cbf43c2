// bench_field: the grid modulator field (modulators/grid_field.hpp) on an n^3 grid (default
// 128^3 = 2.1e6 voxels, 16.8 MB per array: the two field arrays fill the 32 MB L3, the triad's
// three do not), diffusion with first-order uptake, one FTCS sub-step per field step. Reports voxel
// updates per second at 1 and 2 threads and the memory bandwidth of the step as a fraction of a
// streaming triad a = b + s c run in the same process, on arrays of the same size
// (`bw_fraction_*`) and on arrays of 256 MB, the STREAM rule's DRAM bandwidth
// (`bw_fraction_stream_*`, `stream_GBps_*`).
//
// Byte count (the minimum traffic of the scheme): one sub-step is one pass that reads C once and
// writes C' once, 16 B per voxel; the six neighbours are re-used from L1/L2 (a z-plane is 128 KB),
// uptake and the grid sum are fused into the same pass, nothing else is touched. The triad counts
// 24 B per element (STREAM convention). Neither side counts the write-allocate read of its output
// line (the hardware moves 24 B and 32 B): `bw_fraction_*` uses the convention above on both sides,
// `bw_fraction_wa_*` counts the write-allocate on both (24 B / 32 B), likewise `_stream_` / `_stream_wa_`.
// Also: the same field advanced by the engine (Simulation, 2 threads), Michaelis-Menten uptake, and
// field.scheme = "heun" (`vox_per_s_heun_*`: both stages in one pass over memory, so also 16 B).
//
//   bench_field [--n 128] [--steps 40] [--reps 3]
#include <omp.h>

#include <algorithm>
#include <vector>

#include "bench_util.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/modulators/grid_field.hpp"

namespace {

using namespace nmsim;
using namespace nmsim::modulators;

GridFieldParams params(std::size_t n, bool mm, double initial = 0.05, GridScheme scheme = GridScheme::euler) {
  GridFieldParams p;
  p.scheme = scheme;
  p.geometry.dims = 3;
  p.geometry.shape = {n, n, n};
  p.geometry.spacing = {10.0, 10.0, 10.0};
  p.diffusion = 0.763;
  p.tortuosity = 1.54;
  p.volume_fraction = 0.21;
  p.initial = initial;
  if (mm) {
    p.kinetics.vmax = 4e-3;
    p.kinetics.km = 0.2;
  } else {
    p.kinetics.tau = 200.0;
  }
  return p;
}

// Voxel updates per second of one field step (one sweep over the grid), the best and the median
// of `steps` x `reps` single steps, each timed on its own: the triad below is timed the same way
// (one pass), so on a machine shared with other jobs both figures are the least disturbed pass.
struct Rate {
  double best = 0.0, median = 0.0;
};
Rate field_rate(std::size_t n, int threads, Step steps, int reps, bool mm, double dt = 10.0, double initial = 0.05,
                GridScheme scheme = GridScheme::euler) {
  GridField f("F", params(n, mm, initial, scheme));
  f.setup(dt, 1, 0, threads);  // dt = 10 ms: one sub-step per step at h = 10 um
  f.release_at_point(0, {5.0 * static_cast<double>(n), 5.0 * static_cast<double>(n), 5.0 * static_cast<double>(n)},
                     1e4);
  f.advance(0, 2);  // warm-up: pages touched, threads started
  std::vector<double> t;
  Step k = 2;
  for (int r = 0; r < reps; ++r)
    for (Step i = 0; i < steps; ++i, ++k) {
      const double t0 = bench::wall_seconds();
      f.advance(k, k + 1);
      t.push_back(bench::wall_seconds() - t0);
    }
  std::sort(t.begin(), t.end());
  const double per = static_cast<double>(n * n * n) * f.substeps();
  return {per / t.front(), per / t[t.size() / 2]};
}

double engine_rate(std::size_t n, int threads, Step steps) {
  Simulation sim({10.0, 1, threads});
  auto& f = sim.add_modulator<GridField>("F", params(n, false));
  sim.prepare();
  sim.run_steps(10);
  const double t0 = bench::wall_seconds();
  sim.run_steps(steps);
  const double s = bench::wall_seconds() - t0;
  return static_cast<double>(n * n * n) * f.substeps() * static_cast<double>(steps) / s;
}

// Streaming triad a = b + s c over m doubles: elements per second, best of `passes` passes.
double triad_rate(std::size_t m, int threads, int passes) {
  std::vector<double> a(m), b(m), c(m);
  const auto mm = static_cast<std::ptrdiff_t>(m);
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::ptrdiff_t i = 0; i < mm; ++i) {
    a[static_cast<std::size_t>(i)] = 0.0;
    b[static_cast<std::size_t>(i)] = 1.0;
    c[static_cast<std::size_t>(i)] = 2.0;
  }
  double best = 1e300;
  for (int r = 0; r < passes; ++r) {
    const double s = 0.5 + 1e-3 * r;
    const double t0 = bench::wall_seconds();
#pragma omp parallel for schedule(static) num_threads(threads)
    for (std::ptrdiff_t i = 0; i < mm; ++i)
      a[static_cast<std::size_t>(i)] = b[static_cast<std::size_t>(i)] + s * c[static_cast<std::size_t>(i)];
    best = std::min(best, bench::wall_seconds() - t0);
  }
  volatile double sink = a[m / 2];
  (void)sink;
  return static_cast<double>(m) / best;
}

// The triad of the STREAM rule: each array at least 4 times the last-level caches (2 x 32 MB on
// this host's 2 cores, if they sit on two CCDs), so that every pass runs from DRAM: 256 MB per
// array. The same-size triad above (arrays of n^3) lies partly in L3 and varied 36-125 GB/s
// between runs (2026-12-04), which made its fraction a measure of the triad's luck.
constexpr std::size_t kStreamElements = std::size_t{32} << 20;

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, {"n", "steps", "reps"});
  const auto n = static_cast<std::size_t>(args.number("n", 128));
  const auto steps = static_cast<Step>(args.number("steps", 40));
  const int reps = static_cast<int>(args.number("reps", 3));
  bench::ResultLine line;
  line.add("bench", "field").add("sim", "grid").add("n", static_cast<double>(n), "%.0f");
  line.add("voxels", static_cast<double>(n * n * n), "%.0f");
  for (int threads : {1, 2}) {
    const Rate vox = field_rate(n, threads, steps, reps, false);
    const double triad = triad_rate(n * n * n, threads, 40 * reps);
    const double stream = triad_rate(kStreamElements, threads, 12);
    const double bw_field = 16.0 * vox.best, bw_triad = 24.0 * triad;
    const std::string t = std::to_string(threads) + "thr";
    line.add("vox_per_s_" + t, vox.best, "%.4g").add("vox_per_s_median_" + t, vox.median, "%.4g");
    line.add("field_GBps_" + t, bw_field * 1e-9, "%.3g");
    line.add("triad_GBps_" + t, bw_triad * 1e-9, "%.3g").add("bw_fraction_" + t, bw_field / bw_triad, "%.3f");
    line.add("bw_fraction_wa_" + t, (24.0 * vox.best) / (32.0 * triad), "%.3f");
    line.add("stream_GBps_" + t, 24.0 * stream * 1e-9, "%.3g");
    line.add("bw_fraction_stream_" + t, bw_field / (24.0 * stream), "%.3f");
    line.add("bw_fraction_stream_wa_" + t, (24.0 * vox.best) / (32.0 * stream), "%.3f");
  }
  // Michaelis-Menten uptake, the round-off-exact Taylor series (Kinetics::mm_piece): dt = 10 ms
  // (vmax h / km = 0.2: order 12, a row pass after the stencil), dt = 5 ms (0.1: order 10) and
  // dt = 0.1 ms (0.002: order 4, fused into the stencil pass).
  line.add("vox_per_s_mm_order12_1thr", field_rate(n, 1, steps / 4, 1, true).best, "%.4g");
  line.add("vox_per_s_mm_order10_1thr", field_rate(n, 1, steps / 4, 1, true, 5.0).best, "%.4g");
  line.add("vox_per_s_mm_order4_1thr", field_rate(n, 1, steps, reps, true, 0.1).best, "%.4g");
  // Near the steady state (1e-4 uM, inside the near radius km / 64 at dt = 5 ms), where a field
  // with releases spends almost all voxels: the near polynomial fused into the stencil.
  line.add("vox_per_s_mm_near_1thr", field_rate(n, 1, steps, reps, true, 5.0, 1e-4).best, "%.4g");
  line.add("vox_per_s_engine_2thr", engine_rate(n, 2, steps), "%.4g");
  // field.scheme = "heun" (two stages per sub-step, fused per plane): first-order uptake as the
  // main figure, and the Michaelis-Menten row pass at dt = 10 ms; the same 16 B per voxel.
  for (int threads : {1, 2})
    line.add("vox_per_s_heun_" + std::to_string(threads) + "thr",
             field_rate(n, threads, steps, reps, false, 10.0, 0.05, GridScheme::heun).best, "%.4g");
  line.add("vox_per_s_heun_mm_order12_1thr", field_rate(n, 1, steps / 4, 1, true, 10.0, 0.05, GridScheme::heun).best,
           "%.4g");
  line.add("peak_mb", bench::peak_rss_mb(), "%.1f");
  line.print();
  return 0;
}
