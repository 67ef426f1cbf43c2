// The nmsim command-line program (SPEC.md "Command line").
// Exit codes: 0 success, 1 runtime failure, 2 bad input, 130 interrupted.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "nmsim/core/error.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/io/config.hpp"
#include "nmsim/io/inspect.hpp"
#include "nmsim/io/recorder.hpp"
#include "nmsim/io/version.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/modulators/register.hpp"
#include "checkpointing.hpp"
#include "cli_args.hpp"
#include "output_path.hpp"
#include "progress.hpp"
#include "sweep.hpp"

namespace {

constexpr int kOk = 0, kFailure = 1, kBadInput = 2, kInterrupted = 130;

const char* kUsage =
    "nmsim - spiking networks with neuromodulator volume transmission\n"
    "\n"
    "usage:\n"
    "  nmsim run CONFIG.toml [-o OUT.h5] [--threads N] [--seed S] [--duration MS]\n"
    "                        [--set KEY=VALUE]... [--checkpoint-every MS] [--resume CKPT.h5]\n"
    "                        [--force] [--quiet]\n"
    "  nmsim validate CONFIG.toml [--set KEY=VALUE]...\n"
    "  nmsim sweep CONFIG.toml --grid KEY=V1,V2,... [--grid ...] [--repeats R] [--jobs J]\n"
    "                          [--threads T] [--set KEY=VALUE]... -o OUTDIR [--quiet]\n"
    "  nmsim info OUT.h5\n"
    "  nmsim --version | --help | <command> --help\n";

const char* kRunHelp =
    "nmsim run CONFIG.toml [options]   simulate and write an HDF5 result file\n"
    "  -o, --output OUT.h5     output file (overrides output.file)\n"
    "  --threads N             OpenMP threads (0 = all cores); results do not depend on it\n"
    "  --seed S                random seed (overrides simulation.seed)\n"
    "  --duration MS           simulated time in ms (overrides simulation.duration)\n"
    "  --set KEY=VALUE         set any config key, e.g. --set population.exc.params.tau_m=15\n"
    "                          (arrays of tables are addressed by name; VALUE is TOML)\n"
    "  -f, --force             overwrite the output file if it exists (refused otherwise)\n"
    "  --checkpoint-every MS   every MS ms of simulated time, save the complete state to OUT.ckpt.h5\n"
    "                          (atomically: the last checkpoint survives a kill; docs/checkpoint.md)\n"
    "  --resume CKPT.h5        continue the run a checkpoint was taken from (same config; duration,\n"
    "                          threads and output may change); the output holds the whole run\n"
    "  --quiet                 no progress line on stderr\n"
    "Progress goes to stderr when it is a terminal; a summary of the results to stdout.\n"
    "Ctrl-C stops at the end of the current delivery window (docs/reliability.md), keeps everything\n"
    "written (status \"interrupted\"), exit 130. Bad input exits 2 and leaves no output file.\n";

const char* kValidateHelp =
    "nmsim validate CONFIG.toml [--set KEY=VALUE]...   check a config: parse it and build the network\n"
    "(connectivity included) without running it or writing anything\n"
    "Exit 0 when valid, 2 with one message (file:line:col: key: expected ..., found ...) otherwise.\n";

const char* kInfoHelp = "nmsim info OUT.h5   summarise what a result file holds\n";

nmsim::Simulation* g_running = nullptr;
volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_signal(int) {
  g_interrupted = 1;
  if (g_running) g_running->request_stop();
}

[[noreturn]] void bad_usage(const std::string& msg) { throw nmsim::ConfigError({"command line", 0, 0}, "", msg); }

using nmsim::apps::Args;

void print_summary(const nmsim::Simulation& sim, const std::string& file, double wall_s, bool completed) {
  const double t = sim.time();
  std::cout << fmt::format("output: {}\n", file);
  std::cout << fmt::format("status: {}\n", completed ? "complete" : "interrupted");
  std::cout << fmt::format("simulated: {:.1f} ms in {:.2f} s wall ({:.3g} x real time), {} thread{}\n", t, wall_s,
                           t > 0 ? wall_s / (t * 1e-3) : 0.0, sim.threads(), sim.threads() == 1 ? "" : "s");
  for (const auto& p : sim.populations()) {
    std::uint64_t n = 0;
    for (auto c : sim.spike_counts(p->name())) n += c;
    const double rate = t > 0 ? static_cast<double>(n) / static_cast<double>(p->size()) / (t * 1e-3) : 0.0;
    std::cout << fmt::format("population {:<12} {:>8} neurons  {:>10} spikes  {:8.2f} Hz mean rate\n", p->name(),
                             p->size(), n, rate);
  }
  std::cout << fmt::format("synaptic events: {}\n", sim.synaptic_events());
}

// The network a config describes, built with every model, rule and modulator this program knows.
std::unique_ptr<nmsim::Simulation> build(const nmsim::io::Config& cfg) {
  nmsim::Registry registry;
  nmsim::models::register_models(registry);
  nmsim::modulators::register_modulators(registry);
  std::unique_ptr<nmsim::Simulation> sim;
  try {
    sim = std::make_unique<nmsim::Simulation>(cfg.simulation_options());
  } catch (const nmsim::ConfigError& e) {
    cfg.rethrow_with_position(e);
  }
  cfg.build(*sim, registry);
  return sim;
}

int cmd_run(const Args& a) {
  const nmsim::io::Config cfg = nmsim::io::Config::load(a.file, a.sets);
  const nmsim::io::OutputConfig& out = cfg.output();
  // Everything is checked before the output file is created: bad input leaves no file behind.
  std::optional<nmsim::io::Checkpoint> ckpt;
  if (!a.resume.empty()) {
    ckpt = nmsim::io::Checkpoint::open(a.resume);
    nmsim::apps::check_resume_config(cfg, *ckpt);
  }
  if (a.checkpoint_every > 0) nmsim::apps::check_checkpoint_interval(a.checkpoint_every, cfg.simulation_options().dt);
  try {
    // A resumed run replaces the output of the run it continues.
    const bool continues = ckpt && nmsim::apps::same_output(*ckpt, out.file);
    nmsim::apps::check_output_path(out.file, a.force || continues);
  } catch (const nmsim::ConfigError& e) {
    cfg.rethrow_with_position(e);
  }
  const std::unique_ptr<nmsim::Simulation> sim = build(cfg);
  std::unique_ptr<nmsim::io::Recorder> recorder_ptr;
  try {
    recorder_ptr = std::make_unique<nmsim::io::Recorder>(
        nmsim::io::OutputOptions{out.file, out.flush_interval, out.compression},
        nmsim::io::RunInfo{cfg.resolved_text(), sim->seed(), sim->dt(), cfg.duration(), sim->threads()});
    for (const auto& r : cfg.records()) {
      const std::string key = "record." + r.name;
      if (r.kind == "spikes") {
        recorder_ptr->record_spikes(r.population, key);
      } else if (r.kind == "state") {
        recorder_ptr->record_state(r.population, r.variable, r.neurons, r.interval, r.start, r.stop, key);
      } else if (r.kind == "weights") {
        recorder_ptr->record_weights(r.population, r.synapses, r.interval, r.start, r.stop, key);
        if (r.final_snapshot) recorder_ptr->snapshot_weights(r.population, key);
      } else {
        recorder_ptr->record_modulator(r.population, r.interval, r.start, r.stop, key, r.probes, r.snapshot_interval);
      }
    }
  } catch (const nmsim::ConfigError& e) {
    cfg.rethrow_with_position(e);
  }
  nmsim::io::Recorder& recorder = *recorder_ptr;
  if (ckpt) recorder.defer_file();
  sim->add_observer(recorder);
  nmsim::apps::Progress progress(cfg.duration());
  if (!a.quiet && isatty(STDERR_FILENO)) sim->add_observer(progress);

  g_running = sim.get();
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGXFSZ, SIG_IGN);  // over a file-size limit a write fails (EFBIG) and is reported
  const auto t0 = std::chrono::steady_clock::now();
  bool completed = false;
  try {
    try {
      sim->prepare();
    } catch (const nmsim::ConfigError& e) {
      cfg.rethrow_with_position(e);
    }
    if (a.checkpoint_every > 0) nmsim::apps::check_checkpointable(*sim);
    if (ckpt) nmsim::apps::resume_from(*ckpt, *sim, recorder, out.file);
    nmsim::apps::run_with_checkpoints(*sim, recorder, cfg.duration(), a.checkpoint_every,
                                      nmsim::io::checkpoint_path_for(out.file), cfg.resolved_text(),
                                      [] { return g_interrupted != 0; });
    g_running = nullptr;
    completed = !sim->stopped() && !g_interrupted;
    sim->finish(completed);
  } catch (const nmsim::ConfigError&) {
    // Bad input found after the file was created: close it and remove it.
    g_running = nullptr;
    const bool created = recorder.is_open();
    try {
      sim->finish(false);
    } catch (const std::exception&) {
    }
    if (created) {
      std::error_code ec;
      std::filesystem::remove(out.file, ec);
    }
    throw;
  } catch (const std::exception&) {
    // A failure while running (numerical blow-up, write error): keep what was flushed, mark the
    // file "failed" as far as the file system still lets us; the first error is the message.
    g_running = nullptr;
    try {
      recorder.set_status("failed");
    } catch (const std::exception& e2) {
      std::cerr << "nmsim: note: the output file keeps status \"running\": " << e2.what() << "\n";
    }
    try {
      sim->finish(false);
    } catch (const std::exception& e2) {
      std::cerr << "nmsim: note: the output file could not be closed cleanly: " << e2.what() << "\n";
    }
    throw;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  print_summary(*sim, out.file, wall, completed);
  return completed ? kOk : kInterrupted;
}

int cmd_validate(const Args& a) {
  const nmsim::io::Config cfg = nmsim::io::Config::load(a.file, a.sets);
  const std::unique_ptr<nmsim::Simulation> sim = build(cfg);
  // Prepare too (connectivity, modulator geometry): every check a run makes before its first step.
  try {
    sim->prepare();
  } catch (const nmsim::ConfigError& e) {
    cfg.rethrow_with_position(e);
  }
  std::size_t neurons = 0;
  for (const auto& p : sim->populations()) neurons += p->size();
  std::cout << fmt::format("{}: valid ({} populations, {} neurons, {} projections, {} stimuli, {} records; "
                           "dt = {} ms, duration = {} ms)\n",
                           a.file, sim->populations().size(), neurons, sim->projections().size(),
                           sim->stimuli().size(), cfg.records().size(), sim->dt(), cfg.duration());
  return kOk;
}

int cmd_info(const Args& a) {
  if (!a.sets.empty()) bad_usage("nmsim info takes no --set, -o, --seed, --threads or --duration");
  std::cout << nmsim::io::describe_file(a.file);
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 2) {
      const std::string first = argv[1];
      if (first == "--help" || first == "-h" || first == "help") {
        std::cout << kUsage;
        return kOk;
      }
      if (first == "--version") {
        std::cout << "nmsim " << nmsim::io::version() << "\n";
        return kOk;
      }
    }
    if (argc >= 2 && std::string(argv[1]) == "sweep")
      return nmsim::apps::sweep_main(std::vector<std::string>(argv + 2, argv + argc));
    const Args a = nmsim::apps::parse_args(std::vector<std::string>(argv + 1, argv + argc));
    const char* help = a.command == "run"        ? kRunHelp
                       : a.command == "validate" ? kValidateHelp
                       : a.command == "info"     ? kInfoHelp
                                                 : nullptr;
    if (!help) {
      bad_usage(fmt::format("unknown command \"{}\"; expected run, validate, sweep or info", a.command));
    }
    if (a.help) {
      std::cout << help;
      return kOk;
    }
    if (a.file.empty()) bad_usage(fmt::format("nmsim {} expects a file; see nmsim {} --help", a.command, a.command));
    if (a.command == "run") return cmd_run(a);
    if (a.command == "validate") return cmd_validate(a);
    return cmd_info(a);
  } catch (const nmsim::ConfigError& e) {
    std::cerr << "nmsim: error: " << e.what() << "\n";
    return kBadInput;
  } catch (const std::exception& e) {
    std::cerr << "nmsim: error: " << e.what() << "\n";
    return kFailure;
  }
}
