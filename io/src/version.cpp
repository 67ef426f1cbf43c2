#include "nmsim/io/version.hpp"

namespace nmsim::io {
const char* version() { return NMSIM_VERSION; }
}  // namespace nmsim::io
