#pragma once
// Recorder: an Observer that writes spikes, sampled state variables, synaptic weights and
// modulator concentrations of a Simulation to one HDF5 file in the layout of SPEC.md ("Output file (HDF5)"), readable with h5py alone and with
// SONATA tools for the spikes and reports:
//
//   /                               attrs nmsim_version, created (ISO-8601 UTC), seed, dt [ms],
//                                   duration [ms], threads, status, magic = 0x0A7A, version = [0, 1],
//                                   simulated_time [ms] (simulated time held by the file)
//   /config                         the resolved config (TOML text, scalar UTF-8 string)
//   /populations/<pop>              attrs size, model (every population of the simulation)
//   /spikes/<pop>/timestamps        float64 [n] (units "ms"), spike time (step + 1) * dt
//   /spikes/<pop>/node_ids          uint64 [n], population-local ids; group attr sorting = by_time
//   /report/<pop>/<var>/data        float32 [n_times, n_recorded], attr units (the variable's)
//   /report/<pop>/<var>/mapping/    node_ids uint64 [n_recorded], element_ids uint32 zeros,
//                                   index_pointers uint64 [n_recorded + 1] = 0..n_recorded,
//                                   time float64 [start, stop, step] (units "ms"): row r holds
//                                   the state at t = start + r * step; stop = start + n_times * step
//   /weights/<proj>                 attrs source, target (population names), port, rule ("static"
//                                   or the plasticity rule)
//   /weights/<proj>/data            float32 [n_samples, n_recorded], attr units (the port's weight
//                                   unit); column c is synapse mapping/synapse_ids[c]
//   /weights/<proj>/mapping/        synapse_ids, source_ids, target_ids uint64 [n_recorded],
//                                   time float64 [start, stop, step] (units "ms"), as for reports
//   /weights/<proj>/final/          source_ids, target_ids uint64 [n], weights float64 [n] (units),
//                                   delays float64 [n] (units "ms"): every synapse, in the order of
//                                   Projection::synapses(), at the end of the run
//   /modulators/<name>              attr field = "well_mixed" (one probe at the origin)
//   /modulators/<name>/probes/data  float32 [n_times, n_probes], units "uM"
//   /modulators/<name>/probes/      positions float64 [n_probes, 3] (units "um"),
//                                   mapping/time float64 [start, stop, step] (units "ms")
//
// Timing. A state row for simulated time t_j = j dt holds the state at t_j (after step j - 1,
// Population's time convention). Rows are taken at t_j = start + m * interval, m = 0, 1, ...,
// for start <= t_j <= stop; the row at t_j = start is included, so with start = 0 the first row
// is the initial state (taken at prepare). Spikes are stamped (step + 1) * dt and stored sorted
// by time, and by neuron within one time.
//
// Synapse indices. Synapses are numbered in the thread-independent order of
// Projection::synapses() (by target, then source, then creation): index i is synapses()[i].
//
// Weights. Rows are taken at the times of state rows (the row at t = start included: with
// start = 0 the first row holds the initial weights, taken at prepare). A row for t_j holds the
// weights at t_j: in sample(k) each thread calls
// Projection::synchronize(tid, k + 1) (lazy rules bring their weights up to t_{k+1}), then copies
// the weights of the recorded synapses it owns. So the row holds every change made by events
// handled in steps < j: on a jump port a pre-synaptic spike arriving at t_j is included, on a
// pulse port it acts only after t_j and shows in the next row (docs/step_order.md). Note that
// synchronize() moves the rule's bookkeeping on, so recording a lazy rule's weights may change
// them in the last bits (the rule is exact either way); the thread count does not matter.
// Sampling every step calls synchronize() on every synapse of the projection every step.
//
// Modulators. A probe row for t_j holds the concentration at the end of step j - 1:
// m(t_j) = piece(j - 1).at(dt) (the left limit; a release landing exactly at t_j shows from the
// next row on), the convention of state rows. The first row of a run, at the time the recorder
// was prepared, has no step before it and holds level(j) = piece(j).at(0). Rows are taken in
// end_window(to), from the modulator's pieces of the window just simulated, for the sample
// times t_j with from < j <= to (and j = from in the first window), so every sample time is
// covered once and the rows do not depend on where windows or run() calls begin and end. A
// simulation that never steps records no modulator rows.
//
// Durability. Data is kept in memory and written only at flush points: every flush_interval of
// simulated time (and earlier when more than 64 MiB are buffered), each write immediately
// followed by H5Fflush. Between flush points the file on disk is not touched, so a run that dies
// (crash, kill -9) leaves a file that opens and holds everything up to the last flush, with
// status "running". finish() writes the rest and sets status "complete" or "interrupted".
//
// Threads. sample() runs on every simulation thread at once; it writes only the columns of the
// neurons and synapses that thread owns into rows allocated by begin_window(): no locks, no
// allocation.
// All HDF5 calls happen on one thread (prepare, end_window, finish) and, process-wide, under one
// lock, so recorders of different simulations may run in different threads.
#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nmsim/core/observer.hpp"
#include "nmsim/core/state.hpp"
#include "nmsim/core/types.hpp"

namespace nmsim::io {

/// What the run was: written as root attributes and /config.
struct RunInfo {
  std::string config_toml;  // the fully resolved config, stored as /config ("" = none)
  std::uint64_t seed = 0;   // informational: the simulation's own seed is written
  double dt = 0.0;          // [ms] informational: the simulation's own dt is written
  double duration = 0.0;    // [ms] the requested duration, written as attr duration
  int threads = 0;          // informational: the simulation's thread count is written
};

struct OutputOptions {
  std::string file;                // path of the HDF5 file; created (truncated) at prepare
  double flush_interval = 1000.0;  // [ms] of simulated time between flushes, > 0
  int compression = 4;             // deflate level 0..9 (0 = off), with byte shuffle
};

class Recorder : public Observer {
 public:
  /// Checks the options (ConfigError, keys "output.flush_interval", "output.compression",
  /// "output.file"); creates nothing yet.
  Recorder(OutputOptions options, RunInfo info);
  /// Writes what is buffered and closes the file if finish() was not called; the status stays
  /// as it was ("running" unless set_status was called). Never throws.
  ~Recorder() override;
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  /// Record every spike of `population`. `key` names the request in errors (default
  /// "record.<population>"). Requests are made before prepare.
  void record_spikes(const std::string& population, std::string key = {});
  /// Record variable `variable` of the `neurons` of `population` (empty = all; sorted ascending
  /// in the file) every `interval` ms (a multiple of dt; 0 = every step) for start <= t <= stop
  /// [ms]; start must be a multiple of dt. `key` as above (default "record.<pop>.<variable>").
  void record_state(const std::string& population, const std::string& variable, std::vector<NeuronIndex> neurons,
                    double interval, double start = 0.0,
                    double stop = std::numeric_limits<double>::infinity(), std::string key = {});

  /// Record the weights of the `synapses` of `projection` (indices into Projection::synapses(),
  /// see "Synapse indices" above; empty = all; sorted ascending in the file) every `interval` ms
  /// (a multiple of dt; 0 = every step) for start <= t <= stop [ms], as record_state. `key`
  /// names the request in errors (default "record.<projection>"; indices: `key`.which).
  void record_weights(const std::string& projection, std::vector<std::uint64_t> synapses, double interval,
                      double start = 0.0, double stop = std::numeric_limits<double>::infinity(),
                      std::string key = {});
  /// Synapses selected by (source, target) neuron id pairs: every synapse between each listed
  /// pair (a pair without a synapse is a ConfigError).
  struct SynapsePairs {
    explicit SynapsePairs(std::vector<std::pair<NeuronIndex, NeuronIndex>> source_target)
        : pairs(std::move(source_target)) {}
    std::vector<std::pair<NeuronIndex, NeuronIndex>> pairs;
  };
  void record_weights(const std::string& projection, SynapsePairs pairs, double interval, double start = 0.0,
                      double stop = std::numeric_limits<double>::infinity(), std::string key = {});
  /// Write every synapse of `projection` (ids, weights synchronized to the current time, delays)
  /// at finish() (complete or interrupted) to /weights/<projection>/final. `key` as above.
  void snapshot_weights(const std::string& projection, std::string key = {});
  /// Record the concentration of `modulator` every `interval` ms (a multiple of dt; 0 = every
  /// step) for start <= t <= stop [ms] (see "Modulators" above). `key` as above (default
  /// "record.<modulator>"). `probes` (um) are the points sampled in a spatial field (trilinear,
  /// one column each); without them, and for a well-mixed pool, one column holds the pool value
  /// (a field's mean, positions NaN). `snapshot_interval` > 0 (ms): the whole field of a grid
  /// modulator is written to snapshots/data [n, nz, ny, nx] at the first window end at or after
  /// every multiple of it (the actual times in snapshots/times).
  void record_modulator(const std::string& modulator, double interval, double start = 0.0,
                        double stop = std::numeric_limits<double>::infinity(), std::string key = {},
                        std::vector<std::array<double, 3>> probes = {}, double snapshot_interval = 0.0);

  /// Set the root attribute status: "running", "complete", "interrupted" or "failed". Written at
  /// once (and flushed); a status set here is kept by finish(). After finish() the file is
  /// reopened to change it. Before prepare it is remembered (no file is created for it).
  void set_status(const std::string& status);
  /// Write everything buffered now and flush the file (besides the automatic flushes). Call it
  /// between runs or from one thread inside an observer hook, never concurrently with sample().
  void flush();

  const std::string& file() const;

  /// Checkpoint (docs/checkpoint.md): flush, then write what the file holds (spikes and rows per
  /// dataset, snapshot and flush bookkeeping). Between runs.
  void save_state(StateWriter& w);
  /// Resume, step 1 (before prepare): prepare() will check and resolve the requests (and
  /// register modulator probes, in the same order as the first run) but create no file.
  void defer_file();
  /// Resume, step 2 (after the simulation's state was restored): open the existing file
  /// options.file (the checkpoint's output image), cut every dataset to what save_state
  /// recorded, update the root attributes and /config, and continue writing it.
  void resume(const StateReader& r);
  /// True between prepare() and finish().
  bool is_open() const;

  // Observer
  void prepare(const Simulation& sim) override;
  void begin_window(Step from, Step to) override;
  bool samples() const override;
  void sample(Step k, int tid) override;
  void on_spikes(const std::vector<Spike>& spikes) override;
  void end_window(Step to) override;
  void finish(bool completed) override;
  /// Only writes files: the engine may run its hooks beside the next window's steps.
  bool passive() const override { return true; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nmsim::io
