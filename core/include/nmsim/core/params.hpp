#pragma once
// Generic parameter tables: what a config table hands to a model, rule or stimulus factory.
// Each value remembers where it came from, so validation errors can name file, line:column and
// the full key path. Getters mark keys as used; reject_unknown() turns leftovers into errors.
#include <limits>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "nmsim/core/error.hpp"
#include "nmsim/core/rng.hpp"

namespace nmsim {

/// A scalar parameter that may vary per neuron or per synapse.
///   constant: a             uniform: [a, b)             normal: mean a, sd b
/// `lo`/`hi` bound the drawn values; a draw outside is redrawn (a truncated distribution,
/// as NEST's *_clipped), so bounds change the shape, never pile mass on the edge.
struct Distribution {
  enum class Kind { constant, uniform, normal };
  Kind kind = Kind::constant;
  double a = 0.0;
  double b = 0.0;
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();

  static Distribution constant(double v) { return {Kind::constant, v, 0.0}; }
  static Distribution uniform(double lo, double hi) { return {Kind::uniform, lo, hi}; }
  static Distribution normal(double mean, double sd) { return {Kind::normal, mean, sd}; }
  bool is_constant() const { return kind == Kind::constant; }
  /// Smallest and largest value a draw can take.
  double min_value() const;
  double max_value() const;
  double sample(RandomStream& rng) const;
  std::string str() const;
};

struct ParamValue {
  std::variant<double, bool, std::string, Distribution, std::vector<double>, std::vector<std::string>>
      value;
  SourcePos pos = {};  // where it was written (unknown for values set from code)
};

/// Constraint on a number, checked by the getters.
enum class Check { any, positive, non_negative, probability, integer_non_negative, integer_positive };

class ParamTable {
 public:
  ParamTable() = default;
  /// `path` is the dotted key path of the table itself, e.g. "population.exc.params".
  explicit ParamTable(std::string path, SourcePos pos = {}) : path_(std::move(path)), pos_(std::move(pos)) {}

  void set(const std::string& key, ParamValue v) { values_[key] = std::move(v); }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  bool empty() const { return values_.empty(); }
  std::vector<std::string> keys() const;
  const std::string& path() const { return path_; }
  const SourcePos& pos() const { return pos_; }
  const SourcePos& pos_of(const std::string& key) const;
  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  /// Number (bool not accepted). Without default: required.
  double number(const std::string& key, double dflt, Check check = Check::any) const;
  double number(const std::string& key, Check check = Check::any) const;
  /// Number or distribution; a distribution's support must satisfy `check`.
  Distribution distribution(const std::string& key, Distribution dflt, Check check = Check::any) const;
  Distribution distribution(const std::string& key, Check check = Check::any) const;
  std::string string(const std::string& key, const std::string& dflt) const;
  std::string string(const std::string& key) const;
  /// A string that must be one of `allowed`.
  std::string choice(const std::string& key, const std::string& dflt,
                     const std::vector<std::string>& allowed) const;
  bool boolean(const std::string& key, bool dflt) const;
  std::vector<double> numbers(const std::string& key) const;
  std::vector<std::string> strings(const std::string& key) const;

  /// Throw ConfigError naming the key, with `message` (expected ..., found ...).
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;
  /// Error on the first key no getter asked for, listing the keys that are allowed.
  void reject_unknown(const std::vector<std::string>& allowed) const;
  /// Error on the first key no getter has asked for so far.
  void reject_unused() const;

 private:
  const ParamValue& get(const std::string& key) const;
  void check_number(const std::string& key, double v, Check check) const;
  std::string path_;
  SourcePos pos_;
  std::map<std::string, ParamValue> values_;
  mutable std::set<std::string> used_;
};

/// Name of the type held by a value, for "expected X, found Y" messages.
std::string type_name(const ParamValue& v);

}  // namespace nmsim
