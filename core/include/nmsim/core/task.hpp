#pragma once
// A trial-based closed-loop task (docs/models/task.md): the network sees a cue, its response is
// read from its spikes, the outcome releases neuromodulators, and a reward-prediction error is
// kept per cue. The task is both a Stimulus (it drives the cue neurons of a sensory population)
// and an Observer (it reads the decision and schedules the releases at window boundaries), and
// it lives inside the one deterministic simulation: same seed, same trials, any thread count.
//
// Timing (all in steps of dt; t_k = k dt). Trial i starts at S_i = start + i T with
// T = cue + response + outcome + iti. Phases, half-open:
//   cue       [S_i, S_i + cue)                   the cue's input is on
//   response  [S_i + cue, R_i)                   input on if cue_in_response; spikes counted
//   outcome   [R_i, R_i + outcome)               releases at R_i + delay (per release)
//   iti       [R_i + outcome, S_{i+1})
// with R_i = S_i + cue + response. A spike of step k (stamp t_{k+1}) counts for the decision
// when S_i + cue <= k < R_i, i.e. stamps in (t_{S_i+cue}, t_{R_i}]. The decision is made in
// end_window(w1) of the first delivery window with w1 >= R_i (every spike of those steps is known
// then), and releases land at step R_i + delay. A release must not be earlier than w1, which is
// at most R_i + min_delay - 1: prepare() requires delay >= (min_delay - 1) dt for every release,
// so release times are exactly as configured whatever the window length or run() chunks.
//
// Value and reward-prediction error (Rescorla-Wagner / TD(0) at the outcome), per cue s:
//   r = reward[s][decision]   (reward table of the cue; swapped pairwise at the reversal)
//   delta = r - V_s,   V_s <- V_s + alpha delta
// Release amount of each configured release: a = clamp(offset + gain x, min, max), where x is
// the release's signal (rpe: delta, abs_rpe: |delta|, reward: r, one: 1); nothing is released
// when |x| < threshold or a == 0.
//
// Random numbers: the cue order from the stream ("task/<name>/order", block) and the cue input
// from ("task/<name>/input", neuron) at counter step << 32 (Poisson counts), so both depend on
// the seed only.
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nmsim/core/modulator.hpp"
#include "nmsim/core/observer.hpp"
#include "nmsim/core/stimulus.hpp"

namespace nmsim {

struct TaskCue {
  std::string name;
  std::vector<NeuronIndex> neurons;  // neurons of the input population that receive this cue
  double rate = 0.0;                 // [Hz] Poisson rate per neuron while the cue is on
  std::vector<double> reward;        // one per response (TaskSpec::responses), before any reversal
};

struct TaskRelease {
  enum class Signal { rpe, abs_rpe, reward, one };
  std::string modulator;
  Signal signal = Signal::rpe;
  double gain = 1.0;        // [uM per unit signal]
  double offset = 0.0;      // [uM]
  double min = -std::numeric_limits<double>::infinity();  // [uM] clamp of the amount
  double max = std::numeric_limits<double>::infinity();   // [uM]
  double threshold = 0.0;   // release only when |signal| >= threshold
  double delay = 10.0;      // [ms] after the end of the response window (>= (min_delay - 1) dt)
  std::optional<Position> position;  // [um] point release into a spatial field (uM um^3)
};

struct TaskSpec {
  enum class Rule { threshold, wta };
  enum class Order { balanced, random };
  std::string name = "task";
  // Input: Poisson spikes into `input` (port `port`, `weight` per spike).
  std::string input;
  std::string port = "exc";
  double weight = 0.0;
  double background = 0.0;  // [Hz] on every input neuron, always on (0: none)
  std::vector<TaskCue> cues;
  Order order = Order::balanced;  // balanced: every block of n_cues trials shows each cue once
  // Timing [ms], multiples of dt.
  double start = 0.0, cue = 0.0, response = 200.0, outcome = 200.0, iti = 500.0;
  bool cue_in_response = true;
  std::int64_t trials = 100;
  // Decision: responses[0] is the "go" / first response.
  Rule rule = Rule::threshold;
  std::string readout;                           // population whose spikes decide
  std::vector<std::vector<NeuronIndex>> pools;   // threshold: one pool (empty = all); wta: one per response
  std::vector<std::string> responses = {"go", "nogo"};
  double threshold = 1.0;  // threshold: spikes for responses[0]; wta: least spikes of the winner
  int default_response = 1;  // wta: chosen on ties or below threshold (-1: none)
  // Value learning: one value per cue (V_s, "cue") or per cue and response (Q(s, a),
  // "cue_response": the value of the decision taken).
  enum class Value { cue, cue_response };
  Value value = Value::cue;
  double alpha = 0.1;
  double initial_value = 0.0;
  // Reversal: after `reversal_after` trials (0 = never) the reward tables of each pair swap.
  std::int64_t reversal_after = 0;
  std::vector<std::pair<int, int>> reversal_swap;  // cue indices; empty with 2 cues: {0, 1}
  std::vector<TaskRelease> releases;
};

/// One completed trial (the row of /trials).
struct TrialRecord {
  std::int64_t index = 0;
  double start = 0.0;          // [ms]
  int cue = 0;                 // index into TaskSpec::cues
  int decision = -1;           // index into responses (-1: none)
  std::vector<double> counts;  // spikes per pool in the response window
  bool correct = false;        // the decision has the cue's highest reward
  int correct_response = -1;   // the response with the cue's highest reward (this trial's table)
  bool reversed = false;       // after the reversal
  double reward = 0.0;
  double value = 0.0;          // V_s (or Q(s, decision)) before the update
  double rpe = 0.0;
  std::vector<double> released;  // [uM or uM um^3] per modulator of the simulation
  std::vector<double> peak;      // [uM] per modulator: highest level over the trial
};

/// Summary statistics of the trials done so far (docs/models/task.md, "Summary").
struct TaskSummary {
  std::int64_t n_trials = 0, n_pre = 0, n_post = 0;
  double accuracy = NAN, accuracy_pre = NAN, accuracy_post = NAN;
  double accuracy_pre_last20 = NAN;  // last 20 trials before the reversal (or of the run)
  double hit_rate = NAN, false_alarm_rate = NAN, d_prime = NAN;
  double hit_rate_pre = NAN, false_alarm_rate_pre = NAN, d_prime_pre = NAN;
  double hit_rate_post = NAN, false_alarm_rate_post = NAN, d_prime_post = NAN;
  double trials_to_criterion = NAN;      // after the reversal (or from the start without one)
  double trials_to_criterion_pre = NAN;  // from the start
  std::int64_t perseverative_errors = 0;
  double mean_reward = NAN;
};

class Task : public Stimulus, public Observer {
 public:
  /// Checks the spec against the simulation (ConfigError with keys "task.<name>.<key>") and
  /// adds itself to `sim` as an observer. Add it as a stimulus with sim.add(std::move(task)).
  Task(Simulation& sim, TaskSpec spec);
  const TaskSpec& spec() const { return spec_; }

  // Stimulus
  std::string_view kind() const override { return "task"; }
  void prepare(double dt, std::uint64_t seed) override;
  void apply(Step k, Range owned) override;
  /// Checkpoint: values, reward tables, spikes counted and peaks of trials under way, and every
  /// trial record so far (the summary needs them all). The schedule is rebuilt from the seed.
  void save_state(StateWriter& w) const override;
  void restore_state(const StateReader& r) override;
  // Observer
  void prepare(const Simulation& sim) override;
  void begin_window(Step from, Step to) override;
  void on_spikes(const std::vector<Spike>& spikes) override;
  void end_window(Step to) override;

  /// Trials completed so far (the decision made and the trial's last step simulated).
  const std::vector<TrialRecord>& trials() const { return done_; }
  /// Names of the modulators, the order of TrialRecord::released and ::peak.
  const std::vector<std::string>& modulator_names() const { return mod_names_; }
  /// Cue shown in trial i (the schedule is fixed by the seed).
  int cue_of(std::int64_t trial) const;
  /// Values now: V_s at [s] ("cue"), or Q(s, a) at [s * (n_responses + 1) + a] with a = n_responses
  /// for no decision ("cue_response").
  const std::vector<double>& values() const { return value_; }
  TaskSummary summary() const;

  // Timing in steps (valid after prepare).
  Step trial_steps() const { return trial_steps_; }
  Step trial_start(std::int64_t i) const { return start_steps_ + i * trial_steps_; }
  Step response_begin(std::int64_t i) const { return trial_start(i) + cue_steps_; }
  Step response_end(std::int64_t i) const { return response_begin(i) + response_steps_; }
  /// Cue whose input is on at step k (-1: none).
  int active_cue(Step k) const;

 private:
  void decide(std::int64_t i, Step now);
  std::size_t value_index(int cue, int decision) const;
  Simulation* sim_;
  TaskSpec spec_;
  std::uint32_t readout_pop_ = 0;
  double dt_ = 0.1;
  std::uint64_t seed_ = 0;
  int port_ = 0;
  bool pulse_ = false;
  Step start_steps_ = 0, cue_steps_ = 0, response_steps_ = 0, outcome_steps_ = 0, trial_steps_ = 1;
  std::vector<Step> delay_steps_;       // per release
  std::vector<int> release_mod_;        // per release: modulator index in mod_names_
  std::vector<int> peak_probe_;         // per modulator: probe index for peaks (-1: pool piece)
  std::vector<std::string> mod_names_;
  std::vector<int> order_;              // cue per trial
  std::vector<double> lambda_;          // per cue: expected count per step (background + rate)
  double lambda_bg_ = 0.0;
  std::vector<std::vector<std::uint8_t>> member_;  // per cue: 1 for the cue's input neurons
  std::vector<std::int32_t> pool_of_;   // per readout neuron: pool index (-1: none)
  std::vector<double> value_;
  std::vector<std::vector<double>> reward_;  // current tables (after reversal swaps)
  std::int64_t next_decision_ = 0;                       // first trial not yet decided
  std::map<std::int64_t, std::vector<double>> counts_;   // per trial: spikes per pool so far
  std::map<std::int64_t, std::vector<double>> peak_acc_; // per trial: running peak per modulator
  std::vector<TrialRecord> pending_;                     // decided, trial not over yet
  std::vector<TrialRecord> done_;
  Step window_from_ = 0;
};

}  // namespace nmsim
