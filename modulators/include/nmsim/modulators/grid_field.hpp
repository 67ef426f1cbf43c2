#pragma once
// grid: a neuromodulator concentration field on a 1-D, 2-D or 3-D grid of voxels
// (docs/models/modulator_fields.md has the equations, the numerics and the presets).
//
//   dC/dt = D* lap C + P - C / tau - vmax C / (km + C) + (1 / alpha) sum_releases Q delta(x - x_s) delta(t - t_s)
//   D* = D / lambda^2   (free diffusion coefficient D, tortuosity lambda)
// C is the extracellular concentration (uM); alpha the extracellular volume fraction; a release
// of Q (uM um^3 of substance = 1e-21 mol = 602 molecules) into a voxel of tissue volume V raises
// its concentration by Q / (alpha V). Releases: a quantum per spike of a source population at the
// neuron's position (probability p, from the stream ("release/<modulator>/<source>", neuron) with
// the spike's step as counter, as well_mixed), after a delay >= dt, which bounds the engine's
// window (release_delay()); pulses scheduled by programs: release_at (+ uM everywhere),
// release_at_point (Q into one voxel), release_in_box (+ uM in every voxel of a box).
// Boundaries per face: no-flux (default), fixed concentration (held in a ghost voxel one spacing
// outside the grid), periodic.
//
// Numerics. The field has its own step H = m dt (m >= 1, field_dt) split into n sub-steps
// h = H / n, n the smallest count with 2 D* h sum_a 1/h_a^2 <= 0.9 (and >= the count implied by
// a field_dt below dt). Each sub-step is explicit FTCS diffusion (7-point stencil) followed by the
// exact (or Strang-split, see kinetics.hpp) reaction step, fused into one sweep over the grid:
// with the 0.9 bound every new value is a convex combination of old values with weights >= 0.1,
// so the scheme is stable for any dt, monotone and never negative; the flux form of the stencil
// conserves mass to round-off with no-flux/periodic boundaries and no clearance.
// Error O(h_x^2 + h): second order in space, first order in time (Lie splitting). With
// scheme = heun the diffusion of a sub-step is Heun's, C' = R((C + E(E(C))) / 2) with E the FTCS
// step: both stages in one pass over memory (plane by plane, a ring of three first-stage planes
// per thread), each stage the same convex combination, second order in h for the diffusion (the
// reaction stays Lie-split: first order for Michaelis-Menten).
// Threads: OpenMP over rows of voxels (Heun: slabs of planes) with a static schedule; each voxel's
// new value depends only on old values, and grid sums are taken per row and then over rows in a
// fixed order, so results are bit-identical for any thread count.
//
// Timing. Blocks of m steps start at the boundaries s0 + b m. A release arriving at step s is
// added at the first boundary >= s (at s when m = 1); at each boundary X the field then takes its
// step, from the state at X (with those releases) to X + m, and the pieces of the block's steps
// X..X+m-1 (readers) hold that end state: constant over the block (probes: trilinear sample;
// piece(k): the mean over the grid). A release arrives on average half a block before its
// boundary and is read at age m dt, the mean age it has over the block, so clouds are centred in
// time (the releases of the current block are seen from the next one: causality). Snapshots show
// the same end state.
#include <array>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "nmsim/core/modulator.hpp"
#include "nmsim/modulators/grid_geometry.hpp"
#include "nmsim/modulators/kinetics.hpp"

namespace nmsim::modulators {

struct GridBoundary {
  enum class Kind { no_flux, fixed, periodic };
  Kind kind = Kind::no_flux;
  double value = 0.0;  // [uM] >= 0, concentration held by a fixed boundary
};

struct GridReleaseSource {
  std::string population;    // spikes of this population release at each neuron's position
  double quantum = 1.0;      // [uM um^3] >= 0 per release (1 uM um^3 = 1 zmol = 602 molecules)
  double delay = 1.0;        // [ms] >= dt, a multiple of dt
  double probability = 1.0;  // [1] in [0, 1], per spike
};

/// Time stepping of the diffusion within a sub-step h (docs/models/modulator_fields.md).
///   euler: C' = R_h(E C), E = I + h D* lap_h (FTCS): first order in h;
///   heun:  C' = R_h((C + E E C) / 2): second order in h for the diffusion, two passes per sub-step.
/// Both keep every stage a convex combination (never negative, mass conserved).
enum class GridScheme { euler, heun };

struct GridFieldParams {
  GridGeometry geometry;
  double diffusion = 0.763;                               // [um^2/ms] >= 0, free diffusion coefficient D
  double tortuosity = 1.6;                                // [1] >= 1, lambda (D* = D / lambda^2)
  double volume_fraction = 0.2;                           // [1] in (0, 1], alpha
  KineticsParams kinetics;                                // uptake, breakdown, production (kinetics.hpp)
  double initial = -1.0;                                  // [uM] uniform C(0) >= 0; < 0: the kinetics' steady state
  std::array<std::array<GridBoundary, 2>, 3> boundary{};  // [axis][low face, high face]
  double field_dt = 0.0;  // [ms] >= 0; 0: dt; a multiple m dt, or dt / n (n sub-steps at least)
  GridScheme scheme = GridScheme::euler;
  int threads = 0;  // [1] >= 0, OpenMP threads of the field loops; 0: the simulation's
  std::vector<GridReleaseSource> release;
};

class GridField : public Modulator {
 public:
  GridField(std::string name, GridFieldParams params);
  DelaySteps release_delay() const override;
  void prepare(const Simulation& sim) override;
  void advance(Step from, Step to) override;
  void on_spikes(std::span<const Spike> spikes) override;
  /// Raise the concentration everywhere by `amount` uM at t_step.
  void release_at(Step step, double amount) override;
  bool spatial() const override { return true; }
  bool covers(const Position& where) const override { return p_.geometry.voxel_of(where).has_value(); }
  FieldView field_view() const override;
  /// Field values, block bookkeeping, probe values of the current block, pending deposits.
  void save_state(StateWriter& w) const override;
  void restore_state(const StateReader& r) override;
  /// Large grids parallelise their sweeps: the engine advances them outside its own region, in
  /// the windows that hold a block boundary (advance(from, to) sweeps iff the next boundary is
  /// before `to`). Below 64^3 voxels a sweep is too short (< ~0.2 ms on one core) for the two
  /// extra fork/joins per window to pay, and on a loaded machine each costs a scheduler slice:
  /// a 41^3 field at dt = field.dt = 0.1 ms ran 30x slower with 2 threads than with 1 (load 4).
  bool parallel_advance() const override { return threads_ > 1 && p_.geometry.size() >= 262144; }
  bool parallel_advance_in(Step /*from*/, Step to) const override { return parallel_advance() && state_step_ < to; }
  const LevelPiece& probe_piece(Step k, std::size_t probe) const override {
    return probe_pieces_[row_of(k) * probes().size() + probe];
  }
  const LevelPiece* probe_row(Step k) const override { return probe_pieces_.data() + row_of(k) * probes().size(); }
  /// Probe values change only at block boundaries start + i m, where the field steps
  /// (advance()); within a block every row holds the same levels.
  Step probe_hold() const override { return m_; }
  Step probe_hold_start(Step k) const override { return k < start_ ? k : k - (k - start_) % m_; }

  /// Without a Simulation (tests, programs; prepare() calls it): engine dt (ms), seed, the first
  /// step, threads (>= 1). Resets the field to its initial state.
  void setup(double dt, std::uint64_t seed = 1, Step now = 0, int threads = 1);
  /// Release `amount` uM um^3 at t_step into the voxel containing `where` (RuntimeError outside).
  void release_at_point(Step step, const Position& where, double amount) override;
  /// Raise by `amount` uM at t_step every voxel whose centre lies in the box [lo, hi].
  void release_in_box(Step step, const Position& lo, const Position& hi, double amount);

  const GridGeometry& geometry() const { return p_.geometry; }
  const GridFieldParams& params() const { return p_; }
  const Kinetics& kinetics() const { return kin_; }
  double effective_diffusion() const { return dstar_; }  // um^2/ms
  /// Field step in engine steps (m), sub-steps per field step (n), sub-step length (ms).
  Step field_interval() const { return m_; }
  int substeps() const { return n_sub_; }
  double substep() const { return h_sub_; }
  void set_threads(int threads) { threads_ = threads < 1 ? 1 : threads; }

  /// Concentration (uM) per voxel at t_{state_step()}, the next block boundary, before the
  /// releases added there (the end state of the current block, which its readers see).
  std::span<const double> concentration() const { return c_; }
  Step state_step() const { return state_step_; }
  /// Replace the state (after setup, before the first advance); values >= 0.
  void set_concentration(std::span<const double> c);
  /// Trilinear sample of the current state (uM).
  double sample(const Position& where) const;
  /// Mean over the grid (uM) and amount of substance alpha V sum C (uM um^3), current state.
  double mean() const { return sum_ / static_cast<double>(c_.size()); }
  double total_amount() const { return sum_ * p_.volume_fraction * p_.geometry.voxel_volume(); }

 private:
  struct Deposit {
    std::vector<std::pair<std::size_t, double>> points;  // voxel, +uM
    double uniform = 0.0;                                // +uM everywhere
  };
  Step block_key(Step s) const;
  Deposit& deposit_at(Step step, const char* what);
  /// Adds the deposits of boundary k to the state.
  void apply_deposits(Step k);
  /// cur_probe_ of probes [r0, r1) in grid order from the field c (the current state: c_).
  void sample_probes(const double* c, std::size_t r0, std::size_t r1);
  /// All probes, split over the field's threads when `parallel` (outside the engine's region).
  void sample_all_probes(bool parallel);
  /// One field step H = m dt; true when it also sampled every probe (cur_probe_, Heun's fused pass).
  bool step_field();
  /// One sub-step's pass: out = R(D(in)), D the FTCS diffusion step, R the reaction step (none
  /// without `react`); with `mean_with`, out = R((mean_with + D(in)) / 2) (Heun's second stage).
  /// Row sums of out when `sums`.
  void sweep(const double* in, double* out, const double* mean_with, bool react, bool sums);
  /// Heun's sub-step in one pass (both stages per plane, a ring of three first-stage planes per
  /// thread); the same bits as the two sweeps. Used when heun_fused(): planes up to kFusedPlane
  /// voxels and no periodic z faces (nz > 1).
  /// With `sample`, also cur_probe_ of every probe from `out`, each as soon as the planes it reads
  /// are done (in cache).
  void sweep_heun_fused(const double* in, double* out, bool sums, bool sample);
  bool heun_fused() const;
  /// Sweeps split over the field's threads (smaller grids: one thread, a fork costs more).
  bool sweeps_in_parallel() const { return threads_ > 1 && p_.geometry.size() >= 16384; }
  double grid_sum() const;
  /// Interpolation cells of the probes (registered ones), their grid order to be rebuilt, and
  /// their current values zeroed.
  void reset_probes();

  GridFieldParams p_;
  Kinetics kin_;
  double dstar_ = 0.0;
  double dt_ = 0.1;
  std::uint64_t seed_ = 1;
  int threads_ = 1;
  Step m_ = 1;                              // engine steps per field step
  int n_sub_ = 1;                           // sub-steps per field step
  double h_sub_ = 0.1;                      // ms
  std::array<double, 3> r_{0.0, 0.0, 0.0};  // D* h / h_a^2 per axis
  std::vector<double> c_, tmp_;
  std::vector<double> stage_;  // Heun's first stage: rings of 3 planes per thread, or the grid (empty: Euler)
  std::array<std::array<std::vector<double>, 2>, 3> ghost_;  // fixed-boundary rows [axis][side]
  std::vector<double> row_sum_;
  double sum_ = 0.0;     // sum of c_ (grid sum of the last sweep + deposits since, fixed order)
  Step start_ = 0;       // first block boundary
  Step state_step_ = 0;  // c_ is the state at t_{state_step_}
  Step applied_ = -1;    // last block boundary whose deposits were applied
  Step next_ = 0;        // first step not yet advanced
  double cur_mean_ = 0.0;
  std::vector<double> cur_probe_;
  std::vector<GridGeometry::Cell> cells_;         // per probe: its interpolation cell
  std::vector<std::size_t> probe_order_;          // probes by their first voxel
  std::vector<GridGeometry::Cell> sorted_cells_;  // their cells, in that order
  std::vector<LevelPiece> probe_pieces_;          // one row per field step of the window
  Step row0_ = 0;                                 // field step index of the window's first row
  Step row0_holds_ = -1;                          // field step whose values row 0 holds from the last window (-1: none)
  /// Row of probe_pieces_ of engine step k (its field step within the window).
  std::size_t row_of(Step k) const {
    return static_cast<std::size_t>(m_ == 1 ? k - window_begin() : (k - start_) / m_ - row0_);
  }
  struct Source {
    std::uint32_t population;
    Step delay;
    double increment, probability;  // uM added to the neuron's voxel
    std::uint32_t purpose;
    std::vector<std::size_t> voxel;  // per neuron
  };
  std::vector<Source> sources_;
  std::map<Step, Deposit> pending_;  // block boundary -> releases
};

}  // namespace nmsim::modulators
