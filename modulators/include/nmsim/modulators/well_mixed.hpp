#pragma once
// well_mixed: one concentration for the whole tissue (NEST's volume transmitter is this case).
//
//   dC/dt = -(C - baseline) / tau + sum_i q delta(t - t_i - d) + scheduled pulses      (linear)
//   dC/dt = P - vmax C / (km + C) + releases, P = vmax b / (km + b)          (michaelis_menten)
//   releases: a quantum q (uM) per spike of a source population, `delay` d after the spike (with
//   probability p per spike, drawn from the stream ("release/<modulator>/<source>", neuron)),
//   and pulses at given times (reward stimuli, release_at() from programs).
// Linear: between releases C relaxes exponentially to the baseline; the engine's pieces carry that
// exponential exactly (LevelPiece: base = baseline, amp = C(t_k) - baseline, tau).
// Michaelis-Menten (saturable uptake, kinetics.hpp): C is advanced exactly over each step
// (Lambert-W closed form; with a baseline > 0 the production is Strang-split, second order).
// The piece of a step is the exponential towards the baseline through C(t_k) and C(t_{k+1})
// (exact at both ends, O(dt^2) inside); a constant C(t_k) when no such exponential exists.
#include <map>
#include <string>
#include <vector>

#include "nmsim/core/modulator.hpp"
#include "nmsim/core/params.hpp"
#include "nmsim/modulators/kinetics.hpp"

namespace nmsim::modulators {

struct ReleaseSource {
  std::string population;     // spikes of this population release
  double quantum = 1.0;       // [uM] per spike, >= 0
  double delay = 1.0;         // [ms] from spike to release, >= dt
  double probability = 1.0;   // [1] per spike
};

struct WellMixedParams {
  double baseline = 0.0;      // [uM] >= 0, level without release
  enum class Uptake { linear, michaelis_menten };
  Uptake uptake = Uptake::linear;
  double tau = 200.0;         // [ms] > 0, first-order clearance time constant (linear)
  double vmax = 0.0;          // [uM/ms] > 0, saturable uptake capacity (michaelis_menten)
  double km = 1.0;            // [uM] > 0, half-saturation concentration (michaelis_menten)
  double initial = -1.0;      // [uM] C(0); < 0 means the baseline
  std::vector<ReleaseSource> release;
};

class WellMixed : public Modulator {
 public:
  WellMixed(std::string name, WellMixedParams params);
  DelaySteps release_delay() const override;
  void prepare(const Simulation& sim) override;
  void advance(Step from, Step to) override;
  void on_spikes(std::span<const Spike> spikes) override;
  void release_at(Step step, double amount) override;
  /// Concentration, next step and pending releases.
  void save_state(StateWriter& w) const override;
  void restore_state(const StateReader& r) override;
  /// Release `amount` uM at time t (ms) - convenience for programs (t on the dt grid).
  void release_at_time(double t, double amount);
  const WellMixedParams& params() const { return p_; }
  /// Concentration at the start of the next window (uM).
  double current() const { return c_; }

 private:
  WellMixedParams p_;
  double dt_ = 0.1;
  double decay_ = 1.0;         // e^{-dt/tau}
  Kinetics kin_;               // michaelis_menten only
  double c_ = 0.0;             // concentration at t_{next_}
  Step next_ = 0;              // first step not yet advanced
  std::uint64_t seed_ = 0;
  struct Source {
    std::uint32_t population;
    Step delay;
    double quantum, probability;
    std::uint32_t purpose;
  };
  std::vector<Source> sources_;
  std::map<Step, double> pending_;  // arrival step -> amount
};

}  // namespace nmsim::modulators
