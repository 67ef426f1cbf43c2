#pragma once
#include "nmsim/core/registry.hpp"

namespace nmsim::modulators {
/// Register the modulator field types of this module ("well_mixed", ...).
void register_modulators(Registry& registry);
}  // namespace nmsim::modulators
