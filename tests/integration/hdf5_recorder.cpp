// The HDF5 recorder end to end: small LIF networks with known spike times and state, recorded,
// then read back through nmsim::io's reader API: layout, types, attributes and values, the
// flush interval, and a run that dies mid-way (a forked child calling _exit) leaving a readable
// file with everything up to its last flush.
#include <sys/wait.h>
#include <csignal>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "nmsim/core/error.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/io/read.hpp"
#include "nmsim/io/recorder.hpp"
#include "nmsim/io/version.hpp"
#include "nmsim/models/lif.hpp"

using namespace nmsim;
using nmsim::models::Lif;
using nmsim::models::LifParams;

namespace {

// A file name unique to this process and test, removed at scope exit.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& stem) {
    path = (std::filesystem::temp_directory_path() /
            ("nmsim_" + stem + "_" + std::to_string(::getpid()) + ".h5"))
               .string();
    std::filesystem::remove(path);
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

// Independent record of the state: table[j][i] = V_i(t_j), written per thread for owned neurons
// only (the engine's rule), so it is exact for any thread count.
struct StateProbe : Observer {
  const Simulation* sim;
  Lif* lif;
  std::vector<std::vector<double>> table;
  StateProbe(const Simulation& s, Lif& l, std::size_t steps) : sim(&s), lif(&l), table(steps + 1) {
    for (auto& row : table) row.assign(l.size(), std::numeric_limits<double>::quiet_NaN());
  }
  void prepare(const Simulation&) override {
    for (std::size_t i = 0; i < lif->size(); ++i) table[0][i] = lif->v()[i];
  }
  bool samples() const override { return true; }
  void sample(Step k, int tid) override {
    const Range r = sim->owned(lif->index(), tid);
    for (std::size_t i = r.begin; i < r.end; ++i) table[static_cast<std::size_t>(k + 1)][i] = lif->v()[i];
  }
};

struct SpikeProbe : Observer {
  std::vector<Spike> spikes;
  void on_spikes(const std::vector<Spike>& s) override { spikes.insert(spikes.end(), s.begin(), s.end()); }
};

// Neurons driven by delta-synapse inputs of 20 mV (threshold is 15 mV above rest): each input
// makes exactly one spike at the input time.
struct SpikeNet {
  Simulation sim;
  Lif* lif;
  explicit SpikeNet(int threads) : sim({0.1, 7, threads}) {
    LifParams p;
    p.synapse = LifParams::Synapse::delta;
    lif = &sim.add_population<Lif>("exc", 5, p);
    sim.add_population<Lif>("quiet", 3, p);
    sim.add_stimulus<SpikeTimesInput>("in", *lif, "exc", std::vector<double>{1.0, 2.0, 6.0, 7.5, 7.5, 23.0},
                                      std::vector<NeuronIndex>{0, 4, 0, 3, 1, 2}, 20.0);
  }
};

// (time, node) pairs the SpikeNet must produce, sorted by time then id.
const std::vector<std::pair<double, std::uint64_t>> kExpectedSpikes = {
    {1.0, 0}, {2.0, 4}, {6.0, 0}, {7.5, 1}, {7.5, 3}, {23.0, 2}};

// "stem<n>" (appended, not "stem" + to_string: GCC 12 warns falsely on that at -O2).
std::string numbered(const char* stem, long n) {
  std::string s(stem);
  s.append(std::to_string(n));
  return s;
}

double grid(double t, double dt) { return static_cast<double>(std::llround(t / dt)) * dt; }

}  // namespace

TEST_CASE("hdf5: spikes are written in the SONATA layout with the analytic spike times") {
  TempFile f("spikes");
  SpikeNet net(2);
  io::Recorder rec({f.path, 10.0, 4}, {"[simulation]\ndt = 0.1\n", 7, 0.1, 30.0, 2});
  rec.record_spikes("exc");
  SpikeProbe probe;
  net.sim.add_observer(rec);
  net.sim.add_observer(probe);
  net.sim.run(30.0);
  net.sim.finish(true);
  REQUIRE_FALSE(rec.is_open());

  // Root attributes.
  CHECK(io::read_attr_string(f.path, "/", "status") == "complete");
  CHECK(io::read_attr_string(f.path, "/", "nmsim_version") == io::version());
  const std::string created = io::read_attr_string(f.path, "/", "created");
  CHECK(created.size() == 20);
  CHECK(created[10] == 'T');
  CHECK(created.back() == 'Z');
  CHECK(io::read_attr_f64(f.path, "/", "seed") == std::vector<double>{7});
  CHECK(io::read_attr_f64(f.path, "/", "dt") == std::vector<double>{0.1});
  CHECK(io::read_attr_f64(f.path, "/", "duration") == std::vector<double>{30.0});
  CHECK(io::read_attr_f64(f.path, "/", "threads") == std::vector<double>{2});
  CHECK(io::read_attr_f64(f.path, "/", "simulated_time") == std::vector<double>{grid(30.0, 0.1)});
  CHECK(io::attr_type(f.path, "/", "magic") == "uint32");
  CHECK(io::read_attr_f64(f.path, "/", "magic") == std::vector<double>{0x0A7A});
  CHECK(io::attr_type(f.path, "/", "version") == "uint32");
  CHECK(io::read_attr_f64(f.path, "/", "version") == std::vector<double>{0, 1});
  CHECK(io::attr_type(f.path, "/", "status") == "string");
  CHECK(io::read_dataset_string(f.path, "/config") == "[simulation]\ndt = 0.1\n");
  CHECK(io::read_attr_f64(f.path, "/populations/exc", "size") == std::vector<double>{5});
  CHECK(io::read_attr_string(f.path, "/populations/quiet", "model") == "lif");

  // Only the requested population is recorded.
  CHECK(io::list_group(f.path, "/spikes") == std::vector<std::string>{"exc"});
  CHECK(io::attr_type(f.path, "/spikes/exc", "sorting") == "enum(none=0,by_id=1,by_time=2)");
  CHECK(io::read_attr_f64(f.path, "/spikes/exc", "sorting") == std::vector<double>{2});

  const auto ts_info = io::dataset_info(f.path, "/spikes/exc/timestamps");
  CHECK(ts_info.dtype == "float64");
  CHECK(ts_info.units == "ms");
  CHECK(ts_info.chunk.size() == 1);
  CHECK(ts_info.max_shape == std::vector<std::uint64_t>{std::numeric_limits<std::uint64_t>::max()});
  CHECK(ts_info.deflate == 4);
  CHECK(ts_info.shuffle);
  CHECK(io::dataset_info(f.path, "/spikes/exc/node_ids").dtype == "uint64");

  const auto ts = io::read_dataset_f64(f.path, "/spikes/exc/timestamps");
  const auto ids = io::read_dataset_u64(f.path, "/spikes/exc/node_ids");
  REQUIRE(ts.size() == kExpectedSpikes.size());
  REQUIRE(ids.size() == kExpectedSpikes.size());
  for (std::size_t i = 0; i < ts.size(); ++i) {
    CAPTURE(i);
    CHECK(ts[i] == Approx(kExpectedSpikes[i].first).margin(1e-12));
    CHECK(ts[i] == grid(kExpectedSpikes[i].first, 0.1));  // bit-exact: (step + 1) * dt
    CHECK(ids[i] == kExpectedSpikes[i].second);
  }
  // And identical to what the engine reported to observers.
  std::size_t j = 0;
  for (const Spike& s : probe.spikes) {
    if (s.population != net.lif->index()) continue;
    REQUIRE(j < ts.size());
    CHECK(ts[j] == static_cast<double>(s.step + 1) * 0.1);
    CHECK(ids[j] == s.neuron);
    ++j;
  }
  CHECK(j == ts.size());
}

TEST_CASE("hdf5: a state report holds the model's own V at the sample times, for 1 and 3 threads") {
  for (int threads : {1, 3}) {
    CAPTURE(threads);
    TempFile f(numbered("state", threads));
    const double dt = 0.1;
    Simulation sim({dt, 1, threads});
    LifParams p;  // exp synapses: V, i_syn_ex, i_syn_in
    auto& lif = sim.add_population<Lif>("n", 7, p);
    // Different constant currents per neuron: V traces differ, some neurons fire (reset).
    for (NeuronIndex i = 0; i < 7; ++i)
      sim.add_stimulus<CurrentInput>(numbered("i", i), lif, std::vector<double>{0.0},
                                     std::vector<double>{150.0 * i}, 1e300, NeuronSubset({i}, 7));
    sim.add_stimulus<SpikeTimesInput>("syn", lif, "exc", std::vector<double>{3.0}, std::vector<NeuronIndex>{}, 500.0);
    const Step steps = 400;  // 40 ms in two runs
    StateProbe probe(sim, lif, static_cast<std::size_t>(steps));
    io::Recorder rec({f.path, 7.0, 0}, {"", 1, dt, 40.0, threads});
    rec.record_state("n", "v", {6, 1, 3}, 0.5);                  // t = 0, 0.5, ..., 40
    rec.record_state("n", "i_syn_ex", {}, 0.3, 2.0, 5.0);        // t = 2.0, 2.3, ..., 5.0
    sim.add_observer(probe);
    sim.add_observer(rec);
    sim.run(25.0);
    sim.run(15.0);
    sim.finish(true);

    const std::string v = "/report/n/v";
    const auto info = io::dataset_info(f.path, v + "/data");
    CHECK(info.dtype == "float32");
    CHECK(info.units == "mV");
    CHECK(info.deflate == 0);
    REQUIRE(info.shape == std::vector<std::uint64_t>{81, 3});
    CHECK(io::read_dataset_u64(f.path, v + "/mapping/node_ids") == std::vector<std::uint64_t>{1, 3, 6});
    CHECK(io::dataset_info(f.path, v + "/mapping/node_ids").dtype == "uint64");
    CHECK(io::read_dataset_u64(f.path, v + "/mapping/element_ids") == std::vector<std::uint64_t>{0, 0, 0});
    CHECK(io::dataset_info(f.path, v + "/mapping/element_ids").dtype == "uint32");
    CHECK(io::read_dataset_u64(f.path, v + "/mapping/index_pointers") == std::vector<std::uint64_t>{0, 1, 2, 3});
    CHECK(io::dataset_info(f.path, v + "/mapping/index_pointers").dtype == "uint64");
    const auto time_info = io::dataset_info(f.path, v + "/mapping/time");
    CHECK(time_info.dtype == "float64");
    CHECK(time_info.units == "ms");
    const auto t = io::read_dataset_f64(f.path, v + "/mapping/time");
    REQUIRE(t.size() == 3);
    CHECK(t[0] == 0.0);
    CHECK(t[1] == Approx(40.5).margin(1e-9));
    CHECK(t[2] == Approx(0.5).margin(1e-12));

    const auto data = io::read_dataset_f64(f.path, v + "/data");
    const std::size_t ids[] = {1, 3, 6};
    bool fired = false;
    for (std::size_t r = 0; r < 81; ++r)
      for (std::size_t c = 0; c < 3; ++c) {
        const double expected = probe.table[r * 5][ids[c]];  // row r: t = 0.5 r ms = step 5 r
        CAPTURE(r, c);
        REQUIRE(data[r * 3 + c] == static_cast<double>(static_cast<float>(expected)));
        if (r > 0 && data[r * 3 + c] < data[(r - 1) * 3 + c] - 5) fired = true;
      }
    CHECK(fired);  // a reset happened: the traces are not trivial

    // A window with start and stop, both included: rows at 2.0, 2.3, ..., 5.0.
    const std::string ie = "/report/n/i_syn_ex";
    const auto ie_info = io::dataset_info(f.path, ie + "/data");
    REQUIRE(ie_info.shape == std::vector<std::uint64_t>{11, 7});
    CHECK(ie_info.units == "pA");
    const auto te = io::read_dataset_f64(f.path, ie + "/mapping/time");
    CHECK(te[0] == Approx(2.0).margin(1e-12));
    CHECK(te[1] == Approx(5.3).margin(1e-9));
    CHECK(te[2] == Approx(0.3).margin(1e-12));
    // The synaptic input of 500 pA arrives at every neuron at t = 3.0: zero before, then decaying
    // with tau_syn_ex (rows are t = 2.0, 2.3, 2.6, 2.9, 3.2, ...).
    const auto ie_data = io::read_dataset_f64(f.path, ie + "/data");
    for (std::size_t i = 0; i < 7; ++i) {
      CAPTURE(i);
      CHECK(ie_data[0 * 7 + i] == 0.0);
      CHECK(ie_data[3 * 7 + i] == 0.0);
      CHECK(ie_data[4 * 7 + i] == Approx(500.0 * std::exp(-0.2 / p.tau_syn_ex)).epsilon(1e-6));
      CHECK(ie_data[10 * 7 + i] == Approx(500.0 * std::exp(-2.0 / p.tau_syn_ex)).epsilon(1e-6));
    }
  }
}

TEST_CASE("hdf5: bad recording requests are ConfigErrors with the record key, and leave no file") {
  TempFile f("bad");
  SpikeNet net(1);
  const auto expect_error = [&](auto&& request, const std::string& key_part) {
    io::Recorder rec({f.path, 10.0, 0}, {});
    request(rec);
    Simulation* sim = &net.sim;
    try {
      rec.prepare(*sim);
      FAIL("no error");
    } catch (const ConfigError& e) {
      CAPTURE(e.what());
      CHECK(e.key().find(key_part) != std::string::npos);
    }
    CHECK_FALSE(std::filesystem::exists(f.path));
  };
  net.sim.prepare();
  expect_error([](io::Recorder& r) { r.record_spikes("nope"); }, "record.nope");
  expect_error([](io::Recorder& r) { r.record_state("exc", "w", {}, 1.0); }, "record.exc.w");
  expect_error([](io::Recorder& r) { r.record_state("exc", "v", {0, 5}, 1.0); }, "record.exc.v.neurons");
  expect_error([](io::Recorder& r) { r.record_state("exc", "v", {}, 0.25); }, "record.exc.v.interval");
  expect_error([](io::Recorder& r) { r.record_state("exc", "v", {}, 1.0, 0.05); }, "record.exc.v.start");
  expect_error([](io::Recorder& r) { r.record_spikes("nope", "record.my_spikes"); }, "record.my_spikes");

  io::Recorder rec({f.path, 10.0, 0}, {});
  CHECK_THROWS_AS(rec.record_state("exc", "v", {1, 1}, 1.0), ConfigError);
  CHECK_THROWS_AS(rec.record_state("exc", "v", {}, -1.0), ConfigError);
  rec.record_state("exc", "v", {}, 1.0);
  CHECK_THROWS_AS(rec.record_state("exc", "v", {2}, 1.0), ConfigError);
  CHECK_THROWS_AS(io::Recorder({f.path, 0.0, 0}, {}), ConfigError);
  CHECK_THROWS_AS(io::Recorder({f.path, 10.0, 12}, {}), ConfigError);
  CHECK_THROWS_AS(io::Recorder({"", 10.0, 1}, {}), ConfigError);
}

TEST_CASE("hdf5: an unwritable output path is a RuntimeError naming the file") {
  SpikeNet net(1);
  io::Recorder rec({"/nonexistent_dir_nmsim/out.h5", 10.0, 0}, {});
  rec.record_spikes("exc");
  net.sim.add_observer(rec);
  try {
    net.sim.prepare();
    FAIL("no error");
  } catch (const RuntimeError& e) {
    CHECK(std::string(e.what()).find("/nonexistent_dir_nmsim/out.h5") != std::string::npos);
    CHECK(std::string(e.what()).find("does not exist") != std::string::npos);
  }
}

TEST_CASE("hdf5: status is interrupted after an incomplete run, failed when the driver says so") {
  TempFile f("status");
  {
    SpikeNet net(1);
    io::Recorder rec({f.path, 10.0, 1}, {});
    rec.record_spikes("exc");
    net.sim.add_observer(rec);
    net.sim.run(5.0);
    CHECK(io::read_attr_string(f.path, "/", "status") == "running");  // reading a file being written
    net.sim.finish(false);
    CHECK(io::read_attr_string(f.path, "/", "status") == "interrupted");
    CHECK(io::read_dataset_f64(f.path, "/spikes/exc/timestamps").size() == 2);  // 1.0 and 2.0
    rec.set_status("failed");  // after finish: the file is reopened
    CHECK(io::read_attr_string(f.path, "/", "status") == "failed");
    CHECK_THROWS_AS(rec.set_status("done"), std::invalid_argument);
  }
  {
    SpikeNet net(1);
    io::Recorder rec({f.path, 10.0, 1}, {});
    rec.record_spikes("exc");
    net.sim.add_observer(rec);
    net.sim.run(5.0);
    rec.set_status("failed");  // before finish: kept by finish
    net.sim.finish(false);
    CHECK(io::read_attr_string(f.path, "/", "status") == "failed");
  }
}

namespace {
// Runs `body` in a forked child that then dies with _exit (no destructors, no HDF5 close), as a
// crash or kill -9 would. Returns the child's exit code.
template <class F>
int in_dying_child(F&& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    int code = 0;
    try {
      code = body();
    } catch (...) {
      code = 99;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
}  // namespace

namespace {
// Checks the file the crash test's child leaves: flushed at 0, 10 and 20 ms.
void check_flushed_at_20ms(const std::string& path) {
  CHECK(io::read_attr_string(path, "/", "status") == "running");
  CHECK(io::read_attr_f64(path, "/", "simulated_time") == std::vector<double>{grid(20.0, 0.1)});
  CHECK(io::read_dataset_string(path, "/config") == "x = 1\n");
  // Spikes up to 20 ms: all but the one at 23 ms.
  const auto ts = io::read_dataset_f64(path, "/spikes/exc/timestamps");
  const auto ids = io::read_dataset_u64(path, "/spikes/exc/node_ids");
  REQUIRE(ts.size() == 5);
  REQUIRE(ids.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(ts[i] == grid(kExpectedSpikes[i].first, 0.1));
    CHECK(ids[i] == kExpectedSpikes[i].second);
  }
  // State rows t = 0, 1, ..., 20 ms.
  CHECK(io::dataset_info(path, "/report/exc/v/data").shape == std::vector<std::uint64_t>{21, 2});
  const auto t = io::read_dataset_f64(path, "/report/exc/v/mapping/time");
  CHECK(t[1] == Approx(21.0).margin(1e-9));
  const auto v = io::read_dataset_f64(path, "/report/exc/v/data");
  CHECK(v[0] == -70.0);
  CHECK(v[1 * 2 + 0] == Approx(-70.0).margin(1e-4));  // neuron 0 at t = 1 ms: just reset
}
}  // namespace

TEST_CASE("hdf5: a run that dies leaves a readable file holding everything up to the last flush") {
  TempFile f("crash");
  // flush_interval 10 ms, run 25 ms, then die: flushes at 0 (prepare), 10 and 20 ms.
  const int code = in_dying_child([&] {
    SpikeNet net(1);
    auto* rec = new io::Recorder({f.path, 10.0, 4}, {"x = 1\n", 7, 0.1, 100.0, 1});  // never deleted
    rec->record_spikes("exc");
    rec->record_state("exc", "v", {0, 2}, 1.0);
    net.sim.add_observer(*rec);
    net.sim.run(25.0);
    return 0;
  });
  REQUIRE(code == 0);
  REQUIRE(std::filesystem::exists(f.path));
  check_flushed_at_20ms(f.path);
}

TEST_CASE("hdf5: a file can be read while its writer runs, and after the writer is killed (SIGKILL)") {
  TempFile f("killed");
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    SpikeNet net(1);
    auto* rec = new io::Recorder({f.path, 10.0, 4}, {"x = 1\n", 7, 0.1, 100.0, 1});
    rec->record_spikes("exc");
    rec->record_state("exc", "v", {0, 2}, 1.0);
    net.sim.add_observer(*rec);
    net.sim.run(25.0);
    const char c = 'r';
    if (::write(ready[1], &c, 1) != 1) ::_exit(2);
    for (;;) ::pause();  // the writer keeps the file open (and locked) until killed
  }
  ::close(ready[1]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  check_flushed_at_20ms(f.path);  // the writer is alive and holds the file
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
  check_flushed_at_20ms(f.path);
}

TEST_CASE("hdf5: nothing after the first flush reaches the file before flush_interval has passed") {
  TempFile f("noflush");
  const int code = in_dying_child([&] {
    SpikeNet net(1);
    auto* rec = new io::Recorder({f.path, 1000.0, 0}, {});
    rec->record_spikes("exc");
    rec->record_state("exc", "v", {}, 0.1);
    net.sim.add_observer(*rec);
    net.sim.run(25.0);
    return 0;
  });
  REQUIRE(code == 0);
  // The layout exists from the start (flushed at prepare) with the initial state only.
  CHECK(io::read_attr_string(f.path, "/", "status") == "running");
  CHECK(io::read_dataset_f64(f.path, "/spikes/exc/timestamps").empty());
  CHECK(io::dataset_info(f.path, "/report/exc/v/data").shape == std::vector<std::uint64_t>{1, 5});
  CHECK(io::read_attr_f64(f.path, "/", "simulated_time") == std::vector<double>{0.0});
}

TEST_CASE("hdf5: recording many steps with a short flush interval and compression stays consistent") {
  TempFile f("long");
  const double dt = 0.1;
  Simulation sim({dt, 3, 2});
  LifParams p;
  auto& lif = sim.add_population<Lif>("n", 50, p);
  sim.add_stimulus<PoissonInput>("bg", lif, "exc", 2000.0, 200.0);
  SpikeProbe probe;
  io::Recorder rec({f.path, 0.1, 6}, {});  // a flush after every window
  rec.record_spikes("n");
  rec.record_state("n", "v", {}, 0.0);  // every step
  sim.add_observer(rec);
  sim.add_observer(probe);
  sim.run(100.0);
  sim.finish(true);
  const auto ts = io::read_dataset_f64(f.path, "/spikes/n/timestamps");
  const auto ids = io::read_dataset_u64(f.path, "/spikes/n/node_ids");
  REQUIRE(ts.size() == probe.spikes.size());
  REQUIRE(ts.size() > 25);
  for (std::size_t i = 0; i < ts.size(); ++i) {
    REQUIRE(ts[i] == static_cast<double>(probe.spikes[i].step + 1) * dt);
    REQUIRE(ids[i] == probe.spikes[i].neuron);
    if (i > 0) REQUIRE((ts[i] > ts[i - 1] || (ts[i] == ts[i - 1] && ids[i] > ids[i - 1])));
  }
  const auto info = io::dataset_info(f.path, "/report/n/v/data");
  CHECK(info.shape == std::vector<std::uint64_t>{1001, 50});
  CHECK(info.deflate == 6);
  const auto v = io::read_dataset_f64(f.path, "/report/n/v/data");
  for (std::size_t i = 0; i < 50; ++i) CHECK(v[1000 * 50 + i] == static_cast<double>(static_cast<float>(lif.v()[i])));
}
