// /trials: one row per completed trial of the simulation's task, and the task's summary as
// scalar attributes of the group (docs/hdf5.md, "Trials").
#include <string>

#include <fmt/format.h>

#include "recorder_impl.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/state.hpp"

namespace nmsim::io {

namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

h5::Dataset column(hid_t group, const std::string& name, hid_t type, hsize_t width, int deflate, const char* units) {
  h5::Layout l;
  l.dims = width ? std::vector<hsize_t>{0, width} : std::vector<hsize_t>{0};
  l.max_dims = width ? std::vector<hsize_t>{H5S_UNLIMITED, width} : std::vector<hsize_t>{H5S_UNLIMITED};
  l.chunk = width ? std::vector<hsize_t>{256, width} : std::vector<hsize_t>{1024};
  l.deflate = deflate;
  h5::Dataset d = h5::Dataset::create(group, name, type, l);
  if (units) h5::set_attr(d.id(), "units", std::string(units));
  return d;
}

void summary_attrs(hid_t g, const TaskSummary& s) {
  h5::set_attr(g, "n_trials", s.n_trials);
  h5::set_attr(g, "n_pre", s.n_pre);
  h5::set_attr(g, "n_post", s.n_post);
  h5::set_attr(g, "accuracy", s.accuracy);
  h5::set_attr(g, "accuracy_pre", s.accuracy_pre);
  h5::set_attr(g, "accuracy_post", s.accuracy_post);
  h5::set_attr(g, "accuracy_pre_last20", s.accuracy_pre_last20);
  h5::set_attr(g, "hit_rate", s.hit_rate);
  h5::set_attr(g, "false_alarm_rate", s.false_alarm_rate);
  h5::set_attr(g, "d_prime", s.d_prime);
  h5::set_attr(g, "hit_rate_pre", s.hit_rate_pre);
  h5::set_attr(g, "false_alarm_rate_pre", s.false_alarm_rate_pre);
  h5::set_attr(g, "d_prime_pre", s.d_prime_pre);
  h5::set_attr(g, "hit_rate_post", s.hit_rate_post);
  h5::set_attr(g, "false_alarm_rate_post", s.false_alarm_rate_post);
  h5::set_attr(g, "d_prime_post", s.d_prime_post);
  h5::set_attr(g, "trials_to_criterion", s.trials_to_criterion);
  h5::set_attr(g, "trials_to_criterion_pre", s.trials_to_criterion_pre);
  h5::set_attr(g, "perseverative_errors", s.perseverative_errors);
  h5::set_attr(g, "mean_reward", s.mean_reward);
}

const Task* find_task(const Simulation& sim) {
  for (const auto& st : sim.stimuli())
    if (const auto* t = dynamic_cast<const Task*>(st.get())) return t;
  return nullptr;
}
/// The datasets of /trials in the order of TrialsRequest::cols.
std::vector<std::string> column_names(const Task& t) {
  std::vector<std::string> n = {"index", "start", "cue", "decision", "correct", "correct_response",
                                "reversed", "reward", "value", "rpe", "counts"};
  for (const auto& m : t.modulator_names()) {
    n.push_back("peak/" + m);
    n.push_back("released/" + m);
  }
  return n;
}

}  // namespace

void Recorder::Impl::create_trials() {
  trials = {};
  trials.task = find_task(*sim);
  if (!trials.task) return;
  const Task& t = *trials.task;
  const TaskSpec& spec = t.spec();
  const int deflate = options.compression;
  trials.group = h5::create_group(file.id(), "trials");
  const hid_t g = trials.group.get();
  h5::set_attr(g, "task", spec.name);
  h5::set_attr(g, "cues", joined([&] {
                 std::vector<std::string> v;
                 for (const auto& c : spec.cues) v.push_back(c.name);
                 return v;
               }()));
  h5::set_attr(g, "responses", joined(spec.responses));
  h5::set_attr(g, "modulators", joined(t.modulator_names()));
  h5::set_attr(g, "reversal_after", static_cast<std::int64_t>(spec.reversal_after));
  h5::set_attr(g, "trial_duration", static_cast<double>(t.trial_steps()) * dt);
  h5::set_attr(g, "criterion_window", static_cast<std::int64_t>(20));
  h5::set_attr(g, "criterion_correct", static_cast<std::int64_t>(16));
  auto& c = trials.cols;
  c.push_back(column(g, "index", H5T_STD_I64LE, 0, deflate, nullptr));
  c.push_back(column(g, "start", H5T_IEEE_F64LE, 0, deflate, "ms"));
  c.push_back(column(g, "cue", H5T_STD_I32LE, 0, deflate, nullptr));
  c.push_back(column(g, "decision", H5T_STD_I32LE, 0, deflate, nullptr));
  c.push_back(column(g, "correct", H5T_STD_I8LE, 0, deflate, nullptr));
  c.push_back(column(g, "correct_response", H5T_STD_I32LE, 0, deflate, nullptr));
  c.push_back(column(g, "reversed", H5T_STD_I8LE, 0, deflate, nullptr));
  c.push_back(column(g, "reward", H5T_IEEE_F64LE, 0, deflate, "1"));
  c.push_back(column(g, "value", H5T_IEEE_F64LE, 0, deflate, "1"));
  c.push_back(column(g, "rpe", H5T_IEEE_F64LE, 0, deflate, "1"));
  c.push_back(column(g, "counts", H5T_IEEE_F64LE, spec.pools.size(), deflate, "spikes"));
  for (std::size_t m = 0; m < t.modulator_names().size(); ++m) {
    const std::string& name = t.modulator_names()[m];
    c.push_back(column(g, "peak/" + name, H5T_IEEE_F64LE, 0, deflate, "uM"));
    bool point = false;
    for (const auto& r : spec.releases) point = point || (r.modulator == name && r.position);
    c.push_back(column(g, "released/" + name, H5T_IEEE_F64LE, 0, deflate, point ? "uM um^3" : "uM"));
  }
  summary_attrs(g, t.summary());
}


void Recorder::Impl::save_trials(StateWriter& w) const {
  if (trials.task) w.scalar("trials/rows", trials.written);
}

void Recorder::Impl::resume_trials(const StateReader& r) {
  trials = {};
  trials.task = find_task(*sim);
  if (!trials.task) return;
  const std::uint64_t rows = r.scalar<std::uint64_t>("trials/rows");
  trials.group = h5::open_group(file.id(), "trials");
  for (const auto& name : column_names(*trials.task)) {
    h5::Dataset d = h5::Dataset::open(trials.group.get(), name);
    std::vector<hsize_t> dims = d.shape();
    if (dims.empty() || dims[0] < rows)
      throw StateError("trials/rows", fmt::format("the output file holds {} rows of /trials/{}, the checkpoint {}",
                                                  dims.empty() ? 0 : dims[0], name, rows));
    if (dims[0] > rows) {
      dims[0] = rows;
      h5::Lock lock;
      h5::check(H5Dset_extent(d.id(), dims.data()), "cut /trials/" + name);
    }
    trials.cols.push_back(std::move(d));
  }
  trials.written = rows;
}

void Recorder::Impl::write_trials() {
  if (!trials.task || !trials.group.valid()) return;
  const auto& rows = trials.task->trials();
  const std::uint64_t n = rows.size();
  if (n > trials.written) {
    const auto first = static_cast<std::size_t>(trials.written);
    const hsize_t count = n - trials.written;
    auto gather = [&](auto get) {
      using T = decltype(get(rows[0]));
      std::vector<T> v;
      for (std::size_t i = first; i < n; ++i) v.push_back(get(rows[i]));
      return v;
    };
    auto& c = trials.cols;
    std::size_t k = 0;
    c[k++].append(gather([](const TrialRecord& r) { return r.index; }).data(), count);
    c[k++].append(gather([](const TrialRecord& r) { return r.start; }).data(), count);
    c[k++].append(gather([](const TrialRecord& r) { return static_cast<std::int32_t>(r.cue); }).data(), count);
    c[k++].append(gather([](const TrialRecord& r) { return static_cast<std::int32_t>(r.decision); }).data(), count);
    c[k++].append(gather([](const TrialRecord& r) { return static_cast<std::int8_t>(r.correct); }).data(), count);
    c[k++].append(gather([](const TrialRecord& r) { return static_cast<std::int32_t>(r.correct_response); }).data(), count);
    c[k++].append(gather([](const TrialRecord& r) { return static_cast<std::int8_t>(r.reversed); }).data(), count);
    c[k++].append(gather([](const TrialRecord& r) { return r.reward; }).data(), count);
    c[k++].append(gather([](const TrialRecord& r) { return r.value; }).data(), count);
    c[k++].append(gather([](const TrialRecord& r) { return r.rpe; }).data(), count);
    std::vector<double> counts;
    for (std::size_t i = first; i < n; ++i) counts.insert(counts.end(), rows[i].counts.begin(), rows[i].counts.end());
    c[k++].append(counts.data(), count);
    for (std::size_t m = 0; m < trials.task->modulator_names().size(); ++m) {
      c[k++].append(gather([m](const TrialRecord& r) { return r.peak[m]; }).data(), count);
      c[k++].append(gather([m](const TrialRecord& r) { return r.released[m]; }).data(), count);
    }
    trials.written = n;
  }
  summary_attrs(trials.group.get(), trials.task->summary());
}

}  // namespace nmsim::io
