#pragma once
// Names in a config -> types. Each module fills it (nmsim::models::register_models, ...), so the
// config reader builds networks without including any model header.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nmsim/core/modulator.hpp"
#include "nmsim/core/params.hpp"
#include "nmsim/core/population.hpp"
#include "nmsim/core/projection.hpp"

namespace nmsim {

/// A [[modulator]] table, split into its sub-tables (SPEC.md): the factory of the field type
/// reads what it needs and rejects unknown keys.
struct ModulatorSpec {
  std::string name;
  std::string field_type;           // "well_mixed", "grid", ...
  ParamTable table;                 // top-level keys: baseline, initial, preset, ...
  ParamTable field;                 // field = { type = ..., ... }
  ParamTable uptake;                // uptake = { kind = ..., ... } (may be empty)
  ParamTable diffusion;             // diffusion = { ... } (may be empty)
  std::vector<ParamTable> release;  // release = [ { source = ..., quantum = ..., ... }, ... ]
};

class Registry {
 public:
  /// Builds a population from its validated parameter and initial-value tables. Must read every
  /// key it accepts and reject the others (ParamTable::reject_unknown).
  using PopulationFactory = std::function<std::unique_ptr<Population>(
      const std::string& name, std::size_t size, const ParamTable& params, const ParamTable& init)>;

  /// Builds a plasticity model from the keys of a [[plasticity]] table (name and rule removed).
  using PlasticityFactory =
      std::function<std::shared_ptr<const PlasticityModel>(const std::string& name, const ParamTable& params)>;

  using ModulatorFactory = std::function<std::unique_ptr<Modulator>(const ModulatorSpec& spec)>;

  void add_model(const std::string& name, PopulationFactory factory);
  void add_modulator_field(const std::string& type, ModulatorFactory factory);
  std::vector<std::string> modulator_fields() const;
  std::unique_ptr<Modulator> make_modulator(const ModulatorSpec& spec) const;
  void add_plasticity(const std::string& rule, PlasticityFactory factory);
  bool has_plasticity(const std::string& rule) const { return rules_.count(rule) != 0; }
  std::vector<std::string> plasticity_rules() const;
  std::shared_ptr<const PlasticityModel> make_plasticity(const std::string& rule, const std::string& name,
                                                         const ParamTable& params) const;
  bool has_model(const std::string& name) const { return models_.count(name) != 0; }
  std::vector<std::string> models() const;
  std::unique_ptr<Population> make_population(const std::string& model, const std::string& name, std::size_t size,
                                              const ParamTable& params, const ParamTable& init) const;

 private:
  std::map<std::string, PopulationFactory> models_;
  std::map<std::string, PlasticityFactory> rules_;
  std::map<std::string, ModulatorFactory> fields_;
};

/// Draw one value per neuron of `dist` into out[i * stride], from the stream
/// ("init/<population>/<variable>", i): the same values for any thread count or model order.
void draw_per_neuron(double* out, std::size_t n, std::size_t stride, const Distribution& dist, std::uint64_t seed,
                     const std::string& population, const std::string& variable);

}  // namespace nmsim
