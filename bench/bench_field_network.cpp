// bench_field_network: what a spatial dopamine field and its gating cost in a network
// (issue 4, second performance point). Two builds of the same network, run alternately (A/B, in
// the same period of machine load), each timed in wall and CPU seconds:
//
//   A "well_mixed": DA is one well-mixed pool (Michaelis-Menten uptake, DA preset kinetics);
//   B "grid":       DA is a 64^3 grid field (10 um voxels, a 640 um cube; DA preset: diffusion,
//                   tortuosity, volume fraction, DAT uptake) with field.dt = --field_dt, and the
//                   three-factor rule reads it at each synapse's target neuron (spatial third factor).
//
// Network (the same in A and B): 8000 excitatory (RS) and 2000 inhibitory (FS) Izhikevich neurons
// at random positions in the cube, integrator izhikevich2003, dt = 1 ms (--dt); every neuron gets 80
// excitatory and 20 inhibitory synapses (fixed in-degree: 1e6 synapses), delay 1 ms, thalamic noise
// uniform on [-6.5, 6.5] pA per neuron and step at dt = 1 ms (the Izhikevich 2007 network scaled
// to 10 000 neurons). 100 DA neurons (RS, random positions, Poisson-driven: ~11 Hz at dt = 1 ms,
// ~13 Hz at 0.1 ms, RESULT rate_hz_da) release 3000 molecules per spike (the DA preset quantum) at
// their position (B) or Q / (alpha V_cube) into the pool (A: the same amount of dopamine per
// spike). stdp_eligibility (tau_c 1 s) on all excitatory synapses (E->E and E->I: 800 000 plastic
// synapses) with DA as third factor. At another dt every pulse weight is scaled by 1 ms / dt (a
// pulse's charge is w dt) and the noise amplitude by 1 / sqrt(dt); until 2026-12-04 the weights
// were not scaled, so at dt = 0.1 ms the DA neurons never fired and the field held no dopamine.
//
// The overhead is (B - A) / A of the run time; the RESULT line gives the best and the median of
// --reps alternating pairs, wall and CPU, and the load average before and after.
//
//   bench_field_network [--duration 2000 (ms)] [--threads 1] [--reps 3] [--field_dt 1 (ms)] [--grid 64]
//                       [--dt 1 (ms)] [--linear 0|1] [--heun 0|1 (field.scheme)]
//                       [--only 0|1|2 (both | well-mixed | grid: for profilers)]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_util.hpp"
#include "nmsim/core/registry.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/io/config.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/modulators/presets.hpp"
#include "nmsim/modulators/register.hpp"

using namespace nmsim;

namespace {

double load_average() {
  std::ifstream f("/proc/loadavg");
  double l = -1.0;
  f >> l;
  return l;
}

struct Setup {
  int threads = 1;
  std::size_t grid = 64;
  double field_dt = 1.0, spacing = 10.0, dt = 1.0;
  bool linear = false;
  bool heun = false;  // field.scheme = "heun" (second order in time) instead of "euler"  // first-order uptake tau = km
                      // / vmax instead of Michaelis-Menten (both variants)
};

std::string config(bool grid, const Setup& s) {
  const double side = static_cast<double>(s.grid) * s.spacing;  // um
  // One DA quantum: 3000 molecules (the preset's), in uM um^3.
  const modulators::ModulatorPreset& da = *modulators::find_preset("DA");
  const double quantum = da.quantum;
  const double alpha = 0.21;
  const std::string uptake =
      s.linear ? fmt::format("uptake = {{ kind = \"linear\", tau = {} }}", da.kinetics.km / da.kinetics.vmax)
               : fmt::format("uptake = {{ kind = \"michaelis_menten\", vmax = {}, km = {} }}", da.kinetics.vmax,
                             da.kinetics.km);
  std::string field;
  if (grid)
    field = fmt::format(
        "preset = \"DA\"\n"
        "field = {{ type = \"grid\", origin = [{0}, {0}, {0}], spacing = {1}, shape = [{2}, {2}, {2}], dt = {3}, "
        "scheme = \"{6}\" }}\n"
        "release = [ {{ source = \"da\", quantum = {4}, delay = 1.0, probability = 1.0 }} ]\n{5}\n",
        s.spacing / 2, s.spacing, s.grid, s.field_dt, quantum, uptake, s.heun ? "heun" : "euler");
  else  // the same amount per spike, spread over the cube's extracellular volume
    field = fmt::format(
        "field = {{ type = \"well_mixed\" }}\n"
        "{1}\n"
        "release = [ {{ source = \"da\", quantum = {0}, delay = 1.0, probability = 1.0 }} ]\n",
        quantum / (alpha * side * side * side), uptake);
  // A pulse input of w pA carries the charge w dt (izhikevich.hpp), so every input weight (and the
  // plastic weights' bound and rate) is scaled by q = 1 ms / dt: the same network at any dt. The
  // noise is white (variance per ms kept: amplitude / sqrt(dt)).
  const double q = 1.0 / s.dt;
  return fmt::format(R"(
[simulation]
dt = {dt}
duration = {dt}
seed = 7
threads = {threads}

[[population]]
name = "exc"
model = "izhikevich"
size = 8000
params = {{ preset = "RS", integrator = "izhikevich2003" }}
positions = {{ random = {{ min = [0, 0, 0], max = [{side}, {side}, {side}] }} }}

[[population]]
name = "inh"
model = "izhikevich"
size = 2000
params = {{ preset = "FS", integrator = "izhikevich2003" }}
positions = {{ random = {{ min = [0, 0, 0], max = [{side}, {side}, {side}] }} }}

[[population]]
name = "da"
model = "izhikevich"
size = 100
params = {{ preset = "RS", integrator = "izhikevich2003" }}
positions = {{ random = {{ min = [0, 0, 0], max = [{side}, {side}, {side}] }} }}

[[stimulus]]
name = "noise_e"
kind = "noise"
target = "exc"
amplitude = {{ uniform = [-{noise}, {noise}] }}

[[stimulus]]
name = "noise_i"
kind = "noise"
target = "inh"
amplitude = {{ uniform = [-{noise}, {noise}] }}

[[stimulus]]
name = "da_drive"
kind = "poisson"
target = "da"
rate = 60.0
weight = {w_da}

[[plasticity]]
name = "three_factor"
rule = "stdp_eligibility"
modulator = "DA"
tau_plus = 20.0
tau_minus = 20.0
a_plus = 0.1
a_minus = 0.15
tau_c = 1000.0
eta = {eta}
baseline = 0.0
w_min = 0.0
w_max = {w_max}

[[projection]]
name = "ee"
source = "exc"
target = "exc"
connect = {{ rule = "fixed_indegree", k = 80 }}
weight = {w_e}
delay = 1.0
plasticity = "three_factor"

[[projection]]
name = "ei"
source = "exc"
target = "inh"
connect = {{ rule = "fixed_indegree", k = 80 }}
weight = {w_e}
delay = 1.0
plasticity = "three_factor"

[[projection]]
name = "ie"
source = "inh"
target = "exc"
connect = {{ rule = "fixed_indegree", k = 20 }}
weight = {w_i}
delay = 1.0

[[projection]]
name = "ii"
source = "inh"
target = "inh"
connect = {{ rule = "fixed_indegree", k = 20 }}
weight = {w_i}
delay = 1.0

[[modulator]]
name = "DA"
baseline = 0.02
{field}
)",
                     fmt::arg("threads", s.threads), fmt::arg("dt", s.dt), fmt::arg("noise", 6.5 / std::sqrt(s.dt)),
                     fmt::arg("side", side), fmt::arg("field", field), fmt::arg("w_da", 20.0 * q), fmt::arg("w_e", q),
                     fmt::arg("w_i", -q), fmt::arg("w_max", 4.0 * q), fmt::arg("eta", 0.5 * q));
}

struct Timing {
  double wall = 0.0, cpu = 0.0, spikes = 0.0, events = 0.0, da_spikes = 0.0;
};

Timing run_once(bool grid, const Setup& s, double duration) {
  const io::Config cfg = io::Config::parse(config(grid, s), grid ? "bench_grid" : "bench_well_mixed");
  Registry reg;
  models::register_models(reg);
  modulators::register_modulators(reg);
  Simulation sim(cfg.simulation_options());
  cfg.build(sim, reg);
  sim.prepare();
  sim.run(10.0);  // warm-up: pages touched, threads started
  const double w0 = bench::wall_seconds(), c0 = bench::cpu_seconds();
  const double sp0 = static_cast<double>(sim.total_spikes()), ev0 = static_cast<double>(sim.synaptic_events());
  auto da_spikes = [&] {
    double n = 0.0;
    for (const auto c : sim.spike_counts("da")) n += static_cast<double>(c);
    return n;
  };
  const double da0 = da_spikes();
  sim.run(duration);
  Timing t;
  t.wall = bench::wall_seconds() - w0;
  t.cpu = bench::cpu_seconds() - c0;
  t.spikes = static_cast<double>(sim.total_spikes()) - sp0;
  t.events = static_cast<double>(sim.synaptic_events()) - ev0;
  t.da_spikes = da_spikes() - da0;
  return t;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, {"duration", "threads", "reps", "field_dt", "grid", "dt", "linear", "heun", "only"});
  const double duration = args.number("duration", 2000.0);
  Setup s;
  s.threads = static_cast<int>(args.number("threads", 1));
  s.field_dt = args.number("field_dt", 1.0);
  s.grid = static_cast<std::size_t>(args.number("grid", 64));
  s.dt = args.number("dt", 1.0);
  s.linear = args.number("linear", 0) != 0;
  s.heun = args.number("heun", 0) != 0;
  const int reps = static_cast<int>(args.number("reps", 3));
  if (const int only = static_cast<int>(args.number("only", 0)); only == 1 || only == 2) {
    for (int r = 0; r < reps; ++r) {
      const Timing t = run_once(only == 2, s, duration);
      std::fprintf(stderr, "rep %d %-10s wall %.3f s cpu %.3f s spikes %.0f da spikes %.0f\n", r,
                   only == 2 ? "grid" : "well_mixed", t.wall, t.cpu, t.spikes, t.da_spikes);
    }
    return 0;
  }
  const double load0 = load_average();
  std::vector<double> wall[2], cpu[2], ratio_wall, ratio_cpu;
  Timing last[2];
  for (int r = 0; r < reps; ++r) {
    // Alternate the order so that a drift of the machine's load does not favour one variant.
    const bool grid_first = r % 2 == 1;
    for (int k = 0; k < 2; ++k) {
      const bool grid = (k == 0) == grid_first;
      const Timing t = run_once(grid, s, duration);
      wall[grid].push_back(t.wall);
      cpu[grid].push_back(t.cpu);
      last[grid] = t;
      std::fprintf(stderr, "rep %d %-10s wall %.3f s cpu %.3f s spikes %.0f load %.2f\n", r,
                   grid ? "grid" : "well_mixed", t.wall, t.cpu, t.spikes, load_average());
    }
    ratio_wall.push_back(wall[1].back() / wall[0].back());
    ratio_cpu.push_back(cpu[1].back() / cpu[0].back());
  }
  bench::ResultLine line;
  line.add("bench", "field_network").add("sim", "nmsim").add("neurons", 10100.0, "%.0f");
  line.add("grid", static_cast<double>(s.grid), "%.0f").add("field_dt_ms", s.field_dt, "%.3g");
  line.add("dt_ms", s.dt, "%.3g").add("uptake", s.linear ? "linear" : "michaelis_menten");
  line.add("scheme", s.heun ? "heun" : "euler");
  line.add("threads", static_cast<double>(s.threads), "%.0f").add("duration_ms", duration, "%.0f");
  for (int g = 0; g < 2; ++g) {
    const std::string v = g ? "grid" : "wm";
    line.add("wall_s_best_" + v, *std::min_element(wall[g].begin(), wall[g].end()), "%.3f");
    line.add("wall_s_median_" + v, median(wall[g]), "%.3f");
    line.add("cpu_s_median_" + v, median(cpu[g]), "%.3f");
    line.add("rate_hz_" + v, last[g].spikes / 10100.0 / (duration * 1e-3), "%.3f");
  }
  line.add("rate_hz_da", last[1].da_spikes / 100.0 / (duration * 1e-3), "%.3f");
  line.add("overhead_wall_best",
           *std::min_element(wall[1].begin(), wall[1].end()) / *std::min_element(wall[0].begin(), wall[0].end()) - 1.0,
           "%.3f");
  line.add("overhead_wall_median_pair", median(ratio_wall) - 1.0, "%.3f");
  line.add("overhead_cpu_median_pair", median(ratio_cpu) - 1.0, "%.3f");
  line.add("load_before", load0, "%.2f").add("load_after", load_average(), "%.2f");
  line.add("peak_mb", bench::peak_rss_mb(), "%.1f");
  line.print();
  return 0;
}
