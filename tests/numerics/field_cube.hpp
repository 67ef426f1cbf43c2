#pragma once
// A cube of n^3 voxels of h um with the DA preset's transport (D = 0.763 um^2/ms, lambda = 1.54,
// alpha = 0.21), starting empty, no clearance: the grid of the field tests.
#include <cstddef>

#include "nmsim/modulators/grid_field.hpp"

namespace nmsim::modulators::testing {

inline GridFieldParams cube(std::size_t n, double h) {
  GridFieldParams p;
  p.geometry.dims = 3;
  p.geometry.spacing = {h, h, h};
  p.geometry.shape = {n, n, n};
  p.diffusion = 0.763;
  p.tortuosity = 1.54;
  p.volume_fraction = 0.21;
  p.initial = 0.0;
  return p;
}

}  // namespace nmsim::modulators::testing
