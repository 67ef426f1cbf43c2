#include "nmsim/io/config.hpp"

#include <array>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "nmsim/core/stimuli.hpp"
#include "nmsim/core/task.hpp"

namespace nmsim::io {

namespace {

const std::vector<std::string> kTopLevel = {"simulation", "output",   "population", "projection", "plasticity",
                                           "modulator",  "modulation", "stimulus",  "task",       "record"};
const std::vector<std::string> kLater = {};
constexpr double kMaxThreads = 1024;  // the limit Simulation enforces

std::string node_type(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return fmt::format("string \"{}\"", *n.value<std::string>());
    case toml::node_type::integer: return fmt::format("integer {}", *n.value<std::int64_t>());
    case toml::node_type::floating_point: return fmt::format("number {}", *n.value<double>());
    case toml::node_type::boolean: return fmt::format("boolean {}", *n.value<bool>());
    default: return "a date/time";
  }
}

}  // namespace

struct Config::Impl {
  std::string source;
  std::string text;
  toml::table root;
  std::map<std::string, SourcePos> positions;  // key path -> where it was written
  std::map<std::string, std::string> set_origin;  // key path -> the --set argument that wrote it

  SimulationOptions sim_options;
  double duration = 0;
  OutputConfig output;
  std::vector<RecordConfig> records;
  struct Pop {
    std::string name, model;
    std::size_t size = 0;
    ParamTable params, init;
    std::vector<std::array<double, 3>> positions;  // empty: none given
  };
  std::vector<std::array<double, 3>> read_positions(const toml::node& n, const std::string& path, std::size_t size);
  std::vector<Pop> pops;
  std::vector<ProjectionSpec> projections;
  std::vector<std::string> projection_rule;  // plasticity name per projection ("" = static)
  struct Plast {
    std::string name, rule;
    ParamTable table;
  };
  std::vector<Plast> plasticity;
  std::vector<ModulatorSpec> modulators;
  struct Gate {
    std::string name, target, path;
    bool product = true;
    double base = 1.0;
    struct Term {
      std::string modulator;
      Receptor receptor;
      std::string path;
    };
    std::vector<Term> terms;
  };
  std::vector<Gate> gates;
  void read_modulation(const toml::table& t, const std::string& path, std::size_t index);
  double record_interval(const ParamTable& r);
  std::vector<std::uint64_t> which_ids(const toml::table& t, const std::string& path, const char* what);
  struct Stim {
    std::string name, kind, target, path;
    ParamTable table;
  };
  std::vector<Stim> stims;
  std::vector<TaskSpec> tasks;
  void read_task(const toml::table& t, const std::string& path);
  std::vector<NeuronIndex> read_ids(const toml::node& n, const std::string& path);
  std::map<std::string, std::pair<std::array<double, 3>, std::array<double, 3>>> random_boxes;  // by key path

  SourcePos pos(const toml::node& n, const std::string& path) {
    auto it = set_origin.find(path);
    if (it != set_origin.end()) return {"--set " + it->second, 0, 0};
    const auto& b = n.source().begin;
    return {source, static_cast<int>(b.line), static_cast<int>(b.column)};
  }
  SourcePos remember(const toml::node& n, const std::string& path) {
    SourcePos p = pos(n, path);
    positions[path] = p;
    return p;
  }
  [[noreturn]] void fail(const toml::node& n, const std::string& path, const std::string& msg) {
    throw ConfigError(pos(n, path), path, msg);
  }

  Distribution to_distribution(const toml::table& t, const std::string& path) {
    Distribution d;
    int kinds = 0;
    for (auto&& [k, v] : t) {
      const std::string key(k.str());
      const std::string kp = path + "." + key;
      if (key == "uniform" || key == "normal") {
        ++kinds;
        const toml::array* a = v.as_array();
        if (!a || a->size() != 2 || !(*a)[0].is_number() || !(*a)[1].is_number())
          fail(v, kp, fmt::format("expected an array of two numbers, found {}", node_type(v)));
        d.kind = key == "uniform" ? Distribution::Kind::uniform : Distribution::Kind::normal;
        d.a = *(*a)[0].value<double>();
        d.b = *(*a)[1].value<double>();
      } else if (key == "min" || key == "max") {
        if (!v.is_number()) fail(v, kp, fmt::format("expected a number, found {}", node_type(v)));
        (key == "min" ? d.lo : d.hi) = *v.value<double>();
      } else {
        fail(v, kp, "unknown key in a distribution; expected uniform = [lo, hi] or normal = [mean, sd], "
                    "optional min, max");
      }
    }
    if (kinds != 1)
      fail(t, path, "expected a distribution with exactly one of uniform = [lo, hi] or normal = [mean, sd]");
    return d;
  }

  ParamValue to_value(const toml::node& n, const std::string& path) {
    ParamValue v;
    v.pos = remember(n, path);
    if (n.is_integer() || n.is_floating_point()) {
      v.value = *n.value<double>();
    } else if (n.is_boolean()) {
      v.value = *n.value<bool>();
    } else if (n.is_string()) {
      v.value = *n.value<std::string>();
    } else if (n.is_table()) {
      v.value = to_distribution(*n.as_table(), path);
    } else if (n.is_array()) {
      const toml::array& a = *n.as_array();
      if (a.empty() || a[0].is_number()) {
        std::vector<double> xs;
        for (const auto& e : a) {
          if (!e.is_number()) fail(e, path, fmt::format("expected an array of numbers, found {} in it", node_type(e)));
          xs.push_back(*e.value<double>());
        }
        v.value = xs;
      } else if (a[0].is_string()) {
        std::vector<std::string> xs;
        for (const auto& e : a) {
          if (!e.is_string()) fail(e, path, fmt::format("expected an array of strings, found {} in it", node_type(e)));
          xs.push_back(*e.value<std::string>());
        }
        v.value = xs;
      } else {
        fail(n, path, "expected an array of numbers or strings");
      }
    } else {
      fail(n, path, fmt::format("expected a number, string, boolean, array or distribution, found {}", node_type(n)));
    }
    return v;
  }

  /// Table -> ParamTable; keys in `nested` are left for the caller.
  ParamTable flat(const toml::table& t, const std::string& path, const std::vector<std::string>& nested = {}) {
    ParamTable out(path, pos(t, path));
    for (auto&& [k, v] : t) {
      const std::string key(k.str());
      if (std::find(nested.begin(), nested.end(), key) != nested.end()) continue;
      out.set(key, to_value(v, path + "." + key));
    }
    return out;
  }

  const toml::table* subtable(const toml::table& t, const std::string& key, const std::string& path) {
    const toml::node* n = t.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) fail(*n, path + "." + key, fmt::format("expected a table, found {}", node_type(*n)));
    remember(*n, path + "." + key);
    return n->as_table();
  }

  void apply_set(const std::string& arg);
  void read();
  void read_simulation(const toml::table* t);
  void read_output(const toml::table* t);
  template <class F>
  void each_element(const std::string& section, F&& f, bool name_required = true);
  void read_population(const toml::table& t, const std::string& path);
  void read_projection(const toml::table& t, const std::string& path);
  void read_stimulus(const toml::table& t, const std::string& path);
  void read_plasticity(const toml::table& t, const std::string& path);
  void read_modulator(const toml::table& t, const std::string& path);
  void read_record(const toml::table& t, const std::string& path, std::size_t index);
};

void Config::Impl::apply_set(const std::string& arg) {
  const SourcePos where{"--set " + arg, 0, 0};
  const auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError({"--set", 0, 0}, "", fmt::format("expected KEY=VALUE (e.g. simulation.seed=7), found \"{}\"", arg));
  const std::string key = arg.substr(0, eq);
  const std::string value = arg.substr(eq + 1);
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const auto& p : parts)
    if (p.empty()) throw ConfigError(where, key, "expected a dotted key path without empty parts");
  // The value is TOML ("15", "true", "[1, 2]", "{ uniform = [0, 1] }", "\"text\""); anything
  // that does not parse as TOML is taken as a bare string (output.file=out.h5).
  toml::table parsed;
  bool is_toml = true;
  try {
    parsed = toml::parse("v = " + value, std::string_view("--set"));
  } catch (const toml::parse_error&) {
    is_toml = false;
  }
  toml::table* t = &root;
  std::string path;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    // Keys that --set creates end up in the resolved config (/config of the output), which must
    // stay valid TOML; every nmsim key is a bare key. (Element names are only matched, below.)
    const bool bare = std::all_of(p.begin(), p.end(), [](char ch) {
      return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
    });
    if (!bare)
      throw ConfigError(where, key, fmt::format("expected key parts of letters, digits, '_' and '-', found \"{}\"", p));
    path += (path.empty() ? "" : ".") + p;
    const bool last = i + 1 == parts.size();
    if (last) {
      if (is_toml)
        t->insert_or_assign(p, *parsed.get("v"));
      else
        t->insert_or_assign(p, value);
      set_origin[path] = arg;
      return;
    }
    toml::node* next = t->get(p);
    if (!next) {
      t->insert_or_assign(p, toml::table{});
      next = t->get(p);
    }
    if (next->is_array()) {
      // Arrays of tables are addressed by element name: population.exc.params.tau_m
      toml::array& a = *next->as_array();
      ++i;
      const std::string& name = parts[i];
      toml::table* found = nullptr;
      for (auto& e : a)
        if (e.is_table() && e.as_table()->get("name") && e.as_table()->get("name")->value<std::string>() == name)
          found = e.as_table();
      if (!found)
        throw ConfigError(where, key, fmt::format("there is no [[{}]] named \"{}\"", p, name));
      if (i + 1 == parts.size())
        throw ConfigError(where, key, fmt::format("expected a key inside [[{}]] \"{}\" (e.g. {}.{}.size)", p, name, p, name));
      path += "." + name;
      t = found;
    } else if (next->is_table()) {
      t = next->as_table();
    } else {
      throw ConfigError(where, key, fmt::format("\"{}\" is a value, not a table", path));
    }
  }
}

void Config::Impl::read_simulation(const toml::table* t) {
  if (!t) throw ConfigError({source, 0, 0}, "simulation", "required table [simulation] is missing (dt, duration)");
  const ParamTable s = flat(*t, "simulation");
  s.reject_unknown({"dt", "duration", "seed", "threads"});
  sim_options.dt = s.number("dt", 0.1, Check::positive);
  duration = s.number("duration", Check::non_negative);
  const double steps = duration / sim_options.dt;
  if (steps > 1e15)  // 3000 years at dt = 0.1 ms; beyond it step counts lose their integer precision
    s.fail("duration", fmt::format("expected at most 1e15 steps of dt = {} ms, found {} ms", sim_options.dt, duration));
  if (std::fabs(steps - std::round(steps)) > 1e-6 * std::max(1.0, steps))
    s.fail("duration", fmt::format("expected a multiple of dt = {} ms, found {} ms ({} steps)", sim_options.dt,
                                   duration, steps));
  if (const toml::node* seed = t->get("seed")) {
    if (!seed->is_integer() || *seed->value<std::int64_t>() < 0)
      fail(*seed, "simulation.seed", fmt::format("expected a whole number >= 0, found {}", node_type(*seed)));
    sim_options.seed = static_cast<std::uint64_t>(*seed->value<std::int64_t>());
    s.number("seed");
  }
  const double threads = s.number("threads", 0, Check::integer_non_negative);
  if (threads > kMaxThreads)  // checked here, before the conversion to int can overflow
    s.fail("threads", fmt::format("expected at most {} threads (0 = all cores), found {}", kMaxThreads, threads));
  sim_options.threads = static_cast<int>(threads);
}

void Config::Impl::read_output(const toml::table* t) {
  if (!t) return;
  const ParamTable o = flat(*t, "output");
  o.reject_unknown({"file", "flush_interval", "compression"});
  output.file = o.string("file", output.file);
  if (output.file.empty()) o.fail("file", "expected a file name, found an empty string");
  output.flush_interval = o.number("flush_interval", output.flush_interval, Check::positive);
  const double level = o.number("compression", output.compression, Check::integer_non_negative);
  if (level > 9) o.fail("compression", fmt::format("expected a level 0..9, found {}", level));
  output.compression = static_cast<int>(level);
}

template <class F>
void Config::Impl::each_element(const std::string& section, F&& f, bool name_required) {
  const toml::node* n = root.get(section);
  if (!n) return;
  remember(*n, section);
  const toml::array* a = n->as_array();
  if (!a) fail(*n, section, fmt::format("expected an array of tables [[{}]], found {}", section, node_type(*n)));
  std::vector<std::string> names;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = (*a)[i];
    std::string path = fmt::format("{}[{}]", section, i);
    if (!e.is_table()) fail(e, path, fmt::format("expected a table, found {}", node_type(e)));
    const toml::table& t = *e.as_table();
    const toml::node* name = t.get("name");
    if (name && !name->is_string())
      fail(*name, path + ".name", fmt::format("expected a string, found {}", node_type(*name)));
    if (name) {
      const std::string nm = *name->value<std::string>();
      if (nm.empty() || nm.find('.') != std::string::npos || nm.find('/') != std::string::npos)
        fail(*name, path + ".name", fmt::format("expected a non-empty name without '.' or '/', found \"{}\"", nm));
      if (std::find(names.begin(), names.end(), nm) != names.end())
        fail(*name, path + ".name", fmt::format("a [[{}]] named \"{}\" exists already", section, nm));
      names.push_back(nm);
      path = section + "." + nm;
    } else if (name_required) {
      fail(t, path + ".name", "required key is missing (every [[" + section + "]] has a name)");
    }
    remember(t, path);
    f(t, path, i);
  }
}

void Config::Impl::read_population(const toml::table& t, const std::string& path) {
  const ParamTable p = flat(t, path, {"params", "init", "positions"});
  p.reject_unknown({"name", "model", "size", "params", "init", "positions"});
  Pop pop;
  pop.name = p.string("name");
  pop.model = p.string("model");
  pop.size = static_cast<std::size_t>(p.number("size", Check::integer_positive));
  if (pop.size > 0xFFFFFFFFull) p.fail("size", "expected a size below 2^32");
  const toml::table* params = subtable(t, "params", path);
  const toml::table* init = subtable(t, "init", path);
  pop.params = params ? flat(*params, path + ".params") : ParamTable(path + ".params", pos(t, path));
  pop.init = init ? flat(*init, path + ".init") : ParamTable(path + ".init", pos(t, path));
  if (const toml::node* n = t.get("positions")) pop.positions = read_positions(*n, path + ".positions", pop.size);
  pops.push_back(std::move(pop));
}

// positions = [[x, y, z], ...]
//           | { grid = { shape = [nx, ny, nz], spacing = s | [sx, sy, sz], origin = [x, y, z] } }
//           | { random = { min = [x, y, z], max = [x, y, z] } }      (uniform in the box)
std::vector<std::array<double, 3>> Config::Impl::read_positions(const toml::node& n, const std::string& path,
                                                                std::size_t size) {
  remember(n, path);
  auto triple = [&](const ParamTable& t, const std::string& key, std::array<double, 3> dflt, bool required) {
    if (!t.has(key)) {
      if (required) t.number(key);  // reports the missing key
      return dflt;
    }
    std::vector<double> v = t.numbers(key);
    if (v.size() == 1) v = {v[0], v[0], v[0]};
    if (v.size() != 3) t.fail(key, fmt::format("expected [x, y, z] in um, found {} numbers", v.size()));
    return std::array<double, 3>{v[0], v[1], v[2]};
  };
  std::vector<std::array<double, 3>> out;
  if (const toml::array* a = n.as_array()) {
    for (const auto& e : *a) {
      const toml::array* q = e.as_array();
      if (!q || q->size() != 3 || !(*q)[0].is_number() || !(*q)[1].is_number() || !(*q)[2].is_number())
        fail(e, path, fmt::format("expected [x, y, z] in um, found {}", node_type(e)));
      out.push_back({*(*q)[0].value<double>(), *(*q)[1].value<double>(), *(*q)[2].value<double>()});
    }
    if (out.size() != size)
      fail(n, path, fmt::format("expected one position per neuron ({}), found {}", size, out.size()));
    return out;
  }
  const toml::table* t = n.as_table();
  if (!t || t->size() != 1 || !(t->get("grid") || t->get("random")))
    fail(n, path, "expected [[x, y, z], ...], { grid = { ... } } or { random = { ... } }");
  if (const toml::node* g = t->get("grid")) {
    if (!g->is_table()) fail(*g, path + ".grid", fmt::format("expected a table, found {}", node_type(*g)));
    const ParamTable gt = flat(*g->as_table(), path + ".grid");
    gt.reject_unknown({"shape", "spacing", "origin"});
    std::vector<double> shape = gt.numbers("shape");
    while (shape.size() < 3) shape.push_back(1.0);
    if (shape.size() != 3) gt.fail("shape", "expected [nx], [nx, ny] or [nx, ny, nz]");
    for (double x : shape)
      if (!(x >= 1) || std::floor(x) != x || x > static_cast<double>(size))  // x <= size: no overflow below
        gt.fail("shape", fmt::format("expected whole numbers in [1, size = {}], found {}", size, x));
    const auto nx = static_cast<std::size_t>(shape[0]), ny = static_cast<std::size_t>(shape[1]),
               nz = static_cast<std::size_t>(shape[2]);
    if (nx * ny * nz != size)
      gt.fail("shape", fmt::format("expected nx * ny * nz = size = {}, found {}", size, nx * ny * nz));
    const auto spacing = triple(gt, "spacing", {1.0, 1.0, 1.0}, true);
    for (double x : spacing)
      if (!(x > 0)) gt.fail("spacing", fmt::format("expected a spacing > 0 um, found {}", x));
    const auto origin = triple(gt, "origin", {0.0, 0.0, 0.0}, false);
    for (std::size_t i = 0; i < size; ++i)
      out.push_back({origin[0] + spacing[0] * static_cast<double>(i % nx),
                     origin[1] + spacing[1] * static_cast<double>((i / nx) % ny),
                     origin[2] + spacing[2] * static_cast<double>(i / (nx * ny))});
    return out;
  }
  const toml::node* r = t->get("random");
  if (!r->is_table()) fail(*r, path + ".random", fmt::format("expected a table, found {}", node_type(*r)));
  const ParamTable rt = flat(*r->as_table(), path + ".random");
  rt.reject_unknown({"min", "max"});
  const auto lo = triple(rt, "min", {}, true), hi = triple(rt, "max", {}, true);
  for (int d = 0; d < 3; ++d)
    if (!(hi[static_cast<std::size_t>(d)] >= lo[static_cast<std::size_t>(d)]))
      rt.fail("max", "expected max >= min in every coordinate");
  // Marked so build() draws them from the seed: the seed is known only with the simulation.
  random_boxes[path] = {lo, hi};
  return {};
}

void Config::Impl::read_projection(const toml::table& t, const std::string& path) {
  const ParamTable p = flat(t, path, {"connect"});
  p.reject_unknown({"name", "source", "target", "connect", "weight", "delay", "synapse", "plasticity"});
  projection_rule.push_back(p.string("plasticity", ""));
  ProjectionSpec s;
  s.name = p.string("name");
  s.source = p.string("source");
  s.target = p.string("target");
  s.port = p.string("synapse", "");
  s.weight = p.distribution("weight", Distribution::constant(1.0));
  s.delay = p.distribution("delay", Distribution::constant(sim_options.dt), Check::positive);
  const toml::table* c = subtable(t, "connect", path);
  if (!c) throw ConfigError(pos(t, path), path + ".connect", "required key is missing (connect = { rule = ... })");
  const std::string cpath = path + ".connect";
  const ParamTable ct = flat(*c, cpath, {"pairs"});
  const std::string rule = ct.choice("rule", "all_to_all",
                                     {"all_to_all", "one_to_one", "fixed_probability", "fixed_indegree",
                                      "fixed_outdegree", "pairs"});
  ConnectSpec& cs = s.connect;
  cs.allow_autapses = ct.boolean("autapses", true);
  cs.allow_multapses = ct.boolean("multapses", true);
  std::vector<std::string> allowed = {"rule", "autapses", "multapses"};
  if (rule == "all_to_all") {
    cs.rule = ConnectSpec::Rule::all_to_all;
  } else if (rule == "one_to_one") {
    cs.rule = ConnectSpec::Rule::one_to_one;
  } else if (rule == "fixed_probability") {
    cs.rule = ConnectSpec::Rule::fixed_probability;
    cs.p = ct.number("p", Check::probability);
    allowed.push_back("p");
  } else if (rule == "fixed_indegree" || rule == "fixed_outdegree") {
    cs.rule = rule == "fixed_indegree" ? ConnectSpec::Rule::fixed_indegree : ConnectSpec::Rule::fixed_outdegree;
    cs.k = static_cast<std::uint64_t>(ct.number("k", Check::integer_non_negative));
    allowed.push_back("k");
  } else {
    cs.rule = ConnectSpec::Rule::pairs;
    allowed.insert(allowed.end(), {"pairs", "weights", "delays"});
    const toml::node* pn = c->get("pairs");
    if (!pn) throw ConfigError(pos(*c, cpath), cpath + ".pairs", "required key is missing (pairs = [[source, target], ...])");
    remember(*pn, cpath + ".pairs");
    const toml::array* pa = pn->as_array();
    if (!pa) fail(*pn, cpath + ".pairs", fmt::format("expected an array of [source, target] pairs, found {}", node_type(*pn)));
    for (const auto& e : *pa) {
      const toml::array* q = e.as_array();
      if (!q || q->size() != 2 || !(*q)[0].is_integer() || !(*q)[1].is_integer() ||
          *(*q)[0].value<std::int64_t>() < 0 || *(*q)[1].value<std::int64_t>() < 0)
        fail(e, cpath + ".pairs", fmt::format("expected a pair [source, target] of ids >= 0, found {}", node_type(e)));
      cs.pairs.emplace_back(static_cast<NeuronIndex>(*(*q)[0].value<std::int64_t>()),
                            static_cast<NeuronIndex>(*(*q)[1].value<std::int64_t>()));
    }
    if (ct.has("weights")) cs.pair_weights = ct.numbers("weights");
    if (ct.has("delays")) cs.pair_delays = ct.numbers("delays");
  }
  ct.reject_unknown(allowed);
  projections.push_back(std::move(s));
}

void Config::Impl::read_stimulus(const toml::table& t, const std::string& path) {
  Stim s;
  s.table = flat(t, path);
  s.path = path;
  s.name = s.table.string("name");
  s.kind = s.table.choice("kind", "", {"poisson", "current", "noise", "spike_times", "reward"});
  s.target = s.table.string("target");
  if (s.kind == "poisson")
    s.table.reject_unknown({"name", "kind", "target", "rate", "weight", "port", "start", "stop", "neurons"});
  else if (s.kind == "current")
    s.table.reject_unknown({"name", "kind", "target", "amplitude", "times", "amplitudes", "start", "stop", "neurons"});
  else if (s.kind == "noise")
    s.table.reject_unknown({"name", "kind", "target", "amplitude", "start", "stop", "neurons"});
  else if (s.kind == "reward")
    s.table.reject_unknown({"name", "kind", "target", "times", "amount", "amounts"});
  else
    s.table.reject_unknown({"name", "kind", "target", "times", "neurons", "weight", "port"});
  stims.push_back(std::move(s));
}

std::vector<NeuronIndex> Config::Impl::read_ids(const toml::node& n, const std::string& path) {
  // Either a list of ids or a half-open range { from = a, to = b }.
  remember(n, path);
  std::vector<NeuronIndex> ids;
  auto id = [&](const toml::node& e, const std::string& p) {
    if (!e.is_integer() || *e.value<std::int64_t>() < 0 || *e.value<std::int64_t>() > 0xffffffffLL)
      fail(e, p, fmt::format("expected a neuron id (a whole number >= 0), found {}", node_type(e)));
    return static_cast<NeuronIndex>(*e.value<std::int64_t>());
  };
  if (const toml::array* a = n.as_array()) {
    for (const auto& e : *a) ids.push_back(id(e, path));
  } else if (const toml::table* t = n.as_table()) {
    const toml::node* from = t->get("from");
    const toml::node* to = t->get("to");
    for (auto&& [k, v] : *t)
      if (k.str() != "from" && k.str() != "to") fail(v, path + "." + std::string(k.str()), "unknown key; expected { from = FIRST, to = END } (END excluded)");
    if (!from || !to) fail(n, path, "expected { from = FIRST, to = END } (END excluded)");
    const NeuronIndex a = id(*from, path + ".from"), b = id(*to, path + ".to");
    if (b <= a) fail(*to, path + ".to", fmt::format("expected to > from = {}, found {}", a, b));
    for (NeuronIndex i = a; i < b; ++i) ids.push_back(i);
  } else {
    fail(n, path, fmt::format("expected an array of neuron ids or {{ from = FIRST, to = END }}, found {}", node_type(n)));
  }
  return ids;
}

void Config::Impl::read_task(const toml::table& t, const std::string& path) {
  if (!tasks.empty()) fail(t, path, "expected at most one [[task]] in this version of nmsim");
  const ParamTable p = flat(t, path, {"cues", "decision", "reversal", "releases"});
  p.reject_unknown({"name", "input", "port", "weight", "background", "order", "start", "cue", "response", "outcome", "iti",
                    "cue_in_response", "trials", "responses", "value", "alpha", "initial_value", "cues", "decision", "reversal",
                    "releases"});
  TaskSpec s;
  s.name = p.string("name");
  s.input = p.string("input");
  s.port = p.string("port", "exc");
  s.weight = p.number("weight");
  s.background = p.number("background", 0.0, Check::non_negative);
  s.order = p.choice("order", "balanced", {"balanced", "random"}) == "random" ? TaskSpec::Order::random : TaskSpec::Order::balanced;
  s.start = p.number("start", 0.0, Check::non_negative);
  s.cue = p.number("cue", 0.0, Check::non_negative);
  s.response = p.number("response", Check::positive);
  s.outcome = p.number("outcome", 0.0, Check::non_negative);
  s.iti = p.number("iti", 0.0, Check::non_negative);
  s.cue_in_response = p.boolean("cue_in_response", true);
  s.trials = static_cast<std::int64_t>(p.number("trials", Check::integer_positive));
  if (p.has("responses")) {
    s.responses = p.strings("responses");
    if (s.responses.size() < 2) p.fail("responses", fmt::format("expected at least two response names, found {}", s.responses.size()));
  }
  s.value = p.choice("value", "cue", {"cue", "cue_response"}) == "cue" ? TaskSpec::Value::cue : TaskSpec::Value::cue_response;
  s.alpha = p.number("alpha", 0.1, Check::probability);
  s.initial_value = p.number("initial_value", 0.0);
  auto response_index = [&](const ParamTable& tbl, const std::string& key, const std::string& name) {
    const auto it = std::find(s.responses.begin(), s.responses.end(), name);
    if (it == s.responses.end())
      tbl.fail(key, fmt::format("expected one of the responses ({}), found \"{}\"", fmt::join(s.responses, ", "), name));
    return static_cast<int>(it - s.responses.begin());
  };

  // Cues: [{ name, neurons, rate, reward = { <response> = r, ... } }]
  const toml::node* cn = t.get("cues");
  if (!cn) fail(t, path + ".cues", "required key is missing (cues = [{ name = ..., neurons = ..., rate = ..., reward = { ... } }])");
  remember(*cn, path + ".cues");
  const toml::array* ca = cn->as_array();
  if (!ca || ca->empty()) fail(*cn, path + ".cues", "expected a non-empty array of cue tables");
  for (std::size_t i = 0; i < ca->size(); ++i) {
    const toml::node& e = (*ca)[i];
    const std::string ip = fmt::format("{}.cues[{}]", path, i);
    if (!e.is_table()) fail(e, ip, fmt::format("expected a table, found {}", node_type(e)));
    const toml::table& ct = *e.as_table();
    const toml::node* nm = ct.get("name");
    if (!nm || !nm->is_string()) fail(nm ? *nm : e, ip + ".name", "expected a cue name (string)");
    TaskCue cue;
    cue.name = *nm->value<std::string>();
    const std::string cp = path + ".cues." + cue.name;
    remember(e, cp);
    const ParamTable c = flat(ct, cp, {"neurons", "reward"});
    c.reject_unknown({"name", "neurons", "rate", "reward"});
    cue.rate = c.number("rate", Check::non_negative);
    const toml::node* nn = ct.get("neurons");
    if (!nn) fail(e, cp + ".neurons", "required key is missing (an array of ids or { from = FIRST, to = END })");
    cue.neurons = read_ids(*nn, cp + ".neurons");
    cue.reward.assign(s.responses.size(), 0.0);
    const toml::node* rn = ct.get("reward");
    if (!rn) fail(e, cp + ".reward", "required key is missing (reward = { <response> = amount, ... })");
    if (!rn->is_table()) fail(*rn, cp + ".reward", fmt::format("expected a table {{ <response> = amount, ... }}, found {}", node_type(*rn)));
    remember(*rn, cp + ".reward");
    const ParamTable rt = flat(*rn->as_table(), cp + ".reward");
    for (const auto& k : rt.keys()) cue.reward[static_cast<std::size_t>(response_index(rt, k, k))] = rt.number(k);
    s.cues.push_back(std::move(cue));
  }
  auto cue_index = [&](const toml::node& n, const std::string& kp) {
    for (std::size_t c = 0; c < s.cues.size(); ++c)
      if (n.is_string() && *n.value<std::string>() == s.cues[c].name) return static_cast<int>(c);
    std::vector<std::string> names;
    for (const auto& c : s.cues) names.push_back(c.name);
    fail(n, kp, fmt::format("expected a cue name ({}), found {}", fmt::join(names, ", "), node_type(n)));
  };

  // Decision: { rule, population, neurons | pools, threshold, default }
  const toml::table* d = subtable(t, "decision", path);
  if (!d) fail(t, path + ".decision", "required table is missing (decision = { rule = \"threshold\", population = ..., threshold = ... })");
  const std::string dp = path + ".decision";
  const ParamTable dt = flat(*d, dp, {"neurons", "pools"});
  dt.reject_unknown({"rule", "population", "neurons", "pools", "threshold", "default"});
  s.rule = dt.choice("rule", "threshold", {"threshold", "wta"}) == "wta" ? TaskSpec::Rule::wta : TaskSpec::Rule::threshold;
  s.readout = dt.string("population");
  s.threshold = dt.number("threshold", 1.0, Check::non_negative);
  s.pools.clear();
  if (s.rule == TaskSpec::Rule::threshold) {
    if (d->get("pools")) fail(*d->get("pools"), dp + ".pools", "pools go with rule = \"wta\"; the threshold rule reads `neurons`");
    if (dt.has("default")) dt.fail("default", "default goes with rule = \"wta\" (threshold: responses[0] at or above the threshold, else responses[1])");
    s.pools.push_back(d->get("neurons") ? read_ids(*d->get("neurons"), dp + ".neurons") : std::vector<NeuronIndex>{});
  } else {
    if (d->get("neurons")) fail(*d->get("neurons"), dp + ".neurons", "rule = \"wta\" reads pools = [ids of responses[0], ...]");
    const toml::node* pn = d->get("pools");
    if (!pn || !pn->is_array()) fail(pn ? *pn : static_cast<const toml::node&>(*d), dp + ".pools", "expected one pool of neuron ids per response");
    remember(*pn, dp + ".pools");
    for (std::size_t q = 0; q < pn->as_array()->size(); ++q)
      s.pools.push_back(read_ids((*pn->as_array())[q], fmt::format("{}.pools[{}]", dp, q)));
    const std::string def = dt.string("default", "none");
    s.default_response = def == "none" ? -1 : response_index(dt, "default", def);
  }

  // Reversal: { after, swap = [["A", "B"], ...] }
  if (const toml::table* r = subtable(t, "reversal", path)) {
    const std::string rp = path + ".reversal";
    const ParamTable rt = flat(*r, rp, {"swap"});
    rt.reject_unknown({"after", "swap"});
    s.reversal_after = static_cast<std::int64_t>(rt.number("after", Check::integer_non_negative));
    if (const toml::node* sw = r->get("swap")) {
      remember(*sw, rp + ".swap");
      const toml::array* a = sw->as_array();
      if (!a) fail(*sw, rp + ".swap", "expected an array of cue-name pairs, e.g. [[\"A\", \"B\"]]");
      for (const auto& pr : *a) {
        const toml::array* pa = pr.as_array();
        if (!pa || pa->size() != 2) fail(pr, rp + ".swap", "expected a pair of cue names, e.g. [\"A\", \"B\"]");
        s.reversal_swap.emplace_back(cue_index((*pa)[0], rp + ".swap"), cue_index((*pa)[1], rp + ".swap"));
      }
    }
  }

  // Releases: [{ name, modulator, signal, gain, offset, min, max, threshold, delay, position }]
  if (const toml::node* rn = t.get("releases")) {
    remember(*rn, path + ".releases");
    const toml::array* ra = rn->as_array();
    if (!ra) fail(*rn, path + ".releases", fmt::format("expected an array of release tables, found {}", node_type(*rn)));
    std::vector<std::string> names;
    for (std::size_t j = 0; j < ra->size(); ++j) {
      const toml::node& e = (*ra)[j];
      const std::string jp = fmt::format("{}.releases[{}]", path, j);
      if (!e.is_table()) fail(e, jp, fmt::format("expected a table, found {}", node_type(e)));
      const ParamTable r = flat(*e.as_table(), jp);
      r.reject_unknown({"name", "modulator", "signal", "gain", "offset", "min", "max", "threshold", "delay", "position"});
      TaskRelease rel;
      rel.modulator = r.string("modulator");
      const std::string nm = r.string("name", rel.modulator);
      if (std::find(names.begin(), names.end(), nm) != names.end())
        r.fail("name", fmt::format("a release named \"{}\" exists already (give each a name)", nm));
      names.push_back(nm);
      const std::string sig = r.choice("signal", "rpe", {"rpe", "abs_rpe", "reward", "one"});
      rel.signal = sig == "rpe" ? TaskRelease::Signal::rpe
                   : sig == "abs_rpe" ? TaskRelease::Signal::abs_rpe
                   : sig == "reward" ? TaskRelease::Signal::reward
                                     : TaskRelease::Signal::one;
      rel.gain = r.number("gain", 1.0);
      rel.offset = r.number("offset", 0.0);
      rel.min = r.number("min", -std::numeric_limits<double>::infinity());
      rel.max = r.number("max", std::numeric_limits<double>::infinity());
      rel.threshold = r.number("threshold", 0.0, Check::non_negative);
      rel.delay = r.number("delay", 10.0, Check::non_negative);
      if (r.has("position")) {
        const auto xyz = r.numbers("position");
        if (xyz.size() != 3) r.fail("position", fmt::format("expected [x, y, z] in um, found {} numbers", xyz.size()));
        rel.position = Position{xyz[0], xyz[1], xyz[2]};
      }
      // Engine errors name releases by index: map those keys to this table.
      positions[jp] = pos(e, jp);
      s.releases.push_back(std::move(rel));
    }
  }
  tasks.push_back(std::move(s));
}

void Config::Impl::read_modulation(const toml::table& t, const std::string& path, std::size_t index) {
  const ParamTable m = flat(t, path, {"terms"});
  m.reject_unknown({"name", "target", "combine", "base", "terms"});
  Gate g;
  g.name = m.string("name", fmt::format("modulation_{}", index));
  g.path = path;
  g.target = m.string("target");
  g.product = m.choice("combine", "product", {"product", "sum"}) == "product";
  g.base = m.number("base", g.product ? 1.0 : 0.0);
  positions["modulation." + g.name] = pos(t, path);
  positions["modulation." + g.name + ".target"] = m.pos_of("target");
  const toml::node* terms = t.get("terms");
  if (!terms) throw ConfigError(pos(t, path), path + ".terms", "required key is missing (terms = [{ modulator = ..., receptor = ... }])");
  remember(*terms, path + ".terms");
  positions["modulation." + g.name + ".terms"] = pos(*terms, path + ".terms");
  const toml::array* a = terms->as_array();
  if (!a || a->empty()) fail(*terms, path + ".terms", "expected a non-empty array of { modulator = ..., receptor = ... } tables");
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string tp = fmt::format("{}.terms[{}]", path, i);
    if (!(*a)[i].is_table()) fail((*a)[i], tp, fmt::format("expected a table, found {}", node_type((*a)[i])));
    const ParamTable tt = flat(*(*a)[i].as_table(), tp);
    tt.reject_unknown({"modulator", "receptor", "ec50", "n", "emax", "sign"});
    Gate::Term term;
    term.path = tp;
    term.modulator = tt.string("modulator");
    if (tt.has("receptor")) {
      const std::string r = tt.string("receptor");
      if (!Receptor::preset(r, term.receptor))
        tt.fail("receptor", fmt::format("expected one of the receptor presets {}, found \"{}\"", fmt::join(Receptor::presets(), ", "), r));
    } else if (!tt.has("ec50")) {
      tt.fail("receptor", "expected a receptor preset (receptor = \"D1\", ...) or its constants (ec50, n, emax, sign)");
    }
    term.receptor.ec50 = tt.number("ec50", term.receptor.ec50, Check::positive);
    term.receptor.n = tt.number("n", term.receptor.n, Check::positive);
    term.receptor.emax = tt.number("emax", term.receptor.emax);
    term.receptor.sign = tt.number("sign", term.receptor.sign);
    if (term.receptor.sign != 1.0 && term.receptor.sign != -1.0)
      tt.fail("sign", fmt::format("expected +1 or -1, found {}", term.receptor.sign));
    positions["modulation." + g.name + ".terms." + term.modulator] = tt.pos_of("modulator");
    g.terms.push_back(std::move(term));
  }
  gates.push_back(std::move(g));
}

void Config::Impl::read_plasticity(const toml::table& t, const std::string& path) {
  Plast pl;
  pl.table = flat(t, path);
  pl.name = pl.table.string("name");
  pl.rule = pl.table.string("rule");
  // The rule's factory sees only its own keys.
  ParamTable rest(path, pos(t, path));
  for (auto&& [k, v] : t) {
    const std::string key(k.str());
    if (key != "name" && key != "rule") rest.set(key, to_value(v, path + "." + key));
  }
  pl.table = std::move(rest);
  plasticity.push_back(std::move(pl));
}

void Config::Impl::read_modulator(const toml::table& t, const std::string& path) {
  ModulatorSpec m;
  m.table = flat(t, path, {"field", "uptake", "diffusion", "release"});
  m.name = m.table.string("name");
  const toml::table* field = subtable(t, "field", path);
  m.field = field ? flat(*field, path + ".field") : ParamTable(path + ".field", pos(t, path));
  m.field_type = m.field.string("type", "well_mixed");
  const toml::table* uptake = subtable(t, "uptake", path);
  m.uptake = uptake ? flat(*uptake, path + ".uptake") : ParamTable(path + ".uptake", pos(t, path));
  const toml::table* diffusion = subtable(t, "diffusion", path);
  m.diffusion = diffusion ? flat(*diffusion, path + ".diffusion") : ParamTable(path + ".diffusion", pos(t, path));
  if (const toml::node* r = t.get("release")) {
    remember(*r, path + ".release");
    const toml::array* a = r->as_array();
    if (!a) fail(*r, path + ".release", fmt::format("expected an array of tables [{{ source = ..., quantum = ... }}], found {}", node_type(*r)));
    for (std::size_t i = 0; i < a->size(); ++i) {
      const std::string rp = fmt::format("{}.release[{}]", path, i);
      if (!(*a)[i].is_table()) fail((*a)[i], rp, fmt::format("expected a table, found {}", node_type((*a)[i])));
      remember((*a)[i], rp);
      m.release.push_back(flat(*(*a)[i].as_table(), rp));
    }
  }
  modulators.push_back(std::move(m));
}

double Config::Impl::record_interval(const ParamTable& r) {
  const double interval = r.number("interval", sim_options.dt, Check::positive);
  const double steps = interval / sim_options.dt;
  if (std::fabs(steps - std::round(steps)) > 1e-6 * std::max(1.0, steps) || steps < 1 - 1e-9)
    r.fail("interval", fmt::format("expected a multiple of dt = {} ms, found {} ms", sim_options.dt, interval));
  return interval;
}

// which = "all" (empty list) or an array of ids >= 0.
std::vector<std::uint64_t> Config::Impl::which_ids(const toml::table& t, const std::string& path, const char* what) {
  std::vector<std::uint64_t> ids;
  const toml::node* w = t.get("which");
  if (!w) return ids;
  remember(*w, path + ".which");
  if (w->is_string() && *w->value<std::string>() == "all") return ids;
  const toml::array* a = w->as_array();
  if (!a) fail(*w, path + ".which", fmt::format("expected \"all\" or an array of {}, found {}", what, node_type(*w)));
  for (const auto& e : *a) {
    if (!e.is_integer() || *e.value<std::int64_t>() < 0)
      fail(e, path + ".which", fmt::format("expected {} >= 0, found {}", what, node_type(e)));
    ids.push_back(static_cast<std::uint64_t>(*e.value<std::int64_t>()));
  }
  if (ids.empty()) fail(*w, path + ".which", fmt::format("expected at least one of the {}", what));
  return ids;
}

void Config::Impl::read_record(const toml::table& t, const std::string& path, std::size_t index) {
  const ParamTable r = flat(t, path, {"which", "probes"});
  RecordConfig rc;
  rc.kind = r.choice("kind", "", {"spikes", "state", "weights", "modulator"});
  const std::string what = r.string("what");
  rc.name = r.string("name", fmt::format("{}_{}", rc.kind, index));
  positions["record." + rc.name] = pos(t, path);
  if (r.has("what")) positions["record." + rc.name + ".what"] = r.pos_of("what");
  if (rc.kind == "spikes") {
    r.reject_unknown({"name", "kind", "what"});
    rc.population = what;
  } else if (rc.kind == "weights" || rc.kind == "modulator") {
    rc.population = what;
    if (rc.kind == "weights")
      r.reject_unknown({"name", "kind", "what", "which", "interval", "start", "stop", "final"});
    else
      r.reject_unknown({"name", "kind", "what", "interval", "start", "stop", "probes", "snapshot_interval"});
    if (rc.kind == "modulator") rc.snapshot_interval = r.number("snapshot_interval", 0.0, Check::non_negative);
    if (rc.kind == "modulator" && t.get("probes")) {
      const toml::node* pn = t.get("probes");
      const toml::array* a = pn->as_array();
      if (!a || a->empty()) fail(*pn, path + ".probes", "expected a non-empty array of [x, y, z] points (um)");
      for (const auto& e : *a) {
        const toml::array* q = e.as_array();
        if (!q || q->size() != 3 || !(*q)[0].is_number() || !(*q)[1].is_number() || !(*q)[2].is_number())
          fail(e, path + ".probes", fmt::format("expected [x, y, z] in um, found {}", node_type(e)));
        rc.probes.push_back({*(*q)[0].value<double>(), *(*q)[1].value<double>(), *(*q)[2].value<double>()});
      }
      positions["record." + rc.name + ".probes"] = pos(*pn, path + ".probes");
    }
    rc.final_snapshot = r.boolean("final", false);
    rc.interval = record_interval(r);
    for (std::uint64_t i : which_ids(t, path, "synapse indices")) rc.synapses.push_back(i);
  } else {
    r.reject_unknown({"name", "kind", "what", "which", "interval", "start", "stop"});
    const auto dot = what.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == what.size())
      r.fail("what", fmt::format("expected \"population.variable\" (e.g. \"exc.v\"), found \"{}\"", what));
    rc.population = what.substr(0, dot);
    rc.variable = what.substr(dot + 1);
    rc.interval = record_interval(r);
    for (std::uint64_t i : which_ids(t, path, "neuron ids")) rc.neurons.push_back(static_cast<NeuronIndex>(i));
  }
  if (rc.kind != "modulator" && t.get("probes"))
    fail(*t.get("probes"), path + ".probes", "unknown key: probes go with kind = \"modulator\"");
  if (rc.kind != "spikes") {
    rc.start = r.number("start", 0.0, Check::non_negative);
    rc.stop = r.number("stop", std::numeric_limits<double>::infinity(), Check::non_negative);
  }
  records.push_back(std::move(rc));
}

void Config::Impl::read() {
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    if (std::find(kTopLevel.begin(), kTopLevel.end(), key) != kTopLevel.end()) continue;
    if (std::find(kLater.begin(), kLater.end(), key) != kLater.end())
      fail(v, key, fmt::format("[[{}]] is not available in this version of nmsim", key));
    fail(v, key, fmt::format("unknown top-level key; expected one of: {}", fmt::join(kTopLevel, ", ")));
  }
  for (const char* table : {"simulation", "output"}) {
    const toml::node* n = root.get(table);
    if (n && !n->is_table()) fail(*n, table, fmt::format("expected a table [{}], found {}", table, node_type(*n)));
  }
  read_simulation(root.get("simulation") ? root.get("simulation")->as_table() : nullptr);
  if (root.get("simulation")) remember(*root.get("simulation"), "simulation");
  read_output(root.get("output") ? root.get("output")->as_table() : nullptr);
  each_element("population", [&](const toml::table& t, const std::string& p, std::size_t) { read_population(t, p); });
  if (pops.empty()) throw ConfigError({source, 0, 0}, "population", "expected at least one [[population]]");
  each_element("modulator", [&](const toml::table& t, const std::string& p, std::size_t) { read_modulator(t, p); });
  each_element("plasticity", [&](const toml::table& t, const std::string& p, std::size_t) { read_plasticity(t, p); });
  each_element("projection", [&](const toml::table& t, const std::string& p, std::size_t) { read_projection(t, p); });
  each_element(
      "modulation", [&](const toml::table& t, const std::string& p, std::size_t i) { read_modulation(t, p, i); }, false);
  each_element("stimulus", [&](const toml::table& t, const std::string& p, std::size_t) { read_stimulus(t, p); });
  each_element("task", [&](const toml::table& t, const std::string& p, std::size_t) { read_task(t, p); });
  each_element(
      "record", [&](const toml::table& t, const std::string& p, std::size_t i) { read_record(t, p, i); }, false);
}

Config::Config(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Config::Config(Config&&) noexcept = default;
Config& Config::operator=(Config&&) noexcept = default;
Config::~Config() = default;

Config Config::parse(const std::string& text, const std::string& source_name, const std::vector<std::string>& sets) {
  auto impl = std::make_unique<Impl>();
  impl->source = source_name;
  try {
    impl->root = toml::parse(text, std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw ConfigError({source_name, static_cast<int>(b.line), static_cast<int>(b.column)}, "",
                      fmt::format("TOML syntax error: {}", e.description()));
  }
  for (const auto& s : sets) impl->apply_set(s);
  std::ostringstream os;
  os << impl->root;
  impl->text = os.str() + "\n";
  impl->read();
  return Config(std::move(impl));
}

Config Config::load(const std::string& path, const std::vector<std::string>& sets) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError({path, 0, 0}, "", "cannot open the config file (no such file or no permission)");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path, sets);
}

const std::string& Config::resolved_text() const { return impl_->text; }
const std::string& Config::source_name() const { return impl_->source; }
SimulationOptions Config::simulation_options() const { return impl_->sim_options; }
double Config::duration() const { return impl_->duration; }
const OutputConfig& Config::output() const { return impl_->output; }
const std::vector<RecordConfig>& Config::records() const { return impl_->records; }

void Config::rethrow_with_position(const ConfigError& e) const {
  if (!e.pos().file.empty()) throw e;
  std::string key = e.key();
  while (!key.empty()) {
    auto it = impl_->positions.find(key);
    if (it != impl_->positions.end()) throw ConfigError(it->second, e.key(), e.detail());
    const auto dot = key.rfind('.');
    key = dot == std::string::npos ? std::string() : key.substr(0, dot);
  }
  throw ConfigError({impl_->source, 0, 0}, e.key(), e.detail());
}

void Config::build(Simulation& sim, const Registry& registry) const {
  try {
    for (const auto& p : impl_->pops) {
      Population& pop = sim.add(registry.make_population(p.model, p.name, p.size, p.params, p.init));
      auto box = impl_->random_boxes.find("population." + p.name + ".positions");
      if (!p.positions.empty()) {
        pop.set_positions(p.positions);
      } else if (box != impl_->random_boxes.end()) {
        const auto [lo, hi] = box->second;
        std::vector<std::array<double, 3>> xyz(p.size);
        const std::uint32_t purpose = purpose_id("positions/" + p.name);
        for (std::size_t i = 0; i < p.size; ++i) {
          RandomStream rng(sim.seed(), purpose, static_cast<std::uint32_t>(i));
          for (std::size_t d = 0; d < 3; ++d) xyz[i][d] = lo[d] + (hi[d] - lo[d]) * rng.uniform();
        }
        pop.set_positions(std::move(xyz));
      }
    }
    for (const auto& m : impl_->modulators) sim.add(registry.make_modulator(m));
    std::map<std::string, std::shared_ptr<const PlasticityModel>> rules;
    for (const auto& pl : impl_->plasticity) rules[pl.name] = registry.make_plasticity(pl.rule, pl.name, pl.table);
    for (std::size_t i = 0; i < impl_->projections.size(); ++i) {
      ProjectionSpec spec = impl_->projections[i];
      const std::string& rule = impl_->projection_rule[i];
      if (!rule.empty()) {
        auto it = rules.find(rule);
        if (it == rules.end()) {
          std::vector<std::string> names;
          for (const auto& [n, r] : rules) names.push_back(n);
          throw ConfigError({}, "projection." + spec.name + ".plasticity",
                            fmt::format("expected the name of a [[plasticity]] ({}), found \"{}\"",
                                        names.empty() ? std::string("none defined") : fmt::format("{}", fmt::join(names, ", ")), rule));
        }
        spec.plasticity = it->second;
      }
      sim.connect(std::move(spec));
    }
    for (const auto& g : impl_->gates) {
      std::vector<ModulationTerm> terms;
      for (const auto& term : g.terms) {
        if (!sim.has_modulator(term.modulator))
          throw ConfigError({}, "modulation." + g.name + ".terms." + term.modulator,
                            fmt::format("expected the name of a modulator, found \"{}\"", term.modulator));
        terms.push_back({&sim.modulator(term.modulator), term.receptor, {}});
      }
      sim.add_modulation(ModulationMap(g.target, g.product ? ModulationMap::Combine::product : ModulationMap::Combine::sum,
                                       g.base, std::move(terms)),
                         "modulation." + g.name);
    }
    for (const auto& s : impl_->stims) {
      const ParamTable& t = s.table;
      if (s.kind == "reward") {
        if (!sim.has_modulator(s.target))
          t.fail("target", fmt::format("expected the name of a modulator, found \"{}\"", s.target));
        Modulator& m = sim.modulator(s.target);
        const std::vector<double> times = t.numbers("times");
        std::vector<double> amounts;
        if (t.has("amounts")) {
          if (t.has("amount")) t.fail("amount", "expected either amount (one for all times) or amounts, found both");
          amounts = t.numbers("amounts");
          if (amounts.size() != times.size())
            t.fail("amounts", fmt::format("expected one amount per time ({}), found {}", times.size(), amounts.size()));
        } else {
          amounts.assign(times.size(), t.number("amount", Check::non_negative));
        }
        const double dt = sim.dt();
        for (std::size_t i = 0; i < times.size(); ++i) {
          const double steps = times[i] / dt;
          if (!(steps >= 0) || std::fabs(steps - std::round(steps)) > 1e-6 * std::max(1.0, steps))
            t.fail("times", fmt::format("expected times >= 0 on the dt = {} ms grid, found {} ms", dt, times[i]));
          if (amounts[i] < 0) t.fail("amounts", fmt::format("expected amounts >= 0 uM, found {}", amounts[i]));
          m.release_at(static_cast<Step>(std::llround(steps)), amounts[i]);
        }
        continue;
      }
      if (!sim.has_population(s.target))
        t.fail("target", fmt::format("expected the name of a population, found \"{}\"", s.target));
      Population& target = sim.population(s.target);
      std::vector<NeuronIndex> ids;
      if (t.has("neurons"))
        for (double x : t.numbers("neurons")) {
          if (x < 0 || std::floor(x) != x || x >= static_cast<double>(target.size()))
            t.fail("neurons", fmt::format("expected neuron ids in [0, {}), found {}", target.size(), x));
          ids.push_back(static_cast<NeuronIndex>(x));
        }
      if (s.kind == "poisson") {
        const double start = t.number("start", 0.0, Check::non_negative);
        const double stop = t.number("stop", 1e300, Check::non_negative);
        sim.add(std::make_unique<PoissonInput>(s.name, target, t.string("port", "exc"),
                                               t.number("rate", Check::non_negative), t.number("weight"), start, stop,
                                               NeuronSubset(ids, target.size())));
      } else if (s.kind == "current") {
        std::vector<double> times, amps;
        if (t.has("amplitude")) {
          if (t.has("times") || t.has("amplitudes"))
            t.fail("amplitude", "expected either amplitude (constant) or times + amplitudes (steps), found both");
          times = {t.number("start", 0.0, Check::non_negative)};
          amps = {t.number("amplitude")};
        } else {
          times = t.numbers("times");
          amps = t.numbers("amplitudes");
          if (t.has("start")) t.fail("start", "start goes with amplitude; with times + amplitudes use the times");
        }
        sim.add(std::make_unique<CurrentInput>(s.name, target, times, amps, t.number("stop", 1e300, Check::non_negative),
                                               NeuronSubset(ids, target.size())));
      } else if (s.kind == "noise") {
        sim.add(std::make_unique<NoiseCurrent>(s.name, target, t.distribution("amplitude"),
                                               t.number("start", 0.0, Check::non_negative),
                                               t.number("stop", 1e300, Check::non_negative), NeuronSubset(ids, target.size())));
      } else {
        sim.add(std::make_unique<SpikeTimesInput>(s.name, target, t.string("port", "exc"), t.numbers("times"), ids,
                                                  t.number("weight")));
      }
    }
    // Tasks last: they probe modulators and read populations that must exist.
    for (const auto& t : impl_->tasks) sim.add(std::make_unique<Task>(sim, t));
    for (const auto& r : impl_->records) {
      const std::string key = "record." + r.name + ".what";
      if (r.kind == "weights") {
        bool found = false;
        for (const auto& p : sim.projections()) found = found || p->name() == r.population;
        if (!found) throw ConfigError({}, key, fmt::format("expected the name of a projection, found \"{}\"", r.population));
        continue;
      }
      if (r.kind == "modulator") {
        if (!sim.has_modulator(r.population))
          throw ConfigError({}, key, fmt::format("expected the name of a modulator, found \"{}\"", r.population));
        continue;
      }
      if (!sim.has_population(r.population))
        throw ConfigError({}, key, fmt::format("expected the name of a population, found \"{}\"", r.population));
      if (r.kind == "state") {
        const auto vars = sim.population(r.population).variables();
        if (std::find(vars.begin(), vars.end(), r.variable) == vars.end())
          throw ConfigError({}, key, fmt::format("population {} (model {}) has no variable \"{}\"; it has: {}",
                                                 r.population, sim.population(r.population).model(), r.variable,
                                                 fmt::join(vars, ", ")));
        for (NeuronIndex i : r.neurons)
          if (i >= sim.population(r.population).size())
            throw ConfigError({}, "record." + r.name + ".which",
                              fmt::format("neuron id {} is out of range (size {})", i, sim.population(r.population).size()));
      }
    }
  } catch (const ConfigError& e) {
    rethrow_with_position(e);
  }
}

}  // namespace nmsim::io
