#include "nmsim/modulators/register.hpp"

#include <fmt/format.h>

#include "nmsim/modulators/well_mixed.hpp"

namespace nmsim::modulators {

namespace {

std::unique_ptr<Modulator> make_well_mixed(const ModulatorSpec& s) {
  WellMixedParams p;
  s.field.reject_unknown({"type"});
  s.table.reject_unknown({"name", "baseline", "initial"});
  p.baseline = s.table.number("baseline", p.baseline, Check::non_negative);
  p.initial = s.table.number("initial", -1.0);
  if (s.table.has("initial") && p.initial < 0) s.table.fail("initial", fmt::format("expected >= 0 uM, found {}", p.initial));
  if (!s.diffusion.empty())
    s.diffusion.fail(s.diffusion.keys().front(), "a well-mixed modulator does not diffuse (use field.type = \"grid\")");
  if (!s.uptake.empty()) {
    s.uptake.reject_unknown({"kind", "tau"});
    s.uptake.choice("kind", "linear", {"linear"});
    p.tau = s.uptake.number("tau", p.tau, Check::positive);
  }
  for (const ParamTable& r : s.release) {
    r.reject_unknown({"source", "quantum", "delay", "probability"});
    ReleaseSource src;
    src.population = r.string("source");
    src.quantum = r.number("quantum", src.quantum, Check::non_negative);
    src.delay = r.number("delay", src.delay, Check::positive);
    src.probability = r.number("probability", src.probability, Check::probability);
    p.release.push_back(src);
  }
  return std::make_unique<WellMixed>(s.name, p);
}

}  // namespace

void register_modulators(Registry& registry) { registry.add_modulator_field("well_mixed", make_well_mixed); }

}  // namespace nmsim::modulators
