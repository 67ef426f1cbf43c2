#pragma once
// Checks on the output file of `nmsim run`, made before anything is built or written, so that a
// run that cannot write its result fails at once as bad input (exit code 2) and leaves no file.
#include <string>

namespace nmsim::apps {

/// Throws nmsim::ConfigError (key "output.file", no position) when `file` is a directory, exists
/// and `force` is false, exists but cannot be opened for writing, or cannot be created (missing
/// directory, no permission, read-only file system). The creation test really creates the file
/// (O_CREAT | O_EXCL) and removes it again, so it holds for root and for any file system.
void check_output_path(const std::string& file, bool force);

}  // namespace nmsim::apps
