#pragma once
// Checkpoint files (docs/checkpoint.md): the complete state of a run at one step, written
// atomically, from which `nmsim run CONFIG --resume FILE` continues bit-identically.
//
//   /                 attrs nmsim_checkpoint (format version, uint32), nmsim_version, created,
//                     seed, dt [ms], step, time [ms], threads (of the writer, informational),
//                     output_file (the output the run was writing)
//   /config           the resolved config of the run (TOML text)
//   /state/...        Simulation::save_state: one dataset per array, named by its path
//   /recorder/...     Recorder::save_state: what the output file held at the checkpoint
//   /output           uint8 [n]: the bytes of the output file as flushed at the checkpoint, so a
//                     resumed run can rebuild the output however the first run ended
// Atomicity: everything goes to "<file>.tmp-<pid>", which is flushed to disk (fsync) and then
// renamed over <file>, so <file> is always either the previous checkpoint or the new one.
#include <cstdint>
#include <memory>
#include <string>

#include "nmsim/core/simulation.hpp"
#include "nmsim/core/state.hpp"
#include "nmsim/io/recorder.hpp"

namespace nmsim::io {

/// True when `path` is an HDF5 file with the root attribute nmsim_checkpoint.
bool is_checkpoint(const std::string& path);
/// What a checkpoint holds, for `nmsim info` (ConfigError when it is damaged).
std::string describe_checkpoint(const std::string& path);

/// Default checkpoint path of an output file: "out.h5" -> "out.ckpt.h5".
std::string checkpoint_path_for(const std::string& output_file);

/// Write a checkpoint of `sim` (between runs) and `recorder` (flushed first) to `path`
/// atomically. `config_toml` is the resolved config of the run. RuntimeError on I/O failure (the
/// previous checkpoint, if any, is then left as it was); StateError when a component cannot be
/// checkpointed.
void write_checkpoint(const std::string& path, const Simulation& sim, Recorder& recorder,
                      const std::string& config_toml);

/// A checkpoint file read back. open() reads and checks everything but the output image, so any
/// problem (not HDF5, truncated, not a checkpoint, another format version) is a ConfigError
/// (bad input, exit code 2) before anything is created.
class Checkpoint {
 public:
  static Checkpoint open(const std::string& path);
  Checkpoint(Checkpoint&&) noexcept;
  Checkpoint& operator=(Checkpoint&&) noexcept;
  ~Checkpoint();

  const std::string& path() const;
  const std::string& config_toml() const;
  const std::string& output_file() const;  // the output of the run that wrote it
  std::uint64_t seed() const;
  double dt() const;
  Step step() const;
  double time() const;  // ms

  /// The simulation's state (Simulation::restore_state) and the recorder's (Recorder::resume).
  const StateReader& simulation_state() const;
  const StateReader& recorder_state() const;
  /// Write the output image to `output_file` (through a temporary file and a rename).
  /// ConfigError when the image cannot be read (truncated file).
  void extract_output(const std::string& output_file) const;

 private:
  friend std::string describe_checkpoint(const std::string& path);
  const MemoryState& impl_state() const;
  struct Impl;
  explicit Checkpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nmsim::io
