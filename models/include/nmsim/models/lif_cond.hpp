#pragma once
// lif_cond: conductance-based leaky integrate-and-fire neuron with exponential conductances
// (NEST iaf_cond_exp; the COBA model of Vogels & Abbott 2005).
//
//   C_m dV/dt = g_L (E_L - V) + g_ex (E_ex - V) + g_in (E_in - V) + I_e + I_stim
//   dg_ex/dt  = -g_ex / tau_syn_ex,    dg_in/dt = -g_in / tau_syn_in
//   a spike arriving on port exc (inh) at time t makes g_ex (g_in) jump by its weight w >= 0 [nS].
//   V >= V_th at a grid point: spike, V <- V_reset, V clamped for t_ref; conductances keep
//   decaying and inputs arriving while refractory still add to them (as in NEST).
//
// Integration over one step [t_k, t_k + h):
//   conductances: exact decay, g(t_k + s) = g(t_k) e^{-s/tau}; the jumps of input arriving at
//     t_{k+1} are added after the propagation (time convention of population.hpp).
//   V, integrator = "exponential" (default): V is propagated as if the conductances were frozen
//     at their mean over the step, gbar = g(t_k) tau/h (1 - e^{-h/tau}):
//       g_tot = g_L + gbar_ex + gbar_in,  b = g_L E_L + gbar_ex E_ex + gbar_in E_in + I
//       V(t_{k+1}) = V + (h/C_m) (b - g_tot V) phi(x),  x = h g_tot / C_m,  phi(x) = (1 - e^{-x})/x
//     (= V_inf + (V - V_inf) e^{-x}, the exact step for frozen conductances), with phi evaluated
//     as 1/(1 + x/2 + x^2/12) (relative error 3e-12 at rest with dt = 0.1 ms; monotone, stable
//     for all x). Second order in h (a first-order Magnus step); using the step mean of g means
//     each step injects exactly that step's conductance integral, so a synapse with
//     tau_syn ~ dt (NEST's default 0.2 ms) stays accurate. One division per neuron and step.
//   V, integrator = "rk4": classical Runge-Kutta (Boost.Odeint runge_kutta4) over the owned range
//     of V, with the conductances evaluated exactly at the stage times. Fourth order; about 3x the
//     cost. A reference, and for studies that need V to better than ~1e-4 mV at dt = 0.1 ms.
// Measured accuracy (tests/numerics/lif_cond_reference.cpp): see docs/models/lif_cond.md.
#include <memory>
#include <string>
#include <vector>

#include "nmsim/core/params.hpp"
#include "nmsim/core/population.hpp"

namespace nmsim::models {

struct LifCondParams {
  enum class Integrator { exponential, rk4 };
  double c_m = 250.0;         // [pF] > 0
  double g_l = 16.6667;       // [nS] > 0 leak conductance (tau_m = c_m / g_l = 15 ms)
  double e_l = -70.0;         // [mV] leak reversal potential
  double e_ex = 0.0;          // [mV] excitatory reversal potential
  double e_in = -85.0;        // [mV] inhibitory reversal potential
  double v_th = -55.0;        // [mV] > v_reset
  double v_reset = -60.0;     // [mV]
  double t_ref = 2.0;         // [ms] >= 0
  double tau_syn_ex = 0.2;    // [ms] > 0
  double tau_syn_in = 2.0;    // [ms] > 0
  double i_e = 0.0;           // [pA] constant bias current
  Integrator integrator = Integrator::exponential;

  /// Read from a config table (unknown keys and out-of-range values are ConfigErrors).
  static LifCondParams from(const ParamTable& t);
  /// Throws ConfigError naming the first invalid field.
  void validate(const std::string& path = "lif_cond") const;
};

struct LifCondInit {
  Distribution v = Distribution::constant(-70.0);   // [mV]; default: E_L
  Distribution g_ex = Distribution::constant(0.0);  // [nS] >= 0
  Distribution g_in = Distribution::constant(0.0);  // [nS] >= 0
  bool v_given = false;
  static LifCondInit from(const ParamTable& t);
};

class LifCond : public Population {
 public:
  LifCond(std::string name, std::size_t size, LifCondParams params = {}, LifCondInit init = {});
  std::string_view model() const override { return "lif_cond"; }
  std::vector<PortInfo> ports() const override;
  std::vector<std::string> variables() const override;
  bool has_threshold() const override { return true; }
  VarView variable(std::string_view name) const override;
  void prepare(double dt, std::uint64_t seed) override;
  void update(const UpdateContext& ctx, Range r, const InputView& in, SpikeSink& out) override;
  void save_state(StateWriter& w) const override;
  void restore_state(const StateReader& r) override;

  const LifCondParams& params() const { return p_; }
  /// Direct state access (mV, nS) for programs and tests; valid between runs.
  std::vector<double>& v() { return v_; }
  std::vector<double>& g_ex() { return g_ex_; }
  std::vector<double>& g_in() { return g_in_; }

 private:
  void update_exponential(const UpdateContext& ctx, Range r, const InputView& in, SpikeSink& out);
  void advance_v_rk4(Range r, const double* i_ext);

  LifCondParams p_;
  LifCondInit init_;
  std::vector<double> v_, g_ex_, g_in_;   // state at t_k between updates
  std::vector<std::int32_t> refractory_;  // steps of clamp left
  double h_ = 0.1;                        // [ms] step
  // Lowered constants for one step h: decay factors e^{-h/tau} and mean-over-step factors
  // tau/h (1 - e^{-h/tau}) of the conductances; h / C_m.
  double decay_ex_ = 0, decay_in_ = 0, mean_ex_ = 0, mean_in_ = 0, h_over_c_ = 0;
  std::int32_t ref_steps_ = 0;
};

/// Factory for the registry: model name "lif_cond".
std::unique_ptr<Population> make_lif_cond(const std::string& name, std::size_t size, const ParamTable& params,
                                          const ParamTable& init);

}  // namespace nmsim::models
