// Michaelis-Menten clearance: the exact (Lambert W) step against an independent solution of
// the implicit relation t(C) = (km ln(C0 / C) + C0 - C) / vmax, in the well-mixed modulator and
// in a one-voxel grid field; steady states with production.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nmsim/core/simulation.hpp"
#include "nmsim/modulators/grid_field.hpp"
#include "nmsim/modulators/kinetics.hpp"
#include "nmsim/modulators/well_mixed.hpp"

using namespace nmsim;
using namespace nmsim::modulators;

namespace {

// C(t) by bisection on the monotone t(C) (no Lambert W involved).
double mm_exact(double c0, double vmax, double km, double t) {
  double lo = 0.0, hi = c0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    const double tm = (km * std::log(c0 / mid) + c0 - mid) / vmax;
    (tm > t ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// Dopamine's DAT uptake (vmax 4 uM/s, km 0.2 uM) with tonic production (uM/ms), step h (ms).
Kinetics da_kinetics(double production, double h) {
  KineticsParams p;
  p.vmax = 4e-3;
  p.km = 0.2;
  p.production = production;
  Kinetics kin(p);
  kin.set_step(h);
  return kin;
}

// A 1-D row of n voxels of 10 um with those kinetics and free diffusion D (um^2/ms).
GridFieldParams da_row(std::size_t n, double diffusion, double production) {
  GridFieldParams p;
  p.geometry.dims = 1;
  p.geometry.shape = {n, 1, 1};
  p.geometry.spacing = {10.0, 10.0, 10.0};
  p.diffusion = diffusion;
  p.kinetics.vmax = 4e-3;
  p.kinetics.km = 0.2;
  p.kinetics.production = production;
  return p;
}

}  // namespace

TEST_CASE("kinetics: the Lambert W step is exact over a wide range of C0 / km") {
  for (double x0 : {1e-8, 1e-3, 0.5, 1.0, 7.0, 300.0, 1e5}) {
    for (double vt : {1e-6, 0.1, 1.0, 10.0}) {
      const double km = 0.2, c0 = x0 * km, vmax = 4e-3, t = vt * km / vmax;
      const double a = Kinetics::mm_decay(c0, vmax, km, t);
      const double b = mm_exact(c0, vmax, km, t);
      INFO("C0/km = " << x0 << " vmax t/km = " << vt << ": " << a << " vs " << b);
      CHECK(a >= 0.0);
      CHECK(std::fabs(a - b) <= 1e-12 * c0 + 1e-300);
    }
  }
  CHECK(Kinetics::wright_omega(1.0) == Approx(1.0).epsilon(1e-15));
  CHECK(Kinetics::mm_decay(0.0, 1.0, 1.0, 5.0) == 0.0);
}

// The exact solution in long double (64-bit mantissa): w + ln w = ln x0 + x0 - tau, C = km w, by
// Newton in ln w. Independent of Kinetics (which works in double).
namespace {
long double mm_exact_long(long double x0, long double tau) {
  const long double L = std::log(x0) + x0 - tau;
  long double u = L > 1 ? std::log(L - std::log(L)) : L - std::exp(L);
  for (int i = 0; i < 200; ++i) {
    const long double eu = std::exp(u), du = (eu + u - L) / (eu + 1);
    u -= du;
    if (std::fabs(du) < 1e-21L) break;
  }
  return std::exp(u);
}
}  // namespace

TEST_CASE("kinetics: the Taylor series step is exact to round-off at every order and piece count") {
  const double km = 0.2, vmax = 4e-3;
  struct Case {
    double x;  // vmax h / km
    int order, pieces;
  };
  // At and just beyond each bound of set_step; above 12.8 the Lambert W step takes over.
  for (const Case c : {Case{1e-4, 4, 1}, Case{2.5e-3, 4, 1}, Case{2.6e-3, 8, 1}, Case{0.05, 8, 1}, Case{0.051, 10, 1},
                       Case{0.1, 10, 1}, Case{0.101, 12, 1}, Case{0.2, 12, 1}, Case{0.21, 12, 2}, Case{1.0, 12, 5},
                       Case{12.8, 12, 64}}) {
    KineticsParams p;
    p.vmax = vmax;
    p.km = km;
    Kinetics kin(p);
    kin.set_step(c.x * km / vmax);
    REQUIRE(kin.series());
    CHECK(kin.series_order() == c.order);
    CHECK(kin.series_pieces() == c.pieces);
    double worst = 0.0;
    for (int i = 0; i <= 400; ++i) {
      const double x0 = std::pow(10.0, -6.0 + 12.0 * i / 400);
      const auto want = static_cast<double>(km * mm_exact_long(x0, c.x));
      worst = std::max(worst, std::fabs(kin.mm_series_steps(x0 * km) - want) / want);
    }
    INFO("x = " << c.x << ": worst relative error " << worst);
    // One rounding per piece or so; the Lambert W step in double is at 2e-15 to 6e-15 here.
    CHECK(worst <= (c.pieces == 1 ? 1.2e-15 : 1e-14));
  }
  KineticsParams p;
  p.vmax = vmax;
  p.km = km;
  Kinetics kin(p);
  kin.set_step(13.0 * km / vmax);
  CHECK_FALSE(kin.series());
}

TEST_CASE("kinetics: the near-steady-state polynomial is exact to round-off within its radius") {
  // Without production (ref 0: relative to values down to 0) and with tonic production (ref at the
  // steady state), over steps that take the series of order 8, 10 and 12 (one and several pieces).
  for (const double production : {0.0, 1e-4, 2e-3}) {
    for (const double h : {1.0, 5.0, 10.0, 50.0}) {
      const Kinetics kin = da_kinetics(production, h);
      const KineticsParams& p = kin.params();
      INFO("production " << production << " uM/ms, h " << h << " ms: ref " << kin.near_ref() << " radius "
                         << kin.near_radius());
      REQUIRE(kin.near_radius() > 1e-4 * p.km);
      double worst = 0.0;
      for (int i = -400; i <= 400; ++i) {
        const double u = kin.near_ref() + kin.near_radius() * i / 400.0;
        if (u <= 0.0) continue;
        const auto want = static_cast<double>(p.km * mm_exact_long(u / p.km, p.vmax * h / p.km));
        worst = std::max(worst, std::fabs(kin.mm_near(u) - want) / want);
      }
      CHECK(worst <= 1e-15);
      CHECK(kin.mm_near(kin.near_ref()) == Approx(kin.mm_series_steps(kin.near_ref())).epsilon(1e-15));
    }
  }
}

TEST_CASE("kinetics: within the linear radius the near polynomial is its linear part, bit for bit") {
  // Without production (ref 0: down to subnormal and zero inputs) and with production (ref > 0,
  // both sides of it), at step lengths with one and several series pieces. Half-way between the
  // linear radius and the near radius the two must differ somewhere (the radius is not loose by
  // orders of magnitude).
  for (const double production : {0.0, 1e-4}) {
    for (const double h : {1.0, 5.0, 50.0}) {
      const Kinetics kin = da_kinetics(production, h);
      const double ref = kin.near_ref(), lin = kin.near_linear_radius();
      INFO("production " << production << " uM/ms, h " << h << " ms: ref " << ref << " linear radius " << lin
                         << " near radius " << kin.near_radius());
      REQUIRE(lin > 0.0);
      REQUIRE(lin < kin.near_radius());
      std::vector<double> ds;
      for (double d = lin; d > 1e-320; d *= 0.37) ds.push_back(d);  // down through the subnormals
      ds.push_back(0.0);
      std::size_t mismatches = 0;
      for (const double d : ds)
        for (const double sign : {1.0, -1.0}) {
          const double u = ref + sign * d;
          if (u < 0.0 || std::fabs(u - ref) > lin) continue;
          mismatches += kin.mm_near(u) != kin.mm_near_linear(u);
        }
      CHECK(mismatches == 0);
      std::size_t differ = 0;
      for (int i = 1; i <= 200; ++i) {
        const double u = ref + std::sqrt(lin * kin.near_radius()) * i / 200.0;
        differ += kin.mm_near(u) != kin.mm_near_linear(u);
      }
      CHECK(differ > 0);
    }
  }
}

TEST_CASE("kinetics: a step length without a near path keeps nothing of an earlier one") {
  KineticsParams p;
  p.vmax = 4e-3;
  p.km = 0.2;
  p.production = 1e-4;
  Kinetics kin(p);
  kin.set_step(5.0);
  REQUIRE(kin.near_radius() > 0);
  const double u = kin.near_ref();
  kin.set_step(0.1);  // the fused order-4 series: no near path
  CHECK(kin.near_radius() == 0.0);
  CHECK_FALSE(kin.is_near(u));
  const double c = (u - kin.half_b()) / kin.half_a();  // a value whose saturable input is u
  CHECK(kin.step(c) == kin.step_series(c));
  CHECK(kin.is_near(0.0));
  CHECK(kin.mm_near(0.0) == 0.0);
}

TEST_CASE("field: rows mixing voxels near and far from the steady state take each voxel's own path") {
  // 1-D rows of 150 voxels (chunks of 64, 64 and 22), DA kinetics with production, diffusion so
  // weak (D 1e-16 um^2/ms) that the stencil leaves every value as it is: after releases at a few
  // voxels, every voxel's next step equals the scalar Kinetics::step of its value bit for bit.
  GridFieldParams p = da_row(150, 1e-16, 1e-4);
  p.initial = -1.0;  // the steady state
  GridField f("F", p);
  f.setup(5.0);
  for (const double x : {5.0, 15.0, 645.0, 1305.0, 1495.0}) f.release_at_point(0, {x, 0.0, 0.0}, 1.0 + x / 100.0);
  f.advance(0, 1);
  const std::vector<double> c1(f.concentration().begin(), f.concentration().end());
  f.advance(1, 2);
  const Kinetics kin = da_kinetics(p.kinetics.production, 5.0);
  std::size_t near = 0, far = 0;
  for (std::size_t i = 0; i < c1.size(); ++i) {
    (kin.is_near(kin.half_a() * c1[i] + kin.half_b()) ? near : far) += 1;
    INFO("voxel " << i << ": " << c1[i]);
    CHECK(f.concentration()[i] == kin.step(c1[i]));
  }
  CHECK(near > 100);
  CHECK(far >= 5);
}

TEST_CASE("field: chunks of tiny concentrations take the linear part and keep Kinetics::step's bits") {
  // DA kinetics without production (ref 0), no diffusion (the stencil returns every value as it
  // is), one row of 200 voxels = chunks 0-63, 64-127, 128-191, 192-199. Chunk 0 holds values from
  // 1e-300 to 1e-78 uM and zeros (all within the linear radius: the linear part), chunk 1 the same
  // but one voxel at 1e-3 uM (the polynomial for all), chunk 2 values from 1e-12 to 1e-2 uM
  // (polynomial and series), chunk 3 subnormals and zeros. Every voxel's step equals the scalar
  // Kinetics::step bit for bit, whichever path its chunk took (a field sets results below the
  // smallest normal double to 0: grid_field.cpp, flush_subnormal).
  const GridFieldParams p = da_row(200, 0.0, 0.0);
  GridField f("F", p);
  f.setup(5.0);
  std::vector<double> c0(200, 0.0);
  for (std::size_t i = 0; i < 64; ++i) c0[i] = i % 7 == 0 ? 0.0 : std::pow(10.0, -300.0 + 3.5 * static_cast<double>(i));
  for (std::size_t i = 64; i < 128; ++i) c0[i] = c0[i - 64] * 1.7;
  c0[100] = 1e-3;
  for (std::size_t i = 128; i < 192; ++i) c0[i] = std::pow(10.0, -12.0 + 10.0 * static_cast<double>(i - 128) / 63.0);
  for (std::size_t i = 192; i < 200; ++i) c0[i] = i % 2 == 0 ? 0.0 : 3e-320 * static_cast<double>(i - 191);
  f.set_concentration(c0);
  f.advance(0, 1);
  const Kinetics kin = da_kinetics(p.kinetics.production, 5.0);
  REQUIRE(kin.near_ref() == 0.0);
  REQUIRE(kin.half_a() == 1.0);
  REQUIRE(kin.half_b() == 0.0);
  const double lin = kin.near_linear_radius();
  CHECK(*std::max_element(c0.begin(), c0.begin() + 64) <= lin);  // chunk 0: the linear part
  CHECK(*std::max_element(c0.begin() + 64, c0.begin() + 128) > lin);
  CHECK(*std::max_element(c0.begin() + 128, c0.begin() + 192) > kin.near_radius());  // a series voxel
  for (std::size_t i = 0; i < c0.size(); ++i) {
    const double want = kin.step(c0[i]);
    INFO("voxel " << i << ": " << c0[i]);
    CHECK(f.concentration()[i] == (want < std::numeric_limits<double>::min() ? 0.0 : want));
  }
}

TEST_CASE("well_mixed: Michaelis-Menten decay matches the exact solution within 1e-6") {
  Simulation sim({0.1, 1, 1});
  WellMixedParams p;
  p.uptake = WellMixedParams::Uptake::michaelis_menten;
  p.vmax = 4e-3;  // uM/ms (4 uM/s)
  p.km = 0.2;     // uM
  p.initial = 1.5;
  WellMixed wm("DA", p);
  wm.prepare(sim);
  double worst = 0.0, worst_mid = 0.0;
  const Step steps = 20000;  // 2 s: from saturated to linear regime
  for (Step k = 0; k < steps; k += 10) {
    wm.advance(k, k + 10);
    for (Step j = k; j < k + 10; ++j) {
      const double t = static_cast<double>(j) * 0.1;
      worst = std::max(worst, std::fabs(wm.level(j) - mm_exact(1.5, 4e-3, 0.2, t)));
      worst_mid = std::max(worst_mid, std::fabs(wm.piece(j).at(0.05) - mm_exact(1.5, 4e-3, 0.2, t + 0.05)));
    }
  }
  INFO("max |error| at step starts " << worst << " uM; mid-step " << worst_mid << " uM");
  CHECK(worst < 1e-6);
  CHECK(worst_mid < 1e-6);
  // End of the last step (the exponential piece is exact at both ends).
  const Step last = steps - 1;
  CHECK(wm.piece(last).at(0.1) == Approx(mm_exact(1.5, 4e-3, 0.2, steps * 0.1)).epsilon(1e-9));
}

TEST_CASE("well_mixed: linear uptake keeps its exact exponential pieces") {
  Simulation sim({0.1, 1, 1});
  WellMixedParams p;
  p.tau = 50.0;
  p.baseline = 0.1;
  p.initial = 2.0;
  WellMixed wm("DA", p);
  wm.prepare(sim);
  wm.advance(0, 100);
  for (Step k = 0; k < 100; k += 7)
    CHECK(wm.piece(k).at(0.03) == Approx(0.1 + 1.9 * std::exp(-(k * 0.1 + 0.03) / 50.0)).epsilon(1e-12));
}

TEST_CASE("field: a one-voxel grid with Michaelis-Menten uptake follows the exact decay; steady state with production") {
  GridFieldParams p;
  p.geometry.dims = 1;
  p.geometry.shape = {1, 1, 1};
  p.kinetics.vmax = 4e-3;
  p.kinetics.km = 0.2;
  p.initial = 1.5;
  GridField f("F", p);
  f.setup(0.1);
  f.advance(0, 5000);
  CHECK(std::fabs(f.concentration()[0] - mm_exact(1.5, 4e-3, 0.2, 500.0)) < 1e-12);
  // With production P and both clearance terms the homogeneous steady state holds.
  KineticsParams k{300.0, 4e-3, 0.2, 0.0};
  k.production = Kinetics::production_for(k, 0.05);
  Kinetics kin(k);
  CHECK(kin.steady_state() == Approx(0.05).epsilon(1e-12));
  CHECK(kin.rate(0.05) == Approx(0.0).margin(1e-15));
  p.kinetics = k;
  p.initial = -1.0;
  GridField g("G", p);
  g.setup(0.1);
  g.advance(0, 1000);
  CHECK(g.concentration()[0] == Approx(0.05).epsilon(1e-6));  // Strang splitting: O(dt^2) offset
}
