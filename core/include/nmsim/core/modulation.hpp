#pragma once
// Gating: local concentrations act on neurons and synapses through receptors, and several
// modulators may act on one target at once ("many-to-one").
//
//   receptor (Hill):   r(C) = sign * emax * C^n / (ec50^n + C^n)
//   target value:      combine = "sum":     v = base + sum_i r_i(C_i)
//                      combine = "product": v = base * prod_i (1 + r_i(C_i))
// C_i is the concentration of term i's modulator at the target neuron's position at the start of
// the step (probe of the neuron; the pool value for a well-mixed modulator). The value is held
// over the step. docs/models/modulation.md lists targets, presets and their references.
#include <string>
#include <vector>

#include "nmsim/core/modulator.hpp"

namespace nmsim {

struct Receptor {
  double ec50 = 1.0;   // [uM] > 0, half-maximal concentration
  double n = 1.0;      // [1] > 0, Hill coefficient
  double emax = 1.0;   // [target units] >= 0, maximal effect
  double sign = 1.0;   // +1 (excitatory effect) or -1
  double operator()(double c) const;
  /// Named receptor classes (D1, D2, alpha1, alpha2, beta, M1, nicotinic, 5HT1A, 5HT2A):
  /// affinities from the literature (docs/models/modulation.md); emax 1, sign +1.
  static bool preset(const std::string& name, Receptor& out);
  static std::vector<std::string> presets();
};

struct ModulationTerm {
  Modulator* modulator = nullptr;
  Receptor receptor;
  std::vector<std::size_t> probe;  // per target neuron (spatial modulators); empty: the pool value
};

class ModulationMap {
 public:
  enum class Combine { sum, product };
  ModulationMap(std::string target, Combine combine, double base, std::vector<ModulationTerm> terms)
      : target_(std::move(target)), combine_(combine), base_(base), terms_(std::move(terms)) {}
  const std::string& target() const { return target_; }
  /// True when every term reads a pool (one value for all neurons).
  bool uniform() const;
  /// Value for target neuron i over step k (k in the current window of every modulator).
  double value(Step k, std::size_t i) const;
  /// The same for a uniform map.
  double value(Step k) const { return value(k, 0); }
  std::vector<ModulationTerm>& terms() { return terms_; }

 private:
  std::string target_;
  Combine combine_;
  double base_;
  std::vector<ModulationTerm> terms_;
};

}  // namespace nmsim
