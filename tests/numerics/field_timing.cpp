// When a grid field's releases land and what its readers see over a block of m steps
// (field.dt = m dt): the releases that arrived since the last boundary are added there, the field
// takes its step, and the block reads that step's end state (grid_field.hpp, "Timing").
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "field_cube.hpp"
#include "nmsim/modulators/grid_field.hpp"

using namespace nmsim;
using namespace nmsim::modulators;

namespace {

GridFieldParams cube(std::size_t n, double h, double tau, double field_dt) {
  GridFieldParams p = testing::cube(n, h);
  p.kinetics.tau = tau;
  p.field_dt = field_dt;
  return p;
}

}  // namespace

TEST_CASE("field timing: a release is added at its block's boundary, and the block reads the step's end state") {
  // A uniform release has no diffusion: the field is exactly C (e^{-H/tau})^j after j steps.
  const double dt = 0.1, tau = 20.0, H = 0.5;  // m = 5
  GridField f("F", cube(4, 10.0, tau, H));
  f.add_probe({12.0, 7.0, 21.0});
  f.setup(dt);
  REQUIRE(f.probe_hold() == 5);
  f.release_at(7, 1.0);  // arrives inside the block [5, 10): added at boundary 10
  std::vector<double> seen;
  for (Step k = 0; k < 25; ++k) {
    f.advance(k, k + 1);
    seen.push_back(f.probe_piece(k, 0).at(0));
    CHECK(f.piece(k).at(0) == Approx(seen.back()).epsilon(1e-14));  // the grid mean: the same uniform value
  }
  for (Step k = 0; k < 10; ++k) CHECK(seen[static_cast<std::size_t>(k)] == 0.0);  // not before its boundary
  for (Step k = 10; k < 25; ++k) {
    const double steps_taken = static_cast<double>((k - 10) / 5 + 1);
    INFO("step " << k);
    CHECK(seen[static_cast<std::size_t>(k)] == Approx(std::exp(-steps_taken * H / tau)).epsilon(1e-13));
  }
  CHECK(f.state_step() == 25);  // the next boundary; the state is the block's end state
}

// A probe's trace after one release at step `release` (a point release of 1000 uM um^3 at the
// grid's centre, or a uniform one of 1 uM): its integral over time, sum C dt (uM ms), and its
// centroid in time, t_c = sum t C / sum C (ms; the piece holds over [t_k, t_k+1)).
struct Trace {
  double integral, centroid;
};
Trace probe_trace(double field_dt, double tau, Step release, double probe_x, bool uniform, Step steps) {
  GridField f("F", cube(21, 10.0, tau, field_dt));
  f.add_probe({100.0 + probe_x, 100.0, 100.0});
  f.setup(0.1);
  if (uniform)
    f.release_at(release, 1.0);
  else
    f.release_at_point(release, {100.0, 100.0, 100.0}, 1000.0);
  long double m0 = 0.0L, m1 = 0.0L;
  for (Step k = 0; k < steps; ++k) {
    f.advance(k, k + 1);
    const double c = f.probe_piece(k, 0).at(0);
    m0 += c;
    m1 += c * (static_cast<double>(k) + 0.5) * 0.1;
  }
  return {static_cast<double>(m0) * 0.1, static_cast<double>(m1 / m0)};
}

TEST_CASE("field timing: a cloud 2 voxels away is centred in time for field.dt = 50 dt") {
  // A point release at 4 phases of a 5 ms block, the probe 20 um away, against the same run at
  // field.dt = dt. The release lands up to one block late, and the block reads the state one block
  // on: the centroid's shift averages out over the phases (measured -0.1 ms) and stays within
  // +-1.6 ms for each. Reading the state before the step (the order before 2026-12-04) put every
  // cloud one block late on average (field_dt_accuracy: peak at 20 um +11 ms at field.dt 10 ms).
  const double H = 5.0, tau = 200.0;
  double mean_shift = 0.0;
  for (const Step phase : {3, 17, 31, 45}) {
    const Step release = 100 + phase;  // blocks of 50 steps start at multiples of 50
    const double shift = probe_trace(H, tau, release, 20.0, false, 3000).centroid -
                         probe_trace(0.1, tau, release, 20.0, false, 3000).centroid;
    INFO("release at step " << release << ": centroid shift " << shift << " ms");
    CHECK(std::fabs(shift) <= 0.4 * H);
    mean_shift += shift / 4.0;
  }
  INFO("mean shift " << mean_shift << " ms");
  CHECK(std::fabs(mean_shift) <= 0.1 * H);
}

TEST_CASE("field timing: a uniform release is read from its boundary on, as the analytic sums say") {
  // First-order clearance, no gradients: a release at t_r is seen from its boundary X on, one
  // field step H old in the first block, 2H in the second, ...: the trace's integral is
  // H / (e^{H/tau} - 1) (= tau - H/2 + ...; exact: tau) and its centroid X - H/2 + H / (1 - e^{-H/tau})
  // (= X + tau + H^2 / (12 tau) + ...; exact: t_r + tau), late by X - t_r, half a block on average
  // (the releases of a block are not seen before its end).
  const double dt = 0.1, tau = 20.0;
  const Step steps = 3000;
  // The sums over the blocks j = 1, 2, ... that end by `steps` (the run is cut there).
  auto expected = [&](double h, Step boundary, Step m, Step end) {
    long double s0 = 0.0L, s1 = 0.0L;
    for (Step j = 1; boundary + j * m <= end; ++j) {
      const double c = std::exp(-static_cast<double>(j) * h / tau);
      s0 += c;
      s1 += c * (static_cast<double>(boundary) * dt + (static_cast<double>(j) - 0.5) * h);
    }
    return Trace{static_cast<double>(s0) * h, static_cast<double>(s1 / s0)};
  };
  for (const double H : {0.1, 5.0}) {  // the closed forms, without the cut
    const double x = H / tau;
    const Trace all = expected(H, 0, std::llround(H / dt), 100000);
    CHECK(all.integral == Approx(H / std::expm1(x)).epsilon(1e-12));
    CHECK(all.centroid == Approx(-H / 2 + H / (1 - std::exp(-x))).epsilon(1e-12));
  }
  for (const double H : {0.1, 1.0, 5.0})
    for (const Step phase : {3, 17, 31, 45}) {
      const Step release = 100 + phase;
      const auto m = static_cast<Step>(std::llround(H / dt));
      const Step boundary = (release + m - 1) / m * m;
      INFO("field.dt " << H << " ms, release at step " << release << ", boundary " << boundary);
      const Trace t = probe_trace(H, tau, release, 30.0, true, steps);
      const Trace want = expected(H, boundary, m, steps);
      CHECK(t.integral == Approx(want.integral).epsilon(1e-12));
      CHECK(t.centroid == Approx(want.centroid).epsilon(1e-12));
    }
}
