#pragma once
// izhikevich: Izhikevich's simple spiking neuron (Izhikevich 2003, IEEE TNN 14:1569).
//
//   dv/dt = 0.04 v^2 + 5 v + 140 - u + I        (v in mV, t in ms)
//   du/dt = a (b v - u)
//   v >= v_peak at a grid point: spike, v <- c, u <- u + d
//   I = i_e + I_stim + (exc + inh port input), in pA with an implicit C = 1 pF, so 1 pA adds
//   1 mV/ms to dv/dt exactly as the dimensionless I of the paper does; u is a current on the
//   same scale (pA, i.e. mV/ms).
//   Ports exc and inh are PortKind::pulse: a spike of weight w [pA] arriving at t_k is a current
//   w held over [t_k, t_{k+1}) (Izhikevich's spnet/net code with dt = 1 ms: I += w for one step).
//   So the charge of one input is w * dt and depends on dt, as in the published code.
//
// Integrators (params.integrator), over [t_k, t_{k+1}) with I constant:
//   "izhikevich2003" (default) - the published scheme: v advanced by two forward-Euler
//       half-steps of dt/2, then u by one Euler step of dt using the new v. With dt = 1 ms it is
//       step for step the loop of his net.m / spnet.cpp, so it reproduces his published figures
//       and network results; first order in dt.
//   "euler"  - forward Euler on (v, u), Boost.Odeint euler; first order.
//   "rk4"    - classical Runge-Kutta, Boost.Odeint runge_kutta4; fourth order between spikes.
//       Near the spike upstroke v grows like 1/(t* - t), so any fixed-step method loses its
//       order there; rk4 needs dt <= ~0.1 ms (at dt = 1 ms its upstroke overshoots wildly).
//   Odeint steps the whole owned range at once: the state is interleaved v0,u0,v1,u1,... in one
//   vector, so a thread's range [2 begin, 2 end) is contiguous.
// The threshold test is !(v < v_peak), so a v that blew up to inf or NaN (too large a dt) counts
// as a spike and is reset to c instead of poisoning the run.
#include <memory>
#include <string>
#include <vector>

#include "nmsim/core/params.hpp"
#include "nmsim/core/population.hpp"

namespace nmsim::models {

struct IzhikevichParams {
  enum class Integrator { izhikevich2003, euler, rk4 };
  // Defaults: the RS (regular spiking) preset.
  double a = 0.02;          // [1/ms] > 0 time scale of u
  double b = 0.2;           // [pA/mV] (1/ms with C = 1 pF) sensitivity of u to v
  double c = -65.0;         // [mV] < v_peak, reset of v
  double d = 8.0;           // [pA] (mV/ms) increment of u at a spike
  double v_peak = 30.0;     // [mV] spike cut-off
  double i_e = 0.0;         // [pA] constant bias current
  std::string preset = "RS";  // name of the preset a, b, c, d were taken from ("" = none)
  Integrator integrator = Integrator::izhikevich2003;

  /// a, b, c, d of Izhikevich (2003) Fig. 2: "RS", "IB", "CH", "FS", "LTS", "TC", "RZ".
  /// Throws std::out_of_range for another name.
  static IzhikevichParams preset_params(const std::string& name);
  static const std::vector<std::string>& preset_names();
  /// Read from a config table: preset first, then explicit a/b/c/d override it.
  static IzhikevichParams from(const ParamTable& t);
  /// Throws ConfigError naming the first invalid field.
  void validate(const std::string& path = "izhikevich") const;
};

struct IzhikevichInit {
  Distribution v = Distribution::constant(-65.0);  // [mV]; default: c
  Distribution u = Distribution::constant(-13.0);  // [pA]; default: b * v of each neuron
  bool v_given = false;
  bool u_given = false;
  static IzhikevichInit from(const ParamTable& t);
};

class Izhikevich : public Population {
 public:
  Izhikevich(std::string name, std::size_t size, IzhikevichParams params = {}, IzhikevichInit init = {});
  std::string_view model() const override { return "izhikevich"; }
  std::vector<PortInfo> ports() const override;
  std::vector<std::string> variables() const override;
  bool has_adaptation() const override { return true; }
  VarView variable(std::string_view name) const override;
  void prepare(double dt, std::uint64_t seed) override;
  void update(const UpdateContext& ctx, Range r, const InputView& in, SpikeSink& out) override;
  void save_state(StateWriter& w) const override;
  void restore_state(const StateReader& r) override;

  const IzhikevichParams& params() const { return p_; }
  /// Direct state access for programs and tests; valid between runs.
  double& v(std::size_t i) { return x_[2 * i]; }
  double& u(std::size_t i) { return x_[2 * i + 1]; }

 private:
  IzhikevichParams p_;
  IzhikevichInit init_;
  std::vector<double> x_;      // interleaved v0, u0, v1, u1, ... at t_k between updates
  std::vector<double> i_now_;  // [pA] scratch: total current of the step; threads write own range
  double h_ = 0.1;             // [ms]
};

/// Factory for the registry: model name "izhikevich".
std::unique_ptr<Population> make_izhikevich(const std::string& name, std::size_t size, const ParamTable& params,
                                            const ParamTable& init);

}  // namespace nmsim::models
