// bench_distal_reward: the dopamine-modulated STDP network of Izhikevich (2007) "Solving the
// distal reward problem through linkage of STDP and dopamine signaling", Cereb. Cortex 17:2443,
// through the nmsim C++ API, timed over long simulated times (default one simulated hour).
//
// Network (paper and its published DA-STDP code):
//   800 RS (a .02, b .2, c -65, d 8) + 200 FS (a .1, b .2, c -65, d 2) Izhikevich neurons,
//   integrator izhikevich2003 (two v half-steps, one u step: the published loop), dt = 1 ms,
//   v(0) = -65, u(0) = b v(0).
//   100 synapses per neuron: each excitatory neuron to 100 distinct random other neurons of the
//   whole network (~80 E, ~20 I), each inhibitory neuron to 100 distinct random excitatory
//   neurons. All delays 1 ms. Weights +1 (exc, clipped to [0, 4]) and -1 (inh, static).
//   Thalamic noise: every neuron, every ms, a current uniform on [-6.5, 6.5] pA (the code's
//   I = 13 (rand - 0.5)), NoiseCurrent.
//   E->E and E->I learn (the code updates s(1:Ne, :)): stdp_eligibility, nearest pairing (the
//   code resets its traces at each spike), tau+ = tau- = 20 ms, A+ = 1, A- = 1.5, tau_c = 1 s.
//   Dopamine: a WellMixed pool "da", tau 200 ms, baseline 0.002 uM.
// Mapping of the code's weight update (every 10 ms: s += (0.002 + DA) sd, sd *= 0.99; its traces
// have height 0.1, so sd = c / 10 with the paper's A+ = 1): ds/dt = (0.002 + DA) c / (100 ms), i.e.
// eta = 0.01 /(uM ms), rule baseline b = 0, m = the modulator = 0.002 (its baseline: the code's
// constant offset, a tonic level) + phasic DA. nmsim integrates c (m - b) exactly between events
// instead of sampling it every 10 ms.
// Rewards (the benchmark's, not the paper's pairing-triggered ones): 0.5 uM at random times,
// the gaps uniform on [1, 5] s on the 1 ms grid, scheduled up front with release_at. The gaps come
// from splitmix64(seed + i) so that bench/brian2_distal_reward.py uses exactly the same times.
//
//   bench_distal_reward [--duration 3600 (s)] [--threads 1] [--seed 1] [--tonic 0.002] [--noise 0|4]
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.hpp"
#include "nmsim/core/registry.hpp"
#include "nmsim/core/rng.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/models/izhikevich.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/modulators/well_mixed.hpp"

using namespace nmsim;

namespace {

constexpr std::uint32_t kNe = 800, kNi = 200, kN = kNe + kNi, kM = 100;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// Reward times [ms]: t_0 = gap_0, t_i = t_{i-1} + gap_i, gap_i = 1000 + splitmix64(seed + i) % 4001.
std::vector<std::int64_t> reward_times(std::uint64_t seed, double duration_ms) {
  std::vector<std::int64_t> t;
  std::int64_t now = 0;
  for (std::uint64_t i = 0;; ++i) {
    now += 1000 + static_cast<std::int64_t>(splitmix64(seed + i) % 4001u);
    if (static_cast<double>(now) >= duration_ms) break;
    t.push_back(now);
  }
  return t;
}

/// `k` distinct values of [0, n) other than `exclude` (partial Fisher-Yates).
std::vector<std::uint32_t> distinct(RandomStream& rng, std::uint32_t n, std::uint32_t k, std::uint32_t exclude) {
  std::vector<std::uint32_t> pool;
  for (std::uint32_t i = 0; i < n; ++i)
    if (i != exclude) pool.push_back(i);
  for (std::uint32_t i = 0; i < k; ++i)
    std::swap(pool[i], pool[i + rng.below(static_cast<std::uint32_t>(pool.size()) - i)]);
  pool.resize(k);
  return pool;
}

/// Prototype of a cheaper NoiseCurrent (only with --noise block4; not the library's stimulus):
/// uniform on [lo, hi] from 32-bit words, one Philox4x32 block per 4 neurons and step (counter =
/// step, id = neuron / 4, word = neuron % 4), no Distribution dispatch. Still independent of the
/// thread count (a block split between two threads is computed by both). Used to measure what the
/// proposed change to NoiseCurrent::apply would save; the headline figures use NoiseCurrent.
class Block4UniformNoise : public Stimulus {
 public:
  Block4UniformNoise(std::string name, Population& target, double lo, double hi, std::uint32_t purpose)
      : Stimulus(std::move(name), target), lo_(lo), span_(hi - lo), purpose_(purpose) {}
  std::string_view kind() const override { return "bench_noise_block4"; }
  void prepare(double /*dt*/, std::uint64_t seed) override {
    key_ = {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
  }
  void apply(Step k, Range owned) override {
    double* i_ext = target().inputs().i_ext();
    const auto c0 = static_cast<std::uint32_t>(k), c1 = static_cast<std::uint32_t>(static_cast<std::uint64_t>(k) >> 32);
    std::size_t i = owned.begin;
    while (i < owned.end) {
      const auto block = static_cast<std::uint32_t>(i / 4);
      const std::array<std::uint32_t, 4> r = philox4x32({c0, c1, block, purpose_}, key_);
      for (std::size_t w = i % 4; w < 4 && i < owned.end; ++w, ++i)
        i_ext[i] += lo_ + span_ * ((static_cast<double>(r[w]) + 0.5) * 0x1.0p-32);
    }
  }

 private:
  double lo_, span_;
  std::uint32_t purpose_;
  std::array<std::uint32_t, 2> key_{};
};

ParamValue num(double v) { return ParamValue{v, {}}; }
ParamValue str(const char* v) { return ParamValue{std::string(v), {}}; }

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, {"duration", "threads", "seed", "tonic", "noise"});
  const double duration_s = args.number("duration", 3600.0);
  const double duration = duration_s * 1000.0;  // ms
  const int threads = static_cast<int>(args.number("threads", 1));
  const auto seed = static_cast<std::uint64_t>(args.number("seed", 1));
  const double tonic = args.number("tonic", 0.002);
  // --noise 0: NoiseCurrent (default); --noise 4: the Block4UniformNoise prototype.
  const bool block4 = args.number("noise", 0) == 4;

  const double t_build0 = bench::wall_seconds();
  Simulation sim({/*dt=*/1.0, seed, threads});
  models::IzhikevichParams rs = models::IzhikevichParams::preset_params("RS");
  models::IzhikevichParams fs = models::IzhikevichParams::preset_params("FS");
  rs.integrator = fs.integrator = models::IzhikevichParams::Integrator::izhikevich2003;
  auto& exc = sim.add_population<models::Izhikevich>("exc", kNe, rs);
  auto& inh = sim.add_population<models::Izhikevich>("inh", kNi, fs);

  modulators::WellMixedParams dp;
  dp.baseline = tonic;
  dp.tau = 200.0;
  auto& da = sim.add_modulator<modulators::WellMixed>("da", dp);

  Registry reg;
  models::register_models(reg);
  ParamTable t("plasticity.da_stdp");
  t.set("tau_plus", num(20.0));
  t.set("tau_minus", num(20.0));
  t.set("a_plus", num(1.0));
  t.set("a_minus", num(1.5));
  t.set("tau_c", num(1000.0));
  t.set("eta", num(0.01));
  t.set("baseline", num(0.0));
  t.set("w_min", num(0.0));
  t.set("w_max", num(4.0));
  t.set("pairing", str("nearest"));
  t.set("modulator", str("da"));
  auto rule = reg.make_plasticity("stdp_eligibility", "da_stdp", t);

  std::vector<std::pair<NeuronIndex, NeuronIndex>> ee, ei, ie;
  for (std::uint32_t i = 0; i < kNe; ++i) {
    RandomStream rng(seed, purpose_id("bench/distal_reward/exc"), i);
    for (std::uint32_t j : distinct(rng, kN, kM, i)) {
      if (j < kNe)
        ee.emplace_back(i, j);
      else
        ei.emplace_back(i, j - kNe);
    }
  }
  for (std::uint32_t i = 0; i < kNi; ++i) {
    RandomStream rng(seed, purpose_id("bench/distal_reward/inh"), i);
    for (std::uint32_t j : distinct(rng, kNe, kM, kNe)) ie.emplace_back(i, j);
  }
  auto spec = [](const char* name, const char* src, const char* tgt, const char* port,
                 std::vector<std::pair<NeuronIndex, NeuronIndex>> pairs, double w) {
    ProjectionSpec s;
    s.name = name;
    s.source = src;
    s.target = tgt;
    s.port = port;
    s.connect.rule = ConnectSpec::Rule::pairs;
    s.connect.pair_weights.assign(pairs.size(), w);
    s.connect.pairs = std::move(pairs);
    s.delay = Distribution::constant(1.0);
    return s;
  };
  ProjectionSpec s_ee = spec("ee", "exc", "exc", "exc", ee, 1.0);
  s_ee.plasticity = rule;
  sim.connect(s_ee);
  ProjectionSpec s_ei = spec("ei", "exc", "inh", "exc", ei, 1.0);
  s_ei.plasticity = rule;
  sim.connect(s_ei);
  sim.connect(spec("ie", "inh", "exc", "inh", ie, -1.0));
  if (block4) {
    sim.add_stimulus<Block4UniformNoise>("thalamus_e", exc, -6.5, 6.5, purpose_id("bench/noise4/exc"));
    sim.add_stimulus<Block4UniformNoise>("thalamus_i", inh, -6.5, 6.5, purpose_id("bench/noise4/inh"));
  } else {
    sim.add_stimulus<NoiseCurrent>("thalamus_e", exc, Distribution::uniform(-6.5, 6.5));
    sim.add_stimulus<NoiseCurrent>("thalamus_i", inh, Distribution::uniform(-6.5, 6.5));
  }
  sim.prepare();
  const std::vector<std::int64_t> rewards = reward_times(seed, duration);
  for (std::int64_t r : rewards) da.release_at(static_cast<Step>(r), 0.5);
  const double build_s = bench::wall_seconds() - t_build0;

  // Run in chunks of 60 s (progress on stderr); the chunks do not change the results.
  const double t_run0 = bench::wall_seconds(), cpu_run0 = bench::cpu_seconds();
  double done = 0.0;
  while (done < duration) {
    const double chunk = std::min(60000.0, duration - done);
    sim.run(chunk);
    done += chunk;
    std::fprintf(stderr, "t = %6.0f s  wall %8.2f s\n", done / 1000.0, bench::wall_seconds() - t_run0);
  }
  const double run_s = bench::wall_seconds() - t_run0, run_cpu_s = bench::cpu_seconds() - cpu_run0;

  // Weights at the end (brought up to date first).
  double w_sum = 0.0, w_hi = 0.0;
  std::size_t w_n = 0;
  for (const char* name : {"ee", "ei"}) {
    Projection& p = sim.projection(name);
    for (int tid = 0; tid < sim.threads(); ++tid) p.synchronize(tid, sim.now());
    for (const auto& syn : p.synapses()) {
      w_sum += syn.weight;
      w_hi += syn.weight >= 3.6 ? 1.0 : 0.0;
      ++w_n;
    }
  }
  sim.finish(true);

  const double spikes = static_cast<double>(sim.total_spikes());
  const double events = static_cast<double>(sim.synaptic_events());
  std::size_t synapses = 0;
  for (const auto& pr : sim.projections()) synapses += pr->synapse_count();
  bench::ResultLine line;
  line.add("bench", "distal_reward").add("sim", "nmsim").add("threads", sim.threads()).add("neurons", kN);
  line.add("synapses", static_cast<double>(synapses), "%.0f").add("duration_ms", duration, "%.0f");
  line.add("build_s", build_s, "%.3f").add("run_s", run_s, "%.3f").add("run_cpu_s", run_cpu_s, "%.3f");
  line.add("spikes", spikes, "%.0f").add("rate_hz", spikes / kN / (duration * 1e-3), "%.3f");
  line.add("events", events, "%.0f").add("events_per_s", events / run_s, "%.4g");
  line.add("rtf", run_s / (duration * 1e-3), "%.4g").add("peak_mb", bench::peak_rss_mb(), "%.1f");
  line.add("noise", block4 ? "block4" : "NoiseCurrent");
  line.add("rewards", static_cast<double>(rewards.size()), "%.0f");
  line.add("w_exc_mean", w_sum / static_cast<double>(w_n), "%.4f").add("w_exc_ge_0.9max", w_hi / static_cast<double>(w_n), "%.4f");
  line.print();
  return 0;
}
