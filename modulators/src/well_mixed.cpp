#include "nmsim/modulators/well_mixed.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "nmsim/core/rng.hpp"
#include "nmsim/core/simulation.hpp"

namespace nmsim::modulators {

WellMixed::WellMixed(std::string name, WellMixedParams params) : Modulator(std::move(name)), p_(std::move(params)) {
  const std::string key = "modulator." + this->name();
  if (!(p_.tau > 0)) throw ConfigError({}, key + ".tau", fmt::format("expected a time constant > 0 ms, found {}", p_.tau));
  if (p_.uptake == WellMixedParams::Uptake::michaelis_menten) {
    if (!(p_.vmax > 0)) throw ConfigError({}, key + ".uptake.vmax", fmt::format("expected a rate > 0 uM/ms, found {}", p_.vmax));
    kin_ = Kinetics({std::numeric_limits<double>::infinity(), p_.vmax, p_.km, 0.0}, key + ".uptake");
  }
  if (!(p_.baseline >= 0))
    throw ConfigError({}, key + ".baseline", fmt::format("expected a concentration >= 0 uM, found {}", p_.baseline));
  for (std::size_t i = 0; i < p_.release.size(); ++i) {
    const auto& r = p_.release[i];
    const std::string rk = fmt::format("{}.release[{}]", key, i);
    if (!(r.quantum >= 0)) throw ConfigError({}, rk + ".quantum", fmt::format("expected >= 0 uM, found {}", r.quantum));
    if (!(r.probability >= 0 && r.probability <= 1))
      throw ConfigError({}, rk + ".probability", fmt::format("expected a probability in [0, 1], found {}", r.probability));
  }
}

DelaySteps WellMixed::release_delay() const {
  // Known only after prepare (needs dt); before that the sources' delays in steps.
  DelaySteps d = 65535;
  for (const auto& s : sources_) d = std::min<DelaySteps>(d, static_cast<DelaySteps>(s.delay));
  return d;
}

void WellMixed::prepare(const Simulation& sim) {
  dt_ = sim.dt();
  seed_ = sim.seed();
  decay_ = std::exp(-dt_ / p_.tau);
  if (p_.uptake == WellMixedParams::Uptake::michaelis_menten) {
    KineticsParams kp = kin_.params();
    kp.production = Kinetics::production_for(kp, p_.baseline);
    kin_ = Kinetics(kp, "modulator." + name() + ".uptake");
    kin_.set_step(dt_);
  }
  c_ = p_.initial >= 0 ? p_.initial : p_.baseline;
  next_ = sim.now();
  sources_.clear();
  for (std::size_t i = 0; i < p_.release.size(); ++i) {
    const auto& r = p_.release[i];
    const std::string rk = fmt::format("modulator.{}.release[{}]", name(), i);
    if (!sim.has_population(r.population))
      throw ConfigError({}, rk + ".source", fmt::format("expected the name of a population, found \"{}\"", r.population));
    const double steps = r.delay / dt_;
    if (steps < 1 - 1e-9 || std::fabs(steps - std::round(steps)) > 1e-6 * std::max(1.0, steps))
      throw ConfigError({}, rk + ".delay", fmt::format("expected a multiple of dt = {} ms, >= dt, found {} ms", dt_, r.delay));
    sources_.push_back({sim.population(r.population).index(), static_cast<Step>(std::llround(steps)), r.quantum,
                        r.probability, purpose_id("release/" + name() + "/" + r.population)});
  }
}

void WellMixed::advance(Step from, Step to) {
  set_window(from, to);
  for (Step k = from; k < to; ++k) {
    auto it = pending_.find(k);
    if (it != pending_.end()) {
      c_ += it->second;  // releases land at t_k: the piece of step k starts after the jump
      pending_.erase(it);
    }
    if (p_.uptake == WellMixedParams::Uptake::linear) {
      mutable_piece(k) = {p_.baseline, c_ - p_.baseline, 1.0 / p_.tau};
      c_ = p_.baseline + (c_ - p_.baseline) * decay_;
    } else {
      const double c1 = kin_.step(c_);
      const double a0 = c_ - p_.baseline, a1 = c1 - p_.baseline;
      // Exponential towards the baseline through both ends when it exists (same sign, decaying).
      if (a0 != 0.0 && a1 != 0.0 && (a0 > 0) == (a1 > 0) && std::fabs(a1) < std::fabs(a0))
        mutable_piece(k) = {p_.baseline, a0, std::log(a0 / a1) / dt_};
      else
        mutable_piece(k) = {c_, 0.0, 0.0};
      c_ = c1;
    }
  }
  next_ = to;
}

void WellMixed::on_spikes(std::span<const Spike> spikes) {
  for (const Spike& s : spikes)
    for (const Source& src : sources_) {
      if (s.population != src.population) continue;
      if (src.probability < 1.0) {
        RandomStream rng(seed_, src.purpose, s.neuron, static_cast<std::uint64_t>(s.step));
        if (rng.uniform() >= src.probability) continue;
      }
      pending_[s.step + 1 + src.delay] += src.quantum;
    }
}

void WellMixed::release_at(Step step, double amount) {
  if (step < next_)
    throw RuntimeError(fmt::format("modulator {}: release at t = {} ms is in the past (the modulator is at {} ms)",
                                   name(), static_cast<double>(step) * dt_, static_cast<double>(next_) * dt_));
  pending_[step] += amount;
}

void WellMixed::save_state(StateWriter& w) const {
  w.scalar("c", c_);
  w.scalar("next", next_);
  std::vector<Step> at;
  std::vector<double> amount;
  for (const auto& [k, a] : pending_) at.push_back(k), amount.push_back(a);
  w.write("pending_step", at);
  w.write("pending_amount", amount);
}

void WellMixed::restore_state(const StateReader& r) {
  c_ = r.scalar<double>("c");
  next_ = r.scalar<Step>("next");
  const auto at = r.read<Step>("pending_step");
  std::vector<double> amount(at.size());
  r.read_into("pending_amount", amount);
  pending_.clear();
  for (std::size_t i = 0; i < at.size(); ++i) pending_[at[i]] = amount[i];
}

void WellMixed::release_at_time(double t, double amount) { release_at(static_cast<Step>(std::llround(t / dt_)), amount); }

}  // namespace nmsim::modulators
