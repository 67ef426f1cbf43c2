#pragma once
// A projection: the synapses from one population to one input port of another.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nmsim/core/connectivity.hpp"
#include "nmsim/core/params.hpp"
#include "nmsim/core/population.hpp"
#include "nmsim/core/state.hpp"

namespace nmsim {

class Projection;
class Simulation;
struct ProjectionSpec;

/// Makes the projection object for a plastic projection (models/ implements the rules). Core
/// only knows this interface, so a config can name rules without core knowing any.
class PlasticityModel {
 public:
  virtual ~PlasticityModel() = default;
  virtual std::string_view rule() const = 0;
  virtual std::unique_ptr<Projection> make(ProjectionSpec spec, Population& source, Population& target,
                                           int port) const = 0;
};

struct ProjectionSpec {
  std::string name;
  std::string source;             // population name
  std::string target;             // population name
  std::string port;               // input port of the target; "" = "exc" if weights >= 0 else "inh"
  ConnectSpec connect;
  Distribution weight = Distribution::constant(1.0);  // port units (pA, nS or mV)
  Distribution delay = Distribution::constant(1.0);   // ms, rounded to whole steps, >= dt
  /// Plastic when set (stdp, stdp_triplet, stdp_eligibility, ...); static otherwise.
  std::shared_ptr<const PlasticityModel> plasticity = nullptr;
};

class Projection {
 public:
  Projection(ProjectionSpec spec, Population& source, Population& target, int port);
  virtual ~Projection() = default;
  Projection(const Projection&) = delete;
  Projection& operator=(const Projection&) = delete;
  const std::string& name() const { return spec_.name; }
  const ProjectionSpec& spec() const { return spec_; }
  Population& source() const { return *source_; }
  Population& target() const { return *target_; }
  int port() const { return port_; }

  /// Generate the synapses of thread `tid` (targets in `owned`). Thread-safe across tids.
  void build(int tid, Range owned, double dt, std::uint64_t seed);
  void set_threads(int n) { csr_.assign(static_cast<std::size_t>(n), {}); }
  /// Largest and smallest delay (steps) over all synapses; valid after build.
  DelaySteps max_delay() const;
  DelaySteps min_delay() const;
  std::size_t synapse_count() const;
  /// Delay bounds known before building (from the spec), in steps.
  DelaySteps spec_min_delay(double dt) const;
  DelaySteps spec_max_delay(double dt) const;

  /// Push the spikes of the source population in `spikes` (sorted, any populations) into the
  /// input rings of the targets that thread `tid` owns. (A std::vector<Spike> converts.)
  /// Plastic projections queue them instead, to be applied when they reach the synapse.
  virtual void deliver(int tid, std::span<const Spike> spikes);

  // Hooks of plastic projections (docs/step_order.md); static projections do nothing.
  virtual bool plastic() const { return false; }
  /// Smallest delay (steps) between a spike and the first moment the engine must act on it;
  /// the delivery window may not be longer. Static: the synaptic delay.
  virtual DelaySteps window_delay() const { return min_delay(); }
  /// After build and buffer allocation, before the first step (one thread).
  virtual void prepare_plasticity(const Simulation& /*sim*/) {}
  /// One thread, at the start of each window, after the modulators have advanced: shared work
  /// (e.g. integrals of a third factor over the window).
  virtual void prepare_window(Step /*w0*/, Step /*w1*/) {}
  /// Every thread, at the start of each window [w0, w1), before its steps.
  virtual void begin_window(int /*tid*/, Step /*w0*/, Step /*w1*/) {}
  /// Attach a modulation map to an aspect of this projection ("gain", "learning_rate",
  /// "third_factor", "a_plus", "a_minus"); false if the projection has no such aspect.
  /// Static projections support "gain" (a factor on transmitted weights, per target neuron,
  /// evaluated at the end of the window in which the spike was emitted).
  virtual bool modulate(const std::string& aspect, const class ModulationMap* map);
  /// One thread, at the end of each window (before the next begins): refresh modulated values.
  virtual void end_window(Step w1);
  /// Every thread: bring the state of its synapses up to synapse time t_a (lazy rules update
  /// weights only at events); called before weights are read, e.g. by a recorder.
  virtual void synchronize(int /*tid*/, Step /*a*/) {}
  /// Every thread, step k, before the target population is updated: events that reach the
  /// synapses now (pre-synaptic arrivals, delayed post-synaptic spikes).
  virtual void before_update(int /*tid*/, Step /*k*/) {}
  /// Every thread, step k, after the target population was updated: `spikes` are the spikes of
  /// the target neurons the thread owns at this step (stamp t_{k+1}).
  virtual void after_update(int /*tid*/, Step /*k*/, std::span<const Spike> /*spikes*/) {}

  /// Checkpoint (core/state.hpp): weights in the canonical synapse order (below) and the
  /// modulated gain; plastic projections add their rule state and queued events. Any thread
  /// count may restore what any other wrote. Between runs, after prepare.
  virtual void save_state(StateWriter& w) const;
  virtual void restore_state(const StateReader& r);
  /// Canonical synapse order, independent of the thread count: by source, then target, then
  /// creation. Returns, per thread, the canonical index of each synapse of csr(tid).
  std::vector<std::vector<std::uint64_t>> canonical_index() const;

  /// Synapses of one thread (read access for recording and tests).
  const SynapseCsr& csr(int tid) const { return csr_[static_cast<std::size_t>(tid)]; }
  std::size_t threads() const { return csr_.size(); }
  /// All synapses as (source, target, weight, delay) in a thread-independent order
  /// (by target, then source, then creation).
  struct Synapse {
    NeuronIndex source;
    NeuronIndex target;
    double weight;
    DelaySteps delay;
  };
  std::vector<Synapse> synapses() const;

 protected:
  void deliver_scaled(int tid, std::span<const Spike> spikes);
  SynapseCsr& mutable_csr(int tid) { return csr_[static_cast<std::size_t>(tid)]; }
  /// Time step the synapses were built for (ms); valid after build().
  double build_dt() const { return build_dt_; }

 private:
  ProjectionSpec spec_;
  Population* source_;
  Population* target_;
  int port_;
  std::vector<SynapseCsr> csr_;
  double build_dt_ = 0.0;
  const class ModulationMap* gain_map_ = nullptr;
  std::vector<double> gain_;  // per target neuron, when gain_map_ is set
};

}  // namespace nmsim
