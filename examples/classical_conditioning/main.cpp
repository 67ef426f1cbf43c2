// Izhikevich (2007) Cereb. Cortex 17:2443, Fig. 2: classical (Pavlovian) conditioning.
// 100 random groups S1..S100 of 50 neurons each (drawn from all 1000). Every 100-300 ms one group,
// chosen at random, is stimulated: each of its neurons gets a 1 ms current pulse of 40 pA, enough
// to fire it. Each presentation of S1 is followed, after a random delay of up to 1 s, by a
// dopamine release of 0.5 uM; the other stimuli are never rewarded, but they, and the random
// firing, fill the delay. The synapses that S1's spikes tag (S1 -> the neurons they make fire) are
// the ones tagged consistently when dopamine comes, so after training the network answers S1 with
// more spikes than any other stimulus.
//
//   example_classical_conditioning [--duration S] [--threads N] [--seed S] [-o out.h5]
// The task is open loop (rewards depend only on the stimulus sequence), so the whole schedule is
// drawn up front from counter-based streams and handed to SpikeTimesInput and release_at. The
// schedule and the groups are written into /config for check.py.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../common/da_network.hpp"
#include "nmsim/io/recorder.hpp"

using namespace nmsim;

namespace {

const char* kUsage =
    "usage: example_classical_conditioning [--duration S (3600)] [--threads N] [--seed S (2007)]\n"
    "                                      [-o out.h5]\n";

constexpr std::uint32_t kGroups = 100, kGroupSize = 50;
constexpr double kPulse = 40.0;     // pA for one 1 ms step: fires a resting RS or FS neuron
constexpr double kChunkMs = 60000.0;  // progress every simulated minute

}  // namespace

int main(int argc, char** argv) {
  const da_example::Args args = da_example::parse_args(argc, argv, kUsage, 3600.0, "classical_conditioning.h5");
  try {
    Simulation sim({/*dt=*/1.0, args.seed, args.threads});
    const da_example::Wiring wiring = da_example::draw_wiring(args.seed);
    da_example::Network net = da_example::build(sim, wiring, std::vector<double>(wiring.ee.size(), 1.0));

    // Groups: 50 distinct neurons of the whole network each (ids 0..799 exc, 800..999 inh).
    std::vector<std::vector<std::uint32_t>> groups(kGroups);
    for (std::uint32_t g = 0; g < kGroups; ++g) {
      RandomStream rng(args.seed, purpose_id("classical/group"), g);
      groups[g] = da_example::distinct(rng, static_cast<std::uint32_t>(da_example::kN), kGroupSize,
                                       static_cast<std::uint32_t>(-1));
    }
    // Schedule: onsets separated by 100..300 ms, a random group each; S1 (group 0) rewarded after
    // 1..1000 ms. One sequential stream: the schedule is a single sequence.
    const Step end = static_cast<Step>(std::llround(args.duration_s * 1000.0));
    std::vector<Step> onset;
    std::vector<std::uint32_t> which;
    std::vector<Step> reward;
    {
      RandomStream rng(args.seed, purpose_id("classical/schedule"), 0);
      for (Step t = 100 + rng.below(201); t < end; t += 100 + rng.below(201)) {
        onset.push_back(t);
        which.push_back(rng.below(kGroups));
        if (which.back() == 0) reward.push_back(t + 1 + rng.below(1000));
      }
    }
    std::vector<double> te, ti;
    std::vector<NeuronIndex> ne, ni;
    for (std::size_t s = 0; s < onset.size(); ++s)
      for (std::uint32_t n : groups[which[s]]) {
        // A pulse port holds an input arriving at t over [t, t + 1 ms): a 1 ms pulse at the onset.
        if (n < da_example::kNe) {
          te.push_back(static_cast<double>(onset[s]));
          ne.push_back(n);
        } else {
          ti.push_back(static_cast<double>(onset[s]));
          ni.push_back(n - static_cast<NeuronIndex>(da_example::kNe));
        }
      }
    sim.add_stimulus<SpikeTimesInput>("stimulus_e", *net.exc, "exc", te, ne, kPulse);
    sim.add_stimulus<SpikeTimesInput>("stimulus_i", *net.inh, "exc", ti, ni, kPulse);

    std::string about = fmt::format(
        "# examples/classical_conditioning (Izhikevich 2007, Fig. 2)\n[classical_conditioning]\n"
        "group_size = {}\npulse_pA = {}\nreward_uM = {}\ntonic_da_uM = {}\nreward_delay_ms = [1, 1000]\n"
        "onset_ms = [{}]\nstimulus = [{}]\nreward_ms = [{}]\ngroups = [\n",
        kGroupSize, kPulse, da_example::kReward, da_example::kTonicDa, fmt::join(onset, ", "), fmt::join(which, ", "),
        fmt::join(reward, ", "));
    for (const auto& g : groups) about += fmt::format("  [{}],\n", fmt::join(g, ", "));
    about += "]\n";

    const double duration_ms = args.duration_s * 1000.0;
    io::Recorder rec({args.out, 60000.0, 4}, {about, args.seed, 1.0, duration_ms, args.threads});
    rec.record_spikes("exc");
    rec.record_spikes("inh");
    rec.record_modulator("da", 10.0);
    rec.snapshot_weights("ee");
    rec.snapshot_weights("ei");
    sim.add_observer(rec);

    sim.prepare();
    for (Step r : reward) net.da->release_at(r, da_example::kReward);

    std::printf("classical conditioning: seed %llu, threads %d, %zu stimuli (%zu of S1), %.0f s\n",
                static_cast<unsigned long long>(args.seed), sim.threads(), onset.size(), reward.size(), args.duration_s);
    const auto t0 = std::chrono::steady_clock::now();
    std::uint64_t last = 0;
    double done = 0.0;
    while (done < duration_ms) {
      const double chunk = std::min(kChunkMs, duration_ms - done);
      sim.run(chunk);
      done += chunk;
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("t = %5.0f s  rate %5.2f Hz  wall %7.1f s  (x%.2f real time)\n", done / 1000.0,
                  static_cast<double>(sim.total_spikes() - last) / static_cast<double>(da_example::kN) / (chunk / 1000.0),
                  wall, done / 1000.0 / wall);
      std::fflush(stdout);
      last = sim.total_spikes();
    }
    sim.finish(true);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("done: %.0f s simulated in %.1f s wall (%.2f x real time)\noutput: %s\n", args.duration_s, wall,
                args.duration_s / wall, args.out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "example_classical_conditioning: %s\n", e.what());
    return 1;
  }
  return 0;
}
