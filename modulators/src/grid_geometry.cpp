#include "nmsim/modulators/grid_geometry.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "nmsim/core/error.hpp"

namespace nmsim::modulators {

Position GridGeometry::center(std::size_t i, std::size_t j, std::size_t l) const {
  return {origin[0] + static_cast<double>(i) * spacing[0], origin[1] + static_cast<double>(j) * spacing[1],
          origin[2] + static_cast<double>(l) * spacing[2]};
}

std::optional<std::size_t> GridGeometry::voxel_of(const Position& p) const {
  std::array<std::size_t, 3> v{0, 0, 0};
  for (int a = 0; a < dims; ++a) {
    const double x = (p[a] - origin[a]) / spacing[a];
    const double r = std::floor(x + 0.5);  // nearest centre; ties go up
    if (!(r >= 0.0) || r > static_cast<double>(shape[a] - 1)) {
      // Points exactly on the outer face of the last voxel belong to it.
      if (r == static_cast<double>(shape[a]) && x <= static_cast<double>(shape[a]) - 0.5) {
        v[a] = shape[a] - 1;
        continue;
      }
      return std::nullopt;
    }
    v[a] = static_cast<std::size_t>(r);
  }
  return index(v[0], v[1], v[2]);
}

GridGeometry::Cell GridGeometry::cell(const Position& p) const {
  std::array<std::size_t, 3> lo{0, 0, 0};
  Cell cl;
  for (int a = 0; a < dims; ++a) {
    const auto u = static_cast<std::size_t>(a);
    const double n1 = static_cast<double>(shape[u] - 1);
    const double x = std::clamp((p[u] - origin[u]) / spacing[u], 0.0, n1);
    // The upper corner lo + 1 exists on every axis of >= 2 voxels (x = n1 falls in the last cell
    // with f = 1), so the corner offsets are the grid's strides.
    const double fl = std::min(std::floor(x), std::max(n1 - 1.0, 0.0));
    lo[u] = static_cast<std::size_t>(fl);
    cl.f[u] = x - fl;
  }
  cl.lo = index(lo[0], lo[1], lo[2]);
  return cl;
}

std::array<std::size_t, 3> GridGeometry::corner_strides() const {
  const std::size_t none = 0;
  return {shape[0] > 1 ? std::size_t{1} : none, shape[1] > 1 ? shape[0] : none,
          shape[2] > 1 ? shape[0] * shape[1] : none};
}

void GridGeometry::validate(const std::string& key) const {
  if (dims < 1 || dims > 3) throw ConfigError({}, key + ".shape", fmt::format("expected 1 to 3 axes, found {}", dims));
  for (int a = 0; a < 3; ++a) {
    if (!(spacing[a] > 0) || !std::isfinite(spacing[a]))
      throw ConfigError({}, key + ".spacing", fmt::format("expected a spacing > 0 um, found {}", spacing[a]));
    if (!std::isfinite(origin[a]))
      throw ConfigError({}, key + ".origin", fmt::format("expected a finite coordinate, found {}", origin[a]));
    if (shape[a] < 1 || (a >= dims && shape[a] != 1))
      throw ConfigError({}, key + ".shape", fmt::format("expected a positive size on each axis, found {}", shape[a]));
  }
  if (size() > (std::size_t{1} << 34))
    throw ConfigError({}, key + ".shape", fmt::format("grid of {} voxels is too large", size()));
}

}  // namespace nmsim::modulators
