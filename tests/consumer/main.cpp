// Builds against the installed headers and libraries only; runs a tiny network and writes HDF5.
#include <cstdio>

#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimuli.hpp"
#include "nmsim/io/recorder.hpp"
#include "nmsim/models/lif.hpp"

int main(int argc, char** argv) {
  nmsim::Simulation sim({0.1, 1, 1});
  nmsim::models::LifParams p;
  p.i_e = 400.0;  // suprathreshold: regular firing
  auto& pop = sim.add_population<nmsim::models::Lif>("n", 2, p);
  (void)pop;
  nmsim::io::Recorder rec({argc > 1 ? argv[1] : "consumer.h5", 100.0, 4}, {"", 1, 0.1, 100.0, 1});
  rec.record_spikes("n");
  sim.add_observer(rec);
  sim.run(100.0);
  sim.finish(true);
  const auto n = sim.spike_counts("n")[0];
  std::printf("consumer: %llu spikes\n", static_cast<unsigned long long>(n));
  return n > 0 ? 0 : 1;
}
