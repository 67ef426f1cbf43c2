#pragma once
// Private to nmsim_io: the state behind nmsim::io::Recorder, shared by recorder.cpp (file, spikes,
// state reports, life cycle) and recorder_weights.cpp (weights, final snapshots, modulators).
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "h5.hpp"
#include "nmsim/core/modulator.hpp"
#include "nmsim/core/projection.hpp"
#include "nmsim/core/state.hpp"
#include "nmsim/core/task.hpp"
#include "nmsim/io/recorder.hpp"

namespace nmsim::io::detail {

constexpr Step kNoStop = std::numeric_limits<Step>::max() / 4;
// Chunks of sampled (2-D) datasets hold about this many elements (~128 KiB of float32).
constexpr hsize_t kSampleChunkElements = 32768;

bool is_multiple_of(double t, double dt);
std::string names_of(const std::vector<std::string>& v);
void check_name(const std::string& name, const std::string& key, const char* what);

/// Sample times of a request: t_j for j = first_j + m * interval_steps <= last_j, m = 0, 1, ...
struct Schedule {
  double interval = 0, start = 0, stop = 0;  // [ms] as requested
  Step interval_steps = 1;
  Step first_j = 0;       // step index of the time of row 0
  Step last_j = kNoStop;  // last step index that may be sampled

  /// Checks interval >= 0, start >= 0, stop >= start (at request time; no dt known yet).
  void check_request(const std::string& key) const;
  /// Checks interval and start against dt and places row 0 at the first grid time >= both start
  /// and `now` (ConfigError with `key`.interval / `key`.start).
  void resolve(double dt, Step now, const std::string& key);
  /// Number of rows whose time step is <= j.
  std::uint64_t rows_through(Step j) const {
    const Step m = std::min(j, last_j);
    if (m < first_j) return 0;
    return static_cast<std::uint64_t>((m - first_j) / interval_steps + 1);
  }
  /// True when t_j is a sample time.
  bool is_sample(Step j) const { return j >= first_j && j <= last_j && (j - first_j) % interval_steps == 0; }
  Step step_of_row(std::uint64_t r) const { return first_j + static_cast<Step>(r) * interval_steps; }
};

/// Rows of a 2-D float32 dataset [n_rows, width] buffered between writes, and the dataset with its
/// mapping/time companion [start, stop, step].
struct SampledRows {
  std::size_t width = 0;
  std::vector<float> pending;  // rows [rows_written, rows_written + pending_rows), row-major
  std::uint64_t rows_written = 0;
  std::uint64_t pending_rows = 0;
  h5::Dataset data, time;

  float* row(std::uint64_t r) { return pending.data() + r * width; }
  /// Make room for the rows up to (not including) row `total` (existing pending rows are kept).
  void reserve_through(std::uint64_t total) {
    const std::uint64_t need = total > rows_written ? total - rows_written : 0;
    pending.resize(need * width, 0.0f);
    pending_rows = need;
  }
  /// Create `data` (chunked, extendible) and `mapping/time` under `group`.
  void create(hid_t group, const std::string& data_name, const std::string& time_name, const std::string& units,
              const Schedule& s, double dt, double duration, int deflate);
  void write_time(const Schedule& s, double dt);
  /// Append the pending rows and update mapping/time.
  void write(const Schedule& s, double dt);
  void close() { data = {}, time = {}; }
};

struct SpikeRequest {
  std::string population, key;
  std::uint32_t pop_index = 0;
  std::vector<double> times;       // [ms] buffered since the last write
  std::vector<std::uint64_t> ids;  // buffered node ids
  h5::Dataset timestamps, node_ids;
};

struct StateRequest {
  std::string population, variable, key;
  std::vector<NeuronIndex> neurons;  // sorted ascending
  Schedule schedule;
  // Resolved at prepare.
  std::uint32_t pop_index = 0;
  const double* base = nullptr;  // VarView of the variable
  std::size_t stride = 1;
  std::string units;
  std::vector<std::pair<std::size_t, std::size_t>> cols;  // per thread: columns [c0, c1) it owns
  SampledRows rows;

  void fill(std::uint64_t row, std::size_t c0, std::size_t c1) {
    float* out = rows.row(row);
    for (std::size_t c = c0; c < c1; ++c) out[c] = static_cast<float>(base[neurons[c] * stride]);
  }
};

/// A weight recording of one projection (/weights/<projection>/data, mapping/...).
struct WeightRequest {
  std::string projection, key;
  bool by_pairs = false;
  std::vector<std::uint64_t> synapses;                     // requested indices (sorted); empty = all
  std::vector<std::pair<NeuronIndex, NeuronIndex>> pairs;  // requested (source, target) pairs
  Schedule schedule;
  // Resolved at prepare.
  Projection* proj = nullptr;
  std::string units;
  std::vector<std::uint64_t> source_ids, target_ids;  // per column
  /// Per thread: (csr index, column) of the recorded synapses the thread owns.
  std::vector<std::vector<std::pair<std::uint64_t, std::uint32_t>>> owned;
  SampledRows rows;

  void fill(std::uint64_t row, int tid) {
    float* out = rows.row(row);
    const auto& w = proj->csr(tid).weight;
    for (const auto& [q, c] : owned[static_cast<std::size_t>(tid)]) out[c] = static_cast<float>(w[q]);
  }
};

/// A final snapshot of every synapse of one projection (/weights/<projection>/final/...).
struct SnapshotRequest {
  std::string projection, key;
  Projection* proj = nullptr;
  bool written = false;
};

/// Probes of one modulator (/modulators/<name>/probes/...). A well-mixed modulator (the only
/// kind the core Modulator interface describes: one concentration, given by its pieces) has one
/// probe at the origin; spatial modulators ("modulator fields") will add probe positions read
/// from the field, a `values` reader per kind, and /modulators/<name>/snapshots alongside.
struct ModulatorRequest {
  std::string modulator, key;
  Schedule schedule;
  // Resolved at prepare.
  const Modulator* mod = nullptr;
  std::string field = "well_mixed";              // attribute `field` of /modulators/<name>
  std::vector<double> positions;                 // [n_probes * 3] um
  std::vector<std::array<double, 3>> requested;  // probe points asked for (spatial fields)
  std::vector<std::size_t> probe_ids;            // the modulator's probe index per column; empty: pool
  double snapshot_interval = 0.0;                // [ms]; 0 = no snapshots
  Step next_snapshot = 0;                        // step at or after which the next snapshot is due
  std::vector<float> snap_pending;               // buffered snapshots, each nx*ny*nz (x fastest)
  std::vector<double> snap_times;                // [ms] their times
  std::size_t snap_size = 0;
  h5::Dataset snap_data, snap_time;
  std::uint64_t rows_sampled = 0;  // rows taken so far (written or pending)
  SampledRows rows;

  std::size_t probes() const { return positions.size() / 3; }
};

/// The per-trial table of a task (/trials; recorder_trials.cpp).
struct TrialsRequest {
  const Task* task = nullptr;
  std::uint64_t written = 0;  // rows in the file
  h5::GroupId group;
  std::vector<h5::Dataset> cols;  // in the order of recorder_trials.cpp's column list

  void close() {
    cols.clear();
    group = {};
  }
};

/// Groups created under /weights (one per projection, whether recorded, snapshotted or both).
void write_projection_attrs(hid_t group, const Projection& p);

}  // namespace nmsim::io::detail

namespace nmsim::io {

struct Recorder::Impl {
  using Schedule = detail::Schedule;
  OutputOptions options;
  RunInfo info;
  std::vector<detail::SpikeRequest> spikes;
  std::vector<detail::StateRequest> states;
  std::vector<detail::WeightRequest> weights;
  std::vector<detail::SnapshotRequest> snapshots;
  std::vector<detail::ModulatorRequest> modulators;
  detail::TrialsRequest trials;
  std::vector<int> spike_request_of_pop;  // population index -> index in spikes, or -1
  const Simulation* sim = nullptr;
  h5::File file;
  double dt = 0.1;
  Step flush_steps = 1;
  Step last_flush_step = 0;
  Step now_step = 0;
  bool prepared = false;
  bool finished = false;
  bool window_ok = false;
  bool deferred = false;      // resume: prepare() opens no file (recorder_checkpoint.cpp)
  std::string status;         // set by set_status; empty = decided by finish()
  int reserve_fd = -1;        // the output file, for reserve(); -1 = none
  bool write_failed = false;  // a reservation failed: nothing more is written but the status

  /// Make sure the file system will take `bytes` more bytes before HDF5 writes anything: a write
  /// that fails half way (disk full, file-size limit) would leave a superblock that points past
  /// the end of the file, and the file would no longer open. posix_fallocate grows the file by
  /// `bytes` (kept until HDF5's flush cuts the file back to its end-of-file address, so a kill
  /// during the write burst cannot leave the file shorter than its superblock says); on
  /// ENOSPC/EFBIG nothing is written and a RuntimeError says so (write_failed).
  void reserve(std::size_t bytes);
  /// Upper estimate of what the next write_pending + flush writes (data, rewritten chunks,
  /// metadata).
  std::size_t bytes_to_reserve() const;
  /// Cut the file back to HDF5's end of file (after a complete flush).
  void trim() noexcept;
  // For /summary: spike totals per population and the step and clock at prepare.
  std::vector<std::uint64_t> spikes_at_prepare;
  Step prepare_step = 0;
  std::uint64_t events_at_prepare = 0;
  std::chrono::steady_clock::time_point prepare_clock;

  std::size_t pending_bytes() const;
  /// Name of the output file until its first flush (create_file, prepare).
  std::string partial_name() const { return options.file + ".part"; }
  /// Append everything buffered to the datasets (no H5Fflush: callers flush right after, so the
  /// file on disk changes only in write+flush bursts).
  void write_pending();
  void flush_now();
  void close_all_datasets() noexcept;
  void close_all() noexcept;
  void create_file();

  // recorder_weights.cpp
  /// Validate and resolve weight, snapshot and modulator requests (before the file exists).
  void resolve_weights_and_modulators();
  /// Create their groups and datasets in the new file.
  void create_weight_and_modulator_datasets();
  /// The initial weights, when the current time is a sample time (at prepare).
  void sample_initial_weights();
  void sample_weights(Step k, int tid);
  /// Modulator rows for the sample times of the window that ends at `to`.
  void sample_modulators(Step to);
  /// Final snapshots (at finish), weights synchronized to the current time.
  void write_snapshots();

  // recorder_trials.cpp
  /// /trials of the simulation's task (if any): created with the file, rows appended at flushes,
  /// summary attributes rewritten at every flush.
  void create_trials();
  void write_trials();
  /// Checkpoint: rows written; resume: find the task, reopen /trials and cut it to those rows.
  void save_trials(StateWriter& w) const;
  void resume_trials(const StateReader& r);
  // recorder_summary.cpp
  /// Remember spike totals, step and wall clock at prepare (for write_summary).
  void start_summary();
  /// /summary: mean rates and spike counts per population, simulated and wall time (at finish).
  void write_summary();
};

}  // namespace nmsim::io
