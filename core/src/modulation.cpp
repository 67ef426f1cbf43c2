#include "nmsim/core/modulation.hpp"

#include <cmath>

namespace nmsim {

double Receptor::operator()(double c) const {
  if (c <= 0.0) return 0.0;
  const double x = n == 1.0 ? c / ec50 : std::pow(c / ec50, n);
  return sign * emax * x / (1.0 + x);
}

namespace {
struct Named {
  const char* name;
  double ec50;  // uM
  double n;
};
// Apparent affinities (EC50 for the functional response, uM); references in
// docs/models/modulation.md. Dopamine: D1-like low affinity (~1 uM), D2-like high affinity
// (~10-20 nM), as used by Dreyer et al. 2010 for striatal occupancy. Noradrenaline: alpha2 high,
// alpha1 and beta lower affinity. Acetylcholine: muscarinic (M1) ~1 uM, nicotinic (alpha4beta2)
// ~ 1 uM range with cooperativity. Serotonin: 5-HT1A high (~10 nM), 5-HT2A lower (~0.1-1 uM).
constexpr Named kPresets[] = {
    {"D1", 1.0, 1.0},       {"D2", 0.01, 1.0},  {"alpha1", 0.3, 1.0},     {"alpha2", 0.05, 1.0},
    {"beta", 0.5, 1.0},     {"M1", 1.0, 1.0},   {"nicotinic", 1.0, 1.5}, {"5HT1A", 0.01, 1.0},
    {"5HT2A", 0.3, 1.0},
};
}  // namespace

bool Receptor::preset(const std::string& name, Receptor& out) {
  for (const Named& p : kPresets)
    if (name == p.name) {
      out = Receptor{p.ec50, p.n, 1.0, 1.0};
      return true;
    }
  return false;
}

std::vector<std::string> Receptor::presets() {
  std::vector<std::string> names;
  for (const Named& p : kPresets) names.emplace_back(p.name);
  return names;
}

bool ModulationMap::uniform() const {
  for (const auto& t : terms_)
    if (!t.probe.empty()) return false;
  return true;
}

double ModulationMap::value(Step k, std::size_t i) const {
  double v = base_;
  for (const auto& t : terms_) {
    const double c = t.probe.empty() ? t.modulator->level(k) : t.modulator->probe_piece(k, t.probe[i]).at(0.0);
    const double r = t.receptor(c);
    if (combine_ == Combine::sum)
      v += r;
    else
      v *= 1.0 + r;
  }
  return v;
}

}  // namespace nmsim
