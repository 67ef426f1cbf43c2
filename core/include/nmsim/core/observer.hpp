#pragma once
// Observers watch a run: recorders, progress display, closed-loop readouts. The engine calls
// them at fixed points of the step loop (docs/step_order.md):
//   begin_window (one thread)   before the steps of a delivery window
//   sample (every thread)       after step k, for state at t_{k+1}, neurons the thread owns only
//   on_spikes (one thread)      all spikes of the window, sorted by (step, population, neuron)
//   end_window (one thread)     after the window; flushing files happens here
//   finish (caller's thread)    after run() returns or fails
#include <vector>

#include "nmsim/core/types.hpp"

namespace nmsim {

class Simulation;

class Observer {
 public:
  virtual ~Observer() = default;
  /// After the network is built, before the first step. May allocate.
  virtual void prepare(const Simulation& /*sim*/) {}
  virtual void begin_window(Step /*from*/, Step /*to*/) {}
  /// State at t_{k+1}; called only when wants_sample(k) was true for this observer.
  virtual bool samples() const { return false; }
  virtual void sample(Step /*k*/, int /*tid*/) {}
  virtual void on_spikes(const std::vector<Spike>& /*spikes*/) {}
  virtual void end_window(Step /*to*/) {}
  /// `completed` is false when the run was stopped by an error or interrupt.
  virtual void finish(bool /*completed*/) {}
  /// True if the observer never changes the simulation (no stimuli, releases, stop requests from
  /// its hooks) and does not sample state: the engine may then run its hooks on one thread while
  /// the others go on with the next window (one barrier per window instead of two).
  virtual bool passive() const { return false; }
};

}  // namespace nmsim
