// Checkpoint files: layout and atomicity in nmsim/io/checkpoint.hpp and docs/checkpoint.md.
// The state passes through a MemoryState: components write named arrays, which become one
// dataset each under /state (and /recorder); reading loads every dataset back before anything
// is restored, so a damaged file is found before a single array is applied.
#include "nmsim/io/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "h5.hpp"
#include "nmsim/core/error.hpp"
#include "nmsim/io/version.hpp"

namespace nmsim::io {

namespace {

constexpr std::uint32_t kFormat =
    3;  // 2: neuron/g_rate of stdp_eligibility (held fields); 3: grid fields step at the block start
constexpr std::size_t kBlock = std::size_t{8} << 20;  // bytes per read/write of the output image

hid_t file_type(StateType t) {
  switch (t) {
    case StateType::f64: return H5T_IEEE_F64LE;
    case StateType::i64: return H5T_STD_I64LE;
    case StateType::u64: return H5T_STD_U64LE;
    case StateType::i32: return H5T_STD_I32LE;
    case StateType::u32: return H5T_STD_U32LE;
    case StateType::u16: return H5T_STD_U16LE;
    case StateType::u8: return H5T_STD_U8LE;
  }
  return H5T_STD_U8LE;
}

hid_t mem_type(StateType t) {
  switch (t) {
    case StateType::f64: return H5T_NATIVE_DOUBLE;
    case StateType::i64: return H5T_NATIVE_INT64;
    case StateType::u64: return H5T_NATIVE_UINT64;
    case StateType::i32: return H5T_NATIVE_INT32;
    case StateType::u32: return H5T_NATIVE_UINT32;
    case StateType::u16: return H5T_NATIVE_UINT16;
    case StateType::u8: return H5T_NATIVE_UINT8;
  }
  return H5T_NATIVE_UINT8;
}

// One 1-D dataset of n elements at `name` (intermediate groups created), contiguous.
h5::DatasetId create_1d(hid_t loc, const std::string& name, hid_t type, hsize_t n) {
  const std::string what = fmt::format("create \"{}\"", name);
  h5::SpaceId space(h5::check_id(H5Screate_simple(1, &n, nullptr), what));
  h5::PlistId lcpl(h5::check_id(H5Pcreate(H5P_LINK_CREATE), what));
  h5::check(H5Pset_create_intermediate_group(lcpl.get(), 1), what);
  return h5::DatasetId(h5::check_id(H5Dcreate2(loc, name.c_str(), type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), what));
}

// Write `bytes` (n elements of `type`) at elements [first, first + n) of a 1-D dataset.
void write_1d(hid_t d, StateType type, const void* data, hsize_t first, hsize_t n, const std::string& name) {
  if (n == 0) return;
  const std::string what = fmt::format("write \"{}\"", name);
  h5::SpaceId fs(h5::check_id(H5Dget_space(d), what));
  h5::check(H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, &first, nullptr, &n, nullptr), what);
  h5::SpaceId ms(h5::check_id(H5Screate_simple(1, &n, nullptr), what));
  h5::check(H5Dwrite(d, mem_type(type), ms.get(), fs.get(), H5P_DEFAULT, data), what);
}

void read_1d(hid_t d, StateType type, void* out, hsize_t first, hsize_t n, const std::string& name) {
  if (n == 0) return;
  const std::string what = fmt::format("read \"{}\"", name);
  h5::SpaceId fs(h5::check_id(H5Dget_space(d), what));
  h5::check(H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, &first, nullptr, &n, nullptr), what);
  h5::SpaceId ms(h5::check_id(H5Screate_simple(1, &n, nullptr), what));
  h5::check(H5Dread(d, mem_type(type), ms.get(), fs.get(), H5P_DEFAULT, out), what);
}

void write_state(hid_t loc, const std::string& root, const MemoryState& s) {
  h5::GroupId g = h5::create_group(loc, root);
  for (const auto& [path, e] : s.entries()) {
    const hsize_t n = e.bytes.size() / state_type_size(e.type);
    h5::DatasetId d = create_1d(g.get(), path, file_type(e.type), n);
    write_1d(d.get(), e.type, e.bytes.data(), 0, n, root + "/" + path);
  }
}

// Every dataset under `root` (recursively) into `out`, named by its path below root.
void read_state(hid_t loc, const std::string& root, const std::string& rel, MemoryState& out) {
  static const StateType kTypes[] = {StateType::f64, StateType::i64, StateType::u64, StateType::i32,
                                     StateType::u32, StateType::u16, StateType::u8};
  const std::string here = rel.empty() ? root : root + "/" + rel;
  for (const std::string& name : h5::list(loc, here)) {
    const std::string child = rel.empty() ? name : rel + "/" + name;
    const std::string full = root + "/" + child;
    if (h5::object_type(loc, full) == H5O_TYPE_GROUP) {
      read_state(loc, root, child, out);
      continue;
    }
    h5::DatasetId d(h5::check_id(H5Dopen2(loc, full.c_str(), H5P_DEFAULT), "open \"" + full + "\""));
    h5::TypeId t(h5::check_id(H5Dget_type(d.get()), "type of \"" + full + "\""));
    const StateType* type = nullptr;
    for (const StateType& k : kTypes)
      if (H5Tequal(t.get(), file_type(k)) > 0) type = &k;
    if (!type) throw StateError(full, "unexpected element type in a checkpoint");
    h5::SpaceId sp(h5::check_id(H5Dget_space(d.get()), "space of \"" + full + "\""));
    if (H5Sget_simple_extent_ndims(sp.get()) != 1) throw StateError(full, "expected a 1-D array");
    hsize_t n = 0;
    H5Sget_simple_extent_dims(sp.get(), &n, nullptr);
    std::vector<unsigned char> bytes(n * state_type_size(*type));
    read_1d(d.get(), *type, bytes.data(), 0, n, full);
    out.insert(child, *type, std::move(bytes));
  }
}

std::string iso_utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Make a finished file durable: its data, then (after the rename) the directory entry.
void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::string parent_dir(const std::string& path) {
  const std::filesystem::path p = std::filesystem::path(path).parent_path();
  return p.empty() ? "." : p.string();
}

}  // namespace

bool is_checkpoint(const std::string& path) {
  if (!h5::File::is_hdf5(path)) return false;
  try {
    h5::File f = h5::File::open(path);
    h5::Lock lock;
    return h5::has_attr(f.id(), "nmsim_checkpoint");
  } catch (const std::exception&) {
    return false;
  }
}

std::string describe_checkpoint(const std::string& path) {
  const Checkpoint c = Checkpoint::open(path);
  std::size_t n = 0, bytes = 0;
  for (const auto& [p, e] : c.impl_state().entries()) ++n, bytes += e.bytes.size();
  std::size_t lines = 0;
  for (char ch : c.config_toml()) lines += ch == '\n';
  std::string version, created;
  double threads = 0;
  std::uint64_t image = 0;
  {
    h5::File f = h5::File::open(path);
    h5::Lock lock;
    version = h5::read_attr_string(f.id(), "nmsim_version");
    created = h5::read_attr_string(f.id(), "created");
    const auto t = h5::read_attr_numbers(f.id(), "threads");
    threads = t.empty() ? 0 : t[0];
    image = h5::Dataset::open(f.id(), "output").shape().at(0);
  }
  return fmt::format(
      "{}: nmsim {} checkpoint (format {})\n"
      "at t = {:.12g} ms (step {}); seed {}, dt {} ms; written {} by a run with {} thread(s)\n"
      "output: {} (its {} bytes at the checkpoint are kept here)\n"
      "config: {} lines of TOML in /config\n"
      "state: {} arrays, {} bytes\n"
      "continue with: nmsim run CONFIG --resume {}\n",
      path, version, kFormat, c.time(), c.step(), c.seed(), c.dt(), created, threads, c.output_file(), image, lines,
      n, bytes, path);
}

std::string checkpoint_path_for(const std::string& output_file) {
  const std::string ext = ".h5";
  if (output_file.size() > ext.size() && output_file.compare(output_file.size() - ext.size(), ext.size(), ext) == 0)
    return output_file.substr(0, output_file.size() - ext.size()) + ".ckpt.h5";
  return output_file + ".ckpt.h5";
}

void write_checkpoint(const std::string& path, const Simulation& sim, Recorder& recorder,
                      const std::string& config_toml) {
  // Collect first: a component without checkpoint support fails before any file is touched.
  MemoryState state, rec;
  sim.save_state(state);
  recorder.save_state(rec);  // flushes the output file: its bytes on disk are the run so far

  const std::string tmp = fmt::format("{}.tmp-{}", path, static_cast<long>(::getpid()));
  try {
    h5::File f = h5::File::create(tmp);
    {
      h5::Lock lock;
      const hid_t root = f.id();
      h5::set_attr(root, "nmsim_checkpoint", kFormat);
      h5::set_attr(root, "nmsim_version", std::string(version()));
      h5::set_attr(root, "created", iso_utc_now());
      h5::set_attr(root, "seed", static_cast<std::uint64_t>(sim.seed()));
      h5::set_attr(root, "dt", sim.dt());
      h5::set_attr(root, "step", static_cast<std::int64_t>(sim.now()));
      h5::set_attr(root, "time", sim.time());
      h5::set_attr(root, "threads", static_cast<std::int32_t>(sim.threads()));
      h5::set_attr(root, "output_file", recorder.file());
      h5::write_string_dataset(root, "config", config_toml);
      write_state(root, "state", state);
      write_state(root, "recorder", rec);

      std::ifstream in(recorder.file(), std::ios::binary);
      if (!in) throw RuntimeError(fmt::format("checkpoint: cannot read the output file \"{}\"", recorder.file()));
      const auto size = static_cast<hsize_t>(std::filesystem::file_size(recorder.file()));
      h5::DatasetId d = create_1d(root, "output", H5T_STD_U8LE, size);
      h5::set_attr(d.get(), "file", recorder.file());
      std::vector<char> buf(kBlock);
      for (hsize_t at = 0; at < size;) {
        const hsize_t n = std::min<hsize_t>(kBlock, size - at);
        in.read(buf.data(), static_cast<std::streamsize>(n));
        if (static_cast<hsize_t>(in.gcount()) != n)
          throw RuntimeError(fmt::format("checkpoint: short read of the output file \"{}\"", recorder.file()));
        write_1d(d.get(), StateType::u8, buf.data(), at, n, "output");
        at += n;
      }
    }
    f.close();
    fsync_path(tmp, false);
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) throw RuntimeError(fmt::format("checkpoint: cannot rename \"{}\" to \"{}\": {}", tmp, path, ec.message()));
    fsync_path(parent_dir(path), true);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

struct Checkpoint::Impl {
  std::string path, config, output_file;
  std::uint64_t seed = 0;
  double dt = 0.0;
  Step step = 0;
  MemoryState state, recorder;
};

Checkpoint::Checkpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;
Checkpoint::~Checkpoint() = default;

Checkpoint Checkpoint::open(const std::string& path) {
  const SourcePos where{path, 0, 0};
  if (!std::filesystem::is_regular_file(path))
    throw ConfigError(where, "--resume", "expected a checkpoint file, found no such file");
  if (!h5::File::is_hdf5(path))
    throw ConfigError(where, "--resume", "expected an nmsim checkpoint (HDF5), found a file that is not HDF5");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  try {
    h5::File f = h5::File::open(path);
    h5::Lock lock;
    const hid_t root = f.id();
    if (!h5::has_attr(root, "nmsim_checkpoint"))
      throw ConfigError(where, "--resume", "expected an nmsim checkpoint, found an HDF5 file without the nmsim_checkpoint attribute"
                                           " (an output file? checkpoints are written by --checkpoint-every)");
    const auto format = h5::read_attr_numbers(root, "nmsim_checkpoint");
    if (format.size() != 1 || format[0] != kFormat)
      throw ConfigError(where, "--resume",
                        fmt::format("expected checkpoint format {}, found {} (written by another nmsim version)", kFormat,
                                    format.empty() ? 0.0 : format[0]));
    impl->config = h5::read_string_dataset(root, "config");
    impl->output_file = h5::read_attr_string(root, "output_file");
    read_state(root, "state", "", impl->state);
    read_state(root, "recorder", "", impl->recorder);
    if (!h5::exists(root, "output")) throw StateError("output", "missing");
    impl->seed = impl->state.StateReader::scalar<std::uint64_t>("seed");
    impl->dt = impl->state.StateReader::scalar<double>("dt");
    impl->step = impl->state.StateReader::scalar<Step>("now");
  } catch (const StateError& e) {
    throw ConfigError(where, "--resume", fmt::format("damaged or incomplete checkpoint ({}: {})", e.key(), e.detail()));
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    throw ConfigError(where, "--resume", fmt::format("expected a complete nmsim checkpoint, found a damaged or truncated file ({})", e.what()));
  }
  return Checkpoint(std::move(impl));
}

const std::string& Checkpoint::path() const { return impl_->path; }
const std::string& Checkpoint::config_toml() const { return impl_->config; }
const std::string& Checkpoint::output_file() const { return impl_->output_file; }
std::uint64_t Checkpoint::seed() const { return impl_->seed; }
double Checkpoint::dt() const { return impl_->dt; }
Step Checkpoint::step() const { return impl_->step; }
double Checkpoint::time() const { return static_cast<double>(impl_->step) * impl_->dt; }
const MemoryState& Checkpoint::impl_state() const { return impl_->state; }
const StateReader& Checkpoint::simulation_state() const { return impl_->state; }
const StateReader& Checkpoint::recorder_state() const { return impl_->recorder; }

void Checkpoint::extract_output(const std::string& output_file) const {
  const std::string tmp = fmt::format("{}.tmp-{}", output_file, static_cast<long>(::getpid()));
  try {
    {
      h5::File f = h5::File::open(impl_->path);
      h5::Lock lock;
      h5::DatasetId d(h5::check_id(H5Dopen2(f.id(), "output", H5P_DEFAULT), "open \"output\""));
      h5::SpaceId sp(h5::check_id(H5Dget_space(d.get()), "space of \"output\""));
      hsize_t size = 0;
      H5Sget_simple_extent_dims(sp.get(), &size, nullptr);
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw RuntimeError(fmt::format("cannot create \"{}\"", tmp));
      std::vector<char> buf(kBlock);
      for (hsize_t at = 0; at < size;) {
        const hsize_t n = std::min<hsize_t>(kBlock, size - at);
        read_1d(d.get(), StateType::u8, buf.data(), at, n, "output");
        out.write(buf.data(), static_cast<std::streamsize>(n));
        at += n;
      }
      out.close();
      if (!out) throw RuntimeError(fmt::format("cannot write \"{}\"", tmp));
    }
    std::error_code ec;
    std::filesystem::rename(tmp, output_file, ec);
    if (ec) throw RuntimeError(fmt::format("cannot rename \"{}\" to \"{}\": {}", tmp, output_file, ec.message()));
  } catch (const std::exception& e) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw ConfigError({impl_->path, 0, 0}, "--resume",
                      fmt::format("cannot restore the output file \"{}\" from the checkpoint ({})", output_file, e.what()));
  }
}

}  // namespace nmsim::io
