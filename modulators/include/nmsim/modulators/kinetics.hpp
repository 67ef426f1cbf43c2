#pragma once
// Local (per voxel, or per well-mixed pool) reaction kinetics of a neuromodulator:
//
//   dC/dt = P - C / tau - vmax C / (km + C)                                  (C in uM, t in ms)
//
//   P     tonic production (uM/ms), homogeneous;
//   tau   first-order clearance (uptake or enzymatic breakdown), infinity = none;
//   vmax, km  saturable (Michaelis-Menten) uptake or breakdown (DAT, NET, SERT, AChE); vmax = 0 = none.
// One object serves transporters and enzymes: both are "a first-order term plus a saturable term".
//
// Exact pieces used by step(c, h):
//   affine part  dC/dt = P - C/tau:  C(h) = C_p + (C(0) - C_p) e^{-h/tau},  C_p = P tau
//                                    (C(h) = C(0) + P h without first-order clearance);
//   saturable    dC/dt = -vmax C/(km + C):  km ln(C/C0) + C - C0 = -vmax t, i.e.
//                C(t) = km W( (C0/km) exp((C0 - vmax t)/km) )      (W: principal Lambert W)
//                solved as w + ln w = L in u = ln w by Newton (convex, monotone: no overflow of the
//                exponential for any C0/km, converges from the start guess in a few iterations).
// With only one of the two parts a step is exact; with both, the step is the symmetric (Strang)
// splitting affine(h/2) - saturable(h) - affine(h/2): second order in h, every part maps C >= 0
// to C >= 0, so concentrations never become negative.
#include <limits>
#include <string>

namespace nmsim::modulators {

struct KineticsParams {
  double tau = std::numeric_limits<double>::infinity();  // [ms] > 0 (inf = no first-order term)
  double vmax = 0.0;                                     // [uM/ms] >= 0 (0 = no saturable term)
  double km = 1.0;                                       // [uM] > 0
  double production = 0.0;                               // [uM/ms] >= 0, tonic production P
};

class Kinetics {
 public:
  Kinetics() = default;
  /// Validates (throws ConfigError naming `key`) and precomputes nothing step dependent.
  explicit Kinetics(KineticsParams p, const std::string& key = "kinetics");
  const KineticsParams& params() const { return p_; }
  bool saturable() const { return p_.vmax > 0.0; }
  bool first_order() const { return p_.tau < std::numeric_limits<double>::infinity(); }
  /// True when nothing happens (no production, no clearance).
  bool inert() const { return !saturable() && !first_order() && p_.production == 0.0; }
  /// dC/dt at C (uM/ms).
  double rate(double c) const;
  /// Homogeneous steady state (uM); +inf when production exceeds every clearance (P >= vmax
  /// without first-order term), 0 without production.
  double steady_state() const;
  /// Production that makes `level` the steady state (uM/ms).
  static double production_for(const KineticsParams& p, double level);

  /// Precompute the constants of a step of length h (ms). Call before step()/affine().
  void set_step(double h);
  double step_length() const { return h_; }
  /// C(t + h) from C(t), as described above (h of set_step).
  double step(double c) const {
    if (!saturable()) return a_full_ * c + b_full_;
    const double u = a_half_ * c + b_half_;
    return a_half_ * (mm_series_ ? mm_series_steps(u) : mm(u, mm_h_)) + b_half_;
  }
  /// True when step() uses mm_taylor (no exp or log: vectorisable).
  bool series() const { return mm_series_; }
  /// Number of series pieces of h/n per step (1 when vmax h / km <= 2.5e-3).
  int series_pieces() const { return mm_pieces_; }
  /// step() when series() (or !saturable()): inline, branch-free.
  double step_series(double c) const { return a_half_ * mm_series_steps(a_half_ * c + b_half_) + b_half_; }
  /// The saturable step over h as series_pieces() steps of mm_taylor over h / n each.
  double mm_series_steps(double u) const {
    for (int p = 0; p < mm_pieces_; ++p) u = mm_taylor(u);
    return u;
  }
  /// The saturable step over one piece s = h / n by the 4th-order Taylor series of the exact
  /// solution: n is the smallest integer with x = vmax s / km <= 2.5e-3, where the remainder
  /// (< x^5 / 120 relative, 8e-16) is below round-off, so each piece equals the Lambert W step to
  /// the last bits at a fraction of the cost (one division, no exp or log); used while n <= 64
  /// (x <= 0.16 over h; e.g. dopamine at h = 1 ms: 8 pieces), beyond that the Lambert W step.
  /// With a = vmax s km / (km + u)^2 = -s f'(u), q = s f(u) (< 0):
  ///   u + q - a q / 2 + (2 a q^2 / (km + u) + a^2 q) / 6 - (6 a q^3 / (km + u)^2 + 8 a^2 q^2 / (km + u) + a^3 q) / 24
  double mm_taylor(double u) const {
    const double inv = 1.0 / (p_.km + u);
    const double a = vk_h_ * inv * inv, q = -vmax_h_ * u * inv;
    const double aq = a * q, iq = inv * q;
    return u + q - 0.5 * aq + (2.0 * aq * iq + a * aq) * (1.0 / 6.0) -
           (6.0 * aq * iq * iq + 8.0 * a * aq * iq + a * a * aq) * (1.0 / 24.0);
  }
  /// Affine full step only (valid when !saturable()): C <- a C + b.
  double affine_a() const { return a_full_; }
  double affine_b() const { return b_full_; }
  /// Affine half step (the outer parts of the Strang splitting with a saturable term).
  double half_a() const { return a_half_; }
  double half_b() const { return b_half_; }

  /// Exact saturable decay over time t from c0 (uM), parameters of this object.
  double mm(double c0, double t) const { return mm_decay(c0, p_.vmax, p_.km, t); }
  /// Exact solution of dC/dt = -vmax C / (km + C) at time t from c0 >= 0.
  static double mm_decay(double c0, double vmax, double km, double t);
  /// w > 0 with w + ln w = L (w = W(e^L), principal Lambert W of e^L).
  static double wright_omega(double L);

 private:
  KineticsParams p_;
  double h_ = 0.0;
  double a_full_ = 1.0, b_full_ = 0.0;  // affine over h
  double a_half_ = 1.0, b_half_ = 0.0;  // affine over h/2
  double mm_h_ = 0.0;                   // h (saturable part)
  bool mm_series_ = false;              // n <= 64 pieces of h / n with vmax h / (n km) <= 2.5e-3
  int mm_pieces_ = 1;                   // n
  double vmax_h_ = 0.0, vk_h_ = 0.0;    // vmax s, vmax s km (s = h / n)
};

}  // namespace nmsim::modulators
