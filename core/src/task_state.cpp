// Task::save_state / restore_state (docs/checkpoint.md): everything the task has learned and
// recorded, as flat arrays; trial records column by column.
#include "nmsim/core/state.hpp"
#include "nmsim/core/task.hpp"

namespace nmsim {

namespace {

void write_map(StateWriter& w, const char* name, const std::map<std::int64_t, std::vector<double>>& m) {
  auto g = w.group(name);
  std::vector<std::int64_t> keys;
  std::vector<double> flat;
  for (const auto& [k, v] : m) {
    keys.push_back(k);
    flat.insert(flat.end(), v.begin(), v.end());
  }
  w.write("keys", keys);
  w.write("values", flat);
}

std::map<std::int64_t, std::vector<double>> read_map(const StateReader& r, const char* name, std::size_t width) {
  auto g = r.group(name);
  const auto keys = r.read<std::int64_t>("keys");
  const auto flat = r.read<double>("values");
  if (flat.size() != keys.size() * width) r.fail("values", "expected one row per key");
  std::map<std::int64_t, std::vector<double>> m;
  for (std::size_t i = 0; i < keys.size(); ++i)
    m[keys[i]] = std::vector<double>(flat.begin() + static_cast<std::ptrdiff_t>(i * width),
                                     flat.begin() + static_cast<std::ptrdiff_t>((i + 1) * width));
  return m;
}

void write_records(StateWriter& w, const char* name, const std::vector<TrialRecord>& rec) {
  auto g = w.group(name);
  std::vector<std::int64_t> index;
  std::vector<std::int32_t> cue, decision, correct_response;
  std::vector<std::uint8_t> correct, reversed;
  std::vector<double> start, reward, value, rpe, counts, released, peak;
  for (const auto& t : rec) {
    index.push_back(t.index);
    cue.push_back(t.cue);
    decision.push_back(t.decision);
    correct_response.push_back(t.correct_response);
    correct.push_back(t.correct ? 1 : 0);
    reversed.push_back(t.reversed ? 1 : 0);
    start.push_back(t.start);
    reward.push_back(t.reward);
    value.push_back(t.value);
    rpe.push_back(t.rpe);
    counts.insert(counts.end(), t.counts.begin(), t.counts.end());
    released.insert(released.end(), t.released.begin(), t.released.end());
    peak.insert(peak.end(), t.peak.begin(), t.peak.end());
  }
  w.write("index", index);
  w.write("cue", cue);
  w.write("decision", decision);
  w.write("correct_response", correct_response);
  w.write("correct", correct);
  w.write("reversed", reversed);
  w.write("start", start);
  w.write("reward", reward);
  w.write("value", value);
  w.write("rpe", rpe);
  w.write("counts", counts);
  w.write("released", released);
  w.write("peak", peak);
}

std::vector<TrialRecord> read_records(const StateReader& r, const char* name, std::size_t n_pools, std::size_t n_mod,
                                      bool has_peak) {
  auto g = r.group(name);
  const auto index = r.read<std::int64_t>("index");
  const std::size_t n = index.size();
  std::vector<std::int32_t> cue(n), decision(n), correct_response(n);
  std::vector<std::uint8_t> correct(n), reversed(n);
  std::vector<double> start(n), reward(n), value(n), rpe(n), counts(n * n_pools), released(n * n_mod);
  r.read_into("cue", cue);
  r.read_into("decision", decision);
  r.read_into("correct_response", correct_response);
  r.read_into("correct", correct);
  r.read_into("reversed", reversed);
  r.read_into("start", start);
  r.read_into("reward", reward);
  r.read_into("value", value);
  r.read_into("rpe", rpe);
  r.read_into("counts", counts);
  r.read_into("released", released);
  std::vector<double> peak(has_peak ? n * n_mod : 0);
  r.read_into("peak", peak);
  std::vector<TrialRecord> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    TrialRecord& t = out[i];
    t.index = index[i];
    t.cue = cue[i];
    t.decision = decision[i];
    t.correct_response = correct_response[i];
    t.correct = correct[i] != 0;
    t.reversed = reversed[i] != 0;
    t.start = start[i];
    t.reward = reward[i];
    t.value = value[i];
    t.rpe = rpe[i];
    t.counts.assign(counts.begin() + static_cast<std::ptrdiff_t>(i * n_pools),
                    counts.begin() + static_cast<std::ptrdiff_t>((i + 1) * n_pools));
    t.released.assign(released.begin() + static_cast<std::ptrdiff_t>(i * n_mod),
                      released.begin() + static_cast<std::ptrdiff_t>((i + 1) * n_mod));
    if (has_peak)
      t.peak.assign(peak.begin() + static_cast<std::ptrdiff_t>(i * n_mod), peak.begin() + static_cast<std::ptrdiff_t>((i + 1) * n_mod));
  }
  return out;
}

std::vector<double> flat_tables(const std::vector<std::vector<double>>& t) {
  std::vector<double> f;
  for (const auto& row : t) f.insert(f.end(), row.begin(), row.end());
  return f;
}

}  // namespace

void Task::save_state(StateWriter& w) const {
  w.write("values", value_);
  w.write("rewards", flat_tables(reward_));
  w.scalar("next_decision", next_decision_);
  write_map(w, "counts", counts_);
  write_map(w, "peaks", peak_acc_);
  write_records(w, "pending", pending_);
  write_records(w, "done", done_);
}

void Task::restore_state(const StateReader& r) {
  r.read_into("values", value_);
  std::vector<double> rewards(flat_tables(reward_).size());
  r.read_into("rewards", rewards);
  const std::size_t n_resp = spec_.responses.size();
  for (std::size_t c = 0; c < reward_.size(); ++c)
    for (std::size_t q = 0; q < n_resp; ++q) reward_[c][q] = rewards[c * n_resp + q];
  next_decision_ = r.scalar<std::int64_t>("next_decision");
  counts_ = read_map(r, "counts", spec_.pools.size());
  peak_acc_ = read_map(r, "peaks", mod_names_.size());
  pending_ = read_records(r, "pending", spec_.pools.size(), mod_names_.size(), false);
  done_ = read_records(r, "done", spec_.pools.size(), mod_names_.size(), true);
}

}  // namespace nmsim
