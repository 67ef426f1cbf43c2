#include "nmsim/modulators/register.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "nmsim/modulators/grid_field.hpp"
#include "nmsim/modulators/presets.hpp"
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
    const std::string kind = s.uptake.choice("kind", "linear", {"linear", "michaelis_menten"});
    if (kind == "linear") {
      s.uptake.reject_unknown({"kind", "tau"});
      p.tau = s.uptake.number("tau", p.tau, Check::positive);
    } else {
      s.uptake.reject_unknown({"kind", "vmax", "km"});
      p.uptake = WellMixedParams::Uptake::michaelis_menten;
      p.vmax = s.uptake.number("vmax", Check::positive);
      p.km = s.uptake.number("km", Check::positive);
    }
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

GridBoundary::Kind boundary_kind(const ParamTable& t, const std::string& v) {
  if (v == "no_flux") return GridBoundary::Kind::no_flux;
  if (v == "fixed") return GridBoundary::Kind::fixed;
  if (v == "periodic") return GridBoundary::Kind::periodic;
  t.fail("boundary", fmt::format("expected \"no_flux\", \"fixed\" or \"periodic\", found \"{}\"", v));
}

// [[modulator]] with field.type = "grid" (docs/models/modulator_fields.md, "Configuration").
std::unique_ptr<Modulator> make_grid(const ModulatorSpec& s) {
  GridFieldParams p;
  s.table.reject_unknown({"name", "preset", "baseline", "initial", "production"});
  s.field.reject_unknown(
      {"type", "origin", "spacing", "shape", "dt", "scheme", "boundary", "boundary_value", "volume_fraction"});
  s.diffusion.reject_unknown({"coefficient", "tortuosity"});

  // Preset first; every explicit key below overrides it.
  double quantum = 1.0, probability = 1.0;
  if (s.table.has("preset")) {
    const std::string name = s.table.string("preset");
    const ModulatorPreset* pr = find_preset(name);
    if (!pr)
      s.table.fail("preset", fmt::format("expected one of {}, found \"{}\"", fmt::join(preset_names(), ", "), name));
    p.diffusion = pr->diffusion;
    p.tortuosity = pr->tortuosity;
    p.volume_fraction = pr->volume_fraction;
    p.kinetics = pr->kinetics;
    quantum = pr->quantum;
    probability = pr->probability;
  }

  // Geometry.
  auto& g = p.geometry;
  const std::vector<double> shape = s.field.numbers("shape");
  if (shape.empty() || shape.size() > 3)
    s.field.fail("shape", fmt::format("expected [nx], [nx, ny] or [nx, ny, nz], found {} values", shape.size()));
  g.dims = static_cast<int>(shape.size());
  for (std::size_t a = 0; a < shape.size(); ++a) {
    if (!(shape[a] >= 1) || shape[a] != std::floor(shape[a]) || shape[a] > 1e9)
      s.field.fail("shape", fmt::format("expected whole numbers >= 1, found {}", shape[a]));
    g.shape[a] = static_cast<std::size_t>(shape[a]);
  }
  const std::vector<double> spacing = s.field.numbers("spacing");
  if (spacing.size() == 1)
    g.spacing = {spacing[0], spacing[0], spacing[0]};
  else if (spacing.size() == 3 || spacing.size() == shape.size()) {
    for (std::size_t a = 0; a < 3; ++a) g.spacing[a] = a < spacing.size() ? spacing[a] : spacing[0];
  } else {
    s.field.fail("spacing", fmt::format("expected one value or one per axis ({} or 3), found {}", shape.size(), spacing.size()));
  }
  for (double h : g.spacing)
    if (!(h > 0)) s.field.fail("spacing", fmt::format("expected spacings > 0 um, found {}", h));
  if (s.field.has("origin")) {
    const std::vector<double> o = s.field.numbers("origin");
    if (o.size() != 3) s.field.fail("origin", fmt::format("expected [x, y, z] (um), found {} values", o.size()));
    g.origin = {o[0], o[1], o[2]};
  }
  p.field_dt = s.field.number("dt", 0.0, Check::non_negative);
  if (const std::string scheme = s.field.string("scheme", "euler"); scheme == "heun")
    p.scheme = GridScheme::heun;
  else if (scheme != "euler")
    s.field.fail("scheme", fmt::format("expected \"euler\" or \"heun\", found \"{}\"", scheme));
  p.volume_fraction = s.field.number("volume_fraction", p.volume_fraction, Check::positive);

  // Diffusion.
  p.diffusion = s.diffusion.number("coefficient", p.diffusion, Check::non_negative);
  p.tortuosity = s.diffusion.number("tortuosity", p.tortuosity, Check::positive);

  // Uptake / breakdown.
  if (!s.uptake.empty()) {
    const std::string kind = s.uptake.choice("kind", "michaelis_menten", {"none", "linear", "michaelis_menten"});
    KineticsParams k;  // a kind replaces the preset's kinetics; unset keys keep the preset's values
    if (kind == "linear") {
      s.uptake.reject_unknown({"kind", "tau"});
      k.tau = s.uptake.number("tau", Check::positive);
    } else if (kind == "michaelis_menten") {
      s.uptake.reject_unknown({"kind", "vmax", "km", "tau"});
      const bool preset_mm = p.kinetics.vmax > 0;
      k.vmax = preset_mm && !s.uptake.has("vmax") ? p.kinetics.vmax : s.uptake.number("vmax", Check::positive);
      k.km = preset_mm && !s.uptake.has("km") ? p.kinetics.km : s.uptake.number("km", Check::positive);
      k.tau = s.uptake.number("tau", std::numeric_limits<double>::infinity(), Check::positive);
    } else {
      s.uptake.reject_unknown({"kind"});
    }
    p.kinetics = k;
  }
  if (s.table.has("baseline") && s.table.has("production"))
    s.table.fail("production", "expected either baseline (the production is derived) or production, found both");
  if (s.table.has("production")) p.kinetics.production = s.table.number("production", Check::non_negative);
  if (s.table.has("baseline")) {
    const double b = s.table.number("baseline", Check::non_negative);
    if (b > 0 && p.kinetics.vmax == 0 && p.kinetics.tau == std::numeric_limits<double>::infinity())
      s.table.fail("baseline", "a baseline > 0 needs a clearance (uptake) to be a steady state");
    p.kinetics.production = Kinetics::production_for(p.kinetics, b);
  }
  p.initial = s.table.number("initial", -1.0);
  if (s.table.has("initial") && p.initial < 0) s.table.fail("initial", fmt::format("expected >= 0 uM, found {}", p.initial));

  // Boundaries: one kind for every face, or one per axis.
  if (s.field.has("boundary")) {
    const std::vector<std::string> b = s.field.strings("boundary");
    if (b.size() != 1 && b.size() != shape.size())
      s.field.fail("boundary", fmt::format("expected one kind or one per axis ({}), found {}", shape.size(), b.size()));
    for (std::size_t a = 0; a < shape.size(); ++a)
      p.boundary[a][0].kind = p.boundary[a][1].kind = boundary_kind(s.field, b.size() == 1 ? b[0] : b[a]);
  }
  double level = p.initial;
  if (level < 0) {
    const Kinetics kin(p.kinetics, "modulator." + s.name + ".uptake");
    level = std::isfinite(kin.steady_state()) ? kin.steady_state() : 0.0;
  }
  const double bv = s.field.number("boundary_value", level, Check::non_negative);
  for (auto& axis : p.boundary)
    for (auto& face : axis) face.value = bv;

  for (const ParamTable& r : s.release) {
    r.reject_unknown({"source", "quantum", "delay", "probability"});
    GridReleaseSource src;
    src.population = r.string("source");
    src.quantum = r.number("quantum", quantum, Check::non_negative);
    src.delay = r.number("delay", src.delay, Check::positive);
    src.probability = r.number("probability", probability, Check::probability);
    p.release.push_back(src);
  }
  return std::make_unique<GridField>(s.name, p);
}

}  // namespace

void register_modulators(Registry& registry) {
  registry.add_modulator_field("well_mixed", make_well_mixed);
  registry.add_modulator_field("grid", make_grid);
}

}  // namespace nmsim::modulators
