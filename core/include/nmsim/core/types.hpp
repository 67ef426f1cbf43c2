#pragma once
// Basic index and time types shared by every module.
#include <cstddef>
#include <cstdint>

namespace nmsim {

/// Simulation time as an integer number of steps; physical time is step * dt (ms).
using Step = std::int64_t;
/// Index of a neuron inside its population (0 .. size-1).
using NeuronIndex = std::uint32_t;
/// Delay of a synapse in whole steps (>= 1).
using DelaySteps = std::uint16_t;

/// Half-open range [begin, end) of neuron indices of one population.
struct Range {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t size() const { return end - begin; }
  bool contains(std::size_t i) const { return i >= begin && i < end; }
};

/// One spike: emitted by neuron `neuron` of population `population`, time stamp (step+1)*dt
/// where `step` is the update step during which threshold was crossed.
struct Spike {
  Step step = 0;
  std::uint32_t population = 0;
  NeuronIndex neuron = 0;
};

}  // namespace nmsim
