#pragma once
// stdp_eligibility without its batched loops (on_pre_range, on_post_list, the hoisted frame-end
// sweep): PlasticProjection then calls on_pre / on_post_synapse / advance per synapse. The
// reference the batched loops must equal bit for bit (tests/numerics/plasticity_*.cpp).
#include <memory>
#include <string_view>
#include <vector>

#include "nmsim/core/projection.hpp"
#include "nmsim/models/plastic_projection.hpp"
#include "nmsim/models/stdp_eligibility.hpp"

namespace nmsim::test {

struct Unbatched : models::StdpEligibility {
  using models::StdpEligibility::StdpEligibility;
  void before_events(SynState& s, std::vector<double>& w, Step a) const {
    if (spatial()) return models::StdpEligibility::before_events(s, w, a);  // per synapse already
    if (a <= 0 || a % interval_steps() != 0) return;
    for (std::size_t q = 0; q < w.size(); ++q) advance(s, q, a, w[q]);
  }
  template <class... A>
  void on_pre_range(A&&...) const = delete;
  template <class... A>
  void on_post_list(A&&...) const = delete;
};
struct UnbatchedModel : PlasticityModel {
  models::StdpEligibilityParams p;
  explicit UnbatchedModel(models::StdpEligibilityParams params) : p(std::move(params)) {}
  std::string_view rule() const override { return "stdp_eligibility"; }
  std::unique_ptr<Projection> make(ProjectionSpec spec, Population& source, Population& target,
                                   int port) const override {
    return std::make_unique<models::PlasticProjection<Unbatched>>(std::move(spec), source, target, port, Unbatched(p),
                                                                  0.0);
  }
};

}  // namespace nmsim::test
