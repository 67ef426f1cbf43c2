#include "finite_check.hpp"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

#include "nmsim/core/error.hpp"

namespace nmsim::detail {

namespace {

// True for NaN and +-inf: the exponent field is all ones. Integer operations, so the loop below
// vectorises without -ffast-math (which would let the compiler assume there are no NaNs).
inline bool not_finite(double x) { return ((std::bit_cast<std::uint64_t>(x) >> 52) & 0x7ff) == 0x7ff; }

// Whether any of x[0..n) is NaN or +-inf, branch-free: adding one to the exponent field carries
// into bit 63 exactly when the field is all ones. Only and/add/or, which GCC vectorises (a compare
// per element kept the loop scalar).
inline std::uint64_t carry(double x) {
  constexpr std::uint64_t exponent = 0x7ffULL << 52;
  return (std::bit_cast<std::uint64_t>(x) & exponent) + (1ULL << 52);
}
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NMSIM_INT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NMSIM_INT_CLONES
#endif
// Integer operations only: every clone gives the same answer. AVX2 does 4 doubles per operation,
// AVX-512 8 (the scan runs once per window: with 1-step windows it is ~5 % of a 1000-neuron run).
NMSIM_INT_CLONES bool any_not_finite(const double* x, std::size_t n) {
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i < n; ++i) acc |= carry(x[i]);
  return (acc >> 63) != 0;
}
NMSIM_INT_CLONES bool any_not_finite(const double* x, std::size_t n, std::size_t stride) {
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i < n; ++i) acc |= carry(x[i * stride]);
  return (acc >> 63) != 0;
}

}  // namespace

FiniteCheck::FiniteCheck(const std::vector<std::unique_ptr<Population>>& populations, int threads) {
  for (auto& f : found_) f.resize(static_cast<std::size_t>(threads > 0 ? threads : 1));
  for (const auto& p : populations)
    for (const std::string& name : p->variables()) {
      const VarView v = p->variable(name);
      if (v.base) vars_.push_back({p.get(), name, v.base, v.stride});
    }
  // Per population: if its k variables have stride k and bases b, b + 1, ..., b + k - 1 (in any
  // order), one contiguous block covers them all; otherwise one block per variable.
  for (std::size_t lo = 0, hi = 0; lo < vars_.size(); lo = hi) {
    while (hi < vars_.size() && vars_[hi].pop == vars_[lo].pop) ++hi;
    const std::size_t k = hi - lo;
    const double* b = vars_[lo].base;
    for (std::size_t j = lo; j < hi; ++j) b = std::min(b, vars_[j].base);
    std::vector<bool> seen(k, false);
    bool interleaved = true;
    for (std::size_t j = lo; j < hi && interleaved; ++j) {
      const auto off = static_cast<std::size_t>(vars_[j].base - b);
      interleaved = vars_[j].stride == k && off < k && !seen[off];
      if (interleaved) seen[off] = true;
    }
    if (interleaved) {
      blocks_.push_back({vars_[lo].pop, b, k, k});
    } else {
      for (std::size_t j = lo; j < hi; ++j) blocks_.push_back({vars_[j].pop, vars_[j].base, vars_[j].stride, 1});
    }
  }
}

void FiniteCheck::scan(int tid, const std::vector<Range>& owned, int parity) {
  Found& f = found_[parity & 1][static_cast<std::size_t>(tid)];
  if (f.bad) return;  // the first finding is the one reported
  bool any = false;
  for (const Block& b : blocks_) {
    const Range r = owned[b.pop->index()];
    any = b.width == b.stride ? any_not_finite(b.base + r.begin * b.stride, r.size() * b.stride)
                              : any_not_finite(b.base + r.begin * b.stride, r.size(), b.stride);
    if (any) break;
  }
  if (!any) return;
  // Rare: the first (variable, neuron) that is not finite, variable by variable.
  for (std::size_t vi = 0; vi < vars_.size(); ++vi) {
    const Var& v = vars_[vi];
    const Range r = owned[v.pop->index()];
    const double* x = v.base;
    const std::size_t s = v.stride;
    for (std::size_t i = r.begin; i < r.end; ++i)
      if (not_finite(x[i * s])) {
        f = {true, vi, i, x[i * s]};
        return;
      }
  }
}

void FiniteCheck::raise_if_bad(Step from, Step to, double dt, int parity) const {
  // Of several threads' findings, report the one with the lowest (population, neuron): the
  // message then does not depend on the thread count.
  const Found* first = nullptr;
  for (const Found& f : found_[parity & 1]) {
    if (!f.bad) continue;
    if (!first || vars_[f.var].pop->index() < vars_[first->var].pop->index() ||
        (vars_[f.var].pop->index() == vars_[first->var].pop->index() && f.neuron < first->neuron))
      first = &f;
  }
  if (!first) return;
  const Var& v = vars_[first->var];
  throw RuntimeError(
      fmt::format("numerical blow-up: population {} (model {}), neuron {}: {} = {} at t = {} ms (finite at t = {} ms; "
                  "the state is checked at the end of every delivery window); the run is stopped",
                  v.pop->name(), v.pop->model(), first->neuron, v.name, first->value, static_cast<double>(to) * dt,
                  static_cast<double>(from) * dt));
}

}  // namespace nmsim::detail
