#pragma once
// `nmsim sweep`: a grid of config values times seeds, each run a child process of this program
// (`nmsim run ... -o OUTDIR/run_XXXX.h5 --quiet`), --jobs at a time, resumable (docs/sweep.md).
#include <cstdint>
#include <string>
#include <vector>

#include "nmsim/io/sweep.hpp"

namespace nmsim::apps {

extern const char* const kSweepHelp;

struct SweepArgs {
  std::string config;
  std::string outdir;
  std::vector<io::sweep::Grid> grids;
  std::vector<std::string> sets;  // fixed --set KEY=VALUE
  std::uint64_t repeats = 1;
  int jobs = 0;     // 0 = one per core
  int threads = 0;  // per run; 0 = cores / jobs (at least 1)
  bool quiet = false;
  bool help = false;
};

/// Parse the arguments after "sweep" (ConfigError "command line: ..." on a mistake).
SweepArgs parse_sweep_args(const std::vector<std::string>& args);
/// Split "V1,V2,..." at the commas outside brackets, braces and quotes (TOML values may hold
/// commas: "[1, 2],[3, 4]" is two values); ConfigError on an empty value or unbalanced text.
std::vector<std::string> split_grid_values(const std::string& text, const std::string& option);
/// The runs of a sweep: the Cartesian product of the grids (the first grid varies slowest), each
/// point `repeats` times with seed = base seed + repeat index, where the base seed is the point's
/// simulation.seed (a grid value when simulation.seed is swept, else the config's after --set).
/// Checks the config and every grid value against it (ConfigError when a key fits no value).
io::sweep::Manifest plan_sweep(const SweepArgs& a);

/// Run the sweep; returns the exit code (0 all complete, 1 some failed, 130 interrupted).
int sweep_main(const std::vector<std::string>& args);

/// Logical cores this process may use (affinity mask), at least 1.
int available_cores();

}  // namespace nmsim::apps
