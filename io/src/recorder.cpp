#include "nmsim/io/recorder.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "h5.hpp"
#include "nmsim/core/error.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/io/version.hpp"
#include "recorder_impl.hpp"

namespace nmsim::io {

namespace detail {

bool is_multiple_of(double t, double dt) {
  const double s = t / dt;
  return std::fabs(s - std::round(s)) <= 1e-6 * std::max(1.0, std::fabs(s));
}

std::string names_of(const std::vector<std::string>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

void check_name(const std::string& name, const std::string& key, const char* what) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    throw ConfigError({}, key, fmt::format("expected a {} name without '/', found \"{}\"", what, name));
}

void Schedule::check_request(const std::string& key) const {
  if (!(interval >= 0) || !std::isfinite(interval))
    throw ConfigError({}, key + ".interval", fmt::format("expected an interval >= 0 ms, found {} ms", interval));
  if (!(start >= 0) || !std::isfinite(start))
    throw ConfigError({}, key + ".start", fmt::format("expected a start time >= 0 ms, found {} ms", start));
  if (!(stop >= start))
    throw ConfigError({}, key + ".stop",
                      fmt::format("expected a stop time >= start = {} ms, found {} ms", start, stop));
}

void Schedule::resolve(double dt, Step now, const std::string& key) {
  const double iv = interval == 0 ? dt : interval;
  if (!is_multiple_of(iv, dt))
    throw ConfigError({}, key + ".interval",
                      fmt::format("expected a multiple of dt = {} ms, found {} ms", dt, interval));
  if (!is_multiple_of(start, dt))
    throw ConfigError({}, key + ".start", fmt::format("expected a multiple of dt = {} ms, found {} ms", dt, start));
  interval_steps = std::max<Step>(1, std::llround(iv / dt));
  const Step start_step = std::llround(start / dt);
  last_j = kNoStop;
  if (std::isfinite(stop) && stop / dt < static_cast<double>(kNoStop)) {
    const double s = stop / dt;
    last_j = static_cast<Step>(std::floor(s + 1e-6 * std::max(1.0, s)));
  }
  // First sample time at or after both start and the current time, on the start + m * interval grid.
  const Step j0 = std::max(start_step, now);
  first_j = start_step + (j0 - start_step + interval_steps - 1) / interval_steps * interval_steps;
}

void SampledRows::create(hid_t group, const std::string& data_name, const std::string& time_name,
                         const std::string& units, const Schedule& s, double dt, double duration, int deflate) {
  const hsize_t n = width;
  const hsize_t cols = std::max<hsize_t>(1, std::min<hsize_t>(n, 1024));
  hsize_t chunk_rows = std::max<hsize_t>(1, kSampleChunkElements / cols);
  if (duration > 0) {
    // A short recording gets a chunk no taller than the whole recording.
    const double expected = duration / (static_cast<double>(s.interval_steps) * dt) + 1;
    if (expected < static_cast<double>(chunk_rows)) chunk_rows = std::max<hsize_t>(1, static_cast<hsize_t>(expected));
  }
  const h5::Layout layout{{0, n}, {H5S_UNLIMITED, n > 0 ? n : H5S_UNLIMITED}, {chunk_rows, cols}, deflate};
  data = h5::Dataset::create(group, data_name, h5::Type<float>::file(), layout);
  h5::set_attr(data.id(), "units", units);
  time = h5::Dataset::create_filled(group, time_name, std::vector<double>(3, 0.0));
  h5::set_attr(time.id(), "units", "ms");
  write_time(s, dt);
}

void SampledRows::write_time(const Schedule& s, double dt) {
  const double t[3] = {static_cast<double>(s.first_j) * dt, static_cast<double>(s.step_of_row(rows_written)) * dt,
                       static_cast<double>(s.interval_steps) * dt};
  time.write_rows(t, 0, 3);
}

void SampledRows::write(const Schedule& s, double dt) {
  if (pending_rows == 0) return;
  data.append(pending.data(), pending_rows);
  rows_written += pending_rows;
  pending_rows = 0;
  pending.clear();
  write_time(s, dt);
}

}  // namespace detail

namespace {

using namespace detail;

// Past this much buffered data a flush happens before flush_interval is reached, so memory stays
// bounded for large recordings.
constexpr std::size_t kMaxPendingBytes = std::size_t{64} << 20;
// Chunk sizes: large enough for efficient compression and few index entries, small enough that
// a short run does not carry megabytes of empty chunk space (~128 KiB per chunk).
constexpr hsize_t kSpikeChunk = 16384;

std::string iso_utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::size_t Recorder::Impl::pending_bytes() const {
  std::size_t b = 0;
  for (const auto& s : spikes) b += s.times.size() * (sizeof(double) + sizeof(std::uint64_t));
  for (const auto& r : states) b += r.rows.pending.size() * sizeof(float);
  for (const auto& r : weights) b += r.rows.pending.size() * sizeof(float);
  for (const auto& r : modulators) b += r.rows.pending.size() * sizeof(float);
  return b;
}

void Recorder::Impl::write_pending() {
  h5::Lock lock;
  for (auto& s : spikes) {
    s.timestamps.append(s.times.data(), s.times.size());
    s.node_ids.append(s.ids.data(), s.ids.size());
    s.times.clear();
    s.ids.clear();
  }
  for (auto& r : states) r.rows.write(r.schedule, dt);
  for (auto& r : weights) r.rows.write(r.schedule, dt);
  for (auto& r : modulators) {
    r.rows.write(r.schedule, dt);
    if (!r.snap_times.empty()) {
      r.snap_data.append(r.snap_pending.data(), r.snap_times.size());
      r.snap_time.append(r.snap_times.data(), r.snap_times.size());
      r.snap_pending.clear();
      r.snap_times.clear();
    }
  }
  write_trials();
}

std::size_t Recorder::Impl::bytes_to_reserve() const {
  // Chunks already on disk that get more rows are rewritten (compressed: at the end of the
  // file), so every dataset may rewrite one chunk of <= 128 KiB; metadata needs far less than
  // the 1 MiB added for it.
  std::size_t datasets = 2 * spikes.size() + states.size() + weights.size() + 2 * modulators.size();
  std::size_t b = pending_bytes() + (datasets << 17) + (std::size_t{1} << 20);
  for (const auto& r : modulators) b += r.snap_pending.size() * sizeof(float);
  return b;
}

void Recorder::Impl::reserve(std::size_t bytes) {
  if (reserve_fd < 0) return;
  struct stat st {};
  if (::fstat(reserve_fd, &st) != 0) return;
  const off_t size = st.st_size;
  const int err = ::posix_fallocate(reserve_fd, size, static_cast<off_t>(bytes));
  // On success the file keeps the reserved tail while HDF5 writes into it: HDF5 may write its
  // superblock (with the new end-of-file address) before the data that extends the file, and a
  // process killed in between would leave a file shorter than the superblock says, which HDF5
  // refuses to open ("truncated file"). With the tail in place the file is never shorter; HDF5
  // ignores bytes past its end-of-file address and cuts them off at the end of its flush.
  if (err == 0 || err == EINVAL || err == EOPNOTSUPP) return;  // the last two: cannot tell; go ahead
  if (::ftruncate(reserve_fd, size) != 0) {
    // Keeps a partial tail: harmless, as above.
  }
  write_failed = true;
  throw RuntimeError(
      fmt::format("cannot write to the output file \"{}\": {} (about {} MiB more were needed); it "
                  "holds the run up to t = {} ms, its last flush",
                  options.file, std::strerror(err), (bytes >> 20) + 1, static_cast<double>(last_flush_step) * dt));
}

void Recorder::Impl::trim() noexcept {
  // After a complete flush the file is consistent at HDF5's end of file: drop the reserved tail.
  hsize_t size = 0;
  if (reserve_fd < 0 || !file.is_open()) return;
  h5::Lock lock;
  if (H5Fget_filesize(file.id(), &size) >= 0 && size > 0 && ::ftruncate(reserve_fd, static_cast<off_t>(size)) != 0) {
    // Keeps the tail: harmless (HDF5 ignores bytes past its end of file).
  }
}

void Recorder::Impl::flush_now() {
  if (write_failed) return;
  reserve(bytes_to_reserve());
  write_pending();
  // Two flushes: the data first, then simulated_time, which says how far the file goes. HDF5
  // writes the blocks of one flush in no fixed order, so with one flush a kill could leave the
  // new simulated_time on disk over an extent not yet written.
  file.flush();
  h5::set_attr(file.id(), "simulated_time", static_cast<double>(now_step) * dt);
  file.flush();
  trim();
  last_flush_step = now_step;
}

void Recorder::Impl::close_all_datasets() noexcept {
  for (auto& s : spikes) s.timestamps = {}, s.node_ids = {};
  for (auto& r : states) r.rows.close();
  for (auto& r : weights) r.rows.close();
  for (auto& r : modulators) {
    r.rows.close();
    r.snap_data = {};
    r.snap_time = {};
  }
  trials.close();
}

void Recorder::Impl::close_all() noexcept {
  close_all_datasets();
  if (reserve_fd >= 0) ::close(reserve_fd);
  reserve_fd = -1;
  try {
    file.close();
  } catch (...) {
  }
}

Recorder::Recorder(OutputOptions options, RunInfo info) : impl_(std::make_unique<Impl>()) {
  if (options.file.empty()) throw ConfigError({}, "output.file", "expected a file name, found \"\"");
  if (!(options.flush_interval > 0) || !std::isfinite(options.flush_interval))
    throw ConfigError({}, "output.flush_interval",
                      fmt::format("expected a time > 0 ms, found {} ms", options.flush_interval));
  if (options.compression < 0 || options.compression > 9)
    throw ConfigError({}, "output.compression",
                      fmt::format("expected a deflate level 0..9 (0 = off), found {}", options.compression));
  impl_->options = std::move(options);
  impl_->info = std::move(info);
}

Recorder::~Recorder() {
  Impl& m = *impl_;
  if (m.prepared && !m.finished && m.file.is_open()) {
    try {
      m.flush_now();
    } catch (...) {
      // A destructor must not throw; what was flushed before stays readable.
    }
  }
  m.close_all();
}

const std::string& Recorder::file() const { return impl_->options.file; }
bool Recorder::is_open() const { return impl_->prepared && !impl_->finished; }

void Recorder::record_spikes(const std::string& population, std::string key) {
  Impl& m = *impl_;
  if (key.empty()) key = "record." + population;
  if (m.prepared) throw ConfigError({}, key, "recordings must be requested before the simulation is prepared");
  check_name(population, key, "population");
  for (const auto& s : m.spikes)
    if (s.population == population) return;  // asked twice: the same data
  SpikeRequest r;
  r.population = population;
  r.key = std::move(key);
  m.spikes.push_back(std::move(r));
}

void Recorder::record_state(const std::string& population, const std::string& variable,
                            std::vector<NeuronIndex> neurons, double interval, double start, double stop,
                            std::string key) {
  Impl& m = *impl_;
  if (key.empty()) key = "record." + population + "." + variable;
  if (m.prepared) throw ConfigError({}, key, "recordings must be requested before the simulation is prepared");
  check_name(population, key, "population");
  check_name(variable, key, "variable");
  Schedule schedule;
  schedule.interval = interval;
  schedule.start = start;
  schedule.stop = stop;
  schedule.check_request(key);
  for (const auto& r : m.states)
    if (r.population == population && r.variable == variable)
      throw ConfigError({}, key,
                        fmt::format("variable {} of population {} is recorded twice (once as {}): one recording "
                                    "per variable and population",
                                    variable, population, r.key));
  std::sort(neurons.begin(), neurons.end());
  for (std::size_t i = 1; i < neurons.size(); ++i)
    if (neurons[i] == neurons[i - 1])
      throw ConfigError({}, key + ".neurons", fmt::format("neuron id {} is listed twice", neurons[i]));
  StateRequest r;
  r.population = population;
  r.variable = variable;
  r.key = std::move(key);
  r.neurons = std::move(neurons);
  r.schedule = schedule;
  m.states.push_back(std::move(r));
}

void Recorder::prepare(const Simulation& sim) {
  Impl& m = *impl_;
  if (m.prepared) throw RuntimeError("nmsim::io::Recorder: prepare() called twice; use one recorder per run");
  const double dt = sim.dt();
  m.sim = &sim;
  m.dt = dt;
  m.now_step = sim.now();
  m.last_flush_step = sim.now();
  m.flush_steps = std::max<Step>(1, static_cast<Step>(std::ceil(m.options.flush_interval / dt - 1e-9)));

  std::vector<std::string> pop_names;
  for (const auto& p : sim.populations()) pop_names.push_back(p->name());
  const auto find_pop = [&](const std::string& name, const std::string& key) -> const Population& {
    if (!sim.has_population(name))
      throw ConfigError({}, key,
                        fmt::format("expected the name of a population ({}), found \"{}\"", names_of(pop_names), name));
    return sim.population(name);
  };

  // Validate every request before the file is touched: a bad request leaves no file behind.
  m.spike_request_of_pop.assign(sim.populations().size(), -1);
  for (std::size_t i = 0; i < m.spikes.size(); ++i) {
    auto& s = m.spikes[i];
    s.pop_index = find_pop(s.population, s.key).index();
    m.spike_request_of_pop[s.pop_index] = static_cast<int>(i);
  }
  for (auto& r : m.states) {
    const Population& pop = find_pop(r.population, r.key);
    r.pop_index = pop.index();
    const auto vars = pop.variables();
    if (std::find(vars.begin(), vars.end(), r.variable) == vars.end())
      throw ConfigError({}, r.key,
                        fmt::format("population {} (model {}) has no variable \"{}\"; recordable: {}", r.population,
                                    pop.model(), r.variable, names_of(vars)));
    if (r.neurons.empty()) {
      r.neurons.resize(pop.size());
      for (std::size_t i = 0; i < pop.size(); ++i) r.neurons[i] = static_cast<NeuronIndex>(i);
    } else if (r.neurons.back() >= pop.size()) {
      throw ConfigError({}, r.key + ".neurons",
                        fmt::format("neuron id {} is out of range: population {} has {} neurons (ids 0..{})",
                                    r.neurons.back(), r.population, pop.size(), pop.size() == 0 ? 0 : pop.size() - 1));
    }
    r.schedule.resolve(dt, sim.now(), r.key);
    r.rows.width = r.neurons.size();
    const VarView v = pop.variable(r.variable);
    r.base = v.base;
    r.stride = v.stride;
    r.units = v.units;
    r.cols.clear();
    for (int tid = 0; tid < sim.threads(); ++tid) {
      const Range own = sim.owned(r.pop_index, tid);
      const auto c0 = std::lower_bound(r.neurons.begin(), r.neurons.end(), own.begin) - r.neurons.begin();
      const auto c1 = std::lower_bound(r.neurons.begin(), r.neurons.end(), own.end) - r.neurons.begin();
      r.cols.emplace_back(static_cast<std::size_t>(c0), static_cast<std::size_t>(c1));
    }
  }
  m.resolve_weights_and_modulators();
  if (m.deferred) return;  // resume() opens the file once the state is restored

  try {
    m.create_file();
    // The state at the current time, when it is a sample time (with start = 0: the initial state).
    for (auto& r : m.states) {
      r.rows.reserve_through(r.schedule.rows_through(sim.now()));
      if (r.rows.pending_rows == 1) r.fill(0, 0, r.neurons.size());
    }
    m.sample_initial_weights();
    m.start_summary();
    m.prepared = true;
    // Flushing at once makes the file valid on disk from the start of the run.
    m.flush_now();
    // From here on HDF5 orders its writes so that the file on disk is readable at every moment
    // (docs/reliability.md): every object and attribute of the run exists by now.
    m.file.start_swmr();
    m.file.rename_to(m.options.file);
  } catch (...) {
    m.close_all();
    m.prepared = false;
    std::error_code ec;
    std::filesystem::remove(m.partial_name(), ec);
    throw;
  }
}

void Recorder::Impl::create_file() {
  const Simulation& s = *sim;
  // The file is written under a temporary name until its first flush is complete and SWMR
  // writing has started (prepare); a run killed before that leaves no output file, only this one.
  file = h5::File::create(partial_name(), true, options.file);
  reserve_fd = ::open(partial_name().c_str(), O_WRONLY | O_CLOEXEC);
  reserve(bytes_to_reserve());  // the groups and datasets below: never shorter than the superblock says
  h5::Lock lock;
  const hid_t root = file.id();
  h5::set_attr(root, "nmsim_version", std::string(version()));
  h5::set_attr(root, "created", iso_utc_now());
  h5::set_attr(root, "seed", static_cast<std::uint64_t>(s.seed()));
  h5::set_attr(root, "dt", s.dt());
  h5::set_attr(root, "duration", info.duration);
  h5::set_attr(root, "threads", static_cast<std::int32_t>(s.threads()));
  h5::set_attr(root, "status", std::string(status.empty() ? "running" : status));
  h5::set_attr(root, "simulated_time", static_cast<double>(now_step) * dt);
  // SONATA file identification.
  h5::set_attr(root, "magic", std::uint32_t{0x0A7A});
  h5::set_attr(root, "version", std::vector<std::uint32_t>{0, 1});
  h5::write_string_dataset(root, "config", info.config_toml);

  for (const auto& p : s.populations()) {
    if (p->name().find('/') != std::string::npos || p->name().empty()) continue;
    h5::GroupId g = h5::create_group(root, "populations/" + p->name());
    h5::set_attr(g.get(), "size", static_cast<std::uint64_t>(p->size()));
    h5::set_attr(g.get(), "model", std::string(p->model()));
    if (!p->positions().empty()) {
      // [size, 3] float64 in um; the modulator fields release and are read at these points.
      std::vector<double> xyz;
      xyz.reserve(3 * p->size());
      for (const auto& q : p->positions()) xyz.insert(xyz.end(), q.begin(), q.end());
      h5::Dataset d =
          h5::Dataset::create(g.get(), "positions", h5::Type<double>::file(), h5::Layout{{p->size(), 3}, {}, {}, 0});
      d.write_rows(xyz.data(), 0, p->size());
      h5::set_attr(d.id(), "units", "um");
    }
  }

  const int deflate = options.compression;
  for (auto& r : spikes) {
    h5::GroupId g = h5::create_group(root, "spikes/" + r.population);
    h5::set_enum_attr(g.get(), "sorting", {{"none", 0}, {"by_id", 1}, {"by_time", 2}}, 2);
    const h5::Layout layout{{0}, {H5S_UNLIMITED}, {kSpikeChunk}, deflate};
    r.timestamps = h5::Dataset::create(g.get(), "timestamps", h5::Type<double>::file(), layout);
    h5::set_attr(r.timestamps.id(), "units", "ms");
    r.node_ids = h5::Dataset::create(g.get(), "node_ids", h5::Type<std::uint64_t>::file(), layout);
  }

  for (auto& r : states) {
    h5::GroupId g = h5::create_group(root, "report/" + r.population + "/" + r.variable);
    const hsize_t n = r.neurons.size();
    r.rows.create(g.get(), "data", "mapping/time", r.units, r.schedule, dt, info.duration, deflate);
    std::vector<std::uint64_t> ids(r.neurons.begin(), r.neurons.end());
    h5::Dataset::create_filled(g.get(), "mapping/node_ids", ids);
    h5::Dataset::create_filled(g.get(), "mapping/element_ids", std::vector<std::uint32_t>(n, 0));
    std::vector<std::uint64_t> ptr(n + 1);
    for (hsize_t i = 0; i <= n; ++i) ptr[i] = i;
    h5::Dataset::create_filled(g.get(), "mapping/index_pointers", ptr);
  }
  create_weight_and_modulator_datasets();
  create_trials();
}

void Recorder::begin_window(Step /*from*/, Step to) {
  Impl& m = *impl_;
  m.window_ok = false;  // sample() writes nothing unless the rows below exist
  if (!m.prepared || m.finished) return;
  for (auto& r : m.states) {
    r.rows.reserve_through(r.schedule.rows_through(to));
    // Re-read the view: a population may have moved its storage between runs.
    const VarView v = m.sim->populations()[r.pop_index]->variable(r.variable);
    r.base = v.base;
    r.stride = v.stride;
  }
  for (auto& r : m.weights) r.rows.reserve_through(r.schedule.rows_through(to));
  m.window_ok = true;
}

bool Recorder::samples() const { return !impl_->states.empty() || !impl_->weights.empty(); }

void Recorder::sample(Step k, int tid) {
  Impl& m = *impl_;
  if (!m.window_ok) return;
  const Step j = k + 1;  // the state now is the state at t_{k+1}
  for (auto& r : m.states) {
    if (!r.schedule.is_sample(j)) continue;
    const std::uint64_t row = r.schedule.rows_through(j) - 1 - r.rows.rows_written;
    if (row >= r.rows.pending_rows || static_cast<std::size_t>(tid) >= r.cols.size()) continue;
    const auto [c0, c1] = r.cols[static_cast<std::size_t>(tid)];
    r.fill(row, c0, c1);
  }
  if (!m.weights.empty()) m.sample_weights(k, tid);
}

void Recorder::on_spikes(const std::vector<Spike>& spikes) {
  Impl& m = *impl_;
  if (!m.prepared || m.finished || m.spikes.empty()) return;
  for (const Spike& s : spikes) {
    if (s.population >= m.spike_request_of_pop.size()) continue;
    const int i = m.spike_request_of_pop[s.population];
    if (i < 0) continue;
    auto& r = m.spikes[static_cast<std::size_t>(i)];
    r.times.push_back(static_cast<double>(s.step + 1) * m.dt);
    r.ids.push_back(s.neuron);
  }
}

void Recorder::end_window(Step to) {
  Impl& m = *impl_;
  m.window_ok = false;
  if (!m.prepared || m.finished) return;
  m.now_step = to;
  m.sample_modulators(to);
  if (to - m.last_flush_step >= m.flush_steps || m.pending_bytes() > kMaxPendingBytes) m.flush_now();
}

void Recorder::flush() {
  Impl& m = *impl_;
  if (m.prepared && !m.finished) m.flush_now();
}

void Recorder::finish(bool completed) {
  Impl& m = *impl_;
  if (!m.prepared || m.finished) return;
  m.finished = true;
  try {
    if (m.write_failed) {  // nothing more fits: close what is on disk as it is
      m.close_all();
      return;
    }
    if (m.sim) m.now_step = std::max(m.now_step, m.sim->now());
    std::size_t final_bytes = m.bytes_to_reserve();
    for (const auto& sr : m.snapshots)
      if (sr.proj) final_bytes += sr.proj->synapse_count() * 32;
    if (m.sim) final_bytes += 4096 + 1024 * m.sim->populations().size();  // /summary attributes
    m.reserve(final_bytes);
    m.write_pending();
    m.file.flush();
    h5::set_attr(m.file.id(), "simulated_time", static_cast<double>(m.now_step) * m.dt);
    m.write_snapshots();
    m.write_summary();
    h5::set_attr(m.file.id(), "status",
                 m.status.empty() ? std::string(completed ? "complete" : "interrupted") : m.status);
    m.file.flush();
    m.trim();
    m.close_all_datasets();
    m.file.close();
  } catch (...) {
    m.close_all();
    throw;
  }
}

void Recorder::set_status(const std::string& status) {
  static const char* kAllowed[] = {"running", "complete", "interrupted", "failed"};
  if (std::none_of(std::begin(kAllowed), std::end(kAllowed), [&](const char* a) { return status == a; }))
    throw std::invalid_argument(
        "nmsim::io::Recorder::set_status: expected running, complete, interrupted or "
        "failed, found \"" +
        status + "\"");
  Impl& m = *impl_;
  m.status = status;
  if (!m.prepared) return;  // remembered; no file exists
  if (!m.finished) {
    m.reserve(std::size_t{1} << 20);
    h5::set_attr(m.file.id(), "status", status);
    m.file.flush();
    m.trim();
    return;
  }
  h5::File f = h5::File::open(m.options.file, true);
  h5::set_attr(f.id(), "status", status);
  f.close();
}

}  // namespace nmsim::io
