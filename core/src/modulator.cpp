#include "nmsim/core/modulator.hpp"

#include <cmath>

#include "nmsim/core/error.hpp"

namespace nmsim {

void Modulator::release_at_point(Step /*step*/, const Position& /*where*/, double /*amount*/) {
  throw RuntimeError("modulator " + name() + " has no spatial extent: a release at a point needs a grid field");
}

double LevelPiece::at(double s) const { return inv_tau == 0.0 ? base + amp : base + amp * std::exp(-s * inv_tau); }

namespace {
// (1 - e^{-x}) / x * h for rate x/h: integral of e^{-s r} over [0, h], accurate for small r h.
double decay_integral(double h, double r) {
  const double x = h * r;
  return std::fabs(x) < 1e-8 ? h * (1.0 - 0.5 * x) : -std::expm1(-x) / r;
}
}  // namespace

double LevelPiece::weighted_integral(double b, double h, double inv_tau_c) const {
  // (base - b) * int e^{-s/tau_c} ds + amp * int e^{-s (1/tau_c + 1/tau)} ds
  if (inv_tau == 0.0) return (base + amp - b) * decay_integral(h, inv_tau_c);
  return (base - b) * decay_integral(h, inv_tau_c) + amp * decay_integral(h, inv_tau_c + inv_tau);
}

}  // namespace nmsim
