#pragma once
// Files of a parameter sweep (`nmsim sweep`, docs/sweep.md): the manifest of planned runs, the
// test "is this run file complete and of these parameters", the scalar results of a run file and
// the HDF5 index of a sweep. The processes themselves are run by the nmsim program (apps/).
//
// OUTDIR/manifest.toml   the plan: config (path, FNV-1a hash of its bytes), fixed --set list,
//                        grids (key and TOML values), repeats, and one [[run]] per run (id, file,
//                        grid values, repeat, seed). Written before the first run starts.
// OUTDIR/index.h5        one row per run (write_index below).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nmsim::io::sweep {

/// One --grid: a config key and its values, each the TOML text given on the command line.
struct Grid {
  std::string key;
  std::vector<std::string> values;
};

struct PlannedRun {
  std::uint64_t id = 0;
  std::string file;                 // file name inside OUTDIR (run_0000.h5)
  std::vector<std::string> values;  // one per grid, in grid order
  std::uint64_t repeat = 0;         // 0..repeats-1
  std::uint64_t seed = 0;           // simulation.seed of the run
};

struct Manifest {
  std::string nmsim_version;
  std::string config;       // path of the config (absolute)
  std::string config_hash;  // FNV-1a 64-bit of the config file's bytes, 16 hex digits
  std::vector<std::string> sets;  // fixed --set KEY=VALUE applied to every run
  std::vector<Grid> grids;
  std::uint64_t repeats = 1;
  std::vector<PlannedRun> runs;

  /// The --set arguments of a run: the fixed sets, then KEY=VALUE per grid, then the seed.
  std::vector<std::string> run_sets(const PlannedRun& r) const;
};

/// FNV-1a 64-bit hash of a file's bytes as 16 hex digits (ConfigError when unreadable).
std::string hash_file(const std::string& path);

void write_manifest(const std::string& path, const Manifest& m);
/// ConfigError (with the file's line:column) when it is not a manifest written by write_manifest.
Manifest read_manifest(const std::string& path);
/// What differs between two plans in what the runs compute (config bytes, sets, grids, repeats,
/// seeds, file names), in words; empty when they plan the same runs.
std::string plan_difference(const Manifest& before, const Manifest& now);

/// True when `file` is a finished run of these --set arguments: it opens, its root attribute
/// status is "complete", and applying `sets` to the config it stores (/config) changes nothing.
/// Otherwise false, with the reason in *why.
bool run_is_complete(const std::string& file, const std::vector<std::string>& sets, std::string* why = nullptr);

/// Every numeric scalar attribute of /summary (under its own name) and of /trials (as
/// "trials.<name>") of a run file; empty when the file cannot be read.
std::vector<std::pair<std::string, double>> run_results(const std::string& file);

/// A run's outcome as the sweep saw it.
struct RunOutcome {
  std::string status = "not_run";  // "complete" | "failed" | "interrupted" | "not_run"
  int exit_code = -1;              // process exit code (128 + signal when killed); -1 = not run
  std::string error;               // first line of the run's stderr when it failed
  double elapsed = -1;             // [s] wall-clock time of the run's process; < 0 = not run now
  bool reused = false;             // complete from an earlier invocation, not run again
  std::map<std::string, double> results;  // run_results of its file
};

/// OUTDIR/index.h5: root attrs config, config_hash, nmsim_version, repeats, grid_keys; datasets
/// under /runs, one element per run in id order: id, repeat, seed (uint64), file, status, error
/// (strings), exit_code (int32), elapsed (float64, s, NaN when not run now), reused (int8, 1 = complete before);
/// /runs/params/<key> (float64 when every value of the grid is a number, else the TOML text);
/// /runs/results/<name> (float64, NaN where a run has no such result), in `result_names` order.
void write_index(const std::string& path, const Manifest& m, const std::vector<RunOutcome>& outcomes,
                 const std::vector<std::string>& result_names);

/// The value of TOML text as a number when it is one (integer or float), else nullopt.
std::optional<double> toml_number(const std::string& text);

}  // namespace nmsim::io::sweep
