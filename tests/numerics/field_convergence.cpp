// Observed convergence orders of the grid field's schemes (FTCS or Heun + exact reaction): second
// order in space at a fixed mesh ratio, first (Euler) or second (Heun) order in time against the
// semi-discrete exact solution.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "nmsim/modulators/grid_field.hpp"

using namespace nmsim;
using namespace nmsim::modulators;

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kL = 100.0;  // um, periodic domain

GridFieldParams ring(std::size_t n) {
  GridFieldParams p;
  p.geometry.dims = 1;
  p.geometry.shape = {n, 1, 1};
  const double h = kL / static_cast<double>(n);
  p.geometry.spacing = {h, 1.0, 1.0};
  p.diffusion = 1.0;
  p.tortuosity = 1.0;
  p.kinetics.tau = 200.0;
  p.initial = 0.0;
  for (auto& face : p.boundary[0]) face.kind = GridBoundary::Kind::periodic;
  return p;
}

// Max error of C = 1 + 0.5 cos(k x) after t against `exact_amp(t, h)`.
template <class Exact>
double mode_error(std::size_t n, double dt, Step steps, double field_dt, Exact exact_amp,
                  GridScheme scheme = GridScheme::euler) {
  GridFieldParams p = ring(n);
  p.field_dt = field_dt;
  p.scheme = scheme;
  GridField f("F", p);
  f.setup(dt);
  const double h = kL / static_cast<double>(n), k = 2.0 * kPi / kL;
  std::vector<double> c(n);
  for (std::size_t i = 0; i < n; ++i) c[i] = 1.0 + 0.5 * std::cos(k * h * static_cast<double>(i));
  f.set_concentration(c);
  f.advance(0, steps);
  const double t = dt * static_cast<double>(steps), decay = std::exp(-t / 200.0);
  const double amp = exact_amp(t, h);
  double worst = 0.0;
  for (std::size_t i = 0; i < n; ++i)
    worst = std::max(worst, std::fabs(f.concentration()[i] - decay * (1.0 + amp * std::cos(k * h * static_cast<double>(i)))));
  return worst;
}

}  // namespace

TEST_CASE("field: second-order convergence in space at a fixed mesh ratio") {
  const double k = 2.0 * kPi / kL, r = 0.25;
  auto exact = [k](double t, double) { return 0.5 * std::exp(-k * k * t); };
  std::vector<double> err;
  for (std::size_t n : {16, 32, 64, 128}) {
    const double h = kL / static_cast<double>(n), dt = r * h * h;  // D* = 1
    const Step steps = static_cast<Step>(10 * (n / 16) * (n / 16));
    err.push_back(mode_error(n, dt, steps, 0.0, exact));
  }
  for (std::size_t i = 1; i < err.size(); ++i) {
    const double order = std::log2(err[i - 1] / err[i]);
    INFO("n = " << (16 << i) << " error " << err[i] << " observed order " << order);
    CHECK(order == Approx(2.0).margin(0.1));
  }
}

TEST_CASE("field: second-order convergence in space with Heun's step") {
  const double k = 2.0 * kPi / kL, r = 0.25;
  auto exact = [k](double t, double) { return 0.5 * std::exp(-k * k * t); };
  std::vector<double> err;
  for (std::size_t n : {16, 32, 64, 128}) {
    const double h = kL / static_cast<double>(n), dt = r * h * h;
    err.push_back(mode_error(n, dt, static_cast<Step>(10 * (n / 16) * (n / 16)), 0.0, exact, GridScheme::heun));
  }
  for (std::size_t i = 1; i < err.size(); ++i) {
    const double order = std::log2(err[i - 1] / err[i]);
    INFO("n = " << (16 << i) << " error " << err[i] << " observed order " << order);
    CHECK(order == Approx(2.0).margin(0.1));
  }
}

TEST_CASE("field: second-order convergence in time with Heun's step against the semi-discrete solution") {
  // The same mode as below; the first-order clearance commutes with the diffusion (periodic,
  // uniform), so the splitting adds no error and the order is Heun's. At the same sub-steps the
  // error is far below Euler's.
  const std::size_t n = 64;
  const double k = 2.0 * kPi / kL;
  auto semi = [k](double t, double h) {
    return 0.5 * std::exp(-t * 4.0 / (h * h) * std::pow(std::sin(0.5 * k * h), 2));
  };
  const double h = kL / n, dt = 0.25 * h * h;
  std::vector<double> err;
  for (int sub : {1, 2, 4, 8, 16}) err.push_back(mode_error(n, dt, 40, dt / sub, semi, GridScheme::heun));
  for (std::size_t i = 1; i < err.size(); ++i) {
    const double order = std::log2(err[i - 1] / err[i]);
    INFO("sub-steps " << (1 << i) << " error " << err[i] << " observed order " << order);
    CHECK(order == Approx(2.0).margin(0.1));
  }
  CHECK(err[0] < 0.1 * mode_error(n, dt, 40, dt, semi));
}

TEST_CASE("field: first-order convergence in time (sub-steps) against the semi-discrete solution") {
  const std::size_t n = 64;
  const double k = 2.0 * kPi / kL;
  // Space-discrete, time-exact: the mode decays at D* (4 / h^2) sin^2(k h / 2).
  auto semi = [k](double t, double h) { return 0.5 * std::exp(-t * 4.0 / (h * h) * std::pow(std::sin(0.5 * k * h), 2)); };
  const double h = kL / n, dt = 0.25 * h * h;
  std::vector<double> err;
  for (int sub : {1, 2, 4, 8, 16}) err.push_back(mode_error(n, dt, 40, dt / sub, semi));
  for (std::size_t i = 1; i < err.size(); ++i) {
    const double order = std::log2(err[i - 1] / err[i]);
    INFO("sub-steps " << (1 << i) << " error " << err[i] << " observed order " << order);
    CHECK(order == Approx(1.0).margin(0.1));
  }
}
