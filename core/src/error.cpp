#include "nmsim/core/error.hpp"

#include <fmt/format.h>

namespace nmsim {

std::string SourcePos::str() const {
  if (file.empty() && line == 0) return {};
  if (line <= 0) return file;
  if (column <= 0) return fmt::format("{}{}{}", file, file.empty() ? "" : ":", line);
  return fmt::format("{}{}{}:{}", file, file.empty() ? "" : ":", line, column);
}

namespace {
std::string compose(const SourcePos& pos, const std::string& key, const std::string& message) {
  const std::string where = pos.str();
  return fmt::format("{}{}{}{}{}", where, where.empty() ? "" : ": ", key, key.empty() ? "" : ": ", message);
}
}  // namespace

ConfigError::ConfigError(SourcePos pos, std::string key, const std::string& message)
    : std::runtime_error(compose(pos, key, message)),
      pos_(std::move(pos)),
      key_(std::move(key)),
      detail_(message) {}

}  // namespace nmsim
