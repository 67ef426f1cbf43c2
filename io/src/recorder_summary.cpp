// /summary of a result file: scalar results of the run as attributes of one group, so that a
// sweep (or any script) can tabulate runs without reading the spike datasets.
//
//   /summary  attrs  rate.<pop>        float64, mean firing rate of population <pop> [Hz]
//                                      = spikes.<pop> / size / (simulated_time / 1000)
//                    spikes.<pop>      uint64, spikes of <pop> emitted while recorded
//                    simulated_time    float64 [ms], simulated time the rates are taken over
//                                      (from prepare to finish of the recorder)
//                    wall_time         float64 [s], wall-clock time from prepare to finish
//                    synaptic_events   uint64, spikes x outgoing synapses delivered in that time
//                    <name>.units      string, the unit of each numeric attribute that has one
//
// Spikes are counted by the engine for every population, recorded or not.
#include <chrono>
#include <cstdint>
#include <string>

#include "h5.hpp"
#include "nmsim/core/simulation.hpp"
#include "recorder_impl.hpp"

namespace nmsim::io {

namespace {

std::uint64_t total(const std::vector<std::uint64_t>& v) {
  std::uint64_t n = 0;
  for (auto c : v) n += c;
  return n;
}

void set_with_units(hid_t g, const std::string& name, double value, const char* units) {
  h5::set_attr(g, name, value);
  h5::set_attr(g, name + ".units", units);
}

}  // namespace

void Recorder::Impl::start_summary() {
  prepare_step = sim->now();
  prepare_clock = std::chrono::steady_clock::now();
  spikes_at_prepare.clear();
  for (const auto& p : sim->populations()) spikes_at_prepare.push_back(total(sim->spike_counts(p->name())));
  events_at_prepare = sim->synaptic_events();
}

void Recorder::Impl::write_summary() {
  if (!sim) return;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - prepare_clock).count();
  const Step end = std::max(now_step, sim->now());
  const double span_ms = static_cast<double>(end - prepare_step) * dt;
  h5::Lock lock;
  h5::GroupId g = h5::exists(file.id(), "summary") ? h5::open_group(file.id(), "summary")
                                                    : h5::create_group(file.id(), "summary");
  const auto& pops = sim->populations();
  for (std::size_t i = 0; i < pops.size(); ++i) {
    const Population& p = *pops[i];
    if (p.name().empty() || p.name().find('/') != std::string::npos) continue;
    const std::uint64_t before = i < spikes_at_prepare.size() ? spikes_at_prepare[i] : 0;
    const std::uint64_t n = total(sim->spike_counts(p.name())) - before;
    const double rate =
        span_ms > 0 && p.size() > 0 ? static_cast<double>(n) * 1000.0 / (static_cast<double>(p.size()) * span_ms) : 0.0;
    set_with_units(g.get(), "rate." + p.name(), rate, "Hz");
    h5::set_attr(g.get(), "spikes." + p.name(), n);
  }
  set_with_units(g.get(), "simulated_time", span_ms, "ms");
  set_with_units(g.get(), "wall_time", wall, "s");
  h5::set_attr(g.get(), "synaptic_events", sim->synaptic_events() - events_at_prepare);
}

}  // namespace nmsim::io
