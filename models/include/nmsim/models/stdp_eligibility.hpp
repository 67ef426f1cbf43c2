#pragma once
// stdp_eligibility: the three-factor rule (Izhikevich 2007, Cereb. Cortex 17:2443; Fremaux &
// Gerstner 2016, Front. Neural Circuits 9:85). Spike timing only tags a synapse; a modulator turns
// the tag into a weight change:
//   pre/post traces x, y and pairing as in stdp (stdp.hpp);
//   at a pre event:  c -> c - a_minus * y(t);   at a post event: c -> c + a_plus * x(t)
//   dc/dt = -c / tau_c
//   dw/dt = eta * c(t) * (m(t) - b),   w clipped to [w_min, w_max] at every update
// m is the third factor: the concentration of `modulator` (uM) read from the modulator's pieces
// (core/modulator.hpp), b the baseline. NEST's stdp_dopamine_synapse is the case eta = 1 with m its
// dopamine trace.
//
// Exact and event-driven: with G(t) = int_{T}^{t} e^{-(s - T)/tau_c} (m(s) - b) ds kept once per
// projection (per step), a synapse last updated at t0 with tag c0 moves on to t1 by
//   w += eta c0 e^{(t0 - T)/tau_c} (G(t1) - G(t0)),   c = c0 e^{-(t1 - t0)/tau_c}
// exactly for the modulator's pieces. Synapses are touched at their own pre/post events and, so
// that e^{(t0 - T)/tau_c} stays bounded, once every `interval` ms when T moves on: no
// per-synapse work per time step.
#include <cmath>
#include <string>
#include <vector>

#include "nmsim/core/modulator.hpp"
#include "nmsim/core/params.hpp"
#include "nmsim/core/projection.hpp"
#include "nmsim/core/simulation.hpp"

namespace nmsim::models {

struct StdpEligibilityParams {
  enum class Pairing { all_to_all, nearest };
  double tau_plus = 20.0;     // [ms] > 0
  double tau_minus = 20.0;    // [ms] > 0
  double a_plus = 1.0;        // [weight units] >= 0 tag increment per pairing (pre before post)
  double a_minus = 1.5;       // [weight units] >= 0 tag decrement (post before pre)
  double tau_c = 1000.0;      // [ms] > 0 eligibility time constant
  double eta = 1.0;           // [1/(uM ms)] learning rate
  double baseline = 0.0;      // [uM] b: no change while m = b
  double w_min = 0.0;         // [weight units]
  double w_max = 1e300;       // [weight units] > w_min
  double interval = 1000.0;   // [ms] > 0: every synapse is brought up to date this often
  Pairing pairing = Pairing::all_to_all;
  std::string modulator;      // name of the modulator giving m
  static StdpEligibilityParams from(const ParamTable& t);
};

class StdpEligibility {
 public:
  using Params = StdpEligibilityParams;
  struct SynState {
    std::vector<double> x, c;
    std::vector<Step> t_x, t_c;
    void resize(std::size_t n) {
      x.assign(n, 0.0);
      c.assign(n, 0.0);
      t_x.assign(n, 0);
      t_c.assign(n, 0);
    }
  };
  struct PostState {
    std::vector<double> y;
    std::vector<Step> t_y;
    void resize(std::size_t n) {
      y.assign(n, 0.0);
      t_y.assign(n, 0);
    }
  };

  explicit StdpEligibility(StdpEligibilityParams p) : p_(std::move(p)) {}
  const StdpEligibilityParams& params() const { return p_; }
  void prepare(const Simulation& sim, const Projection& proj);
  /// One thread per window: extends G over [w0, w1] and rebases T every `interval`.
  void prepare_window(Step w0, Step w1);
  /// Every thread per window: after a rebase, bring all its synapses to T.
  void begin_window(SynState& s, std::vector<double>& w, Step w0);

  void on_pre(SynState& s, std::uint64_t q, PostState& post, NeuronIndex j, Step a, double& w) const {
    advance(s, q, a, w);
    const double y = post.y[j] * decay(a - post.t_y[j], p_.tau_minus);
    s.c[q] -= p_.a_minus * y;
    const double x = s.x[q] * decay(a - s.t_x[q], p_.tau_plus);
    s.x[q] = p_.pairing == StdpEligibilityParams::Pairing::nearest ? 1.0 : x + 1.0;
    s.t_x[q] = a;
  }
  void on_post_synapse(SynState& s, std::uint64_t q, PostState&, NeuronIndex, Step a, double& w) const {
    advance(s, q, a, w);
    s.c[q] += p_.a_plus * s.x[q] * decay(a - s.t_x[q], p_.tau_plus);
  }
  void on_post_neuron(PostState& post, NeuronIndex j, Step a) const {
    const double y = post.y[j] * decay(a - post.t_y[j], p_.tau_minus);
    post.y[j] = p_.pairing == StdpEligibilityParams::Pairing::nearest ? 1.0 : y + 1.0;
    post.t_y[j] = a;
  }
  /// Move synapse q on to synapse time a (>= its last update), applying dw = eta c (m - b) dt.
  void advance(SynState& s, std::uint64_t q, Step a, double& w) const { advance_with(s, q, a, w, g_, tref_); }

  /// G at synapse time a (uM ms), for tests.
  double g_at(Step a) const { return g_[static_cast<std::size_t>(a - tref_)]; }
  Step reference_step() const { return tref_; }

 private:
  // G and its reference passed explicitly: begin_window uses the previous ones while other
  // threads may already read the current ones.
  void advance_with(SynState& s, std::uint64_t q, Step a, double& w, const std::vector<double>& g, Step tref) const {
    const Step t0 = s.t_c[q];
    if (a == t0) return;
    const double c0 = s.c[q];
    if (c0 != 0.0) {
      const double scale = std::exp(static_cast<double>(t0 - tref) * dt_ / p_.tau_c);
      w = clip(w + p_.eta * c0 * scale * (g[static_cast<std::size_t>(a - tref)] - g[static_cast<std::size_t>(t0 - tref)]));
      s.c[q] = c0 * decay(a - t0, p_.tau_c);
    }
    s.t_c[q] = a;
  }
  double decay(Step steps, double tau) const { return std::exp(-static_cast<double>(steps) * dt_ / tau); }
  double clip(double w) const { return w < p_.w_min ? p_.w_min : (w > p_.w_max ? p_.w_max : w); }
  StdpEligibilityParams p_;
  const Modulator* m_ = nullptr;
  double dt_ = 0.1;
  Step interval_steps_ = 1;
  Step tref_ = 0;                 // T: G is measured from here
  std::vector<double> g_;         // G at steps tref_ .. (end of the current window)
  Step tref_prev_ = 0;            // before the last rebase, for begin_window
  std::vector<double> g_prev_;
  bool rebased_ = false;
};

}  // namespace nmsim::models
