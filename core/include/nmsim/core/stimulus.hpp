#pragma once
// Stimuli drive a population's inputs directly (not through synapses). apply() is called by the
// thread that owns `owned`, once per step, before that range is updated, so stimuli never race
// and, drawing from counter-based streams keyed by (seed, stimulus, neuron, step), give the same
// input for any thread count.
#include <string>

#include "nmsim/core/population.hpp"
#include "nmsim/core/state.hpp"

namespace nmsim {

class Stimulus {
 public:
  Stimulus(std::string name, Population& target) : name_(std::move(name)), target_(&target) {}
  virtual ~Stimulus() = default;
  const std::string& name() const { return name_; }
  Population& target() const { return *target_; }
  virtual std::string_view kind() const = 0;
  /// Called once before the first step.
  virtual void prepare(double /*dt*/, std::uint64_t /*seed*/) {}
  /// Add this step's input (step k: t_k -> t_{k+1}) for neurons in `owned`.
  virtual void apply(Step k, Range owned) = 0;
  /// Checkpoint (core/state.hpp): whatever apply() depends on besides the config, the seed and
  /// the step (counter-based random streams need no position). Default: StateError (a stimulus
  /// kind that does not override them cannot be checkpointed).
  virtual void save_state(StateWriter& /*w*/) const { cannot_checkpoint(); }
  virtual void restore_state(const StateReader& /*r*/) { cannot_checkpoint(); }

 protected:
  [[noreturn]] void cannot_checkpoint() const {
    throw StateError("stimulus." + name_, "stimuli of kind \"" + std::string(kind()) + "\" cannot be checkpointed in this version");
  }

 private:
  std::string name_;
  Population* target_;
};

}  // namespace nmsim
