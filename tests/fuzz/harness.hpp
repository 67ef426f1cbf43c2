#pragma once
// What the fuzz targets do with one input, shared with the unit test that replays the inputs
// the fuzzer once crashed on (tests/unit/fuzz_regressions.cpp).
//
// config: the input is TOML text, optionally followed by a line "#--set" and then one --set
//   argument per line. It is loaded and checked exactly as `nmsim validate` does (Config::parse,
//   Config::build into a Simulation, Simulation::prepare up to 2000 neurons), except that the
//   build step is skipped when the text
//   holds a number of magnitude above 10^4 or a string longer than 256 characters (a population
//   of 10^9 neurons is valid input; allocating it is not what a fuzzer should spend its time on).
// cli: the input is argv (without the program name) separated by NUL bytes; it is parsed as the
//   program does, and any --set it yields is applied to a small valid config.
// Bad input must surface as nmsim::ConfigError; any other exception, crash, hang or sanitizer
// report is a bug.
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "cli_args.hpp"
#include "nmsim/core/error.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/io/config.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/modulators/register.hpp"

namespace nmsim::fuzz {

inline bool small_numbers(const toml::node& n) {
  if (const auto* t = n.as_table()) {
    for (auto&& [k, v] : *t)
      if (!small_numbers(v)) return false;
    return true;
  }
  if (const auto* a = n.as_array()) {
    for (const auto& e : *a)
      if (!small_numbers(e)) return false;
    return true;
  }
  if (n.is_number()) return std::fabs(*n.value<double>()) <= 1e4;
  if (n.is_string()) return n.value<std::string>()->size() <= 256;
  return true;
}

/// Returns true when the config was accepted, false for a ConfigError; throws anything else.
inline bool run_config(std::string_view input) {
  std::string text(input);
  std::vector<std::string> sets;
  const auto marker = text.find("\n#--set\n");
  if (marker != std::string::npos) {
    std::string rest = text.substr(marker + 8);
    text.resize(marker + 1);
    std::size_t start = 0;
    while (start <= rest.size()) {
      const auto nl = rest.find('\n', start);
      const std::string line = rest.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      if (!line.empty()) sets.push_back(line);
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
  try {
    const io::Config cfg = io::Config::parse(text, "fuzz.toml", sets);
    toml::table again;
    try {
      again = toml::parse(cfg.resolved_text());
    } catch (const toml::parse_error& e) {
      // The resolved config must itself be valid TOML: it is stored in /config to rerun with.
      throw std::logic_error(std::string("resolved config does not parse: ") + std::string(e.description()));
    }
    if (!small_numbers(again)) return true;
    Registry registry;
    models::register_models(registry);
    modulators::register_modulators(registry);
    SimulationOptions options = cfg.simulation_options();
    try {
      Simulation as_given(options);  // checks the options (threads, dt) without starting threads
    } catch (const ConfigError& e) {
      cfg.rethrow_with_position(e);
    }
    options.threads = 1;
    Simulation sim(options);
    cfg.build(sim, registry);
    // Prepare (connectivity, modulator geometry) as `nmsim validate` does, for small networks.
    std::size_t neurons = 0;
    for (const auto& p : sim.populations()) neurons += p->size();
    if (neurons <= 2000) {
      try {
        sim.prepare();
      } catch (const ConfigError& e) {
        cfg.rethrow_with_position(e);
      }
    }
    return true;
  } catch (const ConfigError&) {
    return false;
  }
}

inline bool run_cli(std::string_view input) {
  std::vector<std::string> argv;
  std::size_t start = 0;
  while (start <= input.size()) {
    const auto nul = input.find('\0', start);
    argv.emplace_back(input.substr(start, nul == std::string_view::npos ? std::string_view::npos : nul - start));
    if (nul == std::string_view::npos) break;
    start = nul + 1;
  }
  try {
    const apps::Args a = apps::parse_args(argv);
    static const char* kBase =
        "[simulation]\ndt = 0.1\nduration = 10.0\n[[population]]\nname = \"exc\"\nmodel = \"lif\"\nsize = 4\n"
        "[[projection]]\nname = \"ee\"\nsource = \"exc\"\ntarget = \"exc\"\nconnect = { rule = \"all_to_all\" }\n";
    const io::Config cfg = io::Config::parse(kBase, "base.toml", a.sets);
    (void)toml::parse(cfg.resolved_text());
    return true;
  } catch (const ConfigError&) {
    return false;
  }
}

}  // namespace nmsim::fuzz
