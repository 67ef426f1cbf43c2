#pragma once
// Reading nmsim (or any) HDF5 files from C++ without including hdf5.h: whole datasets and
// attributes, converted to double / uint64 / string. Each call opens and closes the file, so
// these are for tests, tools and analysis of results, not for hot loops.
//
// Paths are HDF5 paths inside the file ("/spikes/exc/timestamps"). Every failure (missing
// file, not an HDF5 file, missing object, wrong type) throws nmsim::ConfigError naming the file
// and the object: a result file is user input to these functions.
#include <cstdint>
#include <string>
#include <vector>

namespace nmsim::io {

/// Shape, element type and storage of a dataset.
struct DatasetInfo {
  std::vector<std::uint64_t> shape;  // empty for a scalar
  std::string dtype;                 // "float32", "float64", "uint64", "int8", "string", "enum(a=0,b=1)", ...
  std::vector<std::uint64_t> chunk;  // chunk shape; empty = contiguous storage
  std::vector<std::uint64_t> max_shape;  // UINT64_MAX marks an unlimited (extendible) dimension
  int deflate = 0;                   // deflate level, 0 = not compressed
  bool shuffle = false;              // byte-shuffle filter present
  std::string units;                 // the "units" attribute, "" if absent
};

DatasetInfo dataset_info(const std::string& file, const std::string& dataset);
/// All elements in row-major order, converted from any integer or float type.
std::vector<double> read_dataset_f64(const std::string& file, const std::string& dataset);
std::vector<std::uint64_t> read_dataset_u64(const std::string& file, const std::string& dataset);
/// A scalar string dataset (e.g. /config).
std::string read_dataset_string(const std::string& file, const std::string& dataset);

/// True when the object (group or dataset) exists.
bool has_object(const std::string& file, const std::string& path);
/// Names of the members of a group, in name order.
std::vector<std::string> list_group(const std::string& file, const std::string& group);

/// Attribute `attr` of object `object` ("/" for the root).
std::string read_attr_string(const std::string& file, const std::string& object, const std::string& attr);
/// Numeric attribute (scalar or array) converted to double; an enum gives its integer value.
std::vector<double> read_attr_f64(const std::string& file, const std::string& object, const std::string& attr);
/// Attribute type in the words of DatasetInfo::dtype.
std::string attr_type(const std::string& file, const std::string& object, const std::string& attr);
bool has_attr(const std::string& file, const std::string& object, const std::string& attr);

}  // namespace nmsim::io
