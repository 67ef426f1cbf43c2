#include "nmsim/modulators/grid_field.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "nmsim/core/rng.hpp"
#include "nmsim/core/simulation.hpp"

namespace nmsim::modulators {

namespace {
// Hot loops are compiled for AVX-512, AVX2 and the baseline; the loader picks the widest the CPU
// has (GCC function multi-versioning). They are element-wise with -ffp-contract=off (no FMA
// contraction, no reassociation), so every version gives the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define NMSIM_STENCIL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NMSIM_STENCIL_CLONES
#endif

// Sub-steps keep 2 D* h sum 1/h_a^2 at or below this: every stencil weight >= 1 - kCfl > 0.
constexpr double kCfl = 0.9;

// Heun's two stages go through a ring of three planes per thread for planes up to this many
// voxels (1.5 MB of ring per thread, in L2 for a 128^2 plane), through a whole-grid array above.
constexpr std::size_t kFusedPlane = 65536;

// Sum of one row in a fixed order that does not depend on threads or vector width: 8 interleaved
// partial sums (element i goes to lane i % 8), then the lanes pairwise, then the tail. A single
// running sum is one dependent add chain (latency-bound: it took longer than the stencil itself);
// 8 independent chains are written out, so the compiler may vectorise them without reordering
// (one AVX-512 or two AVX2 registers: the same bits as the scalar order).
NMSIM_STENCIL_CLONES double row_total(const double* o, std::size_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (std::size_t k = 0; k < 8; ++k) s[k] += o[i + k];
  double t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
  for (; i < n; ++i) t += o[i];
  return t;
}

// Concentrations below the smallest normal double (2.2e-308 uM) are set to 0 where each voxel is
// written. Without it, a field that decays after a release (no production) passes through the
// subnormal range for ~50 binades, where arithmetic runs at a fraction of its speed: a 64^3 sweep
// measured 2.2x slower with linear uptake on AMD Zen 5 (a field held at 1e-310 uM vs 1e-3 uM),
// and Intel cores take a microcode assist per subnormal result. The amount removed is below
// 2.2e-308 uM per voxel.
[[gnu::always_inline]] inline double flush_subnormal(double v) {
  return v < std::numeric_limits<double>::min() ? 0.0 : v;
}
}  // namespace

GridField::GridField(std::string name, GridFieldParams params) : Modulator(std::move(name)), p_(std::move(params)) {
  const std::string key = "modulator." + this->name();
  auto& g = p_.geometry;
  g.validate(key + ".field");
  if (!(p_.diffusion >= 0) || !std::isfinite(p_.diffusion))
    throw ConfigError({}, key + ".diffusion.coefficient",
                      fmt::format("expected a diffusion coefficient >= 0 um^2/ms, found {}", p_.diffusion));
  if (!(p_.tortuosity >= 1) || !std::isfinite(p_.tortuosity))
    throw ConfigError({}, key + ".diffusion.tortuosity",
                      fmt::format("expected a tortuosity >= 1, found {}", p_.tortuosity));
  if (!(p_.volume_fraction > 0 && p_.volume_fraction <= 1))
    throw ConfigError({}, key + ".field.volume_fraction",
                      fmt::format("expected a volume fraction in (0, 1], found {}", p_.volume_fraction));
  kin_ = Kinetics(p_.kinetics, key + ".uptake");
  if (p_.initial < 0 && !std::isfinite(kin_.steady_state()))
    throw ConfigError(
        {}, key + ".production",
        fmt::format("production {} uM/ms exceeds the largest clearance rate (vmax = {} uM/ms, no first-order "
                    "term): no steady state; give `initial`",
                    p_.kinetics.production, p_.kinetics.vmax));
  if (!(p_.field_dt >= 0) || !std::isfinite(p_.field_dt))
    throw ConfigError({}, key + ".field.dt", fmt::format("expected a time step >= 0 ms, found {}", p_.field_dt));
  for (int a = 0; a < 3; ++a)
    for (int s = 0; s < 2; ++s) {
      auto& b = p_.boundary[static_cast<std::size_t>(a)][static_cast<std::size_t>(s)];
      if (a >= g.dims) b = GridBoundary{};  // absent axes do not diffuse
      if (!(b.value >= 0) || !std::isfinite(b.value))
        throw ConfigError({}, key + ".field.boundary_value",
                          fmt::format("expected a concentration >= 0 uM, found {}", b.value));
    }
  for (int a = 0; a < g.dims; ++a) {
    const auto& b = p_.boundary[static_cast<std::size_t>(a)];
    if ((b[0].kind == GridBoundary::Kind::periodic) != (b[1].kind == GridBoundary::Kind::periodic))
      throw ConfigError({}, key + ".field.boundary", "a periodic boundary must be periodic on both faces of its axis");
  }
  for (std::size_t i = 0; i < p_.release.size(); ++i) {
    const auto& r = p_.release[i];
    const std::string rk = fmt::format("{}.release[{}]", key, i);
    if (!(r.quantum >= 0))
      throw ConfigError({}, rk + ".quantum", fmt::format("expected >= 0 uM um^3, found {}", r.quantum));
    if (!(r.probability >= 0 && r.probability <= 1))
      throw ConfigError({}, rk + ".probability",
                        fmt::format("expected a probability in [0, 1], found {}", r.probability));
  }
  dstar_ = p_.diffusion / (p_.tortuosity * p_.tortuosity);
}

DelaySteps GridField::release_delay() const {
  DelaySteps d = 65535;
  for (const auto& s : sources_) d = std::min<DelaySteps>(d, static_cast<DelaySteps>(std::min<Step>(s.delay, 65535)));
  return d;
}

void GridField::setup(double dt, std::uint64_t seed, Step now, int threads) {
  const std::string key = "modulator." + name();
  if (!(dt > 0)) throw ConfigError({}, "simulation.dt", fmt::format("expected dt > 0 ms, found {}", dt));
  dt_ = dt;
  seed_ = seed;
  set_threads(threads);
  const auto& g = p_.geometry;
  // Field step: m engine steps, or dt with at least n_min sub-steps.
  m_ = 1;
  int n_min = 1;
  if (p_.field_dt > 0) {
    const double ratio = p_.field_dt / dt;
    if (!(ratio <= 1e12 && ratio >= 1e-9))  // keeps the step counts below exact in their integer types
      throw ConfigError(
          {}, key + ".field.dt",
          fmt::format("expected a field step within [1e-9, 1e12] dt = {} ms, found {} ms", dt, p_.field_dt));
    if (ratio >= 1 - 1e-9) {
      if (std::fabs(ratio - std::round(ratio)) > 1e-6 * ratio)
        throw ConfigError(
            {}, key + ".field.dt",
            fmt::format("expected a multiple or an integer fraction of dt = {} ms, found {} ms", dt, p_.field_dt));
      m_ = std::max<Step>(1, std::llround(ratio));
    } else {
      const double inv = dt / p_.field_dt;
      if (std::fabs(inv - std::round(inv)) > 1e-6 * inv)
        throw ConfigError(
            {}, key + ".field.dt",
            fmt::format("expected a multiple or an integer fraction of dt = {} ms, found {} ms", dt, p_.field_dt));
      n_min = static_cast<int>(std::llround(inv));
    }
  }
  const double H = static_cast<double>(m_) * dt;
  double inv_h2 = 0.0;
  for (int a = 0; a < g.dims; ++a)
    inv_h2 += 1.0 / (g.spacing[static_cast<std::size_t>(a)] * g.spacing[static_cast<std::size_t>(a)]);
  double n_stab = 2.0 * dstar_ * H * inv_h2 / kCfl;
  if (n_stab > 1e9)
    throw ConfigError({}, key + ".field", fmt::format("{} sub-steps per field step: grid too fine", n_stab));
  n_sub_ = std::max(n_min, static_cast<int>(std::ceil(n_stab * (1 - 1e-12))));
  n_sub_ = std::max(n_sub_, 1);
  h_sub_ = H / n_sub_;
  for (int a = 0; a < 3; ++a) {
    const double h = g.spacing[static_cast<std::size_t>(a)];
    r_[static_cast<std::size_t>(a)] = a < g.dims ? dstar_ * h_sub_ / (h * h) : 0.0;
  }
  kin_.set_step(h_sub_);
  const double c0 = p_.initial >= 0 ? p_.initial : kin_.steady_state();
  c_.assign(g.size(), c0);
  tmp_.assign(g.size(), 0.0);
  row_sum_.assign(g.shape[1] * g.shape[2], 0.0);
  for (int a = 1; a < 3; ++a)
    for (int s = 0; s < 2; ++s) {
      const auto& b = p_.boundary[static_cast<std::size_t>(a)][static_cast<std::size_t>(s)];
      ghost_[static_cast<std::size_t>(a)][static_cast<std::size_t>(s)].assign(
          b.kind == GridBoundary::Kind::fixed ? g.shape[0] : 0, b.value);
    }
  sum_ = grid_sum();
  start_ = now;
  state_step_ = now;
  applied_ = now - 1;
  next_ = now;
  pending_.clear();
  reset_probes();
}

void GridField::reset_probes() {
  cells_.clear();
  for (const Position& pr : probes()) cells_.push_back(p_.geometry.cell(pr));
  probe_order_.clear();
  row0_holds_ = -1;
  cur_probe_.assign(probes().size(), 0.0);
}

void GridField::prepare(const Simulation& sim) {
  // Releases scheduled before the first run (release_at*, before setup) are kept.
  auto scheduled = std::move(pending_);
  setup(sim.dt(), sim.seed(), sim.now(), p_.threads > 0 ? p_.threads : sim.threads());
  for (auto& [step, d] : scheduled) {  // keyed by their own step before setup (m = 1, start 0)
    Deposit& to = pending_[block_key(std::max(step, start_))];
    to.uniform += d.uniform;
    to.points.insert(to.points.end(), d.points.begin(), d.points.end());
  }
  const auto& g = p_.geometry;
  sources_.clear();
  for (std::size_t i = 0; i < p_.release.size(); ++i) {
    const auto& r = p_.release[i];
    const std::string rk = fmt::format("modulator.{}.release[{}]", name(), i);
    if (!sim.has_population(r.population))
      throw ConfigError({}, rk + ".source",
                        fmt::format("expected the name of a population, found \"{}\"", r.population));
    const Population& pop = sim.population(r.population);
    const double steps = r.delay / dt_;
    if (steps < 1 - 1e-9 || std::fabs(steps - std::round(steps)) > 1e-6 * std::max(1.0, steps))
      throw ConfigError({}, rk + ".delay",
                        fmt::format("expected a multiple of dt = {} ms, >= dt, found {} ms", dt_, r.delay));
    if (pop.positions().size() != pop.size())
      throw ConfigError({}, rk + ".source",
                        fmt::format("population \"{}\" releases into a grid field but has no positions", r.population));
    Source src{pop.index(),
               static_cast<Step>(std::llround(steps)),
               r.quantum / (p_.volume_fraction * g.voxel_volume()),
               r.probability,
               purpose_id("release/" + name() + "/" + r.population),
               {}};
    src.voxel.reserve(pop.size());
    for (std::size_t n = 0; n < pop.size(); ++n) {
      const auto& x = pop.positions()[n];
      const auto v = g.voxel_of(x);
      if (!v)
        throw ConfigError({}, rk + ".source",
                          fmt::format("neuron {} of \"{}\" at ({}, {}, {}) um lies outside the grid", n, r.population,
                                      x[0], x[1], x[2]));
      src.voxel.push_back(*v);
    }
    sources_.push_back(std::move(src));
  }
}

void GridField::set_concentration(std::span<const double> c) {
  if (c.size() != c_.size())
    throw RuntimeError(fmt::format("modulator {}: expected {} voxel values, found {}", name(), c_.size(), c.size()));
  for (double v : c)
    if (!(v >= 0)) throw RuntimeError(fmt::format("modulator {}: concentrations must be >= 0 uM, found {}", name(), v));
  std::copy(c.begin(), c.end(), c_.begin());
  sum_ = grid_sum();
}

double GridField::sample(const Position& where) const {
  const GridGeometry& g = p_.geometry;
  return GridGeometry::interpolate(c_.data(), g.cell(where), g.corner_strides());
}

double GridField::grid_sum() const {
  // Per row, then over rows: the same order as the fused sums of sweep().
  const std::size_t nx = p_.geometry.shape[0], rows = p_.geometry.shape[1] * p_.geometry.shape[2];
  double total = 0.0;
  for (std::size_t r = 0; r < rows; ++r) total += row_total(c_.data() + r * nx, nx);
  return total;
}

Step GridField::block_key(Step s) const {
  const Step d = s - start_;
  return start_ + (d + m_ - 1) / m_ * m_;
}

GridField::Deposit& GridField::deposit_at(Step step, const char* what) {
  if (step < next_)
    throw RuntimeError(fmt::format("modulator {}: {} at t = {} ms is in the past (the field is at {} ms)", name(), what,
                                   static_cast<double>(step) * dt_, static_cast<double>(next_) * dt_));
  return pending_[block_key(step)];
}

void GridField::release_at(Step step, double amount) {
  if (!(amount >= 0)) throw RuntimeError(fmt::format("modulator {}: release of {} uM: expected >= 0", name(), amount));
  deposit_at(step, "release").uniform += amount;
}

void GridField::release_at_point(Step step, const Position& where, double amount) {
  if (!(amount >= 0))
    throw RuntimeError(fmt::format("modulator {}: release of {} uM um^3: expected >= 0", name(), amount));
  const auto v = p_.geometry.voxel_of(where);
  if (!v)
    throw RuntimeError(fmt::format("modulator {}: release at ({}, {}, {}) um lies outside the grid", name(), where[0],
                                   where[1], where[2]));
  deposit_at(step, "release").points.emplace_back(*v, amount / (p_.volume_fraction * p_.geometry.voxel_volume()));
}

void GridField::release_in_box(Step step, const Position& lo, const Position& hi, double amount) {
  if (!(amount >= 0)) throw RuntimeError(fmt::format("modulator {}: release of {} uM: expected >= 0", name(), amount));
  Deposit& d = deposit_at(step, "release");
  const auto& g = p_.geometry;
  std::array<std::size_t, 3> a{0, 0, 0}, b{1, 1, 1};
  for (int ax = 0; ax < g.dims; ++ax) {
    const auto u = static_cast<std::size_t>(ax);
    const double x0 = std::ceil((lo[u] - g.origin[u]) / g.spacing[u] - 1e-9);
    const double x1 = std::floor((hi[u] - g.origin[u]) / g.spacing[u] + 1e-9);
    const double n1 = static_cast<double>(g.shape[u]) - 1;
    if (x1 < 0 || x0 > n1 || x1 < x0) return;  // no centre inside
    a[u] = static_cast<std::size_t>(std::max(0.0, x0));
    b[u] = static_cast<std::size_t>(std::min(n1, x1)) + 1;
  }
  for (std::size_t l = a[2]; l < b[2]; ++l)
    for (std::size_t j = a[1]; j < b[1]; ++j)
      for (std::size_t i = a[0]; i < b[0]; ++i) d.points.emplace_back(g.index(i, j, l), amount);
}

void GridField::on_spikes(std::span<const Spike> spikes) {
  for (const Spike& s : spikes)
    for (const Source& src : sources_) {
      if (s.population != src.population) continue;
      if (src.probability < 1.0) {
        RandomStream rng(seed_, src.purpose, s.neuron, static_cast<std::uint64_t>(s.step));
        if (rng.uniform() >= src.probability) continue;
      }
      pending_[block_key(s.step + 1 + src.delay)].points.emplace_back(src.voxel[s.neuron], src.increment);
    }
}

void GridField::apply_deposits(Step k) {
  auto it = pending_.find(k);
  if (it == pending_.end()) return;
  const Deposit& d = it->second;
  if (d.uniform != 0.0) {
    for (double& v : c_) v += d.uniform;
    sum_ += d.uniform * static_cast<double>(c_.size());
  }
  for (const auto& [idx, inc] : d.points) {
    c_[idx] += inc;
    sum_ += inc;
  }
  pending_.erase(it);
}

void GridField::sample_probes(const double* c, std::size_t r0, std::size_t r1) {
  const auto st = p_.geometry.corner_strides();
  // The 4 cache lines of the probe kAhead places further on are requested in advance (the probes
  // are in grid order, but ~26 voxels apart for 10 100 neurons in a 64^3 grid).
  constexpr std::size_t kAhead = 16;
  auto request = [&](std::size_t r) {
    const double* a = c + sorted_cells_[r].lo;
    __builtin_prefetch(a);
    __builtin_prefetch(a + st[1]);
    __builtin_prefetch(a + st[2]);
    __builtin_prefetch(a + st[1] + st[2]);
  };
  for (std::size_t r = r0; r < std::min(r0 + kAhead, r1); ++r) request(r);
  for (std::size_t r = r0; r < r1; ++r) {
    if (r + kAhead < r1) request(r + kAhead);
    cur_probe_[probe_order_[r]] = GridGeometry::interpolate(c, sorted_cells_[r], st);
  }
}

void GridField::sample_all_probes(bool parallel) {
  const std::size_t np = sorted_cells_.size();
  const int parts = parallel && np >= 4096 ? threads_ : 1;
  // Each thread samples a contiguous run of probes in grid order: those in the slab of the grid it
  // has just swept (the sweep's static schedule), still in its caches. Each value is computed
  // alone, so the split does not change any bit.
#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
  for (int t = 0; t < parts; ++t) {
    const auto tt = static_cast<std::size_t>(t), n = static_cast<std::size_t>(parts);
    sample_probes(c_.data(), np * tt / n, np * (tt + 1) / n);
  }
}

void GridField::save_state(StateWriter& w) const {
  w.write("c", c_);
  w.scalar("sum", sum_);
  w.scalar("start", start_);
  w.scalar("state_step", state_step_);
  w.scalar("applied", applied_);
  w.scalar("next", next_);
  w.scalar("current_mean", cur_mean_);
  w.write("current_probe", cur_probe_);
  std::vector<Step> at;
  std::vector<double> uniform, inc;
  std::vector<std::uint64_t> count, voxel;
  for (const auto& [k, d] : pending_) {
    at.push_back(k);
    uniform.push_back(d.uniform);
    count.push_back(d.points.size());
    for (const auto& [v, x] : d.points) voxel.push_back(v), inc.push_back(x);
  }
  w.write("pending_step", at);
  w.write("pending_uniform", uniform);
  w.write("pending_points", count);
  w.write("pending_voxel", voxel);
  w.write("pending_increment", inc);
}

void GridField::restore_state(const StateReader& r) {
  r.read_into("c", c_);
  sum_ = r.scalar<double>("sum");
  start_ = r.scalar<Step>("start");
  state_step_ = r.scalar<Step>("state_step");
  applied_ = r.scalar<Step>("applied");
  next_ = r.scalar<Step>("next");
  cur_mean_ = r.scalar<double>("current_mean");
  // Probes registered after setup() (recorders) get their cells now, so that advance() keeps
  // the restored probe values instead of resetting them.
  reset_probes();
  r.read_into("current_probe", cur_probe_);
  const auto at = r.read<Step>("pending_step");
  std::vector<double> uniform(at.size());
  std::vector<std::uint64_t> count(at.size());
  r.read_into("pending_uniform", uniform);
  r.read_into("pending_points", count);
  const auto voxel = r.read<std::uint64_t>("pending_voxel");
  std::vector<double> inc(voxel.size());
  r.read_into("pending_increment", inc);
  pending_.clear();
  std::size_t e = 0;
  for (std::size_t i = 0; i < at.size(); ++i) {
    Deposit& d = pending_[at[i]];
    d.uniform = uniform[i];
    if (count[i] > voxel.size() - e) r.fail("pending_points", "more points than stored");
    for (std::uint64_t n = 0; n < count[i]; ++n, ++e) {
      if (voxel[e] >= c_.size()) r.fail("pending_voxel", "voxel index out of range");
      d.points.emplace_back(static_cast<std::size_t>(voxel[e]), inc[e]);
    }
  }
  if (e != voxel.size()) r.fail("pending_points", "fewer points than stored");
}

Modulator::FieldView GridField::field_view() const {
  const GridGeometry& g = p_.geometry;
  FieldView v;
  v.shape = {g.shape[0], g.shape[1], g.shape[2]};
  v.origin = g.origin;
  v.spacing = g.spacing;
  v.values = c_;
  return v;
}

void GridField::advance(Step from, Step to) {
  set_window(from, to);
  const std::size_t np = probes().size();
  if (cells_.size() != np) reset_probes();  // probes added after setup
  if (probe_order_.size() != np) {
    // Probes in grid order: the samples then walk the grid nearly sequentially (neurons at random
    // positions made every sample a cache miss). Each probe's value is computed as before.
    probe_order_.resize(np);
    for (std::size_t q = 0; q < np; ++q) probe_order_[q] = q;
    std::stable_sort(probe_order_.begin(), probe_order_.end(),
                     [&](std::size_t a, std::size_t b) { return cells_[a].lo < cells_[b].lo; });
    sorted_cells_.clear();
    for (const std::size_t q : probe_order_) sorted_cells_.push_back(cells_[q]);
  }
  // One row of probe pieces per field step of the window (the probe values are constant over a
  // field step): with field.dt = m dt this writes m times fewer rows (10 100 probes, m = 10: 240 KB
  // per field step instead of per engine step). probe_row(k) maps k to its field step's row.
  // Windows are often shorter than a field step (a window is the minimum delay): a window that
  // starts inside the field step whose values row 0 already holds (the previous window lay within
  // it) keeps that row instead of writing 240 KB again (10 100 probes; once per window before).
  const Step first_row = (from - start_) / m_;
  const bool keep_row0 = m_ > 1 && first_row == row0_holds_ && probe_pieces_.size() >= np;
  row0_ = first_row;
  probe_pieces_.resize(static_cast<std::size_t>((to - 1 - start_) / m_ - row0_ + 1) * np);
  for (Step k = from; k < to; ++k) {
    if (k == state_step_ && applied_ < k) {
      // A block boundary: the releases that arrived since the last one, then the field step, then
      // the probes. Readers of the block see the state at its end, so a release (arriving on
      // average half a block before the boundary) is seen at the age it has on average over the
      // block: centred in time. Readers of the old order (the state after the releases, before the
      // step) saw every cloud one field step late (field_dt_accuracy: peak at 20 um +11 ms at
      // field.dt = 10 ms, now +1.1 ms).
      apply_deposits(k);
      applied_ = k;
      const bool sampled = step_field();
      state_step_ += m_;
      cur_mean_ = mean();
      // Outside the engine's region a large field's samples are split over its threads, each
      // taking the slab it has just swept (2-thread network bench: overhead +35 % instead of
      // +46-49 % when they were taken inside the region). One thread costs the same (~6 ns per
      // probe, load latency, 64^3).
      if (!sampled) sample_all_probes(parallel_advance());
    }
    mutable_piece(k) = {cur_mean_, 0.0, 0.0};
    if ((k == from && !keep_row0) || (k != from && (k - start_) % m_ == 0)) {
      LevelPiece* row = probe_pieces_.data() + row_of(k) * np;
      for (std::size_t q = 0; q < np; ++q) row[q] = {cur_probe_[q], 0.0, 0.0};
    }
  }
  // Row 0 can serve the next window only if this one lay within one field step.
  row0_holds_ = (to - 1 - start_) / m_ == first_row ? first_row : -1;
  next_ = to;
}

bool GridField::step_field() {
  bool sampled = false;
  for (int s = 0; s < n_sub_; ++s) {
    const bool last = s + 1 == n_sub_;
    if (p_.scheme == GridScheme::heun) {
      // Heun's method as two Euler stages averaged: C' = R_h((C + E(E(C))) / 2), E the FTCS
      // diffusion step. Each stage is the same convex combination as the Euler scheme's, so the
      // result stays >= 0 and conserves mass; it is second order in h for the diffusion.
      if (heun_fused()) {
        sweep_heun_fused(c_.data(), tmp_.data(), last, last);
        sampled = last;
      } else {
        if (stage_.size() != c_.size()) stage_.assign(c_.size(), 0.0);  // once
        sweep(c_.data(), stage_.data(), nullptr, false, false);
        sweep(stage_.data(), tmp_.data(), c_.data(), true, last);
      }
    } else {
      sweep(c_.data(), tmp_.data(), nullptr, true, last);
    }
    c_.swap(tmp_);
  }
  double total = 0.0;
  for (double r : row_sum_) total += r;
  sum_ = total;
  return sampled;
}

namespace {

// linear, series: fused into the stencil; none: a row pass follows (series_row or Kinetics::step);
// diffusion: no reaction (the first stage of Heun's step).
enum class Reaction { linear, series, none, diffusion };

// Voxels [i0, i1) of a row (relative to the pointers): the 7-point stencil with the fused
// reaction step. ym/yp/zm/zp point at the neighbour voxels of element 0; c[i - 1] and c[i + 1] are
// the x neighbours (wrong at row ends, which the caller overwrites). With the fused order-4
// series the caller passes the whole row [0, n) where c[-1] and c[n] exist (every row but the
// grid's first and last), so that a row of 64 is 8 full vectors: the interior [1, n - 1) left 6
// voxels per row to the scalar loop, 2.0 instead of 1.45 ns per voxel on a 64^3 grid. For the
// affine step and the unfused reactions the interior was ~2 % faster (measured, 64^3). Branch-free
// and without aliasing (restrict), so it vectorises (multi-versioned, see above). With Avg (the
// second stage of Heun's step) the diffused value is averaged with `base`, the sub-step's start.
template <Reaction R, bool Avg>
NMSIM_STENCIL_CLONES void stencil_run(const double* __restrict c, const double* __restrict ym,
                                      const double* __restrict yp, const double* __restrict zm,
                                      const double* __restrict zp, const double* __restrict base, double* __restrict o,
                                      std::size_t i0, std::size_t i1, const std::array<double, 4>& w, double ka,
                                      double kb, const Kinetics& kin) {
  const double c0 = w[0], rx = w[1], ry = w[2], rz = w[3];
  auto voxel = [&](std::size_t i) {
    double d = c0 * c[i] + rx * (c[i - 1] + c[i + 1]) + ry * (ym[i] + yp[i]) + rz * (zm[i] + zp[i]);
    if constexpr (Avg) d = 0.5 * (base[i] + d);
    if constexpr (R == Reaction::linear)
      o[i] = flush_subnormal(ka * d + kb);
    else if constexpr (R == Reaction::series)
      o[i] = flush_subnormal(kin.step_series(d));
    else if constexpr (R == Reaction::diffusion)
      o[i] = flush_subnormal(d);
    else
      o[i] = d;  // the reaction and the flush follow in a row pass
  };
  // The loop is bound by the latency of the two streams that come from beyond L2: the next plane
  // (zp) and the output lines (write-allocate); the other five loads hit lines that zp brought in
  // one or two planes earlier. Software prefetch kAhead voxels (8 KB) ahead on both keeps enough
  // misses in flight (measured 1.4e9 -> 2.4e9 voxels/s on one core of the 128^3 bench). The
  // prefetch address may lie past the arrays (a prefetch never faults), hence the integer arithmetic.
  constexpr std::size_t kBlock = 8, kAhead = 1024;
  auto ahead = [](const double* q) {
    return reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(q) + kAhead * sizeof(double));
  };
  std::size_t i = i0;
  for (; i + kBlock <= i1; i += kBlock) {
    __builtin_prefetch(ahead(zp + i), 0, 3);
    __builtin_prefetch(ahead(o + i), 1, 3);
    for (std::size_t k = i; k < i + kBlock; ++k) voxel(k);
  }
  for (; i < i1; ++i) voxel(i);
}

// Kinetics::step on a row (the same operations in the same order per voxel, so the same bits as
// Kinetics::step; each loop vectorises). In chunks of up to 64 voxels: the affine half steps
// around the near polynomial for all (its linear part alone when every voxel of the chunk lies
// within the linear radius: the same bits), and the series pieces only when a voxel of the chunk
// lies outside the near radius (a field is at its steady state almost everywhere, away from
// recent releases); each voxel takes the result of its own path.
template <int N>
[[gnu::always_inline]] inline void saturable_row(double* __restrict o, std::size_t n, const Kinetics& kin) {
  constexpr std::size_t kChunk = 64;
  const double a = kin.half_a(), b = kin.half_b(), ref = kin.near_ref(), radius = kin.near_radius();
  const double linear = kin.near_linear_radius();
  for (std::size_t i0 = 0; i0 < n; i0 += kChunk) {
    const std::size_t m = std::min(kChunk, n - i0);
    double* __restrict x = o + i0;
    // A chunk within the linear radius takes the linear part alone (the same bits as mm_near,
    // kinetics.hpp, without its subnormal powers). Tested only when its first voxel is: elsewhere
    // the test would cost a pass (+6 % on a 64^3 sweep).
    if (std::fabs(a * x[0] + b - ref) <= linear) {
      int n_poly = 0;
      for (std::size_t k = 0; k < m; ++k) n_poly += std::fabs(a * x[k] + b - ref) > linear;
      if (n_poly == 0) {
        for (std::size_t k = 0; k < m; ++k) x[k] = flush_subnormal(a * kin.mm_near_linear(a * x[k] + b) + b);
        continue;
      }
    }
    double u[kChunk];
    int n_far = 0;
    for (std::size_t k = 0; k < m; ++k) {
      u[k] = a * x[k] + b;
      x[k] = flush_subnormal(a * kin.mm_near(u[k]) + b);
      n_far += std::fabs(u[k] - ref) > radius;
    }
    if (n_far == 0) continue;
    double far[kChunk];
    for (std::size_t k = 0; k < m; ++k) far[k] = u[k];
    for (int p = 0; p < kin.series_pieces(); ++p)
      for (std::size_t k = 0; k < m; ++k) far[k] = kin.mm_piece<N>(far[k]);
    for (std::size_t k = 0; k < m; ++k)
      if (std::fabs(u[k] - ref) > radius) x[k] = flush_subnormal(a * far[k] + b);
  }
}

NMSIM_STENCIL_CLONES void series_row(double* __restrict o, std::size_t n, const Kinetics& kin) {
  switch (kin.series_order()) {
    case 4:
      saturable_row<4>(o, n, kin);
      break;
    case 8:
      saturable_row<8>(o, n, kin);
      break;
    case 10:
      saturable_row<10>(o, n, kin);
      break;
    default:
      saturable_row<12>(o, n, kin);
  }
}

// One row pass of a sweep: the geometry, weights, boundaries and reaction of a field step, and
// the row kernels every pass shares (Euler, Heun's stages separately or fused per plane).
struct RowKernel {
  using K = GridBoundary::Kind;
  std::size_t nx, ny, nz, np;
  double c0, rx, ry, rz;
  const std::array<std::array<GridBoundary, 2>, 3>& B;
  const std::array<std::array<std::vector<double>, 2>, 3>& ghost;
  const Kinetics& kin;
  double ka, kb;
  Reaction reaction;  // of the pass that ends a sub-step
  bool pieces;        // series_row after the stencil

  // Neighbour row of `self` (pointer to its first voxel, row j of plane l) across a face: the
  // real row, the row itself (no-flux: zero flux), the wrapped row (periodic) or the constant
  // ghost row (fixed). `plane` is the stride between planes of the array `self` lies in.
  const double* neighbour(int axis, int side, std::size_t j, std::size_t l, const double* self,
                          std::size_t plane) const {
    const std::size_t n = axis == 1 ? ny : nz;
    const std::size_t pos = axis == 1 ? j : l;
    const std::size_t stride = axis == 1 ? nx : plane;
    if (side == 0 && pos > 0) return self - stride;
    if (side == 1 && pos + 1 < n) return self + stride;
    const auto& b = B[static_cast<std::size_t>(axis)][static_cast<std::size_t>(side)];
    if (b.kind == K::no_flux) return self;
    if (b.kind == K::fixed) return ghost[static_cast<std::size_t>(axis)][static_cast<std::size_t>(side)].data();
    return side == 0 ? self + (n - 1) * stride : self - (n - 1) * stride;  // periodic
  }

  template <bool Avg>
  void run_as(Reaction r, const double* c, const double* ym, const double* yp, const double* zm, const double* zp,
              const double* b, double* o, std::size_t i0, std::size_t i1) const {
    const std::array<double, 4> w{c0, rx, ry, rz};
    switch (r) {
      case Reaction::linear:
        stencil_run<Reaction::linear, Avg>(c, ym, yp, zm, zp, b, o, i0, i1, w, ka, kb, kin);
        break;
      case Reaction::series:
        stencil_run<Reaction::series, Avg>(c, ym, yp, zm, zp, b, o, i0, i1, w, ka, kb, kin);
        break;
      case Reaction::none:
        stencil_run<Reaction::none, Avg>(c, ym, yp, zm, zp, b, o, i0, i1, w, ka, kb, kin);
        break;
      case Reaction::diffusion:
        if constexpr (!Avg) stencil_run<Reaction::diffusion, false>(c, ym, yp, zm, zp, b, o, i0, i1, w, ka, kb, kin);
        break;
    }
  }

  // One row: the interior (stencil_run) and the two x faces, by the same expression. `whole`:
  // c[-1] and c[nx] exist, so the fused series and the diffusion alone take the whole row as full
  // vectors and the faces are then overwritten (Heun's first stage: 1.63 -> 1.54 ns per voxel for
  // both stages, 64^3 DA; for Euler's affine step and unfused reactions the interior alone was as
  // fast or ~2 % faster).
  void row(bool whole, const double* c, const double* ym, const double* yp, const double* zm, const double* zp,
           const double* b, double* o) const {
    const Reaction r = reaction;
    whole = whole && (r == Reaction::series || r == Reaction::diffusion);
    const std::size_t i0 = whole ? 0 : 1, i1 = whole ? nx : (nx > 1 ? nx - 1 : 1);
    if (i1 > i0) {
      if (b)
        run_as<true>(r, c, ym, yp, zm, zp, b, o, i0, i1);
      else
        run_as<false>(r, c, ym, yp, zm, zp, b, o, i0, i1);
    }
    const K xlo = B[0][0].kind, xhi = B[0][1].kind;
    const double xlo_v = B[0][0].value, xhi_v = B[0][1].value;
    auto x_outside = [&](K kind, double value, double self, double wrap) {
      return kind == K::no_flux ? self : kind == K::fixed ? value : wrap;
    };
    auto diffuse = [&](std::size_t i, double xm, double xp) {
      const double d = c0 * c[i] + rx * (xm + xp) + ry * (ym[i] + yp[i]) + rz * (zm[i] + zp[i]);
      return b ? 0.5 * (b[i] + d) : d;
    };
    auto react = [&](double d) {
      return r == Reaction::linear      ? flush_subnormal(ka * d + kb)
             : r == Reaction::series    ? flush_subnormal(kin.step_series(d))
             : r == Reaction::diffusion ? flush_subnormal(d)
                                        : d;
    };
    if (nx == 1) {
      o[0] = react(diffuse(0, x_outside(xlo, xlo_v, c[0], c[0]), x_outside(xhi, xhi_v, c[0], c[0])));
    } else {
      o[0] = react(diffuse(0, x_outside(xlo, xlo_v, c[0], c[nx - 1]), c[1]));
      o[nx - 1] = react(diffuse(nx - 1, c[nx - 2], x_outside(xhi, xhi_v, c[nx - 1], c[0])));
    }
  }

  // The passes that read a row's output back: the reaction when it is not fused, then the row's
  // sum (to *sum). They run one row later: read at once, a vector load spanning the scalar stores
  // of the row ends (and the stencil's stores at another offset) cannot be forwarded from the store
  // queue and waits for them to reach L1, twice per row. One row later they are there (a 32^3
  // sweep: row_total took 27 % of it).
  void finish(double* o, double* sum) const {
    if (reaction != Reaction::diffusion) {
      if (pieces)
        series_row(o, nx, kin);
      else if (reaction == Reaction::none)
        for (std::size_t i = 0; i < nx; ++i) o[i] = flush_subnormal(kin.step(o[i]));
    }
    if (sum) *sum = row_total(o, nx);
  }
};

// The kernel of a sub-step's passes. With `react`, the last pass applies the reaction: fused
// into the stencil (the affine step, or a one-piece series of order 4), or in a row pass after
// it (longer series, each piece a vectorised pass over the row in L1; the Lambert W step voxel by
// voxel).
RowKernel make_kernel(const GridGeometry& g, const std::array<double, 3>& r,
                      const std::array<std::array<GridBoundary, 2>, 3>& boundary,
                      const std::array<std::array<std::vector<double>, 2>, 3>& ghost, const Kinetics& kin, bool react) {
  const std::size_t nx = g.shape[0], ny = g.shape[1], nz = g.shape[2];
  const Reaction reaction = !react                 ? Reaction::diffusion
                            : !kin.saturable()     ? Reaction::linear
                            : kin.series_fusable() ? Reaction::series
                                                   : Reaction::none;
  return RowKernel{nx,
                   ny,
                   nz,
                   nx * ny,
                   1.0 - 2.0 * (r[0] + r[1] + r[2]),  // >= 1 - kCfl
                   r[0],
                   r[1],
                   r[2],
                   boundary,
                   ghost,
                   kin,
                   kin.affine_a(),
                   kin.affine_b(),
                   reaction,
                   react && kin.saturable() && kin.series() && !kin.series_fusable()};
}

}  // namespace

void GridField::sweep(const double* in, double* out, const double* mean_with, bool react, bool sums) {
  const RowKernel rk = make_kernel(p_.geometry, r_, p_.boundary, ghost_, kin_, react);
  const std::size_t nx = rk.nx, ny = rk.ny, nz = rk.nz, np = rk.np, rows = ny * nz;
  double* row_sum = row_sum_.data();
  // Row by row: the interior and the two x faces, the reaction if it is not fused, and the row
  // sum, while the row is in L1 (one pass over the plane per sweep; a plane-long stencil run
  // followed by a second pass for faces and sums was 1.6x slower). Work units: `rows_per_unit`
  // consecutive rows of one z-plane (~16384 voxels: a 128^2 plane), in memory order, so the static
  // schedule gives each thread one z-slab. Each output depends only on old values, so the split
  // does not change any bit.
  const std::size_t rows_per_unit = std::min(ny, std::max<std::size_t>(1, 16384 / nx));
  const std::size_t units_per_plane = (ny + rows_per_unit - 1) / rows_per_unit;
  const auto units = static_cast<std::ptrdiff_t>(units_per_plane * nz);
  const bool parallel = sweeps_in_parallel();
#pragma omp parallel for schedule(static) num_threads(threads_) if (parallel)
  for (std::ptrdiff_t u = 0; u < units; ++u) {
    const auto uu = static_cast<std::size_t>(u);
    const std::size_t l = uu / units_per_plane;
    const std::size_t j0 = uu % units_per_plane * rows_per_unit, j1 = std::min(ny, j0 + rows_per_unit);
    const std::size_t base = l * np;
    auto finish = [&](std::size_t j) { rk.finish(out + base + j * nx, sums ? row_sum + l * ny + j : nullptr); };
    for (std::size_t j = j0; j < j1; ++j) {
      const double* c = in + base + j * nx;
      const std::size_t row = l * ny + j;
      rk.row(row > 0 && row + 1 < rows, c, rk.neighbour(1, 0, j, l, c, np), rk.neighbour(1, 1, j, l, c, np),
             rk.neighbour(2, 0, j, l, c, np), rk.neighbour(2, 1, j, l, c, np),
             mean_with ? mean_with + base + j * nx : nullptr, out + base + j * nx);
      if (j > j0) finish(j - 1);
    }
    if (j1 > j0) finish(j1 - 1);
  }
}

bool GridField::heun_fused() const {
  const auto& g = p_.geometry;
  return g.shape[0] * g.shape[1] <= kFusedPlane &&
         (g.shape[2] == 1 || p_.boundary[2][0].kind != GridBoundary::Kind::periodic);
}

void GridField::sweep_heun_fused(const double* in, double* out, bool sums, bool sample) {
  // Both stages of Heun's step in one pass over the grid, plane by plane: the first stage E(C) of
  // plane l + 1 into a ring of three planes, then the second of plane l, which needs E(C) of planes
  // l - 1..l + 1, from the ring (in L2), and C of plane l. C is read from memory once and C' written
  // once, as in an Euler sweep; the two-pass form wrote and read E(C) through memory (a 64^3 DA
  // field: 1.8 ns per voxel against Euler's 1.05). Each thread takes a slab of planes and computes
  // the first stage of the planes on either side of it as well (the same values as its neighbour's):
  // every value is computed by the same expression, so the bits equal the two-pass form's.
  const RowKernel stage1 = make_kernel(p_.geometry, r_, p_.boundary, ghost_, kin_, false);
  const RowKernel stage2 = make_kernel(p_.geometry, r_, p_.boundary, ghost_, kin_, true);
  const std::size_t nx = stage2.nx, ny = stage2.ny, nz = stage2.nz, np = stage2.np;
  const bool parallel = sweeps_in_parallel();
  const int parts = parallel ? static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(threads_), nz)) : 1;
  if (stage_.size() < static_cast<std::size_t>(parts) * 3 * np)
    stage_.assign(static_cast<std::size_t>(parts) * 3 * np, 0.0);
  double* row_sum = row_sum_.data();
  // Probes sampled in the pass: a probe whose cell starts in plane p reads planes p and p + 1
  // (p alone with one plane), so it is sampled once the thread has done both; those whose second
  // plane another thread does are sampled after. The gain is the split over threads (2-thread
  // network bench +25-26 % -> +21-22 %); one thread still takes ~6 ns per probe.
  const std::size_t z_reach = p_.geometry.corner_strides()[2] > 0 ? 1 : 0;
  auto probes_from = [&](std::size_t plane) {  // first probe (grid order) whose cell starts at or after plane
    return static_cast<std::size_t>(
        std::lower_bound(sorted_cells_.begin(), sorted_cells_.end(), plane * np,
                         [](const GridGeometry::Cell& c, std::size_t lo) { return c.lo < lo; }) -
        sorted_cells_.begin());
  };
#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
  for (int t = 0; t < parts; ++t) {
    const auto tt = static_cast<std::size_t>(t), n = static_cast<std::size_t>(parts);
    const std::size_t l0 = nz * tt / n, l1 = nz * (tt + 1) / n;
    double* ring = stage_.data() + tt * 3 * np;
    auto slot = [&](std::size_t l) { return ring + (l % 3) * np; };
    auto first_stage = [&](std::size_t l) {
      const double* plane = in + l * np;
      double* o = slot(l);
      for (std::size_t j = 0; j < ny; ++j) {
        const double* c = plane + j * nx;
        const std::size_t row = l * ny + j;
        stage1.row(row > 0 && row + 1 < ny * nz, c, stage1.neighbour(1, 0, j, l, c, np),
                   stage1.neighbour(1, 1, j, l, c, np), stage1.neighbour(2, 0, j, l, c, np),
                   stage1.neighbour(2, 1, j, l, c, np), nullptr, o + j * nx);
      }
    };
    auto second_stage = [&](std::size_t l) {
      const double* e = slot(l);
      // The z neighbours of the first stage: the ring's planes, or across a face what neighbour()
      // gives (periodic z with nz > 1 takes the two-pass form, so a wrap stays in the plane).
      auto z_row = [&](int side, std::size_t j) -> const double* {
        const bool inside = side == 0 ? l > 0 : l + 1 < nz;
        return inside ? slot(side == 0 ? l - 1 : l + 1) + j * nx : stage2.neighbour(2, side, j, l, e + j * nx, np);
      };
      auto finish = [&](std::size_t j) { stage2.finish(out + l * np + j * nx, sums ? row_sum + l * ny + j : nullptr); };
      for (std::size_t j = 0; j < ny; ++j) {
        const double* c = e + j * nx;
        // Rows 0 and ny - 1 of a ring plane have no c[-1] or c[nx] of their own (not whole).
        stage2.row(j > 0 && j + 1 < ny, c, stage2.neighbour(1, 0, j, l, c, np), stage2.neighbour(1, 1, j, l, c, np),
                   z_row(0, j), z_row(1, j), in + l * np + j * nx, out + l * np + j * nx);
        if (j > 0) finish(j - 1);
      }
      finish(ny - 1);
    };
    if (l1 > l0) {
      if (l0 > 0) first_stage(l0 - 1);
      first_stage(l0);
      for (std::size_t l = l0; l < l1; ++l) {
        if (l + 1 < nz) first_stage(l + 1);
        second_stage(l);
        if (sample && l >= l0 + z_reach) sample_probes(out, probes_from(l - z_reach), probes_from(l - z_reach + 1));
      }
    }
  }
  if (sample && z_reach > 0)  // cells that start in a slab's last plane, read the next slab's first
    for (int t = 0; t + 1 < parts; ++t) {
      const std::size_t l1 = nz * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(parts);
      if (l1 > 0) sample_probes(out, probes_from(l1 - 1), probes_from(l1));
    }
}

}  // namespace nmsim::modulators
