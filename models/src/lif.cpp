#include "nmsim/models/lif.hpp"
#include "nmsim/core/state.hpp"

#include <cmath>

#include <fmt/format.h>

#include "nmsim/core/registry.hpp"

namespace nmsim::models {

LifParams LifParams::from(const ParamTable& t) {
  LifParams p;
  t.reject_unknown({"c_m", "tau_m", "e_l", "v_th", "v_reset", "t_ref", "tau_syn_ex", "tau_syn_in", "i_e", "synapse"});
  p.c_m = t.number("c_m", p.c_m, Check::positive);
  p.tau_m = t.number("tau_m", p.tau_m, Check::positive);
  p.e_l = t.number("e_l", p.e_l);
  p.v_th = t.number("v_th", p.v_th);
  p.v_reset = t.number("v_reset", t.has("e_l") ? p.e_l : p.v_reset);
  p.t_ref = t.number("t_ref", p.t_ref, Check::non_negative);
  p.tau_syn_ex = t.number("tau_syn_ex", p.tau_syn_ex, Check::positive);
  p.tau_syn_in = t.number("tau_syn_in", p.tau_syn_in, Check::positive);
  p.i_e = t.number("i_e", p.i_e);
  p.synapse = t.choice("synapse", "exp", {"exp", "delta"}) == "exp" ? Synapse::exp : Synapse::delta;
  if (!(p.v_th > p.v_reset))
    t.fail(t.has("v_th") ? "v_th" : "v_reset",
           fmt::format("expected v_th > v_reset, found v_th = {} mV, v_reset = {} mV", p.v_th, p.v_reset));
  return p;
}

void LifParams::validate(const std::string& path) const {
  auto bad = [&](const char* field, const std::string& msg) { throw ConfigError({}, path + "." + field, msg); };
  if (!(c_m > 0)) bad("c_m", fmt::format("expected a value > 0, found {}", c_m));
  if (!(tau_m > 0)) bad("tau_m", fmt::format("expected a value > 0, found {}", tau_m));
  if (!(t_ref >= 0)) bad("t_ref", fmt::format("expected a value >= 0, found {}", t_ref));
  if (!(tau_syn_ex > 0)) bad("tau_syn_ex", fmt::format("expected a value > 0, found {}", tau_syn_ex));
  if (!(tau_syn_in > 0)) bad("tau_syn_in", fmt::format("expected a value > 0, found {}", tau_syn_in));
  if (!(v_th > v_reset)) bad("v_th", fmt::format("expected v_th > v_reset, found {} <= {}", v_th, v_reset));
}

LifInit LifInit::from(const ParamTable& t) {
  LifInit s;
  t.reject_unknown({"v", "i_syn_ex", "i_syn_in"});
  s.v_given = t.has("v");
  s.v = t.distribution("v", s.v);
  s.i_syn_ex = t.distribution("i_syn_ex", s.i_syn_ex);
  s.i_syn_in = t.distribution("i_syn_in", s.i_syn_in);
  return s;
}

Lif::Lif(std::string name, std::size_t size, LifParams params, LifInit init)
    : Population(std::move(name), size), p_(params), init_(init) {
  p_.validate("population." + this->name() + ".params");
  if (!init_.v_given) init_.v = Distribution::constant(p_.e_l);
  v_.assign(size, p_.e_l);
  i_ex_.assign(size, 0.0);
  i_in_.assign(size, 0.0);
  refractory_.assign(size, 0);
}

std::vector<PortInfo> Lif::ports() const {
  if (p_.synapse == LifParams::Synapse::delta) return {{"exc", "mV", PortKind::jump}, {"inh", "mV", PortKind::jump}};
  return {{"exc", "pA", PortKind::jump}, {"inh", "pA", PortKind::jump}};
}

std::vector<std::string> Lif::variables() const {
  if (p_.synapse == LifParams::Synapse::delta) return {"v"};
  return {"v", "i_syn_ex", "i_syn_in"};
}

VarView Lif::variable(std::string_view name) const {
  if (name == "v") return {v_.data(), 1, "mV"};
  if (p_.synapse == LifParams::Synapse::exp) {
    if (name == "i_syn_ex") return {i_ex_.data(), 1, "pA"};
    if (name == "i_syn_in") return {i_in_.data(), 1, "pA"};
  }
  throw ConfigError({}, "variable",
                    fmt::format("model lif has no state variable \"{}\" (it has: {})", name, fmt::join(variables(), ", ")));
}

namespace {
// Contribution to V at t+h of a synaptic current I(t) decaying with tau_s, per pA:
// tau_m tau_s / (C (tau_m - tau_s)) (e^{-h/tau_m} - e^{-h/tau_s}), written with expm1 so it stays
// accurate as tau_s -> tau_m, where it tends to h e^{-h/tau_m} / C.
double psc_to_v(double h, double tau_m, double tau_s, double c_m) {
  if (tau_m == tau_s) return h * std::exp(-h / tau_m) / c_m;
  const double x = h * (tau_m - tau_s) / (tau_m * tau_s);
  return -tau_m * tau_s / (c_m * (tau_m - tau_s)) * std::exp(-h / tau_m) * std::expm1(-x);
}
}  // namespace

void Lif::prepare(double dt, std::uint64_t seed) {
  const double h = dt;
  p22_ = std::exp(-h / p_.tau_m);
  p20_ = -p_.tau_m / p_.c_m * std::expm1(-h / p_.tau_m);
  p11ex_ = std::exp(-h / p_.tau_syn_ex);
  p11in_ = std::exp(-h / p_.tau_syn_in);
  p21ex_ = psc_to_v(h, p_.tau_m, p_.tau_syn_ex, p_.c_m);
  p21in_ = psc_to_v(h, p_.tau_m, p_.tau_syn_in, p_.c_m);
  ref_steps_ = static_cast<std::int32_t>(std::llround(p_.t_ref / dt));
  draw_per_neuron(v_.data(), size(), 1, init_.v, seed, name(), "v");
  draw_per_neuron(i_ex_.data(), size(), 1, init_.i_syn_ex, seed, name(), "i_syn_ex");
  draw_per_neuron(i_in_.data(), size(), 1, init_.i_syn_in, seed, name(), "i_syn_in");
  std::fill(refractory_.begin(), refractory_.end(), 0);
}

void Lif::update(const UpdateContext& ctx, Range r, const InputView& in, SpikeSink& out) {
  double* const v = v_.data();
  std::int32_t* const refr = refractory_.data();
  const double* const ext = in.i_ext;
  const double* const w_ex = in.port[0];
  const double* const w_in = in.port[1];
  const double* const sh = in.v_th_shift;  // modulated threshold shift (mV) or null
  const double e_l = p_.e_l, v_th = p_.v_th, v_reset = p_.v_reset, i_e = p_.i_e;
  const std::uint32_t pop = index();
  if (p_.synapse == LifParams::Synapse::exp) {
    double* const iex = i_ex_.data();
    double* const iin = i_in_.data();
    for (std::size_t i = r.begin; i < r.end; ++i) {
      if (refr[i] == 0)
        v[i] = e_l + p22_ * (v[i] - e_l) + p21ex_ * iex[i] + p21in_ * iin[i] + p20_ * (i_e + ext[i]);
      else
        --refr[i];
      iex[i] = iex[i] * p11ex_ + w_ex[i];
      iin[i] = iin[i] * p11in_ + w_in[i];
      if (v[i] >= v_th + (sh ? sh[i] : 0.0)) {
        refr[i] = ref_steps_;
        v[i] = v_reset;
        out.push(ctx.step, pop, static_cast<NeuronIndex>(i));
      }
    }
  } else {
    for (std::size_t i = r.begin; i < r.end; ++i) {
      if (refr[i] == 0) {
        v[i] = e_l + p22_ * (v[i] - e_l) + p20_ * (i_e + ext[i]) + w_ex[i] + w_in[i];
      } else {
        --refr[i];
      }
      if (v[i] >= v_th + (sh ? sh[i] : 0.0)) {
        refr[i] = ref_steps_;
        v[i] = v_reset;
        out.push(ctx.step, pop, static_cast<NeuronIndex>(i));
      }
    }
  }
}

std::unique_ptr<Population> make_lif(const std::string& name, std::size_t size, const ParamTable& params,
                                     const ParamTable& init) {
  return std::make_unique<Lif>(name, size, LifParams::from(params), LifInit::from(init));
}

void Lif::save_state(StateWriter& w) const {
  w.write("v", v_);
  w.write("i_syn_ex", i_ex_);
  w.write("i_syn_in", i_in_);
  w.write("refractory", refractory_);
}

void Lif::restore_state(const StateReader& r) {
  r.read_into("v", v_);
  r.read_into("i_syn_ex", i_ex_);
  r.read_into("i_syn_in", i_in_);
  r.read_into("refractory", refractory_);
}

}  // namespace nmsim::models
