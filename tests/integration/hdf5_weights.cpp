// The HDF5 recorder's weight and modulator recordings, end to end: small networks of probe
// populations (spikes at scheduled steps, no dynamics) with static, stdp and stdp_eligibility
// projections and a well-mixed modulator, recorded and read back through nmsim::io's reader:
// values against Projection::synapses() and against closed forms, mapping ids, types and units,
// final snapshots, bad requests, and files that do not depend on the thread count.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "nmsim/core/error.hpp"
#include "nmsim/core/registry.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/io/inspect.hpp"
#include "nmsim/io/read.hpp"
#include "nmsim/io/recorder.hpp"
#include "nmsim/models/register.hpp"
#include "nmsim/modulators/well_mixed.hpp"
#include "probe_population.hpp"

using namespace nmsim;
using nmsim::modulators::WellMixed;
using nmsim::modulators::WellMixedParams;
using nmsim::test::ProbePopulation;

namespace {

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& stem) {
    path = (std::filesystem::temp_directory_path() /
            ("nmsim_w_" + stem + "_" + std::to_string(::getpid()) + ".h5"))
               .string();
    std::filesystem::remove(path);
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

std::string numbered(const char* stem, long n) {
  std::string s(stem);
  s.append(std::to_string(n));
  return s;
}

ConnectSpec pairs(std::vector<std::pair<NeuronIndex, NeuronIndex>> p) {
  ConnectSpec c;
  c.rule = ConnectSpec::Rule::pairs;
  c.pairs = std::move(p);
  return c;
}

ConnectSpec all_to_all() {
  ConnectSpec c;
  c.rule = ConnectSpec::Rule::all_to_all;
  return c;
}

std::shared_ptr<const PlasticityModel> plasticity(const std::string& rule, const ParamTable& t) {
  Registry reg;
  models::register_models(reg);
  return reg.make_plasticity(rule, "p", t);
}

// Row-major [rows, cols] float32 data of a file, read as doubles.
struct Table {
  std::vector<double> v;
  std::size_t rows = 0, cols = 0;
  double at(std::size_t r, std::size_t c) const { return v.at(r * cols + c); }
};

Table read_table(const std::string& file, const std::string& ds) {
  const auto info = io::dataset_info(file, ds);
  REQUIRE(info.shape.size() == 2);
  return {io::read_dataset_f64(file, ds), info.shape[0], info.shape[1]};
}

// mapping/time = [start, stop, step] (ms), up to rounding of multiples of dt.
void check_time(const std::string& file, const std::string& ds, double start, double stop, double step) {
  CAPTURE(file, ds);
  const auto t = io::read_dataset_f64(file, ds);
  REQUIRE(t.size() == 3);
  CHECK(t[0] == Approx(start).margin(1e-12));
  CHECK(t[1] == Approx(stop).margin(1e-12));
  CHECK(t[2] == Approx(step).margin(1e-12));
  CHECK(io::read_attr_string(file, ds, "units") == "ms");
}

// The weights of the synapses of `p` in the order of Projection::synapses(), after bringing
// every thread's synapses up to t_a (what the recorder does before reading).
struct WeightProbe : Observer {
  Projection* proj;
  std::vector<std::vector<double>> table;  // table[j][i]: weight of csr(0)-order synapse i at t_j
  explicit WeightProbe(Projection& p, std::size_t steps) : proj(&p), table(steps + 1) {}
  bool samples() const override { return true; }
  void sample(Step k, int tid) override {
    proj->synchronize(tid, k + 1);
    const auto& c = proj->csr(tid);
    if (c.size() == 0) return;  // one target neuron: only its owner has synapses
    table[static_cast<std::size_t>(k + 1)] = c.weight;
  }
};

}  // namespace

TEST_CASE("hdf5 weights: a static projection records its synapses' weights with the right mapping") {
  for (int threads : {1, 3}) {
    CAPTURE(threads);
    TempFile f(numbered("static", threads));
    Simulation sim({0.1, 3, threads});
    sim.add_population<ProbePopulation>("src", 3);
    sim.add_population<ProbePopulation>("tgt", 5);
    Projection& all = sim.connect({"all", "src", "tgt", "exc", all_to_all(), Distribution::uniform(1.0, 2.0),
                                   Distribution::uniform(0.5, 2.0)});
    Projection& sub = sim.connect({"sub", "src", "tgt", "inh", all_to_all(), Distribution::uniform(-3.0, -1.0),
                                   Distribution::constant(1.0)});
    // Two synapses 2 -> 4 (a multapse): selecting the pair records both.
    Projection& pr = sim.connect({"pr", "src", "tgt", "exc", pairs({{0, 1}, {2, 4}, {1, 3}, {2, 4}}),
                                  Distribution::uniform(0.0, 1.0), Distribution::constant(1.0)});
    io::Recorder rec({f.path, 2.0, 4}, {"", 3, 0.1, 5.0, threads});
    rec.record_weights("all", std::vector<std::uint64_t>{}, 1.0);
    rec.record_weights("sub", std::vector<std::uint64_t>{7, 1, 12}, 0.5, 1.0, 3.0);
    rec.record_weights("pr", io::Recorder::SynapsePairs({{2, 4}, {0, 1}}), 0.0, 4.5);
    rec.snapshot_weights("all");
    sim.add_observer(rec);
    sim.run(5.0);
    sim.finish(true);

    // all: every synapse, rows at t = 0, 1, ..., 5 (the first is the initial weights).
    const auto syn = all.synapses();
    REQUIRE(syn.size() == 15);
    const auto info = io::dataset_info(f.path, "/weights/all/data");
    CHECK(info.dtype == "float32");
    CHECK(info.units == "pA");
    CHECK(info.shape == std::vector<std::uint64_t>{6, 15});
    const Table t = read_table(f.path, "/weights/all/data");
    for (std::size_t r = 0; r < t.rows; ++r)
      for (std::size_t i = 0; i < syn.size(); ++i) CHECK(t.at(r, i) == static_cast<float>(syn[i].weight));
    CHECK(io::dataset_info(f.path, "/weights/all/mapping/source_ids").dtype == "uint64");
    const auto src = io::read_dataset_u64(f.path, "/weights/all/mapping/source_ids");
    const auto tgt = io::read_dataset_u64(f.path, "/weights/all/mapping/target_ids");
    const auto ids = io::read_dataset_u64(f.path, "/weights/all/mapping/synapse_ids");
    REQUIRE(src.size() == 15);
    for (std::size_t i = 0; i < syn.size(); ++i) {
      CHECK(src[i] == syn[i].source);
      CHECK(tgt[i] == syn[i].target);
      CHECK(ids[i] == i);
    }
    check_time(f.path, "/weights/all/mapping/time", 0.0, 6.0, 1.0);
    CHECK(io::read_attr_string(f.path, "/weights/all", "source") == "src");
    CHECK(io::read_attr_string(f.path, "/weights/all", "target") == "tgt");
    CHECK(io::read_attr_string(f.path, "/weights/all", "port") == "exc");
    CHECK(io::read_attr_string(f.path, "/weights/all", "rule") == "static");

    // sub: indices sorted, rows at 1.0, 1.5, ..., 3.0.
    const auto ssyn = sub.synapses();
    CHECK(io::read_dataset_u64(f.path, "/weights/sub/mapping/synapse_ids") == std::vector<std::uint64_t>{1, 7, 12});
    const Table ts = read_table(f.path, "/weights/sub/data");
    CHECK(ts.rows == 5);
    const std::uint64_t chosen[] = {1, 7, 12};
    for (std::size_t c = 0; c < 3; ++c) {
      CHECK(io::read_dataset_u64(f.path, "/weights/sub/mapping/source_ids")[c] == ssyn[chosen[c]].source);
      CHECK(io::read_dataset_u64(f.path, "/weights/sub/mapping/target_ids")[c] == ssyn[chosen[c]].target);
      for (std::size_t r = 0; r < ts.rows; ++r) CHECK(ts.at(r, c) == static_cast<float>(ssyn[chosen[c]].weight));
    }
    check_time(f.path, "/weights/sub/mapping/time", 1.0, 3.5, 0.5);

    // pr: pairs (0,1) and (2,4) -> synapses 0 (target 1) and 2, 3 (target 4, both), in synapses() order.
    const auto psyn = pr.synapses();
    REQUIRE(psyn.size() == 4);
    const auto pids = io::read_dataset_u64(f.path, "/weights/pr/mapping/synapse_ids");
    REQUIRE(pids == std::vector<std::uint64_t>{0, 2, 3});
    CHECK(io::read_dataset_u64(f.path, "/weights/pr/mapping/source_ids") == std::vector<std::uint64_t>{0, 2, 2});
    CHECK(io::read_dataset_u64(f.path, "/weights/pr/mapping/target_ids") == std::vector<std::uint64_t>{1, 4, 4});
    const Table tp = read_table(f.path, "/weights/pr/data");
    CHECK(tp.rows == 6);  // t = 4.5, 4.6, ..., 5.0
    CHECK(tp.at(5, 2) == static_cast<float>(psyn[3].weight));
    CHECK(tp.at(0, 1) == static_cast<float>(psyn[2].weight));
    check_time(f.path, "/weights/pr/mapping/time", 4.5, 5.1, 0.1);

    // The final snapshot of a static projection is synapses() itself.
    const auto fw = io::read_dataset_f64(f.path, "/weights/all/final/weights");
    const auto fd = io::read_dataset_f64(f.path, "/weights/all/final/delays");
    CHECK(io::dataset_info(f.path, "/weights/all/final/weights").dtype == "float64");
    CHECK(io::dataset_info(f.path, "/weights/all/final/weights").units == "pA");
    CHECK(io::dataset_info(f.path, "/weights/all/final/delays").units == "ms");
    REQUIRE(fw.size() == 15);
    for (std::size_t i = 0; i < syn.size(); ++i) {
      CHECK(fw[i] == syn[i].weight);
      CHECK(fd[i] == Approx(syn[i].delay * 0.1).margin(1e-12));
    }
    CHECK(io::read_dataset_u64(f.path, "/weights/all/final/source_ids") == src);
    CHECK(io::read_dataset_u64(f.path, "/weights/all/final/target_ids") == tgt);
    CHECK_FALSE(io::has_object(f.path, "/weights/sub/final"));

    const std::string d = io::describe_file(f.path);
    CHECK(d.find("weights:") != std::string::npos);
    CHECK(d.find("all (src -> tgt, port exc, static)") != std::string::npos);
    CHECK(d.find("6 times x 15 synapses, units pA") != std::string::npos);
    CHECK(d.find("final: 15 synapses at t = 5 ms") != std::string::npos);
  }
}

TEST_CASE("hdf5 weights: stdp weight changes appear in the trace exactly at the pairing times") {
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    TempFile f(numbered("stdp", threads));
    Simulation sim({0.1, 1, threads});
    auto& src = sim.add_population<ProbePopulation>("src", 2);
    auto& tgt = sim.add_population<ProbePopulation>("tgt", 2);
    ParamTable t("plasticity.p");
    t.set("a_plus", {0.5});
    t.set("a_minus", {0.25});
    t.set("tau_plus", {20.0});
    t.set("tau_minus", {20.0});
    t.set("w_min", {0.0});
    t.set("w_max", {10.0});
    ProjectionSpec spec{"p", "src", "tgt", "exc", pairs({{0, 1}, {1, 0}}), Distribution::constant(1.0),
                        Distribution::constant(1.0)};
    spec.plasticity = plasticity("stdp", t);
    Projection& p = sim.connect(spec);
    // Synapse 0 -> 1: post spike at step 30 (stamp 3.1 ms), pre spike at step 50 (reaches the
    // synapse at 5.1 + 1.0 = 6.1 ms: depression by a_minus e^{-3/20}), post spike at step 80
    // (8.1 ms: potentiation by a_plus e^{-2/20}). Synapse 1 -> 0 never sees a spike.
    tgt.fire(30, 1);
    src.fire(50, 0);
    tgt.fire(80, 1);
    io::Recorder rec({f.path, 3.0, 0}, {"", 1, 0.1, 12.0, threads});
    rec.record_weights("p", std::vector<std::uint64_t>{}, 0.0);
    rec.snapshot_weights("p");
    sim.add_observer(rec);
    sim.run(12.0);
    sim.finish(true);

    const auto syn = p.synapses();
    REQUIRE(syn.size() == 2);
    REQUIRE(syn[0].target == 0);  // synapses() order: by target
    REQUIRE(syn[1].target == 1);
    CHECK(io::read_attr_string(f.path, "/weights/p", "rule") == "stdp");
    const Table w = read_table(f.path, "/weights/p/data");
    REQUIRE(w.rows == 121);  // t = 0, 0.1, ..., 12.0
    const double w1 = 1.0 - 0.25 * std::exp(-3.0 / 20.0);
    const double w2 = w1 + 0.5 * std::exp(-2.0 / 20.0);
    for (std::size_t j = 0; j < w.rows; ++j) {
      CAPTURE(j);
      CHECK(w.at(j, 0) == 1.0f);
      const double expected = j < 61 ? 1.0 : j < 81 ? w1 : w2;
      CHECK(w.at(j, 1) == static_cast<float>(expected));
    }
    const auto fw = io::read_dataset_f64(f.path, "/weights/p/final/weights");
    REQUIRE(fw.size() == 2);
    CHECK(fw[0] == syn[0].weight);
    CHECK(fw[1] == syn[1].weight);
    CHECK(fw[1] == Approx(w2).epsilon(1e-12));
  }
}

namespace {

// stdp_eligibility on two synapses into one neuron, a well-mixed modulator with a baseline and
// two rewards given with release_at(): one at a window boundary (t = 10 ms), one inside a window
// (t = 15.5 ms). Constants for the closed forms below.
constexpr double kTauC = 100.0, kTauM = 50.0, kEta = 0.1, kBase = 0.5, kQ1 = 2.0, kQ2 = 1.0;

struct EligibilityNet {
  Simulation sim;
  ProbePopulation* src;
  ProbePopulation* tgt;
  WellMixed* da;
  Projection* p;
  explicit EligibilityNet(int threads, std::size_t n_tgt = 1) : sim({0.1, 5, threads}) {
    src = &sim.add_population<ProbePopulation>("src", 2);
    tgt = &sim.add_population<ProbePopulation>("tgt", n_tgt);
    WellMixedParams mp;
    mp.baseline = kBase;
    mp.tau = kTauM;
    da = &sim.add_modulator<WellMixed>("da", mp);
    ParamTable t("plasticity.p");
    t.set("a_plus", {1.0});
    t.set("a_minus", {0.0});
    t.set("tau_c", {kTauC});
    t.set("eta", {kEta});
    t.set("baseline", {kBase});
    t.set("interval", {7.0});  // rebases every 7 ms: exercised during the run
    t.set("modulator", {std::string("da")});
    ProjectionSpec spec{"p", "src", "tgt", "exc", all_to_all(), Distribution::constant(1.0),
                        Distribution::constant(1.0)};
    spec.plasticity = plasticity("stdp_eligibility", t);
    p = &sim.connect(spec);
    // Pre spikes of source 0 at step 20 (reach the synapse at 2.1 + 1.0 = 3.1 ms), post spike at
    // step 40 (4.1 ms): synapse 0 -> j gets the tag c0 = a_plus e^{-1/20} at 4.1 ms; synapse
    // 1 -> j none.
    src->fire(20, 0);
    for (std::size_t j = 0; j < n_tgt; ++j) tgt->fire(40, static_cast<NeuronIndex>(j));
    da->release_at(100, kQ1);
    da->release_at(155, kQ2);
  }
};

// Concentration at t (ms), left-continuous at the releases.
double concentration(double t) {
  double c = kBase;
  if (t > 10.0 + 1e-9) c += kQ1 * std::exp(-(t - 10.0) / kTauM);
  if (t > 15.5 + 1e-9) c += kQ2 * std::exp(-(t - 15.5) / kTauM);
  return c;
}

// Weight of the tagged synapse: 1 + eta int c0 e^{-(s - 4.1)/tau_c} (m(s) - b) ds.
double tagged_weight(double t) {
  const double c0 = std::exp(-1.0 / 20.0);
  const double r = 1.0 / kTauC + 1.0 / kTauM;
  double w = 1.0;
  const auto add = [&](double tr, double q) {
    if (t <= tr) return;
    w += kEta * c0 * std::exp(-(tr - 4.1) / kTauC) * q * (1.0 - std::exp(-(t - tr) * r)) / r;
  };
  add(10.0, kQ1);
  add(15.5, kQ2);
  return w;
}

}  // namespace

TEST_CASE("hdf5 weights: stdp_eligibility weights drift after a reward and equal the synchronized weights") {
  TempFile f("elig");
  EligibilityNet net(2);
  io::Recorder rec({f.path, 5.0, 4}, {"", 5, 0.1, 30.0, 2});
  rec.record_weights("p", std::vector<std::uint64_t>{}, 0.0);
  rec.record_modulator("da", 0.5);
  rec.snapshot_weights("p");
  WeightProbe probe(*net.p, 300);
  net.sim.add_observer(rec);
  net.sim.add_observer(probe);
  net.sim.run(30.0);
  net.sim.finish(true);

  const auto syn = net.p->synapses();
  REQUIRE(syn.size() == 2);
  REQUIRE(syn[0].source == 0);
  const Table w = read_table(f.path, "/weights/p/data");
  REQUIRE(w.rows == 301);
  for (std::size_t j = 0; j < w.rows; ++j) {
    CAPTURE(j);
    const double t = 0.1 * static_cast<double>(j);
    CHECK(w.at(j, 1) == 1.0f);  // untagged
    CHECK(w.at(j, 0) == Approx(tagged_weight(t)).epsilon(1e-6));
    if (j <= 100) CHECK(w.at(j, 0) == 1.0f);                       // no drift before the reward
    if (j > 100) CHECK(w.at(j, 0) > w.at(j - 1, 0));               // drifts continuously after it
    if (j >= 1) {
      // The same synchronize() the recorder calls, read by an independent observer.
      REQUIRE(probe.table[j].size() == 2);
      CHECK(w.at(j, 0) == static_cast<float>(probe.table[j][0]));
      CHECK(w.at(j, 1) == static_cast<float>(probe.table[j][1]));
    }
  }

  // Final snapshot: synapses() at the end (already synchronized to 30 ms by finish()).
  const auto fw = io::read_dataset_f64(f.path, "/weights/p/final/weights");
  REQUIRE(fw.size() == 2);
  CHECK(fw[0] == syn[0].weight);
  CHECK(fw[1] == syn[1].weight);
  CHECK(fw[0] == Approx(tagged_weight(30.0)).epsilon(1e-10));
  CHECK(fw[0] == probe.table[300][0]);

  // Modulator probe: one probe at the origin, the concentration at t_j (left limit at releases).
  CHECK(io::read_attr_string(f.path, "/modulators/da", "field") == "well_mixed");
  const auto pinfo = io::dataset_info(f.path, "/modulators/da/probes/data");
  CHECK(pinfo.dtype == "float32");
  CHECK(pinfo.units == "uM");
  CHECK(pinfo.shape == std::vector<std::uint64_t>{61, 1});
  CHECK(io::read_dataset_f64(f.path, "/modulators/da/probes/positions") == std::vector<double>{0, 0, 0});
  CHECK(io::dataset_info(f.path, "/modulators/da/probes/positions").shape == std::vector<std::uint64_t>{1, 3});
  CHECK(io::dataset_info(f.path, "/modulators/da/probes/positions").units == "um");
  check_time(f.path, "/modulators/da/probes/mapping/time", 0.0, 30.5, 0.5);
  const auto m = io::read_dataset_f64(f.path, "/modulators/da/probes/data");
  for (std::size_t r = 0; r < m.size(); ++r) {
    CAPTURE(r);
    CHECK(m[r] == Approx(concentration(0.5 * static_cast<double>(r))).epsilon(1e-6));
  }
  CHECK(m[20] == static_cast<float>(kBase));  // t = 10 ms: the reward lands at 10 ms, shows after
  CHECK(m[21] == Approx(kBase + kQ1 * std::exp(-0.5 / kTauM)).epsilon(1e-6));
  CHECK(m[31] == Approx(kBase + kQ1 * std::exp(-5.5 / kTauM)).epsilon(1e-6));  // 15.5 ms: before the 2nd

  const std::string d = io::describe_file(f.path);
  CHECK(d.find("modulators:\n  da (well_mixed): 61 times x 1 probe, units uM") != std::string::npos);
  CHECK(d.find("p (src -> tgt, port exc, stdp_eligibility)") != std::string::npos);
}

TEST_CASE("hdf5 weights: modulator rows and weights do not depend on how the run is split") {
  TempFile a("split_a"), b("split_b");
  for (int split : {0, 1}) {
    EligibilityNet net(1);
    io::Recorder rec({split ? b.path : a.path, 5.0, 0}, {"", 5, 0.1, 30.0, 1});
    rec.record_weights("p", std::vector<std::uint64_t>{0}, 0.3, 0.2);
    rec.record_modulator("da", 0.3, 0.2, 25.0);
    net.sim.add_observer(rec);
    if (split) {
      for (double d : {7.3, 2.7, 0.1, 5.4, 14.5}) net.sim.run(d);
    } else {
      net.sim.run(30.0);
    }
    net.sim.finish(true);
  }
  // The modulator's pieces do not depend on the windows: identical.
  for (const char* ds : {"/weights/p/mapping/time", "/modulators/da/probes/data", "/modulators/da/probes/mapping/time"}) {
    CAPTURE(ds);
    CHECK(io::read_dataset_f64(a.path, ds) == io::read_dataset_f64(b.path, ds));
  }
  // The rule rebases its integral at window starts, so its weights may differ in the last bits.
  const auto wa = io::read_dataset_f64(a.path, "/weights/p/data");
  const auto wb = io::read_dataset_f64(b.path, "/weights/p/data");
  REQUIRE(wa.size() == 100);  // t = 0.2, 0.5, ..., 29.9
  REQUIRE(wb.size() == wa.size());
  for (std::size_t r = 0; r < wa.size(); ++r) {
    CAPTURE(r);
    CHECK(wb[r] == Approx(wa[r]).epsilon(1e-6));
    CHECK(wa[r] == Approx(tagged_weight(0.2 + 0.3 * static_cast<double>(r))).epsilon(1e-6));
  }
  // Rows at 0.2, 0.5, ..., <= 25.0 for the modulator: 83 rows; a first row at 0.2 ms.
  CHECK(io::dataset_info(a.path, "/modulators/da/probes/data").shape == std::vector<std::uint64_t>{83, 1});
  CHECK(io::read_dataset_f64(a.path, "/modulators/da/probes/data")[0] == static_cast<float>(kBase));
}

TEST_CASE("hdf5 weights: the final snapshot is written when the run is interrupted") {
  TempFile f("interrupted");
  EligibilityNet net(1);
  io::Recorder rec({f.path, 100.0, 0}, {"", 5, 0.1, 30.0, 1});
  rec.snapshot_weights("p");
  net.sim.add_observer(rec);
  net.sim.run(12.0);
  net.sim.finish(false);
  CHECK(io::read_attr_string(f.path, "/", "status") == "interrupted");
  const auto syn = net.p->synapses();
  const auto fw = io::read_dataset_f64(f.path, "/weights/p/final/weights");
  REQUIRE(fw.size() == syn.size());
  for (std::size_t i = 0; i < fw.size(); ++i) CHECK(fw[i] == syn[i].weight);
  CHECK(fw[0] == Approx(tagged_weight(12.0)).epsilon(1e-10));
  CHECK(io::read_attr_f64(f.path, "/weights/p/final", "time").at(0) == Approx(12.0));
  CHECK_FALSE(io::has_object(f.path, "/weights/p/data"));
}

TEST_CASE("hdf5 weights: bad weight and modulator requests are ConfigErrors before any file exists") {
  TempFile f("bad");
  EligibilityNet net(1);
  net.sim.prepare();
  const auto expect_error = [&](auto&& request, const std::string& key_part) {
    io::Recorder rec({f.path, 10.0, 0}, {});
    request(rec);
    try {
      rec.prepare(net.sim);
      FAIL("no error");
    } catch (const ConfigError& e) {
      CAPTURE(e.what());
      CHECK(e.key().find(key_part) != std::string::npos);
    }
    CHECK_FALSE(std::filesystem::exists(f.path));
  };
  using V = std::vector<std::uint64_t>;
  expect_error([](io::Recorder& r) { r.record_weights("nope", V{}, 1.0); }, "record.nope");
  expect_error([](io::Recorder& r) { r.snapshot_weights("nope", "record.final"); }, "record.final");
  expect_error([](io::Recorder& r) { r.record_modulator("serotonin", 1.0); }, "record.serotonin");
  expect_error([](io::Recorder& r) { r.record_weights("p", V{0, 2}, 1.0); }, "record.p.which");
  expect_error([](io::Recorder& r) { r.record_weights("p", V{}, 0.25); }, "record.p.interval");
  expect_error([](io::Recorder& r) { r.record_weights("p", V{}, 1.0, 0.05); }, "record.p.start");
  expect_error([](io::Recorder& r) { r.record_modulator("da", 0.25, 0, 1, "record.m"); }, "record.m.interval");
  expect_error([](io::Recorder& r) { r.record_weights("p", io::Recorder::SynapsePairs({{0, 0}, {1, 3}}), 1.0); },
               "record.p.which");
  // Valid requests next to a bad one: still no file.
  expect_error(
      [](io::Recorder& r) {
        r.record_spikes("src");
        r.record_modulator("da", 1.0);
        r.record_weights("p", V{5}, 1.0, 0.0, 10.0, "record.w");
      },
      "record.w.which");

  io::Recorder rec({f.path, 10.0, 0}, {});
  CHECK_THROWS_AS(rec.record_weights("p", V{1, 1}, 1.0), ConfigError);
  CHECK_THROWS_AS(rec.record_weights("p", V{}, -1.0), ConfigError);
  CHECK_THROWS_AS(rec.record_weights("p", V{}, 1.0, 2.0, 1.0), ConfigError);
  CHECK_THROWS_AS(rec.record_weights("a/b", V{}, 1.0), ConfigError);
  CHECK_THROWS_AS(rec.record_weights("p", io::Recorder::SynapsePairs({}), 1.0), ConfigError);
  CHECK_THROWS_AS(rec.record_weights("p", io::Recorder::SynapsePairs({{0, 0}, {0, 0}}), 1.0), ConfigError);
  rec.record_weights("p", V{}, 1.0);
  CHECK_THROWS_AS(rec.record_weights("p", V{0}, 2.0), ConfigError);  // one recording per projection
  rec.record_modulator("da", 1.0);
  CHECK_THROWS_AS(rec.record_modulator("da", 2.0), ConfigError);
  CHECK_THROWS_AS(rec.record_modulator("da", std::numeric_limits<double>::quiet_NaN()), ConfigError);
  CHECK_FALSE(std::filesystem::exists(f.path));
}

TEST_CASE("hdf5 weights: weight and modulator datasets are identical for 1 and 3 threads") {
  TempFile f1("threads1"), f3("threads3");
  for (int threads : {1, 3}) {
    EligibilityNet net(threads, 7);
    io::Recorder rec({threads == 1 ? f1.path : f3.path, 4.0, 4}, {"", 5, 0.1, 25.0, threads});
    rec.record_weights("p", std::vector<std::uint64_t>{}, 0.5);
    rec.record_modulator("da", 0.2);
    rec.snapshot_weights("p");
    net.sim.add_observer(rec);
    net.sim.run(25.0);
    net.sim.finish(true);
  }
  CHECK(io::list_group(f1.path, "/weights/p") == io::list_group(f3.path, "/weights/p"));
  const std::vector<std::string> datasets = {
      "/weights/p/data",           "/weights/p/mapping/time",        "/weights/p/mapping/synapse_ids",
      "/weights/p/mapping/source_ids", "/weights/p/mapping/target_ids", "/weights/p/final/source_ids",
      "/weights/p/final/target_ids",   "/weights/p/final/weights",      "/weights/p/final/delays",
      "/modulators/da/probes/data",    "/modulators/da/probes/positions",
      "/modulators/da/probes/mapping/time"};
  for (const auto& ds : datasets) {
    CAPTURE(ds);
    const auto a = io::read_dataset_f64(f1.path, ds);
    CHECK_FALSE(a.empty());
    CHECK(a == io::read_dataset_f64(f3.path, ds));
    CHECK(io::dataset_info(f1.path, ds).shape == io::dataset_info(f3.path, ds).shape);
  }
  // 14 synapses (2 x 7), 51 rows; the tagged ones (source 0) drifted after the reward.
  const Table w = read_table(f3.path, "/weights/p/data");
  CHECK(w.cols == 14);
  CHECK(w.rows == 51);
  const auto src = io::read_dataset_u64(f3.path, "/weights/p/mapping/source_ids");
  for (std::size_t c = 0; c < w.cols; ++c)
    CHECK((w.at(50, c) > 1.0f) == (src[c] == 0));
}

TEST_CASE("hdf5 weights: a projection without synapses gives empty tables; interval 0 samples every step") {
  TempFile f("empty");
  Simulation sim({0.1, 1, 2});
  sim.add_population<ProbePopulation>("src", 3);
  sim.add_population<ProbePopulation>("tgt", 4);
  ConnectSpec none;
  none.rule = ConnectSpec::Rule::fixed_probability;
  none.p = 0.0;
  sim.connect({"none", "src", "tgt", "exc", none, Distribution::constant(1.0), Distribution::constant(1.0)});
  WellMixedParams mp;
  mp.baseline = 0.25;
  sim.add_modulator<WellMixed>("da", mp);
  io::Recorder rec({f.path, 1.0, 4}, {"", 1, 0.1, 3.0, 2});
  rec.record_weights("none", std::vector<std::uint64_t>{}, 1.0);
  rec.snapshot_weights("none");
  rec.record_modulator("da", 0.0, 0.0, 2.0);
  sim.add_observer(rec);
  sim.run(3.0);
  sim.finish(true);
  CHECK(io::dataset_info(f.path, "/weights/none/data").shape == std::vector<std::uint64_t>{4, 0});
  CHECK(io::dataset_info(f.path, "/weights/none/mapping/synapse_ids").shape == std::vector<std::uint64_t>{0});
  CHECK(io::dataset_info(f.path, "/weights/none/final/weights").shape == std::vector<std::uint64_t>{0});
  const auto m = io::read_dataset_f64(f.path, "/modulators/da/probes/data");
  CHECK(m == std::vector<double>(21, 0.25));  // t = 0, 0.1, ..., 2.0
  check_time(f.path, "/modulators/da/probes/mapping/time", 0.0, 2.1, 0.1);
}
