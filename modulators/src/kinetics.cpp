#include "nmsim/modulators/kinetics.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "nmsim/core/error.hpp"

namespace nmsim::modulators {

Kinetics::Kinetics(KineticsParams p, const std::string& key) : p_(p) {
  if (!(p_.tau > 0))
    throw ConfigError({}, key + ".tau", fmt::format("expected a time constant > 0 ms, found {}", p_.tau));
  if (!(p_.vmax >= 0) || !std::isfinite(p_.vmax))
    throw ConfigError({}, key + ".vmax", fmt::format("expected a rate >= 0 uM/ms, found {}", p_.vmax));
  if (!(p_.km > 0) || !std::isfinite(p_.km))
    throw ConfigError({}, key + ".km", fmt::format("expected a concentration > 0 uM, found {}", p_.km));
  if (!(p_.production >= 0) || !std::isfinite(p_.production))
    throw ConfigError({}, key + ".production", fmt::format("expected a rate >= 0 uM/ms, found {}", p_.production));
  set_step(0.0);
}

double Kinetics::rate(double c) const {
  double r = p_.production;
  if (first_order()) r -= c / p_.tau;
  if (saturable()) r -= p_.vmax * c / (p_.km + c);
  return r;
}

double Kinetics::steady_state() const {
  const double P = p_.production;
  if (P == 0.0) return 0.0;
  const double k = first_order() ? 1.0 / p_.tau : 0.0;
  const double V = p_.vmax, K = p_.km;
  if (k == 0.0) return V > P ? P * K / (V - P) : std::numeric_limits<double>::infinity();
  // k c^2 + (kK + V - P) c - P K = 0, positive root in a cancellation-free form.
  const double b = k * K + V - P;
  const double disc = std::sqrt(b * b + 4.0 * k * P * K);
  return b >= 0 ? 2.0 * P * K / (b + disc) : (disc - b) / (2.0 * k);
}

double Kinetics::production_for(const KineticsParams& p, double level) {
  double P = 0.0;
  if (p.tau < std::numeric_limits<double>::infinity()) P += level / p.tau;
  if (p.vmax > 0) P += p.vmax * level / (p.km + level);
  return P;
}

void Kinetics::set_step(double h) {
  h_ = h;
  mm_h_ = h;
  // Series order and pieces (see mm_piece): N = 4, 8 or 10 in one piece while x = vmax h / km is
  // small, else N = 12 on the fewest pieces with x / n <= 0.2, up to 64 (x <= 12.8), beyond that
  // the Lambert W step.
  const double x = p_.vmax * h / p_.km * (1 - 1e-12);  // round-off must not push x over a bound
  double n = 1.0;
  if (saturable() && h > 0) {
    mm_order_ = x <= 2.5e-3 ? 4 : x <= 0.05 ? 8 : x <= 0.1 ? 10 : 12;
    if (mm_order_ == 12) n = std::max(1.0, std::ceil(x / 0.2));
  }
  mm_series_ = saturable() && h > 0 && n <= 64;
  mm_pieces_ = mm_series_ ? static_cast<int>(n) : 1;
  const double s = h / mm_pieces_;
  for (std::size_t k = 0; k < mm_c_.size(); ++k) mm_c_[k] = -p_.vmax * s / static_cast<double>(k + 1);
  auto affine = [&](double s, double& a, double& b) {
    if (first_order()) {
      a = std::exp(-s / p_.tau);
      b = p_.production * p_.tau * (1.0 - a);  // C_p (1 - e^{-s/tau})
    } else {
      a = 1.0;
      b = p_.production * s;
    }
  };
  affine(h, a_full_, b_full_);
  affine(0.5 * h, a_half_, b_half_);
}

double Kinetics::wright_omega(double L) {
  // Solve e^u + u = L for u = ln w. g(u) = e^u + u - L is convex and increasing, so Newton
  // converges monotonically after the first step from any start.
  double u = L > 1.0 ? std::log(L - std::log(L)) : L - std::exp(L);
  for (int it = 0; it < 60; ++it) {
    const double eu = std::exp(u);
    const double du = (eu + u - L) / (eu + 1.0);
    u -= du;
    if (std::fabs(du) <= 4e-16 * std::max(1.0, std::fabs(u))) break;
  }
  return std::exp(u);
}

double Kinetics::mm_decay(double c0, double vmax, double km, double t) {
  if (!(c0 > 0.0) || vmax == 0.0 || t == 0.0) return c0;
  const double x0 = c0 / km;
  const double L = std::log(x0) + x0 - vmax * t / km;
  return km * wright_omega(L);
}

}  // namespace nmsim::modulators
