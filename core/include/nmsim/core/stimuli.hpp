#pragma once
// The built-in stimuli: Poisson spike input, currents, and inputs at given times.
// All apply to a whole population or a chosen subset of its neurons.
#include <array>
#include <vector>

#include "nmsim/core/params.hpp"
#include "nmsim/core/stimulus.hpp"

namespace nmsim {

/// Neurons a stimulus acts on: all (empty list) or the listed population-local ids.
class NeuronSubset {
 public:
  NeuronSubset() = default;
  NeuronSubset(std::vector<NeuronIndex> ids, std::size_t population_size);
  bool all() const { return mask_.empty(); }
  bool contains(std::size_t i) const { return mask_.empty() || mask_[i] != 0; }

 private:
  std::vector<std::uint8_t> mask_;
};

/// Independent Poisson spike trains, one per target neuron, each of rate `rate` (Hz), each spike
/// adding `weight` to input port `port` at the end of the step it falls in (NEST's
/// poisson_generator with delay dt). Active for start <= t < stop (ms).
/// Random numbers: below lambda = rate dt = 12 the count of neuron i at step k is found by
/// inversion from one 32-bit word: word k mod 4 of the Philox block (counter k / 4, id i,
/// purpose "stimulus/<name>"), cached per neuron, so one block serves four steps; above 12 by
/// PTRS from the stream ("stimulus/<name>/ptrs", i) at counter k << 32. Either way the input of
/// neuron i at step k is the same for any thread count and for any other stimuli present.
class PoissonInput : public Stimulus {
 public:
  PoissonInput(std::string name, Population& target, std::string port, double rate_hz, double weight,
               double start = 0.0, double stop = 1e300, NeuronSubset subset = {});
  std::string_view kind() const override { return "poisson"; }
  void prepare(double dt, std::uint64_t seed) override;
  void apply(Step k, Range owned) override;
  /// Change the rate between runs (closed-loop control).
  void set_rate(double rate_hz);
  double rate() const { return rate_; }
  void set_weight(double w) { weight_ = w; }
  /// Rate and weight (programs may change them); the cached Philox blocks are a function of
  /// (seed, step, neuron) and are recomputed on demand.
  void save_state(StateWriter& w) const override;
  void restore_state(const StateReader& r) override;

 private:
  std::string port_name_;
  int port_ = 0;
  bool pulse_ = false;
  double rate_, weight_, start_, stop_;
  NeuronSubset subset_;
  double dt_ = 0.1;
  std::uint64_t seed_ = 0;
  std::uint32_t purpose_, purpose_ptrs_;
  double lambda_ = 0.0;
  std::vector<double> cdf_;  // P(N <= m) for m = 0, 1, ...; inversion table for lambda < 12
  std::vector<std::array<std::uint32_t, 4>> cache_;  // per neuron: the Philox block of steps 4b..4b+3
  std::vector<Step> cache_block_;                     // per neuron: b of the cached block (-1: none)
};

/// A piecewise-constant current (pA): amplitude amplitudes[i] from times[i] (ms) on, zero
/// before times[0]; a constant current is times = [start], and `stop` switches it off. The value
/// at t_k holds over the step [t_k, t_{k+1}) (NEST's step_current_generator).
class CurrentInput : public Stimulus {
 public:
  CurrentInput(std::string name, Population& target, std::vector<double> times, std::vector<double> amplitudes,
               double stop = 1e300, NeuronSubset subset = {});
  std::string_view kind() const override { return "current"; }
  void prepare(double dt, std::uint64_t seed) override;
  void apply(Step k, Range owned) override;
  /// Replace the schedule by a constant amplitude from now on (closed-loop control).
  void set_amplitude(double pA);
  double amplitude_at(double t) const;
  /// The schedule (set_amplitude replaces it).
  void save_state(StateWriter& w) const override;
  void restore_state(const StateReader& r) override;

 private:
  std::vector<double> times_, amplitudes_;
  double stop_;
  NeuronSubset subset_;
  double dt_ = 0.1;
  std::vector<Step> step_of_;
  Step stop_step_ = 0;
};

/// A noise current (pA): each step every neuron gets an independent draw of `amplitude` held over
/// the step (e.g. Izhikevich's thalamic input I = 13 (rand - 0.5): amplitude uniform [-6.5, 6.5]).
/// Active for start <= t < stop. Random numbers: an unbounded uniform uses one 32-bit word per
/// draw, an unbounded normal two (Box-Muller), taken from the Philox block (counter = step / 4
/// or step / 2, id = neuron, purpose "stimulus/<name>") cached per neuron; bounded distributions
/// draw from the stream ("stimulus/<name>/general", neuron) at counter step << 32. Either way the
/// current of neuron i at step k does not depend on the thread count.
class NoiseCurrent : public Stimulus {
 public:
  NoiseCurrent(std::string name, Population& target, Distribution amplitude, double start = 0.0, double stop = 1e300,
               NeuronSubset subset = {});
  std::string_view kind() const override { return "noise"; }
  void prepare(double dt, std::uint64_t seed) override;
  void apply(Step k, Range owned) override;
  /// Nothing to save: every draw is a function of (seed, step, neuron); the cache refills itself.
  void save_state(StateWriter&) const override {}
  void restore_state(const StateReader&) override {}

 private:
  Distribution amplitude_;
  double start_, stop_;
  NeuronSubset subset_;
  double dt_ = 0.1;
  std::uint64_t seed_ = 0;
  std::uint32_t purpose_, purpose_general_;
  /// Make the blocks of `block` for the owned range and the draws of its steps.
  void refill(Step block, Range owned, bool normal);
  std::vector<std::uint32_t> words_;  // [word][neuron]: the current Philox blocks (scratch)
  std::vector<double> draws_;         // [step in block][neuron]: the draws of the block's steps
  std::vector<Step> cache_block_;     // per neuron: its block index (-1: none)
};

/// Input events at given times: event i adds `weight` to port `port` of neuron neurons[i] at time
/// times[i] (ms, a multiple of dt). With `neurons` empty, every neuron gets every time.
class SpikeTimesInput : public Stimulus {
 public:
  SpikeTimesInput(std::string name, Population& target, std::string port, std::vector<double> times,
                  std::vector<NeuronIndex> neurons, double weight);
  std::string_view kind() const override { return "spike_times"; }
  void prepare(double dt, std::uint64_t seed) override;
  void apply(Step k, Range owned) override;
  /// Nothing to save: the events are looked up by step.
  void save_state(StateWriter&) const override {}
  void restore_state(const StateReader&) override {}

 private:
  struct Event {
    Step arrival;
    NeuronIndex neuron;
  };
  std::string port_name_;
  int port_ = 0;
  bool pulse_ = false;
  std::vector<double> times_;
  std::vector<NeuronIndex> neurons_;
  double weight_;
  std::vector<Event> events_;  // sorted by (arrival, neuron)
  bool broadcast_ = false;
};

}  // namespace nmsim
