#include "nmsim/models/register.hpp"

#include "nmsim/models/izhikevich.hpp"
#include "nmsim/models/lif.hpp"
#include "nmsim/models/lif_cond.hpp"

namespace nmsim::models {

void register_models(Registry& registry) {
  registry.add_model("lif", make_lif);
  registry.add_model("lif_cond", make_lif_cond);
  registry.add_model("izhikevich", make_izhikevich);
  register_plasticity(registry);
}

}  // namespace nmsim::models
