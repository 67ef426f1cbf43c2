#include "nmsim/modulators/kinetics.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

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
  set_near();
}

namespace {

// Truncated power series in d (a "jet"): the value of a function at ref + d to order kJet.
constexpr int kJet = 2 * static_cast<int>(Kinetics::kNear);
using Jet = std::array<double, kJet + 1>;

Jet jet_mul(const Jet& a, const Jet& b) {
  Jet r{};
  for (int i = 0; i <= kJet; ++i)
    for (int j = 0; i + j <= kJet; ++j)
      r[static_cast<std::size_t>(i + j)] += a[static_cast<std::size_t>(i)] * b[static_cast<std::size_t>(j)];
  return r;
}

Jet jet_recip(const Jet& z) {  // 1 / z, z[0] != 0
  Jet r{};
  r[0] = 1.0 / z[0];
  for (std::size_t k = 1; k <= kJet; ++k) {
    double acc = 0.0;
    for (std::size_t j = 1; j <= k; ++j) acc += z[j] * r[k - j];
    r[k] = -acc * r[0];
  }
  return r;
}

}  // namespace

void Kinetics::set_near() {
  // Without a near path: radius 0 and ref 0 with zero coefficients, so that is_near() holds
  // only for u = 0, where the polynomial's 0 is the exact result (not an earlier step's values).
  near_radius_ = 0.0;
  near_lin_radius_ = 0.0;
  near_ref_ = 0.0;
  near_c_.fill(0.0);
  if (!mm_series_ || series_fusable()) return;  // the fused order-4 series is as cheap
  const double css = steady_state();
  if (!std::isfinite(css)) return;
  near_ref_ = a_half_ * css + b_half_;  // what the saturable step sees at the steady state
  // The saturable step of ref + d as a power series in d: mm_piece's recurrence (pieces, order)
  // with every coefficient a jet.
  Jet u{};
  u[0] = near_ref_;
  u[1] = 1.0;
  for (int p = 0; p < mm_pieces_; ++p) {
    Jet z = u;
    z[0] += p_.km;
    const Jet inv = jet_recip(z);
    std::vector<Jet> uk(static_cast<std::size_t>(mm_order_) + 1), qk(static_cast<std::size_t>(mm_order_));
    uk[0] = u;
    qk[0] = jet_mul(u, inv);
    for (int k = 1; k <= mm_order_; ++k) {
      const auto ku = static_cast<std::size_t>(k);
      for (std::size_t i = 0; i <= kJet; ++i) uk[ku][i] = mm_c_[ku - 1] * qk[ku - 1][i];
      if (k == mm_order_) break;
      Jet acc = uk[ku];
      for (std::size_t j = 1; j <= ku; ++j) {
        const Jet t = jet_mul(uk[j], qk[ku - j]);
        for (std::size_t i = 0; i <= kJet; ++i) acc[i] -= t[i];
      }
      qk[ku] = jet_mul(acc, inv);
    }
    Jet sum{};
    for (int k = mm_order_; k >= 0; --k)
      for (std::size_t i = 0; i <= kJet; ++i) sum[i] += uk[static_cast<std::size_t>(k)][i];
    u = sum;
  }
  for (std::size_t i = 0; i <= kNear; ++i) near_c_[i] = u[i];
  // Radius: the largest r (halving from km) at which the dropped terms of orders kNear+1..kJet,
  // doubled for the rest of the series, stay below 2^-54 of the smallest value in the interval
  // (relative to the linear term when ref = 0: the results there go down to 0).
  auto tail = [&](double r) {
    double t = 0.0, rn = std::pow(r, kNear + 1);
    for (std::size_t n = kNear + 1; n <= kJet; ++n, rn *= r) t += std::fabs(u[n]) * rn;
    return 2.0 * t;
  };
  constexpr double kEps = 0x1p-54;
  for (double r = p_.km; r > 1e-12 * p_.km; r *= 0.5) {
    const double floor = near_ref_ > 0 ? std::max(0.0, u[0] - std::fabs(u[1]) * r) : std::fabs(u[1]) * r;
    if (near_ref_ - r >= 0 || near_ref_ == 0) {
      if (tail(r) <= kEps * floor) {
        near_radius_ = r;
        set_near_linear();
        return;
      }
    }
  }
}

void Kinetics::set_near_linear() {
  // Halving from near_radius_ (to 0 at the latest, where it holds): the terms of orders 2..kNear
  // at |d| = r, summed, below 2^-56 of the smallest |c0 + c1 d| (ref 0: c0 = 0 and every term
  // scales with d too, so the test is on the terms / d against |c1|).
  constexpr double kQuarterUlp = 0x1p-56;
  const auto& c = near_c_;
  for (double r = near_radius_;; r *= 0.5) {
    double terms = 0.0;
    for (std::size_t n = kNear; n >= 2; --n) terms = terms * r + std::fabs(c[n]);  // sum |c_n| r^(n-2)
    const bool holds = near_ref_ == 0 ? terms * r <= kQuarterUlp * std::fabs(c[1])
                                      : terms * r * r <= kQuarterUlp * (std::fabs(c[0]) - std::fabs(c[1]) * r);
    if (holds || r == 0.0) {
      near_lin_radius_ = r;
      return;
    }
  }
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
