#pragma once
// A projection: the synapses from one population to one input port of another.
#include <span>
#include <string>
#include <vector>

#include "nmsim/core/connectivity.hpp"
#include "nmsim/core/params.hpp"
#include "nmsim/core/population.hpp"

namespace nmsim {

struct ProjectionSpec {
  std::string name;
  std::string source;             // population name
  std::string target;             // population name
  std::string port;               // input port of the target; "" = "exc" if weights >= 0 else "inh"
  ConnectSpec connect;
  Distribution weight = Distribution::constant(1.0);  // port units (pA, nS or mV)
  Distribution delay = Distribution::constant(1.0);   // ms, rounded to whole steps, >= dt
};

class Projection {
 public:
  Projection(ProjectionSpec spec, Population& source, Population& target, int port);
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
  void deliver(int tid, std::span<const Spike> spikes);

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

 private:
  ProjectionSpec spec_;
  Population* source_;
  Population* target_;
  int port_;
  std::vector<SynapseCsr> csr_;
};

}  // namespace nmsim
