#pragma once
// The simulation: owns populations, projections, stimuli; runs the step loop.
//
// Step loop (one OpenMP parallel region per run() call; docs/step_order.md):
//   for each delivery window of at most min_delay steps [w0, w1):
//     modulators.advance(w0, w1), plastic prepare_window, observers.begin_window
//       (one thread: before the parallel region for the first window, else in the exchange
//        section of the window before)
//     plastic projections begin_window                         (every thread)
//     for k in [w0, w1):                                       (every thread, owned neurons)
//       stimuli apply inputs for step k
//       for each population:
//         plastic projections into it: before_update (synaptic events reaching synapses now)
//         it advances its owned range t_k -> t_{k+1}, collecting spikes
//         plastic projections into it: after_update (its spikes of this step)
//       consumed input slots and i_ext are cleared
//       observers sample state at t_{k+1}
//     barrier
//     spikes of all threads merged and sorted by (step, population, neuron);
//       spike counts, modulators.on_spikes, observers.on_spikes, observers.end_window (one thread)
//     each thread pushes every spike through its own synapses into its targets' rings, one
//       emission step at a time (order: step, projection, neuron), so the order of summation
//       does not depend on where windows (and run() chunks) begin and end
// A spike of step k with delay d >= min_delay arrives at step k+1+d >= w1 + 1, so no input is
// needed before the window that follows: one exchange per window is exact.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nmsim/core/modulation.hpp"
#include "nmsim/core/modulator.hpp"
#include "nmsim/core/observer.hpp"
#include "nmsim/core/population.hpp"
#include "nmsim/core/projection.hpp"
#include "nmsim/core/state.hpp"
#include "nmsim/core/stimulus.hpp"

namespace nmsim {

struct SimulationOptions {
  double dt = 0.1;           // ms
  std::uint64_t seed = 1;    // keys every random stream
  int threads = 0;           // 0 = all cores (OMP_NUM_THREADS if set)
};

class Simulation {
 public:
  explicit Simulation(SimulationOptions options = {});
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  /// Add a population; names must be unique. Returns a reference that stays valid.
  Population& add(std::unique_ptr<Population> population);
  template <class P, class... Args>
  P& add_population(Args&&... args) {
    return static_cast<P&>(add(std::make_unique<P>(std::forward<Args>(args)...)));
  }
  /// Connect two populations. Validates the spec (throws ConfigError); builds at the first run.
  Projection& connect(ProjectionSpec spec);
  Stimulus& add(std::unique_ptr<Stimulus> stimulus);
  template <class S, class... Args>
  S& add_stimulus(Args&&... args) {
    return static_cast<S&>(add(std::make_unique<S>(std::forward<Args>(args)...)));
  }
  /// Modulators (well-mixed pools, fields) are advanced one window ahead of the neurons.
  Modulator& add(std::unique_ptr<Modulator> modulator);
  template <class M, class... Args>
  M& add_modulator(Args&&... args) {
    return static_cast<M&>(add(std::make_unique<M>(std::forward<Args>(args)...)));
  }
  Modulator& modulator(const std::string& name) const;
  bool has_modulator(const std::string& name) const;
  const std::vector<std::unique_ptr<Modulator>>& modulators() const { return modulators_; }
  /// Gate a target by modulators through receptors (core/modulation.hpp). `target` is
  /// "population.<name>.gain" (factor on all input arriving on its ports), ".v_th" (mV added to
  /// the threshold), ".i_bias" (pA added to the input current), ".adaptation" (factor on the
  /// spike-triggered adaptation increment), or "projection.<name>.<aspect>"
  /// (aspects the projection supports: "gain" always; "learning_rate", "third_factor", "a_plus",
  /// "a_minus" for plasticity rules that have them). Spatial modulators are probed at the target
  /// neurons' positions. `key` names the request in errors. Before the first run.
  ModulationMap& add_modulation(ModulationMap map, const std::string& key = "modulation");
  /// Observers are not owned; they must outlive the runs they watch.
  void add_observer(Observer& observer);

  /// Build the network (connectivity, buffers, initial state). Called by the first run().
  void prepare();
  bool prepared() const { return prepared_; }
  /// Advance by `duration` ms (rounded to whole steps; must be a multiple of dt).
  void run(double duration);
  void run_steps(Step n);
  /// Ask a running simulation to stop at the end of the current window (signal-safe flag).
  /// Tell observers the run is over (completed = false after an error or interrupt).
  void finish(bool completed);
  void request_stop() { stop_requested_ = 1; }
  bool stopped() const { return stop_requested_ != 0; }

  /// Checkpoint (docs/checkpoint.md): write the complete dynamic state between runs (prepares
  /// first if needed): step, counters, every population (state, input rings), projection
  /// (weights, plasticity state, queued events), stimulus and modulator. Thread-independent.
  /// StateError when a component cannot be checkpointed. Observers save their own state.
  void save_state(StateWriter& w) const;
  /// Restore what save_state wrote into a simulation built the same way (same config and seed,
  /// any thread count), between runs; prepares first if needed. StateError on any mismatch.
  void restore_state(const StateReader& r);

  double dt() const { return options_.dt; }
  std::uint64_t seed() const { return options_.seed; }
  int threads() const { return threads_; }
  Step now() const { return now_; }  // steps done
  double time() const { return static_cast<double>(now_) * options_.dt; }
  DelaySteps min_delay() const { return min_delay_; }

  const std::vector<std::unique_ptr<Population>>& populations() const { return populations_; }
  const std::vector<std::unique_ptr<Projection>>& projections() const { return projections_; }
  const std::vector<std::unique_ptr<Stimulus>>& stimuli() const { return stimuli_; }
  Population& population(const std::string& name) const;
  Projection& projection(const std::string& name) const;
  Stimulus& stimulus(const std::string& name) const;
  bool has_population(const std::string& name) const;
  /// Range of neurons of population `pop` owned by thread `tid`.
  Range owned(std::uint32_t pop, int tid) const;

  /// Spikes emitted so far, per neuron (cumulative over runs).
  const std::vector<std::uint64_t>& spike_counts(const std::string& population) const;
  std::uint64_t total_spikes() const { return total_spikes_; }
  /// Synaptic events delivered so far (spikes x outgoing synapses).
  std::uint64_t synaptic_events() const { return synaptic_events_; }

 private:
  void run_window_loop(Step end);
  void run_lean(Step end);
  struct PopulationGating;
  void apply_gating(PopulationGating& g, Step k, Range r, std::size_t n_ports, InputView& in);
  SimulationOptions options_;
  int threads_ = 1;
  bool prepared_ = false;
  Step now_ = 0;
  DelaySteps min_delay_ = 1;
  volatile int stop_requested_ = 0;
  std::vector<std::unique_ptr<Population>> populations_;
  std::vector<std::unique_ptr<Projection>> projections_;
  std::vector<std::unique_ptr<Stimulus>> stimuli_;
  std::vector<std::unique_ptr<Modulator>> modulators_;
  std::vector<std::unique_ptr<ModulationMap>> modulations_;
  struct PopulationGating {
    const ModulationMap* gain = nullptr;
    const ModulationMap* v_th = nullptr;
    const ModulationMap* i_bias = nullptr;
    const ModulationMap* adaptation = nullptr;
    std::vector<double> shift;  // v_th shift per neuron, written by the owning thread
    std::vector<double> adapt;  // adaptation factor per neuron, likewise
  };
  std::vector<PopulationGating> gating_;
  std::vector<Observer*> observers_;
  std::vector<std::vector<std::uint64_t>> spike_counts_;
  std::vector<std::vector<std::uint64_t>> out_degree_;  // per population, per neuron: synapses out
  std::uint64_t total_spikes_ = 0;
  std::uint64_t synaptic_events_ = 0;
};

}  // namespace nmsim
