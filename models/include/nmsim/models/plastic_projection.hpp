#pragma once
// A projection whose synapses change: one template level over a plasticity rule.
//
// Events, all handled by the thread that owns the target neuron (so no races, and the same
// order for any thread count):
//   pre:  a spike of source i with synaptic delay d reaches the synapse at t_i + d - d_dend
//         (axonal part) and the soma at t_i + d. The rule updates the synapse when the spike
//         reaches it (depression / eligibility from the post trace), then the updated weight
//         enters the target's input ring.
//   post: a spike of target j at t_j reaches its synapses at t_j + d_dend; the rule updates every
//         synapse into j (potentiation from the pre traces) and then j's post traces.
// At one synapse time t: on a jump port the pre event is handled first (an input arriving at t
// is applied at t and may cause a post spike at t, which therefore follows it); on a pulse port
// the post spike at t is handled first (the input arriving at t acts only after t).
// With a dendritic delay the same holds at the synapse: jump port pre first, pulse port post first.
// The dendritic delay d_dend (ms, per projection, default 0: the whole delay is axonal) must be
// below the smallest synaptic delay; the delivery window is bounded by the axonal delays.
// Pairing at the synapse: a pre spike at t_pre and a post spike at t_post (stamps) meet with
// dt_syn = (t_post + d_dend) - (t_pre + d - d_dend) = (t_post - t_pre) - d + 2 d_dend.
//
// Rule concept (see stdp.hpp for the documented example):
//   struct Params; struct SynState { void resize(n); }; struct PostState { void resize(n); };
//   void prepare(const Simulation&, const Projection&);
//   void on_pre(SynState&, q, PostState&, j, Step a, double& w)     pre event at t_a
//   void on_post_synapse(SynState&, q, PostState&, j, Step a, double& w)  for each synapse into j
//   void on_post_neuron(PostState&, j, Step a)                       after the synapse loop
//   SynState::fields(s, f), PostState::fields(s, f): f(name, array) for every per-synapse and
//   per-neuron array (checkpoints; arrays of double or Step);
//   optional hooks: prepare_window(w0, w1) (one thread per window),
//                   save_state(w) / restore_state(r) (state of the rule itself, checkpoints),
//                   before_events(SynState&, weights, a) (every thread, before the events at t_a),
//                   advance(SynState&, q, a, w) (lazy rules: bring a synapse to t_a; synchronize),
//                   bind(SynState&, PostState&, targets, first owned, n owned) (after prepare, per thread),
//                   integrate_step(SynState&, k) (per thread and step, before the events at t_{k+1}:
//                   in before_update of k on a jump port, at the start of after_update on a pulse port)
//                   on_pre_range(SynState&, q0, q1, post, targets, a, weights, deliver) (one source's
//                   row under a uniform delay: on_pre + deliver(q, j, w) per synapse, constants hoisted),
//                   on_post_list(SynState&, in_syn, n, post, j, a, weights) (on_post_synapse for the
//                   synapses into j); both must equal the per-synapse calls bit for bit
#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "nmsim/core/modulation.hpp"
#include "nmsim/core/projection.hpp"
#include "nmsim/core/simulation.hpp"

namespace nmsim::models {

template <class Rule>
class PlasticProjection : public Projection {
 public:
  PlasticProjection(ProjectionSpec spec, Population& source, Population& target, int port, Rule rule,
                    double dendritic_delay_ms)
      : Projection(std::move(spec), source, target, port), rule_(std::move(rule)), dend_ms_(dendritic_delay_ms) {}

  bool plastic() const override { return true; }
  DelaySteps window_delay() const override {
    if (dend_ms_ <= 0.0) return min_delay();
    // Asked after build, before prepare_plasticity: d_dend in steps from the build's dt. A
    // dendritic delay that leaves no axonal part is rejected by prepare_plasticity.
    const auto dend = static_cast<DelaySteps>(std::llround(dend_ms_ / build_dt()));
    return dend >= min_delay() ? DelaySteps{1} : static_cast<DelaySteps>(min_delay() - dend);
  }
  const Rule& rule() const { return rule_; }
  Rule& rule() { return rule_; }

  void prepare_plasticity(const Simulation& sim) override {
    dt_ = sim.dt();
    dend_ = static_cast<DelaySteps>(std::llround(dend_ms_ / dt_));
    if (synapse_count() > 0 && dend_ >= min_delay())
      throw ConfigError({}, "plasticity." + name() + ".dendritic_delay",
                        "expected a dendritic delay below the smallest synaptic delay of the projection (" +
                            std::to_string(min_delay() * dt_) + " ms), found " + std::to_string(dend_ms_) + " ms");
    pulse_ = target().ports()[static_cast<std::size_t>(port())].kind == PortKind::pulse;
    slots_ = target().inputs().slots();
    rule_.prepare(sim, *this);
    prepared_ = true;
    // One delay for all synapses: a spike reaches all synapses of its row at once, so the queue
    // holds rows (sources) instead of every synapse index; same events, same order.
    uniform_delay_ = synapse_count() > 0 && min_delay() == max_delay();
    post_.resize(target().size());
    ts_.resize(threads());
    for (std::size_t t = 0; t < ts_.size(); ++t) {
      ThreadState& s = ts_[t];
      const SynapseCsr& c = csr(static_cast<int>(t));
      s.owned = sim.owned(target().index(), static_cast<int>(t));
      s.pre_queue.assign(slots_, {});
      s.pre_rows.assign(slots_, {});
      s.post_queue.assign(slots_, {});
      s.syn.resize(c.size());
      // Transposed index: synapses into each owned target, in source order.
      s.in_row.assign(s.owned.size() + 1, 0);
      for (NeuronIndex j : c.target) ++s.in_row[j - s.owned.begin + 1];
      for (std::size_t j = 0; j < s.owned.size(); ++j) s.in_row[j + 1] += s.in_row[j];
      s.in_syn.resize(c.size());
      std::vector<std::uint64_t> fill(s.in_row.begin(), s.in_row.end() - 1);
      for (std::uint64_t q = 0; q < c.size(); ++q) s.in_syn[fill[c.target[q] - s.owned.begin]++] = q;
      if constexpr (requires(Rule& r) { r.bind(s.syn, post_, c.target, std::size_t{}, std::size_t{}); })
        rule_.bind(s.syn, post_, c.target, s.owned.begin, s.owned.size());
    }
  }

  void deliver(int tid, std::span<const Spike> spikes) override {
    ThreadState& s = ts_[static_cast<std::size_t>(tid)];
    const SynapseCsr& c = csr(tid);
    if (c.size() == 0) return;
    const std::uint32_t src = source().index();
    if (uniform_delay_) {
      const Step lag = 1 + (c.delay[0] - dend_);
      for (const Spike& sp : spikes) {
        if (sp.population != src || c.row[sp.neuron] == c.row[sp.neuron + 1]) continue;
        s.pre_rows[static_cast<std::size_t>((sp.step + lag) % static_cast<Step>(slots_))].push_back(sp.neuron);
      }
      return;
    }
    for (const Spike& sp : spikes) {
      if (sp.population != src) continue;
      for (std::uint64_t q = c.row[sp.neuron], end = c.row[sp.neuron + 1]; q < end; ++q) {
        // Reaches the synapse at the stamp (step + 1) plus the axonal delay.
        const Step at = sp.step + 1 + (c.delay[q] - dend_);
        s.pre_queue[static_cast<std::size_t>(at % static_cast<Step>(slots_))].push_back(q);
      }
    }
  }

  void prepare_window(Step w0, Step w1) override {
    if constexpr (requires(Rule& r) { r.prepare_window(w0, w1); }) rule_.prepare_window(w0, w1);
  }

  bool modulate(const std::string& aspect, const ModulationMap* map) override {
    if (aspect == "gain") {
      gain_map_ = map;
      return true;
    }
    if constexpr (requires(Rule& r, const std::string& s, const ModulationMap* m) { r.modulate(s, m); })
      return rule_.modulate(aspect, map);
    return false;
  }

  void synchronize(int tid, Step a) override {
    // Only lazy rules (weights that drift between events) have anything to do.
    if constexpr (requires(Rule& r, typename Rule::SynState& s, std::uint64_t q, double& w) { r.advance(s, q, a, w); }) {
      ThreadState& s = ts_[static_cast<std::size_t>(tid)];
      SynapseCsr& c = mutable_csr(tid);
      for (std::uint64_t q = 0; q < c.size(); ++q) rule_.advance(s.syn, q, a, c.weight[q]);
    }
  }

  void before_update(int tid, Step k) override {
    ThreadState& s = ts_[static_cast<std::size_t>(tid)];
    SynapseCsr& c = mutable_csr(tid);
    // Events at synapse time t_a: for a pulse port the input of step k arrived at t_k.
    const Step a = pulse_ ? k : k + 1;
    if constexpr (requires(Rule& r, typename Rule::SynState& st) { r.integrate_step(st, k); })
      if (!pulse_) rule_.integrate_step(s.syn, k);
    if constexpr (requires(Rule& r, typename Rule::SynState& st, std::vector<double>& w) {
                    r.before_events(st, w, a);
                  })
      rule_.before_events(s.syn, c.weight, a);
    const std::size_t slot = static_cast<std::size_t>(a % static_cast<Step>(slots_));
    auto& post = s.post_queue[slot];
    // Pulse port: a post spike at t_a precedes a pre arrival at t_a (which acts only after t_a).
    if (pulse_ && !post.empty()) {
      for (NeuronIndex j : post) post_event(s, c, j, a);
      post.clear();
    }
    auto& pre = s.pre_queue[slot];
    auto& rows = s.pre_rows[slot];
    if (!pre.empty() || !rows.empty()) {
      double* ring = target().inputs().slot(static_cast<std::size_t>(port()), a + dend_);
      const auto on_pre = [&](std::uint64_t q) {
        const NeuronIndex j = c.target[q];
        rule_.on_pre(s.syn, q, post_, j, a, c.weight[q]);
        ring[j] += gain_map_ ? c.weight[q] * gain_map_->value(k, j) : c.weight[q];
      };
      for (std::uint64_t q : pre) on_pre(q);
      if constexpr (requires(const Rule& ru, typename Rule::SynState& st, double* w) {
                      ru.on_pre_range(st, 0, 0, post_, c.target.data(), a, w,
                                      [](std::uint64_t, NeuronIndex, double) {});
                    }) {
        const auto deliver = [&](std::uint64_t, NeuronIndex j, double w) {
          ring[j] += gain_map_ ? w * gain_map_->value(k, j) : w;
        };
        // The rows are far apart: ask for the start of the next row while this one is updated.
        for (std::size_t r = 0; r < rows.size(); ++r) {
          if (r + 1 < rows.size()) {
            const std::uint64_t next = c.row[rows[r + 1]];
            __builtin_prefetch(c.target.data() + next);
            __builtin_prefetch(c.weight.data() + next, 1);
            if constexpr (requires(const Rule& ru, const typename Rule::SynState& st) { ru.prefetch(st, next); })
              rule_.prefetch(s.syn, next);
          }
          const NeuronIndex i = rows[r];
          rule_.on_pre_range(s.syn, c.row[i], c.row[i + 1], post_, c.target.data(), a, c.weight.data(), deliver);
        }
      } else {
        for (NeuronIndex i : rows)
          for (std::uint64_t q = c.row[i], end = c.row[i + 1]; q < end; ++q) on_pre(q);
      }
      pre.clear();
      rows.clear();
    }
    // Jump port: the pre arrival at t_a comes first (it may cause the post spike at t_a).
    if (!post.empty()) {
      for (NeuronIndex j : post) post_event(s, c, j, a);
      post.clear();
    }
  }

  void after_update(int tid, Step k, std::span<const Spike> spikes) override {
    ThreadState& s = ts_[static_cast<std::size_t>(tid)];
    SynapseCsr& c = mutable_csr(tid);
    const Step stamp = k + 1;
    if constexpr (requires(Rule& r, typename Rule::SynState& st) { r.integrate_step(st, k); })
      if (pulse_) rule_.integrate_step(s.syn, k);
    for (const Spike& sp : spikes) {
      if (dend_ == 0) {
        post_event(s, c, sp.neuron, stamp);
      } else {
        // Seen by the synapses d_dend later; handled in before_update of that synapse time.
        const Step at = stamp + dend_;
        s.post_queue[static_cast<std::size_t>(at % static_cast<Step>(slots_))].push_back(sp.neuron);
      }
    }
  }

  /// Checkpoint: weights (Projection), per-synapse rule state in the canonical synapse order,
  /// per-neuron rule state, the queued pre- and post-synaptic events (as (synapse time mod
  /// slots, canonical synapse or target neuron) pairs, thread by thread, which keeps the order of
  /// the events of each target for any thread count) and the rule's own state.
  void save_state(StateWriter& w) const override {
    Projection::save_state(w);
    const auto canon = canonical_index();
    const std::size_t n = synapse_count();
    Rule::SynState::fields(ts_.empty() ? empty_syn_ : ts_[0].syn, [&](const char* name, const auto& first) {
      using T = typename std::decay_t<decltype(first)>::value_type;
      std::vector<T> all(n);
      for (std::size_t t = 0; t < ts_.size(); ++t)
        Rule::SynState::fields(ts_[t].syn, [&](const char* nm, const auto& v) {
          if constexpr (std::is_same_v<typename std::decay_t<decltype(v)>::value_type, T>)
            if (std::string_view(nm) == name)
              for (std::size_t q = 0; q < v.size(); ++q) all[canon[t][q]] = v[q];
        });
      w.write(std::string("synapse/") + name, all);
    });
    PostState::fields(post_, [&](const char* name, const auto& v) { w.write(std::string("neuron/") + name, v); });
    // Per slot, the events of all threads stably sorted by target: each target keeps its order,
    // and the list is the same for any thread count.
    std::vector<std::uint64_t> pre_slot, pre_syn, post_slot, post_neuron;
    std::vector<std::pair<NeuronIndex, std::uint64_t>> pre;
    std::vector<NeuronIndex> post;
    for (std::size_t slot = 0; slot < slots_; ++slot) {
      pre.clear();
      post.clear();
      for (std::size_t t = 0; t < ts_.size(); ++t) {
        const SynapseCsr& c = csr(static_cast<int>(t));
        for (std::uint64_t q : ts_[t].pre_queue[slot]) pre.emplace_back(c.target[q], canon[t][q]);
        // Queued rows (uniform delay) as the synapse events they stand for, in processing order.
        for (NeuronIndex i : ts_[t].pre_rows[slot])
          for (std::uint64_t q = c.row[i]; q < c.row[i + 1]; ++q) pre.emplace_back(c.target[q], canon[t][q]);
        post.insert(post.end(), ts_[t].post_queue[slot].begin(), ts_[t].post_queue[slot].end());
      }
      std::stable_sort(pre.begin(), pre.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      std::stable_sort(post.begin(), post.end());
      for (const auto& e : pre) pre_slot.push_back(slot), pre_syn.push_back(e.second);
      for (NeuronIndex j : post) post_slot.push_back(slot), post_neuron.push_back(j);
    }
    w.scalar("queue_slots", static_cast<std::uint64_t>(slots_));
    w.write("pre_queue/slot", pre_slot);
    w.write("pre_queue/synapse", pre_syn);
    w.write("post_queue/slot", post_slot);
    w.write("post_queue/neuron", post_neuron);
    if constexpr (requires(const Rule& r) { r.save_state(w); }) {
      auto g = w.group("rule");
      rule_.save_state(w);
    }
  }

  void restore_state(const StateReader& r) override {
    Projection::restore_state(r);
    const auto canon = canonical_index();
    const std::size_t n = synapse_count();
    std::vector<std::pair<std::uint32_t, std::uint64_t>> where(n);
    for (std::size_t t = 0; t < canon.size(); ++t)
      for (std::size_t q = 0; q < canon[t].size(); ++q) where[canon[t][q]] = {static_cast<std::uint32_t>(t), q};
    for (std::size_t t = 0; t < ts_.size(); ++t)
      Rule::SynState::fields(ts_[t].syn, [&](const char* name, auto& v) {
        using T = typename std::decay_t<decltype(v)>::value_type;
        std::vector<T> all(n);
        r.read_into(std::string("synapse/") + name, all);
        for (std::size_t q = 0; q < v.size(); ++q) v[q] = all[canon[t][q]];
      });
    PostState::fields(post_, [&](const char* name, auto& v) { r.read_into(std::string("neuron/") + name, v); });
    if (r.scalar<std::uint64_t>("queue_slots") != slots_) r.fail("queue_slots", "saved with another number of queue slots");
    const auto pre_slot = r.read<std::uint64_t>("pre_queue/slot"), pre_syn = r.read<std::uint64_t>("pre_queue/synapse");
    const auto post_slot = r.read<std::uint64_t>("post_queue/slot"), post_neuron = r.read<std::uint64_t>("post_queue/neuron");
    if (pre_slot.size() != pre_syn.size()) r.fail("pre_queue/synapse", "expected one synapse per slot entry");
    if (post_slot.size() != post_neuron.size()) r.fail("post_queue/neuron", "expected one neuron per slot entry");
    for (auto& s : ts_)
      for (std::size_t slot = 0; slot < slots_; ++slot)
        s.pre_queue[slot].clear(), s.pre_rows[slot].clear(), s.post_queue[slot].clear();
    for (std::size_t e = 0; e < pre_slot.size(); ++e) {
      if (pre_slot[e] >= slots_ || pre_syn[e] >= n) r.fail("pre_queue", "entry out of range");
      const auto [t, q] = where[pre_syn[e]];
      ts_[t].pre_queue[pre_slot[e]].push_back(q);
    }
    for (std::size_t e = 0; e < post_slot.size(); ++e) {
      if (post_slot[e] >= slots_ || post_neuron[e] >= target().size()) r.fail("post_queue", "entry out of range");
      for (auto& s : ts_)
        if (s.owned.contains(post_neuron[e])) s.post_queue[post_slot[e]].push_back(static_cast<NeuronIndex>(post_neuron[e]));
    }
    if constexpr (requires(Rule& rr) { rr.restore_state(r); }) {
      auto g = r.group("rule");
      rule_.restore_state(r);
    }
  }

  /// Rule state of the synapses of thread `tid` (same order as csr(tid)).
  const typename Rule::SynState& synapse_state(int tid) const { return ts_[static_cast<std::size_t>(tid)].syn; }
  const typename Rule::PostState& post_state() const { return post_; }

 private:
  struct ThreadState {
    Range owned;
    std::vector<std::vector<std::uint64_t>> pre_queue;  // by synapse time mod slots
    std::vector<std::vector<NeuronIndex>> pre_rows;     // uniform delay: sources, likewise
    std::vector<std::vector<NeuronIndex>> post_queue;   // by synapse time mod slots
    std::vector<std::uint64_t> in_row;                  // per owned target: offsets into in_syn
    std::vector<std::uint64_t> in_syn;                  // synapse indices, by target
    typename Rule::SynState syn;
  };

  void post_event(ThreadState& s, SynapseCsr& c, NeuronIndex j, Step a) {
    const std::size_t lj = j - s.owned.begin;
    const std::uint64_t* const in_syn = s.in_syn.data();
    const std::uint64_t begin = s.in_row[lj], end = s.in_row[lj + 1];
    if constexpr (requires(const Rule& ru, typename Rule::SynState& st, double* w) {
                    ru.on_post_list(st, in_syn, std::uint64_t{0}, post_, j, a, w);
                  }) {
      rule_.on_post_list(s.syn, in_syn + begin, end - begin, post_, j, a, c.weight.data());
      rule_.on_post_neuron(post_, j, a);
      return;
    }
    // The synapses into j are scattered over the projection: a post spike is a chain of cache
    // misses unless the next ones are requested while the current one is updated.
    constexpr std::uint64_t kAhead = 8;
    if constexpr (requires(const Rule& r, const typename Rule::SynState& st) { r.prefetch(st, std::uint64_t{0}); }) {
      for (std::uint64_t r = begin; r < std::min(begin + kAhead, end); ++r) {
        rule_.prefetch(s.syn, in_syn[r]);
        __builtin_prefetch(&c.weight[in_syn[r]], 1);
      }
    }
    for (std::uint64_t r = begin; r < end; ++r) {
      if constexpr (requires(const Rule& ru, const typename Rule::SynState& st) { ru.prefetch(st, std::uint64_t{0}); }) {
        if (r + kAhead < end) {
          rule_.prefetch(s.syn, in_syn[r + kAhead]);
          __builtin_prefetch(&c.weight[in_syn[r + kAhead]], 1);
        }
      }
      const std::uint64_t q = in_syn[r];
      rule_.on_post_synapse(s.syn, q, post_, j, a, c.weight[q]);
    }
    rule_.on_post_neuron(post_, j, a);
  }

  using PostState = typename Rule::PostState;
  inline static const typename Rule::SynState empty_syn_{};
  Rule rule_;
  const ModulationMap* gain_map_ = nullptr;  // synaptic gain per target neuron, at arrival
  double dend_ms_;
  DelaySteps dend_ = 0;
  double dt_ = 0.1;
  bool prepared_ = false;
  bool pulse_ = false;
  bool uniform_delay_ = false;
  std::size_t slots_ = 1;
  std::vector<ThreadState> ts_;
  typename Rule::PostState post_;
};

}  // namespace nmsim::models
