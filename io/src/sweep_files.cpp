#include "nmsim/io/sweep.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "h5.hpp"
#include "nmsim/core/error.hpp"
#include "nmsim/io/config.hpp"
#include "nmsim/io/version.hpp"

namespace nmsim::io::sweep {

namespace {

h5::TypeId vlen_string() {
  h5::TypeId t(h5::check_id(H5Tcopy(H5T_C_S1), "create a string type"));
  h5::check(H5Tset_size(t.get(), H5T_VARIABLE), "create a string type");
  h5::check(H5Tset_cset(t.get(), H5T_CSET_UTF8), "create a string type");
  return t;
}

void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& v) {
  h5::Lock lock;
  const std::string what = fmt::format("write string dataset \"{}\"", name);
  h5::TypeId type = vlen_string();
  const hsize_t n = v.size();
  h5::SpaceId space(h5::check_id(H5Screate_simple(1, &n, nullptr), what));
  h5::PlistId lcpl(h5::check_id(H5Pcreate(H5P_LINK_CREATE), what));
  h5::check(H5Pset_create_intermediate_group(lcpl.get(), 1), what);
  h5::DatasetId d(
      h5::check_id(H5Dcreate2(loc, name.c_str(), type.get(), space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), what));
  std::vector<const char*> p;
  for (const auto& s : v) p.push_back(s.c_str());
  if (n > 0) h5::check(H5Dwrite(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data()), what);
  d.close(what);
}

void write_string_attr_array(hid_t obj, const std::string& name, const std::vector<std::string>& v) {
  h5::Lock lock;
  const std::string what = fmt::format("write attribute \"{}\"", name);
  h5::TypeId type = vlen_string();
  const hsize_t n = v.size();
  h5::SpaceId space(h5::check_id(H5Screate_simple(1, &n, nullptr), what));
  h5::AttrId a(h5::check_id(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), what));
  std::vector<const char*> p;
  for (const auto& s : v) p.push_back(s.c_str());
  if (n > 0) h5::check(H5Awrite(a.get(), type.get(), p.data()), what);
  a.close(what);
}

// Numeric attributes of one group of an open file, appended to `out` as (prefix + name, value).
void numeric_attrs(hid_t file, const std::string& group, const std::string& prefix,
                   std::vector<std::pair<std::string, double>>& out) {
  if (!h5::exists(file, group) || h5::object_type(file, group) != H5O_TYPE_GROUP) return;
  h5::GroupId g = h5::open_group(file, group);
  for (const auto& name : h5::attr_names(g.get())) {
    const std::string type = h5::attr_type_name(g.get(), name);
    const bool numeric = type.rfind("float", 0) == 0 || type.rfind("int", 0) == 0 || type.rfind("uint", 0) == 0;
    if (!numeric) continue;
    const std::vector<double> v = h5::read_attr_numbers(g.get(), name);
    if (v.size() == 1) out.emplace_back(prefix + name, v[0]);
  }
}

const toml::table& table_at(const toml::node* n, const std::string& path, const std::string& what) {
  if (!n || !n->is_table()) throw ConfigError({path, 0, 0}, what, "expected a table");
  return *n->as_table();
}

std::string string_at(const toml::table& t, const std::string& key, const std::string& path) {
  const auto* n = t.get(key);
  if (!n || !n->is_string()) {
    const toml::source_region& r = n ? n->source() : t.source();
    throw ConfigError({path, static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)}, key,
                      "expected a string");
  }
  return *n->value<std::string>();
}

std::uint64_t uint_at(const toml::table& t, const std::string& key, const std::string& path) {
  const auto* n = t.get(key);
  if (!n || !n->is_integer() || *n->value<std::int64_t>() < 0) {
    const toml::source_region& r = n ? n->source() : t.source();
    throw ConfigError({path, static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)}, key,
                      "expected an integer >= 0");
  }
  return static_cast<std::uint64_t>(*n->value<std::int64_t>());
}

std::vector<std::string> strings_at(const toml::table& t, const std::string& key, const std::string& path) {
  std::vector<std::string> out;
  const auto* n = t.get(key);
  if (!n) return out;
  if (!n->is_array()) throw ConfigError({path, 0, 0}, key, "expected an array of strings");
  for (const auto& e : *n->as_array()) {
    if (!e.is_string()) throw ConfigError({path, 0, 0}, key, "expected an array of strings");
    out.push_back(*e.value<std::string>());
  }
  return out;
}

toml::array to_array(const std::vector<std::string>& v) {
  toml::array a;
  for (const auto& s : v) a.push_back(s);
  return a;
}

}  // namespace

std::vector<std::string> Manifest::run_sets(const PlannedRun& r) const {
  std::vector<std::string> out = sets;
  for (std::size_t g = 0; g < grids.size() && g < r.values.size(); ++g) out.push_back(grids[g].key + "=" + r.values[g]);
  out.push_back(fmt::format("simulation.seed={}", r.seed));
  return out;
}

std::string hash_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError({path, 0, 0}, "", "cannot open the file (no such file or no permission)");
  std::uint64_t h = 1469598103934665603ull;
  char buf[65536];
  while (in) {
    in.read(buf, sizeof buf);
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buf[i]);
      h *= 1099511628211ull;
    }
  }
  return fmt::format("{:016x}", h);
}

void write_manifest(const std::string& path, const Manifest& m) {
  toml::table root;
  root.insert("nmsim_version", m.nmsim_version);
  root.insert("config", m.config);
  root.insert("config_hash", m.config_hash);
  root.insert("sets", to_array(m.sets));
  root.insert("repeats", static_cast<std::int64_t>(m.repeats));
  toml::array grids;
  for (const auto& g : m.grids) grids.push_back(toml::table{{"key", g.key}, {"values", to_array(g.values)}});
  root.insert("grid", std::move(grids));
  toml::array runs;
  for (const auto& r : m.runs)
    runs.push_back(toml::table{{"id", static_cast<std::int64_t>(r.id)},
                               {"file", r.file},
                               {"values", to_array(r.values)},
                               {"repeat", static_cast<std::int64_t>(r.repeat)},
                               {"seed", static_cast<std::int64_t>(r.seed)}});
  root.insert("run", std::move(runs));
  // Written beside and renamed: a reader never sees half a manifest.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw RuntimeError(fmt::format("cannot write {}", tmp));
    out << "# nmsim sweep manifest: the planned runs (docs/sweep.md). Do not edit.\n" << root << "\n";
    if (!out) throw RuntimeError(fmt::format("cannot write {}", tmp));
  }
  std::filesystem::rename(tmp, path);
}

Manifest read_manifest(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw ConfigError({path, static_cast<int>(b.line), static_cast<int>(b.column)}, "",
                      fmt::format("not a sweep manifest: {}", e.description()));
  }
  Manifest m;
  m.nmsim_version = string_at(root, "nmsim_version", path);
  m.config = string_at(root, "config", path);
  m.config_hash = string_at(root, "config_hash", path);
  m.sets = strings_at(root, "sets", path);
  m.repeats = uint_at(root, "repeats", path);
  if (const auto* g = root.get("grid"); g && g->is_array())
    for (const auto& e : *g->as_array()) {
      const toml::table& t = table_at(&e, path, "grid");
      m.grids.push_back({string_at(t, "key", path), strings_at(t, "values", path)});
    }
  if (const auto* r = root.get("run"); r && r->is_array())
    for (const auto& e : *r->as_array()) {
      const toml::table& t = table_at(&e, path, "run");
      PlannedRun p;
      p.id = uint_at(t, "id", path);
      p.file = string_at(t, "file", path);
      p.values = strings_at(t, "values", path);
      p.repeat = uint_at(t, "repeat", path);
      p.seed = uint_at(t, "seed", path);
      m.runs.push_back(std::move(p));
    }
  return m;
}

std::string plan_difference(const Manifest& a, const Manifest& b) {
  const auto list = [](const std::vector<std::string>& v) { return fmt::format("[{}]", fmt::join(v, ", ")); };
  if (a.config_hash != b.config_hash)
    return fmt::format("the config file changed (it was {}, hash {}; now {}, hash {})", a.config, a.config_hash,
                       b.config, b.config_hash);
  if (a.sets != b.sets) return fmt::format("the --set list changed (was {}, now {})", list(a.sets), list(b.sets));
  if (a.grids.size() != b.grids.size()) return "the number of --grid options changed";
  for (std::size_t g = 0; g < a.grids.size(); ++g) {
    if (a.grids[g].key != b.grids[g].key)
      return fmt::format("--grid {} changed: it was --grid {}", g + 1, a.grids[g].key);
    if (a.grids[g].values != b.grids[g].values)
      return fmt::format("the values of --grid {} changed (were {}, now {})", a.grids[g].key,
                         fmt::join(a.grids[g].values, ","), fmt::join(b.grids[g].values, ","));
  }
  if (a.repeats != b.repeats) return fmt::format("--repeats changed (was {}, now {})", a.repeats, b.repeats);
  if (a.runs.size() != b.runs.size()) return "the number of runs changed";
  for (std::size_t i = 0; i < a.runs.size(); ++i) {
    const auto &x = a.runs[i], &y = b.runs[i];
    if (x.id != y.id || x.file != y.file || x.values != y.values || x.repeat != y.repeat || x.seed != y.seed)
      return fmt::format("run {} changed (seed {} -> {}, file {} -> {})", x.id, x.seed, y.seed, x.file, y.file);
  }
  return {};
}

bool run_is_complete(const std::string& file, const std::vector<std::string>& sets, std::string* why) {
  const auto no = [&](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return no("no file");
  std::string status, config;
  try {
    if (!h5::File::is_hdf5(file)) return no("not an HDF5 file");
    h5::File f = h5::File::open(file);
    h5::Lock lock;
    if (!h5::has_attr(f.id(), "status")) return no("no status attribute");
    status = h5::read_attr_string(f.id(), "status");
    if (status != "complete") return no(fmt::format("status \"{}\"", status));
    if (!h5::exists(f.id(), "config")) return no("no /config");
    config = h5::read_string_dataset(f.id(), "config");
  } catch (const std::exception& e) {
    return no(fmt::format("unreadable ({})", e.what()));
  }
  // The parameters match when setting them again on the file's own config changes nothing.
  try {
    const std::string as_is = Config::parse(config, file).resolved_text();
    const std::string with_sets = Config::parse(config, file, sets).resolved_text();
    if (as_is != with_sets) return no("its parameters differ from the plan");
  } catch (const std::exception& e) {
    return no(fmt::format("its config does not take the run's parameters ({})", e.what()));
  }
  return true;
}

std::vector<std::pair<std::string, double>> run_results(const std::string& file) {
  std::vector<std::pair<std::string, double>> out;
  try {
    if (!h5::File::is_hdf5(file)) return out;
    h5::File f = h5::File::open(file);
    h5::Lock lock;
    numeric_attrs(f.id(), "summary", "", out);
    numeric_attrs(f.id(), "trials", "trials.", out);
  } catch (const std::exception&) {
    out.clear();
  }
  return out;
}

std::optional<double> toml_number(const std::string& text) {
  try {
    toml::table t = toml::parse("v = " + text);
    const toml::node* n = t.get("v");
    if (n && (n->is_integer() || n->is_floating_point())) return n->value<double>();
  } catch (const toml::parse_error&) {
  }
  return std::nullopt;
}

void write_index(const std::string& path, const Manifest& m, const std::vector<RunOutcome>& outcomes,
                 const std::vector<std::string>& result_names) {
  const std::string tmp = path + ".tmp";
  {
    h5::File f = h5::File::create(tmp);
    h5::Lock lock;
    const hid_t root = f.id();
    h5::set_attr(root, "nmsim_version", std::string(version()));
    h5::set_attr(root, "config", m.config);
    h5::set_attr(root, "config_hash", m.config_hash);
    h5::set_attr(root, "repeats", m.repeats);
    std::vector<std::string> keys;
    for (const auto& g : m.grids) keys.push_back(g.key);
    write_string_attr_array(root, "grid_keys", keys);
    write_string_attr_array(root, "sets", m.sets);

    h5::GroupId runs = h5::create_group(root, "runs");
    const hid_t g = runs.get();
    const std::size_t n = m.runs.size();
    std::vector<std::uint64_t> id(n), repeat(n), seed(n);
    std::vector<std::string> file(n), status(n), error(n);
    std::vector<std::int32_t> code(n);
    std::vector<double> elapsed(n);
    std::vector<std::uint8_t> reused(n);
    for (std::size_t i = 0; i < n; ++i) {
      const PlannedRun& r = m.runs[i];
      const RunOutcome o = i < outcomes.size() ? outcomes[i] : RunOutcome{};
      id[i] = r.id, repeat[i] = r.repeat, seed[i] = r.seed, file[i] = r.file;
      status[i] = o.status, error[i] = o.error, code[i] = o.exit_code;
      elapsed[i] = o.elapsed >= 0 ? o.elapsed : std::numeric_limits<double>::quiet_NaN();
      reused[i] = o.reused ? 1 : 0;
    }
    h5::Dataset::create_filled(g, "id", id);
    h5::Dataset::create_filled(g, "repeat", repeat);
    h5::Dataset::create_filled(g, "seed", seed);
    write_strings(g, "file", file);
    write_strings(g, "status", status);
    write_strings(g, "error", error);
    h5::Dataset::create_filled(g, "exit_code", code);
    h5::Dataset e = h5::Dataset::create_filled(g, "elapsed", elapsed);
    h5::set_attr(e.id(), "units", "s");
    std::vector<std::int8_t> reused8(reused.begin(), reused.end());
    h5::Dataset::create_filled(g, "reused", reused8);
    h5::GroupId params = h5::create_group(g, "params");
    for (std::size_t k = 0; k < m.grids.size(); ++k) {
      const Grid& grid = m.grids[k];
      bool numeric = true;
      for (const auto& v : grid.values) numeric = numeric && toml_number(v).has_value();
      if (numeric) {
        std::vector<double> col(n);
        for (std::size_t i = 0; i < n; ++i) col[i] = *toml_number(m.runs[i].values.at(k));
        h5::Dataset::create_filled(params.get(), grid.key, col);
      } else {
        std::vector<std::string> col(n);
        for (std::size_t i = 0; i < n; ++i) col[i] = m.runs[i].values.at(k);
        write_strings(params.get(), grid.key, col);
      }
    }
    h5::GroupId results = h5::create_group(g, "results");
    for (const auto& name : result_names) {
      std::vector<double> col(n, std::numeric_limits<double>::quiet_NaN());
      for (std::size_t i = 0; i < n && i < outcomes.size(); ++i) {
        const auto it = outcomes[i].results.find(name);
        if (it != outcomes[i].results.end()) col[i] = it->second;
      }
      h5::Dataset::create_filled(results.get(), name, col);
    }
    params = {};
    results = {};
    runs = {};
    f.close();
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace nmsim::io::sweep
