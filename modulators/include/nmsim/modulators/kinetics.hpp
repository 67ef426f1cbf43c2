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
#include <array>
#include <cmath>
#include <cstddef>
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
    const double v = is_near(u) ? mm_near(u) : mm_series_ ? mm_series_steps(u) : mm(u, mm_h_);
    return a_half_ * v + b_half_;
  }
  /// The saturable step near the steady state, where most of a field's voxels sit: with
  /// ref = the saturable step's input at the homogeneous steady state (0 without production),
  /// the whole step (all pieces) as a polynomial of degree kNear in d = u - ref, the Taylor
  /// coefficients of the exact flow map (set_step: mm_piece's recurrence with power series in d
  /// as coefficients). Used for |d| <= near_radius(), the largest radius (km / 2^k) at which the
  /// terms of orders kNear + 1..2 kNear, doubled, stay below 2^-54 of the result: round-off, like
  /// the series (tested). About 20 operations instead of the series' 20-170. Degree 8: with DA
  /// kinetics at h = 5 ms the radius is km / 64 (3.1e-3 uM; degree 4 gave km / 8192), and in the
  /// 64^3 network bench the share of 64-voxel chunks with a voxel outside it fell from 21 % to 1.5 %.
  static constexpr std::size_t kNear = 8;
  bool is_near(double u) const { return std::fabs(u - near_ref_) <= near_radius_; }
  double near_ref() const { return near_ref_; }
  double near_radius() const { return near_radius_; }
  /// Estrin's scheme (the powers d^2, d^4 and pairs of terms): a dependency chain of ~7
  /// operations instead of Horner's 16, so independent voxels overlap in the vector units.
  double mm_near(double u) const {
    static_assert(kNear == 8, "Estrin's scheme is written out for degree 8");
    const auto& c = near_c_;
    const double d = u - near_ref_;
    const double d2 = d * d, d4 = d2 * d2;
    const double p01 = c[0] + c[1] * d, p23 = c[2] + c[3] * d, p45 = c[4] + c[5] * d, p67 = c[6] + c[7] * d;
    const double p03 = p01 + p23 * d2, p47 = p45 + p67 * d2;
    return p03 + (p47 + c[8] * d4) * d4;
  }
  /// Within |d| <= near_linear_radius() (<= near_radius()) the terms of orders 2..kNear of
  /// mm_near, summed, stay below 2^-56 of c0 + c1 d, under the quarter ulp at which adding them
  /// could change its rounding: mm_near returns exactly c0 + c1 d there (no FMA contraction), and
  /// mm_near_linear gives the same bits without d^2 and d^4. Those underflow into subnormals for
  /// d below ~1e-77 uM (a field left to decay without production spends tens of seconds in that
  /// range), where the polynomial took 2.2 instead of 1.0 ns per voxel (measured, 64^3).
  double near_linear_radius() const { return near_lin_radius_; }
  double mm_near_linear(double u) const { return near_c_[0] + near_c_[1] * (u - near_ref_); }
  /// True when step() uses the Taylor series (no exp or log: vectorisable).
  bool series() const { return mm_series_; }
  /// Number of series pieces of h/n per step.
  int series_pieces() const { return mm_pieces_; }
  /// Order N of the series of one piece: 4, 8, 10 or 12.
  int series_order() const { return mm_order_; }
  /// True when step() is one piece of order 4 (cheap enough to fuse into the diffusion pass).
  bool series_fusable() const { return mm_series_ && mm_pieces_ == 1 && mm_order_ == 4; }
  /// step() when series_fusable() (or !saturable()): inline, branch-free (the near path is not
  /// taken here: the order-4 series is as cheap).
  double step_series(double c) const { return a_half_ * mm_piece<4>(a_half_ * c + b_half_) + b_half_; }
  /// The saturable step over h as series_pieces() pieces of order series_order().
  double mm_series_steps(double u) const {
    switch (mm_order_) {
      case 4:
        for (int p = 0; p < mm_pieces_; ++p) u = mm_piece<4>(u);
        break;
      case 8:
        for (int p = 0; p < mm_pieces_; ++p) u = mm_piece<8>(u);
        break;
      case 10:
        for (int p = 0; p < mm_pieces_; ++p) u = mm_piece<10>(u);
        break;
      default:
        for (int p = 0; p < mm_pieces_; ++p) u = mm_piece<12>(u);
    }
    return u;
  }
  /// The saturable step over one piece s = h / n: the Taylor polynomial of order N of the exact
  /// solution, its coefficients by the recurrence of automatic (Taylor-mode) differentiation. In
  /// theta = t / s, u' = -eps q with q = u / (km + u), eps = vmax s; with u_k, q_k the Taylor
  /// coefficients and z = km + u (z_0 = km + u_0, z_k = u_k):
  ///   q_k = (u_k - sum_{j=1..k} u_j q_{k-j}) / z_0,   u_{k+1} = -eps q_k / (k + 1),
  ///   u(s) = sum_{k=0..N} u_k.
  /// One division and N (N + 1) / 2 multiply-adds, no exp or log. Accuracy: in tau = vmax t / km
  /// the exact solution is km omega(ln x0 + x0 - tau) (Wright omega), whose singularities
  /// (omega = -1) lie at Im = +-pi, so the series converges in a disc of radius >= pi and its
  /// terms fall about as (x / pi)^k, x = vmax s / km. set_step picks the cheapest N and n whose
  /// truncation error, measured against a long-double Lambert W solution over C0 / km in
  /// [1e-6, 1e6], is at round-off (<= 2.3e-16 relative; the Lambert W step itself: ~2e-15):
  /// N = 4 for x <= 2.5e-3, 8 for x <= 0.05, 10 for x <= 0.1, otherwise 12 on the fewest pieces
  /// with x / n <= 0.2 (tests/numerics/field_kinetics.cpp checks it).
  template <int N>
  double mm_piece(double u) const {
    const double inv = 1.0 / (p_.km + u);
    double uk[N + 1], qk[N];
    uk[0] = u;
    qk[0] = u * inv;
#pragma GCC unroll 16
    for (int k = 1; k < N; ++k) {
      uk[k] = mm_c_[static_cast<std::size_t>(k - 1)] * qk[k - 1];
      double acc = uk[k];
#pragma GCC unroll 16
      for (int j = 1; j <= k; ++j) acc -= uk[j] * qk[k - j];
      qk[k] = acc * inv;
    }
    uk[N] = mm_c_[static_cast<std::size_t>(N - 1)] * qk[N - 1];
    double sum = uk[N];
#pragma GCC unroll 16
    for (int k = N - 1; k >= 0; --k) sum += uk[k];
    return sum;
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
  bool mm_series_ = false;              // series on n <= 64 pieces (else the Lambert W step)
  int mm_pieces_ = 1;                   // n
  int mm_order_ = 4;                    // N: 4, 8, 10 or 12
  std::array<double, 12> mm_c_{};       // -vmax s / (k + 1), k = 0..11 (s = h / n)
  double near_ref_ = 0.0, near_radius_ = 0.0;  // near_radius_ = 0: no near path
  double near_lin_radius_ = 0.0;               // <= near_radius_
  std::array<double, kNear + 1> near_c_{};
  void set_near();
  void set_near_linear();
};

}  // namespace nmsim::modulators
