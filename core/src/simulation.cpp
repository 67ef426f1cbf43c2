#include "nmsim/core/simulation.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <iterator>
#include <span>

#include <fmt/format.h>

#include "finite_check.hpp"
#include "team_barrier.hpp"

namespace nmsim {

Simulation::Simulation(SimulationOptions options) : options_(options) {
  if (!(options_.dt > 0) || !std::isfinite(options_.dt))
    throw ConfigError({}, "simulation.dt", fmt::format("expected a time step > 0 ms, found {}", options_.dt));
  if (options_.threads > 1024)
    throw ConfigError({}, "simulation.threads",
                      fmt::format("expected at most 1024 threads (0 = all cores), found {}", options_.threads));
  if (options_.threads < 0)
    throw ConfigError({}, "simulation.threads",
                      fmt::format("expected a whole number >= 0 (0 = all cores), found {}", options_.threads));
  threads_ = options_.threads == 0 ? omp_get_max_threads() : options_.threads;
}

Simulation::~Simulation() = default;

Population& Simulation::add(std::unique_ptr<Population> population) {
  if (prepared_)
    throw ConfigError({}, "population." + population->name(), "cannot add a population after the first run");
  if (has_population(population->name()))
    throw ConfigError({}, "population." + population->name() + ".name", "a population of this name exists already");
  // InputView holds kMaxPorts port pointers: more ports would be written past its end.
  if (population->ports().size() > static_cast<std::size_t>(InputView::kMaxPorts))
    throw ConfigError({}, "population." + population->name(),
                      fmt::format("model {} declares {} input ports; the engine supports at most {}",
                                  population->model(), population->ports().size(), InputView::kMaxPorts));
  population->index_ = static_cast<std::uint32_t>(populations_.size());
  populations_.push_back(std::move(population));
  return *populations_.back();
}

bool Simulation::has_population(const std::string& name) const {
  for (const auto& p : populations_)
    if (p->name() == name) return true;
  return false;
}

Population& Simulation::population(const std::string& name) const {
  for (const auto& p : populations_)
    if (p->name() == name) return *p;
  throw ConfigError({}, "population", fmt::format("no population named \"{}\"", name));
}

Projection& Simulation::projection(const std::string& name) const {
  for (const auto& p : projections_)
    if (p->name() == name) return *p;
  throw ConfigError({}, "projection", fmt::format("no projection named \"{}\"", name));
}

Stimulus& Simulation::stimulus(const std::string& name) const {
  for (const auto& s : stimuli_)
    if (s->name() == name) return *s;
  throw ConfigError({}, "stimulus", fmt::format("no stimulus named \"{}\"", name));
}

Projection& Simulation::connect(ProjectionSpec spec) {
  const std::string key = "projection." + spec.name;
  if (prepared_) throw ConfigError({}, key, "cannot add a projection after the first run");
  for (const auto& p : projections_)
    if (p->name() == spec.name) throw ConfigError({}, key + ".name", "a projection of this name exists already");
  auto find = [&](const std::string& pop, const char* field) -> Population& {
    for (const auto& p : populations_)
      if (p->name() == pop) return *p;
    std::vector<std::string> names;
    for (const auto& p : populations_) names.push_back(p->name());
    throw ConfigError({}, key + "." + field,
                      fmt::format("expected the name of a population ({}), found \"{}\"", fmt::join(names, ", "), pop));
  };
  Population& src = find(spec.source, "source");
  Population& tgt = find(spec.target, "target");
  const auto ports = tgt.ports();
  if (spec.port.empty()) {
    if (spec.weight.min_value() >= 0)
      spec.port = "exc";
    else if (spec.weight.max_value() <= 0)
      spec.port = "inh";
    else
      throw ConfigError({}, key + ".synapse", "weights take both signs: name the input port (synapse = ...)");
  }
  const int port = tgt.port_index(spec.port);
  if (port < 0) {
    std::vector<std::string> names;
    for (const auto& p : ports) names.push_back(p.name);
    throw ConfigError({}, key + ".synapse",
                      fmt::format("expected an input port of model {} ({}), found \"{}\"", tgt.model(),
                                  fmt::join(names, ", "), spec.port));
  }
  if (ports[port].nonnegative_weights && spec.weight.min_value() < 0)
    throw ConfigError({}, key + ".weight",
                      fmt::format("port \"{}\" of model {} takes weights >= 0 ({}); found {}", spec.port, tgt.model(),
                                  ports[port].units, spec.weight.str()));
  const double dt = options_.dt;
  const auto check_delay = [&](double d) {
    const double steps = d / dt;
    if (!(steps >= 1 - 1e-9))
      throw ConfigError({}, key + ".delay", fmt::format("expected a delay >= dt = {} ms, found {} ms", dt, d));
    if (std::fabs(steps - std::round(steps)) > 1e-6 * std::max(1.0, steps))
      throw ConfigError({}, key + ".delay", fmt::format("expected a multiple of dt = {} ms, found {} ms", dt, d));
  };
  if (spec.delay.is_constant())
    check_delay(spec.delay.a);
  else if (!(spec.delay.min_value() >= 0.5 * dt - 1e-12))
    // Drawn delays are rounded to the nearest step, so anything from dt/2 up becomes >= 1 step.
    throw ConfigError({}, key + ".delay",
                      fmt::format("delays are drawn from {}, which can round to less than dt = {} ms: add min = {}",
                                  spec.delay.str(), dt, dt));
  ConnectSpec& c = spec.connect;
  const bool same = &src == &tgt;
  const std::uint64_t avail_src = src.size() - ((same && !c.allow_autapses) ? 1 : 0);
  const std::uint64_t avail_tgt = tgt.size() - ((same && !c.allow_autapses) ? 1 : 0);
  switch (c.rule) {
    case ConnectSpec::Rule::fixed_probability:
      if (!(c.p >= 0 && c.p <= 1))
        throw ConfigError({}, key + ".connect.p", fmt::format("expected a probability in [0, 1], found {}", c.p));
      break;
    case ConnectSpec::Rule::fixed_indegree:
      if (!c.allow_multapses && c.k > avail_src)
        throw ConfigError(
            {}, key + ".connect.k",
            fmt::format("expected k <= {} (distinct sources available without multapses), found {}", avail_src, c.k));
      if (c.k > 0 && avail_src == 0) throw ConfigError({}, key + ".connect.k", "no source neuron to draw from");
      break;
    case ConnectSpec::Rule::fixed_outdegree:
      if (!c.allow_multapses && c.k > avail_tgt)
        throw ConfigError(
            {}, key + ".connect.k",
            fmt::format("expected k <= {} (distinct targets available without multapses), found {}", avail_tgt, c.k));
      if (c.k > 0 && avail_tgt == 0) throw ConfigError({}, key + ".connect.k", "no target neuron to draw from");
      break;
    case ConnectSpec::Rule::one_to_one:
      if (src.size() != tgt.size())
        throw ConfigError({}, key + ".connect.rule",
                          fmt::format("one_to_one needs equal sizes, found {} -> {}", src.size(), tgt.size()));
      break;
    case ConnectSpec::Rule::pairs:
      for (const auto& [s, t] : c.pairs)
        if (s >= src.size() || t >= tgt.size())
          throw ConfigError(
              {}, key + ".connect.pairs",
              fmt::format("pair ({}, {}) is out of range: sizes are {} and {}", s, t, src.size(), tgt.size()));
      if (!c.pair_weights.empty() && c.pair_weights.size() != c.pairs.size())
        throw ConfigError(
            {}, key + ".connect.weights",
            fmt::format("expected {} weights (one per pair), found {}", c.pairs.size(), c.pair_weights.size()));
      if (!c.pair_delays.empty() && c.pair_delays.size() != c.pairs.size())
        throw ConfigError(
            {}, key + ".connect.delays",
            fmt::format("expected {} delays (one per pair), found {}", c.pairs.size(), c.pair_delays.size()));
      for (double d : c.pair_delays) check_delay(d);
      if (ports[port].nonnegative_weights)
        for (double w : c.pair_weights)
          if (w < 0) throw ConfigError({}, key + ".connect.weights", fmt::format("expected weights >= 0, found {}", w));
      break;
    case ConnectSpec::Rule::all_to_all:
      break;
  }
  if (spec.plasticity) {
    auto model = spec.plasticity;
    projections_.push_back(model->make(std::move(spec), src, tgt, port));
  } else {
    projections_.push_back(std::make_unique<Projection>(std::move(spec), src, tgt, port));
  }
  return *projections_.back();
}

Stimulus& Simulation::add(std::unique_ptr<Stimulus> stimulus) {
  if (prepared_) throw ConfigError({}, "stimulus." + stimulus->name(), "cannot add a stimulus after the first run");
  for (const auto& s : stimuli_)
    if (s->name() == stimulus->name())
      throw ConfigError({}, "stimulus." + stimulus->name() + ".name", "a stimulus of this name exists already");
  stimuli_.push_back(std::move(stimulus));
  return *stimuli_.back();
}

Modulator& Simulation::add(std::unique_ptr<Modulator> modulator) {
  if (prepared_) throw ConfigError({}, "modulator." + modulator->name(), "cannot add a modulator after the first run");
  for (const auto& m : modulators_)
    if (m->name() == modulator->name())
      throw ConfigError({}, "modulator." + modulator->name() + ".name", "a modulator of this name exists already");
  modulators_.push_back(std::move(modulator));
  return *modulators_.back();
}

ModulationMap& Simulation::add_modulation(ModulationMap map, const std::string& key) {
  if (prepared_) throw ConfigError({}, key, "cannot add a modulation after the first run");
  const std::string& target = map.target();
  const auto first = target.find('.');
  const auto last = target.rfind('.');
  if (first == std::string::npos || first == last)
    throw ConfigError(
        {}, key + ".target",
        fmt::format("expected \"population.<name>.<aspect>\" or \"projection.<name>.<aspect>\", found \"{}\"", target));
  const std::string kind = target.substr(0, first), name = target.substr(first + 1, last - first - 1),
                    aspect = target.substr(last + 1);
  Population* probed = nullptr;  // whose neurons' positions spatial terms are read at
  auto owned_map = std::make_unique<ModulationMap>(std::move(map));
  ModulationMap* m = owned_map.get();
  if (kind == "population") {
    if (!has_population(name))
      throw ConfigError({}, key + ".target", fmt::format("expected the name of a population, found \"{}\"", name));
    Population& pop = population(name);
    gating_.resize(populations_.size());
    PopulationGating& g = gating_[pop.index()];
    const ModulationMap** slot = aspect == "gain"         ? &g.gain
                                 : aspect == "v_th"       ? &g.v_th
                                 : aspect == "i_bias"     ? &g.i_bias
                                 : aspect == "adaptation" ? &g.adaptation
                                                          : nullptr;
    if (!slot)
      throw ConfigError(
          {}, key + ".target",
          fmt::format("expected a population aspect gain, v_th, i_bias or adaptation, found \"{}\"", aspect));
    if (aspect == "v_th" && !pop.has_threshold())
      throw ConfigError({}, key + ".target", fmt::format("model {} has no threshold to shift", pop.model()));
    if (aspect == "adaptation" && !pop.has_adaptation())
      throw ConfigError({}, key + ".target", fmt::format("model {} has no spike-triggered adaptation", pop.model()));
    if (*slot)
      throw ConfigError({}, key + ".target",
                        fmt::format("{} is modulated already: put all terms in one [[modulation]]", target));
    *slot = m;
    probed = &pop;
  } else if (kind == "projection") {
    Projection* proj = nullptr;
    for (auto& p : projections_)
      if (p->name() == name) proj = p.get();
    if (!proj)
      throw ConfigError({}, key + ".target", fmt::format("expected the name of a projection, found \"{}\"", name));
    if (!proj->modulate(aspect, m))
      throw ConfigError({}, key + ".target",
                        fmt::format("projection {} has no modulable aspect \"{}\" (gain; learning_rate, third_factor, "
                                    "a_plus, a_minus with a rule that has them)",
                                    name, aspect));
    probed = &proj->target();
  } else {
    throw ConfigError({}, key + ".target",
                      fmt::format("expected a target starting with population. or projection., found \"{}\"", target));
  }
  for (auto& term : m->terms()) {
    if (!term.modulator->spatial()) continue;
    if (probed->positions().empty())
      throw ConfigError({}, key + ".terms",
                        fmt::format("modulator {} is a spatial field: population {} needs positions",
                                    term.modulator->name(), probed->name()));
    for (std::size_t i = 0; i < probed->positions().size(); ++i) {
      const Position& x = probed->positions()[i];
      if (!term.modulator->covers(x))
        throw ConfigError(
            {}, key + ".terms",
            fmt::format("expected the grid of modulator {} to cover the neurons that read it, found neuron "
                        "{} of population {} at ({}, {}, {}) um outside it",
                        term.modulator->name(), i, probed->name(), x[0], x[1], x[2]));
    }
    term.probe.clear();
    for (const auto& p : probed->positions()) term.probe.push_back(term.modulator->add_probe(p));
  }
  modulations_.push_back(std::move(owned_map));
  return *m;
}

Modulator& Simulation::modulator(const std::string& name) const {
  for (const auto& m : modulators_)
    if (m->name() == name) return *m;
  throw ConfigError({}, "modulator", fmt::format("no modulator named \"{}\"", name));
}

bool Simulation::has_modulator(const std::string& name) const {
  for (const auto& m : modulators_)
    if (m->name() == name) return true;
  return false;
}

void Simulation::add_observer(Observer& observer) {
  observers_.push_back(&observer);
  if (prepared_) observer.prepare(*this);
}

Range Simulation::owned(std::uint32_t pop, int tid) const {
  const std::size_t n = populations_[pop]->size();
  const auto t = static_cast<std::size_t>(tid);
  const auto nt = static_cast<std::size_t>(threads_);
  return {n * t / nt, n * (t + 1) / nt};
}

void Simulation::prepare() {
  if (prepared_) return;
  const double dt = options_.dt;
  for (auto& p : projections_) p->set_threads(threads_);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(threads_));
#pragma omp parallel num_threads(threads_)
  {
    const int tid = omp_get_thread_num();
    try {
      for (auto& p : projections_) p->build(tid, owned(p->target().index(), tid), dt, options_.seed);
    } catch (...) {
      errors[static_cast<std::size_t>(tid)] = std::current_exception();
    }
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);

  // Modulators first: their release delays bound the window too.
  for (auto& m : modulators_) m->prepare(*this);
  // The delivery window is the smallest delay present; without synapses any length is exact.
  DelaySteps dmin = 65535;
  std::vector<DelaySteps> dmax_into(populations_.size(), 0);
  for (const auto& p : projections_) {
    if (p->synapse_count() == 0) continue;
    dmin = std::min(dmin, p->window_delay());
    auto& m = dmax_into[p->target().index()];
    m = std::max(m, p->max_delay());
  }
  for (const auto& m : modulators_) dmin = std::min(dmin, m->release_delay());
  min_delay_ = dmin == 65535 ? 10 : dmin;
  out_degree_.assign(populations_.size(), {});
  spike_counts_.assign(populations_.size(), {});
  for (const auto& pop : populations_) {
    // Inputs live at arrival steps [w1, w1 + max_delay] between windows: max_delay + 1 slots.
    const std::size_t slots = std::max<std::size_t>(2, std::size_t{dmax_into[pop->index()]} + 1);
    pop->inputs().allocate(pop->ports().size(), slots, pop->size());
    pop->prepare(dt, options_.seed);
    spike_counts_[pop->index()].assign(pop->size(), 0);
    out_degree_[pop->index()].assign(pop->size(), 0);
  }
  for (const auto& p : projections_) {
    auto& deg = out_degree_[p->source().index()];
    for (std::size_t t = 0; t < p->threads(); ++t) {
      const auto& row = p->csr(static_cast<int>(t)).row;
      for (std::size_t s = 0; s + 1 < row.size(); ++s) deg[s] += row[s + 1] - row[s];
    }
  }
  for (auto& s : stimuli_) s->prepare(dt, options_.seed);
  for (auto& p : projections_) p->prepare_plasticity(*this);
  gating_.resize(populations_.size());
  for (const auto& pop : populations_) {
    PopulationGating& g = gating_[pop->index()];
    if (g.v_th) g.shift.assign(pop->size(), 0.0);
    if (g.adaptation) g.adapt.assign(pop->size(), 1.0);
  }
  prepared_ = true;
  for (Observer* o : observers_) o->prepare(*this);
}

void Simulation::run(double duration) {
  const double steps = duration / options_.dt;
  if (!(steps >= 0) || steps > 1e15 || std::fabs(steps - std::round(steps)) > 1e-6 * std::max(1.0, steps))
    throw ConfigError(
        {}, "simulation.duration",
        fmt::format("expected a duration >= 0 that is a multiple of dt = {} ms (at most 1e15 steps), found {} ms",
                    options_.dt, duration));
  run_steps(static_cast<Step>(std::llround(steps)));
}

void Simulation::run_steps(Step n) {
  if (!prepared_) prepare();
  if (n <= 0) return;
  stop_requested_ = 0;
  bool lean = modulators_.empty() && modulations_.empty();
  for (const auto& p : projections_) lean = lean && !p->plastic();
  for (Observer* o : observers_) lean = lean && o->passive() && !o->samples();
  if (lean)
    run_lean(now_ + n);
  else
    run_window_loop(now_ + n);
}

void Simulation::finish(bool completed) {
  for (Observer* o : observers_) o->finish(completed);
}

const std::vector<std::uint64_t>& Simulation::spike_counts(const std::string& name) const {
  return spike_counts_.at(population(name).index());
}

void Simulation::apply_gating(PopulationGating& g, Step k, Range r, std::size_t n_ports, InputView& in) {
  // Gain scales everything that arrives on the ports this step; bias adds to the held current.
  if (g.gain) {
    const bool uni = g.gain->uniform();
    const double g0 = uni ? g.gain->value(k) : 1.0;
    for (std::size_t q = 0; q < n_ports; ++q) {
      double* x = const_cast<double*>(in.port[q]);
      for (std::size_t i = r.begin; i < r.end; ++i) x[i] *= uni ? g0 : g.gain->value(k, i);
    }
  }
  if (g.i_bias) {
    double* x = const_cast<double*>(in.i_ext);
    const bool uni = g.i_bias->uniform();
    const double b0 = uni ? g.i_bias->value(k) : 0.0;
    for (std::size_t i = r.begin; i < r.end; ++i) x[i] += uni ? b0 : g.i_bias->value(k, i);
  }
  if (g.v_th) {
    const bool uni = g.v_th->uniform();
    const double s0 = uni ? g.v_th->value(k) : 0.0;
    for (std::size_t i = r.begin; i < r.end; ++i) g.shift[i] = uni ? s0 : g.v_th->value(k, i);
    in.v_th_shift = g.shift.data();
  }
  if (g.adaptation) {
    const bool uni = g.adaptation->uniform();
    const double a0 = uni ? g.adaptation->value(k) : 1.0;
    for (std::size_t i = r.begin; i < r.end; ++i) g.adapt[i] = uni ? a0 : g.adaptation->value(k, i);
    in.adaptation = g.adapt.data();
  }
}

// The loop of networks without modulators, plastic projections, gating or active observers:
// one barrier per window. Every thread merges the window's spikes itself (from sinks that
// alternate between windows, so the next window can fill the other set) and delivers; thread 0
// then does the bookkeeping and the passive observers while the others start the next window.
// A stop seen by thread 0 in window W takes effect after window W + 1 for everyone (stop flags
// alternate too), so all threads always agree on the last window.
namespace {
bool spike_before(const Spike& a, const Spike& b) {
  if (a.step != b.step) return a.step < b.step;
  if (a.population != b.population) return a.population < b.population;
  return a.neuron < b.neuron;
}
// Adds the sorted spikes `add` to the sorted `merged`, keeping (step, population, neuron) order,
// without allocating once the vectors have grown (std::inplace_merge takes a temporary buffer on
// every call: one malloc per window and thread at 1 ms windows).
void merge_spikes(std::vector<Spike>& merged, std::vector<Spike>& scratch, const std::vector<Spike>& add) {
  if (add.empty()) return;
  if (merged.empty() || !spike_before(add.front(), merged.back())) {
    merged.insert(merged.end(), add.begin(), add.end());
    return;
  }
  scratch.clear();
  std::merge(merged.begin(), merged.end(), add.begin(), add.end(), std::back_inserter(scratch), spike_before);
  merged.swap(scratch);
}
}  // namespace

void Simulation::run_lean(Step end) {
  const std::size_t n_threads = static_cast<std::size_t>(threads_);
  std::vector<SpikeSink> sinks[2] = {std::vector<SpikeSink>(n_threads), std::vector<SpikeSink>(n_threads)};
  std::vector<std::vector<PortKind>> kinds(populations_.size());
  for (const auto& p : populations_)
    for (const auto& port : p->ports()) kinds[p->index()].push_back(port.kind);
  std::exception_ptr error;
  bool stop_flag[2] = {false, false};
  detail::FiniteCheck finite(populations_, threads_);
  detail::TeamBarrier team(threads_);
  try {
    for (Observer* o : observers_) o->begin_window(now_, std::min<Step>(now_ + min_delay_, end));
  } catch (...) {
    error = std::current_exception();
  }
  if (error) std::rethrow_exception(error);

#pragma omp parallel num_threads(threads_)
  {
    const int tid = omp_get_thread_num();
    std::vector<Range> my_range(populations_.size());
    for (const auto& p : populations_) my_range[p->index()] = owned(p->index(), tid);
    std::vector<Spike> merged, merge_scratch;
    int parity = 0;
    Step w0 = now_;
    while (w0 < end) {
      const Step w1 = std::min<Step>(w0 + min_delay_, end);
      SpikeSink& sink = sinks[parity][static_cast<std::size_t>(tid)];
      sink.spikes().clear();  // read by the others during window w - 2, all done by now
      for (Step k = w0; k < w1; ++k) {
        for (auto& s : stimuli_) s->apply(k, my_range[s->target().index()]);
        for (auto& pop : populations_) {
          const Range r = my_range[pop->index()];
          if (r.size() == 0) continue;
          InputBuffers& buf = pop->inputs();
          const auto& kd = kinds[pop->index()];
          InputView in;
          for (std::size_t q = 0; q < kd.size(); ++q) in.port[q] = buf.slot(q, kd[q] == PortKind::jump ? k + 1 : k);
          in.i_ext = buf.i_ext();
          pop->update(UpdateContext{k, options_.dt, options_.seed}, r, in, sink);
          for (std::size_t q = 0; q < kd.size(); ++q)
            std::fill(const_cast<double*>(in.port[q]) + r.begin, const_cast<double*>(in.port[q]) + r.end, 0.0);
          std::fill(buf.i_ext() + r.begin, buf.i_ext() + r.end, 0.0);
        }
      }
      finite.scan(tid, my_range, parity);
      team.arrive_and_wait();
      const bool halt = stop_flag[parity ^ 1];  // written by thread 0 in the window before
      merged.clear();
      for (auto& s : sinks[parity]) merge_spikes(merged, merge_scratch, s.spikes());
      for (std::size_t lo = 0, hi = 0; lo < merged.size(); lo = hi) {
        while (hi < merged.size() && merged[hi].step == merged[lo].step) ++hi;
        const std::span<const Spike> step_spikes(merged.data() + lo, hi - lo);
        for (auto& p : projections_) p->deliver(tid, step_spikes);
      }
      if (tid == 0) {
        for (const Spike& s : merged) {
          ++spike_counts_[s.population][s.neuron];
          synaptic_events_ += out_degree_[s.population][s.neuron];
        }
        total_spikes_ += merged.size();
        now_ = w1;
        try {
          finite.raise_if_bad(w0, w1, options_.dt, parity);
          for (Observer* o : observers_) o->on_spikes(merged);
          for (Observer* o : observers_) o->end_window(w1);
          if (w1 < end)
            for (Observer* o : observers_) o->begin_window(w1, std::min<Step>(w1 + min_delay_, end));
        } catch (...) {
          error = std::current_exception();
        }
        stop_flag[parity] = error != nullptr || stop_requested_ != 0;
      }
      parity ^= 1;
      w0 = w1;
      if (halt) break;
    }
  }
  if (error) std::rethrow_exception(error);
}

void Simulation::run_window_loop(Step end) {
  const std::size_t n_threads = static_cast<std::size_t>(threads_);
  std::vector<SpikeSink> sinks(n_threads);
  std::vector<Spike> merged, merge_scratch;
  std::exception_ptr error;
  bool stop = false;
  detail::FiniteCheck finite(populations_, threads_);
  detail::TeamBarrier team(threads_);
  std::vector<Observer*> samplers;
  for (Observer* o : observers_)
    if (o->samples()) samplers.push_back(o);
  std::vector<Projection*> plastic;
  std::vector<std::vector<Projection*>> plastic_into(populations_.size());
  for (auto& p : projections_)
    if (p->plastic()) {
      plastic.push_back(p.get());
      plastic_into[p->target().index()].push_back(p.get());
    }
  struct PopPorts {
    std::vector<PortKind> kind;
  };
  std::vector<PopPorts> port_kinds(populations_.size());
  for (const auto& p : populations_)
    for (const auto& port : p->ports()) port_kinds[p->index()].kind.push_back(port.kind);

  // Modulators, shared plasticity state and observers get each window before its steps.
  auto begin_window = [&](Step w0, Step w1) {
    try {
      for (auto& m : modulators_) m->advance(w0, w1);
      for (Projection* p : plastic) p->prepare_window(w0, w1);
      for (Observer* o : observers_) o->begin_window(w0, w1);
    } catch (...) {
      error = std::current_exception();
      stop = true;
    }
  };
  // A modulator that parallelises its own advance (a diffusion grid) needs it outside the
  // parallel region of the neurons: the region then ends before each window in which such an
  // advance runs its parallel loops (a field step ends), and that window begins outside it.
  // Otherwise one region serves the whole run and windows begin inside the exchange section.
  bool split = false;
  for (const auto& m : modulators_) split = split || m->parallel_advance();
  auto needs_region_end = [&](Step w0, Step w1) {
    if (!split) return false;
    for (const auto& m : modulators_)
      if (m->parallel_advance_in(w0, w1)) return true;
    return false;
  };
  Step chunk_end = end;
  begin_window(now_, std::min<Step>(now_ + min_delay_, end));

  while (true) {
#pragma omp parallel num_threads(threads_)
    {
      const int tid = omp_get_thread_num();
      SpikeSink& sink = sinks[static_cast<std::size_t>(tid)];
      std::vector<Range> my_range(populations_.size());
      for (const auto& p : populations_) my_range[p->index()] = owned(p->index(), tid);
      Step w0 = now_;
      while (w0 < chunk_end && !stop) {
        const Step w1 = std::min<Step>(w0 + min_delay_, end);
        for (Projection* p : plastic) p->begin_window(tid, w0, w1);
        for (Step k = w0; k < w1; ++k) {
          for (auto& s : stimuli_) s->apply(k, my_range[s->target().index()]);
          for (auto& pop : populations_) {
            const Range r = my_range[pop->index()];
            const auto& into = plastic_into[pop->index()];
            for (Projection* p : into) p->before_update(tid, k);
            if (r.size() == 0) continue;
            const std::size_t first_spike = sink.spikes().size();
            InputBuffers& buf = pop->inputs();
            const auto& kinds = port_kinds[pop->index()].kind;
            InputView in;
            for (std::size_t q = 0; q < kinds.size(); ++q)
              in.port[q] = buf.slot(q, kinds[q] == PortKind::jump ? k + 1 : k);
            in.i_ext = buf.i_ext();
            PopulationGating& g = gating_[pop->index()];
            if (g.gain || g.i_bias || g.v_th || g.adaptation) apply_gating(g, k, r, kinds.size(), in);
            pop->update(UpdateContext{k, options_.dt, options_.seed}, r, in, sink);
            if (!into.empty()) {
              const std::span<const Spike> fired(sink.spikes().data() + first_spike,
                                                 sink.spikes().size() - first_spike);
              for (Projection* p : into) p->after_update(tid, k, fired);
            }
            for (std::size_t q = 0; q < kinds.size(); ++q)
              std::fill(const_cast<double*>(in.port[q]) + r.begin, const_cast<double*>(in.port[q]) + r.end, 0.0);
            std::fill(buf.i_ext() + r.begin, buf.i_ext() + r.end, 0.0);
          }
          for (Observer* o : samplers) o->sample(k, tid);
        }
        finite.scan(tid, my_range);
        // The last thread to arrive does the window's serial work, then releases the others.
        team.arrive_and_wait([&] {
          // Each thread's spikes are already in (step, population, neuron) order: merge them.
          merged.clear();
          for (auto& s : sinks) {
            merge_spikes(merged, merge_scratch, s.spikes());
            s.spikes().clear();
          }
          for (const Spike& s : merged) {
            ++spike_counts_[s.population][s.neuron];
            synaptic_events_ += out_degree_[s.population][s.neuron];
          }
          total_spikes_ += merged.size();
          now_ = w1;
          try {
            finite.raise_if_bad(w0, w1, options_.dt);
            for (auto& m : modulators_) m->on_spikes(merged);
            for (Observer* o : observers_) o->on_spikes(merged);
            for (Observer* o : observers_) o->end_window(w1);
          } catch (...) {
            error = std::current_exception();
          }
          stop = error != nullptr || stop_requested_ != 0;
          // The next window begins here, in the same serial section: one synchronisation per window.
          for (auto& p : projections_) p->end_window(w1);
          if (!stop && w1 < chunk_end) {
            const Step w2 = std::min<Step>(w1 + min_delay_, end);
            if (needs_region_end(w1, w2))
              chunk_end = w1;  // the threads leave the region after this window's delivery
            else
              begin_window(w1, w2);
          }
        });
        // Deliver one emission step at a time: each target then receives its inputs in the order
        // (step, projection, source neuron, synapse), which does not depend on where the window
        // boundaries fall. Delivering the whole window per projection made the order
        // (window, projection, ...), so run(a) + run(b) could sum inputs of two projections into
        // one port in another order than run(a + b), and differ in the last bits.
        for (std::size_t lo = 0, hi = 0; lo < merged.size(); lo = hi) {
          while (hi < merged.size() && merged[hi].step == merged[lo].step) ++hi;
          const std::span<const Spike> step_spikes(merged.data() + lo, hi - lo);
          for (auto& p : projections_) p->deliver(tid, step_spikes);
        }
        w0 = w1;
      }
    }
    if (stop || now_ >= end) break;
    chunk_end = end;
    begin_window(now_, std::min<Step>(now_ + min_delay_, end));
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace nmsim
