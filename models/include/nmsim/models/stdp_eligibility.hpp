#pragma once
// stdp_eligibility: the three-factor rule (Izhikevich 2007, Cereb. Cortex 17:2443; Fremaux &
// Gerstner 2016, Front. Neural Circuits 9:85). Spike timing only tags a synapse; a modulator turns
// the tag into a weight change:
//   pre/post traces x, y and pairing as in stdp (stdp.hpp);
//   at a pre event:  c -> c - a_minus * y(t);   at a post event: c -> c + a_plus * x(t)
//   dc/dt = -c / tau_c
//   dw/dt = eta * c(t) * (m(t) - b),   w clipped to [w_min, w_max] at every update
// m is the third factor: the concentration of `modulator` (uM) read from the modulator's pieces
// (core/modulator.hpp), b the baseline. NEST's stdp_dopamine_synapse is the case eta = 1 with m its
// dopamine trace.
//
// Exact and event-driven: time is cut into frames [T_n, T_{n+1}], T_n = T_0 + n I (I = interval,
// a fixed grid from the first step, so the frames do not depend on windows, run() chunks or
// threads). Per frame, G_n(t) = int_{T_n}^{t} e^{-(s - T_n)/tau_c} (m(s) - b) ds is tabulated once
// per projection and step (exactly for the modulator's pieces). A synapse last updated at t0 in
// frame n moves on to t1 <= T_{n+1} by
//   w += eta c0 e^{(t0 - T_n)/tau_c} (G_n(t1) - G_n(t0)),   c = c0 e^{-(t1 - t0)/tau_c}
// exactly. At synapse time T_{n+1} every synapse is brought to T_{n+1} (before any event later
// than T_{n+1}), so no synapse ever spans two frames: no per-synapse work per time step, one sweep
// per frame. Rounding: G_n(t1) - G_n(t0) loses about eps e^{(t0 - T_n)/tau_c} relative
// precision, hence I <= 10 tau_c (default 2 tau_c): relative error < ~1e-11.
// Spatial third factor. When m comes from a spatial field (grid modulator), or a gating map of
// the third factor or the learning rate reads one, every synapse reads m at its target neuron's
// position (trilinear probe, constant over a step; synapses have no positions of their own). Each
// thread keeps, for its own target neurons, the running G_{n,j}(t_a) = sum over steps k < a of
// frame n of e^{-(t_k - T_n)/tau_c} int_step e^{-s/tau_c} (m_j - b) ds (PostState::g; one
// multiply-add per target neuron and step), and every synapse keeps g0 = G_{n,j} at its last update
// t0, so w += eta c0 e^{(t0 - T_n)/tau_c} (G_{n,j}(t_a) - g0) is the same exact update. G is brought
// to t_{k+1} before the events at t_{k+1} (jump ports: before_update of step k; pulse ports:
// after_update of step k, before its post events). At a frame boundary every synapse is brought to
// T_{n+1}, then G and g0 restart at 0. A spatial a_plus / a_minus map is read at the event.
// Held fields: when the probe values are constant levels over blocks of m steps (a grid field
// with field.dt = m dt, Modulator::probe_hold) and no gating map varies per step, each target's
// increment per step is u_j e^{-(t_k - t_K)/tau_c}, with K the first step of its segment (block
// cut at frame boundaries). Then G_{n,j}(t_a) = G_{n,j}(t_K) + u_j W(a - K), W(i) = sum_{i'<i}
// e^{-i' dt/tau_c} (a table): G and u are updated once per segment (PostState::g, g_rate), not per
// step. Same exact update; rounding differs from the per-step sum in the last bits only.
//
// Reading weights: call synchronize(tid, now) (PlasticProjection) first; it advances every
// synapse of the thread to `now`, which splits one update into two (last-bit differences).
#include <algorithm>
#include <cmath>
#include <deque>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "nmsim/core/modulation.hpp"
#include "nmsim/core/modulator.hpp"
#include "nmsim/core/params.hpp"
#include "nmsim/core/projection.hpp"
#include "nmsim/core/simulation.hpp"

namespace nmsim::models {

struct StdpEligibilityParams {
  enum class Pairing { all_to_all, nearest };
  double tau_plus = 20.0;     // [ms] > 0
  double tau_minus = 20.0;    // [ms] > 0
  double a_plus = 1.0;        // [weight units] >= 0 tag increment per pairing (pre before post)
  double a_minus = 1.5;       // [weight units] >= 0 tag decrement (post before pre)
  double tau_c = 1000.0;      // [ms] > 0 eligibility time constant
  double eta = 1.0;           // [1/(uM ms)] learning rate
  double baseline = 0.0;      // [uM] b: no change while m = b
  double w_min = 0.0;         // [weight units]
  double w_max = 1e300;       // [weight units] > w_min
  double interval = 0.0;      // [ms] frame length, (0, 10 tau_c]; 0 = 2 tau_c
  Pairing pairing = Pairing::all_to_all;
  std::string modulator;      // name of the modulator giving m
  static StdpEligibilityParams from(const ParamTable& t);
};

class StdpEligibility {
 public:
  using Params = StdpEligibilityParams;
  /// One synapse's state in one record (32 bytes, half a cache line): a post spike visits the
  /// synapses into its neuron scattered over the projection, and touches all four fields.
  struct alignas(32) Synapse {
    double x = 0.0;  // pre trace at t_x
    double c = 0.0;  // tag at t_c
    Step t_x = 0;    // synapse time of the last pre event
    Step t_c = 0;    // synapse time the tag and the weight were last brought to
  };
  /// One member of every record, as an array (checkpoint I/O).
  template <class Rec, class T>
  struct MemberView {
    using value_type = T;
    Rec* rec;
    std::size_t n;
    T Synapse::*mem;
    std::size_t size() const { return n; }
    auto& operator[](std::size_t q) const { return rec[q].*mem; }
  };
  template <class Vec, class T>
  static auto member(Vec& v, T Synapse::*mem) {
    return MemberView<std::remove_reference_t<decltype(*v.data())>, T>{v.data(), v.size(), mem};
  }
  struct SynState {
    std::vector<Synapse> syn;  // same order as the projection's CSR
    // Spatial third factor only (bind()): G of the target at the last update, per synapse; the
    // synapses' targets; the running G per target neuron (PostState::g) and the owned range.
    std::vector<double> g0;
    const std::vector<NeuronIndex>* target = nullptr;
    std::vector<double>* g = nullptr;
    std::vector<double>* u = nullptr;  // held fields: per-step increment of the segment (g_rate)
    Step seg = -1;                     // held fields: start K of the segment of the last step (-1: unknown)
    std::size_t first = 0, count = 0;  // owned target neurons [first, first + count)
    void resize(std::size_t n) { syn.assign(n, Synapse{}); }
    std::size_t size() const { return syn.size(); }
    /// Every per-synapse field by name (checkpoints): f(name, view) for const or mutable s, where
    /// the view is array-like (value_type, size(), operator[]) over one member of the records.
    template <class S, class F>
    static void fields(S& s, F&& f) {
      auto x = member(s.syn, &Synapse::x);
      auto c = member(s.syn, &Synapse::c);
      auto t_x = member(s.syn, &Synapse::t_x);
      auto t_c = member(s.syn, &Synapse::t_c);
      f("x", x);
      f("c", c);
      f("t_x", t_x);
      f("t_c", t_c);
      f("g0", s.g0);  // empty unless spatial
    }
  };
  struct PostState {
    std::vector<double> y;
    std::vector<Step> t_y;
    std::vector<double> g;       // spatial third factor: running G per target neuron (bind()); held: G at K
    std::vector<double> g_rate;  // held fields: u per target neuron (uM ms) for the segment from K
    void resize(std::size_t n) {
      y.assign(n, 0.0);
      t_y.assign(n, 0);
    }
    /// Every per-neuron array by name (checkpoints): f(name, array) for const or mutable s.
    template <class S, class F>
    static void fields(S& s, F&& f) {
      f("y", s.y);
      f("t_y", s.t_y);
      f("g", s.g);
      f("g_rate", s.g_rate);
    }
  };

  explicit StdpEligibility(StdpEligibilityParams p) : p_(std::move(p)) {}
  const StdpEligibilityParams& params() const { return p_; }
  void prepare(const Simulation& sim, const Projection& proj);
  /// One thread per window: extends the G tables over the pieces of steps [w0, w1).
  void prepare_window(Step w0, Step w1);
  /// After prepare: the thread's synapses (targets) and owned target neurons [first, first + n).
  void bind(SynState& s, PostState& post, const std::vector<NeuronIndex>& target, std::size_t first, std::size_t n) const {
    if (!spatial_) return;
    s.target = &target;
    s.first = first;
    s.count = n;
    s.g0.assign(target.size(), 0.0);
    post.g.resize(post.y.size(), 0.0);  // each thread writes only its own neurons' G
    s.g = &post.g;
    if (!held_) return;
    post.g_rate.resize(post.y.size(), 0.0);
    s.u = &post.g_rate;
    s.seg = -1;
  }
  /// Spatial third factor: add step k's piece to the running G of the thread's target neurons
  /// (G moves to t_{k+1}). Called once per step, before any event at t_{k+1}.
  void integrate_step(SynState& s, Step k) const {
    if (!spatial_ || s.count == 0) return;
    if (held_)
      integrate_held(s, k);
    else
      integrate_targets(s, k);
  }
  /// True when synapses read the third factor at their target's position.
  bool spatial() const { return spatial_; }
  /// True when that field is integrated once per held block (see the header comment).
  bool held() const { return held_; }
  /// Every thread, before the events at synapse time a: at a frame boundary, bring every synapse
  /// of the thread to a (with the G of the frame that ends there).
  void before_events(SynState& s, std::vector<double>& w, Step a) const {
    if (a <= base_ || (a - base_) % interval_steps_ != 0) return;
    if (spatial_) {  // every synapse to a, then the new frame's G starts at 0
      const double wa = held_window(s, a);
      const Step ft = frame_before(a);
      for (std::size_t q = 0; q < w.size(); ++q) advance_spatial_w(s, q, (*s.target)[q], a, w[q], wa, ft);
      std::fill(s.g0.begin(), s.g0.end(), 0.0);
      std::fill(s.g->begin() + static_cast<std::ptrdiff_t>(s.first),
                s.g->begin() + static_cast<std::ptrdiff_t>(s.first + s.count), 0.0);
      return;
    }
    const Hoisted h = hoisted(a, true);
    for (std::size_t q = 0; q < w.size(); ++q) advance_hoisted(h, s.syn[q], a, w[q]);
  }

  void on_pre(SynState& s, std::uint64_t q, PostState& post, NeuronIndex j, Step a, double& w) const {
    Synapse& r = s.syn[q];
    if (spatial_)
      advance_spatial(s, q, j, a, w);
    else
      advance(r, a, w);
    const double y = post.y[j] * decay_minus(a - post.t_y[j]);
    r.c -= p_.a_minus * factor(am_, amw_, a, j) * y;
    const double x = r.x * decay_plus(a - r.t_x);
    r.x = p_.pairing == StdpEligibilityParams::Pairing::nearest ? 1.0 : x + 1.0;
    r.t_x = a;
  }
  void on_post_synapse(SynState& s, std::uint64_t q, PostState&, NeuronIndex j, Step a, double& w) const {
    Synapse& r = s.syn[q];
    if (spatial_)
      advance_spatial(s, q, j, a, w);
    else
      advance(r, a, w);
    r.c += p_.a_plus * factor(ap_, apw_, a, j) * r.x * decay_plus(a - r.t_x);
  }
  struct Hoisted;
  /// Pre events at a for the synapses [q0, q1) of one source (one delay for all): on_pre for each
  /// in order, then deliver(q, j, w). The same arithmetic in the same order (bit-identical); the
  /// open frame, the tables and the parameters are loaded once per row instead of per synapse.
  template <class Deliver>
  void on_pre_range(SynState& s, std::uint64_t q0, std::uint64_t q1, PostState& post, const NeuronIndex* target, Step a,
                    double* weight, Deliver&& deliver) const {
    if (am_) {
      for (std::uint64_t q = q0; q < q1; ++q) {
        on_pre(s, q, post, target[q], a, weight[q]);
        deliver(q, target[q], weight[q]);
      }
      return;
    }
    if (spatial_) {
      const double wa = held_window(s, a);
      const Step ft = frame_before(a);
      pre_loop(
          s, q0, q1, post, target, a, weight, deliver,
          hoisted_tables(), [&](Synapse&, std::uint64_t q, NeuronIndex j, double& w) __attribute__((always_inline)) {
            advance_spatial_w(s, q, j, a, w, wa, ft);
          });
    } else {
      const Hoisted h = hoisted(a);
      pre_loop(
          s, q0, q1, post, target, a, weight, deliver,
          h, [&](Synapse & r, std::uint64_t, NeuronIndex, double& w) __attribute__((always_inline)) {
            advance_hoisted(h, r, a, w);
          });
    }
  }
  template <class Deliver, class Advance>
  [[gnu::always_inline]] void pre_loop(SynState& s, std::uint64_t q0, std::uint64_t q1, PostState& post,
                                       const NeuronIndex* target, Step a, double* weight, Deliver& deliver,
                                       const Hoisted& h, Advance&& adv) const {
    const double a_minus = p_.a_minus;
    const bool nearest = p_.pairing == StdpEligibilityParams::Pairing::nearest;
    const double* y = post.y.data();
    const Step* t_y = post.t_y.data();
    Synapse* syn = s.syn.data();
    for (std::uint64_t q = q0; q < q1; ++q) {
      Synapse& r = syn[q];
      const NeuronIndex j = target[q];
      double& w = weight[q];
      adv(r, q, j, w);
      const double yj = y[j] * h.lookup(h.dec_minus, a - t_y[j], [&](Step k) { return decay(k, p_.tau_minus); });
      r.c -= a_minus * yj;
      const double x = r.x * h.lookup(h.dec_plus, a - r.t_x, [&](Step k) { return decay(k, p_.tau_plus); });
      r.x = nearest ? 1.0 : x + 1.0;
      r.t_x = a;
      deliver(q, j, w);
    }
  }
  /// A post spike of j at a for the synapses in_syn[0..n) into j: on_post_synapse for each, in
  /// order, with the records asked for `ahead` synapses in advance (they are scattered).
  void on_post_list(SynState& s, const std::uint64_t* in_syn, std::uint64_t n, PostState& post, NeuronIndex j, Step a,
                    double* weight) const {
    constexpr std::uint64_t kAhead = 16;
    for (std::uint64_t r = 0; r < std::min(kAhead, n); ++r) {
      prefetch(s, in_syn[r]);
      __builtin_prefetch(&weight[in_syn[r]], 1);
    }
    if (ap_) {
      for (std::uint64_t r = 0; r < n; ++r) {
        if (r + kAhead < n) {
          prefetch(s, in_syn[r + kAhead]);
          __builtin_prefetch(&weight[in_syn[r + kAhead]], 1);
        }
        on_post_synapse(s, in_syn[r], post, j, a, weight[in_syn[r]]);
      }
      return;
    }
    if (spatial_) {
      const double wa = held_window(s, a);
      const Step ft = frame_before(a);
      post_loop(
          s, in_syn, n, a, weight,
          hoisted_tables(), [&](Synapse&, std::uint64_t q, double& w) __attribute__((always_inline)) {
            advance_spatial_w(s, q, j, a, w, wa, ft);
          });
    } else {
      const Hoisted h = hoisted(a);
      post_loop(
          s, in_syn, n, a, weight, h, [&](Synapse & r, std::uint64_t, double& w) __attribute__((always_inline)) {
            advance_hoisted(h, r, a, w);
          });
    }
  }
  template <class Advance>
  [[gnu::always_inline]] void post_loop(SynState& s, const std::uint64_t* in_syn, std::uint64_t n, Step a,
                                        double* weight, const Hoisted& h, Advance&& adv) const {
    constexpr std::uint64_t kAhead = 16;
    const double a_plus = p_.a_plus;
    Synapse* syn = s.syn.data();
    for (std::uint64_t r = 0; r < n; ++r) {
      if (r + kAhead < n) prefetch(s, in_syn[r + kAhead]), __builtin_prefetch(&weight[in_syn[r + kAhead]], 1);
      const std::uint64_t q = in_syn[r];
      Synapse& rec = syn[q];
      adv(rec, q, weight[q]);
      rec.c += a_plus * rec.x * h.lookup(h.dec_plus, a - rec.t_x, [&](Step k) { return decay(k, p_.tau_plus); });
    }
  }
  /// Ask for synapse q's record ahead of its update (PlasticProjection, post-spike loop).
  void prefetch(const SynState& s, std::uint64_t q) const {
    __builtin_prefetch(&s.syn[q], 1);
    if (spatial_) __builtin_prefetch(&s.g0[q], 1);
  }
  void on_post_neuron(PostState& post, NeuronIndex j, Step a) const {
    const double y = post.y[j] * decay_minus(a - post.t_y[j]);
    post.y[j] = p_.pairing == StdpEligibilityParams::Pairing::nearest ? 1.0 : y + 1.0;
    post.t_y[j] = a;
  }
  /// Move synapse q on to synapse time a (>= its last update, <= the end of its frame and of the
  /// current window), applying dw = eta c (m - b) dt exactly.
  void advance(SynState& s, std::uint64_t q, Step a, double& w) const {
    if (spatial_)
      advance_spatial(s, q, (*s.target)[q], a, w);
    else
      advance(s.syn[q], a, w);
  }
  /// The same with the third factor read at the synapse's target j (G of PostState::g).
  void advance_spatial(SynState& s, std::uint64_t q, NeuronIndex j, Step a, double& w) const {
    advance_spatial_w(s, q, j, a, w, held_window(s, a), frame_before(a));
  }
  /// Start of the frame of step a - 1: a synapse moved on to a (> its t0) lies in it, since every
  /// synapse of a spatial rule is brought to each frame's start (before_events).
  Step frame_before(Step a) const { return a <= base_ ? base_ : a - 1 - (a - 1 - base_) % interval_steps_; }
  /// Held fields: W(a - K) for events at a (0 otherwise), the same for every synapse of the thread.
  double held_window(SynState& s, Step a) const {
    if (!held_) return 0.0;
    if (s.seg < 0) s.seg = segment_start(a - 1);  // after a restore: the segment of the last step
    return wsum(a - s.seg);
  }
  /// ft = frame_before(a): t0's offset in its frame is t0 - ft (no division per synapse); the
  /// general modulo stays for a t0 outside that frame (not expected).
  [[gnu::always_inline]] void advance_spatial_w(SynState& s, std::uint64_t q, NeuronIndex j, Step a, double& w,
                                                double wa, Step ft) const {
    Synapse& r = s.syn[q];
    const Step t0 = r.t_c;
    if (a == t0) return;
    double g1 = (*s.g)[j];
    if (held_) g1 += (*s.u)[j] * wa;
    const double c0 = r.c;
    if (c0 != 0.0) {
      const Step off = t0 - ft;
      const double scale = grow_c(static_cast<std::uint64_t>(off) < static_cast<std::uint64_t>(interval_steps_)
                                      ? off
                                      : (t0 - base_) % interval_steps_);
      w = clip(w + p_.eta * c0 * scale * (g1 - s.g0[q]));
      r.c = c0 * decay_c(a - t0);
    }
    s.g0[q] = g1;
    r.t_c = a;
  }
  void advance(Synapse& r, Step a, double& w) const {
    const Step t0 = r.t_c;
    if (a == t0) return;
    const double c0 = r.c;
    if (c0 != 0.0) {
      // Nearly always the open frame (every synapse is swept at each frame end): no division.
      const Frame& f = t0 >= frames_.back().t0
                           ? frames_.back()
                           : frames_[static_cast<std::size_t>((t0 - base_) / interval_steps_ - first_frame_)];
      const double scale = grow_c(t0 - f.t0);
      w = clip(w + p_.eta * c0 * scale *
                       (f.g[static_cast<std::size_t>(a - f.t0)] - f.g[static_cast<std::size_t>(t0 - f.t0)]));
      r.c = c0 * decay_c(a - t0);
    }
    r.t_c = a;
  }

  /// Per-event constants of advance() for events at a in the open frame (on_pre_range, on_post_list).
  struct Hoisted {
    Step f_t0;
    const double* g;  // G of the open frame
    double g_a;       // G at a
    double eta, w_min, w_max;
    std::span<const double> dec_c, grow_c, dec_plus, dec_minus;
    template <class F>
    static double lookup(std::span<const double> t, Step k, F&& exact) {
      return static_cast<std::uint64_t>(k) < t.size() ? t[static_cast<std::size_t>(k)] : exact(k);
    }
  };
  /// For events at a: the frame holding a (a later one may have opened in the window). For the
  /// sweep at a frame's end (ending): the frame that ends at a.
  Hoisted hoisted_tables() const {
    return {0, nullptr, 0.0, p_.eta, p_.w_min, p_.w_max, dec_c_, grow_c_, dec_plus_, dec_minus_};
  }
  Hoisted hoisted(Step a, bool ending = false) const {
    std::size_t i = frames_.size() - 1;
    while (i > 0 && (frames_[i].t0 > a || (ending && frames_[i].t0 == a))) --i;
    const Frame& f = frames_[i];
    return {f.t0,      f.g.data(), f.g[static_cast<std::size_t>(a - f.t0)], p_.eta, p_.w_min, p_.w_max, dec_c_, grow_c_,
            dec_plus_, dec_minus_};
  }
  /// advance(r, a, w) with the open frame's constants; older frames take the general path.
  [[gnu::always_inline]] void advance_hoisted(const Hoisted& h, Synapse& r, Step a, double& w) const {
    const Step t0 = r.t_c;
    if (a == t0) return;
    if (t0 < h.f_t0) return advance(r, a, w);
    const double c0 = r.c;
    if (c0 != 0.0) {
      const double scale = h.lookup(h.grow_c, t0 - h.f_t0, [&](Step k) { return grow(k, p_.tau_c); });
      const double v = w + h.eta * c0 * scale * (h.g_a - h.g[static_cast<std::size_t>(t0 - h.f_t0)]);
      w = v < h.w_min ? h.w_min : (v > h.w_max ? h.w_max : v);
      r.c = c0 * h.lookup(h.dec_c, a - t0, [&](Step k) { return decay(k, p_.tau_c); });
    }
    r.t_c = a;
  }

  /// Checkpoint: the open frames of G (a function of the modulator's history) and their index.
  void save_state(StateWriter& w) const;
  void restore_state(const StateReader& r);

  /// Frame length in steps (for tests).
  Step interval_steps() const { return interval_steps_; }

  /// Gating by modulators (core/modulation.hpp); maps that read spatial fields are read at the
  /// target neuron (per step; a_plus / a_minus at the event). "third_factor" replaces
  /// m(t) by the map's value (held per step), "learning_rate" multiplies eta, "a_plus"/"a_minus"
  /// multiply the tag increments. Returns false for other aspects.
  bool modulate(const std::string& aspect, const ModulationMap* map);

 private:
  // Per-step factor of the window for an event at synapse time a (the step that ends at a).
  // A uniform map's value is tabulated per window; a spatial one is read for target j.
  double factor(const ModulationMap* map, const std::vector<double>& w, Step a, NeuronIndex j) const {
    if (!map) return 1.0;
    Step i = a - 1 - win0_;
    if (i < 0) i = 0;
    if (i >= win1_ - win0_) i = win1_ - win0_ - 1;
    if (w.empty()) return map->value(win0_ + i, j);
    return w[static_cast<std::size_t>(i)];
  }
  void integrate_targets(SynState& s, Step k) const;
  void integrate_held(SynState& s, Step k) const;
  /// Held fields: first step of the segment holding step k (a block start or a frame start).
  Step segment_start(Step k) const {
    const Step frame = k - (k - base_) % interval_steps_;
    return std::max(frame, m_->probe_hold_start(k));
  }
  /// W(i) = sum_{i' < i} e^{-i' dt / tau_c} (tabulated over a segment; closed form beyond).
  double wsum(Step i) const {
    return in(wsum_, i) ? wsum_[static_cast<std::size_t>(i)]
                        : std::expm1(-static_cast<double>(i) * dt_ / p_.tau_c) / std::expm1(-dt_ / p_.tau_c);
  }
  bool spatial_ = false;
  bool held_ = false;               // spatial, read through probes of a field with held blocks, no per-step map
  std::vector<std::size_t> probe_;  // per target neuron: probe of m_ (spatial m_, no third_ map)
  double k_step_ = 0.0;             // int_0^dt e^{-s/tau_c} ds (ms)
  const ModulationMap* third_ = nullptr;
  const ModulationMap* lr_ = nullptr;
  const ModulationMap* ap_ = nullptr;
  const ModulationMap* am_ = nullptr;
  Step win0_ = 0, win1_ = 1;
  std::vector<double> apw_, amw_;
  struct Frame {
    Step t0;                 // T_n
    std::vector<double> g;   // g[i] = G_n at step T_n + i (uM ms), i <= interval_steps_
  };
  double decay(Step steps, double tau) const { return std::exp(-static_cast<double>(steps) * dt_ / tau); }
  double grow(Step steps, double tau) const { return std::exp(static_cast<double>(steps) * dt_ / tau); }
  // Tabulated e^{-k dt/tau} (and e^{+k dt/tau_c}) for the step counts that occur most, filled in
  // prepare() by the very functions above, so a lookup is bit-identical to the call it replaces
  // (no exp per event); longer spans fall back to the call.
  static bool in(const std::vector<double>& table, Step k) { return static_cast<std::uint64_t>(k) < table.size(); }
  double decay_plus(Step k) const { return in(dec_plus_, k) ? dec_plus_[static_cast<std::size_t>(k)] : decay(k, p_.tau_plus); }
  double decay_minus(Step k) const {
    return in(dec_minus_, k) ? dec_minus_[static_cast<std::size_t>(k)] : decay(k, p_.tau_minus);
  }
  double decay_c(Step k) const { return in(dec_c_, k) ? dec_c_[static_cast<std::size_t>(k)] : decay(k, p_.tau_c); }
  double grow_c(Step k) const { return in(grow_c_, k) ? grow_c_[static_cast<std::size_t>(k)] : grow(k, p_.tau_c); }
  void fill_tables();
  std::vector<double> dec_plus_, dec_minus_, dec_c_, grow_c_, wsum_;
  double clip(double w) const { return w < p_.w_min ? p_.w_min : (w > p_.w_max ? p_.w_max : w); }
  StdpEligibilityParams p_;
  const Modulator* m_ = nullptr;
  double dt_ = 0.1;
  Step interval_steps_ = 1;
  Step base_ = 0;                 // T_0
  std::deque<Frame> frames_;      // frames still referenced by some synapse, the last one open
  Step first_frame_ = 0;          // index n of frames_.front()
};

}  // namespace nmsim::models
