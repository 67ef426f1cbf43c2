#pragma once
#include "nmsim/core/registry.hpp"

namespace nmsim::models {
/// Register every neuron model of this module under its config name ("lif", "lif_cond", ...).
void register_models(Registry& registry);
}  // namespace nmsim::models
