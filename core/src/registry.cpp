#include "nmsim/core/registry.hpp"

#include <fmt/format.h>

namespace nmsim {

void Registry::add_model(const std::string& name, PopulationFactory factory) { models_[name] = std::move(factory); }

std::vector<std::string> Registry::models() const {
  std::vector<std::string> names;
  for (const auto& [n, f] : models_) names.push_back(n);
  return names;
}

std::unique_ptr<Population> Registry::make_population(const std::string& model, const std::string& name,
                                                      std::size_t size, const ParamTable& params,
                                                      const ParamTable& init) const {
  auto it = models_.find(model);
  if (it == models_.end())
    throw ConfigError({}, "population." + name + ".model",
                      fmt::format("expected one of the models {}, found \"{}\"", fmt::join(models(), ", "), model));
  return it->second(name, size, params, init);
}

void Registry::add_plasticity(const std::string& rule, PlasticityFactory factory) { rules_[rule] = std::move(factory); }

std::vector<std::string> Registry::plasticity_rules() const {
  std::vector<std::string> names;
  for (const auto& [n, f] : rules_) names.push_back(n);
  return names;
}

std::shared_ptr<const PlasticityModel> Registry::make_plasticity(const std::string& rule, const std::string& name,
                                                                 const ParamTable& params) const {
  auto it = rules_.find(rule);
  if (it == rules_.end())
    throw ConfigError({}, "plasticity." + name + ".rule",
                      fmt::format("expected one of the rules {}, found \"{}\"", fmt::join(plasticity_rules(), ", "), rule));
  return it->second(name, params);
}

void Registry::add_modulator_field(const std::string& type, ModulatorFactory factory) {
  fields_[type] = std::move(factory);
}

std::vector<std::string> Registry::modulator_fields() const {
  std::vector<std::string> names;
  for (const auto& [n, f] : fields_) names.push_back(n);
  return names;
}

std::unique_ptr<Modulator> Registry::make_modulator(const ModulatorSpec& spec) const {
  auto it = fields_.find(spec.field_type);
  if (it == fields_.end())
    throw ConfigError(spec.field.pos_of("type"), "modulator." + spec.name + ".field.type",
                      fmt::format("expected one of the field types {}, found \"{}\"", fmt::join(modulator_fields(), ", "),
                                  spec.field_type));
  return it->second(spec);
}

void draw_per_neuron(double* out, std::size_t n, std::size_t stride, const Distribution& dist, std::uint64_t seed,
                     const std::string& population, const std::string& variable) {
  if (dist.is_constant()) {
    for (std::size_t i = 0; i < n; ++i) out[i * stride] = dist.a;
    return;
  }
  const std::uint32_t purpose = purpose_id("init/" + population + "/" + variable);
  for (std::size_t i = 0; i < n; ++i) {
    RandomStream rng(seed, purpose, static_cast<std::uint32_t>(i));
    out[i * stride] = dist.sample(rng);
  }
}

}  // namespace nmsim
