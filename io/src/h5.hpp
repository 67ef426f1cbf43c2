#pragma once
// A thin RAII layer over the HDF5 C API: the only code in nmsim that includes hdf5.h (private to
// nmsim_io; public io headers never include it).
//
// - Every HDF5 failure becomes an nmsim::RuntimeError whose message names the operation, the
//   object and HDF5's own innermost reason; HDF5's automatic error printing is switched off.
// - Debian's libhdf5 is built without thread safety, so every call through this layer holds one
//   process-wide recursive lock: several recorders (e.g. a sweep run in threads) may write
//   different files at the same time without corrupting the library's global state.
// - Recorder output files are written in SWMR mode (single writer, multiple readers; the 1.10
//   "latest" format, File::create(path, true) then start_swmr()): HDF5 then writes every metadata
//   block after the blocks it points to and never overwrites space that the file on disk still
//   uses, so a writer killed at any moment leaves a file that SWMR readers open with everything up
//   to its last flush. Such a file keeps its "open for writing" flags; File::open retries with
//   SWMR read access, and clear_write_flags() clears them before the file is written again
//   (docs/reliability.md).
#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace nmsim::io::h5 {

/// Holds the process-wide HDF5 lock for its lifetime (recursive: nested use is fine).
class Lock {
 public:
  Lock();

 private:
  std::unique_lock<std::recursive_mutex> lock_;
};

/// Switch off HDF5's printing of error stacks (idempotent; called by every entry point).
void quiet();

/// Throw RuntimeError("HDF5: <what>: <innermost HDF5 reason>") and clear HDF5's error stack.
[[noreturn]] void fail(const std::string& what);
/// Pass through a valid id / non-negative status, or fail(what).
hid_t check_id(hid_t id, const std::string& what);
herr_t check(herr_t status, const std::string& what);

/// Owns one HDF5 identifier and closes it with `Close`. Move-only.
template <herr_t (*Close)(hid_t)>
class Id {
 public:
  Id() = default;
  explicit Id(hid_t id) : id_(id) {}
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  Id(Id&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  Id& operator=(Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  ~Id() { reset(); }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Close now; errors are ignored (destructor path). Use close() where failure matters.
  void reset() {
    if (id_ >= 0) {
      Lock lock;
      Close(id_);
      id_ = H5I_INVALID_HID;
    }
  }
  /// Close now and report failure.
  void close(const std::string& what) {
    if (id_ >= 0) {
      Lock lock;
      const hid_t id = std::exchange(id_, H5I_INVALID_HID);
      check(Close(id), what);
    }
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using FileId = Id<H5Fclose>;
using GroupId = Id<H5Gclose>;
using DatasetId = Id<H5Dclose>;
using AttrId = Id<H5Aclose>;
using SpaceId = Id<H5Sclose>;
using TypeId = Id<H5Tclose>;
using PlistId = Id<H5Pclose>;

/// Memory and file (little-endian, portable) types of the arithmetic types we store.
template <class T>
struct Type;
template <>
struct Type<float> {
  static hid_t mem() { return H5T_NATIVE_FLOAT; }
  static hid_t file() { return H5T_IEEE_F32LE; }
};
template <>
struct Type<double> {
  static hid_t mem() { return H5T_NATIVE_DOUBLE; }
  static hid_t file() { return H5T_IEEE_F64LE; }
};
template <>
struct Type<std::int8_t> {
  static hid_t mem() { return H5T_NATIVE_INT8; }
  static hid_t file() { return H5T_STD_I8LE; }
};
template <>
struct Type<std::int32_t> {
  static hid_t mem() { return H5T_NATIVE_INT32; }
  static hid_t file() { return H5T_STD_I32LE; }
};
template <>
struct Type<std::int64_t> {
  static hid_t mem() { return H5T_NATIVE_INT64; }
  static hid_t file() { return H5T_STD_I64LE; }
};
template <>
struct Type<std::uint32_t> {
  static hid_t mem() { return H5T_NATIVE_UINT32; }
  static hid_t file() { return H5T_STD_U32LE; }
};
template <>
struct Type<std::uint64_t> {
  static hid_t mem() { return H5T_NATIVE_UINT64; }
  static hid_t file() { return H5T_STD_U64LE; }
};

// ---------------------------------------------------------------------------------------------
// Files and groups

class File {
 public:
  /// Create `path`, truncating an existing file; `swmr_format`: the latest file format, needed by
  /// start_swmr().
  /// Messages name the file `shown` when given (a file created under a temporary name).
  static File create(const std::string& path, bool swmr_format = false, const std::string& shown = "");
  /// Open an existing file read-only or read-write. Read-only opens fall back to SWMR read access
  /// (a file being written, or whose SWMR writer died).
  static File open(const std::string& path, bool writable = false);
  /// Open read-write and continue in SWMR mode (a recorder output file, after clear_write_flags).
  static File open_swmr_format(const std::string& path);
  /// Clear the "open for writing" flags that a killed SWMR writer leaves in the superblock, and
  /// raise its end-of-file address to the file size when it is smaller (the writer may have
  /// written blocks past the address it last stored). No-op for files without such flags.
  /// Returns true when something was changed.
  static bool clear_write_flags(const std::string& path);
  /// Switch to SWMR writing: from now on no object or attribute may be created or deleted; every
  /// attribute must be closed when called.
  void start_swmr();
  bool swmr() const { return swmr_; }
  /// True when the file's superblock can take SWMR writing (version 3: created by
  /// create(path, true)); files written by nmsim before SWMR output have version 0.
  bool swmr_capable() const;
  /// Rename the file on disk (it stays open; POSIX rename, atomic within a file system).
  void rename_to(const std::string& path);
  /// True when `path` exists and carries the HDF5 signature.
  static bool is_hdf5(const std::string& path);

  hid_t id() const { return id_.get(); }
  bool is_open() const { return id_.valid(); }
  const std::string& path() const { return path_; }
  /// Write every buffered change to disk (H5Fflush, global scope).
  void flush();
  /// Close with error checking.
  void close();

 private:
  FileId id_;
  std::string path_;
  bool swmr_ = false;
};

/// Create group `name` under `loc` ("a/b/c": missing intermediate groups are created too).
GroupId create_group(hid_t loc, const std::string& name);
GroupId open_group(hid_t loc, const std::string& name);
/// True when every component of the relative or absolute path `name` exists under `loc`.
bool exists(hid_t loc, const std::string& name);
/// Names of the links in group `name` under `loc`, in name order.
std::vector<std::string> list(hid_t loc, const std::string& name);
/// H5O_TYPE_GROUP, H5O_TYPE_DATASET, ... of the object at `name`.
H5O_type_t object_type(hid_t loc, const std::string& name);
/// Full path of an object (H5Iget_name), for messages.
std::string name_of(hid_t obj);

// ---------------------------------------------------------------------------------------------
// Datasets

/// Storage of a new dataset. Chunked datasets may have unlimited dimensions (H5S_UNLIMITED in
/// max_dims) and are extended as data arrives; deflate > 0 adds shuffle + deflate(level).
struct Layout {
  std::vector<hsize_t> dims;      // initial extent
  std::vector<hsize_t> max_dims;  // empty = same as dims (fixed size)
  std::vector<hsize_t> chunk;     // empty = contiguous
  int deflate = 0;                // 0..9
};

class Dataset {
 public:
  Dataset() = default;
  static Dataset create(hid_t loc, const std::string& name, hid_t file_type, const Layout& layout);
  static Dataset open(hid_t loc, const std::string& name);
  /// A 1-D dataset of fixed size holding `values` (contiguous; for small mapping arrays).
  template <class T>
  static Dataset create_filled(hid_t loc, const std::string& name, const std::vector<T>& values) {
    Dataset d = create(loc, name, Type<T>::file(), Layout{{values.size()}, {}, {}, 0});
    if (!values.empty()) d.write_slab(Type<T>::mem(), values.data(), 0, values.size());
    return d;
  }

  hid_t id() const { return id_.get(); }
  bool valid() const { return id_.valid(); }
  const std::string& name() const { return name_; }
  std::vector<hsize_t> shape() const;
  /// Extend dimension 0 by `rows` and write them; `data` holds rows * (product of the other
  /// dimensions) values in row-major order.
  template <class T>
  void append(const T* data, hsize_t rows) {
    append_raw(Type<T>::mem(), data, rows);
  }
  /// Write `count` rows starting at row `first` (within the current extent).
  template <class T>
  void write_rows(const T* data, hsize_t first, hsize_t count) {
    write_slab(Type<T>::mem(), data, first, count);
  }
  /// The whole dataset converted to T (HDF5 converts between numeric types).
  template <class T>
  std::vector<T> read() const {
    std::vector<T> out(element_count());
    if (!out.empty()) read_slab(Type<T>::mem(), out.data(), 0, shape().empty() ? 1 : shape()[0]);
    return out;
  }
  /// Rows [first, first + count) converted to T.
  template <class T>
  std::vector<T> read_rows(hsize_t first, hsize_t count) const {
    const auto s = shape();
    hsize_t per_row = 1;
    for (std::size_t i = 1; i < s.size(); ++i) per_row *= s[i];
    std::vector<T> out(count * per_row);
    if (!out.empty()) read_slab(Type<T>::mem(), out.data(), first, count);
    return out;
  }
  std::size_t element_count() const;

 private:
  void append_raw(hid_t mem_type, const void* data, hsize_t rows);
  void write_slab(hid_t mem_type, const void* data, hsize_t first, hsize_t count);
  void read_slab(hid_t mem_type, void* data, hsize_t first, hsize_t count) const;
  DatasetId id_;
  std::string name_;
};

/// A scalar variable-length UTF-8 string dataset (h5py: f[name][()].decode() or .asstr()).
void write_string_dataset(hid_t loc, const std::string& name, const std::string& text);
std::string read_string_dataset(hid_t loc, const std::string& name);

// ---------------------------------------------------------------------------------------------
// Attributes (created, or overwritten when they exist)

/// Variable-length UTF-8 string (h5py reads it as str).
void set_attr(hid_t obj, const std::string& name, const std::string& value);
inline void set_attr(hid_t obj, const std::string& name, const char* value) { set_attr(obj, name, std::string(value)); }
void set_attr_raw(hid_t obj, const std::string& name, hid_t file_type, hid_t mem_type, const void* data, hsize_t count,
                  bool scalar);
template <class T>
requires std::is_arithmetic_v<T>
void set_attr(hid_t obj, const std::string& name, T value) {
  set_attr_raw(obj, name, Type<T>::file(), Type<T>::mem(), &value, 1, true);
}
template <class T>
void set_attr(hid_t obj, const std::string& name, const std::vector<T>& values) {
  set_attr_raw(obj, name, Type<T>::file(), Type<T>::mem(), values.data(), values.size(), false);
}
/// An enumeration attribute over an int8 base (SONATA's `sorting` is such an enum).
void set_enum_attr(hid_t obj, const std::string& name, const std::vector<std::pair<std::string, int>>& members,
                   int value);

bool has_attr(hid_t obj, const std::string& name);
std::vector<std::string> attr_names(hid_t obj);
std::string read_attr_string(hid_t obj, const std::string& name);
/// Numeric attribute (scalar or array) converted to double; enum attributes give their integer
/// values.
std::vector<double> read_attr_numbers(hid_t obj, const std::string& name);
/// Type of an attribute in words (see type_name).
std::string attr_type_name(hid_t obj, const std::string& name);

/// "float32", "float64", "int8".."uint64", "string", "enum(none=0,by_id=1,...)", "compound", ...
std::string type_name(hid_t type);

}  // namespace nmsim::io::h5
