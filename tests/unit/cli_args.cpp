// The command-line parser of the nmsim program (apps/cli_args.hpp) and the output-path checks
// (apps/output_path.hpp): every malformed command line is a ConfigError (exit code 2).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "cli_args.hpp"
#include "nmsim/core/error.hpp"
#include "nmsim/io/config.hpp"
#include "output_path.hpp"

using nmsim::apps::parse_args;

namespace {

std::string error_of(const std::vector<std::string>& argv) {
  try {
    parse_args(argv);
  } catch (const nmsim::ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string output_error(const std::string& file, bool force) {
  try {
    nmsim::apps::check_output_path(file, force);
  } catch (const nmsim::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("cli: options become --set overrides that win over the user's --set") {
  const auto a = parse_args({"run", "net.toml", "--set", "simulation.seed=3", "-o", "a \"b\".h5", "--seed", "7",
                             "--threads", "2", "--duration", "250.5", "--force", "--quiet"});
  CHECK(a.command == "run");
  CHECK(a.file == "net.toml");
  CHECK(a.force);
  CHECK(a.quiet);
  REQUIRE(a.sets.size() == 5);
  CHECK(a.sets[0] == "simulation.seed=3");
  CHECK(a.sets[1] == "output.file=\"a \\\"b\\\".h5\"");
  CHECK(a.sets[2] == "simulation.seed=7");
  CHECK(a.sets[4] == "simulation.duration=250.5");
  // The quoted file name survives the trip through the config loader unchanged.
  const auto cfg = nmsim::io::Config::parse("[simulation]\ndt = 0.1\nduration = 1.0\n[[population]]\n"
                                            "name = \"p\"\nmodel = \"lif\"\nsize = 1\n",
                                            "net.toml", {a.sets[1]});
  CHECK(cfg.output().file == "a \"b\".h5");
  const auto ctl = parse_args({"run", "x.toml", "-o", std::string("a\nb\x01.h5")});
  const auto cfg2 = nmsim::io::Config::parse("[simulation]\ndt = 0.1\nduration = 1.0\n[[population]]\n"
                                             "name = \"p\"\nmodel = \"lif\"\nsize = 1\n",
                                             "net.toml", {ctl.sets[0]});
  CHECK(cfg2.output().file == std::string("a\nb\x01.h5"));
}

TEST_CASE("cli: malformed command lines are ConfigErrors with one clear message") {
  CHECK_THAT(error_of({}), Catch::Contains("expected a command"));
  CHECK_THAT(error_of({"run", "a.toml", "--threads"}), Catch::Contains("--threads expects"));
  for (const char* bad : {"two", "-1", "1.5", "+2", " 2", "", "99999999999999999999"})
    CHECK_THAT(error_of({"run", "a.toml", "--threads", bad}),
               Catch::Contains("command line") && Catch::Contains("--threads expects a whole number"));
  for (const char* bad : {"nan", "inf", "-5", "1e400", "5ms", ""})
    CHECK_THAT(error_of({"run", "a.toml", "--duration", bad}), Catch::Contains("--duration expects a duration"));
  CHECK_THAT(error_of({"run", "a.toml", "--seed", "x"}), Catch::Contains("--seed expects"));
  CHECK_THAT(error_of({"run", "a.toml", "-o", ""}), Catch::Contains("-o expects a file name"));
  CHECK_THAT(error_of({"run", "a.toml", "--frobnicate"}), Catch::Contains("unknown option \"--frobnicate\""));
  CHECK_THAT(error_of({"run", "a.toml", "b.toml"}), Catch::Contains("unexpected argument \"b.toml\""));
  CHECK_THAT(error_of({"run", "a.toml", "--set"}), Catch::Contains("--set expects KEY=VALUE"));
}

TEST_CASE("cli: the output path is checked before anything is written") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("nmsim_out_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string fresh = (dir / "new.h5").string();
  CHECK(output_error(fresh, false) == "");
  CHECK_FALSE(fs::exists(fresh));  // the probe file is removed again
  const std::string old = (dir / "old.h5").string();
  std::ofstream(old) << "x";
  CHECK_THAT(output_error(old, false), Catch::Contains("output.file") && Catch::Contains("--force") &&
                                           Catch::Contains("existing"));
  CHECK(output_error(old, true) == "");
  CHECK(fs::file_size(old) == 1);  // checking does not truncate
  CHECK_THAT(output_error(dir.string(), true), Catch::Contains("directory"));
  CHECK_THAT(output_error((dir / "no" / "x.h5").string(), false), Catch::Contains("does not exist"));
  CHECK_THAT(output_error(old + "/x.h5", false), Catch::Contains("output.file") && Catch::Contains("expected"));
  fs::remove_all(dir);
}
