#include "nmsim/core/population.hpp"

#include <cmath>
#include <string>

#include "nmsim/core/error.hpp"
#include "nmsim/core/state.hpp"

namespace nmsim {

void InputBuffers::allocate(std::size_t n_ports, std::size_t n_slots, std::size_t size) {
  slots_ = n_slots;
  size_ = size;
  ring_.assign(n_ports, std::vector<double>(n_slots * size, 0.0));
  i_ext_.assign(size, 0.0);
}

void Population::set_positions(std::vector<std::array<double, 3>> positions) {
  if (positions.size() != size_)
    throw ConfigError({}, "population." + name_ + ".positions",
                      "expected one position per neuron (" + std::to_string(size_) + "), found " +
                          std::to_string(positions.size()));
  for (const auto& p : positions)
    for (double x : p)
      if (!std::isfinite(x))
        throw ConfigError({}, "population." + name_ + ".positions", "expected finite coordinates (um)");
  positions_ = std::move(positions);
}

void Population::save_state(StateWriter& /*w*/) const {
  throw StateError("population." + name_, "model " + std::string(model()) + " cannot be checkpointed in this version");
}

void Population::restore_state(const StateReader& /*r*/) {
  throw StateError("population." + name_, "model " + std::string(model()) + " cannot be checkpointed in this version");
}

int Population::port_index(std::string_view port) const {
  const auto p = ports();
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i].name == port) return static_cast<int>(i);
  return -1;
}

}  // namespace nmsim
