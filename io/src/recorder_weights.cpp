// Recorder: synaptic weights (sampled and final snapshots) and modulator probes. The life cycle
// (file, flushing, status) is in recorder.cpp; the layout and timing rules are documented in
// nmsim/io/recorder.hpp.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>

#include "h5.hpp"
#include "nmsim/core/error.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/io/recorder.hpp"
#include "recorder_impl.hpp"

namespace nmsim::io {

namespace detail {

void write_projection_attrs(hid_t group, const Projection& p) {
  h5::set_attr(group, "source", p.source().name());
  h5::set_attr(group, "target", p.target().name());
  const auto ports = p.target().ports();
  const auto port = static_cast<std::size_t>(p.port());
  h5::set_attr(group, "port", port < ports.size() ? ports[port].name : std::string{});
  h5::set_attr(group, "rule", p.spec().plasticity ? std::string(p.spec().plasticity->rule()) : std::string("static"));
}

}  // namespace detail

namespace {

using namespace detail;

// Where synapse i of Projection::synapses() lives: thread tid, index q of csr(tid).
struct SynapseRef {
  NeuronIndex source;
  NeuronIndex target;
  std::uint32_t tid;
  std::uint64_t q;
};

// The same traversal and stable sort as Projection::synapses(), so index i here is synapses()[i].
std::vector<SynapseRef> ordered_synapses(const Projection& p) {
  std::vector<SynapseRef> all;
  all.reserve(p.synapse_count());
  for (std::size_t t = 0; t < p.threads(); ++t) {
    const SynapseCsr& c = p.csr(static_cast<int>(t));
    for (std::size_t s = 0; s + 1 < c.row.size(); ++s)
      for (std::uint64_t q = c.row[s]; q < c.row[s + 1]; ++q)
        all.push_back({static_cast<NeuronIndex>(s), c.target[q], static_cast<std::uint32_t>(t), q});
  }
  std::stable_sort(all.begin(), all.end(), [](const SynapseRef& a, const SynapseRef& b) {
    return a.target != b.target ? a.target < b.target : a.source < b.source;
  });
  return all;
}

Projection* find_projection(const Simulation& sim, const std::string& name, const std::string& key) {
  std::vector<std::string> names;
  for (const auto& p : sim.projections()) {
    if (p->name() == name) return p.get();
    names.push_back(p->name());
  }
  throw ConfigError({}, key,
                    fmt::format("expected the name of a projection ({}), found \"{}\"",
                                names.empty() ? std::string("the simulation has none") : names_of(names), name));
}

// Bring every synapse of `p` up to synapse time t_a, thread by thread (one caller thread).
void synchronize_all(Projection& p, Step a) {
  for (std::size_t t = 0; t < p.threads(); ++t) p.synchronize(static_cast<int>(t), a);
}

h5::GroupId weights_group(hid_t root, const Projection& p) {
  const std::string path = "weights/" + p.name();
  if (h5::exists(root, path)) return h5::open_group(root, path);
  h5::GroupId g = h5::create_group(root, path);
  write_projection_attrs(g.get(), p);
  return g;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Requests

void Recorder::record_weights(const std::string& projection, std::vector<std::uint64_t> synapses, double interval,
                              double start, double stop, std::string key) {
  Impl& m = *impl_;
  if (key.empty()) key = "record." + projection;
  if (m.prepared) throw ConfigError({}, key, "recordings must be requested before the simulation is prepared");
  check_name(projection, key, "projection");
  WeightRequest r;
  r.schedule.interval = interval;
  r.schedule.start = start;
  r.schedule.stop = stop;
  r.schedule.check_request(key);
  for (const auto& o : m.weights)
    if (o.projection == projection)
      throw ConfigError({}, key,
                        fmt::format("the weights of projection {} are recorded twice (once as {}): one weight "
                                    "recording per projection",
                                    projection, o.key));
  std::sort(synapses.begin(), synapses.end());
  for (std::size_t i = 1; i < synapses.size(); ++i)
    if (synapses[i] == synapses[i - 1])
      throw ConfigError({}, key + ".which", fmt::format("synapse index {} is listed twice", synapses[i]));
  r.projection = projection;
  r.key = std::move(key);
  r.synapses = std::move(synapses);
  m.weights.push_back(std::move(r));
}

void Recorder::record_weights(const std::string& projection, SynapsePairs pairs, double interval, double start,
                              double stop, std::string key) {
  if (key.empty()) key = "record." + projection;
  const std::string which = key + ".which";
  if (pairs.pairs.empty()) throw ConfigError({}, which, "expected at least one (source, target) pair");
  auto sorted = pairs.pairs;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i] == sorted[i - 1])
      throw ConfigError({}, which, fmt::format("the pair (source {}, target {}) is listed twice", sorted[i].first,
                                               sorted[i].second));
  record_weights(projection, std::vector<std::uint64_t>{}, interval, start, stop, key);
  WeightRequest& r = impl_->weights.back();
  r.by_pairs = true;
  r.pairs = std::move(sorted);
}

void Recorder::snapshot_weights(const std::string& projection, std::string key) {
  Impl& m = *impl_;
  if (key.empty()) key = "record." + projection;
  if (m.prepared) throw ConfigError({}, key, "recordings must be requested before the simulation is prepared");
  check_name(projection, key, "projection");
  for (const auto& s : m.snapshots)
    if (s.projection == projection) return;  // asked twice: the same data
  SnapshotRequest s;
  s.projection = projection;
  s.key = std::move(key);
  m.snapshots.push_back(std::move(s));
}

void Recorder::record_modulator(const std::string& modulator, double interval, double start, double stop,
                                std::string key, std::vector<std::array<double, 3>> probes, double snapshot_interval) {
  Impl& m = *impl_;
  if (key.empty()) key = "record." + modulator;
  if (m.prepared) throw ConfigError({}, key, "recordings must be requested before the simulation is prepared");
  check_name(modulator, key, "modulator");
  ModulatorRequest r;
  r.schedule.interval = interval;
  r.schedule.start = start;
  r.schedule.stop = stop;
  r.schedule.check_request(key);
  for (const auto& o : m.modulators)
    if (o.modulator == modulator)
      throw ConfigError({}, key,
                        fmt::format("modulator {} is recorded twice (once as {}): one recording per modulator",
                                    modulator, o.key));
  for (const auto& p : probes)
    for (double x : p)
      if (!std::isfinite(x)) throw ConfigError({}, key + ".probes", "expected finite probe coordinates (um)");
  r.requested = std::move(probes);
  if (!(snapshot_interval >= 0) || !std::isfinite(snapshot_interval))
    throw ConfigError({}, key + ".snapshot_interval", fmt::format("expected a time >= 0 ms, found {}", snapshot_interval));
  r.snapshot_interval = snapshot_interval;
  r.modulator = modulator;
  r.key = std::move(key);
  m.modulators.push_back(std::move(r));
}

// ---------------------------------------------------------------------------------------------
// prepare: validation (no file yet), then datasets

void Recorder::Impl::resolve_weights_and_modulators() {
  const Simulation& s = *sim;
  for (auto& r : weights) {
    Projection& p = *find_projection(s, r.projection, r.key);
    r.proj = &p;
    r.units = p.target().ports()[static_cast<std::size_t>(p.port())].units;
    const std::vector<SynapseRef> all = ordered_synapses(p);
    const std::string which = r.key + ".which";
    if (r.by_pairs) {
      r.synapses.clear();
      for (const auto& [src, tgt] : r.pairs) {
        if (src >= p.source().size() || tgt >= p.target().size())
          throw ConfigError({}, which,
                            fmt::format("the pair (source {}, target {}) is out of range: projection {} connects {} "
                                        "({} neurons) to {} ({} neurons)",
                                        src, tgt, p.name(), p.source().name(), p.source().size(), p.target().name(),
                                        p.target().size()));
        const auto [lo, hi] = std::equal_range(all.begin(), all.end(), SynapseRef{src, tgt, 0, 0},
                                               [](const SynapseRef& a, const SynapseRef& b) {
                                                 return a.target != b.target ? a.target < b.target
                                                                             : a.source < b.source;
                                               });
        if (lo == hi)
          throw ConfigError({}, which,
                            fmt::format("projection {} has no synapse from source {} to target {}", p.name(), src, tgt));
        for (auto it = lo; it != hi; ++it) r.synapses.push_back(static_cast<std::uint64_t>(it - all.begin()));
      }
      std::sort(r.synapses.begin(), r.synapses.end());
    } else if (r.synapses.empty()) {
      r.synapses.resize(all.size());
      for (std::size_t i = 0; i < all.size(); ++i) r.synapses[i] = i;
    } else if (r.synapses.back() >= all.size()) {
      throw ConfigError({}, which,
                        fmt::format("synapse index {} is out of range: projection {} has {} synapses{}",
                                    r.synapses.back(), p.name(), all.size(),
                                    all.empty() ? std::string() : fmt::format(" (indices 0..{})", all.size() - 1)));
    }
    r.schedule.resolve(dt, s.now(), r.key);
    const std::size_t n = r.synapses.size();
    r.rows.width = n;
    r.source_ids.resize(n);
    r.target_ids.resize(n);
    r.owned.assign(p.threads(), {});
    for (std::size_t c = 0; c < n; ++c) {
      const SynapseRef& ref = all[r.synapses[c]];
      r.source_ids[c] = ref.source;
      r.target_ids[c] = ref.target;
      r.owned[ref.tid].emplace_back(ref.q, static_cast<std::uint64_t>(c));
    }
    // Walk each thread's weights in memory order.
    for (auto& o : r.owned) std::sort(o.begin(), o.end());
  }
  for (auto& r : snapshots) r.proj = find_projection(s, r.projection, r.key);
  std::vector<std::string> names;
  for (const auto& mod : s.modulators()) names.push_back(mod->name());
  for (auto& r : modulators) {
    if (!s.has_modulator(r.modulator))
      throw ConfigError({}, r.key,
                        fmt::format("expected the name of a modulator ({}), found \"{}\"",
                                    names.empty() ? std::string("the simulation has none") : names_of(names),
                                    r.modulator));
    Modulator& mod = s.modulator(r.modulator);
    r.mod = &mod;
    r.schedule.resolve(dt, s.now(), r.key);
    r.field = mod.spatial() ? "grid" : "well_mixed";
    r.positions.clear();
    r.probe_ids.clear();
    if (mod.spatial() && !r.requested.empty()) {
      // Registered now, before the first window: the field samples them from then on.
      for (const auto& p : r.requested) {
        r.probe_ids.push_back(mod.add_probe(p));
        r.positions.insert(r.positions.end(), p.begin(), p.end());
      }
    } else {
      if (!mod.spatial() && !r.requested.empty())
        throw ConfigError({}, r.key + ".probes",
                          fmt::format("modulator {} is well mixed: it has one value everywhere, no probes", r.modulator));
      // One column: the pool's value (a well-mixed level, or a field's mean).
      const double at = mod.spatial() ? std::numeric_limits<double>::quiet_NaN() : 0.0;
      r.positions = {at, at, at};
    }
    r.rows.width = r.probes();
    if (r.snapshot_interval > 0) {
      if (!mod.spatial() || mod.field_view().values.empty())
        throw ConfigError({}, r.key + ".snapshot_interval",
                          fmt::format("modulator {} is not a grid field: it has no snapshots", r.modulator));
      const auto shape = mod.field_view().shape;
      r.snap_size = shape[0] * shape[1] * shape[2];
      r.next_snapshot = s.now();
    }
  }
}

void Recorder::Impl::create_weight_and_modulator_datasets() {
  const hid_t root = file.id();
  const int deflate = options.compression;
  for (auto& r : weights) {
    h5::GroupId g = weights_group(root, *r.proj);
    r.rows.create(g.get(), "data", "mapping/time", r.units, r.schedule, dt, info.duration, deflate);
    h5::Dataset::create_filled(g.get(), "mapping/synapse_ids", r.synapses);
    h5::Dataset::create_filled(g.get(), "mapping/source_ids", r.source_ids);
    h5::Dataset::create_filled(g.get(), "mapping/target_ids", r.target_ids);
  }
  for (auto& r : modulators) {
    h5::GroupId g = h5::create_group(root, "modulators/" + r.modulator);
    h5::set_attr(g.get(), "field", r.field);
    const hsize_t n = r.probes();
    h5::Dataset pos = h5::Dataset::create(g.get(), "probes/positions", h5::Type<double>::file(), h5::Layout{{n, 3}, {}, {}, 0});
    pos.write_rows(r.positions.data(), 0, n);
    h5::set_attr(pos.id(), "units", "um");
    r.rows.create(g.get(), "probes/data", "probes/mapping/time", "uM", r.schedule, dt, info.duration, deflate);
    if (r.snap_size > 0) {
      const Modulator::FieldView v = r.mod->field_view();
      const hsize_t nx = v.shape[0], ny = v.shape[1], nz = v.shape[2];
      h5::GroupId sg = h5::create_group(g.get(), "snapshots");
      r.snap_data = h5::Dataset::create(sg.get(), "data", h5::Type<float>::file(),
                                        h5::Layout{{0, nz, ny, nx}, {H5S_UNLIMITED, nz, ny, nx}, {1, nz, ny, nx}, deflate});
      h5::set_attr(r.snap_data.id(), "units", "uM");
      r.snap_time = h5::Dataset::create(sg.get(), "times", h5::Type<double>::file(),
                                        h5::Layout{{0}, {H5S_UNLIMITED}, {1024}, 0});
      h5::set_attr(r.snap_time.id(), "units", "ms");
      h5::set_attr(sg.get(), "origin", std::vector<double>(v.origin.begin(), v.origin.end()));
      h5::set_attr(sg.get(), "spacing", std::vector<double>(v.spacing.begin(), v.spacing.end()));
      h5::set_attr(sg.get(), "units", "um");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Sampling

void Recorder::Impl::sample_initial_weights() {
  const Step now = sim->now();
  for (auto& r : weights) {
    r.rows.reserve_through(r.schedule.rows_through(now));
    if (r.rows.pending_rows != 1) continue;
    synchronize_all(*r.proj, now);
    for (std::size_t t = 0; t < r.owned.size(); ++t) r.fill(0, static_cast<int>(t));
  }
}

void Recorder::Impl::sample_weights(Step k, int tid) {
  const Step j = k + 1;  // the weights at t_{k+1}
  for (auto& r : weights) {
    if (!r.schedule.is_sample(j)) continue;
    const std::uint64_t row = r.schedule.rows_through(j) - 1 - r.rows.rows_written;
    if (row >= r.rows.pending_rows || static_cast<std::size_t>(tid) >= r.owned.size()) continue;
    // Every thread synchronizes all its synapses, recorded or not, so what recording does to the
    // rule's bookkeeping is the same for any thread count.
    r.proj->synchronize(tid, j);
    r.fill(row, tid);
  }
}

void Recorder::Impl::sample_modulators(Step to) {
  for (auto& r : modulators) {
    if (r.snap_size > 0 && to >= r.next_snapshot) {
      const Modulator::FieldView v = r.mod->field_view();
      for (double c : v.values) r.snap_pending.push_back(static_cast<float>(c));
      r.snap_times.push_back(static_cast<double>(to) * dt);
      const auto every = std::max<Step>(1, static_cast<Step>(std::llround(r.snapshot_interval / dt)));
      while (r.next_snapshot <= to) r.next_snapshot += every;
    }
    const std::uint64_t total = r.schedule.rows_through(to);
    if (total <= r.rows_sampled) continue;
    r.rows.reserve_through(total);
    const Modulator& mod = *r.mod;
    const Step wb = mod.window_begin();
    const Step we = mod.window_end();
    const std::size_t columns = r.probe_ids.empty() ? 1 : r.probe_ids.size();
    for (std::uint64_t i = r.rows_sampled; i < total; ++i) {
      const Step j = r.schedule.step_of_row(i);
      float* row = r.rows.row(i - r.rows.rows_written);
      for (std::size_t c = 0; c < columns; ++c) {
        const auto piece = [&](Step k) -> const LevelPiece& {
          return r.probe_ids.empty() ? mod.piece(k) : mod.probe_piece(k, r.probe_ids[c]);
        };
        double v = std::numeric_limits<double>::quiet_NaN();  // not covered by this window (cannot happen)
        if (j > wb && j <= we)
          v = piece(j - 1).at(dt);  // end of step j - 1
        else if (j == wb && j < we)
          v = piece(j).at(0.0);  // the first row of the run: no step before it
        row[c] = static_cast<float>(v);
      }
    }
    r.rows_sampled = total;
  }
}

// ---------------------------------------------------------------------------------------------
// Final snapshots

void Recorder::Impl::write_snapshots() {
  if (snapshots.empty()) return;
  const Step now = sim->now();
  h5::Lock lock;
  for (auto& s : snapshots) {
    if (s.written) continue;
    Projection& p = *s.proj;
    synchronize_all(p, now);
    const auto syn = p.synapses();
    const std::size_t n = syn.size();
    std::vector<std::uint64_t> src(n), tgt(n);
    std::vector<double> w(n), d(n);
    for (std::size_t i = 0; i < n; ++i) {
      src[i] = syn[i].source;
      tgt[i] = syn[i].target;
      w[i] = syn[i].weight;
      d[i] = static_cast<double>(syn[i].delay) * dt;
    }
    h5::GroupId g = weights_group(file.id(), p);
    h5::Dataset::create_filled(g.get(), "final/source_ids", src);
    h5::Dataset::create_filled(g.get(), "final/target_ids", tgt);
    h5::Dataset dw = h5::Dataset::create_filled(g.get(), "final/weights", w);
    h5::set_attr(dw.id(), "units", p.target().ports()[static_cast<std::size_t>(p.port())].units);
    h5::Dataset dd = h5::Dataset::create_filled(g.get(), "final/delays", d);
    h5::set_attr(dd.id(), "units", "ms");
    h5::GroupId fg = h5::open_group(g.get(), "final");
    h5::set_attr(fg.get(), "time", static_cast<double>(now) * dt);
    s.written = true;
  }
}

}  // namespace nmsim::io
