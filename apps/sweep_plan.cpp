// `nmsim sweep`: command-line arguments and the plan of runs (docs/sweep.md).
#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "nmsim/core/error.hpp"
#include "nmsim/io/config.hpp"
#include "nmsim/io/version.hpp"
#include "sweep.hpp"

namespace nmsim::apps {

const char* const kSweepHelp =
    "nmsim sweep CONFIG.toml --grid KEY=V1,V2,... [--grid ...] -o OUTDIR [options]\n"
    "  run CONFIG for every combination of the grid values, each --repeats times with seeds\n"
    "  base seed + 0, 1, ..., R-1 (base seed: simulation.seed, or its grid value when swept)\n"
    "  --grid KEY=V1,V2,...    a config key (as for --set) and its values (TOML; commas inside\n"
    "                          [...], {...} or quotes do not split); repeat for more keys\n"
    "  -o, --output OUTDIR     one HDF5 file per run (run_0000.h5, ...), manifest.toml,\n"
    "                          summary.csv, index.h5, logs/ (each run's stdout and stderr)\n"
    "  --repeats R             seeds per grid point (default 1)\n"
    "  --jobs J                runs at a time (default: one per core)\n"
    "  --threads T             threads per run (default: cores / jobs, at least 1)\n"
    "  --set KEY=VALUE         a fixed config value for every run\n"
    "  --quiet                 no progress on stderr\n"
    "Each run is a separate `nmsim run` process: a failing run is listed at the end with its\n"
    "error and does not stop the others. Running the same command again skips the runs whose\n"
    "file is complete and redoes the rest; a different grid, --set, --repeats or config in the\n"
    "same OUTDIR is refused. Ctrl-C stops the running runs (their files say \"interrupted\") and\n"
    "leaves OUTDIR resumable. Exit codes: 0 all runs complete, 1 some failed, 2 bad arguments,\n"
    "130 interrupted. Details: docs/sweep.md\n";

namespace {

[[noreturn]] void bad(const std::string& msg) { throw ConfigError({"command line", 0, 0}, "", msg); }

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

long long whole_number(const std::string& option, const std::string& x, long long min) {
  try {
    std::size_t used = 0;
    const long long n = std::stoll(x, &used);
    if (used == x.size() && n >= min) return n;
  } catch (const std::exception&) {
  }
  bad(fmt::format("{} expects a whole number >= {}, found \"{}\"", option, min, x));
}

io::sweep::Grid parse_grid(const std::string& arg) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos || trim(arg.substr(0, eq)).empty())
    bad(fmt::format("--grid expects KEY=V1,V2,... (e.g. --grid population.exc.params.tau_m=10,20), found \"{}\"",
                    arg));
  io::sweep::Grid g;
  g.key = trim(arg.substr(0, eq));
  if (g.key.find_first_of(" \t,") != std::string::npos || g.key.front() == '.' || g.key.back() == '.' ||
      g.key.find("..") != std::string::npos)
    bad(fmt::format("--grid {}: expected a dotted config key such as simulation.dt, found \"{}\"", arg, g.key));
  g.values = split_grid_values(arg.substr(eq + 1), "--grid " + arg);
  std::set<std::string> seen;
  for (const auto& v : g.values)
    if (!seen.insert(v).second) bad(fmt::format("--grid {}: the value {} is listed twice", g.key, v));
  return g;
}

}  // namespace

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

std::vector<std::string> split_grid_values(const std::string& text, const std::string& option) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      cur += c;
      if (c == '\\' && quote == '"' && i + 1 < text.size()) {
        cur += text[++i];
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (--depth < 0) bad(fmt::format("{}: unbalanced '{}' in the values", option, c));
    } else if (c == ',' && depth == 0) {
      if (trim(cur).empty()) bad(fmt::format("{}: empty value in the list (expected V1,V2,...)", option));
      out.push_back(trim(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  if (quote) bad(fmt::format("{}: unterminated quote in the values", option));
  if (depth != 0) bad(fmt::format("{}: unbalanced brackets in the values", option));
  if (trim(cur).empty()) bad(fmt::format("{}: empty value in the list (expected V1,V2,...)", option));
  out.push_back(trim(cur));
  return out;
}

SweepArgs parse_sweep_args(const std::vector<std::string>& v) {
  SweepArgs a;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string& s = v[i];
    auto value = [&](const char* what) -> std::string {
      if (i + 1 >= v.size()) bad(fmt::format("{} expects {}", s, what));
      return v[++i];
    };
    if (s == "--help" || s == "-h") {
      a.help = true;
    } else if (s == "--quiet" || s == "-q") {
      a.quiet = true;
    } else if (s == "--grid") {
      a.grids.push_back(parse_grid(value("KEY=V1,V2,...")));
    } else if (s.rfind("--grid=", 0) == 0) {
      a.grids.push_back(parse_grid(s.substr(7)));
    } else if (s == "--set") {
      a.sets.push_back(value("KEY=VALUE"));
    } else if (s.rfind("--set=", 0) == 0) {
      a.sets.push_back(s.substr(6));
    } else if (s == "-o" || s == "--output") {
      a.outdir = value("an output directory");
    } else if (s == "--repeats") {
      a.repeats = static_cast<std::uint64_t>(whole_number(s, value("a whole number >= 1"), 1));
    } else if (s == "--jobs" || s == "-j") {
      a.jobs = static_cast<int>(std::min<long long>(whole_number(s, value("a whole number >= 1"), 1), 4096));
    } else if (s == "--threads") {
      a.threads = static_cast<int>(std::min<long long>(whole_number(s, value("a whole number >= 1"), 1), 4096));
    } else if (!s.empty() && s[0] == '-') {
      bad(fmt::format("unknown option \"{}\" for nmsim sweep; see nmsim sweep --help", s));
    } else if (a.config.empty()) {
      a.config = s;
    } else {
      bad(fmt::format("unexpected argument \"{}\" (one config per sweep)", s));
    }
  }
  if (a.help) return a;
  if (a.config.empty()) bad("nmsim sweep expects a config file; see nmsim sweep --help");
  if (a.outdir.empty()) bad("nmsim sweep expects -o OUTDIR (the directory for the runs' files)");
  if (a.grids.empty()) bad("nmsim sweep expects at least one --grid KEY=V1,V2,...");
  for (std::size_t i = 0; i < a.grids.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (a.grids[i].key == a.grids[j].key) bad(fmt::format("--grid {} is given twice", a.grids[i].key));
  for (const auto& g : a.grids)
    for (const auto& s : a.sets)
      if (s.rfind(g.key + "=", 0) == 0) bad(fmt::format("{} is given both as --set and as --grid", g.key));
  return a;
}

io::sweep::Manifest plan_sweep(const SweepArgs& a) {
  io::sweep::Manifest m;
  m.nmsim_version = io::version();
  m.config = std::filesystem::absolute(a.config).lexically_normal().string();
  m.config_hash = io::sweep::hash_file(a.config);
  m.sets = a.sets;
  m.grids = a.grids;
  m.repeats = a.repeats;

  // The config and the fixed --set must be valid; each grid key must take at least one of its
  // values (a key that takes none is a mistake in the command, not in one run).
  const io::Config base = io::Config::load(a.config, a.sets);
  const std::uint64_t base_seed = base.simulation_options().seed;
  for (const auto& g : a.grids) {
    std::string first_error;
    bool any = false;
    for (const auto& v : g.values) {
      std::vector<std::string> sets = a.sets;
      sets.push_back(g.key + "=" + v);
      try {
        io::Config::load(a.config, sets);
        any = true;
        break;
      } catch (const ConfigError& e) {
        if (first_error.empty()) first_error = e.what();
      }
    }
    if (!any)
      throw ConfigError({"command line", 0, 0}, "",
                        fmt::format("--grid {}: no value of it gives a valid config ({})", g.key, first_error));
  }

  std::size_t points = 1;
  for (const auto& g : a.grids) points *= g.values.size();
  const std::size_t n = points * a.repeats;
  if (n > 1000000) bad(fmt::format("the sweep has {} runs; at most 1000000", n));
  const int width = std::max<int>(4, static_cast<int>(fmt::format("{}", n == 0 ? 0 : n - 1).size()));
  std::vector<std::size_t> digit(a.grids.size(), 0);
  for (std::size_t p = 0; p < points; ++p) {
    // Mixed-radix digits of p, the last grid fastest.
    std::size_t rest = p;
    for (std::size_t g = a.grids.size(); g-- > 0;) {
      digit[g] = rest % a.grids[g].values.size();
      rest /= a.grids[g].values.size();
    }
    std::vector<std::string> values;
    std::uint64_t seed = base_seed;
    for (std::size_t g = 0; g < a.grids.size(); ++g) {
      values.push_back(a.grids[g].values[digit[g]]);
      if (a.grids[g].key == "simulation.seed") {
        const auto x = io::sweep::toml_number(values.back());
        if (!x || *x < 0 || *x != static_cast<double>(static_cast<std::uint64_t>(*x)))
          bad(fmt::format("--grid simulation.seed: expected whole numbers >= 0, found {}", values.back()));
        seed = static_cast<std::uint64_t>(*x);
      }
    }
    for (std::uint64_t r = 0; r < a.repeats; ++r) {
      io::sweep::PlannedRun run;
      run.id = m.runs.size();
      run.file = fmt::format("run_{:0{}}.h5", run.id, width);
      run.values = values;
      run.repeat = r;
      run.seed = seed + r;
      m.runs.push_back(std::move(run));
    }
  }
  return m;
}

}  // namespace nmsim::apps
