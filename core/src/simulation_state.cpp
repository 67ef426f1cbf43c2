// Simulation::save_state / restore_state (docs/checkpoint.md). Everything written here is
// independent of the thread count: populations, rings and modulators are global arrays, and
// projections write their synapses in the canonical order (Projection::canonical_index).
#include <cmath>

#include <fmt/format.h>

#include "nmsim/core/simulation.hpp"

namespace nmsim {

void Simulation::save_state(StateWriter& w) const {
  if (!prepared_) const_cast<Simulation*>(this)->prepare();
  w.scalar("now", now_);
  w.scalar("dt", options_.dt);
  w.scalar("seed", options_.seed);
  w.scalar("total_spikes", total_spikes_);
  w.scalar("synaptic_events", synaptic_events_);
  w.scalar("min_delay", static_cast<std::uint64_t>(min_delay_));
  for (const auto& p : populations_) {
    auto g = w.group("population/" + p->name());
    w.write("spike_counts", spike_counts_[p->index()]);
    const InputBuffers& in = p->inputs();
    w.scalar("ring_slots", static_cast<std::uint64_t>(in.slots()));
    for (std::size_t q = 0; q < in.ports(); ++q) w.write(fmt::format("ring/{}", q), in.ring_storage(q));
    auto s = w.group("state");
    p->save_state(w);
  }
  for (const auto& p : projections_) {
    auto g = w.group("projection/" + p->name());
    p->save_state(w);
  }
  for (const auto& s : stimuli_) {
    auto g = w.group("stimulus/" + s->name());
    s->save_state(w);
  }
  for (const auto& m : modulators_) {
    auto g = w.group("modulator/" + m->name());
    m->save_state(w);
  }
}

void Simulation::restore_state(const StateReader& r) {
  if (!prepared_) prepare();
  const double dt = r.scalar<double>("dt");
  if (dt != options_.dt) r.fail("dt", fmt::format("saved with dt = {} ms, this simulation has dt = {} ms", dt, options_.dt));
  const auto seed = r.scalar<std::uint64_t>("seed");
  if (seed != options_.seed) r.fail("seed", fmt::format("saved with seed {}, this simulation has seed {}", seed, options_.seed));
  const auto md = r.scalar<std::uint64_t>("min_delay");
  if (md != min_delay_) r.fail("min_delay", fmt::format("saved with a delivery window of {} steps, this network has {}", md, min_delay_));
  const Step now = r.scalar<Step>("now");
  if (now < 0) r.fail("now", fmt::format("expected a step >= 0, found {}", now));
  for (const auto& p : populations_) {
    auto g = r.group("population/" + p->name());
    r.read_into("spike_counts", spike_counts_[p->index()]);
    InputBuffers& in = p->inputs();
    const auto slots = r.scalar<std::uint64_t>("ring_slots");
    if (slots != in.slots())
      r.fail("ring_slots", fmt::format("saved with {} ring slots, this network has {}", slots, in.slots()));
    for (std::size_t q = 0; q < in.ports(); ++q) r.read_into(fmt::format("ring/{}", q), in.ring_storage(q));
    auto s = r.group("state");
    p->restore_state(r);
  }
  for (const auto& p : projections_) {
    auto g = r.group("projection/" + p->name());
    p->restore_state(r);
  }
  for (const auto& s : stimuli_) {
    auto g = r.group("stimulus/" + s->name());
    s->restore_state(r);
  }
  for (const auto& m : modulators_) {
    auto g = r.group("modulator/" + m->name());
    m->restore_state(r);
  }
  total_spikes_ = r.scalar<std::uint64_t>("total_spikes");
  synaptic_events_ = r.scalar<std::uint64_t>("synaptic_events");
  now_ = now;
}

}  // namespace nmsim
