#pragma once
// A population: N neurons of one model, structure-of-arrays state, updated in ranges.
//
// The engine owns each population's input buffers (one ring per input port, plus an external
// current array) and calls update() for the range of neurons a thread owns; models never see
// threads, files or other populations. Time convention (docs/step_order.md): update(step k)
// advances the state from t_k = k dt to t_{k+1}; a spike found at the end of step k is stamped
// t_{k+1}. Input that arrives at t_{k+1} is in in.port[p][i]:
//   PortKind::jump  - applied at t_{k+1}, after the state has been propagated (current or
//                     conductance jumps, voltage jumps of delta synapses);
//   PortKind::pulse - a current held constant over [t_k, t_{k+1}) (Izhikevich's scheme), so it
//                     is the input that arrived at t_k.
// i_ext[i] is a current (pA) held constant over the step (stimuli, bias changes).
#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nmsim/core/types.hpp"

namespace nmsim {
class StateWriter;
class StateReader;
}  // namespace nmsim

namespace nmsim {

enum class PortKind { jump, pulse };

struct PortInfo {
  std::string name;   // "exc", "inh", ...
  std::string units;  // units of a weight on this port: "pA", "nS", "mV"
  PortKind kind = PortKind::jump;
  bool nonnegative_weights = false;  // conductances: sign is set by the reversal potential
};

/// Read access to one state variable: value of neuron i is base[i * stride].
struct VarView {
  const double* base = nullptr;
  std::size_t stride = 1;
  std::string units;
  double operator[](std::size_t i) const { return base[i * stride]; }
};

struct UpdateContext {
  Step step = 0;         // k: advance from t_k to t_{k+1}
  double dt = 0.1;       // ms
  std::uint64_t seed = 0;
};

/// Inputs for one update call, indexed by population-local neuron index.
struct InputView {
  static constexpr int kMaxPorts = 4;
  const double* port[kMaxPorts] = {};  // per port, summed weights arriving now (port units)
  const double* i_ext = nullptr;       // pA, constant over the step
  const double* v_th_shift = nullptr;  // mV added to the threshold over the step; null = none
  const double* adaptation = nullptr;  // factor on spike-triggered adaptation; null = 1
};

/// Spikes found by one thread, in the order (step, population, neuron).
class SpikeSink {
 public:
  void push(Step step, std::uint32_t population, NeuronIndex i) { spikes_.push_back({step, population, i}); }
  std::vector<Spike>& spikes() { return spikes_; }

 private:
  std::vector<Spike> spikes_;
};

/// Per-population input storage managed by the engine: ring[port][slot * size + i].
class InputBuffers {
 public:
  void allocate(std::size_t n_ports, std::size_t n_slots, std::size_t size);
  std::size_t slots() const { return slots_; }
  /// Slot that holds input arriving at step `arrival` (t = arrival * dt).
  std::size_t slot_of(Step arrival) const { return static_cast<std::size_t>(arrival % static_cast<Step>(slots_)); }
  double* ring(std::size_t port) { return ring_[port].data(); }
  double* slot(std::size_t port, Step arrival) { return ring_[port].data() + slot_of(arrival) * size_; }
  double* i_ext() { return i_ext_.data(); }
  std::size_t size() const { return size_; }
  std::size_t ports() const { return ring_.size(); }
  /// The whole ring of one port: slots() * size() values, slot-major.
  std::vector<double>& ring_storage(std::size_t port) { return ring_[port]; }
  const std::vector<double>& ring_storage(std::size_t port) const { return ring_[port]; }

 private:
  std::vector<std::vector<double>> ring_;
  std::vector<double> i_ext_;
  std::size_t slots_ = 0;
  std::size_t size_ = 0;
};

class Population {
 public:
  Population(std::string name, std::size_t size) : name_(std::move(name)), size_(size) {}
  virtual ~Population() = default;
  Population(const Population&) = delete;
  Population& operator=(const Population&) = delete;

  const std::string& name() const { return name_; }
  std::size_t size() const { return size_; }
  /// Index in the simulation (set when added).
  std::uint32_t index() const { return index_; }

  virtual std::string_view model() const = 0;
  virtual std::vector<PortInfo> ports() const = 0;
  /// Names of recordable state variables.
  virtual std::vector<std::string> variables() const = 0;
  /// View of one state variable; throws ConfigError for an unknown name.
  virtual VarView variable(std::string_view name) const = 0;
  /// Whether update() honours InputView::v_th_shift (models with an explicit threshold).
  virtual bool has_threshold() const { return false; }
  /// Whether update() honours InputView::adaptation (models with spike-triggered adaptation).
  virtual bool has_adaptation() const { return false; }
  /// Called once before the first step: set derived constants and initial state. `seed` keys the
  /// random initial values (streams "init/<population>/<variable>", id = neuron).
  virtual void prepare(double dt, std::uint64_t seed) = 0;
  /// Advance neurons [r.begin, r.end) by one step (see the time convention above) and report
  /// spikes in increasing neuron order.
  virtual void update(const UpdateContext& ctx, Range r, const InputView& in, SpikeSink& out) = 0;
  /// Checkpoint (core/state.hpp, docs/checkpoint.md): write / read the dynamic state of every
  /// neuron (not parameters or constants derived from them), between runs, after prepare(). The
  /// defaults throw StateError: a model that does not override them cannot be checkpointed.
  virtual void save_state(StateWriter& w) const;
  virtual void restore_state(const StateReader& r);
  /// Index of a port by name, or -1.
  int port_index(std::string_view port) const;

  InputBuffers& inputs() { return inputs_; }
  const InputBuffers& inputs() const { return inputs_; }

  /// Positions of the neurons in tissue coordinates (um), one [x, y, z] per neuron, or empty when
  /// none were given. Modulator fields release and are read at these points.
  const std::vector<std::array<double, 3>>& positions() const { return positions_; }
  /// Throws ConfigError unless there is exactly one position per neuron.
  void set_positions(std::vector<std::array<double, 3>> positions);

 private:
  friend class Simulation;
  std::vector<std::array<double, 3>> positions_;
  std::string name_;
  std::size_t size_;
  std::uint32_t index_ = 0;
  InputBuffers inputs_;
};

}  // namespace nmsim
