#pragma once
// TOML configs (SPEC.md "Config"): parse, apply --set overrides, validate, build a network.
//
// Every value keeps its file position, so any error -- a TOML syntax error, an unknown key, a
// wrong type, a model rejecting a parameter, the engine rejecting a delay -- is reported as
// "file:line:col: key.path: expected ..., found ..." (nmsim::ConfigError).
#include <array>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nmsim/core/params.hpp"
#include "nmsim/core/registry.hpp"
#include "nmsim/core/simulation.hpp"

namespace nmsim::io {

struct OutputConfig {
  std::string file = "nmsim_out.h5";
  double flush_interval = 1000.0;  // ms of simulated time between flushes to disk
  int compression = 4;             // deflate level 0..9 (0 = none)
};

struct RecordConfig {
  std::string name;
  std::string kind;        // "spikes" | "state" | "weights" | "modulator"
  std::string population;  // population (spikes, state), projection (weights) or modulator name
  std::string variable;    // state only
  std::vector<NeuronIndex> neurons;  // state: empty = all
  std::vector<std::uint64_t> synapses;  // weights: indices in Projection::synapses() order; empty = all
  bool final_snapshot = false;          // weights: also write all weights at the end
  std::vector<std::array<double, 3>> probes;  // modulator: points sampled in a spatial field (um)
  double snapshot_interval = 0.0;             // modulator: ms between whole-field snapshots (0 = none)
  double interval = 0.0;   // ms (state); 0 = every step
  double start = 0.0;      // ms
  double stop = std::numeric_limits<double>::infinity();  // ms
};

class Config {
 public:
  /// Read `path`, apply `sets` ("dotted.key=VALUE", SPEC.md), parse and check the structure.
  static Config load(const std::string& path, const std::vector<std::string>& sets = {});
  /// The same from text; `source_name` is used in error messages.
  static Config parse(const std::string& text, const std::string& source_name,
                      const std::vector<std::string>& sets = {});
  Config(Config&&) noexcept;
  Config& operator=(Config&&) noexcept;
  ~Config();

  /// The fully resolved config (after --set) as TOML text: enough to rerun.
  const std::string& resolved_text() const;
  const std::string& source_name() const;
  SimulationOptions simulation_options() const;
  double duration() const;  // ms
  const OutputConfig& output() const;
  const std::vector<RecordConfig>& records() const;

  /// Add populations, projections and stimuli to `sim`. Semantic errors (unknown model or
  /// population, bad parameter values, delays below dt, ...) are ConfigErrors with positions.
  void build(Simulation& sim, const Registry& registry) const;
  /// Rethrow a position-less ConfigError (e.g. from the engine) with the position of its key.
  [[noreturn]] void rethrow_with_position(const ConfigError& e) const;

 private:
  struct Impl;
  explicit Config(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nmsim::io
