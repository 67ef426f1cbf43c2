// Every input the fuzzers (tests/fuzz, scripts/fuzz.sh) once crashed on, replayed through the
// same harness in the normal build: each must now end as accepted input or as a ConfigError.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../fuzz/harness.hpp"

namespace {

std::vector<std::filesystem::path> inputs(const std::string& target) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(NMSIM_SOURCE_DIR) + "/tests/fuzz/regressions/" + target))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("fuzz regressions: config inputs that once crashed the loader are now clean") {
  for (const auto& p : inputs("config")) {
    INFO(p.filename().string());
    CHECK_NOTHROW(nmsim::fuzz::run_config(slurp(p)));
  }
}

TEST_CASE("fuzz regressions: command lines that once crashed the parser are now clean") {
  for (const auto& p : inputs("cli")) {
    INFO(p.filename().string());
    CHECK_NOTHROW(nmsim::fuzz::run_cli(slurp(p)));
  }
}

TEST_CASE("fuzz seeds: the example configs are accepted by the fuzz harness") {
  for (const char* ex : {"brunel", "coba", "spnet"}) {
    INFO(ex);
    CHECK(nmsim::fuzz::run_config(slurp(std::string(NMSIM_SOURCE_DIR) + "/examples/" + ex + "/" + ex + ".toml")));
  }
}
