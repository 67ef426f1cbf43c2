#include "finite_check.hpp"

#include <bit>

#include <fmt/format.h>

#include "nmsim/core/error.hpp"

namespace nmsim::detail {

namespace {

// True for NaN and +-inf: the exponent field is all ones. Integer operations, so the loop below
// vectorises without -ffast-math (which would let the compiler assume there are no NaNs).
inline bool not_finite(double x) { return ((std::bit_cast<std::uint64_t>(x) >> 52) & 0x7ff) == 0x7ff; }

}  // namespace

FiniteCheck::FiniteCheck(const std::vector<std::unique_ptr<Population>>& populations, int threads)
{
  for (auto& f : found_) f.resize(static_cast<std::size_t>(threads > 0 ? threads : 1));
  for (const auto& p : populations)
    for (const std::string& name : p->variables()) {
      const VarView v = p->variable(name);
      if (v.base) vars_.push_back({p.get(), name, v.base, v.stride});
    }
}

void FiniteCheck::scan(int tid, const std::vector<Range>& owned, int parity) {
  Found& f = found_[parity & 1][static_cast<std::size_t>(tid)];
  if (f.bad) return;  // the first finding is the one reported
  for (std::size_t vi = 0; vi < vars_.size(); ++vi) {
    const Var& v = vars_[vi];
    const Range r = owned[v.pop->index()];
    const double* x = v.base;
    const std::size_t s = v.stride;
    unsigned any = 0;
    if (s == 1) {
      for (std::size_t i = r.begin; i < r.end; ++i) any |= not_finite(x[i]);
    } else {
      for (std::size_t i = r.begin; i < r.end; ++i) any |= not_finite(x[i * s]);
    }
    if (!any) continue;
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
  throw RuntimeError(fmt::format(
      "numerical blow-up: population {} (model {}), neuron {}: {} = {} at t = {} ms (finite at t = {} ms; "
      "the state is checked at the end of every delivery window); the run is stopped",
      v.pop->name(), v.pop->model(), first->neuron, v.name, first->value, static_cast<double>(to) * dt,
      static_cast<double>(from) * dt));
}

}  // namespace nmsim::detail
