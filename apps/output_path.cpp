#include "output_path.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "nmsim/core/error.hpp"

namespace nmsim::apps {

namespace {

[[noreturn]] void refuse(const std::string& msg) { throw ConfigError({}, "output.file", msg); }

}  // namespace

void check_output_path(const std::string& file, bool force) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(file, ec);
  if (fs::is_directory(st)) refuse(fmt::format("expected a file name, found the directory \"{}\"", file));
  if (fs::exists(st)) {
    if (!force)
      refuse(fmt::format("expected a new file, found an existing \"{}\"; use --force to overwrite it", file));
    const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) refuse(fmt::format("expected a writable file, found \"{}\": {}", file, std::strerror(errno)));
    ::close(fd);
    return;
  }
  const fs::path dir = fs::path(file).parent_path();
  if (!dir.empty() && fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    refuse(fmt::format("expected a file in a directory, found \"{}\": \"{}\" is not a directory", file,
                       dir.string()));
  if (!dir.empty() && !fs::is_directory(dir, ec))
    refuse(fmt::format("expected a file in an existing directory, found \"{}\": directory \"{}\" does not exist",
                       file, dir.string()));
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) refuse(fmt::format("expected a file that can be created, found \"{}\": {}", file, std::strerror(errno)));
  ::close(fd);
  ::unlink(file.c_str());
}

}  // namespace nmsim::apps
