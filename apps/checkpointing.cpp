#include "checkpointing.hpp"

#include <cmath>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "nmsim/core/error.hpp"

namespace nmsim::apps {

namespace {

// The config with everything a resume may change set to fixed values: what must match.
std::string comparable(const std::string& toml, const std::string& name) {
  const std::vector<std::string> neutral = {"simulation.duration=0.0", "simulation.threads=0", "output.file=\"-\"",
                                            "output.flush_interval=1.0", "output.compression=0"};
  return io::Config::parse(toml, name, neutral).resolved_text();
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

void check_resume_config(const io::Config& cfg, const io::Checkpoint& ckpt) {
  const SourcePos where{ckpt.path(), 0, 0};
  std::string saved;
  try {
    saved = comparable(ckpt.config_toml(), ckpt.path() + ":/config");
  } catch (const ConfigError& e) {
    throw ConfigError(where, "--resume", fmt::format("the checkpoint's config does not parse ({})", e.what()));
  }
  const std::string now = comparable(cfg.resolved_text(), cfg.source_name());
  if (saved != now) {
    const auto a = lines(saved), b = lines(now);
    std::size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    const std::string was = i < a.size() ? a[i] : "(nothing)", is = i < b.size() ? b[i] : "(nothing)";
    throw ConfigError(where, "--resume",
                      fmt::format("expected the config of the checkpointed run (only simulation.duration, "
                                  "simulation.threads and [output] may change), found a difference: checkpoint "
                                  "has `{}`, this run `{}`",
                                  was, is));
  }
  if (cfg.duration() < ckpt.time() - 1e-9 * std::max(1.0, ckpt.time()))
    throw ConfigError(where, "--resume",
                      fmt::format("expected a duration >= {} ms (the checkpoint's time), found {} ms", ckpt.time(),
                                  cfg.duration()));
}

namespace {
bool same_path(const std::string& x, const std::string& y) {
  std::error_code e1, e2;
  const auto a = std::filesystem::weakly_canonical(x, e1);
  const auto b = std::filesystem::weakly_canonical(y, e2);
  return !e1 && !e2 && a == b;
}
}  // namespace

bool same_output(const io::Checkpoint& ckpt, const std::string& output_file) {
  if (same_path(ckpt.path(), output_file))
    throw ConfigError({"command line", 0, 0}, "output.file",
                      fmt::format("expected an output file other than the checkpoint it resumes, found \"{}\"", output_file));
  return same_path(ckpt.output_file(), output_file);
}

void resume_from(const io::Checkpoint& ckpt, Simulation& sim, io::Recorder& recorder, const std::string& output_file) {
  try {
    sim.restore_state(ckpt.simulation_state());
  } catch (const StateError& e) {
    throw ConfigError({ckpt.path(), 0, 0}, "--resume",
                      fmt::format("the checkpoint does not fit this network ({}: {})", e.key(), e.detail()));
  }
  ckpt.extract_output(output_file);  // ConfigError, leaving no file, on failure
  try {
    recorder.resume(ckpt.recorder_state());
  } catch (const std::exception& e) {
    std::error_code ec;
    std::filesystem::remove(output_file, ec);
    throw ConfigError({ckpt.path(), 0, 0}, "--resume",
                      fmt::format("cannot continue the output file from the checkpoint ({})", e.what()));
  }
}

void check_checkpoint_interval(double every, double dt) {
  const double steps = every / dt;
  if (std::fabs(steps - std::round(steps)) > 1e-6 * std::max(1.0, steps) || std::llround(steps) < 1)
    throw ConfigError({"command line", 0, 0}, "--checkpoint-every",
                      fmt::format("expected a multiple of dt = {} ms, found {} ms", dt, every));
}

void check_checkpointable(const Simulation& sim) {
  NullStateWriter probe;
  sim.save_state(probe);
}

void run_with_checkpoints(Simulation& sim, io::Recorder& recorder, double duration, double every,
                          const std::string& path, const std::string& config_toml, const std::function<bool()>& stop) {
  const double dt = sim.dt();
  const Step end = std::llround(duration / dt);
  if (every <= 0) {
    if (end > sim.now()) sim.run_steps(end - sim.now());
    return;
  }
  check_checkpoint_interval(every, dt);
  // Checkpoints fall on the boundaries of the delivery windows an uninterrupted run has (multiples
  // of the window length from step 0): the first at or after each multiple of `every`. Resumed
  // there, a run has the same windows as one without a break, and so the same results even for
  // what is evaluated once per window (modulated gain of static projections, field snapshots).
  const Step k = std::llround(every / dt);
  const Step window = std::max<Step>(1, sim.min_delay());
  while (sim.now() < end && !stop()) {
    const Step due = (sim.now() / k + 1) * k;
    const Step at = (due + window - 1) / window * window;
    sim.run_steps(std::min(end, at) - sim.now());
    if (stop() || sim.stopped()) break;
    if (sim.now() == at) io::write_checkpoint(path, sim, recorder, config_toml);
  }
}

}  // namespace nmsim::apps
