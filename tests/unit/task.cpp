// The task state machine: phase timing, decision rules, value / RPE updates, reversal, and the
// modulator releases (amounts and times exactly as configured).
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/core/task.hpp"
#include "nmsim/models/lif.hpp"
#include "nmsim/modulators/well_mixed.hpp"

using namespace nmsim;

namespace {

// Cue A drives neurons 0-3 of "in" hard enough (delta synapses, 20 mV per input spike, 1 kHz)
// that they fire in every response window; cue B drives nothing. "in" is also the readout, so
// the threshold rule answers "go" to A and "nogo" to B.
struct Rig {
  Simulation sim{{0.1, 7, 1}};
  modulators::WellMixed* da = nullptr;
  modulators::WellMixed* na = nullptr;
  Task* task = nullptr;
  explicit Rig(int threads = 1, TaskSpec spec = base_spec()) : sim({0.1, 7, threads}) {
    models::LifParams p;
    p.synapse = models::LifParams::Synapse::delta;
    sim.add_population<models::Lif>("in", 8, p);
    modulators::WellMixedParams m;
    m.tau = 1e12;  // practically constant between releases: every release is a clean step
    da = &sim.add_modulator<modulators::WellMixed>("DA", m);
    na = &sim.add_modulator<modulators::WellMixed>("NA", m);
    auto t = std::make_unique<Task>(sim, std::move(spec));
    task = t.get();
    sim.add(std::move(t));
  }
  static TaskSpec base_spec() {
    TaskSpec s;
    s.name = "t";
    s.input = "in";
    s.weight = 20.0;
    s.start = 5.0;
    s.cue = 10.0;
    s.response = 20.0;
    s.outcome = 15.0;
    s.iti = 5.0;
    s.trials = 12;
    s.cues = {{"A", {0, 1, 2, 3}, 1000.0, {1.0, 0.0}}, {"B", {4, 5}, 0.0, {-1.0, 0.0}}};
    s.readout = "in";
    s.pools = {{0, 1, 2, 3, 4, 5, 6, 7}};
    s.threshold = 3;
    s.alpha = 0.25;
    s.reversal_after = 6;
    TaskRelease da;
    da.modulator = "DA";
    da.gain = 0.5;
    da.offset = 0.1;
    da.min = -0.3;
    da.delay = 2.0;
    TaskRelease na;
    na.modulator = "NA";
    na.signal = TaskRelease::Signal::abs_rpe;
    na.threshold = 0.6;
    na.delay = 7.5;
    s.releases = {da, na};
    return s;
  }
};

// Records the steps at which a well-mixed level jumps, and by how much.
struct JumpLog : Observer {
  const Modulator* m;
  std::map<Step, double> jumps;
  double last = 0.0;
  explicit JumpLog(const Modulator& mod) : m(&mod) {}
  void end_window(Step to) override {
    for (Step k = m->window_begin(); k < to; ++k) {
      const double v = m->piece(k).at(0.0);
      if (v != last) jumps[k] = v - last;
      last = m->piece(k).at(0.1);
    }
  }
};

}  // namespace

TEST_CASE("task: phase timing in steps") {
  Rig r;
  r.sim.prepare();
  const Task& t = *r.task;
  CHECK(t.trial_steps() == 500);  // 10 + 20 + 15 + 5 ms at dt = 0.1
  CHECK(t.trial_start(0) == 50);
  CHECK(t.response_begin(2) == 50 + 1000 + 100);
  CHECK(t.response_end(2) == 50 + 1000 + 300);
  for (std::int64_t i = 0; i < 12; ++i) {
    const Step s = t.trial_start(i);
    CHECK(t.active_cue(s - 1) == -1);
    CHECK(t.active_cue(s) == t.cue_of(i));             // cue phase
    CHECK(t.active_cue(s + 299) == t.cue_of(i));       // last response step (cue_in_response)
    CHECK(t.active_cue(s + 300) == -1);                // outcome
  }
  CHECK(t.active_cue(t.trial_start(12)) == -1);  // after the last trial
}

TEST_CASE("task: balanced order shows each cue once per block, fixed by the seed") {
  Rig a, b;
  a.sim.prepare();
  b.sim.prepare();
  int n_a = 0;
  for (std::int64_t blk = 0; blk < 6; ++blk) {
    CHECK(a.task->cue_of(2 * blk) != a.task->cue_of(2 * blk + 1));
    n_a += a.task->cue_of(2 * blk) == 0;
  }
  for (std::int64_t i = 0; i < 12; ++i) CHECK(a.task->cue_of(i) == b.task->cue_of(i));
  CHECK(n_a > 0);
  CHECK(n_a < 6);  // seed 7 mixes the order (not always A first)
}

TEST_CASE("task: decisions, values, RPE, reversal and releases exactly as configured") {
  Rig r;
  JumpLog da_log(*r.da), na_log(*r.na);
  r.sim.add_observer(da_log);
  r.sim.add_observer(na_log);
  r.sim.run(5.0 + 12 * 50.0);
  const Task& t = *r.task;
  const auto& rows = t.trials();
  REQUIRE(rows.size() == 12);
  std::vector<double> v = {0.0, 0.0};
  std::map<Step, double> da_expect, na_expect;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const TrialRecord& row = rows[i];
    INFO("trial " << i);
    CHECK(row.index == static_cast<std::int64_t>(i));
    CHECK(row.start == Approx(5.0 + 50.0 * static_cast<double>(i)));
    CHECK(row.cue == t.cue_of(static_cast<std::int64_t>(i)));
    // A drives the readout far above 3 spikes; B leaves it silent.
    CHECK(row.decision == (row.cue == 0 ? 0 : 1));
    if (row.cue == 0) CHECK(row.counts[0] >= 10);
    if (row.cue == 1) CHECK(row.counts[0] == 0);
    const bool reversed = i >= 6;
    CHECK(row.reversed == reversed);
    // Reward tables: A = {go: 1, nogo: 0}, B = {go: -1, nogo: 0}; swapped from trial 6 on.
    const int table = reversed ? 1 - row.cue : row.cue;
    const double expect_r = row.decision == 1 ? 0.0 : (table == 0 ? 1.0 : -1.0);
    CHECK(row.reward == expect_r);
    CHECK(row.correct_response == (table == 0 ? 0 : 1));
    CHECK(row.correct == (row.decision == row.correct_response));
    const auto c = static_cast<std::size_t>(row.cue);
    CHECK(row.value == v[c]);
    CHECK(row.rpe == expect_r - v[c]);
    v[c] += 0.25 * (expect_r - v[c]);
    // DA: clamp(0.1 + 0.5 rpe, -0.3, inf) at R + 2 ms; NA: |rpe| if |rpe| >= 0.6, at R + 7.5 ms.
    const Step R = t.response_end(static_cast<std::int64_t>(i));
    const double da = std::max(0.1 + 0.5 * row.rpe, -0.3);
    CHECK(row.released[0] == da);
    da_expect[R + 20] = da;
    const double na = std::fabs(row.rpe) >= 0.6 ? std::fabs(row.rpe) : 0.0;
    CHECK(row.released[1] == na);
    if (na != 0.0) na_expect[R + 75] = na;
  }
  CHECK(t.values()[0] == v[0]);
  CHECK(t.values()[1] == v[1]);
  REQUIRE(da_log.jumps.size() == da_expect.size());
  for (const auto& [k, a] : da_expect) {
    INFO("DA release at step " << k);
    REQUIRE(da_log.jumps.count(k) == 1);
    CHECK(da_log.jumps[k] == Approx(a).margin(1e-12));
  }
  REQUIRE(na_log.jumps.size() == na_expect.size());
  for (const auto& [k, a] : na_expect) {
    REQUIRE(na_log.jumps.count(k) == 1);
    CHECK(na_log.jumps[k] == Approx(a).margin(1e-12));
  }
  // Peaks: the level just after the trial's release (levels never decay here).
  double da_level = 0.0;
  for (const auto& row : rows) {
    da_level += row.released[0];
    CHECK(row.peak[0] == Approx(std::max(da_level, da_level - row.released[0])).margin(1e-12));
  }
}

TEST_CASE("task: winner-take-all between pools, ties and the default response") {
  TaskSpec s = Rig::base_spec();
  s.rule = TaskSpec::Rule::wta;
  s.pools = {{0, 1}, {4, 5}};  // response 0 <- A's neurons; response 1 <- B's (silent)
  s.threshold = 2;
  s.default_response = -1;
  s.releases.clear();
  Rig r(1, s);
  r.sim.run(5.0 + 12 * 50.0);
  for (const auto& row : r.task->trials()) {
    REQUIRE(row.counts.size() == 2);
    if (row.cue == 0) {
      CHECK(row.decision == 0);  // pool 0 wins
    } else {
      CHECK(row.counts[0] == 0);
      CHECK(row.counts[1] == 0);
      CHECK(row.decision == -1);  // a tie at zero: no response, reward 0, incorrect
      CHECK(row.reward == 0.0);
      CHECK(!row.correct);
    }
  }
}

TEST_CASE("task: summary statistics from the trial rows") {
  Rig r;
  r.sim.run(5.0 + 12 * 50.0);
  const TaskSummary s = r.task->summary();
  // Go to A and nogo to B always: before the reversal all correct, after it all wrong.
  CHECK(s.n_trials == 12);
  CHECK(s.n_pre == 6);
  CHECK(s.n_post == 6);
  CHECK(s.accuracy_pre == 1.0);
  CHECK(s.accuracy_post == 0.0);
  CHECK(s.hit_rate_pre == 1.0);
  CHECK(s.false_alarm_rate_pre == 0.0);
  CHECK(s.hit_rate_post == 0.0);
  CHECK(s.false_alarm_rate_post == 1.0);
  // d' with the log-linear correction: Z(3.5/4) - Z(0.5/4) for 3 go and 3 nogo trials.
  int go_pre = 0;
  for (std::int64_t i = 0; i < 6; ++i) go_pre += r.task->cue_of(i) == 0;
  const auto z = [](double p) {  // Z by Newton from the exact normal CDF
    double x = 0;
    for (int i = 0; i < 60; ++i) x -= (0.5 * std::erfc(-x / std::sqrt(2.0)) - p) / (std::exp(-x * x / 2) / std::sqrt(2 * M_PI));
    return x;
  };
  CHECK(s.d_prime_pre == Approx(z((go_pre + 0.5) / (go_pre + 1)) - z(0.5 / (6 - go_pre + 1))).epsilon(1e-9));
  CHECK(std::isnan(s.trials_to_criterion));      // 12 trials: never 20 in a row
  CHECK(s.perseverative_errors == 6);            // every error after the reversal repeats the old rule
}

TEST_CASE("task: a release earlier than one delivery window after the decision is refused") {
  TaskSpec s = Rig::base_spec();
  s.releases[0].delay = 0.0;
  // A projection with a 1 ms delay makes the delivery window 10 steps: delays >= 0.9 ms work.
  Rig r(1, s);
  ConnectSpec c;
  ProjectionSpec p{"loop", "in", "in", "exc", c, Distribution::constant(0.0), Distribution::constant(1.0)};
  p.connect.rule = ConnectSpec::Rule::fixed_indegree;
  p.connect.k = 1;
  r.sim.connect(p);
  try {
    r.sim.prepare();
    FAIL("accepted");
  } catch (const ConfigError& e) {
    CHECK(e.key() == "task.t.releases[0].delay");
    CHECK_THAT(e.detail(), Catch::Contains(">= 0.9 ms"));
  }
}

TEST_CASE("task: bad specs are ConfigErrors naming the key") {
  auto key_of = [](auto edit) {
    TaskSpec s = Rig::base_spec();
    edit(s);
    try {
      Rig r(1, s);
      r.sim.prepare();
    } catch (const ConfigError& e) {
      return e.key();
    }
    return std::string("accepted");
  };
  CHECK(key_of([](TaskSpec& s) { s.input = "nope"; }) == "task.t.input");
  CHECK(key_of([](TaskSpec& s) { s.readout = "nope"; }) == "task.t.decision.population");
  CHECK(key_of([](TaskSpec& s) { s.cues[0].reward = {1.0}; }) == "task.t.cues.A.reward");
  CHECK(key_of([](TaskSpec& s) { s.cues[1].neurons = {8}; }) == "task.t.cues.B.neurons");
  CHECK(key_of([](TaskSpec& s) { s.response = 0.05; }) == "task.t.response");
  CHECK(key_of([](TaskSpec& s) { s.releases[1].modulator = "5HT"; }) == "task.t.releases[1].modulator");
  CHECK(key_of([](TaskSpec& s) { s.releases[1].position = Position{0, 0, 0}; }) == "task.t.releases[1].position");
  CHECK(key_of([](TaskSpec& s) { s.pools = {{0}, {1}}; }) == "task.t.decision.pools");
  CHECK(key_of([](TaskSpec&) {}) == "accepted");
  // After the first run, or under a taken name, nothing is registered.
  Rig r;
  r.sim.run(1.0);
  CHECK_THROWS_AS(Task(r.sim, Rig::base_spec()), ConfigError);
  Simulation fresh({0.1, 1, 1});
  fresh.add_population<models::Lif>("in", 8, models::LifParams{});
  fresh.add_stimulus<PoissonInput>("t", fresh.population("in"), "exc", 10.0, 1.0);
  CHECK_THROWS_AS(Task(fresh, Rig::base_spec()), ConfigError);
  fresh.run(1.0);  // no dangling observer
}

TEST_CASE("task: values per cue and response (Q) when value = cue_response") {
  TaskSpec s = Rig::base_spec();
  s.value = TaskSpec::Value::cue_response;
  Rig r(1, s);
  r.sim.run(5.0 + 12 * 50.0);
  std::vector<double> q(2 * 3, 0.0);
  for (const auto& row : r.task->trials()) {
    const auto k = static_cast<std::size_t>(row.cue * 3 + row.decision);
    CHECK(row.value == q[k]);
    CHECK(row.rpe == row.reward - q[k]);
    q[k] += 0.25 * row.rpe;
  }
  CHECK(r.task->values() == q);
}
