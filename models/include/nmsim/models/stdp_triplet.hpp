#pragma once
// stdp_triplet: the triplet rule of Pfister & Gerstner (2006) J. Neurosci. 26:9673.
//
//   pre traces  r1 (tau_plus), r2 (tau_x) per synapse; post traces o1 (tau_minus), o2 (tau_y)
//   per neuron; each jumps by 1 at its own spikes (all-to-all) or is set to 1 (nearest).
//   at a pre event:  w -> w - o1(t) [a2_minus + a3_minus r2(t-)]
//   at a post event: w -> w + r1(t) [a2_plus  + a3_plus  o2(t-)]
//   (t- : the trace just before its own jump), then w is clipped to [w_min, w_max].
// The "minimal" models of the paper set a2_plus = 0 or a3_minus = 0 (Table 4).
#include <cmath>
#include <vector>

#include "nmsim/core/params.hpp"
#include "nmsim/core/projection.hpp"
#include "nmsim/core/simulation.hpp"

namespace nmsim::models {

struct StdpTripletParams {
  enum class Pairing { all_to_all, nearest };
  double tau_plus = 16.8;     // [ms] > 0  (visual cortex fit, Pfister & Gerstner 2006 Table 4)
  double tau_minus = 33.7;    // [ms] > 0
  double tau_x = 101.0;       // [ms] > 0
  double tau_y = 125.0;       // [ms] > 0
  double a2_plus = 5e-10;     // [weight units] >= 0
  double a3_plus = 6.2e-3;    // [weight units] >= 0
  double a2_minus = 7e-3;     // [weight units] >= 0
  double a3_minus = 2.3e-4;   // [weight units] >= 0
  double w_min = 0.0;         // [weight units]
  double w_max = 1e300;       // [weight units] > w_min
  Pairing pairing = Pairing::all_to_all;
  static StdpTripletParams from(const ParamTable& t);
};

class StdpTriplet {
 public:
  using Params = StdpTripletParams;
  struct SynState {
    std::vector<double> r1, r2;
    std::vector<Step> t;
    void resize(std::size_t n) {
      r1.assign(n, 0.0);
      r2.assign(n, 0.0);
      t.assign(n, 0);
    }
    /// Every per-synapse array by name (checkpoints): f(name, array) for const or mutable s.
    template <class S, class F>
    static void fields(S& s, F&& f) {
      f("r1", s.r1);
      f("r2", s.r2);
      f("t", s.t);
    }
  };
  struct PostState {
    std::vector<double> o1, o2;
    std::vector<Step> t;
    void resize(std::size_t n) {
      o1.assign(n, 0.0);
      o2.assign(n, 0.0);
      t.assign(n, 0);
    }
    /// Every per-neuron array by name (checkpoints): f(name, array) for const or mutable s.
    template <class S, class F>
    static void fields(S& s, F&& f) {
      f("o1", s.o1);
      f("o2", s.o2);
      f("t", s.t);
    }
  };

  explicit StdpTriplet(StdpTripletParams p) : p_(p) {}
  const StdpTripletParams& params() const { return p_; }
  void prepare(const Simulation& sim, const Projection&) { dt_ = sim.dt(); }

  void on_pre(SynState& s, std::uint64_t q, PostState& post, NeuronIndex j, Step a, double& w) const {
    const double o1 = post.o1[j] * decay(a - post.t[j], p_.tau_minus);
    const double el = static_cast<double>(a - s.t[q]);
    const double r1 = s.r1[q] * decay_d(el, p_.tau_plus);
    const double r2 = s.r2[q] * decay_d(el, p_.tau_x);
    w = clip(w - o1 * (p_.a2_minus + p_.a3_minus * r2));
    const bool nearest = p_.pairing == StdpTripletParams::Pairing::nearest;
    s.r1[q] = nearest ? 1.0 : r1 + 1.0;
    s.r2[q] = nearest ? 1.0 : r2 + 1.0;
    s.t[q] = a;
  }
  void on_post_synapse(SynState& s, std::uint64_t q, PostState& post, NeuronIndex j, Step a, double& w) const {
    const double r1 = s.r1[q] * decay(a - s.t[q], p_.tau_plus);
    const double o2 = post.o2[j] * decay(a - post.t[j], p_.tau_y);
    w = clip(w + r1 * (p_.a2_plus + p_.a3_plus * o2));
  }
  void on_post_neuron(PostState& post, NeuronIndex j, Step a) const {
    const double el = static_cast<double>(a - post.t[j]);
    const double o1 = post.o1[j] * decay_d(el, p_.tau_minus);
    const double o2 = post.o2[j] * decay_d(el, p_.tau_y);
    const bool nearest = p_.pairing == StdpTripletParams::Pairing::nearest;
    post.o1[j] = nearest ? 1.0 : o1 + 1.0;
    post.o2[j] = nearest ? 1.0 : o2 + 1.0;
    post.t[j] = a;
  }

 private:
  double decay(Step steps, double tau) const { return decay_d(static_cast<double>(steps), tau); }
  double decay_d(double steps, double tau) const { return std::exp(-steps * dt_ / tau); }
  double clip(double w) const { return w < p_.w_min ? p_.w_min : (w > p_.w_max ? p_.w_max : w); }
  StdpTripletParams p_;
  double dt_ = 0.1;
};

}  // namespace nmsim::models
