#pragma once
// stdp: pair-based spike-timing-dependent plasticity with traces (Song, Miller & Abbott 2000;
// Morrison, Diesmann & Gerstner 2008, Biol. Cybern. 98:459).
//
//   pre trace  x (per synapse):  dx/dt = -x / tau_plus,   x -> x + 1 at each pre event
//   post trace y (per neuron):   dy/dt = -y / tau_minus,  y -> y + 1 at each post event
//   ("nearest" pairing: x -> 1, y -> 1 instead: each spike pairs with its nearest partner only)
//   at a pre event:  w -> w - a_minus * f_-(w) * y(t)       (depression, post before pre)
//   at a post event: w -> w + a_plus  * f_+(w) * x(t)       (potentiation, pre before post)
//   weight dependence with u = (w - w_min) / (w_max - w_min) and exponent mu:
//     f_+(w) = (1 - u)^mu,  f_-(w) = u^mu
//     mu = 0: additive;  mu = 1: multiplicative (soft bounds, van Rossum et al. 2000);
//     0 < mu < 1: Guetig et al. 2003.  w is then clipped to [w_min, w_max] (hard bounds).
// A single pair with post - pre = dt > 0 changes w by a_plus e^{-dt/tau_plus}, with dt < 0 by
// -a_minus e^{dt/tau_minus} (additive), exactly: traces are evaluated analytically at events.
#include <cmath>
#include <string>
#include <vector>

#include "nmsim/core/params.hpp"
#include "nmsim/core/projection.hpp"
#include "nmsim/core/simulation.hpp"

namespace nmsim::models {

struct StdpParams {
  enum class Pairing { all_to_all, nearest };
  double tau_plus = 20.0;    // [ms] > 0
  double tau_minus = 20.0;   // [ms] > 0
  double a_plus = 0.01;      // [weight units] >= 0 potentiation amplitude
  double a_minus = 0.012;    // [weight units] >= 0 depression amplitude
  double w_min = 0.0;        // [weight units]
  double w_max = 1.0;        // [weight units] > w_min
  double mu = 0.0;           // [1] >= 0: 0 additive, 1 multiplicative
  Pairing pairing = Pairing::all_to_all;
  /// Reads rule keys; `dependence` = "additive" | "multiplicative" | "gutig" (then `mu`).
  static StdpParams from(const ParamTable& t);
};

class Stdp {
 public:
  using Params = StdpParams;
  struct SynState {
    std::vector<double> x;  // pre trace at time t_x
    std::vector<Step> t_x;
    void resize(std::size_t n) {
      x.assign(n, 0.0);
      t_x.assign(n, 0);
    }
    /// Every per-synapse array by name (checkpoints): f(name, array) for const or mutable s.
    template <class S, class F>
    static void fields(S& s, F&& f) {
      f("x", s.x);
      f("t_x", s.t_x);
    }
  };
  struct PostState {
    std::vector<double> y;  // post trace at time t_y
    std::vector<Step> t_y;
    void resize(std::size_t n) {
      y.assign(n, 0.0);
      t_y.assign(n, 0);
    }
    /// Every per-neuron array by name (checkpoints): f(name, array) for const or mutable s.
    template <class S, class F>
    static void fields(S& s, F&& f) {
      f("y", s.y);
      f("t_y", s.t_y);
    }
  };

  explicit Stdp(StdpParams p) : p_(p) {}
  const StdpParams& params() const { return p_; }
  void prepare(const Simulation& sim, const Projection&) {
    dt_ = sim.dt();
    // Trace decays e^{-k dt/tau} for k < 4096 steps, computed by decay() itself: a lookup is
    // bit-identical to the call it replaces; longer gaps call exp.
    dec_plus_.resize(kTable);
    dec_minus_.resize(kTable);
    for (std::size_t k = 0; k < kTable; ++k) {
      dec_plus_[k] = decay(static_cast<Step>(k), p_.tau_plus);
      dec_minus_[k] = decay(static_cast<Step>(k), p_.tau_minus);
    }
  }

  void on_pre(SynState& s, std::uint64_t q, PostState& post, NeuronIndex j, Step a, double& w) const {
    const double y = post.y[j] * decay_minus(a - post.t_y[j]);
    w = clip(w - p_.a_minus * f_minus(w) * y);
    const double x = s.x[q] * decay_plus(a - s.t_x[q]);
    s.x[q] = p_.pairing == StdpParams::Pairing::nearest ? 1.0 : x + 1.0;
    s.t_x[q] = a;
  }
  void on_post_synapse(SynState& s, std::uint64_t q, PostState&, NeuronIndex, Step a, double& w) const {
    const double x = s.x[q] * decay_plus(a - s.t_x[q]);
    w = clip(w + p_.a_plus * f_plus(w) * x);
  }
  void on_post_neuron(PostState& post, NeuronIndex j, Step a) const {
    const double y = post.y[j] * decay_minus(a - post.t_y[j]);
    post.y[j] = p_.pairing == StdpParams::Pairing::nearest ? 1.0 : y + 1.0;
    post.t_y[j] = a;
  }

 private:
  static constexpr std::size_t kTable = 4096;
  double decay(Step steps, double tau) const { return std::exp(-static_cast<double>(steps) * dt_ / tau); }
  double decay_plus(Step k) const {
    return static_cast<std::uint64_t>(k) < dec_plus_.size() ? dec_plus_[static_cast<std::size_t>(k)] : decay(k, p_.tau_plus);
  }
  double decay_minus(Step k) const {
    return static_cast<std::uint64_t>(k) < dec_minus_.size() ? dec_minus_[static_cast<std::size_t>(k)]
                                                              : decay(k, p_.tau_minus);
  }
  std::vector<double> dec_plus_, dec_minus_;
  double u(double w) const { return (w - p_.w_min) / (p_.w_max - p_.w_min); }
  double f_plus(double w) const { return p_.mu == 0.0 ? 1.0 : std::pow(std::max(0.0, 1.0 - u(w)), p_.mu); }
  double f_minus(double w) const { return p_.mu == 0.0 ? 1.0 : std::pow(std::max(0.0, u(w)), p_.mu); }
  double clip(double w) const { return w < p_.w_min ? p_.w_min : (w > p_.w_max ? p_.w_max : w); }
  StdpParams p_;
  double dt_ = 0.1;
};

}  // namespace nmsim::models
