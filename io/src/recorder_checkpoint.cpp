// Recorder: checkpoint and resume (docs/checkpoint.md). At a checkpoint the file is flushed, so
// on disk it holds exactly the data up to the checkpoint; the checkpoint keeps those bytes and
// the counts written here. A resumed run rebuilds the file from the bytes, reopens every dataset,
// cuts it to the counts (a no-op unless the file was changed after the checkpoint) and goes on.
#include <fmt/format.h>

#include "h5.hpp"
#include "nmsim/core/error.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/io/recorder.hpp"
#include "recorder_impl.hpp"

namespace nmsim::io {

namespace {

using namespace detail;

// Cut (or check) dimension 0 of `d` to `rows`.
void cut_rows(const h5::Dataset& d, std::uint64_t rows, const std::string& key) {
  std::vector<hsize_t> dims = d.shape();
  if (dims.empty() || dims[0] < rows)
    throw StateError(key, fmt::format("the output file holds {} rows of {}, the checkpoint {}",
                                      dims.empty() ? 0 : dims[0], d.name(), rows));
  if (dims[0] == rows) return;
  dims[0] = rows;
  h5::Lock lock;
  h5::check(H5Dset_extent(d.id(), dims.data()), "cut " + d.name());
}

}  // namespace

void Recorder::save_state(StateWriter& w) {
  Impl& m = *impl_;
  if (!m.prepared || m.finished) throw RuntimeError("nmsim::io::Recorder::save_state: the recorder is not open");
  m.flush_now();
  w.scalar("now_step", m.now_step);
  w.scalar("last_flush_step", m.last_flush_step);
  for (const auto& s : m.spikes) {
    auto g = w.group("spikes/" + s.population);
    w.scalar("count", static_cast<std::uint64_t>(s.timestamps.shape().at(0)));
  }
  for (const auto& r : m.states) {
    auto g = w.group("state/" + r.population + "/" + r.variable);
    w.scalar("rows", r.rows.rows_written);
    w.scalar("first_step", r.schedule.first_j);
  }
  for (const auto& r : m.weights) {
    auto g = w.group("weights/" + r.projection);
    w.scalar("rows", r.rows.rows_written);
    w.scalar("first_step", r.schedule.first_j);
  }
  for (const auto& r : m.modulators) {
    auto g = w.group("modulator/" + r.modulator);
    w.scalar("rows", r.rows.rows_written);
    w.scalar("rows_sampled", r.rows_sampled);
    w.scalar("first_step", r.schedule.first_j);
    w.scalar("next_snapshot", r.next_snapshot);
    w.scalar("snapshots", static_cast<std::uint64_t>(r.snap_size > 0 ? r.snap_data.shape().at(0) : 0));
  }
  m.save_trials(w);
}

void Recorder::defer_file() {
  Impl& m = *impl_;
  if (m.prepared) throw RuntimeError("nmsim::io::Recorder::defer_file: call it before prepare()");
  m.deferred = true;
}

void Recorder::resume(const StateReader& r) {
  Impl& m = *impl_;
  if (!m.deferred || !m.sim || m.prepared)
    throw RuntimeError("nmsim::io::Recorder::resume: call defer_file(), prepare(), then resume()");
  const auto check_first = [&](const Schedule& s, const std::string& key) {
    if (r.scalar<Step>("first_step") != s.first_j) r.fail("first_step", key + ": the recording schedule differs");
  };
  try {
    // The file of a killed run still carries its SWMR writer's flags: clear them to write again.
    h5::File::clear_write_flags(m.options.file);
    m.file = h5::File::open_swmr_format(m.options.file);
    const hid_t root = m.file.id();
    for (auto& s : m.spikes) {
      auto g = r.group("spikes/" + s.population);
      const auto n = r.scalar<std::uint64_t>("count");
      s.timestamps = h5::Dataset::open(root, "spikes/" + s.population + "/timestamps");
      s.node_ids = h5::Dataset::open(root, "spikes/" + s.population + "/node_ids");
      cut_rows(s.timestamps, n, s.key);
      cut_rows(s.node_ids, n, s.key);
    }
    for (auto& q : m.states) {
      auto g = r.group("state/" + q.population + "/" + q.variable);
      check_first(q.schedule, q.key);
      const std::string base = "report/" + q.population + "/" + q.variable;
      q.rows.data = h5::Dataset::open(root, base + "/data");
      q.rows.time = h5::Dataset::open(root, base + "/mapping/time");
      q.rows.rows_written = r.scalar<std::uint64_t>("rows");
      cut_rows(q.rows.data, q.rows.rows_written, q.key);
    }
    for (auto& q : m.weights) {
      auto g = r.group("weights/" + q.projection);
      check_first(q.schedule, q.key);
      q.rows.data = h5::Dataset::open(root, "weights/" + q.projection + "/data");
      q.rows.time = h5::Dataset::open(root, "weights/" + q.projection + "/mapping/time");
      q.rows.rows_written = r.scalar<std::uint64_t>("rows");
      cut_rows(q.rows.data, q.rows.rows_written, q.key);
    }
    for (auto& q : m.modulators) {
      auto g = r.group("modulator/" + q.modulator);
      check_first(q.schedule, q.key);
      const std::string base = "modulators/" + q.modulator;
      q.rows.data = h5::Dataset::open(root, base + "/probes/data");
      q.rows.time = h5::Dataset::open(root, base + "/probes/mapping/time");
      q.rows.rows_written = r.scalar<std::uint64_t>("rows");
      q.rows_sampled = r.scalar<std::uint64_t>("rows_sampled");
      if (q.rows_sampled != q.rows.rows_written) r.fail("rows_sampled", "rows were pending at the checkpoint");
      cut_rows(q.rows.data, q.rows.rows_written, q.key);
      q.next_snapshot = r.scalar<Step>("next_snapshot");
      if (q.snap_size > 0) {
        q.snap_data = h5::Dataset::open(root, base + "/snapshots/data");
        q.snap_time = h5::Dataset::open(root, base + "/snapshots/times");
        const auto n = r.scalar<std::uint64_t>("snapshots");
        cut_rows(q.snap_data, n, q.key);
        cut_rows(q.snap_time, n, q.key);
      }
    }
    m.resume_trials(r);
    m.now_step = r.scalar<Step>("now_step");
    m.last_flush_step = r.scalar<Step>("last_flush_step");
    if (m.now_step != m.sim->now())
      r.fail("now_step",
             fmt::format("the output holds {} steps, the simulation is at step {}", m.now_step, m.sim->now()));
    {
      h5::Lock lock;
      h5::set_attr(root, "status", std::string(m.status.empty() ? "running" : m.status));
      h5::set_attr(root, "threads", static_cast<std::int32_t>(m.sim->threads()));
      h5::set_attr(root, "duration", m.info.duration);
      if (!m.info.config_toml.empty()) {
        h5::check(H5Ldelete(root, "config", H5P_DEFAULT), "replace /config");
        h5::write_string_dataset(root, "config", m.info.config_toml);
      }
    }
    // /summary after a resume: the engine's restored counts run from step 0, as the file does;
    // wall_time counts this process only.
    m.prepare_step = 0;
    m.prepare_clock = std::chrono::steady_clock::now();
    m.prepared = true;
    m.deferred = false;
    m.flush_now();
    // An output file written before nmsim used SWMR (a checkpoint from an older version) has a
    // superblock that cannot take it: it goes on in the earlier mode (durable between bursts only).
    if (m.file.swmr_capable()) m.file.start_swmr();
  } catch (...) {
    m.close_all();
    m.prepared = false;
    throw;
  }
}

}  // namespace nmsim::io
