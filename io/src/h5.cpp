#include "h5.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "nmsim/core/error.hpp"

namespace nmsim::io::h5 {

namespace {

std::recursive_mutex& global_mutex() {
  static std::recursive_mutex m;
  return m;
}

// Collects the innermost (most specific) description on HDF5's error stack.
herr_t walk_error(unsigned /*n*/, const H5E_error2_t* e, void* out) {
  auto* msg = static_cast<std::string*>(out);
  if (e->desc != nullptr && e->desc[0] != '\0') *msg = e->desc;
  return 0;
}

std::string join_dims(const std::vector<hsize_t>& d) {
  std::string s;
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s;
}

std::vector<hsize_t> space_dims(hid_t space, const std::string& what) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) fail(what);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) check(H5Sget_simple_extent_dims(space, dims.data(), nullptr), what);
  return dims;
}

TypeId vlen_string_type() {
  TypeId t(check_id(H5Tcopy(H5T_C_S1), "create a string type"));
  check(H5Tset_size(t.get(), H5T_VARIABLE), "create a string type");
  check(H5Tset_cset(t.get(), H5T_CSET_UTF8), "create a string type");
  return t;
}

}  // namespace

Lock::Lock() : lock_(global_mutex()) {}

void quiet() {
  Lock lock;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

void fail(const std::string& what) {
  std::string reason;
  {
    Lock lock;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_error, &reason);
    H5Eclear2(H5E_DEFAULT);
  }
  // Low-level reasons span lines ("...failed: time = ...\n, filename = ..."): one line, always.
  std::replace(reason.begin(), reason.end(), '\n', ' ');
  if (reason.empty()) throw RuntimeError("HDF5: cannot " + what);
  throw RuntimeError("HDF5: cannot " + what + ": " + reason);
}

hid_t check_id(hid_t id, const std::string& what) {
  if (id < 0) fail(what);
  return id;
}

herr_t check(herr_t status, const std::string& what) {
  if (status < 0) fail(what);
  return status;
}

// ---------------------------------------------------------------------------------------------
// Files and groups

File File::create(const std::string& path, bool swmr_format, const std::string& shown) {
  quiet();
  Lock lock;
  File f;
  f.path_ = path;
  PlistId fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), "create a property list"));
  if (swmr_format) check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), "set a property list");
  f.id_ = FileId(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()));
  if (!f.id_.valid()) {
    // The HDF5 reason for a missing directory or a permission problem is obscure; errno is not.
    const int err = errno;
    std::string reason;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_error, &reason);
    H5Eclear2(H5E_DEFAULT);
    const auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir))
      throw RuntimeError(fmt::format("cannot create output file \"{}\": directory \"{}\" does not exist",
                                     shown.empty() ? path : shown, dir.string()));
    throw RuntimeError(fmt::format("cannot create output file \"{}\": {}", shown.empty() ? path : shown,
                                   err != 0 ? std::strerror(err) : reason.c_str()));
  }
  return f;
}

File File::open(const std::string& path, bool writable) {
  quiet();
  Lock lock;
  File f;
  f.path_ = path;
  // Readers do not take HDF5's file lock, so `nmsim info` and analysis scripts can look at the
  // file of a run in progress: the writer changes the file only in short write+flush bursts, so
  // between them the file on disk is consistent.
  PlistId fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), "create a property list"));
  if (!writable) check(H5Pset_file_locking(fapl.get(), 0, 1), "set a property list");
  f.id_ = FileId(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get()));
  if (!writable && !f.id_.valid()) {
    // A file being written by a recorder, or whose recorder was killed, carries the SWMR writer's
    // flags: it opens with SWMR read access. A file this process has open already (a recorder's)
    // must be opened with the same locking setting: retry with the defaults. If all fail, the
    // first reason is the one to report (e.g. "truncated file").
    std::string first;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_error, &first);
    for (const auto& [flags, locking] :
         {std::pair{H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, false}, std::pair{H5F_ACC_RDONLY, true},
          std::pair{H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, true}}) {
      if (f.id_.valid()) break;
      H5Eclear2(H5E_DEFAULT);
      PlistId p(check_id(H5Pcreate(H5P_FILE_ACCESS), "create a property list"));
      if (!locking) check(H5Pset_file_locking(p.get(), 0, 1), "set a property list");
      f.id_ = FileId(H5Fopen(path.c_str(), flags, p.get()));
    }
    if (!f.id_.valid()) {
      H5Eclear2(H5E_DEFAULT);
      std::replace(first.begin(), first.end(), '\n', ' ');
      throw RuntimeError(fmt::format("HDF5: cannot open \"{}\"{}{}", path, first.empty() ? "" : ": ", first));
    }
  }
  if (!f.id_.valid()) fail(fmt::format("open \"{}\"", path));
  return f;
}

File File::open_swmr_format(const std::string& path) {
  quiet();
  Lock lock;
  File f;
  f.path_ = path;
  PlistId fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), "create a property list"));
  check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), "set a property list");
  f.id_ = FileId(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()));
  if (!f.id_.valid()) fail(fmt::format("open \"{}\"", path));
  return f;
}

// Superblock versions 2 and 3 (the only ones with these flags): signature (8 bytes), version,
// size of offsets, size of lengths, file consistency flags, then four addresses (base, superblock
// extension, end of file, root group) and a Jenkins lookup3 checksum of everything before it.
// HDF5 exports the checksum function it uses; it is declared here, not in a public header.
extern "C" uint32_t H5_checksum_metadata(const void* data, size_t len, uint32_t initval);

bool File::clear_write_flags(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  unsigned char sb[48];
  bool changed = false;
  static const unsigned char kSig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  if (::pread(fd, sb, sizeof sb, 0) == static_cast<ssize_t>(sizeof sb) && std::memcmp(sb, kSig, 8) == 0 &&
      (sb[8] == 2 || sb[8] == 3) && sb[9] == 8) {
    std::uint32_t stored = 0;
    std::memcpy(&stored, sb + 44, 4);  // little-endian on every platform nmsim builds on
    std::uint64_t eof = 0;
    std::memcpy(&eof, sb + 28, 8);
    const off_t size = ::lseek(fd, 0, SEEK_END);
    if (stored == H5_checksum_metadata(sb, 44, 0) && sb[11] != 0) {
      sb[11] = 0;
      // The killed writer may have written blocks past the end-of-file address it stored last;
      // everything it wrote lies within the file, so the file size is a safe end of file.
      if (size > 0 && eof < static_cast<std::uint64_t>(size)) {
        eof = static_cast<std::uint64_t>(size);
        std::memcpy(sb + 28, &eof, 8);
      }
      const std::uint32_t sum = H5_checksum_metadata(sb, 44, 0);
      std::memcpy(sb + 44, &sum, 4);
      changed = ::pwrite(fd, sb, sizeof sb, 0) == static_cast<ssize_t>(sizeof sb);
    }
  }
  ::close(fd);
  return changed;
}

void File::rename_to(const std::string& path) {
  std::error_code ec;
  std::filesystem::rename(path_, path, ec);
  if (ec) throw RuntimeError(fmt::format("cannot rename \"{}\" to \"{}\": {}", path_, path, ec.message()));
  path_ = path;
}

bool File::swmr_capable() const {
  Lock lock;
  H5F_info2_t info{};
  check(H5Fget_info2(id_.get(), &info), fmt::format("read the superblock of \"{}\"", path_));
  return info.super.version >= 3;
}

void File::start_swmr() {
  Lock lock;
  check(H5Fstart_swmr_write(id_.get()), fmt::format("start SWMR writing of \"{}\"", path_));
  swmr_ = true;
}

bool File::is_hdf5(const std::string& path) {
  quiet();
  Lock lock;
  const htri_t r = H5Fis_hdf5(path.c_str());
  H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

void File::flush() {
  Lock lock;
  check(H5Fflush(id_.get(), H5F_SCOPE_GLOBAL), fmt::format("flush \"{}\"", path_));
}

void File::close() { id_.close(fmt::format("close \"{}\"", path_)); }

GroupId create_group(hid_t loc, const std::string& name) {
  Lock lock;
  PlistId lcpl(check_id(H5Pcreate(H5P_LINK_CREATE), "create a property list"));
  check(H5Pset_create_intermediate_group(lcpl.get(), 1), "set a property list");
  return GroupId(check_id(H5Gcreate2(loc, name.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                          fmt::format("create group \"{}\"", name)));
}

GroupId open_group(hid_t loc, const std::string& name) {
  Lock lock;
  return GroupId(check_id(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), fmt::format("open group \"{}\"", name)));
}

bool exists(hid_t loc, const std::string& name) {
  Lock lock;
  // H5Lexists fails (rather than returning false) when an intermediate group is missing, so
  // walk the path one component at a time.
  std::string prefix = name.starts_with('/') ? "/" : "";
  std::size_t pos = prefix.size();
  while (pos < name.size()) {
    const std::size_t next = std::min(name.find('/', pos), name.size());
    if (next == pos) {
      ++pos;
      continue;
    }
    prefix += name.substr(pos, next - pos);
    if (prefix == "/") return true;
    const htri_t r = H5Lexists(loc, prefix.c_str(), H5P_DEFAULT);
    if (r <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    // Intermediate components must be groups to descend into them.
    if (next < name.size()) {
      H5O_info_t info;
      if (H5Oget_info_by_name2(loc, prefix.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
          info.type != H5O_TYPE_GROUP) {
        H5Eclear2(H5E_DEFAULT);
        return false;
      }
    }
    prefix += "/";
    pos = next + 1;
  }
  return true;
}

std::vector<std::string> list(hid_t loc, const std::string& name) {
  Lock lock;
  GroupId g = open_group(loc, name);
  std::vector<std::string> out;
  auto cb = [](hid_t, const char* link, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(link);
    return 0;
  };
  check(H5Literate(g.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, cb, &out), fmt::format("list \"{}\"", name));
  return out;
}

H5O_type_t object_type(hid_t loc, const std::string& name) {
  Lock lock;
  H5O_info_t info;
  check(H5Oget_info_by_name2(loc, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT),
        fmt::format("inspect \"{}\"", name));
  return info.type;
}

std::string name_of(hid_t obj) {
  Lock lock;
  const ssize_t n = H5Iget_name(obj, nullptr, 0);
  if (n <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return "?";
  }
  std::string s(static_cast<std::size_t>(n) + 1, '\0');
  H5Iget_name(obj, s.data(), s.size());
  s.resize(static_cast<std::size_t>(n));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Datasets

Dataset Dataset::create(hid_t loc, const std::string& name, hid_t file_type, const Layout& layout) {
  Lock lock;
  const std::string what = fmt::format("create dataset \"{}\"", name);
  const std::vector<hsize_t>& max = layout.max_dims.empty() ? layout.dims : layout.max_dims;
  SpaceId space(check_id(H5Screate_simple(static_cast<int>(layout.dims.size()), layout.dims.data(), max.data()),
                         what + " (dataspace [" + join_dims(layout.dims) + "])"));
  PlistId dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), what));
  if (!layout.chunk.empty()) {
    check(H5Pset_chunk(dcpl.get(), static_cast<int>(layout.chunk.size()), layout.chunk.data()),
          what + " (chunk [" + join_dims(layout.chunk) + "])");
    if (layout.deflate > 0) {
      if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0)
        throw RuntimeError("HDF5: cannot " + what +
                           ": this HDF5 library has no deflate (zlib) filter; "
                           "set output.compression = 0");
      check(H5Pset_shuffle(dcpl.get()), what);
      check(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(layout.deflate)), what);
    }
  }
  PlistId lcpl(check_id(H5Pcreate(H5P_LINK_CREATE), what));
  check(H5Pset_create_intermediate_group(lcpl.get(), 1), what);
  Dataset d;
  d.name_ = name;
  d.id_ = DatasetId(
      check_id(H5Dcreate2(loc, name.c_str(), file_type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT), what));
  return d;
}

Dataset Dataset::open(hid_t loc, const std::string& name) {
  Lock lock;
  Dataset d;
  d.name_ = name;
  d.id_ = DatasetId(check_id(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), fmt::format("open dataset \"{}\"", name)));
  return d;
}

std::vector<hsize_t> Dataset::shape() const {
  Lock lock;
  const std::string what = fmt::format("read the shape of \"{}\"", name_);
  SpaceId space(check_id(H5Dget_space(id_.get()), what));
  return space_dims(space.get(), what);
}

std::size_t Dataset::element_count() const {
  std::size_t n = 1;
  for (hsize_t d : shape()) n *= static_cast<std::size_t>(d);
  return n;
}

void Dataset::append_raw(hid_t mem_type, const void* data, hsize_t rows) {
  if (rows == 0) return;
  Lock lock;
  std::vector<hsize_t> dims = shape();
  const hsize_t first = dims.at(0);
  dims[0] += rows;
  check(H5Dset_extent(id_.get(), dims.data()), fmt::format("extend \"{}\" to [{}]", name_, join_dims(dims)));
  write_slab(mem_type, data, first, rows);
}

void Dataset::write_slab(hid_t mem_type, const void* data, hsize_t first, hsize_t count) {
  if (count == 0) return;
  Lock lock;
  const std::string what = fmt::format("write rows {}..{} of \"{}\"", first, first + count, name_);
  SpaceId file_space(check_id(H5Dget_space(id_.get()), what));
  std::vector<hsize_t> start = space_dims(file_space.get(), what);
  std::vector<hsize_t> block = start;
  std::fill(start.begin(), start.end(), 0);
  start.at(0) = first;
  block.at(0) = count;
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr), what);
  SpaceId mem_space(check_id(H5Screate_simple(static_cast<int>(block.size()), block.data(), nullptr), what));
  check(H5Dwrite(id_.get(), mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, data), what);
}

void Dataset::read_slab(hid_t mem_type, void* data, hsize_t first, hsize_t count) const {
  Lock lock;
  const std::string what = fmt::format("read \"{}\"", name_);
  SpaceId file_space(check_id(H5Dget_space(id_.get()), what));
  std::vector<hsize_t> start = space_dims(file_space.get(), what);
  if (start.empty()) {  // scalar
    check(H5Dread(id_.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), what);
    return;
  }
  std::vector<hsize_t> block = start;
  if (first + count > block[0])
    throw RuntimeError(
        fmt::format("HDF5: cannot {}: rows {}..{} requested, {} present", what, first, first + count, block[0]));
  std::fill(start.begin(), start.end(), 0);
  start[0] = first;
  block[0] = count;
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr), what);
  SpaceId mem_space(check_id(H5Screate_simple(static_cast<int>(block.size()), block.data(), nullptr), what));
  check(H5Dread(id_.get(), mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, data), what);
}

void write_string_dataset(hid_t loc, const std::string& name, const std::string& text) {
  Lock lock;
  const std::string what = fmt::format("write string dataset \"{}\"", name);
  TypeId type = vlen_string_type();
  SpaceId space(check_id(H5Screate(H5S_SCALAR), what));
  DatasetId d(
      check_id(H5Dcreate2(loc, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), what));
  const char* p = text.c_str();
  check(H5Dwrite(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), what);
  d.close(what);
}

std::string read_string_dataset(hid_t loc, const std::string& name) {
  Lock lock;
  const std::string what = fmt::format("read string dataset \"{}\"", name);
  DatasetId d(check_id(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), what));
  TypeId ftype(check_id(H5Dget_type(d.get()), what));
  if (H5Tget_class(ftype.get()) != H5T_STRING) throw RuntimeError("HDF5: cannot " + what + ": not a string");
  SpaceId space(check_id(H5Dget_space(d.get()), what));
  if (H5Sget_simple_extent_npoints(space.get()) != 1) throw RuntimeError("HDF5: cannot " + what + ": not a scalar");
  if (H5Tis_variable_str(ftype.get()) > 0) {
    TypeId mtype = vlen_string_type();
    char* p = nullptr;
    check(H5Dread(d.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), what);
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }
  const std::size_t n = H5Tget_size(ftype.get());
  std::string s(n, '\0');
  TypeId mtype(check_id(H5Tcopy(H5T_C_S1), what));
  check(H5Tset_size(mtype.get(), n), what);
  check(H5Dread(d.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, s.data()), what);
  s.resize(std::strlen(s.c_str()));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Attributes

namespace {

// Opens attribute `name` for rewriting when it exists with the same type and size, else
// deletes it and creates it anew: status and progress attributes are rewritten in place.
AttrId attr_for_write(hid_t obj, const std::string& name, hid_t file_type, hid_t space, const std::string& what) {
  const htri_t ex = H5Aexists(obj, name.c_str());
  if (ex < 0) fail(what);
  if (ex > 0) {
    AttrId a(check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), what));
    TypeId t(check_id(H5Aget_type(a.get()), what));
    SpaceId s(check_id(H5Aget_space(a.get()), what));
    if (H5Tequal(t.get(), file_type) > 0 && H5Sextent_equal(s.get(), space) > 0) return a;
    a.reset();
    check(H5Adelete(obj, name.c_str()), what);
  }
  return AttrId(check_id(H5Acreate2(obj, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT), what));
}

std::string attr_what(hid_t obj, const std::string& name, const char* verb) {
  return fmt::format("{} attribute \"{}\" of \"{}\"", verb, name, name_of(obj));
}

}  // namespace

void set_attr(hid_t obj, const std::string& name, const std::string& value) {
  Lock lock;
  const std::string what = attr_what(obj, name, "write");
  TypeId type = vlen_string_type();
  SpaceId space(check_id(H5Screate(H5S_SCALAR), what));
  AttrId a = attr_for_write(obj, name, type.get(), space.get(), what);
  const char* p = value.c_str();
  check(H5Awrite(a.get(), type.get(), &p), what);
}

void set_attr_raw(hid_t obj, const std::string& name, hid_t file_type, hid_t mem_type, const void* data, hsize_t count,
                  bool scalar) {
  Lock lock;
  const std::string what = attr_what(obj, name, "write");
  SpaceId space(check_id(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &count, nullptr), what));
  AttrId a = attr_for_write(obj, name, file_type, space.get(), what);
  check(H5Awrite(a.get(), mem_type, data), what);
}

void set_enum_attr(hid_t obj, const std::string& name, const std::vector<std::pair<std::string, int>>& members,
                   int value) {
  Lock lock;
  const std::string what = attr_what(obj, name, "write");
  TypeId type(check_id(H5Tenum_create(H5T_STD_I8LE), what));
  for (const auto& [label, v] : members) {
    const auto raw = static_cast<std::int8_t>(v);
    check(H5Tenum_insert(type.get(), label.c_str(), &raw), what);
  }
  SpaceId space(check_id(H5Screate(H5S_SCALAR), what));
  AttrId a = attr_for_write(obj, name, type.get(), space.get(), what);
  // The file type is little-endian int8, the same bytes in memory on every platform.
  const auto raw = static_cast<std::int8_t>(value);
  check(H5Awrite(a.get(), type.get(), &raw), what);
}

bool has_attr(hid_t obj, const std::string& name) {
  Lock lock;
  const htri_t r = H5Aexists(obj, name.c_str());
  if (r < 0) fail(attr_what(obj, name, "look up"));
  return r > 0;
}

std::vector<std::string> attr_names(hid_t obj) {
  Lock lock;
  std::vector<std::string> out;
  auto cb = [](hid_t, const char* n, const H5A_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(n);
    return 0;
  };
  hsize_t idx = 0;
  check(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, cb, &out),
        fmt::format("list the attributes of \"{}\"", name_of(obj)));
  return out;
}

std::string read_attr_string(hid_t obj, const std::string& name) {
  Lock lock;
  const std::string what = attr_what(obj, name, "read");
  AttrId a(check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), what));
  TypeId ftype(check_id(H5Aget_type(a.get()), what));
  if (H5Tget_class(ftype.get()) != H5T_STRING)
    throw RuntimeError(fmt::format("HDF5: cannot {}: it is a {}, not a string", what, type_name(ftype.get())));
  if (H5Tis_variable_str(ftype.get()) > 0) {
    TypeId mtype = vlen_string_type();
    char* p = nullptr;
    check(H5Aread(a.get(), mtype.get(), &p), what);
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }
  const std::size_t n = H5Tget_size(ftype.get());
  std::string s(n, '\0');
  TypeId mtype(check_id(H5Tcopy(H5T_C_S1), what));
  check(H5Tset_size(mtype.get(), n), what);
  check(H5Aread(a.get(), mtype.get(), s.data()), what);
  s.resize(std::strlen(s.c_str()));
  return s;
}

std::vector<double> read_attr_numbers(hid_t obj, const std::string& name) {
  Lock lock;
  const std::string what = attr_what(obj, name, "read");
  AttrId a(check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), what));
  TypeId ftype(check_id(H5Aget_type(a.get()), what));
  SpaceId space(check_id(H5Aget_space(a.get()), what));
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) fail(what);
  std::vector<double> out(static_cast<std::size_t>(n));
  const H5T_class_t cls = H5Tget_class(ftype.get());
  if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
    if (n > 0) check(H5Aread(a.get(), H5T_NATIVE_DOUBLE, out.data()), what);
    return out;
  }
  if (cls == H5T_ENUM) {
    // HDF5 converts enums only to enums: read the raw values in the enum's native layout and
    // interpret them through its integer base type.
    TypeId mtype(check_id(H5Tget_native_type(ftype.get(), H5T_DIR_ASCEND), what));
    TypeId base(check_id(H5Tget_super(mtype.get()), what));
    const std::size_t size = H5Tget_size(mtype.get());
    const bool is_signed = H5Tget_sign(base.get()) == H5T_SGN_2;
    std::vector<unsigned char> raw(size * static_cast<std::size_t>(n));
    if (n > 0) check(H5Aread(a.get(), mtype.get(), raw.data()), what);
    for (std::size_t i = 0; i < out.size(); ++i) {
      const unsigned char* p = raw.data() + i * size;
      std::int64_t sv = 0;
      std::uint64_t uv = 0;
      switch (size) {
        case 1:
          sv = *reinterpret_cast<const std::int8_t*>(p);
          uv = *p;
          break;
        case 2: {
          std::int16_t x;
          std::memcpy(&x, p, 2);
          sv = x;
          std::uint16_t y;
          std::memcpy(&y, p, 2);
          uv = y;
          break;
        }
        case 4: {
          std::int32_t x;
          std::memcpy(&x, p, 4);
          sv = x;
          std::uint32_t y;
          std::memcpy(&y, p, 4);
          uv = y;
          break;
        }
        default: {
          std::memcpy(&sv, p, 8);
          std::memcpy(&uv, p, 8);
          break;
        }
      }
      out[i] = is_signed ? static_cast<double>(sv) : static_cast<double>(uv);
    }
    return out;
  }
  throw RuntimeError(fmt::format("HDF5: cannot {}: it is a {}, not a number", what, type_name(ftype.get())));
}

std::string attr_type_name(hid_t obj, const std::string& name) {
  Lock lock;
  const std::string what = attr_what(obj, name, "read");
  AttrId a(check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), what));
  TypeId t(check_id(H5Aget_type(a.get()), what));
  return type_name(t.get());
}

std::string type_name(hid_t type) {
  Lock lock;
  const std::size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return fmt::format("{}int{}", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", 8 * size);
    case H5T_FLOAT:
      return fmt::format("float{}", 8 * size);
    case H5T_STRING:
      return "string";
    case H5T_ENUM: {
      std::string s = "enum(";
      const int n = H5Tget_nmembers(type);
      TypeId mtype(H5Tget_native_type(type, H5T_DIR_ASCEND));
      for (int i = 0; i < n; ++i) {
        char* label = H5Tget_member_name(type, static_cast<unsigned>(i));
        long long v = 0;
        std::vector<unsigned char> raw(size, 0);
        if (H5Tget_member_value(type, static_cast<unsigned>(i), raw.data()) >= 0) {
          if (size == 1)
            v = *reinterpret_cast<const std::int8_t*>(raw.data());
          else if (size == 2) {
            std::int16_t x;
            std::memcpy(&x, raw.data(), 2);
            v = x;
          } else if (size == 4) {
            std::int32_t x;
            std::memcpy(&x, raw.data(), 4);
            v = x;
          } else {
            std::int64_t x;
            std::memcpy(&x, raw.data(), 8);
            v = x;
          }
        }
        s += fmt::format("{}{}={}", i ? "," : "", label ? label : "?", v);
        H5free_memory(label);
      }
      H5Eclear2(H5E_DEFAULT);
      return s + ")";
    }
    case H5T_COMPOUND:
      return "compound";
    case H5T_ARRAY:
      return "array";
    case H5T_VLEN:
      return "vlen";
    case H5T_OPAQUE:
      return "opaque";
    case H5T_REFERENCE:
      return "reference";
    case H5T_BITFIELD:
      return "bitfield";
    default:
      return "unknown";
  }
}

}  // namespace nmsim::io::h5
