#include "nmsim/io/inspect.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <filesystem>

#include "h5.hpp"
#include "nmsim/core/error.hpp"
#include "nmsim/io/checkpoint.hpp"

namespace nmsim::io {

namespace {

std::string shape_str(const std::vector<hsize_t>& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// A number attribute if present and numeric, else nothing.
bool number_attr(hid_t obj, const char* name, double& out) {
  try {
    if (!h5::has_attr(obj, name)) return false;
    const auto v = h5::read_attr_numbers(obj, name);
    if (v.empty()) return false;
    out = v[0];
    return true;
  } catch (const RuntimeError&) {
    return false;
  }
}

std::string string_attr(hid_t obj, const char* name) {
  try {
    if (h5::has_attr(obj, name)) return h5::read_attr_string(obj, name);
  } catch (const RuntimeError&) {
  }
  return "";
}

std::string describe_spikes(hid_t root, const std::string& pop, double t_total) {
  const std::string base = "spikes/" + pop;
  if (!h5::exists(root, base + "/timestamps")) return fmt::format("  {}: (no timestamps dataset)\n", pop);
  h5::Dataset ts = h5::Dataset::open(root, base + "/timestamps");
  const auto shape = ts.shape();
  const hsize_t n = shape.empty() ? 0 : shape[0];
  std::string line = fmt::format("  {}: {} spikes", pop, n);
  if (n > 0) {
    // Sorted by time: the first and last elements give the range without reading everything.
    const double t0 = ts.read_rows<double>(0, 1).at(0);
    const double t1 = ts.read_rows<double>(n - 1, 1).at(0);
    line += fmt::format(", t = {} .. {} ms", std::min(t0, t1), std::max(t0, t1));
  }
  double size = 0;
  if (h5::exists(root, "populations/" + pop)) {
    h5::GroupId g = h5::open_group(root, "populations/" + pop);
    number_attr(g.get(), "size", size);
  }
  if (size > 0 && t_total > 0)
    line += fmt::format(", mean rate {:.3g} Hz ({} neurons, {} ms)", static_cast<double>(n) / size / (t_total * 1e-3),
                        size, t_total);
  h5::GroupId g = h5::open_group(root, base);
  double sorting = -1;
  if (number_attr(g.get(), "sorting", sorting) && sorting >= 0 && sorting <= 2) {
    const char* names[] = {"none", "by_id", "by_time"};
    line += fmt::format(", sorted {}", names[static_cast<int>(sorting)]);
  }
  return line + "\n";
}

// ", t = a .. b ms every c ms" from a [start, stop, step] time dataset and the row count.
std::string sample_times(hid_t root, const std::string& time_path, const std::vector<hsize_t>& shape) {
  if (!h5::exists(root, time_path)) return "";
  h5::Dataset time = h5::Dataset::open(root, time_path);
  const auto t = time.read<double>();
  if (t.size() != 3) return "";
  if (shape.empty() || shape[0] == 0) return fmt::format(", no samples yet (from {} ms every {} ms)", t[0], t[2]);
  return fmt::format(", t = {} .. {} ms every {} ms", t[0], t[0] + static_cast<double>(shape[0] - 1) * t[2], t[2]);
}

std::string describe_report(hid_t root, const std::string& name, const std::string& path) {
  h5::Dataset data = h5::Dataset::open(root, path + "/data");
  const auto shape = data.shape();
  std::string units = string_attr(data.id(), "units");
  std::string line;
  if (shape.size() == 2)
    line = fmt::format("  {}: {} times x {} neurons", name, shape[0], shape[1]);
  else
    line = fmt::format("  {}: data {}", name, shape_str(shape));
  line += fmt::format(", units {}", units.empty() ? "(none)" : units);
  line += sample_times(root, path + "/mapping/time", shape);
  return line + "\n";
}

// One projection under /weights: what it connects, the sampled weights, the final snapshot.
std::string describe_weights(hid_t root, const std::string& proj) {
  const std::string path = "weights/" + proj;
  h5::GroupId g = h5::open_group(root, path);
  std::string out = "  " + proj;
  const std::string src = string_attr(g.get(), "source"), tgt = string_attr(g.get(), "target");
  if (!src.empty() || !tgt.empty()) out += fmt::format(" ({} -> {}", src, tgt);
  const std::string port = string_attr(g.get(), "port"), rule = string_attr(g.get(), "rule");
  if (!port.empty()) out += ", port " + port;
  if (!rule.empty()) out += ", " + rule;
  if (!src.empty() || !tgt.empty()) out += ")";
  out += ":\n";
  if (h5::exists(root, path + "/data")) {
    h5::Dataset data = h5::Dataset::open(root, path + "/data");
    const auto shape = data.shape();
    const std::string units = string_attr(data.id(), "units");
    if (shape.size() == 2)
      out += fmt::format("    sampled: {} times x {} synapses", shape[0], shape[1]);
    else
      out += fmt::format("    sampled: data {}", shape_str(shape));
    out += fmt::format(", units {}", units.empty() ? "(none)" : units);
    out += sample_times(root, path + "/mapping/time", shape) + "\n";
  }
  if (h5::exists(root, path + "/final/weights")) {
    h5::Dataset w = h5::Dataset::open(root, path + "/final/weights");
    const auto shape = w.shape();
    const std::string units = string_attr(w.id(), "units");
    out += fmt::format("    final: {} synapses", shape.empty() ? 0 : shape[0]);
    h5::GroupId fg = h5::open_group(root, path + "/final");
    double t = 0;
    if (number_attr(fg.get(), "time", t)) out += fmt::format(" at t = {} ms", t);
    out += fmt::format(", units {}\n", units.empty() ? "(none)" : units);
  }
  return out;
}

// One modulator under /modulators: kind, probes and their last value.
std::string describe_modulator(hid_t root, const std::string& name) {
  const std::string path = "modulators/" + name;
  h5::GroupId g = h5::open_group(root, path);
  std::string out = "  " + name;
  const std::string field = string_attr(g.get(), "field");
  if (!field.empty()) out += " (" + field + ")";
  out += ":";
  if (!h5::exists(root, path + "/probes/data")) return out + " no probes\n";
  h5::Dataset data = h5::Dataset::open(root, path + "/probes/data");
  const auto shape = data.shape();
  const std::string units = string_attr(data.id(), "units");
  if (shape.size() == 2)
    out += fmt::format(" {} times x {} probe{}", shape[0], shape[1], shape[1] == 1 ? "" : "s");
  else
    out += fmt::format(" probes/data {}", shape_str(shape));
  out += fmt::format(", units {}", units.empty() ? "(none)" : units);
  out += sample_times(root, path + "/probes/mapping/time", shape);
  if (shape.size() == 2 && shape[0] > 0 && shape[1] > 0) {
    const auto last = data.read_rows<double>(shape[0] - 1, 1);
    const auto [lo, hi] = std::minmax_element(last.begin(), last.end());
    if (*lo == *hi)
      out += fmt::format(", last {:.6g}", *lo);
    else
      out += fmt::format(", last {:.6g} .. {:.6g}", *lo, *hi);
    if (!units.empty()) out += " " + units;
  }
  return out + "\n";
}

// /summary (written when the run ends): simulated and wall time, their ratio, synaptic events.
std::string describe_summary(hid_t root) {
  h5::GroupId g = h5::open_group(root, "summary");
  double sim_ms = 0, wall_s = 0, events = 0;
  const bool have_sim = number_attr(g.get(), "simulated_time", sim_ms);
  const bool have_wall = number_attr(g.get(), "wall_time", wall_s);
  std::string out = "summary:";
  if (have_sim) out += fmt::format(" simulated {:g} ms", sim_ms);
  if (have_wall) out += fmt::format(" in {:.3f} s wall", wall_s);
  if (have_sim && have_wall && sim_ms > 0) out += fmt::format(" (real-time factor {:.4g})", wall_s / (sim_ms * 1e-3));
  if (number_attr(g.get(), "synaptic_events", events)) {
    out += fmt::format(", {:.0f} synaptic events", events);
    if (have_wall && wall_s > 0) out += fmt::format(" ({:.3g}/s)", events / wall_s);
  }
  return out + "\n";
}

struct Visit {
  std::vector<std::string> datasets;
};

herr_t visit_cb(hid_t, const char* name, const H5O_info_t* info, void* data) {
  if (info->type == H5O_TYPE_DATASET) static_cast<Visit*>(data)->datasets.emplace_back(name);
  return 0;
}

// /trials of a task: size, the summary attributes, and accuracy per block of 20 trials.
std::string describe_trials(hid_t root) {
  h5::GroupId g = h5::open_group(root, "trials");
  auto num = [&](const char* name) {
    const auto v = h5::has_attr(g.get(), name) ? h5::read_attr_numbers(g.get(), name) : std::vector<double>{};
    return v.empty() ? std::nan("") : v[0];
  };
  std::string out = fmt::format("trials: task {}, {} trials (cues {}; responses {})", string_attr(g.get(), "task"),
                                static_cast<long long>(num("n_trials")), string_attr(g.get(), "cues"),
                                string_attr(g.get(), "responses"));
  const double rev = num("reversal_after");
  out += rev > 0 ? fmt::format(", reversal after trial {}\n", static_cast<long long>(rev)) : std::string("\n");
  out += fmt::format("  accuracy {:.3f} (before reversal {:.3f}, last 20 before {:.3f}, after {:.3f})\n",
                     num("accuracy"), num("accuracy_pre"), num("accuracy_pre_last20"), num("accuracy_post"));
  out += fmt::format(
      "  hit rate {:.3f}, false alarms {:.3f}, d' {:.2f}; trials to criterion {} (before reversal {}), "
      "perseverative errors {}\n",
      num("hit_rate"), num("false_alarm_rate"), num("d_prime"), num("trials_to_criterion"),
      num("trials_to_criterion_pre"), num("perseverative_errors"));
  const auto correct = h5::Dataset::open(g.get(), "correct").read<double>();
  if (!correct.empty()) {
    out += "  accuracy per 20 trials:";
    for (std::size_t b = 0; b < correct.size(); b += 20) {
      double c = 0;
      const std::size_t e = std::min(correct.size(), b + 20);
      for (std::size_t i = b; i < e; ++i) c += correct[i];
      out += fmt::format(" {:.2f}", c / static_cast<double>(e - b));
    }
    out += "\n";
  }
  return out;
}

std::string describe(const std::string& path) {
  h5::File f = h5::File::open(path);
  h5::Lock lock;
  const hid_t root = f.id();
  std::string out;
  const std::string version = string_attr(root, "nmsim_version");
  if (!version.empty())
    out += fmt::format("{}: nmsim {} result file\n", path, version);
  else  // bad input for `nmsim info` (exit code 2): another program's file, not a result of ours
    throw RuntimeError(
        "expected an nmsim result file, found an HDF5 file without the root attribute "
        "nmsim_version (not written by nmsim)");

  const std::string status = string_attr(root, "status");
  if (!status.empty()) {
    out += "status: " + status;
    if (status == "running") out += " (the run did not finish; the file holds the data up to its last flush)";
    out += "\n";
  }
  std::string run;
  const std::string created = string_attr(root, "created");
  if (!created.empty()) run += "created " + created;
  double v = 0;
  const auto add = [&](const char* label, const char* attr, const char* unit) {
    if (number_attr(root, attr, v)) run += fmt::format("{}{} {}{}", run.empty() ? "" : ", ", label, v, unit);
  };
  add("seed", "seed", "");
  add("dt", "dt", " ms");
  add("duration", "duration", " ms");
  add("simulated", "simulated_time", " ms");
  add("threads", "threads", "");
  if (!run.empty()) out += run + "\n";
  double magic = 0;
  if (number_attr(root, "magic", magic) && magic == 0x0A7A) {
    std::vector<double> ver;
    try {
      ver = h5::read_attr_numbers(root, "version");
    } catch (const RuntimeError&) {
    }
    out += ver.size() == 2 ? fmt::format("SONATA file, version {}.{}\n", ver[0], ver[1]) : "SONATA file\n";
  }
  if (h5::exists(root, "config") && h5::object_type(root, "config") == H5O_TYPE_DATASET) {
    try {
      const std::string cfg = h5::read_string_dataset(root, "config");
      const auto lines = std::count(cfg.begin(), cfg.end(), '\n') + (cfg.empty() || cfg.back() == '\n' ? 0 : 1);
      out += fmt::format("config: {} lines of TOML in /config\n", lines);
    } catch (const RuntimeError&) {
      out += "config: /config (not a text dataset)\n";
    }
  }

  // Rates are per neuron over the simulated time when known, else over the planned duration.
  double t_total = 0;
  if (!number_attr(root, "simulated_time", t_total) || t_total <= 0) number_attr(root, "duration", t_total);

  if (h5::exists(root, "spikes") && h5::object_type(root, "spikes") == H5O_TYPE_GROUP) {
    out += "spikes:\n";
    const auto pops = h5::list(root, "spikes");
    if (pops.empty()) out += "  (none)\n";
    for (const auto& pop : pops) {
      try {
        out += describe_spikes(root, pop, t_total);
      } catch (const RuntimeError& e) {
        out += fmt::format("  {}: unreadable ({})\n", pop, e.what());
      }
    }
  }
  if (h5::exists(root, "report") && h5::object_type(root, "report") == H5O_TYPE_GROUP) {
    out += "reports:\n";
    for (const auto& pop : h5::list(root, "report")) {
      const std::string p = "report/" + pop;
      try {
        if (h5::exists(root, p + "/data")) {  // plain SONATA: one report per population
          out += describe_report(root, pop, p);
          continue;
        }
        for (const auto& var : h5::list(root, p)) {
          if (h5::exists(root, p + "/" + var + "/data")) out += describe_report(root, pop + "/" + var, p + "/" + var);
        }
      } catch (const RuntimeError& e) {
        out += fmt::format("  {}: unreadable ({})\n", pop, e.what());
      }
    }
  }

  if (h5::exists(root, "weights") && h5::object_type(root, "weights") == H5O_TYPE_GROUP) {
    out += "weights:\n";
    for (const auto& proj : h5::list(root, "weights")) {
      try {
        out += describe_weights(root, proj);
      } catch (const RuntimeError& e) {
        out += fmt::format("  {}: unreadable ({})\n", proj, e.what());
      }
    }
  }
  if (h5::exists(root, "modulators") && h5::object_type(root, "modulators") == H5O_TYPE_GROUP) {
    out += "modulators:\n";
    for (const auto& mod : h5::list(root, "modulators")) {
      try {
        out += describe_modulator(root, mod);
      } catch (const RuntimeError& e) {
        out += fmt::format("  {}: unreadable ({})\n", mod, e.what());
      }
    }
  }

  if (h5::exists(root, "trials") && h5::object_type(root, "trials") == H5O_TYPE_GROUP) {
    try {
      out += describe_trials(root);
    } catch (const RuntimeError& e) {
      out += fmt::format("trials: unreadable ({})\n", e.what());
    }
  }

  if (h5::exists(root, "summary") && h5::object_type(root, "summary") == H5O_TYPE_GROUP) {
    try {
      out += describe_summary(root);
    } catch (const RuntimeError& e) {
      out += fmt::format("summary: unreadable ({})\n", e.what());
    }
  }

  // Everything else (positions, modulator snapshots, ...): generic dataset listing.
  Visit visit;
  h5::check(H5Ovisit2(root, H5_INDEX_NAME, H5_ITER_INC, visit_cb, &visit, H5O_INFO_BASIC), "list the file");
  std::vector<std::string> other;
  for (const auto& name : visit.datasets) {
    if (name == "config" || name.starts_with("spikes/") || name.starts_with("report/") ||
        name.starts_with("weights/") || name.starts_with("trials/") ||
        (name.starts_with("modulators/") && name.find("/probes/") != std::string::npos))
      continue;
    other.push_back(name);
  }
  if (!other.empty()) {
    out += "other datasets:\n";
    for (const auto& name : other) {
      try {
        h5::Dataset d = h5::Dataset::open(root, name);
        h5::TypeId t(h5::check_id(H5Dget_type(d.id()), "read the type of " + name));
        const std::string units = string_attr(d.id(), "units");
        out += fmt::format("  /{}: {} {}{}\n", name, h5::type_name(t.get()), shape_str(d.shape()),
                           units.empty() ? "" : ", units " + units);
      } catch (const RuntimeError& e) {
        out += fmt::format("  /{}: unreadable ({})\n", name, e.what());
      }
    }
  }
  return out;
}

}  // namespace

std::string describe_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw ConfigError(SourcePos{path, 0, 0}, "", "no such file");
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError(SourcePos{path, 0, 0}, "", "expected an HDF5 file, found a directory");
  if (!h5::File::is_hdf5(path))
    throw ConfigError(SourcePos{path, 0, 0}, "", "not an HDF5 file (expected an nmsim result file)");
  if (is_checkpoint(path)) return describe_checkpoint(path);  // docs/checkpoint.md
  try {
    return describe(path);
  } catch (const RuntimeError& e) {
    throw ConfigError(SourcePos{path, 0, 0}, "", e.what());
  }
}

}  // namespace nmsim::io
