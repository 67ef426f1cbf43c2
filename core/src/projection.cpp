#include "nmsim/core/projection.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include <fmt/format.h>

#include "nmsim/core/modulation.hpp"
#include "nmsim/core/rng.hpp"

namespace nmsim {

Projection::Projection(ProjectionSpec spec, Population& source, Population& target, int port)
    : spec_(std::move(spec)), source_(&source), target_(&target), port_(port) {}

namespace {

// k distinct values from [0, n) (Floyd 1987), returned sorted.
std::vector<std::uint32_t> distinct_sample(RandomStream& rng, std::uint32_t n, std::uint64_t k) {
  std::unordered_set<std::uint32_t> chosen;
  chosen.reserve(static_cast<std::size_t>(k) * 2);
  std::vector<std::uint32_t> out;
  out.reserve(k);
  for (std::uint64_t i = n - k; i < n; ++i) {
    const std::uint32_t t = rng.below(static_cast<std::uint32_t>(i + 1));
    const std::uint32_t v = chosen.count(t) ? static_cast<std::uint32_t>(i) : t;
    chosen.insert(v);
    out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// k values from [0, n) where `skip` (if < n) is excluded; with or without repetition.
std::vector<std::uint32_t> choose(RandomStream& rng, std::uint32_t n, std::uint64_t k, bool multapses,
                                  std::uint32_t skip) {
  const bool excl = skip < n;
  const std::uint32_t avail = excl ? n - 1 : n;
  std::vector<std::uint32_t> out;
  if (multapses) {
    out.reserve(k);
    for (std::uint64_t i = 0; i < k; ++i) out.push_back(rng.below(avail));
    std::sort(out.begin(), out.end());
  } else {
    out = distinct_sample(rng, avail, k);
  }
  if (excl)
    for (auto& v : out)
      if (v >= skip) ++v;
  return out;
}

}  // namespace

DelaySteps Projection::spec_min_delay(double dt) const {
  if (!spec_.connect.pair_delays.empty()) {
    const double m = *std::min_element(spec_.connect.pair_delays.begin(), spec_.connect.pair_delays.end());
    return static_cast<DelaySteps>(std::llround(m / dt));
  }
  return static_cast<DelaySteps>(std::max<long long>(1, std::llround(spec_.delay.min_value() / dt)));
}

DelaySteps Projection::spec_max_delay(double dt) const {
  if (!spec_.connect.pair_delays.empty()) {
    const double m = *std::max_element(spec_.connect.pair_delays.begin(), spec_.connect.pair_delays.end());
    return static_cast<DelaySteps>(std::llround(m / dt));
  }
  const double hi = spec_.delay.max_value();
  if (!std::isfinite(hi)) return 0;  // known only after build
  return static_cast<DelaySteps>(std::llround(hi / dt));
}

void Projection::build(int tid, Range owned, double dt, std::uint64_t seed) {
  build_dt_ = dt;  // the same value from every thread
  const ConnectSpec& c = spec_.connect;
  const auto n_src = static_cast<std::uint32_t>(source_->size());
  const bool same = source_ == target_;
  const std::uint32_t conn_purpose = purpose_id("connect/" + spec_.name);
  const std::uint32_t w_purpose = purpose_id("weight/" + spec_.name);
  const std::uint32_t d_purpose = purpose_id("delay/" + spec_.name);

  // Target-major list of (source, weight, delay) for the owned targets.
  std::vector<std::uint32_t> count(n_src + 1, 0);
  struct Tmp {
    std::uint32_t source;
    NeuronIndex target;
    double weight;
    DelaySteps delay;
  };
  std::vector<Tmp> syn;

  // fixed_outdegree and pairs are generated per source: gather each target's sources in order.
  std::vector<std::vector<std::uint32_t>> by_target;
  std::vector<std::vector<std::size_t>> pair_index;
  if (c.rule == ConnectSpec::Rule::fixed_outdegree) {
    by_target.resize(owned.size());
    const auto n_tgt = static_cast<std::uint32_t>(target_->size());
    for (std::uint32_t s = 0; s < n_src; ++s) {
      RandomStream rng(seed, conn_purpose, s);
      const std::uint32_t skip = (same && !c.allow_autapses) ? s : n_tgt;
      for (std::uint32_t t : choose(rng, n_tgt, c.k, c.allow_multapses, skip))
        if (owned.contains(t)) by_target[t - owned.begin].push_back(s);
    }
  } else if (c.rule == ConnectSpec::Rule::pairs) {
    by_target.resize(owned.size());
    pair_index.resize(owned.size());
    std::vector<std::size_t> order(c.pairs.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return c.pairs[a].first < c.pairs[b].first; });
    for (std::size_t i : order) {
      const auto [s, t] = c.pairs[i];
      if (!owned.contains(t)) continue;
      by_target[t - owned.begin].push_back(s);
      pair_index[t - owned.begin].push_back(i);
    }
  }

  std::vector<std::uint32_t> sources;
  for (std::size_t j = owned.begin; j < owned.end; ++j) {
    const auto tj = static_cast<std::uint32_t>(j);
    const std::uint32_t skip = (same && !c.allow_autapses) ? tj : n_src;
    sources.clear();
    RandomStream rng(seed, conn_purpose, tj);
    switch (c.rule) {
      case ConnectSpec::Rule::all_to_all:
        for (std::uint32_t s = 0; s < n_src; ++s)
          if (s != skip) sources.push_back(s);
        break;
      case ConnectSpec::Rule::one_to_one:
        // Inside one population every i -> i synapse is an autapse: the switch removes them all.
        if (j < n_src && tj != skip) sources.push_back(tj);
        break;
      case ConnectSpec::Rule::fixed_probability: {
        if (c.p <= 0) break;
        if (c.p >= 1) {
          for (std::uint32_t s = 0; s < n_src; ++s)
            if (s != skip) sources.push_back(s);
          break;
        }
        // Geometric skipping: the gap to the next chosen source is Geometric(p).
        const double log_q = std::log1p(-c.p);
        double s = -1;
        while (true) {
          s += 1.0 + std::floor(std::log(rng.uniform_pos()) / log_q);
          if (s >= n_src) break;
          const auto si = static_cast<std::uint32_t>(s);
          if (si != skip) sources.push_back(si);
        }
        break;
      }
      case ConnectSpec::Rule::fixed_indegree:
        sources = choose(rng, n_src, c.k, c.allow_multapses, skip);
        break;
      case ConnectSpec::Rule::fixed_outdegree:
      case ConnectSpec::Rule::pairs:
        sources = by_target[j - owned.begin];
        break;
    }
    RandomStream wrng(seed, w_purpose, tj);
    RandomStream drng(seed, d_purpose, tj);
    for (std::size_t q = 0; q < sources.size(); ++q) {
      double w, d;
      if (c.rule == ConnectSpec::Rule::pairs && !c.pair_weights.empty())
        w = c.pair_weights[pair_index[j - owned.begin][q]];
      else
        w = spec_.weight.sample(wrng);
      if (c.rule == ConnectSpec::Rule::pairs && !c.pair_delays.empty())
        d = c.pair_delays[pair_index[j - owned.begin][q]];
      else
        d = spec_.delay.sample(drng);
      const long long steps = std::llround(d / dt);
      if (steps < 1 || steps > 65535)
        throw ConfigError({}, "projection." + spec_.name + ".delay",
                          fmt::format("expected delays in [dt, 65535 dt] = [{}, {}] ms, found {} ms", dt, 65535 * dt, d));
      syn.push_back({sources[q], tj, w, static_cast<DelaySteps>(steps)});
      ++count[sources[q] + 1];
    }
  }

  // Counting sort into CSR by source; stable, so each row keeps target order.
  SynapseCsr& out = csr_[static_cast<std::size_t>(tid)];
  out.row.assign(n_src + 1, 0);
  for (std::uint32_t s = 0; s < n_src; ++s) out.row[s + 1] = out.row[s] + count[s + 1];
  out.target.resize(syn.size());
  out.weight.resize(syn.size());
  out.delay.resize(syn.size());
  std::vector<std::uint64_t> fill(out.row.begin(), out.row.end() - 1);
  for (const Tmp& t : syn) {
    const std::uint64_t at = fill[t.source]++;
    out.target[at] = t.target;
    out.weight[at] = t.weight;
    out.delay[at] = t.delay;
  }
}

DelaySteps Projection::max_delay() const {
  DelaySteps m = 0;
  for (const auto& c : csr_)
    for (DelaySteps d : c.delay) m = std::max(m, d);
  return m;
}

DelaySteps Projection::min_delay() const {
  DelaySteps m = 65535;
  for (const auto& c : csr_)
    for (DelaySteps d : c.delay) m = std::min(m, d);
  return m;
}

std::size_t Projection::synapse_count() const {
  std::size_t n = 0;
  for (const auto& c : csr_) n += c.size();
  return n;
}

bool Projection::modulate(const std::string& aspect, const ModulationMap* map) {
  if (aspect != "gain") return false;
  gain_map_ = map;
  gain_.assign(target_->size(), 1.0);
  return true;
}

void Projection::end_window(Step w1) {
  if (!gain_map_) return;
  // Value over the last step of the window just simulated: its pieces are still current.
  const Step k = w1 - 1;
  if (gain_map_->uniform())
    std::fill(gain_.begin(), gain_.end(), gain_map_->value(k));
  else
    for (std::size_t j = 0; j < gain_.size(); ++j) gain_[j] = gain_map_->value(k, j);
}

void Projection::deliver(int tid, std::span<const Spike> spikes) {
  SynapseCsr& c = csr_[static_cast<std::size_t>(tid)];
  if (c.size() == 0) return;
  if (gain_map_) {
    deliver_scaled(tid, spikes);
    return;
  }
  InputBuffers& in = target_->inputs();
  double* const ring = in.ring(static_cast<std::size_t>(port_));
  const std::size_t n = target_->size();
  const std::size_t slots = in.slots();
  const std::uint32_t src = source_->index();
  const std::uint64_t* const row = c.row.data();
  const NeuronIndex* const tgt = c.target.data();
  const double* const w = c.weight.data();
  const DelaySteps* const d = c.delay.data();
  for (const Spike& s : spikes) {
    if (s.population != src) continue;
    // Arrival step = emission step + 1 (the stamp) + delay.
    const std::size_t base = in.slot_of(s.step + 1);
    for (std::uint64_t q = row[s.neuron], end = row[s.neuron + 1]; q < end; ++q) {
      std::size_t slot = base + d[q];
      if (slot >= slots) slot -= slots;
      ring[slot * n + tgt[q]] += w[q];
    }
  }
}

void Projection::deliver_scaled(int tid, std::span<const Spike> spikes) {
  SynapseCsr& c = csr_[static_cast<std::size_t>(tid)];
  InputBuffers& in = target_->inputs();
  double* const ring = in.ring(static_cast<std::size_t>(port_));
  const std::size_t n = target_->size(), slots = in.slots();
  const std::uint32_t src = source_->index();
  for (const Spike& s : spikes) {
    if (s.population != src) continue;
    const std::size_t base = in.slot_of(s.step + 1);
    for (std::uint64_t q = c.row[s.neuron], end = c.row[s.neuron + 1]; q < end; ++q) {
      std::size_t slot = base + c.delay[q];
      if (slot >= slots) slot -= slots;
      ring[slot * n + c.target[q]] += c.weight[q] * gain_[c.target[q]];
    }
  }
}

std::vector<std::vector<std::uint64_t>> Projection::canonical_index() const {
  // Threads own increasing target ranges and each row keeps its targets in creation order, so
  // walking row s of thread 0, 1, ... lists the synapses of source s by (target, creation).
  const std::size_t n_src = source_->size();
  std::vector<std::uint64_t> next(n_src + 1, 0);
  for (const auto& c : csr_)
    for (std::size_t s = 0; s + 1 < c.row.size(); ++s) next[s + 1] += c.row[s + 1] - c.row[s];
  for (std::size_t s = 0; s < n_src; ++s) next[s + 1] += next[s];
  std::vector<std::vector<std::uint64_t>> out(csr_.size());
  for (std::size_t t = 0; t < csr_.size(); ++t) {
    const SynapseCsr& c = csr_[t];
    out[t].resize(c.size());
    for (std::size_t s = 0; s + 1 < c.row.size(); ++s)
      for (std::uint64_t q = c.row[s]; q < c.row[s + 1]; ++q) out[t][q] = next[s]++;
  }
  return out;
}

void Projection::save_state(StateWriter& w) const {
  const auto canon = canonical_index();
  std::vector<double> weights(synapse_count());
  for (std::size_t t = 0; t < csr_.size(); ++t)
    for (std::size_t q = 0; q < csr_[t].size(); ++q) weights[canon[t][q]] = csr_[t].weight[q];
  w.write("weights", weights);
  if (gain_map_) w.write("gain", gain_);
}

void Projection::restore_state(const StateReader& r) {
  const auto canon = canonical_index();
  std::vector<double> weights(synapse_count());
  r.read_into("weights", weights);
  for (std::size_t t = 0; t < csr_.size(); ++t)
    for (std::size_t q = 0; q < csr_[t].size(); ++q) csr_[t].weight[q] = weights[canon[t][q]];
  if (gain_map_) r.read_into("gain", gain_);
}

std::vector<Projection::Synapse> Projection::synapses() const {
  std::vector<Synapse> all;
  for (const auto& c : csr_)
    for (std::size_t s = 0; s + 1 < c.row.size(); ++s)
      for (std::uint64_t q = c.row[s]; q < c.row[s + 1]; ++q)
        all.push_back({static_cast<NeuronIndex>(s), c.target[q], c.weight[q], c.delay[q]});
  std::stable_sort(all.begin(), all.end(), [](const Synapse& a, const Synapse& b) {
    return a.target != b.target ? a.target < b.target : a.source < b.source;
  });
  return all;
}

}  // namespace nmsim
