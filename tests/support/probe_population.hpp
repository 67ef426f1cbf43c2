#pragma once
// A test-only population that does no dynamics: it records every non-zero input it is handed
// (per neuron: arrival step, port, value) and emits spikes exactly at scheduled steps. It lets
// delivery and stimulus tests check the engine's bookkeeping exactly, without model numerics.
//
// Arrival convention (core/population.hpp): in update(step k), a jump port holds the input that
// arrives at t_{k+1}, a pulse port the input that arrived at t_k. The probe records the arrival
// step accordingly (k + 1 or k). A spike scheduled at step k is emitted in update(k), stamped
// t_{k+1}, and with delay d arrives at step k + 1 + d.
#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "nmsim/core/population.hpp"

namespace nmsim::test {

struct Arrival {
  Step step;     // arrival step (input applies at t = step * dt)
  int port;      // port index
  double value;  // summed weight handed to the neuron for that step and port
  bool operator==(const Arrival& o) const { return step == o.step && port == o.port && value == o.value; }
  bool operator<(const Arrival& o) const {
    return step != o.step ? step < o.step : port != o.port ? port < o.port : value < o.value;
  }
};

class ProbePopulation : public Population {
 public:
  ProbePopulation(std::string name, std::size_t size, std::vector<PortInfo> ports = default_ports())
      : Population(std::move(name), size), ports_(std::move(ports)), arrivals_(size), i_ext_(size) {}

  static std::vector<PortInfo> default_ports() {
    return {{"exc", "pA", PortKind::jump}, {"inh", "pA", PortKind::jump}, {"pul", "pA", PortKind::pulse}};
  }

  std::string_view model() const override { return "probe"; }
  std::vector<PortInfo> ports() const override { return ports_; }
  std::vector<std::string> variables() const override { return {}; }
  VarView variable(std::string_view) const override { throw std::runtime_error("probe has no variables"); }
  void prepare(double, std::uint64_t) override {}

  /// Emit a spike of neuron i during update(step k).
  void fire(Step k, NeuronIndex i) { schedule_.insert({k, i}); }

  void update(const UpdateContext& ctx, Range r, const InputView& in, SpikeSink& out) override {
    for (std::size_t i = r.begin; i < r.end; ++i) {
      for (std::size_t q = 0; q < ports_.size(); ++q) {
        const double v = in.port[q][i];
        if (v != 0.0)
          arrivals_[i].push_back(
              {ports_[q].kind == PortKind::jump ? ctx.step + 1 : ctx.step, static_cast<int>(q), v});
      }
      if (in.i_ext[i] != 0.0) i_ext_[i].push_back({ctx.step, -1, in.i_ext[i]});
      if (schedule_.count({ctx.step, static_cast<NeuronIndex>(i)}))
        out.push(ctx.step, index(), static_cast<NeuronIndex>(i));
    }
  }

  const std::vector<Arrival>& arrivals(std::size_t i) const { return arrivals_[i]; }
  const std::vector<Arrival>& i_ext(std::size_t i) const { return i_ext_[i]; }

 private:
  std::vector<PortInfo> ports_;
  std::set<std::pair<Step, NeuronIndex>> schedule_;
  std::vector<std::vector<Arrival>> arrivals_;  // written only by the thread owning neuron i
  std::vector<std::vector<Arrival>> i_ext_;
};

}  // namespace nmsim::test
