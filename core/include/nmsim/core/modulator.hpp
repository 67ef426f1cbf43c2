#pragma once
// A neuromodulator as the engine sees it: a concentration (uM) that is advanced one delivery
// window at a time, ahead of the neurons and synapses that read it.
//
// Timing (docs/step_order.md). Releases caused by spikes act `release_delay` steps (>= 1) after
// the spike's stamp, and that delay bounds the delivery window, so at the start of a window
// everything that shapes the concentration during the window is known. advance() then fills one
// LevelPiece per step: over step k, t in [t_k, t_{k+1}), the concentration seen by a reader is
//     m(t) = base + amp * exp(-(t - t_k) / tau)        (inv_tau = 1/tau, 0 for constant)
// For a well-mixed pool with first-order decay this is exact; for other kinetics the piece is
// the constant value over the step. Readers (three-factor rules, receptors) integrate against
// these pieces exactly, so results are exact for the modulator's own discretisation.
#include <array>
#include <span>
#include <string>
#include <vector>

#include "nmsim/core/state.hpp"
#include "nmsim/core/types.hpp"

namespace nmsim {

class Simulation;

/// A point in tissue coordinates (um).
using Position = std::array<double, 3>;

struct LevelPiece {
  double base = 0.0;     // uM
  double amp = 0.0;      // uM
  double inv_tau = 0.0;  // 1/ms
  /// Concentration at t_k + s (0 <= s <= dt).
  double at(double s) const;
  /// Integral of (m(t_k + s) - b) * exp(-s / tau_c) over s in [0, h], tau_c > 0 (uM ms).
  double weighted_integral(double b, double h, double inv_tau_c) const;
};

class Modulator {
 public:
  explicit Modulator(std::string name) : name_(std::move(name)) {}
  virtual ~Modulator() = default;
  const std::string& name() const { return name_; }

  /// Steps from a spike's stamp to the release it causes (>= 1); bounds the window.
  virtual DelaySteps release_delay() const = 0;
  /// After the network is built, before the first step.
  virtual void prepare(const Simulation& sim) = 0;
  /// Fill the pieces of steps [from, to) (one thread, start of a window).
  virtual void advance(Step from, Step to) = 0;
  /// True if advance() opens its own OpenMP parallel loops (large fields): the engine then calls
  /// it outside its own parallel region, so those loops get all threads.
  virtual bool parallel_advance() const { return false; }
  /// True if advance(from, to), called next, will run those parallel loops (a field that steps
  /// every few windows needs them only in those windows); the engine leaves its region only then.
  virtual bool parallel_advance_in(Step /*from*/, Step /*to*/) const { return parallel_advance(); }
  /// Spikes of the window just simulated (one thread, end of the window), sorted.
  virtual void on_spikes(std::span<const Spike> /*spikes*/) {}
  /// Add `amount` uM at time t_{step} (a reward, a task event). `step` must be >= the start of
  /// the next window: call between runs or from an observer at the end of a window.
  virtual void release_at(Step step, double amount) = 0;
  /// Release `amount` (uM um^3) at t_{step} at the point `where` (spatial fields only; the
  /// default throws RuntimeError). Same timing rule as release_at.
  virtual void release_at_point(Step step, const Position& where, double amount);
  /// Checkpoint (core/state.hpp): the concentration state and pending releases between windows
  /// (the pieces of the window just simulated are not needed: the next advance() refills them).
  /// Default: StateError (a modulator kind that does not override them cannot be checkpointed).
  virtual void save_state(StateWriter& /*w*/) const { cannot_checkpoint(); }
  virtual void restore_state(const StateReader& /*r*/) { cannot_checkpoint(); }
  /// Register a point where a reader (a synapse's rule, a receptor, a recorder probe) needs the
  /// concentration; returns its probe index. Call before the first run. A well-mixed pool has
  /// the same value everywhere; a spatial field samples itself there at every step.
  virtual std::size_t add_probe(const Position& where) {
    probes_.push_back(where);
    return probes_.size() - 1;
  }
  const std::vector<Position>& probes() const { return probes_; }
  /// True when the concentration depends on position (probe pieces differ).
  virtual bool spatial() const { return false; }
  /// Whether the field is defined at `where` (a grid: inside its box of voxels). Readers outside
  /// are a configuration error: a clamped value far from the tissue modelled would be a guess.
  virtual bool covers(const Position& /*where*/) const { return true; }
  /// A spatial field's grid and values (uM, x fastest, then y, then z) at t = time (ms), the end
  /// of the last window it advanced over; shape [nx, ny, nz] (empty values: not a grid).
  struct FieldView {
    std::array<std::size_t, 3> shape{};
    Position origin{};
    Position spacing{};
    std::span<const double> values;
  };
  virtual FieldView field_view() const { return {}; }
  /// Piece of step k at probe i, k in the current window. Default: the pool's piece.
  virtual const LevelPiece& probe_piece(Step k, std::size_t /*probe*/) const { return piece(k); }
  /// The pieces of step k at every probe (index: probe), k in the current window; nullptr when
  /// the modulator is not spatial. One virtual call per step for readers that sweep many probes.
  virtual const LevelPiece* probe_row(Step /*k*/) const { return nullptr; }
  /// Fields whose probe pieces are constant levels held over blocks of steps (a grid field with
  /// field.dt = m dt): the block length m in steps, and the first step of the block holding step
  /// k. Readers may then integrate once per block instead of once per step. Default: no blocks.
  virtual Step probe_hold() const { return 1; }
  virtual Step probe_hold_start(Step k) const { return k; }
  /// Piece of step k; valid for the current window (from..to of the last advance()).
  const LevelPiece& piece(Step k) const { return pieces_[static_cast<std::size_t>(k - first_)]; }
  /// Concentration at t_k (start of step k), k in the current window.
  double level(Step k) const { return piece(k).at(0.0); }
  Step window_begin() const { return first_; }
  Step window_end() const { return first_ + static_cast<Step>(pieces_.size()); }

 protected:
  [[noreturn]] void cannot_checkpoint() const {
    throw StateError("modulator." + name_, "this modulator kind cannot be checkpointed in this version");
  }
  void set_window(Step from, Step to) {
    first_ = from;
    pieces_.resize(static_cast<std::size_t>(to - from));
  }
  LevelPiece& mutable_piece(Step k) { return pieces_[static_cast<std::size_t>(k - first_)]; }

 private:
  std::string name_;
  std::vector<Position> probes_;
  Step first_ = 0;
  std::vector<LevelPiece> pieces_;
};

}  // namespace nmsim
