#include "nmsim/core/params.hpp"

#include <cmath>

#include <fmt/format.h>

namespace nmsim {

double Distribution::min_value() const {
  switch (kind) {
    case Kind::constant: return a;
    case Kind::uniform: return std::max(a, lo);
    case Kind::normal: return lo;
  }
  return a;
}

double Distribution::max_value() const {
  switch (kind) {
    case Kind::constant: return a;
    case Kind::uniform: return std::min(b, hi);
    case Kind::normal: return hi;
  }
  return a;
}

double Distribution::sample(RandomStream& rng) const {
  if (kind == Kind::constant) return a;
  // Bounds were validated to leave positive probability; 10^6 redraws means they did not.
  for (int attempt = 0; attempt < 1000000; ++attempt) {
    const double v = kind == Kind::uniform ? a + (b - a) * rng.uniform() : a + b * rng.normal();
    if (v >= lo && v <= hi) return v;
  }
  throw RuntimeError(fmt::format("distribution {} almost never falls inside its bounds", str()));
}

std::string Distribution::str() const {
  std::string s;
  switch (kind) {
    case Kind::constant: return fmt::format("{}", a);
    case Kind::uniform: s = fmt::format("{{ uniform = [{}, {}] }}", a, b); break;
    case Kind::normal: s = fmt::format("{{ normal = [{}, {}] }}", a, b); break;
  }
  return s;
}

std::string type_name(const ParamValue& v) {
  struct V {
    std::string operator()(double d) const { return fmt::format("number {}", d); }
    std::string operator()(bool b) const { return fmt::format("boolean {}", b); }
    std::string operator()(const std::string& s) const { return fmt::format("string \"{}\"", s); }
    std::string operator()(const Distribution& d) const { return "distribution " + d.str(); }
    std::string operator()(const std::vector<double>&) const { return "array of numbers"; }
    std::string operator()(const std::vector<std::string>&) const { return "array of strings"; }
  };
  return std::visit(V{}, v.value);
}

std::vector<std::string> ParamTable::keys() const {
  std::vector<std::string> k;
  for (const auto& [key, v] : values_) k.push_back(key);
  return k;
}

const SourcePos& ParamTable::pos_of(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? pos_ : it->second.pos;
}

void ParamTable::fail(const std::string& key, const std::string& message) const {
  throw ConfigError(pos_of(key), key_path(key), message);
}

const ParamValue& ParamTable::get(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw ConfigError(pos_, key_path(key), "required key is missing");
  used_.insert(key);
  return it->second;
}

constexpr double kMaxWholeNumber = 9007199254740992.0;  // 2^53

void ParamTable::check_number(const std::string& key, double v, Check check) const {
  if (!std::isfinite(v)) fail(key, fmt::format("expected a finite number, found {}", v));
  switch (check) {
    case Check::any: break;
    case Check::positive:
      if (!(v > 0)) fail(key, fmt::format("expected a value > 0, found {}", v));
      break;
    case Check::non_negative:
      if (!(v >= 0)) fail(key, fmt::format("expected a value >= 0, found {}", v));
      break;
    case Check::probability:
      if (!(v >= 0 && v <= 1)) fail(key, fmt::format("expected a probability in [0, 1], found {}", v));
      break;
    // Whole numbers become 64-bit integers (or narrower ones, range-checked by the caller); above 2^53 a
    // double no longer holds every integer, and the conversion could overflow.
    case Check::integer_non_negative:
      if (!(v >= 0 && std::floor(v) == v && v <= kMaxWholeNumber))
        fail(key, fmt::format("expected a whole number >= 0, found {}", v));
      break;
    case Check::integer_positive:
      if (!(v >= 1 && std::floor(v) == v && v <= kMaxWholeNumber))
        fail(key, fmt::format("expected a whole number >= 1, found {}", v));
      break;
  }
}

double ParamTable::number(const std::string& key, Check check) const {
  const ParamValue& v = get(key);
  if (!std::holds_alternative<double>(v.value)) {
    const bool dist = std::holds_alternative<Distribution>(v.value);
    fail(key, fmt::format("expected a number{}, found {}",
                          dist ? " (this parameter cannot vary per neuron)" : "", type_name(v)));
  }
  const double d = std::get<double>(v.value);
  check_number(key, d, check);
  return d;
}

double ParamTable::number(const std::string& key, double dflt, Check check) const {
  return has(key) ? number(key, check) : dflt;
}

Distribution ParamTable::distribution(const std::string& key, Check check) const {
  const ParamValue& v = get(key);
  if (std::holds_alternative<double>(v.value)) {
    const double d = std::get<double>(v.value);
    check_number(key, d, check);
    return Distribution::constant(d);
  }
  if (!std::holds_alternative<Distribution>(v.value))
    fail(key, fmt::format("expected a number or a distribution ({{ uniform = [lo, hi] }} or "
                          "{{ normal = [mean, sd] }}), found {}",
                          type_name(v)));
  const Distribution d = std::get<Distribution>(v.value);
  if (d.kind == Distribution::Kind::uniform && !(d.a <= d.b))
    fail(key, fmt::format("expected uniform = [lo, hi] with lo <= hi, found [{}, {}]", d.a, d.b));
  if (d.kind == Distribution::Kind::normal && !(d.b >= 0))
    fail(key, fmt::format("expected normal = [mean, sd] with sd >= 0, found sd = {}", d.b));
  if (!(d.lo <= d.hi)) fail(key, fmt::format("expected min <= max, found {} > {}", d.lo, d.hi));
  if (d.kind == Distribution::Kind::uniform && (d.b < d.lo || d.a > d.hi))
    fail(key, "the bounds min/max exclude the whole uniform range");
  const bool integer = check == Check::integer_non_negative || check == Check::integer_positive;
  if (integer) fail(key, fmt::format("expected a whole number, found {}", type_name(v)));
  const double lo = d.min_value();
  if (check == Check::positive && !(lo > 0))
    fail(key, fmt::format("expected values > 0, but {} can give {} (add min = ...)", d.str(), lo));
  if ((check == Check::non_negative || check == Check::probability) && !(lo >= 0))
    fail(key, fmt::format("expected values >= 0, but {} can give {} (add min = ...)", d.str(), lo));
  if (check == Check::probability && !(d.max_value() <= 1))
    fail(key, fmt::format("expected values <= 1, but {} can exceed 1 (add max = ...)", d.str()));
  return d;
}

Distribution ParamTable::distribution(const std::string& key, Distribution dflt, Check check) const {
  return has(key) ? distribution(key, check) : dflt;
}

std::string ParamTable::string(const std::string& key) const {
  const ParamValue& v = get(key);
  if (!std::holds_alternative<std::string>(v.value))
    fail(key, fmt::format("expected a string, found {}", type_name(v)));
  return std::get<std::string>(v.value);
}

std::string ParamTable::string(const std::string& key, const std::string& dflt) const {
  return has(key) ? string(key) : dflt;
}

std::string ParamTable::choice(const std::string& key, const std::string& dflt,
                               const std::vector<std::string>& allowed) const {
  const std::string s = string(key, dflt);
  for (const auto& a : allowed)
    if (a == s) return s;
  fail(key, fmt::format("expected one of \"{}\", found \"{}\"", fmt::join(allowed, "\", \""), s));
}

bool ParamTable::boolean(const std::string& key, bool dflt) const {
  if (!has(key)) return dflt;
  const ParamValue& v = get(key);
  if (!std::holds_alternative<bool>(v.value))
    fail(key, fmt::format("expected true or false, found {}", type_name(v)));
  return std::get<bool>(v.value);
}

std::vector<double> ParamTable::numbers(const std::string& key) const {
  const ParamValue& v = get(key);
  if (std::holds_alternative<double>(v.value)) return {std::get<double>(v.value)};
  if (!std::holds_alternative<std::vector<double>>(v.value))
    fail(key, fmt::format("expected an array of numbers, found {}", type_name(v)));
  return std::get<std::vector<double>>(v.value);
}

std::vector<std::string> ParamTable::strings(const std::string& key) const {
  const ParamValue& v = get(key);
  if (std::holds_alternative<std::string>(v.value)) return {std::get<std::string>(v.value)};
  if (!std::holds_alternative<std::vector<std::string>>(v.value))
    fail(key, fmt::format("expected an array of strings, found {}", type_name(v)));
  return std::get<std::vector<std::string>>(v.value);
}

void ParamTable::reject_unknown(const std::vector<std::string>& allowed) const {
  for (const auto& [key, v] : values_) {
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == key;
    if (!ok)
      throw ConfigError(v.pos, key_path(key),
                        fmt::format("unknown key; expected one of: {}", fmt::join(allowed, ", ")));
  }
}

void ParamTable::reject_unused() const {
  for (const auto& [key, v] : values_) {
    if (used_.count(key)) continue;
    std::vector<std::string> known(used_.begin(), used_.end());
    throw ConfigError(v.pos, key_path(key),
                      known.empty() ? std::string("unknown key")
                                    : fmt::format("unknown key; known keys here: {}", fmt::join(known, ", ")));
  }
}

}  // namespace nmsim
