#pragma once
// Connection rules and the synapse storage they produce.
//
// Storage is CSR by source, one CSR per thread holding only the synapses *into* the neurons that
// thread owns: delivery of a spike is a walk over one contiguous row, writes touch only owned
// targets, and each target receives its inputs in one fixed order whatever the thread count.
// Generation is keyed per target (or per source for fixed_outdegree) with counter-based streams,
// so the network itself does not depend on the thread count either.
#include <cstdint>
#include <utility>
#include <vector>

#include "nmsim/core/params.hpp"
#include "nmsim/core/types.hpp"

namespace nmsim {

struct ConnectSpec {
  enum class Rule { all_to_all, one_to_one, fixed_probability, fixed_indegree, fixed_outdegree, pairs };
  Rule rule = Rule::all_to_all;
  double p = 0.0;           // fixed_probability
  std::uint64_t k = 0;      // fixed_indegree / fixed_outdegree
  bool allow_autapses = true;   // only meaningful when source == target population
  bool allow_multapses = true;  // fixed_indegree / fixed_outdegree
  std::vector<std::pair<NeuronIndex, NeuronIndex>> pairs;  // (source, target)
  std::vector<double> pair_weights;  // optional, one per pair
  std::vector<double> pair_delays;   // optional, one per pair (ms)
};

/// Synapses into the targets of one thread, CSR by source neuron.
struct SynapseCsr {
  std::vector<std::uint64_t> row;    // size n_source + 1
  std::vector<NeuronIndex> target;   // population-local target index
  std::vector<double> weight;        // port units
  std::vector<DelaySteps> delay;     // steps >= 1
  std::size_t size() const { return target.size(); }
};

}  // namespace nmsim
