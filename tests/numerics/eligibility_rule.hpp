#pragma once
// The stdp_eligibility parameters that tests/numerics/plasticity_{eligibility,spatial}.cpp vary,
// written into the rule's ParamTable (modulator "da", bounds far away).
#include <string>

#include "nmsim/core/params.hpp"

namespace nmsim::test {

struct EligibilityRule {
  double tau_plus = 20.0, tau_minus = 20.0, a_plus = 1.0, a_minus = 1.5, tau_c = 200.0, eta = 0.7, baseline = 0.0;
  double interval = 0.0;  // 0: the rule's default
};

inline void set_eligibility_rule(ParamTable& t, const EligibilityRule& r) {
  t.set("tau_plus", {r.tau_plus});
  t.set("tau_minus", {r.tau_minus});
  t.set("a_plus", {r.a_plus});
  t.set("a_minus", {r.a_minus});
  t.set("tau_c", {r.tau_c});
  t.set("eta", {r.eta});
  t.set("baseline", {r.baseline});
  if (r.interval > 0) t.set("interval", {r.interval});
  t.set("w_min", {-1e6});
  t.set("w_max", {1e6});
  t.set("modulator", {std::string("da")});
}

}  // namespace nmsim::test
