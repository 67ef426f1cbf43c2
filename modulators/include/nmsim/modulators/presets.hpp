#pragma once
// Literature defaults for the four classic neuromodulators of a grid field (`preset` key of a
// [[modulator]] table): diffusion in the extracellular space, clearance kinetics and quantal
// release. Explicit keys of the table override every value. The values and their sources are
// tabulated, with the reasoning behind each choice, in docs/models/modulator_fields.md.
//
// Units: diffusion um^2/ms (1 um^2/ms = 1e-5 cm^2/s), vmax uM/ms (1 uM/s = 1e-3 uM/ms), km uM,
// quantum uM um^3 (= 1e-21 mol = 1 zmol = 602.2 molecules).
#include <string>
#include <vector>

#include "nmsim/modulators/kinetics.hpp"

namespace nmsim::modulators {

/// Molecules per uM um^3 (Avogadro's number x 1e-21).
inline constexpr double kMoleculesPerUmUm3 = 602.214076;

struct ModulatorPreset {
  std::string name;            // "DA", "NA", "ACh", "5HT"
  double diffusion;            // [um^2/ms] > 0, free diffusion coefficient at 37 C
  double tortuosity;           // [1] >= 1
  double volume_fraction;      // [1] (0, 1]
  KineticsParams kinetics;     // uptake / breakdown
  double quantum;              // [uM um^3] >= 0, amount per release event
  double probability;          // [1] release probability per spike and site
  std::string references;      // short citation list
};

/// Preset by name (case-sensitive: "DA", "NA", "ACh", "5HT"); nullptr when unknown.
const ModulatorPreset* find_preset(const std::string& name);
/// Names of all presets.
std::vector<std::string> preset_names();

}  // namespace nmsim::modulators
