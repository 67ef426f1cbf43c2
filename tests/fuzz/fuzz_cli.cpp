// libFuzzer target: NUL-separated argv -> the nmsim argument parser -> --set on a small config.
#include <cstddef>
#include <cstdint>

#include "harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nmsim::fuzz::run_cli(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
