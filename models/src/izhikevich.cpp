#include "nmsim/models/izhikevich.hpp"
#include "nmsim/core/state.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <boost/numeric/odeint/stepper/euler.hpp>
#include <boost/numeric/odeint/stepper/runge_kutta4.hpp>
#include <boost/range/iterator_range.hpp>

#include "nmsim/core/registry.hpp"

namespace nmsim::models {

namespace {
struct Preset {
  const char* name;
  double a, b, c, d;
};
// Izhikevich (2003), Fig. 2 and its caption.
constexpr Preset kPresets[] = {
    {"RS", 0.02, 0.2, -65.0, 8.0},    // regular spiking (excitatory)
    {"IB", 0.02, 0.2, -55.0, 4.0},    // intrinsically bursting
    {"CH", 0.02, 0.2, -50.0, 2.0},    // chattering
    {"FS", 0.1, 0.2, -65.0, 2.0},     // fast spiking (inhibitory)
    {"LTS", 0.02, 0.25, -65.0, 2.0},  // low-threshold spiking
    {"TC", 0.02, 0.25, -65.0, 0.05},  // thalamo-cortical
    {"RZ", 0.1, 0.26, -65.0, 2.0},    // resonator
};
}  // namespace

const std::vector<std::string>& IzhikevichParams::preset_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& p : kPresets) n.emplace_back(p.name);
    return n;
  }();
  return names;
}

IzhikevichParams IzhikevichParams::preset_params(const std::string& name) {
  for (const auto& p : kPresets)
    if (name == p.name) {
      IzhikevichParams q;
      q.a = p.a;
      q.b = p.b;
      q.c = p.c;
      q.d = p.d;
      q.preset = p.name;
      return q;
    }
  throw std::out_of_range("no Izhikevich preset named " + name);
}

IzhikevichParams IzhikevichParams::from(const ParamTable& t) {
  t.reject_unknown({"preset", "a", "b", "c", "d", "v_peak", "i_e", "integrator"});
  IzhikevichParams p = preset_params(t.choice("preset", "RS", preset_names()));
  p.a = t.number("a", p.a, Check::positive);
  p.b = t.number("b", p.b);
  p.c = t.number("c", p.c);
  p.d = t.number("d", p.d);
  p.v_peak = t.number("v_peak", p.v_peak);
  p.i_e = t.number("i_e", p.i_e);
  const std::string integ = t.choice("integrator", "izhikevich2003", {"izhikevich2003", "euler", "rk4"});
  p.integrator = integ == "rk4" ? Integrator::rk4 : integ == "euler" ? Integrator::euler : Integrator::izhikevich2003;
  if (!(p.c < p.v_peak))
    t.fail(t.has("c") ? "c" : "v_peak",
           fmt::format("expected c < v_peak (the reset must lie below the spike cut-off), found c = {} mV, "
                       "v_peak = {} mV",
                       p.c, p.v_peak));
  return p;
}

void IzhikevichParams::validate(const std::string& path) const {
  auto bad = [&](const char* field, const std::string& msg) { throw ConfigError({}, path + "." + field, msg); };
  auto finite = [&](const char* field, double v) {
    if (!std::isfinite(v)) bad(field, fmt::format("expected a finite number, found {}", v));
  };
  if (!(a > 0) || !std::isfinite(a)) bad("a", fmt::format("expected a value > 0 (1/ms), found {}", a));
  finite("b", b);
  finite("c", c);
  finite("d", d);
  finite("v_peak", v_peak);
  finite("i_e", i_e);
  if (!(c < v_peak)) bad("c", fmt::format("expected c < v_peak, found {} >= {}", c, v_peak));
}

IzhikevichInit IzhikevichInit::from(const ParamTable& t) {
  IzhikevichInit s;
  t.reject_unknown({"v", "u"});
  s.v_given = t.has("v");
  s.u_given = t.has("u");
  s.v = t.distribution("v", s.v);
  s.u = t.distribution("u", s.u);
  return s;
}

Izhikevich::Izhikevich(std::string name, std::size_t size, IzhikevichParams params, IzhikevichInit init)
    : Population(std::move(name), size), p_(std::move(params)), init_(init) {
  p_.validate("population." + this->name() + ".params");
  if (!init_.v_given) init_.v = Distribution::constant(p_.c);
  x_.assign(2 * size, 0.0);
  for (std::size_t i = 0; i < size; ++i) {
    x_[2 * i] = p_.c;
    x_[2 * i + 1] = p_.b * p_.c;
  }
  i_now_.assign(size, 0.0);
}

std::vector<PortInfo> Izhikevich::ports() const {
  return {{"exc", "pA", PortKind::pulse, false}, {"inh", "pA", PortKind::pulse, false}};
}

std::vector<std::string> Izhikevich::variables() const { return {"v", "u"}; }

VarView Izhikevich::variable(std::string_view name) const {
  if (name == "v") return {x_.data(), 2, "mV"};
  if (name == "u") return {x_.data() + 1, 2, "pA"};
  throw ConfigError(
      {}, "variable",
      fmt::format("model izhikevich has no state variable \"{}\" (it has: {})", name, fmt::join(variables(), ", ")));
}

void Izhikevich::prepare(double dt, std::uint64_t seed) {
  h_ = dt;
  draw_per_neuron(x_.data(), size(), 2, init_.v, seed, name(), "v");
  if (init_.u_given) {
    draw_per_neuron(x_.data() + 1, size(), 2, init_.u, seed, name(), "u");
  } else {
    // On the u-nullcline of each neuron's own v: at rest when v is the resting potential.
    for (std::size_t i = 0; i < size(); ++i) x_[2 * i + 1] = p_.b * x_[2 * i];
  }
}

namespace {
namespace odeint = boost::numeric::odeint;
// always_resizer: the thread's stepper serves ranges of different sizes (populations, thread
// counts); the default initially_resizer would size its scratch once and then overrun it.
using Rk4 = odeint::runge_kutta4<std::vector<double>, double, std::vector<double>, double, odeint::range_algebra,
                                 odeint::default_operations, odeint::always_resizer>;
using Euler = odeint::euler<std::vector<double>, double, std::vector<double>, double, odeint::range_algebra,
                            odeint::default_operations, odeint::always_resizer>;

// Right-hand side for Odeint over the interleaved state (v, u) of neurons [begin, begin + n);
// the input current is constant over the step. Works for the range view and Odeint's vectors.
struct IzhRhs {
  double a, b;
  const double* i_now;  // [pA], offset to the range start

  template <class State, class Deriv>
  void operator()(const State& x, Deriv& dxdt, double /*t*/) const {
    auto xi = boost::begin(x);
    auto di = boost::begin(dxdt);
    const auto n = static_cast<std::size_t>(boost::size(x)) / 2;
    for (std::size_t j = 0; j < n; ++j) {
      const double v = xi[2 * j], u = xi[2 * j + 1];
      di[2 * j] = (0.04 * v + 5.0) * v + 140.0 - u + i_now[j];
      di[2 * j + 1] = a * (b * v - u);
    }
  }
};

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// AVX-512 and AVX2 without FMA (the build uses -ffp-contract=off anyway): the same IEEE operations
// in the same order as the baseline code, so every machine computes the same bits.
#define NMSIM_FP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NMSIM_FP_CLONES
#endif

// Izhikevich's published step for neurons [begin, end): two forward-Euler half-steps for v with u
// frozen (numerical stability of the fast v), then u with the new v. Branch-free, so it vectorises
// (the threshold test is a separate pass).
NMSIM_FP_CLONES void step_izhikevich2003(double* __restrict x, const double* __restrict ext,
                                         const double* __restrict w_ex, const double* __restrict w_in,
                                         std::size_t begin, std::size_t end, double a, double b, double i_e, double h) {
  const double half = 0.5 * h;
  for (std::size_t i = begin; i < end; ++i) {
    const double cur = i_e + ext[i] + w_ex[i] + w_in[i];
    double v = x[2 * i];
    const double u = x[2 * i + 1];
    v += half * ((0.04 * v + 5.0) * v + 140.0 - u + cur);
    v += half * ((0.04 * v + 5.0) * v + 140.0 - u + cur);
    x[2 * i] = v;
    x[2 * i + 1] = u + h * a * (b * v - u);
  }
}

// Whether v >= v_peak (or v is NaN) for any of 16 interleaved (v, u) pairs from x.
inline bool any_at_or_above(const double* __restrict x, double v_peak) {
  int n = 0;
  for (std::size_t j = 0; j < 16; ++j) n += !(x[2 * j] < v_peak);
  return n != 0;
}
}  // namespace

void Izhikevich::update(const UpdateContext& ctx, Range r, const InputView& in, SpikeSink& out) {
  double* const x = x_.data();
  const double* const ext = in.i_ext;
  const double* const w_ex = in.port[0];  // pulse ports: input that arrived at t_k
  const double* const w_in = in.port[1];
  const double a = p_.a, b = p_.b, i_e = p_.i_e, h = h_;
  switch (p_.integrator) {
    case IzhikevichParams::Integrator::izhikevich2003:
      step_izhikevich2003(x, ext, w_ex, w_in, r.begin, r.end, a, b, i_e, h);
      break;
    case IzhikevichParams::Integrator::euler:
    case IzhikevichParams::Integrator::rk4: {
      double* const cur = i_now_.data();
      for (std::size_t i = r.begin; i < r.end; ++i) cur[i] = i_e + ext[i] + w_ex[i] + w_in[i];
      const IzhRhs rhs{a, b, cur + r.begin};
      auto state = boost::make_iterator_range(x + 2 * r.begin, x + 2 * r.end);
      // Steppers hold only scratch vectors (resized to the range on use, no state carried from
      // step to step), so one per thread serves every population; thread_local keeps threads
      // apart and avoids allocating (and page-faulting) range-sized vectors every step.
      if (p_.integrator == IzhikevichParams::Integrator::rk4) {
        thread_local Rk4 stepper;
        stepper.do_step(rhs, state, 0.0, h);
      } else {
        thread_local Euler stepper;
        stepper.do_step(rhs, state, 0.0, h);
      }
      break;
    }
  }
  const double v_peak = p_.v_peak, c = p_.c, d = p_.d;
  const double* const adapt = in.adaptation;  // modulated factor on d, or null
  const std::uint32_t pop = index();
  // Spikes are rare: test 16 neurons at a time without a branch (vectorised), then look at the
  // neurons of a block only if one of them fired. The neuron-by-neuron loop was 8 % of a run.
  constexpr std::size_t kBlock = 16;
  for (std::size_t i0 = r.begin; i0 < r.end; i0 += kBlock) {
    const std::size_t i1 = std::min(i0 + kBlock, r.end);
    if (i1 - i0 == kBlock && !any_at_or_above(x + 2 * i0, v_peak)) continue;
    for (std::size_t i = i0; i < i1; ++i) {
      if (!(x[2 * i] < v_peak)) {  // also catches a v that blew up to inf/NaN
        x[2 * i] = c;
        x[2 * i + 1] += adapt ? d * adapt[i] : d;
        out.push(ctx.step, pop, static_cast<NeuronIndex>(i));
      }
    }
  }
}

std::unique_ptr<Population> make_izhikevich(const std::string& name, std::size_t size, const ParamTable& params,
                                            const ParamTable& init) {
  return std::make_unique<Izhikevich>(name, size, IzhikevichParams::from(params), IzhikevichInit::from(init));
}

void Izhikevich::save_state(StateWriter& w) const {
  w.write("vu", x_);  // interleaved v0, u0, v1, u1, ... (u includes the adaptation jumps)
}

void Izhikevich::restore_state(const StateReader& r) { r.read_into("vu", x_); }

}  // namespace nmsim::models
