#pragma once
#include "nmsim/core/registry.hpp"

namespace nmsim::models {
/// Register every neuron model of this module under its config name ("lif", "lif_cond", ...).
/// Also registers the plasticity rules (register_plasticity).
void register_models(Registry& registry);
/// Register the plasticity rules "stdp", "stdp_triplet", "stdp_eligibility".
void register_plasticity(Registry& registry);
}  // namespace nmsim::models
