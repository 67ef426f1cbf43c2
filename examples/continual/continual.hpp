#pragma once
// Split Fashion-MNIST with a reward-modulated spiking readout and cholinergic context gating
// (examples/continual/README.md has the design and its rationale). Everything here builds a
// network with the library's C++ API and runs it trial by trial; learning happens only inside
// the engine (stdp_eligibility with a well-mixed DA third factor).
//
//   input   LIF (delta synapses), one neuron per pooled pixel; a PixelPoisson stimulus makes
//           neuron i spike in a step with probability 1 - exp(-r_i dt), r_i = rate_max * pixel
//   hidden  LIF, fixed random local receptive fields (input -> hidden, static, +/- weights);
//           hyperpolarised by i_e < 0 and depolarised back by ACh through a receptor on
//           population.hidden.i_bias: a hidden neuron can fire only where ACh is present
//   ACh     a 1-D grid field along the hidden layer (neurons have positions on a line);
//           gated: released each trial in the zone of the current task only;
//           control: released everywhere (same amount per voxel), so every hidden neuron is on
//   out     two pools (A: first class of the task, B: second) with mutual inhibition;
//           hidden -> out is plastic (stdp_eligibility, third factor DA)
//   DA      well-mixed; after each training trial the program releases k (r - rbar):
//           reward prediction error with r = 1 (correct) or 0 and rbar a running mean of the
//           reward for the stimulus class (task, target)
// Decision: winner-take-all of pool spike counts in the stimulus window (ties: a coin from a
// counter-based stream). Task-incremental: the task identity is given (it selects the ACh zone
// in the gated network; the control ignores it), decisions are between the task's two classes.
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
  std::size_t side = 28;        // input image side (pixels)
  std::size_t pool = 2;         // average pooling factor: the input layer has (side/pool)^2 neurons
  double rate_max = 100.0;      // [Hz] rate of a white pixel
  // layers
  std::size_t hidden = 300;
  std::size_t rf = 5;           // receptive field side (pooled pixels)
  double w_in = 200.0;          // [pA] scale of input -> hidden weights (N(w_in_mean, 1) * w_in)
  double w_in_mean = 0.3;
  double hidden_i_e = -600.0;   // [pA] hyperpolarising bias that ACh cancels
  double ach_emax = 600.0;      // [pA] maximal ACh depolarisation (muscarinic, on i_bias)
  double ach_ec50 = 0.2;        // [uM]
  double ach_hill = 2.0;
  std::size_t pool_size = 10;   // readout neurons per pool
  double w_out0 = 10.0;         // [pA] initial hidden -> out weights uniform in [0.5, 1.5] w_out0
  double w_out_max = 40.0;     // [pA]
  double w_inh = -30.0;         // [pA] pool A <-> pool B
  // ACh field (1-D grid along the hidden layer)
  double layer_um = 1000.0;     // hidden neurons at x uniform in [0, layer_um]
  double zone_half_um = 150.0;  // zone of task t: centre (t + 0.5) layer_um / 5 +- zone_half_um
  double ach_pulse = 0.5;       // [uM] raised in the zone's voxels at every trial start
  double ach_tau = 300.0;       // [ms] clearance
  bool gating = true;
  // plasticity and reward
  double eta = 0.04;            // [1/(uM ms)]
  double a_plus = 1.0, a_minus = 0.0, tau_c = 50.0;  // a_minus = 0: the tag is pre-before-post coactivity
  double da_gain = 0.5;         // [uM] per unit reward prediction error
  double da_tau = 20.0;         // [ms]
  double rbar_alpha = 0.05;     // running mean of reward per stimulus class
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
  PixelPoisson(std::string name, nmsim::Population& target, double weight);
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
  nmsim::modulators::WellMixed* da = nullptr;
  nmsim::modulators::GridField* ach = nullptr;
  std::vector<double> hidden_x;  // um
};

Network build(nmsim::Simulation& sim, const Params& p);
/// Factor on the initial and maximal readout weights: layer / zone width when gated (the readout
/// of a gated network receives from that share of the hidden layer), 1 otherwise.
double readout_scale(const Params& p);

/// Drives trials on a built network.
class Runner {
 public:
  Runner(nmsim::Simulation& sim, Network& net, const Params& p);
  /// Switch the context to `task` (ACh zone) and let the field settle.
  void set_context(std::size_t task);
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
  std::uint64_t trials_ = 0;
  std::vector<double> zeros_;
  std::vector<std::uint64_t> hidden_last_;
};

}  // namespace continual
