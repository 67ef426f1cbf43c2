#pragma once
// The network of Izhikevich (2007) "Solving the distal reward problem through linkage of STDP and
// dopamine signaling", Cereb. Cortex 17:2443, shared by examples/distal_reward and
// examples/classical_conditioning. Equations and constants are from the paper and its published
// MATLAB program; every conversion to this library's rule is written next to the constant.
//
//   800 RS excitatory + 200 FS inhibitory Izhikevich neurons, dt = 1 ms, his integration scheme.
//   Each excitatory neuron: 100 synapses to distinct random other neurons of the whole network
//   (about 80 E, 20 I); each inhibitory neuron: 100 synapses to distinct random excitatory
//   neurons. All delays 1 ms. Initial weights +1 (exc) and -1 (inh, static).
//   Thalamic input: each neuron, each ms, a current uniform on [-6.5, 6.5] pA (I = 13 (rand - 0.5)).
//   E->E and E->I synapses learn with stdp_eligibility, dopamine is a well-mixed pool "da".
//
// Connectivity is drawn here (not by a connect rule) so that one chosen synapse can start at
// weight 0, as in the paper, and so that "100 distinct targets among all 1000 neurons" is exact.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "nmsim/core/registry.hpp"
#include "nmsim/core/rng.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/models/izhikevich.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/modulators/well_mixed.hpp"

namespace da_example {

constexpr std::size_t kNe = 800, kNi = 200, kN = kNe + kNi, kM = 100;
constexpr double kWmax = 4.0;          // sm = 4 in the code, "maximal synaptic strength"
constexpr double kTonicDa = 0.002;     // uM: the code's (0.002 + DA) factor, as a tonic level
constexpr double kReward = 0.5;        // uM per reward (DA = DA + 0.5)

// Plasticity constants. Paper: STDP(t) = A+ e^{-t/tau+} (t > 0), -A- e^{t/tau-}; A+ = 1, A- = 1.5,
// tau+- = 20 ms; dc/dt = -c/tau_c + STDP, tau_c = 1 s; ds/dt = c d; dd/dt = -d/tau_d + DA(t),
// tau_d = 0.2 s. The code keeps traces of height 0.1 (STDP(fired) = 0.1, x 0.95 per ms: tau =
// -1/ln 0.95 = 19.5 ms), so its tag moves by 0.1 and 1.5 x 0.1 per pairing; it decays the tag by
// 0.99 every 10 ms (tau_c = -10/ln 0.99 = 995 ms), DA by 0.995 per ms (tau_d = 199.5 ms) and
// applies s += (0.002 + DA) sd every 10 ms, i.e. ds/dt = (0.002 + DA) sd / (10 ms). With the
// paper's A+ = 1, A- = 1.5 the tag here is c = 10 sd, so eta = 1 / (10 x 10 ms) = 0.01 /(uM ms).
// The rule integrates c(t) (m(t) - b) exactly instead of sampling it every 10 ms; we use the
// paper's round time constants (20 ms, 1 s, 200 ms), within 2.5 % of the code's.
// The code's traces are reset (not incremented) at each spike: pairing "nearest".
inline nmsim::ParamTable plasticity_table(double w_max = kWmax) {
  nmsim::ParamTable t("plasticity.da_stdp");
  auto num = [](double v) { return nmsim::ParamValue{v, {}}; };
  auto str = [](const char* v) { return nmsim::ParamValue{std::string(v), {}}; };
  t.set("tau_plus", num(20.0));
  t.set("tau_minus", num(20.0));
  t.set("a_plus", num(1.0));
  t.set("a_minus", num(1.5));
  t.set("tau_c", num(1000.0));
  t.set("eta", num(0.01));
  t.set("baseline", num(0.0));  // m - b = 0.002 + phasic DA: the tonic 0.002 lives in the modulator
  t.set("w_min", num(0.0));
  t.set("w_max", num(w_max));
  t.set("pairing", str("nearest"));
  t.set("modulator", str("da"));
  return t;
}

/// Synapse lists, drawn from counter-based streams keyed by the seed (one stream per source
/// neuron), so the network is the same for any thread count.
struct Wiring {
  std::vector<std::pair<nmsim::NeuronIndex, nmsim::NeuronIndex>> ee, ei, ie;  // (source, target)
};

/// `k` distinct values from [0, n) without `exclude` (partial Fisher-Yates), in draw order.
inline std::vector<std::uint32_t> distinct(nmsim::RandomStream& rng, std::uint32_t n, std::uint32_t k,
                                           std::uint32_t exclude) {
  std::vector<std::uint32_t> pool;
  pool.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i)
    if (i != exclude) pool.push_back(i);
  for (std::uint32_t i = 0; i < k; ++i) std::swap(pool[i], pool[i + rng.below(static_cast<std::uint32_t>(pool.size()) - i)]);
  pool.resize(k);
  return pool;
}

inline Wiring draw_wiring(std::uint64_t seed) {
  Wiring w;
  const auto none = static_cast<std::uint32_t>(-1);
  for (std::uint32_t i = 0; i < kNe; ++i) {
    nmsim::RandomStream rng(seed, nmsim::purpose_id("da_example/connect/exc"), i);
    for (std::uint32_t j : distinct(rng, kN, kM, i)) {
      if (j < kNe)
        w.ee.emplace_back(i, j);
      else
        w.ei.emplace_back(i, j - static_cast<std::uint32_t>(kNe));
    }
  }
  for (std::uint32_t i = 0; i < kNi; ++i) {
    nmsim::RandomStream rng(seed, nmsim::purpose_id("da_example/connect/inh"), i);
    for (std::uint32_t j : distinct(rng, kNe, kM, none)) w.ie.emplace_back(i, j);
  }
  return w;
}

struct Network {
  nmsim::models::Izhikevich* exc = nullptr;
  nmsim::models::Izhikevich* inh = nullptr;
  nmsim::modulators::WellMixed* da = nullptr;
};

/// Build the network into `sim` (dt must be 1 ms). `ee_weights` gives one weight per wiring.ee
/// pair (so a program can start one synapse at 0).
inline Network build(nmsim::Simulation& sim, const Wiring& wiring, const std::vector<double>& ee_weights) {
  using namespace nmsim;
  Network net;
  models::IzhikevichParams rs = models::IzhikevichParams::preset_params("RS");  // a .02 b .2 c -65 d 8
  models::IzhikevichParams fs = models::IzhikevichParams::preset_params("FS");  // a .1  b .2 c -65 d 2
  rs.integrator = fs.integrator = models::IzhikevichParams::Integrator::izhikevich2003;
  net.exc = &sim.add_population<models::Izhikevich>("exc", kNe, rs);  // v = -65, u = b v as in the code
  net.inh = &sim.add_population<models::Izhikevich>("inh", kNi, fs);

  modulators::WellMixedParams dp;
  dp.baseline = kTonicDa;
  dp.tau = 200.0;  // ms, tau_d
  net.da = &sim.add_modulator<modulators::WellMixed>("da", dp);

  Registry reg;
  models::register_models(reg);
  auto rule = reg.make_plasticity("stdp_eligibility", "da_stdp", plasticity_table());

  // Delay 1 ms: the shortest the engine has. The code applies a spike's input in the very step
  // in which it detects the spike (its D = 1 means "no extra wait"), so its effective delay is
  // one step shorter; the causal pre-before-post interval shifts by 1 ms in both the STDP window
  // and the input, consistently.
  auto pairs_spec = [](const std::string& name, const std::string& src, const std::string& tgt,
                       const std::string& port, const std::vector<std::pair<NeuronIndex, NeuronIndex>>& pairs,
                       std::vector<double> weights) {
    ProjectionSpec s;
    s.name = name;
    s.source = src;
    s.target = tgt;
    s.port = port;
    s.connect.rule = ConnectSpec::Rule::pairs;
    s.connect.pairs = pairs;
    s.connect.pair_weights = std::move(weights);
    s.delay = Distribution::constant(1.0);
    return s;
  };
  ProjectionSpec ee = pairs_spec("ee", "exc", "exc", "exc", wiring.ee, ee_weights);
  ee.plasticity = rule;
  sim.connect(ee);
  ProjectionSpec ei = pairs_spec("ei", "exc", "inh", "exc", wiring.ei, std::vector<double>(wiring.ei.size(), 1.0));
  ei.plasticity = rule;  // the code updates s(1:Ne, :): every excitatory synapse, E->I included
  sim.connect(ei);
  sim.connect(pairs_spec("ie", "inh", "exc", "inh", wiring.ie, std::vector<double>(wiring.ie.size(), -1.0)));

  sim.add_stimulus<NoiseCurrent>("thalamus_e", *net.exc, Distribution::uniform(-6.5, 6.5));
  sim.add_stimulus<NoiseCurrent>("thalamus_i", *net.inh, Distribution::uniform(-6.5, 6.5));
  return net;
}

/// Command line shared by the two programs.
struct Args {
  double duration_s = 3600.0;
  int threads = 0;
  std::uint64_t seed = 2007;
  std::string out;
  double pair_window_ms = 20.0;
  bool spikes = false;
};

inline Args parse_args(int argc, char** argv, const char* usage, double default_duration, const std::string& default_out) {
  Args a;
  a.duration_s = default_duration;
  a.out = default_out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s: %s needs a value\n%s", argv[0], arg.c_str(), usage);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--duration")
      a.duration_s = std::atof(value());
    else if (arg == "--threads")
      a.threads = std::atoi(value());
    else if (arg == "--seed")
      a.seed = std::strtoull(value(), nullptr, 10);
    else if (arg == "-o")
      a.out = value();
    else if (arg == "--pair-window")
      a.pair_window_ms = std::atof(value());
    else if (arg == "--spikes")
      a.spikes = true;
    else if (arg == "-h" || arg == "--help") {
      std::printf("%s", usage);
      std::exit(0);
    } else {
      std::fprintf(stderr, "%s: unknown argument %s\n%s", argv[0], arg.c_str(), usage);
      std::exit(2);
    }
  }
  if (!(a.duration_s > 0) || std::fabs(a.duration_s * 1000.0 - std::round(a.duration_s * 1000.0)) > 1e-6) {
    std::fprintf(stderr, "%s: --duration must be > 0 s and a whole number of ms\n", argv[0]);
    std::exit(2);
  }
  return a;
}

}  // namespace da_example
