#include "nmsim/io/read.hpp"

#include <filesystem>
#include <fmt/format.h>
#include <limits>

#include "h5.hpp"
#include "nmsim/core/error.hpp"

namespace nmsim::io {

namespace {

// Runs `f` on the file opened read-only; every failure becomes a ConfigError about the file.
template <class F>
auto with_file(const std::string& file, const std::string& object, F&& f) {
  if (!std::filesystem::exists(file)) throw ConfigError(SourcePos{file, 0, 0}, "", "no such file");
  if (!h5::File::is_hdf5(file)) throw ConfigError(SourcePos{file, 0, 0}, "", "not an HDF5 file");
  try {
    h5::File h = h5::File::open(file);
    h5::Lock lock;
    if (!object.empty() && !h5::exists(h.id(), object))
      throw ConfigError(SourcePos{file, 0, 0}, "", fmt::format("the file has no object \"{}\"", object));
    return f(h);
  } catch (const RuntimeError& e) {
    throw ConfigError(SourcePos{file, 0, 0}, "", e.what());
  }
}

h5::Dataset open_dataset(const h5::File& h, const std::string& file, const std::string& dataset) {
  if (h5::object_type(h.id(), dataset) != H5O_TYPE_DATASET)
    throw ConfigError(SourcePos{file, 0, 0}, "", fmt::format("\"{}\" is not a dataset", dataset));
  return h5::Dataset::open(h.id(), dataset);
}

}  // namespace

DatasetInfo dataset_info(const std::string& file, const std::string& dataset) {
  return with_file(file, dataset, [&](const h5::File& h) {
    h5::Dataset d = open_dataset(h, file, dataset);
    DatasetInfo info;
    const std::string what = "inspect \"" + dataset + "\"";
    h5::SpaceId space(h5::check_id(H5Dget_space(d.id()), what));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0))), max(dims.size());
    if (rank > 0) h5::check(H5Sget_simple_extent_dims(space.get(), dims.data(), max.data()), what);
    for (std::size_t i = 0; i < dims.size(); ++i) {
      info.shape.push_back(dims[i]);
      info.max_shape.push_back(max[i] == H5S_UNLIMITED ? std::numeric_limits<std::uint64_t>::max() : max[i]);
    }
    h5::TypeId type(h5::check_id(H5Dget_type(d.id()), what));
    info.dtype = h5::type_name(type.get());
    h5::PlistId dcpl(h5::check_id(H5Dget_create_plist(d.id()), what));
    if (H5Pget_layout(dcpl.get()) == H5D_CHUNKED && rank > 0) {
      std::vector<hsize_t> chunk(dims.size());
      h5::check(H5Pget_chunk(dcpl.get(), rank, chunk.data()), what);
      info.chunk.assign(chunk.begin(), chunk.end());
    }
    const int nfilters = H5Pget_nfilters(dcpl.get());
    for (int i = 0; i < nfilters; ++i) {
      unsigned flags = 0, cd[8] = {};
      std::size_t ncd = 8;
      const H5Z_filter_t f = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &ncd, cd, 0, nullptr, nullptr);
      if (f == H5Z_FILTER_DEFLATE) info.deflate = ncd > 0 ? static_cast<int>(cd[0]) : 1;
      if (f == H5Z_FILTER_SHUFFLE) info.shuffle = true;
    }
    if (h5::has_attr(d.id(), "units")) info.units = h5::read_attr_string(d.id(), "units");
    return info;
  });
}

std::vector<double> read_dataset_f64(const std::string& file, const std::string& dataset) {
  return with_file(file, dataset, [&](const h5::File& h) { return open_dataset(h, file, dataset).read<double>(); });
}

std::vector<std::uint64_t> read_dataset_u64(const std::string& file, const std::string& dataset) {
  return with_file(file, dataset,
                   [&](const h5::File& h) { return open_dataset(h, file, dataset).read<std::uint64_t>(); });
}

std::string read_dataset_string(const std::string& file, const std::string& dataset) {
  return with_file(file, dataset, [&](const h5::File& h) { return h5::read_string_dataset(h.id(), dataset); });
}

bool has_object(const std::string& file, const std::string& path) {
  return with_file(file, "", [&](const h5::File& h) { return h5::exists(h.id(), path); });
}

std::vector<std::string> list_group(const std::string& file, const std::string& group) {
  return with_file(file, group, [&](const h5::File& h) { return h5::list(h.id(), group); });
}

namespace {
template <class F>
auto with_object(const std::string& file, const std::string& object, F&& f) {
  return with_file(file, object, [&](const h5::File& h) {
    h5::Lock lock;
    const std::string what = "open \"" + object + "\"";
    // H5Oopen works for groups and datasets alike; attributes live on either.
    using ObjectId = h5::Id<H5Oclose>;
    ObjectId obj(h5::check_id(H5Oopen(h.id(), object.c_str(), H5P_DEFAULT), what));
    return f(obj.get());
  });
}
}  // namespace

std::string read_attr_string(const std::string& file, const std::string& object, const std::string& attr) {
  return with_object(file, object, [&](hid_t obj) { return h5::read_attr_string(obj, attr); });
}

std::vector<double> read_attr_f64(const std::string& file, const std::string& object, const std::string& attr) {
  return with_object(file, object, [&](hid_t obj) { return h5::read_attr_numbers(obj, attr); });
}

std::string attr_type(const std::string& file, const std::string& object, const std::string& attr) {
  return with_object(file, object, [&](hid_t obj) { return h5::attr_type_name(obj, attr); });
}

bool has_attr(const std::string& file, const std::string& object, const std::string& attr) {
  return with_object(file, object, [&](hid_t obj) { return h5::has_attr(obj, attr); });
}

}  // namespace nmsim::io
