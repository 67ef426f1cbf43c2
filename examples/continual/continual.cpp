#include "continual.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "nmsim/core/error.hpp"
#include "nmsim/core/modulation.hpp"
#include "nmsim/core/registry.hpp"
#include "nmsim/models/register.hpp"

namespace continual {

using namespace nmsim;

PixelPoisson::PixelPoisson(std::string name, Population& target, double weight, const std::string& port)
    : Stimulus(std::move(name), target), weight_(weight), purpose_(purpose_id("stimulus/" + this->name())) {
  port_ = target.port_index(port);
  if (port_ < 0) throw ConfigError({}, "stimulus." + this->name(), "expected a target with an \"" + port + "\" port");
}

void PixelPoisson::prepare(double dt, std::uint64_t seed) {
  dt_ = dt;
  seed_ = seed;
  p_.assign(target().size(), 0.0);
}

void PixelPoisson::set_rates(std::span<const double> rates_hz) {
  if (rates_hz.size() != target().size()) throw ConfigError({}, "stimulus." + name(), "expected one rate per neuron");
  p_.resize(rates_hz.size());
  for (std::size_t i = 0; i < rates_hz.size(); ++i) p_[i] = 1.0 - std::exp(-rates_hz[i] * dt_ * 1e-3);
}

void PixelPoisson::apply(Step k, Range owned) {
  double* in = target().inputs().slot(static_cast<std::size_t>(port_), k + 1);
  const auto blk = static_cast<std::uint64_t>(k >> 2);
  const auto word = static_cast<std::size_t>(k & 3);
  const std::array<std::uint32_t, 2> key{static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32)};
  for (std::size_t i = owned.begin; i < owned.end; ++i) {
    if (p_[i] <= 0.0) continue;
    const auto r = philox4x32({static_cast<std::uint32_t>(blk), static_cast<std::uint32_t>(blk >> 32),
                               static_cast<std::uint32_t>(i), purpose_},
                              key);
    const double u = (static_cast<double>(r[word]) + 0.5) * 0x1.0p-32;
    if (u < p_[i]) in[i] += weight_;
  }
}

std::vector<double> pool_image(std::span<const std::uint8_t> pixels, std::size_t side, std::size_t pool) {
  const std::size_t n = side / pool;
  std::vector<double> out(n * n, 0.0);
  for (std::size_t y = 0; y < n * pool; ++y)
    for (std::size_t x = 0; x < n * pool; ++x) out[(y / pool) * n + x / pool] += pixels[y * side + x];
  for (double& v : out) v /= 255.0 * static_cast<double>(pool * pool);
  return out;
}

namespace {}  // namespace

std::vector<std::string> readout_names(const Params& p) {
  if (p.opponent > 0.0) return {"readout_a", "readout_b"};
  return {"readout"};
}

double readout_scale(const Params& p) {
  // Synaptic scaling: a gated readout sees only the zone's share of the hidden layer.
  return p.gating ? std::max(1.0, p.layer_um / (2.0 * p.zone_half_um)) : 1.0;
}

namespace {

ParamTable rule_table(const Params& p, const std::string& modulator) {
  ParamTable t("plasticity.readout");
  auto num = [](double v) { return ParamValue{v, {}}; };
  t.set("tau_plus", num(20.0));
  t.set("tau_minus", num(20.0));
  t.set("a_plus", num(p.a_plus));
  t.set("a_minus", num(p.a_minus));
  t.set("tau_c", num(p.tau_c));
  // scale_eta = 1: the gated readout's learning rate is scaled like its weights (readout_scale),
  // so that a trial moves a weight by the same share of its range (README: measured both ways).
  t.set("eta", num(p.eta * (p.scale_eta > 0.0 ? readout_scale(p) : 1.0)));
  t.set("baseline", num(0.0));
  t.set("w_min", num(0.0));
  t.set("w_max", num(p.w_out_max * readout_scale(p)));
  t.set("modulator", ParamValue{modulator, {}});
  return t;
}

ProjectionSpec pairs(const std::string& name, const std::string& src, const std::string& tgt, const std::string& port,
                     std::vector<std::pair<NeuronIndex, NeuronIndex>> pr, std::vector<double> w) {
  ProjectionSpec s;
  s.name = name;
  s.source = src;
  s.target = tgt;
  s.port = port;
  s.connect.rule = ConnectSpec::Rule::pairs;
  s.connect.pairs = std::move(pr);
  s.connect.pair_weights = std::move(w);
  s.delay = Distribution::constant(1.0);
  return s;
}

}  // namespace

Network build(Simulation& sim, const Params& p) {
  Network net;
  const std::size_t n = p.side / p.pool;
  const std::uint64_t seed = sim.seed();

  models::LifParams in;
  in.synapse = models::LifParams::Synapse::delta;
  in.e_l = in.v_reset = -70.0;
  in.v_th = -55.0;
  in.t_ref = 0.0;
  net.input = &sim.add_population<models::Lif>("input", n * n, in);
  net.stim = &sim.add_stimulus<PixelPoisson>("pixels", *net.input, 20.0);

  models::LifParams hp;
  hp.tau_syn_ex = hp.tau_syn_in = 5.0;
  hp.i_e = p.hidden_i_e;
  net.hidden = &sim.add_population<models::Lif>("hidden", p.hidden, hp);
  std::vector<std::array<double, 3>> pos(p.hidden);
  {
    RandomStream r(seed, purpose_id("continual/hidden_x"), 0);
    for (auto& q : pos) q = {r.uniform() * p.layer_um, 0.0, 0.0};
  }
  for (const auto& q : pos) net.hidden_x.push_back(q[0]);
  net.hidden->set_positions(pos);

  // Random local receptive fields: hidden j sees an rf x rf square of the pooled image.
  std::vector<std::pair<NeuronIndex, NeuronIndex>> pe, pi;
  std::vector<double> we, wi;
  for (std::size_t j = 0; j < p.hidden; ++j) {
    RandomStream r(seed, purpose_id("continual/rf"), static_cast<std::uint32_t>(j));
    const std::size_t x0 = r.below(static_cast<std::uint32_t>(n - p.rf + 1));
    const std::size_t y0 = r.below(static_cast<std::uint32_t>(n - p.rf + 1));
    for (std::size_t y = y0; y < y0 + p.rf; ++y)
      for (std::size_t x = x0; x < x0 + p.rf; ++x) {
        const double w = (p.w_in_mean + r.normal()) * p.w_in;
        const auto src = static_cast<NeuronIndex>(y * n + x);
        if (w >= 0) {
          pe.emplace_back(src, static_cast<NeuronIndex>(j));
          we.push_back(w);
        } else {
          pi.emplace_back(src, static_cast<NeuronIndex>(j));
          wi.push_back(w);
        }
      }
  }
  sim.connect(pairs("in_exc", "input", "hidden", "exc", pe, we));
  sim.connect(pairs("in_inh", "input", "hidden", "inh", pi, wi));

  models::LifParams op;
  op.tau_syn_ex = op.tau_syn_in = 5.0;
  net.out = &sim.add_population<models::Lif>("out", 2 * p.pool_size, op);
  std::vector<std::pair<NeuronIndex, NeuronIndex>> ho, ho_b, oo;
  std::vector<double> wo, wo_b, woo;
  const double scale = readout_scale(p);
  for (std::size_t j = 0; j < p.hidden; ++j) {
    RandomStream r(seed, purpose_id("continual/w_out"), static_cast<std::uint32_t>(j));
    for (std::size_t o = 0; o < 2 * p.pool_size; ++o) {
      const bool b = p.opponent > 0.0 && o >= p.pool_size;
      (b ? ho_b : ho).emplace_back(static_cast<NeuronIndex>(j), static_cast<NeuronIndex>(o));
      (b ? wo_b : wo).push_back(scale * p.w_out0 * (0.5 + r.uniform()));
    }
  }
  for (std::size_t a = 0; a < 2 * p.pool_size; ++a)
    for (std::size_t b = 0; b < 2 * p.pool_size; ++b)
      if ((a < p.pool_size) != (b < p.pool_size)) {
        oo.emplace_back(static_cast<NeuronIndex>(a), static_cast<NeuronIndex>(b));
        woo.push_back(p.w_inh);
      }

  modulators::WellMixedParams dp;
  dp.tau = p.da_tau;
  net.da = &sim.add_modulator<modulators::WellMixed>("da", dp);
  if (p.opponent > 0.0) net.da_b = &sim.add_modulator<modulators::WellMixed>("da_b", dp);

  modulators::GridFieldParams gp;
  gp.geometry.dims = 1;
  gp.geometry.spacing = {20.0, 20.0, 20.0};
  gp.geometry.shape = {static_cast<std::size_t>(p.layer_um / 20.0) + 1, 1, 1};
  gp.geometry.origin = {0.0, 0.0, 0.0};
  gp.kinetics.tau = p.ach_tau;
  gp.initial = 0.0;
  net.ach = &sim.add_modulator<modulators::GridField>("ach", gp);

  Registry reg;
  models::register_models(reg);
  const auto names = readout_names(p);
  ProjectionSpec ro = pairs(names[0], "hidden", "out", "exc", ho, wo);
  ro.plasticity = reg.make_plasticity("stdp_eligibility", names[0], rule_table(p, "da"));
  sim.connect(ro);
  if (p.opponent > 0.0) {
    ProjectionSpec rb = pairs(names[1], "hidden", "out", "exc", ho_b, wo_b);
    rb.plasticity = reg.make_plasticity("stdp_eligibility", names[1], rule_table(p, "da_b"));
    sim.connect(rb);
  }
  sim.connect(pairs("lateral", "out", "out", "inh", oo, woo));
  net.drive = &sim.add_stimulus<PixelPoisson>("efference", *net.out, p.drive_w, "exc");
  net.suppress = &sim.add_stimulus<PixelPoisson>("suppress", *net.out, -p.drive_w, "inh");

  // ACh lets hidden neurons respond where it is: by default as the gain of their afferent input
  // (nicotinic-like enhancement of afferent transmission; exactly no input without ACh), or
  // (ach_gain = 0) by cancelling a hyperpolarising bias (muscarinic M1-like, on i_bias; strongly
  // driven neurons outside the zone can still fire, README).
  Receptor m1;
  m1.ec50 = p.ach_ec50;
  m1.n = p.ach_hill;
  m1.emax = p.ach_emax;
  ModulationTerm term;
  term.modulator = net.ach;
  term.receptor = m1;
  if (p.ach_gain > 0.0) {
    term.receptor.emax = 1.0;
    sim.add_modulation(ModulationMap("population.hidden.gain", ModulationMap::Combine::sum, 0.0, {term}), "ach_gate");
  } else {
    sim.add_modulation(ModulationMap("population.hidden.i_bias", ModulationMap::Combine::sum, 0.0, {term}), "ach_gate");
  }

  // Novelty: ACh from a new task's onset sets the learning rate of both readout projections
  // (one well-mixed value; nicotinic/muscarinic detail is not modelled, only a saturating receptor).
  if (p.nov_pulse > 0.0) {
    modulators::WellMixedParams np;
    np.tau = p.nov_tau;
    net.ach_nov = &sim.add_modulator<modulators::WellMixed>("ach_nov", np);
    for (const auto& name : names) {
      ModulationTerm nt;
      nt.modulator = net.ach_nov;
      nt.receptor.ec50 = p.nov_ec50;
      nt.receptor.n = 1.0;
      nt.receptor.emax = p.nov_emax;
      sim.add_modulation(
          ModulationMap("projection." + name + ".learning_rate", ModulationMap::Combine::sum, p.lr_base, {nt}),
          "novelty_" + name);
    }
  }
  return net;
}

Runner::Runner(Simulation& sim, Network& net, const Params& p)
    : sim_(sim),
      net_(net),
      p_(p),
      rbar_(2 * p.tasks, 0.5),
      seen_(p.tasks, false),
      zeros_(net.input->size(), 0.0),
      out_zeros_(net.out->size(), 0.0) {
  sim_.prepare();
}

void Runner::release_ach(Step at) {
  if (!p_.gating) {
    net_.ach->release_at(at, p_.ach_pulse);
    return;
  }
  const double w = p_.layer_um / static_cast<double>(p_.tasks);
  const double c = (static_cast<double>(context_) + 0.5) * w;
  net_.ach->release_in_box(at, {c - p_.zone_half_um, -1e9, -1e9}, {c + p_.zone_half_um, 1e9, 1e9}, p_.ach_pulse);
}

void Runner::set_context(std::size_t task, bool learn) {
  context_ = task;
  if (learn && net_.ach_nov && !seen_[task]) {
    seen_[task] = true;
    net_.ach_nov->release_at(sim_.now(), p_.nov_pulse);
  }
  net_.stim->set_rates(zeros_);
  // Old zone clears (settle_ms >> ach_tau); the new zone is filled by pulses every trial period.
  const double period = p_.stim_ms + p_.iti_ms;
  const auto n = static_cast<int>(std::floor(p_.settle_ms / period));
  for (int i = 0; i < n; ++i) {
    if (i >= n - 3) release_ach(sim_.now());
    sim_.run(period);
  }
  sim_.run(p_.settle_ms - n * period);
}

bool Runner::trial(std::span<const double> image, int target, bool train) {
  release_ach(sim_.now());
  std::vector<double> rates(image.size());
  double scale = p_.rate_max;
  if (p_.rate_mean > 0.0) {
    double sum = 0.0;
    for (double v : image) sum += v;
    scale = sum > 0.0 ? p_.rate_mean * static_cast<double>(image.size()) / sum : 0.0;
  }
  for (std::size_t i = 0; i < image.size(); ++i) rates[i] = scale * image[i];
  const auto& oc = sim_.spike_counts("out");
  const auto& hc = sim_.spike_counts("hidden");
  std::vector<std::uint64_t> o0(oc.begin(), oc.end()), h0(hc.begin(), hc.end());
  net_.stim->set_rates(rates);
  sim_.run(p_.stim_ms);
  std::uint64_t a = 0, b = 0;
  for (std::size_t o = 0; o < oc.size(); ++o) (o < p_.pool_size ? a : b) += oc[o] - o0[o];
  hidden_last_.resize(hc.size());
  for (std::size_t j = 0; j < hc.size(); ++j) hidden_last_[j] = hc[j] - h0[j];
  int choice;
  if (a != b) {
    choice = a > b ? 0 : 1;
  } else {
    RandomStream r(sim_.seed(), purpose_id("continual/tie"), 0, trials_);
    choice = static_cast<int>(r.below(2));
  }
  if (train && p_.explore > 0.0) {
    RandomStream r(sim_.seed(), purpose_id("continual/explore"), 0, trials_);
    if (r.uniform() < p_.explore) choice = static_cast<int>(r.below(2));
  }
  if (train && p_.response_ms > 0.0) {
    // Efference copy: the chosen pool fires, the other is held silent, the image stays on.
    std::vector<double> on(out_zeros_.size(), 0.0), off(out_zeros_.size(), 0.0);
    for (std::size_t o = 0; o < on.size(); ++o)
      (p_.opponent > 0.0 || (o < p_.pool_size) == (choice == 0) ? on : off)[o] = p_.drive_hz;
    net_.drive->set_rates(on);
    net_.suppress->set_rates(off);
    const std::vector<std::uint64_t> o1(oc.begin(), oc.end());
    sim_.run(p_.response_ms);
    if (std::getenv("CONTINUAL_DEBUG")) {
      std::uint64_t ra = 0, rb = 0;
      for (std::size_t o = 0; o < oc.size(); ++o) (o < p_.pool_size ? ra : rb) += oc[o] - o1[o];
      std::fprintf(stderr, "response choice %d: A %llu B %llu\n", choice, static_cast<unsigned long long>(ra),
                   static_cast<unsigned long long>(rb));
    }
    net_.drive->set_rates(out_zeros_);
    net_.suppress->set_rates(out_zeros_);
  }
  net_.stim->set_rates(zeros_);
  const bool correct = choice == target;
  if (std::getenv("CONTINUAL_DEBUG")) {
    std::uint64_t hs = 0, hn = 0;
    for (auto h : hidden_last_) {
      hs += h;
      hn += h > 0;
    }
    // Mean readout weight per pool. Synchronising splits the rule's updates: a debug run can
    // differ from a plain one in the last bits (and then in spikes).
    double wa = 0, wb = 0;
    for (const auto& name : readout_names(p_)) {
      auto& pr = sim_.projection(name);
      pr.synchronize(0, sim_.now());
      for (const auto& q : pr.synapses()) (q.target < p_.pool_size ? wa : wb) += q.weight;
    }
    std::fprintf(stderr, "wA %.1f wB %.1f ", wa / 3000.0, wb / 3000.0);
    std::fprintf(stderr, "trial %llu ctx %zu target %d A %llu B %llu hidden spikes %llu active %llu da %.3f\n",
                 static_cast<unsigned long long>(trials_), context_, target, static_cast<unsigned long long>(a),
                 static_cast<unsigned long long>(b), static_cast<unsigned long long>(hs),
                 static_cast<unsigned long long>(hn), net_.da->current());
  }
  if (train) {
    const double reward = correct ? 1.0 : 0.0;
    double& rb = rbar_[2 * context_ + (p_.rbar_class > 0.0 ? static_cast<std::size_t>(target)
                                                           : 0)];  // expected reward per stimulus class
    const double delta = p_.da_gain * (reward - rb);
    if (p_.opponent > 0.0) {
      (choice == 0 ? net_.da : net_.da_b)->release_at(sim_.now() + 1, delta);
      (choice == 0 ? net_.da_b : net_.da)->release_at(sim_.now() + 1, -delta);
    } else {
      net_.da->release_at(sim_.now() + 1, delta);
    }
    rb += p_.rbar_alpha * (reward - rb);
  }
  sim_.run(train ? p_.iti_ms : p_.test_iti_ms);
  ++trials_;
  return correct;
}

}  // namespace continual
