// libFuzzer target: TOML text (+ optional --set lines) -> Config::parse -> Config::build.
#include <cstddef>
#include <cstdint>

#include "harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nmsim::fuzz::run_config(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
