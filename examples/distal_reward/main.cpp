// Izhikevich (2007) Cereb. Cortex 17:2443, Fig. 1: reinforcing one synapse with a distal reward.
// One excitatory synapse n1 -> n2 starts at weight 0. Every time n2 fires less than 20 ms after
// n1 (the code's coincidence interval; the paper's text says 10 ms: --pair-window), a dopamine
// release of 0.5 uM follows after a random 1-3 s, while the network keeps firing at random. The
// eligibility trace of the rewarded synapse is the only one that is systematically positive when
// the dopamine arrives, so it alone grows to the maximum weight, within about an hour.
//
//   example_distal_reward [--duration S] [--threads N] [--seed S] [-o out.h5] [--pair-window MS]
//                         [--spikes]
// The reward loop is an Observer: it reads the window's spikes at the end of each delivery window
// and schedules the release with WellMixed::release_at; the delays come from a counter-based
// stream keyed by (seed, the step of n2's spike), so the run is identical for any thread count.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../common/da_network.hpp"
#include "nmsim/core/observer.hpp"
#include "nmsim/io/recorder.hpp"

using namespace nmsim;

namespace {

// Progress is printed (and the current weight read) every simulated minute.
constexpr double kChunkMs = 60000.0;

const char* kUsage =
    "usage: example_distal_reward [--duration S (3600)] [--threads N] [--seed S (2007)] [-o out.h5]\n"
    "                             [--pair-window MS (20)] [--spikes]\n";

class RewardLoop : public Observer {
 public:
  RewardLoop(modulators::WellMixed& da, std::uint32_t exc, NeuronIndex n1, NeuronIndex n2, Step window,
             std::uint64_t seed)
      : da_(da), exc_(exc), n1_(n1), n2_(n2), window_(window), seed_(seed) {}

  void on_spikes(const std::vector<Spike>& spikes) override {
    // Spikes are sorted by step; within a step n1 is looked at before n2 whatever their ids, so a
    // coincident firing never counts as "n2 after n1" (the code compares n2f > n1f).
    for (std::size_t i = 0; i < spikes.size();) {
      std::size_t e = i;
      bool n2_fired = false;
      for (; e < spikes.size() && spikes[e].step == spikes[i].step; ++e) {
        if (spikes[e].population != exc_) continue;
        if (spikes[e].neuron == n1_) last_n1_ = spikes[e].step;
        if (spikes[e].neuron == n2_) n2_fired = true;
      }
      const Step s = spikes[i].step;
      if (n2_fired && last_n1_ >= 0 && s > last_n1_ && s - last_n1_ < window_) {
        // 1000 + ceil(2000 rand) ms in the code: 1001..3000 steps of 1 ms after n2's spike.
        RandomStream rng(seed_, purpose_id("distal_reward/reward_delay"), 0, static_cast<std::uint64_t>(s) << 32);
        const Step at = s + 1 + 1001 + rng.below(2000);
        da_.release_at(at, da_example::kReward);
        ++pairings_;
      }
      i = e;
    }
  }
  std::uint64_t pairings() const { return pairings_; }

 private:
  modulators::WellMixed& da_;
  std::uint32_t exc_;
  NeuronIndex n1_, n2_;
  Step window_;
  std::uint64_t seed_;
  Step last_n1_ = -1;
  std::uint64_t pairings_ = 0;
};

double weight_of(const Simulation& sim, NeuronIndex n1, NeuronIndex n2) {
  for (const auto& s : sim.projection("ee").synapses())
    if (s.source == n1 && s.target == n2) return s.weight;
  return -1.0;
}

}  // namespace

int main(int argc, char** argv) {
  const da_example::Args args = da_example::parse_args(argc, argv, kUsage, 3600.0, "distal_reward.h5");
  try {
    Simulation sim({/*dt=*/1.0, args.seed, args.threads});
    const da_example::Wiring wiring = da_example::draw_wiring(args.seed);

    // The rewarded synapse: a random E->E synapse (the code takes the first synapse of neuron 1,
    // whose target may be inhibitory; we keep it excitatory so that "the other E->E weights" is
    // the comparison set). It starts at 0, as in the paper.
    RandomStream pick(args.seed, purpose_id("distal_reward/chosen_synapse"), 0);
    const std::size_t chosen = pick.below(static_cast<std::uint32_t>(wiring.ee.size()));
    const auto [n1, n2] = wiring.ee[chosen];
    std::vector<double> w(wiring.ee.size(), 1.0);
    w[chosen] = 0.0;
    da_example::Network net = da_example::build(sim, wiring, w);

    // Recorded: the rewarded synapse and 999 other E->E synapses (every 1 s), dopamine (every
    // 10 ms), all E->E and E->I weights at the end.
    std::vector<std::pair<NeuronIndex, NeuronIndex>> recorded{{n1, n2}};
    {
      RandomStream rs(args.seed, purpose_id("distal_reward/sample"), 0);
      std::vector<std::uint32_t> others = da_example::distinct(rs, static_cast<std::uint32_t>(wiring.ee.size()), 999,
                                                               static_cast<std::uint32_t>(chosen));
      for (std::uint32_t q : others) recorded.push_back(wiring.ee[q]);
    }
    const double duration_ms = args.duration_s * 1000.0;
    const std::string about = fmt::format(
        "# examples/distal_reward (Izhikevich 2007, Fig. 1)\n[distal_reward]\nn1 = {}\nn2 = {}\nw_max = {}\n"
        "pair_window_ms = {}\nreward_uM = {}\ntonic_da_uM = {}\nreward_delay_ms = [1001, 3000]\n",
        n1, n2, da_example::kWmax, args.pair_window_ms, da_example::kReward, da_example::kTonicDa);
    io::Recorder rec({args.out, 60000.0, 4}, {about, args.seed, 1.0, duration_ms, args.threads});
    rec.record_weights("ee", io::Recorder::SynapsePairs(recorded), 1000.0);
    rec.snapshot_weights("ee");
    rec.snapshot_weights("ei");
    rec.record_modulator("da", 10.0);
    if (args.spikes) {
      rec.record_spikes("exc");
      rec.record_spikes("inh");
    }
    sim.add_observer(rec);
    RewardLoop loop(*net.da, net.exc->index(), n1, n2, static_cast<Step>(std::llround(args.pair_window_ms)),
                    args.seed);
    sim.add_observer(loop);

    std::printf("distal reward: seed %llu, threads %d, rewarded synapse exc %u -> exc %u, %.0f s\n",
                static_cast<unsigned long long>(args.seed), sim.threads(), n1, n2, args.duration_s);
    const auto t0 = std::chrono::steady_clock::now();
    std::uint64_t last_spikes = 0;
    double done = 0.0;
    while (done < duration_ms) {
      const double chunk = std::min(kChunkMs, duration_ms - done);
      sim.run(chunk);
      done += chunk;
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      // The weight printed here may lag up to 1 s (the rule brings synapses up to date lazily).
      std::printf("t = %5.0f s  rate %5.2f Hz  pairings %6llu  w(n1->n2) %.3f  wall %7.1f s  (x%.2f real time)\n",
                  done / 1000.0, static_cast<double>(sim.total_spikes() - last_spikes) / static_cast<double>(da_example::kN) / (chunk / 1000.0),
                  static_cast<unsigned long long>(loop.pairings()), weight_of(sim, n1, n2), wall,
                  done / 1000.0 / wall);
      std::fflush(stdout);
      last_spikes = sim.total_spikes();
    }
    sim.finish(true);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("done: %.0f s simulated in %.1f s wall (%.2f x real time), %llu pairings rewarded\noutput: %s\n",
                args.duration_s, wall, args.duration_s / wall, static_cast<unsigned long long>(loop.pairings()),
                args.out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "example_distal_reward: %s\n", e.what());
    return 1;
  }
  return 0;
}
