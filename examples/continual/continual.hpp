#pragma once
// Split Fashion-MNIST with a reward-modulated spiking readout and cholinergic context gating
// (examples/continual/README.md has the design and its rationale). Everything here builds a
// network with the library's C++ API and runs it trial by trial; learning happens only inside
// the engine (stdp_eligibility with a well-mixed DA third factor).
//
//   input   LIF (delta synapses), one neuron per pooled pixel; a PixelPoisson stimulus makes
//           neuron i spike in a step with probability 1 - exp(-r_i dt); r_i is the pixel value
//           scaled per image so that the mean rate over the input is rate_mean (no brightness cue)
//   hidden  LIF, fixed random local receptive fields (input -> hidden, static, +/- weights);
//           ACh sets their input gain (population.hidden.gain, 0 without ACh), or (ach_gain = 0)
//           cancels a hyperpolarising bias on population.hidden.i_bias: a hidden neuron can fire
//           only where ACh is present
//   ACh     a 1-D grid field along the hidden layer (neurons have positions on a line);
//           gated: released each trial in the zone of the current task only;
//           control: released everywhere (same amount per voxel), so every hidden neuron is on
//   ACh_nov well-mixed novelty channel released when a new task starts; sets the readout's
//           learning rate (high at a task's start, decaying as it becomes familiar)
//   out     two pools (A: first class of the task, B: second) with mutual inhibition;
//           hidden -> A and hidden -> B are plastic (stdp_eligibility), third factors DA channels
//           "da" (pool A) and "da_b" (pool B)
//   trial   image for stim_ms: decision = winner-take-all of pool spike counts (with probability
//           `explore` a random choice while training); training only: response window of
//           response_ms, image still on, both pools driven alike so that each readout synapse
//           is tagged in proportion to its presynaptic rate; then the RPE
//           delta = da_gain (r - rbar) (r = 1 if correct else 0, rbar a running mean of the task's
//           reward) is released as +delta on the chosen pool's channel and -delta on the other's
// Task-incremental: the task identity is given (it selects the ACh zone in the gated network; the
// control ignores it), decisions are between the task's two classes.
#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "nmsim/core/rng.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimulus.hpp"
#include "nmsim/models/lif.hpp"
#include "nmsim/modulators/grid_field.hpp"
#include "nmsim/modulators/well_mixed.hpp"

namespace continual {

struct Params {
  // images
  std::size_t side = 28;    // input image side (pixels)
  std::size_t pool = 2;     // average pooling factor: the input layer has (side/pool)^2 neurons
  double rate_max = 100.0;  // [Hz] rate of a white pixel (rate_mean <= 0)
  double rate_mean = 30.0;  // [Hz] if > 0: rates scaled per image so their mean over the input is this
  // layers
  // 900 hidden neurons (~144 per task zone) with the readout's weights, bounds and learning rate
  // scaled by 300 / 900 from the values tuned at 300 (10 / 40 pA, eta 0.3): README, "Measured".
  std::size_t hidden = 900;
  std::size_t rf = 5;   // receptive field side (pooled pixels)
  double w_in = 200.0;  // [pA] scale of input -> hidden weights (N(w_in_mean, 1) * w_in)
  double w_in_mean = 0.3;
  double hidden_i_e = 0.0;  // [pA] bias (ach_gain = 0: hyperpolarising, e.g. -600, that ACh cancels)
  double ach_emax = 600.0;  // [pA] maximal ACh depolarisation (ach_gain = 0: muscarinic, on i_bias)
  double ach_ec50 = 0.2;    // [uM]
  double ach_hill = 2.0;
  // 1: ACh gates the hidden layer's afferent gain instead (population.hidden.gain = Hill(ACh),
  // 0 where there is no ACh: no input, so no spike, whatever the image); hidden_i_e then 0
  double ach_gain = 1.0;
  std::size_t pool_size = 10;  // readout neurons per pool
  double w_out0 = 10.0 / 3.0;  // [pA] initial hidden -> out weights uniform in [0.5, 1.5] w_out0
  double w_out_max = 40.0 / 3.0;  // [pA]
  double w_inh = -30.0;        // [pA] pool A <-> pool B
  // ACh field (1-D grid along the hidden layer)
  double layer_um = 1000.0;    // hidden neurons at x uniform in [0, layer_um]
  double zone_half_um = 80.0;  // zone of task t: centre (t + 0.5) layer_um / 5 +- zone_half_um (gap 40 um)
  double ach_pulse = 1.0;      // [uM] raised in the zone's voxels at every trial start
  double ach_tau = 300.0;      // [ms] clearance
  bool gating = true;
  // plasticity and reward
  double eta = 0.1;                                  // [1/(uM ms)]
  double scale_eta = 1.0;                            // 1: eta x readout_scale in the gated network (see README)
  double a_plus = 1.0, a_minus = 0.0, tau_c = 20.0;  // a_minus = 0: the tag is pre-before-post coactivity
  double da_gain = 0.5;                              // [uM] per unit reward prediction error
  double da_tau = 20.0;                              // [ms]
  double rbar_alpha = 0.05;                          // running mean of reward per stimulus class (0: fixed at 0.5)
  double rbar_class = 0.0;                           // 1: expected reward kept per stimulus class, 0: per task
  // response window (training only), image still on, tau_c << response_ms so that the tags DA
  // meets are those of this window: opponent = 1: both pools driven alike; opponent = 0: the
  // chosen pool driven and the other silenced (efference copy of the choice). 0 = no window
  double response_ms = 50.0;
  double drive_hz = 400.0;  // [Hz] Poisson drive per neuron of the chosen pool
  // [pA] its weight: strong enough that both pools fire near their maximal rate whatever their
  // hidden input (the same post factor for both); opponent = 0: the other pool gets -drive_w
  double drive_w = 1000.0;
  double explore = 0.1;  // probability of a random choice on a training trial
  // opponent readout: hidden -> pool A and hidden -> pool B are separate plastic projections
  // ("readout_a", "readout_b") whose third factors are two DA channels ("da", "da_b"); the RPE is
  // released with + sign on the chosen pool's channel and - sign on the other's, and both pools
  // are driven in the response window (REINFORCE's centred post term, see README); 0 = one
  // projection "readout" and one DA
  double opponent = 1.0;
  // novelty: a well-mixed ACh channel "ach_nov" released once when training of a new task starts
  // (nov_pulse uM, clearance nov_tau) sets the readout's learning rate through a receptor on
  // projection.readout_*.learning_rate: factor = lr_base + nov_emax C / (nov_ec50 + C). High at
  // the start of a task (fast acquisition), it decays towards lr_base as the task becomes familiar
  // (fewer late changes, so less drift of what was learned). nov_pulse = 0: no channel, factor 1
  double nov_pulse = 1.0;    // [uM]
  double nov_tau = 40000.0;  // [ms]
  double nov_ec50 = 1.0;     // [uM]
  double nov_emax = 3.0;     // [1]
  double lr_base = 0.0;      // [1]
  // timing
  double dt = 0.5;
  double stim_ms = 100.0, iti_ms = 150.0, test_iti_ms = 50.0, settle_ms = 1000.0;
  std::size_t tasks = 5;
};

/// Independent Poisson spike trains with one rate per neuron (set between trials). Spike in step k
/// with probability 1 - exp(-r_i dt): a Bernoulli draw from word k mod 4 of the Philox block
/// (counter k / 4, id i, purpose "stimulus/<name>"), so the input does not depend on threads.
class PixelPoisson : public nmsim::Stimulus {
 public:
  PixelPoisson(std::string name, nmsim::Population& target, double weight, const std::string& port = "exc");
  std::string_view kind() const override { return "pixel_poisson"; }
  void prepare(double dt, std::uint64_t seed) override;
  void apply(nmsim::Step k, nmsim::Range owned) override;
  /// Rates (Hz), one per target neuron.
  void set_rates(std::span<const double> rates_hz);

 private:
  double weight_;
  double dt_ = 0.1;
  std::uint64_t seed_ = 0;
  std::uint32_t purpose_;
  int port_ = 0;
  std::vector<double> p_;  // spike probability per step
};

/// Pooled image (values in [0, 1]) from 8-bit pixels.
std::vector<double> pool_image(std::span<const std::uint8_t> pixels, std::size_t side, std::size_t pool);

struct Network {
  nmsim::models::Lif* input = nullptr;
  nmsim::models::Lif* hidden = nullptr;
  nmsim::models::Lif* out = nullptr;
  PixelPoisson* stim = nullptr;
  PixelPoisson* drive = nullptr;     // efference drive of the chosen pool (response window)
  PixelPoisson* suppress = nullptr;  // inhibition of the other pool (response window)
  nmsim::modulators::WellMixed* da = nullptr;
  nmsim::modulators::WellMixed* da_b = nullptr;  // opponent readout only
  nmsim::modulators::GridField* ach = nullptr;
  nmsim::modulators::WellMixed* ach_nov = nullptr;  // novelty channel (nov_pulse > 0)
  std::vector<double> hidden_x;                     // um
};

Network build(nmsim::Simulation& sim, const Params& p);
/// Names of the plastic readout projections ("readout", or "readout_a" and "readout_b").
std::vector<std::string> readout_names(const Params& p);
/// Factor on the initial and maximal readout weights: layer / zone width when gated (the readout
/// of a gated network receives from that share of the hidden layer), 1 otherwise.
double readout_scale(const Params& p);

/// Drives trials on a built network.
class Runner {
 public:
  Runner(nmsim::Simulation& sim, Network& net, const Params& p);
  /// Switch the context to `task` (ACh zone) and let the field settle. `learn`: training of the
  /// task starts now; the first time for a task, the novelty channel is released.
  void set_context(std::size_t task, bool learn = false);
  /// One trial: image (pooled, [0,1]), target pool (0 = A, 1 = B); learning on if `train`.
  /// Returns true if the decision was correct.
  bool trial(std::span<const double> image, int target, bool train);
  std::size_t context() const { return context_; }
  std::uint64_t trials() const { return trials_; }
  /// Spikes per hidden neuron during the last trial's stimulus window.
  const std::vector<std::uint64_t>& last_hidden_counts() const { return hidden_last_; }

 private:
  void release_ach(nmsim::Step at);
  nmsim::Simulation& sim_;
  Network& net_;
  Params p_;
  std::size_t context_ = 0;
  std::vector<double> rbar_;
  std::vector<bool> seen_;
  std::uint64_t trials_ = 0;
  std::vector<double> zeros_, out_zeros_;
  std::vector<std::uint64_t> hidden_last_;
};

}  // namespace continual
