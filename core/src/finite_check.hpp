#pragma once
// Detection of a numerical blow-up: a NaN or infinite value in any state variable of any neuron.
//
// Every thread scans the state of the neurons it owns once per delivery window (after the
// window's steps, before the barrier), so the hot per-step loop pays nothing and a window costs
// one pass over N x n_vars doubles (an exponent test that the compiler vectorises: a few us for
// 10^4 neurons, against the window's N x steps neuron updates). Variables that a model stores
// interleaved (v0, u0, v1, u1, ...) are scanned as one contiguous block; with 1 ms windows the
// strided per-variable loop was 17 % of a 1000-neuron run. After the barrier one thread
// turns the first finding into a RuntimeError that names the population, neuron, variable, its
// value and the window in which it appeared.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nmsim/core/population.hpp"

namespace nmsim::detail {

class FiniteCheck {
 public:
  FiniteCheck(const std::vector<std::unique_ptr<Population>>& populations, int threads);
  /// Thread `tid`: scan its owned ranges (`owned[p]` for population index p). Findings go to
  /// slot set `parity` (0 or 1): a loop whose threads run ahead into the next window while one
  /// thread reads the findings of the last alternates the sets, as it does its spike sinks.
  void scan(int tid, const std::vector<Range>& owned, int parity = 0);
  /// One thread, after the barrier: throws RuntimeError if any thread found a non-finite value in
  /// set `parity`. The state was checked finite at step `from` and is not at step `to`.
  void raise_if_bad(Step from, Step to, double dt, int parity = 0) const;

 private:
  struct Var {
    const Population* pop;
    std::string name;
    const double* base;
    std::size_t stride;
  };
  struct alignas(64) Found {
    bool bad = false;
    std::size_t var = 0;
    std::size_t neuron = 0;
    double value = 0;
  };
  // A run of memory to scan per owned neuron i: `width` doubles from base + i * stride (width ==
  // stride: the population's variables interleaved, contiguous over a range of neurons).
  struct Block {
    const Population* pop;
    const double* base;
    std::size_t stride;
    std::size_t width;
  };
  std::vector<Var> vars_;
  std::vector<Block> blocks_;
  std::vector<Found> found_[2];  // per parity, one per thread, each on its own cache line
};

}  // namespace nmsim::detail
