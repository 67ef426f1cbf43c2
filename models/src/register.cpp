#include "nmsim/models/register.hpp"

#include "nmsim/models/lif.hpp"

namespace nmsim::models {

void register_models(Registry& registry) { registry.add_model("lif", make_lif); }

}  // namespace nmsim::models
