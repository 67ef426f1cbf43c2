#pragma once
// The nmsim command line as data: parse_args() turns argv into Args or throws ConfigError (bad
// input, exit code 2). Kept apart from main() so that tests and the fuzz target can call it.
#include <string>
#include <vector>

namespace nmsim::apps {

struct Args {
  std::string command;            // run | validate | info | ... (checked by main)
  std::string file;               // CONFIG.toml or OUT.h5
  std::vector<std::string> sets;  // --set KEY=VALUE, then the flags turned into sets (they win)
  bool quiet = false;
  bool help = false;
  bool force = false;             // run: overwrite an existing output file
  double checkpoint_every = 0.0;  // run: ms of simulated time between checkpoints (0 = none)
  std::string resume;             // run: checkpoint file to continue from ("" = none)
};

/// `argv` without the program name. Throws nmsim::ConfigError (file "command line") on an
/// unknown option, a missing or malformed option value, or a second positional argument.
Args parse_args(const std::vector<std::string>& argv);

/// A TOML basic string holding `s` (quotes, backslashes and control characters escaped).
std::string toml_quote(const std::string& s);

}  // namespace nmsim::apps
