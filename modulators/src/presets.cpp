#include "nmsim/modulators/presets.hpp"

#include <limits>

namespace nmsim::modulators {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// See docs/models/modulator_fields.md, "Presets", for the source and the reasoning of each value.
const std::vector<ModulatorPreset>& presets() {
  static const std::vector<ModulatorPreset> p = {
      // Dopamine, dorsal striatum: DAT uptake Vmax 4 uM/s, Km 0.2 uM; 3000 molecules per vesicle;
      // release probability 0.06 per terminal and action potential.
      {"DA", 0.763, 1.54, 0.21, {kInf, 4.0e-3, 0.2, 0.0}, 3000.0 / kMoleculesPerUmUm3, 0.06,
       "Nicholson 1995 (D); striatal alpha, lambda as used by DA volume-transmission models (primary source "
       "under check, see docs); Dreyer et al. 2010 (uptake, p); Pothos et al. 1998 (quantum)"},
      // Noradrenaline, cortex: NET uptake, slower and lower-capacity than striatal DAT (estimate).
      {"NA", 0.763, 1.6, 0.2, {kInf, 1.0e-3, 0.4, 0.0}, 3000.0 / kMoleculesPerUmUm3, 0.06,
       "Nicholson & Sykova 1998 (alpha, lambda); DA values for D and quantum (same size, same vesicles); "
       "NET kinetics: estimate (see docs)"},
      // Acetylcholine: AChE hydrolysis, Km ~ 0.1 mM, effective first-order time 1 ms at low levels.
      // D is the free coefficient (0.6-1.0 um^2/ms, as quoted by Land et al. 1984); tortuosity
      // hinders it here, so the apparent in-cleft 0.4 um^2/ms would count the hindrance twice.
      {"ACh", 0.8, 1.6, 0.2, {kInf, 100.0, 100.0, 0.0}, 7000.0 / kMoleculesPerUmUm3, 0.1,
       "Nicholson & Sykova 1998 (alpha, lambda); Land et al. 1984 (free D, midpoint of the quoted range); Kuffler & Yoshikami 1975 (quantum); "
       "AChE rate: estimate (see docs)"},
      // Serotonin: SERT uptake (substantia nigra reticulata slices).
      {"5HT", 0.70, 1.6, 0.2, {kInf, 0.57e-3, 0.17, 0.0}, 3000.0 / kMoleculesPerUmUm3, 0.06,
       "Bunin & Wightman 1998; Nicholson & Sykova 1998; D scaled from DA by molar mass^-1/3"},
  };
  return p;
}

}  // namespace

const ModulatorPreset* find_preset(const std::string& name) {
  for (const auto& p : presets())
    if (p.name == name) return &p;
  return nullptr;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> n;
  for (const auto& p : presets()) n.push_back(p.name);
  return n;
}

}  // namespace nmsim::modulators
