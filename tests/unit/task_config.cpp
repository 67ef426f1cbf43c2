// [[task]] from TOML: a valid table builds a Task; bad tables are ConfigErrors with the file
// position, the key path, what was expected and what was found (exit code 2 in the CLI).
#include <catch2/catch.hpp>

#include "nmsim/core/simulation.hpp"
#include "nmsim/core/task.hpp"
#include "nmsim/io/config.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/modulators/register.hpp"

using namespace nmsim;

namespace {

const char* kTask = R"([simulation]
dt = 0.5
duration = 3000.0

[[population]]
name = "sens"
model = "lif"
size = 10

[[population]]
name = "act"
model = "lif"
size = 4

[[modulator]]
name = "DA"
field = { type = "well_mixed" }
baseline = 1.0

[[task]]
name = "gng"
input = "sens"
weight = 100.0
trials = 4
response = 200.0
outcome = 100.0
iti = 200.0
cues = [ { name = "A", neurons = { from = 0, to = 5 }, rate = 2000.0, reward = { go = 1.0 } },
         { name = "B", neurons = [5, 6, 7, 8, 9], rate = 2000.0, reward = { go = -1.0, nogo = 0.0 } } ]
decision = { rule = "threshold", population = "act", threshold = 3 }
reversal = { after = 2 }
releases = [ { name = "DA", modulator = "DA", signal = "rpe", gain = 0.5, min = -0.9, delay = 10.0 } ]
)";

std::unique_ptr<Simulation> build(const std::string& text, const std::vector<std::string>& sets = {}) {
  const io::Config cfg = io::Config::parse(text, "task.toml", sets);
  Registry reg;
  models::register_models(reg);
  modulators::register_modulators(reg);
  auto sim = std::make_unique<Simulation>(cfg.simulation_options());
  cfg.build(*sim, reg);
  try {
    sim->prepare();
  } catch (const ConfigError& e) {
    cfg.rethrow_with_position(e);
  }
  return sim;
}

std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    build(text, sets);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

const Task& task_of(const Simulation& sim) {
  for (const auto& s : sim.stimuli())
    if (const auto* t = dynamic_cast<const Task*>(s.get())) return *t;
  FAIL("no task");
  throw 0;
}

}  // namespace

TEST_CASE("task config: a valid table builds the task as written") {
  const auto sim = build(kTask);
  const TaskSpec& s = task_of(*sim).spec();
  CHECK(s.name == "gng");
  CHECK(s.trials == 4);
  CHECK(s.cues.size() == 2);
  CHECK(s.cues[0].neurons == std::vector<NeuronIndex>{0, 1, 2, 3, 4});
  CHECK(s.cues[0].reward == std::vector<double>{1.0, 0.0});  // missing responses: reward 0
  CHECK(s.cues[1].reward == std::vector<double>{-1.0, 0.0});
  CHECK(s.rule == TaskSpec::Rule::threshold);
  CHECK(s.threshold == 3.0);
  CHECK(s.reversal_after == 2);
  REQUIRE(s.reversal_swap.size() == 1);  // two cues: A and B swap by default
  CHECK(s.releases.size() == 1);
  CHECK(s.releases[0].min == -0.9);
  CHECK(task_of(*sim).trial_steps() == 1000);
}

TEST_CASE("task config: --set reaches cues and releases by name") {
  const auto sim = build(kTask, {"task.gng.releases.DA.gain=0", "task.gng.cues.B.rate=50", "task.gng.trials=5"});
  const TaskSpec& s = task_of(*sim).spec();
  CHECK(s.releases[0].gain == 0.0);
  CHECK(s.cues[1].rate == 50.0);
  CHECK(s.trials == 5);
}

TEST_CASE("task config: errors name file, line, column and key") {
  const std::string unknown = error_of(replace(kTask, "trials = 4", "trails = 4"));
  CHECK_THAT(unknown, Catch::Contains("task.toml:24:") && Catch::Contains("task.gng.trails") && Catch::Contains("unknown key"));
  const std::string missing = error_of(replace(kTask, "response = 200.0\n", ""));
  CHECK_THAT(missing, Catch::Contains("task.gng.response") && Catch::Contains("required key is missing"));
  const std::string pop = error_of(replace(kTask, "input = \"sens\"", "input = \"eyes\""));
  CHECK_THAT(pop, Catch::Contains("task.toml:22:") && Catch::Contains("task.gng.input") && Catch::Contains("\"eyes\""));
  const std::string resp = error_of(replace(kTask, "reward = { go = 1.0 }", "reward = { goo = 1.0 }"));
  CHECK_THAT(resp, Catch::Contains("task.toml:28:") && Catch::Contains("task.gng.cues.A.reward.goo") &&
                       Catch::Contains("go, nogo"));
  const std::string ids = error_of(replace(kTask, "[5, 6, 7, 8, 9]", "[5, 6, 7, 8, 10]"));
  CHECK_THAT(ids, Catch::Contains("task.toml:29:") && Catch::Contains("task.gng.cues.B.neurons") && Catch::Contains("[0, 10)"));
  const std::string range = error_of(replace(kTask, "{ from = 0, to = 5 }", "{ from = 5, to = 5 }"));
  CHECK_THAT(range, Catch::Contains("task.gng.cues.A.neurons.to") && Catch::Contains("expected to > from"));
  const std::string rule = error_of(replace(kTask, "rule = \"threshold\"", "rule = \"vote\""));
  CHECK_THAT(rule, Catch::Contains("task.toml:30:") && Catch::Contains("task.gng.decision.rule") && Catch::Contains("wta"));
  const std::string mod = error_of(replace(kTask, "modulator = \"DA\", signal", "modulator = \"NA\", signal"));
  CHECK_THAT(mod, Catch::Contains("task.toml:32:") && Catch::Contains("task.gng.releases[0].modulator") && Catch::Contains("\"NA\""));
  const std::string sig = error_of(replace(kTask, "signal = \"rpe\"", "signal = \"surprise\""));
  CHECK_THAT(sig, Catch::Contains("task.gng.releases[0].signal") && Catch::Contains("abs_rpe"));
  const std::string grid = error_of(replace(kTask, "delay = 10.0 }", "delay = 10.0, position = [0.0, 0.0, 0.0] }"));
  CHECK_THAT(grid, Catch::Contains("task.toml:32:") && Catch::Contains("task.gng.releases[0].position") &&
                       Catch::Contains("grid field"));
  const std::string grid_dt = error_of(replace(kTask, "iti = 200.0", "iti = 200.2"));
  CHECK_THAT(grid_dt, Catch::Contains("task.gng.iti") && Catch::Contains("dt = 0.5"));
  const std::string swap = error_of(replace(kTask, "reversal = { after = 2 }", "reversal = { after = 2, swap = [[\"A\", \"C\"]] }"));
  CHECK_THAT(swap, Catch::Contains("task.gng.reversal.swap") && Catch::Contains("A, B"));
  const std::string two = error_of(std::string(kTask) + "\n[[task]]\nname = \"second\"\n");
  CHECK_THAT(two, Catch::Contains("at most one [[task]]"));
}
