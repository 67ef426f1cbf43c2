// Grid field vs analytic solutions of diffusion with first-order uptake
// (docs/models/modulator_fields.md): instantaneous point release in 1-D, 2-D, 3-D, and the
// steady state of a constant point source in 3-D.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

#include "nmsim/modulators/grid_field.hpp"

using namespace nmsim;
using namespace nmsim::modulators;

namespace {

constexpr double kPi = 3.14159265358979323846;

GridFieldParams base_params(int dims, std::size_t n, double h) {
  GridFieldParams p;
  p.geometry.dims = dims;
  p.geometry.spacing = {h, h, h};
  p.geometry.shape = {n, dims > 1 ? n : 1, dims > 2 ? n : 1};
  p.diffusion = 1.0;
  p.tortuosity = 1.25;  // D* = 0.64 um^2/ms
  p.volume_fraction = 0.2;
  p.initial = 0.0;
  return p;
}

// Instantaneous release of Q at the centre voxel; compare at t with
//   C = Q / (alpha A (4 pi D* t)^(d/2)) exp(-r^2 / (4 D* t) - t / tau),  A = cross-section.
double point_release_error(int dims, double spread = 6.0) {
  const std::size_t n = dims == 3 ? 61 : dims == 2 ? 121 : 241;
  const double h = 1.0, tau = 20.0, Q = 1000.0, dt = 0.1;
  GridFieldParams p = base_params(dims, n, h);
  p.kinetics.tau = tau;
  GridField f("F", p);
  f.setup(dt);
  const double mid = static_cast<double>(n / 2) * h;
  f.release_at_point(0, {mid, mid, mid}, Q);
  const double Ds = f.effective_diffusion();
  const double sigma = spread * h;  // spread sqrt(2 D* t) at the end, in voxels
  const Step steps = static_cast<Step>(std::llround(sigma * sigma / (2.0 * Ds) / dt));
  f.advance(0, steps);
  const double t = static_cast<double>(steps) * dt;
  const double area = dims == 3 ? 1.0 : dims == 2 ? h : h * h;
  const double norm = Q / (p.volume_fraction * area * std::pow(4.0 * kPi * Ds * t, 0.5 * dims));
  const auto& g = f.geometry();
  const auto c = f.concentration();
  double worst = 0.0;
  int compared = 0;
  for (std::size_t l = 0; l < g.shape[2]; ++l)
    for (std::size_t j = 0; j < g.shape[1]; ++j)
      for (std::size_t i = 0; i < g.shape[0]; ++i) {
        const auto x = g.center(i, j, l);
        double r2 = 0.0;
        for (int a = 0; a < dims; ++a) r2 += (x[static_cast<std::size_t>(a)] - mid) * (x[static_cast<std::size_t>(a)] - mid);
        const double r = std::sqrt(r2);
        if (r < 2.0 * h || r > 2.5 * sigma) continue;
        const double exact = norm * std::exp(-r2 / (4.0 * Ds * t) - t / tau);
        worst = std::max(worst, std::fabs(c[g.index(i, j, l)] / exact - 1.0));
        ++compared;
      }
  REQUIRE(compared >= 2);
  return worst;
}

}  // namespace

TEST_CASE("field: instantaneous point release with first-order uptake matches the 3-D analytic solution") {
  const double err = point_release_error(3);
  INFO("max relative error for 2 voxels <= r <= 2.5 sigma: " << err);
  CHECK(err < 0.02);
}

TEST_CASE("field: instantaneous point release with first-order uptake matches the 2-D analytic solution") {
  const double err = point_release_error(2);
  INFO("max relative error: " << err);
  CHECK(err < 0.02);
}

TEST_CASE("field: instantaneous point release with first-order uptake matches the 1-D analytic solution") {
  const double err = point_release_error(1);
  INFO("max relative error: " << err);
  CHECK(err < 0.02);
}

TEST_CASE("field: constant point release with first-order uptake reaches the analytic 3-D steady state") {
  // C(r) = q / (4 pi alpha D* r) exp(-r / sqrt(D* tau)), q in uM um^3 / ms.
  const std::size_t n = 65;
  const double h = 1.0, tau = 25.0, q = 50.0;
  GridFieldParams p = base_params(3, n, h);
  p.tortuosity = 1.0;  // D* = 1
  p.kinetics.tau = tau;
  GridField f("F", p);
  const double dt = 0.15;  // one sub-step per step: 2 D* dt (3 / h^2) = 0.9
  f.setup(dt);
  REQUIRE(f.substeps() == 1);
  const double mid = static_cast<double>(n / 2) * h;
  const Step steps = static_cast<Step>(std::llround(12.0 * tau / dt));
  const Step window = 50;
  for (Step w = 0; w < steps; w += window) {
    for (Step k = w; k < w + window; ++k) f.release_at_point(k, {mid, mid, mid}, q * dt);
    f.advance(w, w + window);
  }
  // Time-average over one step of the impulse train: the field at the start of a step holds the
  // step's release; half a step's worth of decay/spread on average is the continuum source.
  const double Ds = f.effective_diffusion(), lam = std::sqrt(Ds * tau);
  const auto& g = f.geometry();
  const auto c = f.concentration();
  // The 7-point stencil's lattice Green's function differs from 1/(4 pi r) by a cubic harmonic
  // (zero mean over directions) that decays as (h / r)^2: along the axes +12 % at r = 2 h, +1.3 %
  // at 12 h; along face diagonals < 0.4 %. Checked: (a) the mean of C / C_exact over each shell
  // |r - R| < h / 2 (the direction average) within 2 % for R >= 2 h; (b) pointwise along the
  // face diagonals within 2 %; (c) pointwise in every direction within 2 % for r >= 8 h and
  // 13 % for r >= 2 h.
  const std::size_t m = n / 2;
  std::vector<double> shell_sum(20, 0.0);
  std::vector<int> shell_n(20, 0);
  double worst_diag = 0.0, worst_far = 0.0, worst_near = 0.0;
  for (std::size_t l = m - 19; l <= m + 19; ++l)
    for (std::size_t j = m - 19; j <= m + 19; ++j)
      for (std::size_t i = m - 19; i <= m + 19; ++i) {
        const auto x = g.center(i, j, l);
        const double r = std::sqrt((x[0] - mid) * (x[0] - mid) + (x[1] - mid) * (x[1] - mid) + (x[2] - mid) * (x[2] - mid));
        if (r < 2.0 * h - 1e-9 || r > 19.0 * h) continue;
        const double exact = q / (4.0 * kPi * p.volume_fraction * Ds * r) * std::exp(-r / lam);
        const double ratio = c[g.index(i, j, l)] / exact;
        const auto R = static_cast<std::size_t>(std::lround(r / h));
        shell_sum[R] += ratio;
        ++shell_n[R];
        const bool diag = (i == j && l == m) || (i == l && j == m) || (j == l && i == m);
        if (diag) worst_diag = std::max(worst_diag, std::fabs(ratio - 1.0));
        (r >= 8.0 * h ? worst_far : worst_near) = std::max(r >= 8.0 * h ? worst_far : worst_near, std::fabs(ratio - 1.0));
      }
  double worst = 0.0;
  for (std::size_t R = 2; R < 19; ++R) {
    const double avg = shell_sum[R] / shell_n[R];
    worst = std::max(worst, std::fabs(avg - 1.0));
  }
  INFO("face diagonals: max relative error " << worst_diag);
  CHECK(worst_diag < 0.02);
  INFO("all directions, r >= 8 h: " << worst_far << "; 2 h <= r < 8 h: " << worst_near);
  CHECK(worst_far < 0.02);
  CHECK(worst_near < 0.13);
  INFO("shell means, R >= 2 h: max relative error " << worst);
  CHECK(worst < 0.02);
}

TEST_CASE("field: point release at early times - the error at r >= 2 voxels falls as (h / spread)^2") {
  // A release into one voxel on the 7-point lattice matches the continuum solution only once the
  // cloud spans several voxels. Measured (max relative error over 2 voxels <= r <= 2.5 spread):
  // 3-D 17 % at spread sqrt(2 D* t) = 2 voxels, 4.9 % at 3, 3.7 % at 4, 1.6 % at 6; 2-D 11 %, 4.5 %,
  // 2.7 %, 1.2 %; 1-D 4.0 %, 1.7 %, 1.0 %, 0.4 % (docs/models/modulator_fields.md). The 2 % bound
  // of the tests above therefore holds from a spread of 6 voxels in 3-D (about 5 in 2-D, 3 in
  // 1-D); before that the error is bounded by 0.7 (h / spread)^2, second order as the stencil.
  for (int dims : {1, 2, 3})
    for (double spread : {2.0, 3.0, 4.0, 6.0}) {
      const double err = point_release_error(dims, spread);
      CAPTURE(dims, spread, err);
      CHECK(err < 0.7 / (spread * spread));
    }
}
