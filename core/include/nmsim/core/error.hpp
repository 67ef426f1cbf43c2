#pragma once
// Errors. ConfigError is bad user input (exit code 2); RuntimeError a failure during a run
// (exit code 1). Both carry a message that is complete on its own: no stack traces.
#include <stdexcept>
#include <string>

namespace nmsim {

/// Where a value came from: a file position (1-based line and column; 0 = unknown).
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;
  /// "file:line:col" or "file" or "" depending on what is known.
  std::string str() const;
};

/// Bad input: config, command line or file. `key` is the dotted key path (e.g.
/// "population.exc.params.tau_m"); the message says what was expected and what was found.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(SourcePos pos, std::string key, const std::string& message);
  const SourcePos& pos() const { return pos_; }
  const std::string& key() const { return key_; }
  const std::string& detail() const { return detail_; }

 private:
  SourcePos pos_;
  std::string key_;
  std::string detail_;
};

/// Failure while running (I/O error, numerical failure).
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace nmsim
