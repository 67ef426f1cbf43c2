#pragma once
// The machine's own limit for nmsim's spike delivery: a CSR scatter micro-kernel of the same
// shape as Projection::deliver (core/src/projection.cpp), with nothing else around it.
//
//   per thread: one CSR by source of the synapses into the targets it owns (a contiguous block
//   of [0, n)), structure of arrays (target uint32, weight double, delay uint16);
//   per spike: walk its row and add weight into ring[port][((step + 1 + delay) mod S) * n + target]
//   (port 0 = excitatory sources, port 1 = inhibitory sources: two rings of S x n doubles, the
//   footprint of two populations with an exc and an inh port each).
// The spike trains are Bernoulli(rate dt) per source and step, generated before timing; only the
// deliveries (with the barrier that closes each window) are timed. Consumed slots are cleared
// outside the timed region, as nmsim clears them in the neuron update.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "bench_util.hpp"

namespace nmsim::bench {

struct ScatterConfig {
  std::uint32_t n_exc = 10000;   // excitatory sources (also the first n_exc targets)
  std::uint32_t n_inh = 2500;    // inhibitory sources
  std::uint32_t k_exc = 1000;    // excitatory inputs per target (fixed in-degree, multapses)
  std::uint32_t k_inh = 250;     // inhibitory inputs per target
  double w_exc = 0.1, w_inh = -0.5;
  std::uint16_t delay = 15;      // steps, also the window length (min delay)
  double rate_hz = 30.0;         // per source
  double dt = 0.1;               // ms
  std::int64_t steps = 10000;
  int threads = 1;
  std::uint64_t seed = 7;
};

struct ScatterResult {
  double seconds = 0.0;          // timed delivery
  std::uint64_t events = 0;      // synapses walked
  std::uint64_t spikes = 0;
  double checksum = 0.0;         // keeps the compiler honest
  double events_per_s() const { return seconds > 0 ? static_cast<double>(events) / seconds : 0.0; }
};

inline ScatterResult run_scatter(const ScatterConfig& c) {
  const std::uint32_t n = c.n_exc + c.n_inh;
  const int nt = c.threads;
  const std::size_t slots = std::size_t{c.delay} + 1;
  struct Csr {
    std::vector<std::uint64_t> row;
    std::vector<std::uint32_t> target;
    std::vector<double> weight;
    std::vector<std::uint16_t> delay;
  };
  std::vector<Csr> csr(static_cast<std::size_t>(nt));
  // Connectivity: every target draws its k_exc + k_inh sources; CSR by source per thread.
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    const std::uint32_t lo = static_cast<std::uint32_t>(std::uint64_t{n} * static_cast<std::uint64_t>(t) / static_cast<std::uint64_t>(nt));
    const std::uint32_t hi = static_cast<std::uint32_t>(std::uint64_t{n} * static_cast<std::uint64_t>(t + 1) / static_cast<std::uint64_t>(nt));
    std::mt19937_64 rng(c.seed * 1000003u + static_cast<std::uint64_t>(t));
    std::uniform_int_distribution<std::uint32_t> pick_e(0, c.n_exc - 1), pick_i(c.n_exc, n - 1);
    std::vector<std::uint32_t> src;  // source of synapse q, target-major
    std::vector<std::uint32_t> tgt;
    src.reserve(std::uint64_t{hi - lo} * (c.k_exc + c.k_inh));
    tgt.reserve(src.capacity());
    for (std::uint32_t j = lo; j < hi; ++j) {
      for (std::uint32_t q = 0; q < c.k_exc; ++q) src.push_back(pick_e(rng)), tgt.push_back(j);
      for (std::uint32_t q = 0; q < c.k_inh; ++q) src.push_back(pick_i(rng)), tgt.push_back(j);
    }
    Csr& m = csr[static_cast<std::size_t>(t)];
    m.row.assign(std::size_t{n} + 1, 0);
    for (std::uint32_t s : src) ++m.row[std::size_t{s} + 1];
    for (std::uint32_t s = 0; s < n; ++s) m.row[s + 1] += m.row[s];
    std::vector<std::uint64_t> fill(m.row.begin(), m.row.end() - 1);
    m.target.resize(src.size());
    m.weight.resize(src.size());
    m.delay.resize(src.size());
    for (std::size_t q = 0; q < src.size(); ++q) {
      const std::uint64_t at = fill[src[q]]++;
      m.target[at] = tgt[q];
      m.weight[at] = src[q] < c.n_exc ? c.w_exc : c.w_inh;
      m.delay[at] = c.delay;
    }
  }
  // Spike trains, per window, sorted by (step, source).
  struct Sp {
    std::int64_t step;
    std::uint32_t source;
  };
  const std::int64_t n_windows = (c.steps + c.delay - 1) / c.delay;
  std::vector<std::vector<Sp>> windows(static_cast<std::size_t>(n_windows));
  ScatterResult res;
  {
    std::mt19937_64 rng(c.seed);
    // Geometric gaps between spikes of the flattened (step, source) grid: Bernoulli(p) per cell.
    const double p = std::min(1.0, c.rate_hz * c.dt * 1e-3);
    if (p > 0) {
      std::geometric_distribution<std::uint64_t> gap(p);
      const std::uint64_t cells = static_cast<std::uint64_t>(c.steps) * n;
      for (std::uint64_t cell = gap(rng); cell < cells; cell += 1 + gap(rng)) {
        const auto step = static_cast<std::int64_t>(cell / n);
        windows[static_cast<std::size_t>(step / c.delay)].push_back({step, static_cast<std::uint32_t>(cell % n)});
        ++res.spikes;
      }
    }
  }
  std::vector<std::vector<double>> ring(2, std::vector<double>(slots * n, 0.0));
  double* const ring_e = ring[0].data();
  double* const ring_i = ring[1].data();
  double elapsed = 0.0;
  std::uint64_t events = 0;
#pragma omp parallel num_threads(nt) reduction(+ : events)
  {
    const int t = omp_get_thread_num();
    const std::size_t lo = std::size_t{n} * static_cast<std::size_t>(t) / static_cast<std::size_t>(nt);
    const std::size_t hi = std::size_t{n} * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(nt);
    const Csr& m = csr[static_cast<std::size_t>(t)];
    const std::uint64_t* const row = m.row.data();
    const std::uint32_t* const tg = m.target.data();
    const double* const w = m.weight.data();
    const std::uint16_t* const d = m.delay.data();
    for (std::int64_t win = 0; win < n_windows; ++win) {
      const std::int64_t w0 = win * c.delay;
      // Untimed: clear the slots this window's steps consume (arrival steps w0+1 .. w0+delay).
      for (std::int64_t k = w0; k < w0 + c.delay; ++k) {
        const std::size_t s = static_cast<std::size_t>((k + 1) % static_cast<std::int64_t>(slots));
        std::fill(ring_e + s * n + lo, ring_e + s * n + hi, 0.0);
        std::fill(ring_i + s * n + lo, ring_i + s * n + hi, 0.0);
      }
#pragma omp barrier
      double t0 = 0.0;
      if (t == 0) t0 = wall_seconds();
      for (const Sp& sp : windows[static_cast<std::size_t>(win)]) {
        double* const r = sp.source < c.n_exc ? ring_e : ring_i;
        const std::size_t base = static_cast<std::size_t>((sp.step + 1) % static_cast<std::int64_t>(slots));
        const std::uint64_t b = row[sp.source], e = row[sp.source + 1];
        for (std::uint64_t q = b; q < e; ++q) {
          std::size_t slot = base + d[q];
          if (slot >= slots) slot -= slots;
          r[slot * n + tg[q]] += w[q];
        }
        events += e - b;
      }
#pragma omp barrier
      if (t == 0) elapsed += wall_seconds() - t0;
    }
  }
  res.seconds = elapsed;
  res.events = events;
  for (const auto& r : ring)
    for (double x : r) res.checksum += x;
  return res;
}

}  // namespace nmsim::bench
