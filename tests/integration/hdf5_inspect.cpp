// `nmsim info`'s summary of a result file, and the reference file the Python layout check
// (tests/python/test_hdf5_layout.py) reads with h5py.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "nmsim/core/error.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/io/inspect.hpp"
#include "nmsim/io/recorder.hpp"
#include "nmsim/models/lif.hpp"

using namespace nmsim;
using nmsim::models::Lif;
using nmsim::models::LifParams;

namespace {

std::string temp_path(const char* stem, const char* ext = ".h5") {
  std::string name("nmsim_");
  name.append(stem).append("_").append(std::to_string(::getpid())).append(ext);
  return (std::filesystem::temp_directory_path() / name).string();
}

// 4 LIF neurons, delta synapses: inputs of 20 mV at known times give one spike each
// (t = 1, 2, 6, 7.5 ms); V of neurons 0 and 3 every 0.5 ms.
void write_reference_file(const std::string& path, bool finish) {
  Simulation sim({0.1, 42, 2});
  LifParams p;
  p.synapse = LifParams::Synapse::delta;
  auto& exc = sim.add_population<Lif>("exc", 4, p);
  sim.add_population<Lif>("inh", 2, p);
  sim.add_stimulus<SpikeTimesInput>("in", exc, "exc", std::vector<double>{1.0, 2.0, 6.0, 7.5},
                                    std::vector<NeuronIndex>{0, 3, 0, 2}, 20.0);
  // 200 pA into neuron 3: V rises towards E_L + R I = -62 mV (below threshold) between spikes.
  sim.add_stimulus<CurrentInput>("bias", exc, std::vector<double>{0.0}, std::vector<double>{200.0}, 1e300,
                                 NeuronSubset({3}, 4));
  io::Recorder rec({path, 5.0, 4}, {"[simulation]\nduration = 10.0\n", 42, 0.1, 10.0, 2});
  rec.record_spikes("exc");
  rec.record_spikes("inh");
  rec.record_state("exc", "v", {3, 0}, 0.5);
  sim.add_observer(rec);
  sim.run(10.0);
  if (finish) {
    sim.finish(true);
  } else {
    // Die right after a flush without closing anything, as a killed run would.
    rec.flush();
    std::fflush(nullptr);
    ::_exit(0);
  }
}

}  // namespace

TEST_CASE("hdf5 info: describes attributes, spikes, reports and other datasets") {
  const std::string path = temp_path("info");
  write_reference_file(path, true);
  const std::string d = io::describe_file(path);
  CAPTURE(d);
  CHECK(d.find("status: complete") != std::string::npos);
  CHECK(d.find("seed 42") != std::string::npos);
  CHECK(d.find("dt 0.1 ms") != std::string::npos);
  CHECK(d.find("duration 10 ms") != std::string::npos);
  CHECK(d.find("threads 2") != std::string::npos);
  CHECK(d.find("SONATA file, version 0.1") != std::string::npos);
  CHECK(d.find("config: 2 lines of TOML") != std::string::npos);
  // 4 spikes from 4 neurons in 10 ms: 100 Hz.
  CHECK(d.find("exc: 4 spikes, t = 1 .. 7.5 ms, mean rate 100 Hz (4 neurons, 10 ms), sorted by_time") !=
        std::string::npos);
  CHECK(d.find("inh: 0 spikes") != std::string::npos);
  CHECK(d.find("exc/v: 21 times x 2 neurons, units mV, t = 0 .. 10 ms every 0.5 ms") != std::string::npos);
  // Datasets outside spikes/report (the population sizes are attributes, not datasets here).
  CHECK(d.find("/spikes/exc/timestamps") == std::string::npos);
  std::filesystem::remove(path);
}

TEST_CASE("hdf5 info: missing, non-HDF5 and directory paths are ConfigErrors naming the file") {
  const std::string missing = temp_path("missing");
  std::filesystem::remove(missing);
  try {
    io::describe_file(missing);
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find(missing) != std::string::npos);
    CHECK(std::string(e.what()).find("no such file") != std::string::npos);
  }
  const std::string text = temp_path("text", ".txt");
  std::ofstream(text) << "not hdf5\n";
  try {
    io::describe_file(text);
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("not an HDF5 file") != std::string::npos);
  }
  std::filesystem::remove(text);
  CHECK_THROWS_AS(io::describe_file(std::filesystem::temp_directory_path().string()), ConfigError);
}

// Not run by default (hidden tag): tests/python/test_hdf5_layout.py runs it to get a file to
// check with h5py. NMSIM_HDF5_FIXTURE names the file; NMSIM_HDF5_FIXTURE_UNFINISHED=1 leaves
// it as a run that died after a flush would (status "running").
TEST_CASE("hdf5 fixture: write the reference file for the Python layout check", "[.hdf5_fixture]") {
  const char* out = std::getenv("NMSIM_HDF5_FIXTURE");
  REQUIRE(out != nullptr);
  const char* unfinished = std::getenv("NMSIM_HDF5_FIXTURE_UNFINISHED");
  const bool finish = unfinished == nullptr || std::string(unfinished) != "1";
  write_reference_file(out, finish);
}
