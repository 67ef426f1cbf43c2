#include "nmsim/core/task.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "nmsim/core/error.hpp"
#include "nmsim/core/rng.hpp"
#include "nmsim/core/simulation.hpp"

namespace nmsim {

namespace {

Step steps_of(double t, double dt, const std::string& key, bool positive = false) {
  const double s = t / dt;
  if (!(s >= 0) || !std::isfinite(s) || std::fabs(s - std::round(s)) > 1e-6 * std::max(1.0, s) ||
      (positive && std::llround(s) == 0))
    throw ConfigError({}, key,
                      fmt::format("expected a time {} 0 ms on the dt = {} ms grid, found {} ms", positive ? ">" : ">=",
                                  dt, t));
  return static_cast<Step>(std::llround(s));
}

int argmax(const std::vector<double>& v) {
  int best = -1;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (best < 0 || v[i] > v[static_cast<std::size_t>(best)]) best = static_cast<int>(i);
  return best;
}

Population& input_population(Simulation& sim, const TaskSpec& spec) {
  if (!sim.has_population(spec.input))
    throw ConfigError({}, "task." + spec.name + ".input",
                      fmt::format("expected the name of a population, found \"{}\"", spec.input));
  return sim.population(spec.input);
}

}  // namespace

Task::Task(Simulation& sim, TaskSpec spec)
    : Stimulus(spec.name, input_population(sim, spec)),
      sim_(&sim),
      spec_(std::move(spec)) {
  const std::string key = "task." + spec_.name;
  // The task registers itself as an observer below: refuse here whatever sim.add() would refuse,
  // so a failed add never leaves a dangling observer behind.
  if (sim.prepared()) throw ConfigError({}, key, "cannot add a task after the first run");
  for (const auto& st : sim.stimuli())
    if (st->name() == spec_.name)
      throw ConfigError({}, key + ".name", fmt::format("a stimulus named \"{}\" exists already", spec_.name));
  const double dt = sim.dt();
  const std::size_t n_in = target().size();
  const int p = target().port_index(spec_.port);
  if (p < 0) throw ConfigError({}, key + ".port", fmt::format("expected an input port of model {}, found \"{}\"", target().model(), spec_.port));
  port_ = p;
  pulse_ = target().ports()[static_cast<std::size_t>(p)].kind == PortKind::pulse;
  if (spec_.cues.empty()) throw ConfigError({}, key + ".cues", "expected at least one cue");
  if (spec_.responses.size() < 2)
    throw ConfigError({}, key + ".responses", fmt::format("expected at least two responses, found {}", spec_.responses.size()));
  const std::size_t n_resp = spec_.responses.size();
  for (std::size_t c = 0; c < spec_.cues.size(); ++c) {
    const TaskCue& cue = spec_.cues[c];
    const std::string ck = fmt::format("{}.cues.{}", key, cue.name);
    if (!(cue.rate >= 0) || !std::isfinite(cue.rate)) throw ConfigError({}, ck + ".rate", fmt::format("expected a rate >= 0 Hz, found {}", cue.rate));
    if (cue.reward.size() != n_resp)
      throw ConfigError({}, ck + ".reward", fmt::format("expected one reward per response ({}), found {}", n_resp, cue.reward.size()));
    for (NeuronIndex i : cue.neurons)
      if (i >= n_in) throw ConfigError({}, ck + ".neurons", fmt::format("expected neuron ids in [0, {}), found {}", n_in, i));
    for (std::size_t d = 0; d < c; ++d)
      if (spec_.cues[d].name == cue.name) throw ConfigError({}, ck, fmt::format("cue name \"{}\" is used twice", cue.name));
  }
  if (!(spec_.background >= 0) || !std::isfinite(spec_.background))
    throw ConfigError({}, key + ".background", fmt::format("expected a rate >= 0 Hz, found {}", spec_.background));
  start_steps_ = steps_of(spec_.start, dt, key + ".start");
  cue_steps_ = steps_of(spec_.cue, dt, key + ".cue");
  response_steps_ = steps_of(spec_.response, dt, key + ".response", true);
  outcome_steps_ = steps_of(spec_.outcome, dt, key + ".outcome");
  trial_steps_ = cue_steps_ + response_steps_ + outcome_steps_ + steps_of(spec_.iti, dt, key + ".iti");
  if (spec_.trials < 1) throw ConfigError({}, key + ".trials", fmt::format("expected a whole number >= 1, found {}", spec_.trials));

  // Decision.
  if (!sim.has_population(spec_.readout))
    throw ConfigError({}, key + ".decision.population", fmt::format("expected the name of a population, found \"{}\"", spec_.readout));
  const Population& ro = sim.population(spec_.readout);
  readout_pop_ = static_cast<std::uint32_t>(ro.index());
  const std::size_t n_pools = spec_.rule == TaskSpec::Rule::threshold ? 1 : n_resp;
  if (spec_.pools.empty() && spec_.rule == TaskSpec::Rule::threshold) spec_.pools.push_back({});
  if (spec_.pools.size() != n_pools)
    throw ConfigError({}, key + ".decision.pools",
                      fmt::format("expected {} pool{} ({}), found {}", n_pools, n_pools == 1 ? "" : "s",
                                  spec_.rule == TaskSpec::Rule::threshold ? "threshold: one pool, empty = all"
                                                                          : "wta: one per response",
                                  spec_.pools.size()));
  pool_of_.assign(ro.size(), -1);
  for (std::size_t q = 0; q < n_pools; ++q) {
    if (spec_.pools[q].empty()) {
      if (spec_.rule == TaskSpec::Rule::wta) throw ConfigError({}, key + ".decision.pools", "expected non-empty pools for wta");
      for (std::size_t i = 0; i < ro.size(); ++i) pool_of_[i] = 0;
    }
    for (NeuronIndex i : spec_.pools[q]) {
      if (i >= ro.size())
        throw ConfigError({}, key + ".decision.pools", fmt::format("expected neuron ids in [0, {}), found {}", ro.size(), i));
      if (pool_of_[i] >= 0 && pool_of_[i] != static_cast<std::int32_t>(q))
        throw ConfigError({}, key + ".decision.pools", fmt::format("neuron {} is in two pools", i));
      pool_of_[i] = static_cast<std::int32_t>(q);
    }
  }
  if (!(spec_.threshold >= 0)) throw ConfigError({}, key + ".decision.threshold", fmt::format("expected a spike count >= 0, found {}", spec_.threshold));
  if (spec_.default_response < -1 || spec_.default_response >= static_cast<int>(n_resp))
    throw ConfigError({}, key + ".decision.default", fmt::format("expected -1 or a response index below {}, found {}", n_resp, spec_.default_response));
  if (!(spec_.alpha >= 0 && spec_.alpha <= 1)) throw ConfigError({}, key + ".alpha", fmt::format("expected a learning rate in [0, 1], found {}", spec_.alpha));

  // Reversal.
  if (spec_.reversal_after < 0) throw ConfigError({}, key + ".reversal.after", fmt::format("expected a trial count >= 0, found {}", spec_.reversal_after));
  if (spec_.reversal_after > 0 && spec_.reversal_swap.empty()) {
    if (spec_.cues.size() != 2) throw ConfigError({}, key + ".reversal.swap", "expected the pairs of cues to swap (needed with more than two cues)");
    spec_.reversal_swap.push_back({0, 1});
  }
  for (const auto& [a, b] : spec_.reversal_swap)
    if (a < 0 || b < 0 || a >= static_cast<int>(spec_.cues.size()) || b >= static_cast<int>(spec_.cues.size()) || a == b)
      throw ConfigError({}, key + ".reversal.swap", "expected pairs of two different cue names");

  // Modulators: all of the simulation get peak columns; releases name one.
  for (const auto& m : sim.modulators()) {
    mod_names_.push_back(m->name());
    peak_probe_.push_back(-1);
  }
  for (std::size_t j = 0; j < spec_.releases.size(); ++j) {
    const TaskRelease& r = spec_.releases[j];
    const std::string rk = fmt::format("{}.releases[{}]", key, j);
    const auto it = std::find(mod_names_.begin(), mod_names_.end(), r.modulator);
    if (it == mod_names_.end()) throw ConfigError({}, rk + ".modulator", fmt::format("expected the name of a modulator, found \"{}\"", r.modulator));
    const int m = static_cast<int>(it - mod_names_.begin());
    release_mod_.push_back(m);
    Modulator& mod = sim.modulator(r.modulator);
    if (r.position && !mod.spatial())
      throw ConfigError({}, rk + ".position", fmt::format("modulator {} is well mixed: a release position needs a grid field", r.modulator));
    if (!(r.min <= r.max)) throw ConfigError({}, rk + ".min", fmt::format("expected min <= max, found {} > {}", r.min, r.max));
    if (!(r.threshold >= 0)) throw ConfigError({}, rk + ".threshold", fmt::format("expected a value >= 0, found {}", r.threshold));
    delay_steps_.push_back(steps_of(r.delay, dt, rk + ".delay"));
    // A spatial field's peak is read where the task releases into it (first such release).
    if (r.position && peak_probe_[static_cast<std::size_t>(m)] < 0)
      peak_probe_[static_cast<std::size_t>(m)] = static_cast<int>(mod.add_probe(*r.position));
  }
  sim.add_observer(*this);
}

void Task::prepare(double dt, std::uint64_t seed) {
  dt_ = dt;
  seed_ = seed;
  const std::size_t n_cues = spec_.cues.size();
  lambda_bg_ = spec_.background * dt * 1e-3;
  lambda_.clear();
  member_.assign(n_cues, std::vector<std::uint8_t>(target().size(), 0));
  for (std::size_t c = 0; c < n_cues; ++c) {
    lambda_.push_back(lambda_bg_ + spec_.cues[c].rate * dt * 1e-3);
    for (NeuronIndex i : spec_.cues[c].neurons) member_[c][i] = 1;
  }
  // The cue order depends on the seed and the task's name only.
  const std::uint32_t purpose = purpose_id("task/" + spec_.name + "/order");
  order_.assign(static_cast<std::size_t>(spec_.trials), 0);
  if (spec_.order == TaskSpec::Order::random) {
    for (std::int64_t i = 0; i < spec_.trials; ++i) {
      RandomStream rng(seed, purpose, static_cast<std::uint32_t>(i));
      order_[static_cast<std::size_t>(i)] = static_cast<int>(rng.below(static_cast<std::uint32_t>(n_cues)));
    }
  } else {
    const auto n = static_cast<std::int64_t>(n_cues);
    for (std::int64_t b = 0; b * n < spec_.trials; ++b) {
      RandomStream rng(seed, purpose, static_cast<std::uint32_t>(b));
      std::vector<int> perm(n_cues);
      for (std::size_t c = 0; c < n_cues; ++c) perm[c] = static_cast<int>(c);
      for (std::size_t c = n_cues; c > 1; --c) std::swap(perm[c - 1], perm[rng.below(static_cast<std::uint32_t>(c))]);
      for (std::int64_t c = 0; c < n && b * n + c < spec_.trials; ++c)
        order_[static_cast<std::size_t>(b * n + c)] = perm[static_cast<std::size_t>(c)];
    }
  }
  value_.assign(spec_.value == TaskSpec::Value::cue ? n_cues : n_cues * (spec_.responses.size() + 1), spec_.initial_value);
  reward_.clear();
  for (const auto& c : spec_.cues) reward_.push_back(c.reward);
  next_decision_ = 0;
  counts_.clear();
  peak_acc_.clear();
  pending_.clear();
  done_.clear();
}

void Task::prepare(const Simulation& sim) {
  // A decision is made at the end of the window that holds the response window's last step; the
  // earliest release it schedules must not lie before the next window.
  const Step need = static_cast<Step>(sim.min_delay()) - 1;
  for (std::size_t j = 0; j < spec_.releases.size(); ++j)
    if (delay_steps_[j] < need)
      throw ConfigError({}, fmt::format("task.{}.releases[{}].delay", spec_.name, j),
                        fmt::format("expected a delay >= {} ms (one delivery window of {} steps minus one step: the "
                                    "decision is known only at the end of the window), found {} ms",
                                    static_cast<double>(need) * dt_, sim.min_delay(), spec_.releases[j].delay));
  if (sim.now() > start_steps_)
    throw ConfigError({}, "task." + spec_.name + ".start",
                      fmt::format("expected a start at or after the current time {} ms", sim.time()));
}

int Task::cue_of(std::int64_t trial) const { return order_.at(static_cast<std::size_t>(trial)); }

int Task::active_cue(Step k) const {
  if (k < start_steps_) return -1;
  const Step i = (k - start_steps_) / trial_steps_;
  if (i >= spec_.trials) return -1;
  const Step off = (k - start_steps_) - i * trial_steps_;
  if (off < cue_steps_ || (spec_.cue_in_response && off < cue_steps_ + response_steps_))
    return order_[static_cast<std::size_t>(i)];
  return -1;
}

void Task::apply(Step k, Range owned) {
  const int c = active_cue(k);
  if (c < 0 && lambda_bg_ <= 0) return;
  double* in = target().inputs().slot(static_cast<std::size_t>(port_), pulse_ ? k : k + 1);
  const std::uint32_t purpose = purpose_id("task/" + spec_.name + "/input");
  const auto counter = static_cast<std::uint64_t>(k) << 32;
  for (std::size_t i = owned.begin; i < owned.end; ++i) {
    const double lambda = c >= 0 && member_[static_cast<std::size_t>(c)][i] ? lambda_[static_cast<std::size_t>(c)] : lambda_bg_;
    if (lambda <= 0) continue;
    RandomStream rng(seed_, purpose, static_cast<std::uint32_t>(i), counter);
    const std::uint64_t n = rng.poisson(lambda);
    if (n) in[i] += static_cast<double>(n) * spec_.weight;
  }
}

void Task::begin_window(Step from, Step /*to*/) { window_from_ = from; }

void Task::on_spikes(const std::vector<Spike>& spikes) {
  const std::size_t n_pools = spec_.pools.size();
  for (const Spike& s : spikes) {
    if (s.population != readout_pop_ || s.step < start_steps_) continue;
    const std::int32_t q = pool_of_[s.neuron];
    if (q < 0) continue;
    const Step i = (s.step - start_steps_) / trial_steps_;
    if (i >= spec_.trials) continue;
    const Step off = (s.step - start_steps_) - i * trial_steps_;
    if (off < cue_steps_ || off >= cue_steps_ + response_steps_) continue;
    auto& c = counts_[i];
    if (c.empty()) c.assign(n_pools, 0.0);
    c[static_cast<std::size_t>(q)] += 1.0;
  }
}

void Task::end_window(Step to) {
  // Peaks: the levels of the steps just simulated, per trial.
  const std::size_t n_mod = mod_names_.size();
  for (Step k = std::max(window_from_, start_steps_); k < to && n_mod > 0; ++k) {
    const Step i = (k - start_steps_) / trial_steps_;
    if (i >= spec_.trials) break;
    auto& acc = peak_acc_[i];
    if (acc.empty()) acc.assign(n_mod, -std::numeric_limits<double>::infinity());
    for (std::size_t m = 0; m < n_mod; ++m) {
      const Modulator& mod = *sim_->modulators()[m];
      const LevelPiece& p = peak_probe_[m] >= 0 ? mod.probe_piece(k, static_cast<std::size_t>(peak_probe_[m])) : mod.piece(k);
      acc[m] = std::max({acc[m], p.at(0.0), p.at(dt_)});
    }
  }
  while (next_decision_ < spec_.trials && response_end(next_decision_) <= to) decide(next_decision_++, to);
  // Trials whose last step is done are complete.
  while (!pending_.empty() && trial_start(pending_.front().index + 1) <= to) {
    TrialRecord r = std::move(pending_.front());
    pending_.erase(pending_.begin());
    auto it = peak_acc_.find(r.index);
    if (it != peak_acc_.end()) {
      r.peak = it->second;
      peak_acc_.erase(it);
    } else {
      r.peak.assign(n_mod, NAN);
    }
    done_.push_back(std::move(r));
  }
}

std::size_t Task::value_index(int cue, int decision) const {
  if (spec_.value == TaskSpec::Value::cue) return static_cast<std::size_t>(cue);
  const std::size_t n = spec_.responses.size() + 1;
  return static_cast<std::size_t>(cue) * n + (decision < 0 ? n - 1 : static_cast<std::size_t>(decision));
}

void Task::decide(std::int64_t i, Step now) {
  TrialRecord r;
  r.index = i;
  r.start = static_cast<double>(trial_start(i)) * dt_;
  r.cue = order_[static_cast<std::size_t>(i)];
  const auto cu = static_cast<std::size_t>(r.cue);
  auto it = counts_.find(i);
  r.counts = it != counts_.end() ? it->second : std::vector<double>(spec_.pools.size(), 0.0);
  if (it != counts_.end()) counts_.erase(it);
  if (spec_.rule == TaskSpec::Rule::threshold) {
    r.decision = r.counts[0] >= spec_.threshold ? 0 : 1;
  } else {
    const int w = argmax(r.counts);
    int ties = 0;
    for (double c : r.counts) ties += c == r.counts[static_cast<std::size_t>(w)];
    r.decision = ties == 1 && r.counts[static_cast<std::size_t>(w)] >= spec_.threshold ? w : spec_.default_response;
  }
  // The reversal takes effect from trial `reversal_after` on.
  if (spec_.reversal_after > 0 && i == spec_.reversal_after)
    for (const auto& [a, b] : spec_.reversal_swap) std::swap(reward_[static_cast<std::size_t>(a)], reward_[static_cast<std::size_t>(b)]);
  r.reversed = spec_.reversal_after > 0 && i >= spec_.reversal_after;
  const std::vector<double>& table = reward_[cu];
  r.correct_response = argmax(table);
  r.reward = r.decision >= 0 ? table[static_cast<std::size_t>(r.decision)] : 0.0;
  r.correct = r.decision >= 0 && table[static_cast<std::size_t>(r.decision)] == table[static_cast<std::size_t>(r.correct_response)];
  const std::size_t vi = value_index(r.cue, r.decision);
  r.value = value_[vi];
  r.rpe = r.reward - r.value;
  value_[vi] += spec_.alpha * r.rpe;
  r.released.assign(mod_names_.size(), 0.0);
  for (std::size_t j = 0; j < spec_.releases.size(); ++j) {
    const TaskRelease& rel = spec_.releases[j];
    double x = 0.0;
    switch (rel.signal) {
      case TaskRelease::Signal::rpe: x = r.rpe; break;
      case TaskRelease::Signal::abs_rpe: x = std::fabs(r.rpe); break;
      case TaskRelease::Signal::reward: x = r.reward; break;
      case TaskRelease::Signal::one: x = 1.0; break;
    }
    if (std::fabs(x) < rel.threshold) continue;
    const double amount = std::clamp(rel.offset + rel.gain * x, rel.min, rel.max);
    if (amount == 0.0) continue;
    const Step at = response_end(i) + delay_steps_[j];
    if (at < now)
      throw RuntimeError(fmt::format("task {}: release {} of trial {} at step {} falls before the next window ({})",
                                     spec_.name, j, i, at, now));
    Modulator& mod = sim_->modulator(rel.modulator);
    if (rel.position)
      mod.release_at_point(at, *rel.position, amount);
    else
      mod.release_at(at, amount);
    r.released[static_cast<std::size_t>(release_mod_[j])] += amount;
  }
  pending_.push_back(std::move(r));
}

}  // namespace nmsim
