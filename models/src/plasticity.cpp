#include <cmath>

#include <fmt/format.h>

#include "nmsim/core/registry.hpp"
#include "nmsim/models/plastic_projection.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/models/stdp.hpp"
#include "nmsim/models/stdp_eligibility.hpp"
#include "nmsim/models/stdp_triplet.hpp"

namespace nmsim::models {

namespace {

// mu from dependence = "additive" | "multiplicative" | "gutig" (+ mu).
double read_mu(const ParamTable& t) {
  const std::string dep = t.choice("dependence", "additive", {"additive", "multiplicative", "gutig"});
  if (dep == "additive") {
    if (t.has("mu")) t.fail("mu", "mu goes with dependence = \"gutig\"");
    return 0.0;
  }
  if (dep == "multiplicative") {
    if (t.has("mu")) t.fail("mu", "mu goes with dependence = \"gutig\"");
    return 1.0;
  }
  return t.number("mu", Check::non_negative);
}

// pairing = "all_to_all" (default) | "nearest", for any rule's Pairing enum.
template <class Pairing>
Pairing read_pairing(const ParamTable& t) {
  return t.choice("pairing", "all_to_all", {"all_to_all", "nearest"}) == "nearest" ? Pairing::nearest
                                                                                   : Pairing::all_to_all;
}

void check_bounds(const ParamTable& t, double w_min, double w_max) {
  if (!(w_max > w_min))
    t.fail(t.has("w_max") ? "w_max" : "w_min", fmt::format("expected w_max > w_min, found w_min = {}, w_max = {}", w_min, w_max));
}

template <class Rule>
class RuleModel : public PlasticityModel {
 public:
  RuleModel(std::string rule, typename Rule::Params params, double dendritic_delay)
      : rule_(std::move(rule)), params_(std::move(params)), dend_(dendritic_delay) {}
  std::string_view rule() const override { return rule_; }
  std::unique_ptr<Projection> make(ProjectionSpec spec, Population& source, Population& target,
                                   int port) const override {
    return std::make_unique<PlasticProjection<Rule>>(std::move(spec), source, target, port, Rule(params_), dend_);
  }

 private:
  std::string rule_;
  typename Rule::Params params_;
  double dend_;
};

}  // namespace

StdpParams StdpParams::from(const ParamTable& t) {
  StdpParams p;
  p.tau_plus = t.number("tau_plus", p.tau_plus, Check::positive);
  p.tau_minus = t.number("tau_minus", p.tau_minus, Check::positive);
  p.a_plus = t.number("a_plus", p.a_plus, Check::non_negative);
  p.a_minus = t.number("a_minus", p.a_minus, Check::non_negative);
  p.w_min = t.number("w_min", p.w_min);
  p.w_max = t.number("w_max", p.w_max);
  check_bounds(t, p.w_min, p.w_max);
  p.mu = read_mu(t);
  p.pairing = read_pairing<decltype(p.pairing)>(t);
  return p;
}

StdpTripletParams StdpTripletParams::from(const ParamTable& t) {
  StdpTripletParams p;
  p.tau_plus = t.number("tau_plus", p.tau_plus, Check::positive);
  p.tau_minus = t.number("tau_minus", p.tau_minus, Check::positive);
  p.tau_x = t.number("tau_x", p.tau_x, Check::positive);
  p.tau_y = t.number("tau_y", p.tau_y, Check::positive);
  p.a2_plus = t.number("a2_plus", p.a2_plus, Check::non_negative);
  p.a3_plus = t.number("a3_plus", p.a3_plus, Check::non_negative);
  p.a2_minus = t.number("a2_minus", p.a2_minus, Check::non_negative);
  p.a3_minus = t.number("a3_minus", p.a3_minus, Check::non_negative);
  p.w_min = t.number("w_min", p.w_min);
  p.w_max = t.number("w_max", p.w_max);
  check_bounds(t, p.w_min, p.w_max);
  p.pairing = read_pairing<decltype(p.pairing)>(t);
  return p;
}

StdpEligibilityParams StdpEligibilityParams::from(const ParamTable& t) {
  StdpEligibilityParams p;
  p.tau_plus = t.number("tau_plus", p.tau_plus, Check::positive);
  p.tau_minus = t.number("tau_minus", p.tau_minus, Check::positive);
  p.a_plus = t.number("a_plus", p.a_plus, Check::non_negative);
  p.a_minus = t.number("a_minus", p.a_minus, Check::non_negative);
  p.tau_c = t.number("tau_c", p.tau_c, Check::positive);
  p.eta = t.number("eta", p.eta);
  p.baseline = t.number("baseline", p.baseline);
  p.w_min = t.number("w_min", p.w_min);
  p.w_max = t.number("w_max", p.w_max);
  check_bounds(t, p.w_min, p.w_max);
  p.interval = t.has("interval") ? t.number("interval", Check::positive) : 2.0 * p.tau_c;
  // G differences lose ~eps e^{interval / tau_c} relative precision towards the end of a frame.
  if (p.interval > 10.0 * p.tau_c)
    t.fail("interval", fmt::format("expected interval <= 10 tau_c = {} ms (precision), found {} ms", 10.0 * p.tau_c,
                                   p.interval));
  p.pairing = read_pairing<decltype(p.pairing)>(t);
  p.modulator = t.string("modulator");
  return p;
}

void StdpEligibility::prepare(const Simulation& sim, const Projection& proj) {
  dt_ = sim.dt();
  if (!sim.has_modulator(p_.modulator))
    throw ConfigError({}, "plasticity." + proj.name() + ".modulator",
                      fmt::format("expected the name of a modulator, found \"{}\"", p_.modulator));
  m_ = &sim.modulator(p_.modulator);
  const double interval = p_.interval > 0 ? p_.interval : 2.0 * p_.tau_c;
  if (interval > 10.0 * p_.tau_c * (1 + 1e-12))
    throw ConfigError({}, "plasticity." + proj.name() + ".interval",
                      fmt::format("expected interval <= 10 tau_c = {} ms (precision), found {} ms", 10.0 * p_.tau_c,
                                  interval));
  interval_steps_ = std::max<Step>(1, static_cast<Step>(std::llround(interval / dt_)));
  fill_tables();
  k_step_ = LevelPiece{1.0, 0.0, 0.0}.weighted_integral(0.0, dt_, 1.0 / p_.tau_c);
  // Gating maps read spatial fields through probes registered by add_modulation, before this.
  spatial_ = (third_ ? !third_->uniform() : m_->spatial()) || (lr_ && !lr_->uniform());
  probe_.clear();
  if (spatial_ && !third_ && m_->spatial()) {
    const Population& post = proj.target();
    if (post.positions().size() != post.size())
      throw ConfigError({}, "plasticity." + proj.name() + ".modulator",
                        fmt::format("modulator {} is a spatial field: population {} (the target of projection {}) needs "
                                    "positions",
                                    m_->name(), post.name(), proj.name()));
    probe_.reserve(post.size());
    Modulator& field = sim.modulator(p_.modulator);
    for (const auto& x : post.positions()) probe_.push_back(field.add_probe(x));
  }
  held_ = spatial_ && !third_ && !lr_ && !probe_.empty() && m_->probe_hold() > 1;
  if (held_) {  // W over the longest segment: a block or a frame, whichever is shorter
    const auto n = static_cast<std::size_t>(std::min({m_->probe_hold(), interval_steps_, Step{1} << 16}));
    wsum_.assign(n + 1, 0.0);
    for (std::size_t i = 0; i < n; ++i) wsum_[i + 1] = wsum_[i] + decay_c(static_cast<Step>(i));
  }
  // Synapse state starts at t_c = 0 (SynState::resize): the frames start there too.
  base_ = 0;
  frames_.clear();
  frames_.push_back({base_, {0.0}});
  first_frame_ = 0;
  if (sim.now() != 0)
    throw RuntimeError("stdp_eligibility: the projection must be prepared before the first step");
}

void StdpEligibility::fill_tables() {
  // Trace decays: 4096 steps (410 ms at dt = 0.1 ms, 4 s at 1 ms) cover nearly all pairings;
  // tag decay and frame scale: the whole frame, capped at 2^16 entries (512 KiB).
  const auto fill = [this](std::vector<double>& t, std::size_t n, double tau, bool up) {
    t.resize(n);
    for (std::size_t k = 0; k < n; ++k) t[k] = up ? grow(static_cast<Step>(k), tau) : decay(static_cast<Step>(k), tau);
  };
  const auto frame = static_cast<std::size_t>(std::min<Step>(interval_steps_ + 1, Step{1} << 16));
  fill(dec_plus_, 4096, p_.tau_plus, false);
  fill(dec_minus_, 4096, p_.tau_minus, false);
  fill(dec_c_, frame, p_.tau_c, false);
  fill(grow_c_, frame, p_.tau_c, true);
}

void StdpEligibility::prepare_window(Step w0, Step w1) {
  win0_ = w0;
  win1_ = w1;
  // A spatial map (per target neuron) is read at the event; a uniform one is tabulated.
  const auto table = [w0, w1](const ModulationMap* map, std::vector<double>& out) {
    out.clear();
    if (!map || !map->uniform()) return;
    out.resize(static_cast<std::size_t>(w1 - w0));
    for (Step k = w0; k < w1; ++k) out[static_cast<std::size_t>(k - w0)] = map->value(k);
  };
  table(ap_, apw_);
  table(am_, amw_);
  if (spatial_) return;  // G per target neuron: integrate_targets, per thread
  // Frames that end before w0 were swept at their end (before_events): no synapse refers to them.
  while (frames_.size() > 1 && frames_.front().t0 + interval_steps_ < w0) {
    frames_.pop_front();
    ++first_frame_;
  }
  const double inv_tau_c = 1.0 / p_.tau_c;
  for (Step k = w0; k < w1; ++k) {
    if (k - frames_.back().t0 == interval_steps_) frames_.push_back({k, {0.0}});
    Frame& f = frames_.back();
    // Invariant: G_n is known up to step k.
    const double weight = std::exp(-static_cast<double>(k - f.t0) * dt_ * inv_tau_c);
    // A gated third factor is held over the step; the modulator's own pieces are exact.
    const LevelPiece piece = third_ ? LevelPiece{third_->value(k), 0.0, 0.0} : m_->piece(k);
    const double rate = lr_ ? lr_->value(k) : 1.0;
    f.g.push_back(f.g.back() + rate * weight * piece.weighted_integral(p_.baseline, dt_, inv_tau_c));
  }
}

void StdpEligibility::integrate_targets(SynState& s, Step k) const {
  // Same terms and order as the frame table of prepare_window: rate * weight * integral.
  const double weight = decay_c((k - base_) % interval_steps_);
  const double b = p_.baseline, inv_tau_c = 1.0 / p_.tau_c;
  const std::size_t n = s.count;
  const auto first = static_cast<NeuronIndex>(s.first);
  double* g = s.g->data() + first;
  const auto rate = [&](std::size_t j) { return lr_ ? lr_->value(k, first + j) : 1.0; };
  if (third_) {
    for (std::size_t j = 0; j < n; ++j) g[j] += rate(j) * weight * ((third_->value(k, first + j) - b) * k_step_);
  } else if (!probe_.empty()) {
    const LevelPiece* row = m_->probe_row(k);
    const std::size_t* probe = probe_.data() + first;
    if (!lr_) {
      for (std::size_t j = 0; j < n; ++j) {
        const LevelPiece& p = row[probe[j]];
        const double v = p.inv_tau == 0.0 ? (p.base + p.amp - b) * k_step_ : p.weighted_integral(b, dt_, inv_tau_c);
        g[j] += 1.0 * weight * v;
      }
    } else {
      for (std::size_t j = 0; j < n; ++j) {
        const LevelPiece& p = row[probe[j]];
        const double v = p.inv_tau == 0.0 ? (p.base + p.amp - b) * k_step_ : p.weighted_integral(b, dt_, inv_tau_c);
        g[j] += rate(j) * weight * v;
      }
    }
  } else {
    const double v = m_->piece(k).weighted_integral(b, dt_, inv_tau_c);
    for (std::size_t j = 0; j < n; ++j) g[j] += rate(j) * weight * v;
  }
}

void StdpEligibility::integrate_held(SynState& s, Step k) const {
  const Step K = segment_start(k);
  s.seg = K;
  if (K != k) return;  // step k continues its segment: G(t_a) = g + u W(a - K), nothing to do
  const std::size_t n = s.count;
  double* g = s.g->data() + s.first;
  double* u = s.u->data() + s.first;
  const Step in_frame = (k - base_) % interval_steps_;
  if (in_frame == 0) {
    std::fill(g, g + n, 0.0);  // a new frame: G restarts (before_events brought every synapse here)
  } else {
    const double w = wsum(k - segment_start(k - 1));  // G at t_k, the end of the previous segment
    for (std::size_t j = 0; j < n; ++j) g[j] += u[j] * w;
  }
  const double scale = decay_c(in_frame) * k_step_;
  const double b = p_.baseline;
  const LevelPiece* row = m_->probe_row(k);
  const std::size_t* probe = probe_.data() + s.first;
  for (std::size_t j = 0; j < n; ++j) {
    const LevelPiece& p = row[probe[j]];
    u[j] = scale * (p.base + p.amp - b);
  }
}

void StdpEligibility::save_state(StateWriter& w) const {
  std::vector<Step> t0, len;
  std::vector<double> g;
  for (const Frame& f : frames_) {
    t0.push_back(f.t0);
    len.push_back(static_cast<Step>(f.g.size()));
    g.insert(g.end(), f.g.begin(), f.g.end());
  }
  w.write("frame_t0", t0);
  w.write("frame_length", len);
  w.write("frame_g", g);
  w.scalar("first_frame", first_frame_);
  w.scalar("base", base_);
  w.scalar("interval_steps", interval_steps_);
}

void StdpEligibility::restore_state(const StateReader& r) {
  if (r.scalar<Step>("interval_steps") != interval_steps_) r.fail("interval_steps", "saved with another frame interval");
  const auto t0 = r.read<Step>("frame_t0");
  const auto len = r.read<Step>("frame_length");
  const auto g = r.read<double>("frame_g");
  if (t0.empty() || len.size() != t0.size()) r.fail("frame_length", "expected one length per frame, at least one frame");
  frames_.clear();
  std::size_t at = 0;
  for (std::size_t i = 0; i < t0.size(); ++i) {
    const auto n = static_cast<std::size_t>(len[i]);
    if (len[i] < 1 || len[i] > interval_steps_ + 1 || at + n > g.size()) r.fail("frame_g", "frame lengths do not match the data");
    frames_.push_back({t0[i], std::vector<double>(g.begin() + static_cast<std::ptrdiff_t>(at), g.begin() + static_cast<std::ptrdiff_t>(at + n))});
    at += n;
  }
  if (at != g.size()) r.fail("frame_g", "frame lengths do not match the data");
  first_frame_ = r.scalar<Step>("first_frame");
  base_ = r.scalar<Step>("base");
}

bool StdpEligibility::modulate(const std::string& aspect, const ModulationMap* map) {
  const ModulationMap** slot = aspect == "third_factor"    ? &third_
                               : aspect == "learning_rate" ? &lr_
                               : aspect == "a_plus"        ? &ap_
                               : aspect == "a_minus"       ? &am_
                                                           : nullptr;
  if (!slot) return false;
  *slot = map;
  return true;
}

void register_plasticity(Registry& registry) {
  auto dendritic = [](const ParamTable& t) { return t.number("dendritic_delay", 0.0, Check::non_negative); };
  registry.add_plasticity("stdp", [dendritic](const std::string&, const ParamTable& t) {
    t.reject_unknown({"tau_plus", "tau_minus", "a_plus", "a_minus", "w_min", "w_max", "dependence", "mu", "pairing",
                      "dendritic_delay"});
    return std::make_shared<RuleModel<Stdp>>("stdp", StdpParams::from(t), dendritic(t));
  });
  registry.add_plasticity("stdp_triplet", [dendritic](const std::string&, const ParamTable& t) {
    t.reject_unknown({"tau_plus", "tau_minus", "tau_x", "tau_y", "a2_plus", "a3_plus", "a2_minus", "a3_minus",
                      "w_min", "w_max", "pairing", "dendritic_delay"});
    return std::make_shared<RuleModel<StdpTriplet>>("stdp_triplet", StdpTripletParams::from(t), dendritic(t));
  });
  registry.add_plasticity("stdp_eligibility", [dendritic](const std::string&, const ParamTable& t) {
    t.reject_unknown({"tau_plus", "tau_minus", "a_plus", "a_minus", "tau_c", "eta", "baseline", "w_min", "w_max",
                      "interval", "pairing", "modulator", "dendritic_delay"});
    return std::make_shared<RuleModel<StdpEligibility>>("stdp_eligibility", StdpEligibilityParams::from(t),
                                                       dendritic(t));
  });
}

}  // namespace nmsim::models
