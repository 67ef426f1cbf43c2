#pragma once
// A regular 1-D, 2-D or 3-D grid of voxels in tissue coordinates (um).
//
// Voxel (i, j, l) has its centre at origin + (i hx, j hy, l hz), i < nx, j < ny, l < nz; it covers
// the box centre +- h/2 on every axis. Axes beyond `dims` have n = 1 and do not diffuse: a 1-D
// grid is a rod of cross-section hy hz along x, a 2-D grid a slab of thickness hz, so every voxel
// has the 3-D volume V = hx hy hz (an absent axis' spacing sets that extent).
//
// Sampling (readers): trilinear interpolation between the 8 (4, 2) voxel centres around a point;
// outside the box spanned by the centres the coordinate is clamped to it (constant extrapolation
// into the half-voxel rim and beyond). Release (writers): the whole amount goes into the voxel
// that contains the point (nearest centre), so a release conserves mass exactly and never spreads
// negative weights; the spatial error it makes is that of the grid, O(h).
// Memory order: x fastest, then y, then z: index = i + nx (j + ny l).
#include <array>
#include <cstddef>
#include <optional>

#include "nmsim/core/modulator.hpp"

namespace nmsim::modulators {

struct GridGeometry {
  Position origin = {0.0, 0.0, 0.0};                  // [um] centre of voxel (0, 0, 0)
  std::array<double, 3> spacing = {10.0, 10.0, 10.0};  // [um] > 0 per axis (absent axes: extent)
  std::array<std::size_t, 3> shape = {1, 1, 1};        // [voxels] >= 1 per axis
  int dims = 3;                                        // [1] 1, 2 or 3: axes that diffuse

  std::size_t size() const { return shape[0] * shape[1] * shape[2]; }
  std::size_t index(std::size_t i, std::size_t j, std::size_t l) const { return i + shape[0] * (j + shape[1] * l); }
  double voxel_volume() const { return spacing[0] * spacing[1] * spacing[2]; }  // um^3
  Position center(std::size_t i, std::size_t j, std::size_t l) const;
  /// Voxel containing `p` (nearest centre) on the axes that exist; absent axes are ignored.
  /// Empty when `p` lies outside the grid's box (beyond the half-voxel rim).
  std::optional<std::size_t> voxel_of(const Position& p) const;
  /// Trilinear interpolation between the (up to) 8 voxel centres around a point, as its cell: the
  /// lower-corner voxel `lo` and the fractions f along each axis (0 on absent axes; outside the
  /// box of the centres the coordinate is clamped). Corner c (bit 0: x, bit 1: y, bit 2: z) is lo
  /// + the strides of its set bits (corner_strides(): 1, nx, nx ny; 0 on an axis of one voxel)
  /// with weight ((c & 1) ? f0 : 1 - f0) * ((c & 2) ? f1 : 1 - f1) * ((c & 4) ? f2 : 1 - f2); the
  /// weights sum to 1. 32 bytes per probe.
  struct Cell {
    std::size_t lo = 0;
    std::array<double, 3> f{};
  };
  Cell cell(const Position& p) const;
  std::array<std::size_t, 3> corner_strides() const;
  /// The interpolated value of the field `c` (one value per voxel) in cell `cl`: the 8 weighted
  /// corners summed in corner order, so every caller gets the same bits. `st` = corner_strides().
  static double interpolate(const double* c, const Cell& cl, const std::array<std::size_t, 3>& st) {
    const double f0 = cl.f[0], f1 = cl.f[1], f2 = cl.f[2], g0 = 1.0 - f0, g1 = 1.0 - f1, g2 = 1.0 - f2;
    const double* a = c + cl.lo;
    const double* b = a + st[2];
    double v = 0.0;
    v += g0 * g1 * g2 * a[0];
    v += f0 * g1 * g2 * a[st[0]];
    v += g0 * f1 * g2 * a[st[1]];
    v += f0 * f1 * g2 * a[st[0] + st[1]];
    v += g0 * g1 * f2 * b[0];
    v += f0 * g1 * f2 * b[st[0]];
    v += g0 * f1 * f2 * b[st[1]];
    v += f0 * f1 * f2 * b[st[0] + st[1]];
    return v;
  }
  /// Throws ConfigError (key prefix `key`) unless the geometry is valid.
  void validate(const std::string& key) const;
};

}  // namespace nmsim::modulators
