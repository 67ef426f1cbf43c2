#pragma once
// lif: current-based leaky integrate-and-fire neuron (NEST iaf_psc_exp / iaf_psc_delta).
//
//   C_m dV/dt = -(C_m/tau_m) (V - E_L) + I_ex + I_in + I_e + I_stim
//   dI_ex/dt  = -I_ex / tau_syn_ex,   dI_in/dt = -I_in / tau_syn_in        (synapse = "exp")
//   a spike arriving on port exc (inh) at time t makes I_ex (I_in) jump by its weight w [pA];
//   with synapse = "delta" there are no synaptic currents: V jumps by w [mV] instead.
//   V >= V_th at a grid point: spike, V <- V_reset, V clamped for t_ref; inputs arriving while
//   refractory still add to I_ex/I_in (exp) and are discarded (delta), as in NEST.
//
// Integration is exact for inputs that are piecewise constant over a step (Rotter & Diesmann
// 1999): the linear system is propagated with its matrix exponential, so V(t) on the grid equals
// the analytic solution to round-off for any dt. See docs/models/lif.md.
#include <memory>
#include <string>
#include <vector>

#include "nmsim/core/params.hpp"
#include "nmsim/core/population.hpp"

namespace nmsim::models {

struct LifParams {
  enum class Synapse { exp, delta };
  double c_m = 250.0;         // [pF] > 0
  double tau_m = 10.0;        // [ms] > 0
  double e_l = -70.0;         // [mV]
  double v_th = -55.0;        // [mV] > v_reset
  double v_reset = -70.0;     // [mV]
  double t_ref = 2.0;         // [ms] >= 0
  double tau_syn_ex = 2.0;    // [ms] > 0 (exp only)
  double tau_syn_in = 2.0;    // [ms] > 0 (exp only)
  double i_e = 0.0;           // [pA] constant bias current
  Synapse synapse = Synapse::exp;

  /// Read from a config table (unknown keys and out-of-range values are ConfigErrors).
  static LifParams from(const ParamTable& t);
  /// Throws ConfigError naming the first invalid field.
  void validate(const std::string& path = "lif") const;
};

struct LifInit {
  Distribution v = Distribution::constant(-70.0);        // [mV]; default: E_L
  Distribution i_syn_ex = Distribution::constant(0.0);   // [pA]
  Distribution i_syn_in = Distribution::constant(0.0);   // [pA]
  bool v_given = false;
  static LifInit from(const ParamTable& t);
};

class Lif : public Population {
 public:
  Lif(std::string name, std::size_t size, LifParams params = {}, LifInit init = {});
  std::string_view model() const override { return "lif"; }
  std::vector<PortInfo> ports() const override;
  std::vector<std::string> variables() const override;
  bool has_threshold() const override { return true; }
  VarView variable(std::string_view name) const override;
  void prepare(double dt, std::uint64_t seed) override;
  void update(const UpdateContext& ctx, Range r, const InputView& in, SpikeSink& out) override;
  void save_state(StateWriter& w) const override;
  void restore_state(const StateReader& r) override;

  const LifParams& params() const { return p_; }
  /// Direct state access (mV, pA) for programs and tests; valid between runs.
  std::vector<double>& v() { return v_; }
  std::vector<double>& i_syn_ex() { return i_ex_; }
  std::vector<double>& i_syn_in() { return i_in_; }

 private:
  LifParams p_;
  LifInit init_;
  std::vector<double> v_, i_ex_, i_in_;
  std::vector<std::int32_t> refractory_;  // steps of clamp left
  // Propagators for one step h = dt.
  double p22_ = 0, p20_ = 0, p11ex_ = 0, p11in_ = 0, p21ex_ = 0, p21in_ = 0;
  std::int32_t ref_steps_ = 0;
};

/// Factory for the registry: model name "lif".
std::unique_ptr<Population> make_lif(const std::string& name, std::size_t size, const ParamTable& params,
                                     const ParamTable& init);

}  // namespace nmsim::models
