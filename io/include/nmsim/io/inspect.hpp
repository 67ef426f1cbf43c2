#pragma once
// A human-readable summary of a result file, for `nmsim info OUT.h5`.
#include <string>

namespace nmsim::io {

/// Describe the HDF5 file at `path`: root attributes and status, each spike population (count,
/// time range, mean rate), each state report (shape, units, sampling times) and every other
/// dataset found (path, type, shape, units). Reads only attributes, shapes and a few elements,
/// so it is fast on large files. A missing, unreadable or non-HDF5 file throws ConfigError.
std::string describe_file(const std::string& path);

}  // namespace nmsim::io
