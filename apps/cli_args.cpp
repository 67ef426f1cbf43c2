#include "cli_args.hpp"

#include <cmath>
#include <exception>
#include <stdexcept>

#include <fmt/format.h>

#include "nmsim/core/error.hpp"

namespace nmsim::apps {

namespace {

[[noreturn]] void bad_usage(const std::string& msg) { throw ConfigError({"command line", 0, 0}, "", msg); }

// "12", not " 12", "+12", "1e3" or "12x": the value goes into the config as TOML text.
bool is_whole_number(const std::string& x) {
  if (x.empty() || x.size() > 18) return false;
  for (char c : x)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

std::string toml_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04X}", static_cast<unsigned>(u));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

Args parse_args(const std::vector<std::string>& v) {
  Args a;
  if (v.empty()) bad_usage("expected a command (run, validate, info); see nmsim --help");
  a.command = v[0];
  std::vector<std::string> flag_sets;
  for (std::size_t i = 1; i < v.size(); ++i) {
    const std::string& s = v[i];
    auto value = [&](const char* what) -> std::string {
      if (i + 1 >= v.size()) bad_usage(fmt::format("{} expects {}", s, what));
      return v[++i];
    };
    auto whole = [&](const char* what) -> std::string {
      const std::string x = value(what);
      if (!is_whole_number(x)) bad_usage(fmt::format("{} expects {}, found \"{}\"", s, what, x));
      return x;
    };
    auto duration = [&](const char* what) -> std::string {
      const std::string x = value(what);
      double d = -1;
      try {
        std::size_t used = 0;
        d = std::stod(x, &used);
        if (used != x.size() || x.empty() || x[0] == ' ' || x[0] == '+') d = -1;
      } catch (const std::exception&) {
        d = -1;
      }
      if (!(d >= 0) || !std::isfinite(d)) bad_usage(fmt::format("{} expects {}, found \"{}\"", s, what, x));
      return fmt::format("{}", d);  // shortest round-trip text: valid TOML for a finite number
    };
    if (s == "--help" || s == "-h") {
      a.help = true;
    } else if (s == "--quiet" || s == "-q") {
      a.quiet = true;
    } else if (s == "--force" || s == "-f") {
      a.force = true;
    } else if (s == "--set") {
      a.sets.push_back(value("KEY=VALUE"));
    } else if (s.rfind("--set=", 0) == 0) {
      a.sets.push_back(s.substr(6));
    } else if (s == "-o" || s == "--output") {
      const std::string file = value("a file name");
      if (file.empty()) bad_usage(fmt::format("{} expects a file name, found \"\"", s));
      flag_sets.push_back("output.file=" + toml_quote(file));
    } else if (s == "--threads") {
      flag_sets.push_back("simulation.threads=" + whole("a whole number >= 0"));
    } else if (s == "--seed") {
      flag_sets.push_back("simulation.seed=" + whole("a whole number >= 0"));
    } else if (s == "--duration") {
      flag_sets.push_back("simulation.duration=" + duration("a duration in ms >= 0"));
    } else if (s == "--checkpoint-every") {
      a.checkpoint_every = std::stod(duration("a time in ms > 0"));
      if (!(a.checkpoint_every > 0)) bad_usage(fmt::format("{} expects a time in ms > 0, found 0", s));
    } else if (s == "--resume") {
      a.resume = value("a checkpoint file");
      if (a.resume.empty()) bad_usage(fmt::format("{} expects a checkpoint file, found \"\"", s));
    } else if (!s.empty() && s[0] == '-') {
      bad_usage(fmt::format("unknown option \"{}\" for nmsim {}; see nmsim {} --help", s, a.command, a.command));
    } else if (a.file.empty()) {
      a.file = s;
    } else {
      bad_usage(fmt::format("unexpected argument \"{}\"", s));
    }
  }
  // Flags come after --set so that -o, --seed, ... win.
  a.sets.insert(a.sets.end(), flag_sets.begin(), flag_sets.end());
  return a;
}

}  // namespace nmsim::apps
