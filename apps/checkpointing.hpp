#pragma once
// `nmsim run --checkpoint-every MS` and `--resume CHECKPOINT.h5` (docs/checkpoint.md): the
// pieces of cmd_run that concern checkpoints, kept out of nmsim.cpp.
#include <functional>
#include <string>

#include "nmsim/core/simulation.hpp"
#include "nmsim/io/checkpoint.hpp"
#include "nmsim/io/config.hpp"
#include "nmsim/io/recorder.hpp"

namespace nmsim::apps {

/// Refuse (ConfigError, exit 2) a resume whose config differs from the checkpoint's in anything
/// but simulation.duration, simulation.threads and the [output] table, or whose duration ends
/// before the checkpoint.
void check_resume_config(const io::Config& cfg, const io::Checkpoint& ckpt);

/// True when `output_file` is the output the checkpointed run was writing (so replacing it
/// continues that run rather than overwriting an unrelated file). ConfigError when it is the
/// checkpoint file itself.
bool same_output(const io::Checkpoint& ckpt, const std::string& output_file);

/// After sim.prepare() with recorder.defer_file(): restore the simulation, rebuild the output
/// file from the checkpoint and reopen it. On failure no output file is left; ConfigError.
void resume_from(const io::Checkpoint& ckpt, Simulation& sim, io::Recorder& recorder, const std::string& output_file);

/// --checkpoint-every: a multiple of dt (ConfigError otherwise).
void check_checkpoint_interval(double every, double dt);

/// Fail now (StateError, exit 2) if some component of `sim` cannot be checkpointed.
void check_checkpointable(const Simulation& sim);

/// Run until `duration` ms, writing a checkpoint to `path` at the first delivery-window boundary
/// (multiple of the window length from step 0) at or after every multiple of `every` ms of
/// simulated time (every = 0: none), up to and including the end. Stops early when `stop()`.
void run_with_checkpoints(Simulation& sim, io::Recorder& recorder, double duration, double every,
                          const std::string& path, const std::string& config_toml, const std::function<bool()>& stop);

}  // namespace nmsim::apps
