#include "nmsim/core/population.hpp"

namespace nmsim {

void InputBuffers::allocate(std::size_t n_ports, std::size_t n_slots, std::size_t size) {
  slots_ = n_slots;
  size_ = size;
  ring_.assign(n_ports, std::vector<double>(n_slots * size, 0.0));
  i_ext_.assign(size, 0.0);
}

int Population::port_index(std::string_view port) const {
  const auto p = ports();
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i].name == port) return static_cast<int>(i);
  return -1;
}

}  // namespace nmsim
