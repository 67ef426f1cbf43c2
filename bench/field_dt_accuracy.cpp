// field_dt_accuracy: how far a grid field's answer moves with the field step (field.dt), for the
// choice between cost and accuracy (docs/models/modulator_fields.md, "Choosing field.dt").
//
// DA preset (diffusion, tortuosity, volume fraction, DAT Michaelis-Menten uptake) on a 41^3 grid of
// 10 um voxels; engine dt = 0.1 ms; a burst of 10 quanta released at the centre voxel at
// t = 0.3 ms. Probes at r = 0, 20 and 40 um from the release along x (voxel centres). Reference:
// field.dt = 0.1 ms (the engine's step). For field.dt = 1, 2, 5 and 10 ms the relative deviation
// from the reference of: the peak at each r and its time, and C at 50, 100 and 200 ms. A release
// is added at the next block boundary and the block reads the state after the field step, so
// clouds away from the release are centred in time (docs: "Timing").
//
//   field_dt_accuracy            (about a second; prints a table and a RESULT line)
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "nmsim/modulators/grid_field.hpp"
#include "nmsim/modulators/presets.hpp"

using namespace nmsim;
using namespace nmsim::modulators;

namespace {

struct Trace {
  std::vector<double> peak, t_peak, c50, c100, c200;
};

Trace run(double field_dt, GridScheme scheme) {
  const ModulatorPreset& da = *find_preset("DA");
  GridFieldParams p;
  p.geometry.dims = 3;
  p.geometry.shape = {41, 41, 41};
  p.geometry.spacing = {10.0, 10.0, 10.0};
  p.diffusion = da.diffusion;
  p.tortuosity = da.tortuosity;
  p.volume_fraction = da.volume_fraction;
  p.kinetics = da.kinetics;
  p.initial = 0.0;
  p.field_dt = field_dt;
  p.scheme = scheme;
  GridField f("DA", p);
  const double c = 200.0;  // centre voxel (20, 20, 20)
  const std::vector<double> r = {0.0, 20.0, 40.0};
  for (const double d : r) f.add_probe({c + d, c, c});
  const double dt = 0.1;
  f.setup(dt);
  f.release_at_point(3, {c, c, c}, 10.0 * da.quantum);
  Trace t;
  t.peak.assign(r.size(), 0.0);
  t.t_peak.assign(r.size(), 0.0);
  t.c50.assign(r.size(), 0.0);
  t.c100.assign(r.size(), 0.0);
  t.c200.assign(r.size(), 0.0);
  for (Step k = 0; k < 2001; ++k) {
    f.advance(k, k + 1);
    for (std::size_t q = 0; q < r.size(); ++q) {
      const double v = f.probe_piece(k, q).at(0);
      if (v > t.peak[q]) t.peak[q] = v, t.t_peak[q] = static_cast<double>(k) * dt;
      if (k == 500) t.c50[q] = v;
      if (k == 1000) t.c100[q] = v;
      if (k == 2000) t.c200[q] = v;
    }
  }
  return t;
}

}  // namespace

int main() {
  const Trace ref = run(0.1, GridScheme::heun);
  const std::vector<double> r = {0.0, 20.0, 40.0};
  std::printf("reference (field.dt 0.1 ms):");
  for (std::size_t q = 0; q < r.size(); ++q)
    std::printf("  r %2.0f um: peak %.4g uM at %.1f ms, C(50, 100, 200 ms) %.4g %.4g %.4g", r[q], ref.peak[q],
                ref.t_peak[q], ref.c50[q], ref.c100[q], ref.c200[q]);
  std::printf("\nscheme | field.dt | r (um) | peak | time of peak (ms) | C(50 ms) | C(100 ms) | C(200 ms)\n");
  bench::ResultLine line;
  line.add("bench", "field_dt_accuracy").add("preset", "DA");
  auto rel = [](double a, double b) { return a / b - 1.0; };
  for (const GridScheme scheme : {GridScheme::euler, GridScheme::heun})
    for (const double h : {1.0, 2.0, 5.0, 10.0, 20.0}) {
      const char* sname = scheme == GridScheme::heun ? "heun" : "euler";
      const Trace t = run(h, scheme);
      double worst = 0.0;
      for (std::size_t q = 0; q < r.size(); ++q) {
        const double e[4] = {rel(t.peak[q], ref.peak[q]), rel(t.c50[q], ref.c50[q]), rel(t.c100[q], ref.c100[q]),
                             rel(t.c200[q], ref.c200[q])};
        std::printf("%s | %5.1f ms | %3.0f | %+6.1f %% | %+5.1f | %+6.1f %% | %+6.1f %% | %+6.1f %%\n", sname, h, r[q],
                    100 * e[0], t.t_peak[q] - ref.t_peak[q], 100 * e[1], 100 * e[2], 100 * e[3]);
        for (const double x : e) worst = std::max(worst, std::fabs(x));
      }
      line.add(std::string("worst_rel_dev_") + sname + "_fdt" + std::to_string(static_cast<int>(h)), worst, "%.3f");
    }
  line.print();
  return 0;
}
