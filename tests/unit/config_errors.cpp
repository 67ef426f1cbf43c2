// Bad input gets one clear ConfigError naming file, line:column, key path, expected and found.
#include <catch2/catch.hpp>

#include "nmsim/core/simulation.hpp"
#include "nmsim/io/config.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/modulators/register.hpp"

using namespace nmsim;

namespace {

const char* kBase = R"(
[simulation]
dt = 0.1
duration = 100.0
seed = 3

[[population]]
name = "exc"
model = "lif"
size = 10
params = { tau_m = 20.0, v_th = -50.0 }

[[projection]]
name = "ee"
source = "exc"
target = "exc"
connect = { rule = "fixed_probability", p = 0.2 }
weight = 10.0
delay = 1.5
)";

// Parse (and build) `text` with `sets`; return the error message, or "" if it is accepted.
std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    const io::Config cfg = io::Config::parse(text, "net.toml", sets);
    Registry reg;
    models::register_models(reg);
    modulators::register_modulators(reg);
    std::unique_ptr<Simulation> sim;
    try {
      sim = std::make_unique<Simulation>(cfg.simulation_options());
    } catch (const ConfigError& e) {
      cfg.rethrow_with_position(e);
    }
    cfg.build(*sim, reg);
    try {
      sim->prepare();
    } catch (const ConfigError& e) {
      cfg.rethrow_with_position(e);
    }
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

}  // namespace

TEST_CASE("config: the base config is valid and builds the network") {
  REQUIRE(error_of(kBase) == "");
  const io::Config cfg = io::Config::parse(kBase, "net.toml");
  CHECK(cfg.simulation_options().seed == 3);
  CHECK(cfg.duration() == 100.0);
}

TEST_CASE("config: unknown key names the file position and the allowed keys") {
  const std::string e = error_of(replace(kBase, "tau_m = 20.0", "tau_mm = 20.0"));
  CHECK_THAT(e, Catch::Contains("net.toml:11:") && Catch::Contains("population.exc.params.tau_mm") &&
                    Catch::Contains("unknown key") && Catch::Contains("tau_m"));
  const std::string top = error_of(std::string(kBase) + "\n[simulaton]\nx = 1\n");
  CHECK_THAT(top, Catch::Contains("simulaton") && Catch::Contains("unknown top-level key"));
}

TEST_CASE("config: wrong type says expected and found") {
  const std::string e = error_of(replace(kBase, "size = 10", "size = \"ten\""));
  CHECK_THAT(e, Catch::Contains("net.toml:10:") && Catch::Contains("population.exc.size") &&
                    Catch::Contains("expected a number") && Catch::Contains("found string \"ten\""));
}

TEST_CASE("config: missing required key") {
  const std::string e = error_of(replace(kBase, "model = \"lif\"\n", ""));
  CHECK_THAT(e, Catch::Contains("net.toml:") && Catch::Contains("population.exc.model") &&
                    Catch::Contains("required key is missing"));
  const std::string no_sim = error_of(replace(kBase, "[simulation]\ndt = 0.1\nduration = 100.0\nseed = 3\n", ""));
  CHECK_THAT(no_sim, Catch::Contains("[simulation]"));
}

TEST_CASE("config: unknown model and unknown population name") {
  const std::string m = error_of(replace(kBase, "model = \"lif\"", "model = \"lfi\""));
  CHECK_THAT(m, Catch::Contains("net.toml:9:") && Catch::Contains("population.exc.model") &&
                    Catch::Contains("\"lfi\"") && Catch::Contains("lif"));
  const std::string p = error_of(replace(kBase, "source = \"exc\"", "source = \"ecx\""));
  CHECK_THAT(p, Catch::Contains("net.toml:15:") && Catch::Contains("projection.ee.source") &&
                    Catch::Contains("\"ecx\"") && Catch::Contains("exc"));
}

TEST_CASE("config: out-of-range values") {
  const std::string tau = error_of(replace(kBase, "tau_m = 20.0", "tau_m = -20.0"));
  CHECK_THAT(tau, Catch::Contains("net.toml:11:") && Catch::Contains("population.exc.params.tau_m") &&
                      Catch::Contains("> 0") && Catch::Contains("-20"));
  const std::string delay = error_of(replace(kBase, "delay = 1.5", "delay = 0.05"));
  CHECK_THAT(delay, Catch::Contains("net.toml:19:") && Catch::Contains("projection.ee.delay") &&
                        Catch::Contains("dt") && Catch::Contains("0.05"));
  const std::string off_grid = error_of(replace(kBase, "delay = 1.5", "delay = 1.55"));
  CHECK_THAT(off_grid, Catch::Contains("projection.ee.delay") && Catch::Contains("multiple of dt"));
  const std::string p = error_of(replace(kBase, "p = 0.2", "p = 1.2"));
  CHECK_THAT(p, Catch::Contains("net.toml:17:") && Catch::Contains("projection.ee.connect.p") &&
                    Catch::Contains("[0, 1]") && Catch::Contains("1.2"));
}

TEST_CASE("config: whole numbers too large for their integer type are rejected before conversion") {
  // Found by the CLI fuzzer: --threads 4294967296 overflowed the conversion to int (UBSan).
  const std::string threads = error_of(kBase, {"simulation.threads=4294967296"});
  CHECK_THAT(threads, Catch::Contains("simulation.threads") && Catch::Contains("at most 1024 threads") &&
                          Catch::Contains("4294967296"));
  const std::string size = error_of(replace(kBase, "size = 10", "size = 1e300"));
  CHECK_THAT(size, Catch::Contains("net.toml:10:") && Catch::Contains("population.exc.size") &&
                       Catch::Contains("whole number"));
  const std::string level = error_of(kBase, {"output.compression=1e19"});
  CHECK_THAT(level, Catch::Contains("output.compression") && Catch::Contains("1e+19"));
  CHECK(error_of(kBase, {"simulation.threads=1024"}).empty());
}

TEST_CASE("config: a --set key part that is not a bare TOML key is rejected") {
  // Found by the CLI fuzzer: a newline inside a key made the resolved config (stored in /config)
  // invalid TOML.
  const std::string e = error_of(kBase, {"population.exc.params.ta\nu_m=15"});
  CHECK_THAT(e, Catch::Contains("--set") && Catch::Contains("letters, digits"));
  CHECK(error_of(kBase, {"population.exc.params.tau_m=15"}).empty());
}

TEST_CASE("config: dt must divide the duration") {
  const std::string e = error_of(replace(kBase, "duration = 100.0", "duration = 100.05"));
  CHECK_THAT(e, Catch::Contains("net.toml:4:") && Catch::Contains("simulation.duration") &&
                    Catch::Contains("multiple of dt"));
}

TEST_CASE("config: TOML syntax errors carry line and column") {
  const std::string e = error_of(replace(kBase, "size = 10", "size = = 10"));
  CHECK_THAT(e, Catch::Contains("net.toml:10:") && Catch::Contains("TOML syntax error"));
}

TEST_CASE("config: --set overrides any key, arrays of tables by name") {
  const io::Config cfg = io::Config::parse(kBase, "net.toml",
                                           {"simulation.seed=7", "population.exc.params.tau_m=15",
                                            "output.file=out/run.h5", "projection.ee.weight={ uniform = [1, 2] }"});
  CHECK(cfg.simulation_options().seed == 7);
  CHECK(cfg.output().file == "out/run.h5");
  CHECK_THAT(cfg.resolved_text(), Catch::Contains("tau_m = 15") && Catch::Contains("uniform"));
  // The resolved text is itself a valid config that gives the same result.
  const io::Config again = io::Config::parse(cfg.resolved_text(), "resolved.toml");
  CHECK(again.resolved_text() == cfg.resolved_text());
}

TEST_CASE("config: malformed --set is bad input with a clear message") {
  CHECK_THAT(error_of(kBase, {"simulation.seed"}), Catch::Contains("--set") && Catch::Contains("KEY=VALUE"));
  CHECK_THAT(error_of(kBase, {"=3"}), Catch::Contains("KEY=VALUE"));
  CHECK_THAT(error_of(kBase, {"population..size=3"}), Catch::Contains("empty"));
  CHECK_THAT(error_of(kBase, {"population.inh.size=3"}), Catch::Contains("no [[population]] named \"inh\""));
  CHECK_THAT(error_of(kBase, {"simulation.dt.x=3"}), Catch::Contains("not a table"));
  // A well-formed --set with a bad value is reported at the --set, with the key.
  const std::string e = error_of(kBase, {"population.exc.params.tau_m=-1"});
  CHECK_THAT(e, Catch::Contains("--set population.exc.params.tau_m=-1") &&
                    Catch::Contains("population.exc.params.tau_m") && Catch::Contains("> 0"));
}

TEST_CASE("config: distributions are checked against the parameter's range") {
  const std::string e = error_of(replace(kBase, "delay = 1.5", "delay = { normal = [1.5, 0.5] }"));
  CHECK_THAT(e, Catch::Contains("projection.ee.delay") && Catch::Contains("min"));
  CHECK(error_of(replace(kBase, "delay = 1.5", "delay = { normal = [1.5, 0.5], min = 0.1 }")) == "");
  const std::string bad = error_of(replace(kBase, "weight = 10.0", "weight = { uniform = [1] }"));
  CHECK_THAT(bad, Catch::Contains("projection.ee.weight.uniform") && Catch::Contains("two numbers"));
}

TEST_CASE("config: plasticity, modulators and rewards build; their errors are positioned") {
  const std::string plastic = std::string(kBase) + R"(
[[modulator]]
name = "DA"
field = { type = "well_mixed" }
baseline = 0.01
uptake = { kind = "linear", tau = 200.0 }
release = [ { source = "exc", quantum = 0.1, delay = 1.0 } ]

[[plasticity]]
name = "three"
rule = "stdp_eligibility"
modulator = "DA"
baseline = 0.01
tau_c = 1000.0

[[stimulus]]
name = "reward"
kind = "reward"
target = "DA"
times = [10.0, 50.0]
amount = 0.5
)";
  REQUIRE(error_of(replace(plastic, "delay = 1.5\n", "delay = 1.5\nplasticity = \"three\"\n")) == "");
  CHECK_THAT(error_of(replace(plastic, "delay = 1.5\n", "delay = 1.5\nplasticity = \"thre\"\n")),
             Catch::Contains("projection.ee.plasticity") && Catch::Contains("\"thre\"") && Catch::Contains("three"));
  CHECK_THAT(error_of(replace(plastic, "rule = \"stdp_eligibility\"", "rule = \"stpd\"")),
             Catch::Contains("plasticity.three.rule") && Catch::Contains("stdp_triplet"));
  CHECK_THAT(error_of(replace(plastic, "tau_c = 1000.0", "tau_c = -1.0")),
             Catch::Contains("net.toml:") && Catch::Contains("plasticity.three.tau_c") && Catch::Contains("> 0"));
  CHECK_THAT(error_of(replace(plastic, "type = \"well_mixed\"", "type = \"wellmixed\"")),
             Catch::Contains("modulator.DA.field.type") && Catch::Contains("well_mixed"));
  CHECK_THAT(error_of(replace(plastic, "source = \"exc\", quantum", "source = \"dopa\", quantum")),
             Catch::Contains("modulator.DA.release[0].source") && Catch::Contains("dopa"));
  CHECK_THAT(error_of(replace(plastic, "target = \"DA\"", "target = \"NA\"")),
             Catch::Contains("stimulus.reward.target") && Catch::Contains("modulator"));
  CHECK_THAT(error_of(replace(plastic, "tau = 200.0", "tau = 200.0, vmax = 1.0")),
             Catch::Contains("modulator.DA.uptake.vmax") && Catch::Contains("unknown key"));
  // Gating: many-to-one terms onto a population and a projection; errors name the key.
  const std::string gated = replace(plastic, "delay = 1.5\n", "delay = 1.5\nplasticity = \"three\"\n") + R"(
[[modulation]]
name = "arousal"
target = "population.exc.gain"
combine = "product"
terms = [ { modulator = "DA", receptor = "D1" }, { modulator = "DA", ec50 = 0.2, n = 2.0, emax = 0.5, sign = -1 } ]

[[modulation]]
name = "lr"
target = "projection.ee.learning_rate"
terms = [ { modulator = "DA", receptor = "D2", emax = 3.0 } ]
)";
  REQUIRE(error_of(gated) == "");
  CHECK_THAT(error_of(replace(gated, "receptor = \"D2\"", "receptor = \"D3\"")),
             Catch::Contains("modulation.lr.terms[0].receptor") && Catch::Contains("D1") && Catch::Contains("\"D3\""));
  CHECK_THAT(error_of(replace(gated, "population.exc.gain", "population.exc.colour")),
             Catch::Contains("net.toml:") && Catch::Contains("modulation.arousal.target") && Catch::Contains("gain, v_th, i_bias or adaptation"));
  CHECK_THAT(error_of(replace(gated, "projection.ee.learning_rate", "projection.ee.tau")),
             Catch::Contains("modulation.lr.target") && Catch::Contains("no modulable aspect"));
  CHECK_THAT(error_of(replace(gated, "sign = -1", "sign = -2")), Catch::Contains("sign") && Catch::Contains("+1 or -1"));
}
