// A program written against the nmsim library: an E/I network of current-based LIF neurons whose
// external drive is adjusted in closed loop, 100 ms at a time, to hold the excitatory rate near
// a target. Shows: building a network in C++, chunked run(), reading spike counts and changing a
// stimulus between chunks, and writing the result to HDF5 with the same recorder as the CLI.
//
//   build/bin/example_cpp_api [out.h5] [target_rate_Hz]
// Expected: the rate over the last 500 ms lies within 1.5 Hz of the target (checked by check.py).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/io/recorder.hpp"
#include "nmsim/models/lif.hpp"

using namespace nmsim;

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1] : "cpp_api.h5";
  const double target_hz = argc > 2 ? std::atof(argv[2]) : 10.0;

  Simulation sim({/*dt=*/0.1, /*seed=*/42, /*threads=*/0});
  models::LifParams p;  // NEST iaf_psc_exp defaults: C_m 250 pF, tau_m 10 ms, V_th -55 mV, tau_syn 2 ms
  auto& exc = sim.add_population<models::Lif>("exc", 800, p);
  auto& inh = sim.add_population<models::Lif>("inh", 200, p);

  ProjectionSpec ee;
  ee.name = "ee";
  ee.source = ee.target = ee.port = "exc";
  ee.weight = Distribution::constant(20.0);  // pA
  ee.delay = Distribution::constant(1.5);    // ms
  ee.connect.rule = ConnectSpec::Rule::fixed_indegree;
  ee.connect.k = 80;
  ee.connect.allow_autapses = false;
  sim.connect(ee);
  ProjectionSpec ei = ee;
  ei.name = "ei";
  ei.target = "inh";
  sim.connect(ei);
  ProjectionSpec ie;
  ie.name = "ie";
  ie.source = "inh";
  ie.target = "exc";
  ie.port = "inh";
  ie.weight = Distribution::normal(-80.0, 10.0);
  ie.delay = Distribution::constant(1.0);
  ie.weight.hi = 0.0;  // inhibitory weights stay <= 0
  ie.connect.rule = ConnectSpec::Rule::fixed_indegree;
  ie.connect.k = 20;
  sim.connect(ie);
  ProjectionSpec ii = ie;
  ii.name = "ii";
  ii.target = "inh";
  sim.connect(ii);

  // 8 kHz x 20 pA x 2 ms = 320 pA mean input: V settles ~2 mV below threshold, fluctuations fire.
  auto& drive_e = sim.add_stimulus<PoissonInput>("drive_e", exc, "exc", 8000.0, 20.0);
  auto& drive_i = sim.add_stimulus<PoissonInput>("drive_i", inh, "exc", 8000.0, 20.0);

  io::Recorder recorder({out, 500.0, 4}, {"# built by examples/cpp_api/main.cpp\n", sim.seed(), sim.dt(), 2000.0,
                                          sim.threads()});
  recorder.record_spikes("exc");
  recorder.record_spikes("inh");
  sim.add_observer(recorder);

  // Integral controller on the external rate, one update per 100 ms chunk.
  double rate_in = drive_e.rate();
  std::uint64_t last = 0;
  for (int chunk = 0; chunk < 20; ++chunk) {
    sim.run(100.0);
    std::uint64_t total = 0;
    for (auto c : sim.spike_counts("exc")) total += c;
    const double rate = static_cast<double>(total - last) / 800.0 / 0.1;
    last = total;
    rate_in = std::max(0.0, rate_in + 40.0 * (target_hz - rate));
    drive_e.set_rate(rate_in);
    drive_i.set_rate(rate_in);
    std::printf("t = %6.0f ms  exc rate %6.2f Hz  drive %7.1f Hz\n", sim.time(), rate, rate_in);
  }
  sim.finish(true);
  std::printf("output: %s\n", out.c_str());
  return 0;
}
