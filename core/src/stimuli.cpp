#include "nmsim/core/stimuli.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "nmsim/core/error.hpp"
#include "nmsim/core/rng.hpp"

namespace nmsim {

namespace {
int resolve_port(const std::string& stim, Population& target, const std::string& port, bool& pulse) {
  const int p = target.port_index(port);
  if (p < 0) {
    std::vector<std::string> names;
    for (const auto& q : target.ports()) names.push_back(q.name);
    throw ConfigError({}, "stimulus." + stim + ".port",
                      fmt::format("expected an input port of model {} ({}), found \"{}\"", target.model(),
                                  fmt::join(names, ", "), port));
  }
  pulse = target.ports()[static_cast<std::size_t>(p)].kind == PortKind::pulse;
  return p;
}

Step to_step(double t, double dt) { return static_cast<Step>(std::llround(t / dt)); }
}  // namespace

NeuronSubset::NeuronSubset(std::vector<NeuronIndex> ids, std::size_t population_size) {
  if (ids.empty()) return;
  mask_.assign(population_size, 0);
  for (NeuronIndex i : ids) {
    if (i >= population_size)
      throw ConfigError({}, "neurons", fmt::format("neuron id {} is out of range (size {})", i, population_size));
    mask_[i] = 1;
  }
}

PoissonInput::PoissonInput(std::string name, Population& target, std::string port, double rate_hz, double weight,
                           double start, double stop, NeuronSubset subset)
    : Stimulus(std::move(name), target),
      port_name_(std::move(port)),
      rate_(rate_hz),
      weight_(weight),
      start_(start),
      stop_(stop),
      subset_(std::move(subset)),
      purpose_(purpose_id("stimulus/" + this->name())),
      purpose_ptrs_(purpose_id("stimulus/" + this->name() + "/ptrs")) {
  port_ = resolve_port(this->name(), target, port_name_, pulse_);
  if (!(rate_hz >= 0) || !std::isfinite(rate_hz))
    throw ConfigError({}, "stimulus." + this->name() + ".rate", fmt::format("expected a rate >= 0 Hz, found {}", rate_hz));
}

void PoissonInput::prepare(double dt, std::uint64_t seed) {
  dt_ = dt;
  seed_ = seed;
  cache_.assign(target().size(), {});
  cache_block_.assign(target().size(), -1);
  set_rate(rate_);
}

void PoissonInput::set_rate(double rate_hz) {
  // As in the constructor: a NaN or infinite lambda would make the PTRS sampler loop forever.
  if (!(rate_hz >= 0) || !std::isfinite(rate_hz))
    throw ConfigError({}, "stimulus." + name() + ".rate", fmt::format("expected a rate >= 0 Hz, found {}", rate_hz));
  rate_ = rate_hz;
  lambda_ = rate_ * dt_ * 1e-3;
  cdf_.clear();
  if (lambda_ > 0 && lambda_ < 12.0) {
    // Up to where the tail is below the resolution of a 32-bit uniform.
    double p = std::exp(-lambda_), cdf = p;
    for (int m = 0; m < 200; ++m) {
      cdf_.push_back(cdf);
      if (1.0 - cdf < 1e-12) break;
      p *= lambda_ / (m + 1);
      cdf += p;
    }
  }
}

void PoissonInput::apply(Step k, Range owned) {
  const double t = static_cast<double>(k) * dt_;
  if (t < start_ - 1e-9 * dt_ || t >= stop_ - 1e-9 * dt_ || lambda_ <= 0) return;
  double* in = target().inputs().slot(static_cast<std::size_t>(port_), pulse_ ? k : k + 1);
  if (lambda_ < 12.0) {
    const Step block = k >> 2;
    const auto word = static_cast<std::size_t>(k & 3);
    const auto blk = static_cast<std::uint64_t>(block);
    const std::array<std::uint32_t, 2> key{static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32)};
    const double* const cdf = cdf_.data();
    const std::size_t n_cdf = cdf_.size();
    for (std::size_t i = owned.begin; i < owned.end; ++i) {
      if (!subset_.contains(i)) continue;
      if (cache_block_[i] != block) {
        cache_[i] = philox4x32({static_cast<std::uint32_t>(blk), static_cast<std::uint32_t>(blk >> 32),
                                static_cast<std::uint32_t>(i), purpose_},
                               key);
        cache_block_[i] = block;
      }
      const double u = (static_cast<double>(cache_[i][word]) + 0.5) * 0x1.0p-32;
      std::size_t n = 0;
      while (n < n_cdf && u >= cdf[n]) ++n;
      if (n) in[i] += static_cast<double>(n) * weight_;
    }
    return;
  }
  const auto counter = static_cast<std::uint64_t>(k) << 32;
  for (std::size_t i = owned.begin; i < owned.end; ++i) {
    if (!subset_.contains(i)) continue;
    RandomStream rng(seed_, purpose_ptrs_, static_cast<std::uint32_t>(i), counter);
    const std::uint64_t n = rng.poisson(lambda_);
    if (n) in[i] += static_cast<double>(n) * weight_;
  }
}

void PoissonInput::save_state(StateWriter& w) const {
  w.scalar("rate", rate_);
  w.scalar("weight", weight_);
}

void PoissonInput::restore_state(const StateReader& r) {
  set_rate(r.scalar<double>("rate"));
  weight_ = r.scalar<double>("weight");
}

CurrentInput::CurrentInput(std::string name, Population& target, std::vector<double> times,
                           std::vector<double> amplitudes, double stop, NeuronSubset subset)
    : Stimulus(std::move(name), target),
      times_(std::move(times)),
      amplitudes_(std::move(amplitudes)),
      stop_(stop),
      subset_(std::move(subset)) {
  const std::string key = "stimulus." + this->name();
  if (times_.size() != amplitudes_.size())
    throw ConfigError({}, key + ".amplitudes",
                      fmt::format("expected one amplitude per time ({}), found {}", times_.size(), amplitudes_.size()));
  for (std::size_t i = 1; i < times_.size(); ++i)
    if (!(times_[i] > times_[i - 1]))
      throw ConfigError({}, key + ".times", fmt::format("expected increasing times, found {} after {}", times_[i], times_[i - 1]));
}

void CurrentInput::prepare(double dt, std::uint64_t) {
  dt_ = dt;
  step_of_.clear();
  for (double t : times_) step_of_.push_back(to_step(t, dt));
  stop_step_ = stop_ >= 1e299 ? std::numeric_limits<Step>::max() : to_step(stop_, dt);
}

double CurrentInput::amplitude_at(double t) const {
  double a = 0.0;
  for (std::size_t i = 0; i < times_.size(); ++i)
    if (t >= times_[i] - 1e-9 * dt_) a = amplitudes_[i];
  return t >= stop_ - 1e-9 * dt_ ? 0.0 : a;
}

void CurrentInput::set_amplitude(double pA) {
  times_ = {0.0};
  amplitudes_ = {pA};
  stop_ = 1e300;
  prepare(dt_, 0);
}

void CurrentInput::save_state(StateWriter& w) const {
  w.write("times", times_);
  w.write("amplitudes", amplitudes_);
  w.scalar("stop", stop_);
}

void CurrentInput::restore_state(const StateReader& r) {
  times_ = r.read<double>("times");
  amplitudes_ = r.read<double>("amplitudes");
  if (times_.size() != amplitudes_.size()) r.fail("amplitudes", "expected one amplitude per time");
  stop_ = r.scalar<double>("stop");
  prepare(dt_, 0);
}

void CurrentInput::apply(Step k, Range owned) {
  if (k >= stop_step_) return;
  // Last change at or before step k.
  auto it = std::upper_bound(step_of_.begin(), step_of_.end(), k);
  if (it == step_of_.begin()) return;
  const double a = amplitudes_[static_cast<std::size_t>(it - step_of_.begin() - 1)];
  if (a == 0.0) return;
  double* i_ext = target().inputs().i_ext();
  for (std::size_t i = owned.begin; i < owned.end; ++i)
    if (subset_.contains(i)) i_ext[i] += a;
}

NoiseCurrent::NoiseCurrent(std::string name, Population& target, Distribution amplitude, double start, double stop,
                           NeuronSubset subset)
    : Stimulus(std::move(name), target),
      amplitude_(amplitude),
      start_(start),
      stop_(stop),
      subset_(std::move(subset)),
      purpose_(purpose_id("stimulus/" + this->name())),
      purpose_general_(purpose_id("stimulus/" + this->name() + "/general")) {}

void NoiseCurrent::prepare(double dt, std::uint64_t seed) {
  dt_ = dt;
  seed_ = seed;
  words_.assign(4 * target().size(), 0);
  draws_.assign(4 * target().size(), 0.0);
  cache_block_.assign(target().size(), -1);
}

void NoiseCurrent::apply(Step k, Range owned) {
  const double t = static_cast<double>(k) * dt_;
  if (t < start_ - 1e-9 * dt_ || t >= stop_ - 1e-9 * dt_) return;
  double* i_ext = target().inputs().i_ext();
  const Distribution& d = amplitude_;
  if (d.is_constant()) {
    for (std::size_t i = owned.begin; i < owned.end; ++i)
      if (subset_.contains(i)) i_ext[i] += d.a;
    return;
  }
  const bool unbounded = std::isinf(d.lo) && std::isinf(d.hi);
  if (!unbounded) {
    const auto counter = static_cast<std::uint64_t>(k) << 32;
    for (std::size_t i = owned.begin; i < owned.end; ++i) {
      if (!subset_.contains(i)) continue;
      RandomStream rng(seed_, purpose_general_, static_cast<std::uint32_t>(i), counter);
      i_ext[i] += d.sample(rng);
    }
    return;
  }
  // Fast path: 32-bit uniforms from a cached block, 4 steps (uniform) or 2 steps (normal) each.
  // A thread always applies its whole owned range, so the range shares one block index: at a
  // block boundary the blocks of the whole range are made at once (vectorised Philox) and turned
  // into the draws of the next 4 (2) steps; each step then only adds one precomputed array.
  if (owned.size() == 0) return;
  const bool normal = d.kind == Distribution::Kind::normal;
  const int per_block = normal ? 2 : 4;
  const Step block = k / per_block;
  const auto slot = static_cast<std::size_t>(k % per_block);
  const std::size_t n = target().size();
  if (cache_block_[owned.begin] != block) refill(block, owned, normal);
  const double* const add = draws_.data() + slot * n;
  if (subset_.all()) {
    for (std::size_t i = owned.begin; i < owned.end; ++i) i_ext[i] += add[i];
  } else {
    for (std::size_t i = owned.begin; i < owned.end; ++i)
      if (subset_.contains(i)) i_ext[i] += add[i];
  }
}

namespace {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NMSIM_FP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NMSIM_FP_CLONES
#endif
// out[i] = lo + span (w[i] + 0.5) 2^-32 for i < n. The same IEEE operations in the same order in
// every clone (no FMA: -ffp-contract=off), so the same bits; AVX-512 converts 8 unsigned words per
// instruction where SSE2 needs several instructions for 2.
NMSIM_FP_CLONES void uniform_from_words(const std::uint32_t* __restrict w, double* __restrict out, std::size_t n,
                                        double lo, double span) {
  for (std::size_t i = 0; i < n; ++i) out[i] = lo + span * ((static_cast<double>(w[i]) + 0.5) * 0x1.0p-32);
}
}  // namespace

void NoiseCurrent::refill(Step block, Range owned, bool normal) {
  const Distribution& d = amplitude_;
  const std::size_t n = target().size();
  const auto blk = static_cast<std::uint64_t>(block);
  const std::array<std::uint32_t, 2> key{static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32)};
  std::uint32_t* const w[4] = {words_.data() + owned.begin, words_.data() + n + owned.begin,
                               words_.data() + 2 * n + owned.begin, words_.data() + 3 * n + owned.begin};
  // Block of neuron i: counter (block, i), purpose "stimulus/<name>" (as one philox4x32 call each).
  philox4x32_ids(static_cast<std::uint32_t>(blk), static_cast<std::uint32_t>(blk >> 32),
                 static_cast<std::uint32_t>(owned.begin), purpose_, key, owned.size(), w);
  if (normal) {
    for (std::size_t s = 0; s < 2; ++s) {
      const std::uint32_t* const w1 = words_.data() + 2 * s * n;
      const std::uint32_t* const w2 = words_.data() + (2 * s + 1) * n;
      double* const out = draws_.data() + s * n;
      for (std::size_t i = owned.begin; i < owned.end; ++i) {
        const double u1 = (static_cast<double>(w1[i]) + 0.5) * 0x1.0p-32;
        const double u2 = static_cast<double>(w2[i]) * 0x1.0p-32;
        out[i] = d.a + d.b * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
      }
    }
  } else {
    for (std::size_t s = 0; s < 4; ++s)
      uniform_from_words(words_.data() + s * n + owned.begin, draws_.data() + s * n + owned.begin, owned.size(), d.a,
                         d.b - d.a);
  }
  for (std::size_t i = owned.begin; i < owned.end; ++i) cache_block_[i] = block;
}

SpikeTimesInput::SpikeTimesInput(std::string name, Population& target, std::string port, std::vector<double> times,
                                 std::vector<NeuronIndex> neurons, double weight)
    : Stimulus(std::move(name), target),
      port_name_(std::move(port)),
      times_(std::move(times)),
      neurons_(std::move(neurons)),
      weight_(weight) {
  const std::string key = "stimulus." + this->name();
  port_ = resolve_port(this->name(), target, port_name_, pulse_);
  broadcast_ = neurons_.empty();
  if (!broadcast_ && neurons_.size() != times_.size())
    throw ConfigError({}, key + ".neurons",
                      fmt::format("expected one neuron id per time ({}), found {}", times_.size(), neurons_.size()));
  for (NeuronIndex i : neurons_)
    if (i >= target.size())
      throw ConfigError({}, key + ".neurons", fmt::format("neuron id {} is out of range (size {})", i, target.size()));
}

void SpikeTimesInput::prepare(double dt, std::uint64_t) {
  const std::string key = "stimulus." + name();
  events_.clear();
  for (std::size_t e = 0; e < times_.size(); ++e) {
    const double steps = times_[e] / dt;
    if (!(steps >= 0) || std::fabs(steps - std::round(steps)) > 1e-6 * std::max(1.0, steps))
      throw ConfigError({}, key + ".times", fmt::format("expected times >= 0 on the dt = {} ms grid, found {} ms", dt, times_[e]));
    const Step a = std::llround(steps);
    // A jump port's input for step k arrives at t_{k+1}, so the earliest arrival is t = dt: an
    // event at t = 0 would be dropped silently. (A pulse port reads arrival k in step k: t = 0 is fine.)
    if (!pulse_ && a < 1)
      throw ConfigError({}, key + ".times",
                        fmt::format("expected times >= dt = {} ms on port \"{}\" (input arrives at the end of a "
                                    "step, so the first arrival is at t = dt), found {} ms",
                                    dt, port_name_, times_[e]));
    if (broadcast_)
      for (std::size_t i = 0; i < target().size(); ++i) events_.push_back({a, static_cast<NeuronIndex>(i)});
    else
      events_.push_back({a, neurons_[e]});
  }
  std::stable_sort(events_.begin(), events_.end(), [](const Event& x, const Event& y) {
    return x.arrival != y.arrival ? x.arrival < y.arrival : x.neuron < y.neuron;
  });
}

void SpikeTimesInput::apply(Step k, Range owned) {
  const Step arrival = pulse_ ? k : k + 1;
  auto lo = std::lower_bound(events_.begin(), events_.end(), arrival,
                             [](const Event& e, Step a) { return e.arrival < a; });
  if (lo == events_.end() || lo->arrival != arrival) return;
  double* in = target().inputs().slot(static_cast<std::size_t>(port_), arrival);
  for (auto it = lo; it != events_.end() && it->arrival == arrival; ++it)
    if (owned.contains(it->neuron)) in[it->neuron] += weight_;
}

}  // namespace nmsim
