#pragma once
// Shared pieces of the nmsim benchmarks: command line, wall clock, peak memory, the one-line
// result format that run_all.sh parses, and the delivery-time probe.
//
// Result line: "RESULT key=value key=value ..." (one line per benchmark run; every program of
// bench/, the Brian2 scripts included, prints the same keys).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "nmsim/core/observer.hpp"
#include "nmsim/core/simulation.hpp"
#include "nmsim/core/stimulus.hpp"

namespace nmsim::bench {

inline double wall_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

/// CPU time of this process so far, all threads, user + system [s]. On a shared machine the
/// single-thread CPU time of a phase is a better estimate of its quiet-machine wall time.
inline double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

/// Peak resident set size of this process so far [MB] (getrusage: ru_maxrss is in KiB on Linux).
inline double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

/// "--key value" pairs; unknown keys are an error so a typo never silently runs the default.
class Args {
 public:
  Args(int argc, char** argv, std::vector<std::string> allowed) : allowed_(std::move(allowed)) {
    for (int i = 1; i < argc; ++i) {
      std::string k = argv[i];
      if (k == "--help" || k == "-h") {
        std::printf("options:");
        for (const auto& a : allowed_) std::printf(" --%s", a.c_str());
        std::printf("\n");
        std::exit(0);
      }
      if (k.rfind("--", 0) != 0 || i + 1 >= argc) fail("expected --key value, found \"" + k + "\"");
      k = k.substr(2);
      bool ok = false;
      for (const auto& a : allowed_) ok = ok || a == k;
      if (!ok) fail("unknown option --" + k);
      values_[k] = argv[++i];
    }
  }
  double number(const std::string& key, double dflt) const {
    auto it = values_.find(key);
    if (it == values_.end()) return dflt;
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    if (end == it->second.c_str() || *end != '\0') fail("--" + key + ": expected a number, found " + it->second);
    return v;
  }
  bool has(const std::string& key) const { return values_.count(key) != 0; }

 private:
  [[noreturn]] static void fail(const std::string& msg) {
    std::fprintf(stderr, "error: %s\n", msg.c_str());
    std::exit(2);
  }
  std::vector<std::string> allowed_;
  std::map<std::string, std::string> values_;
};

/// Builds the RESULT line.
class ResultLine {
 public:
  ResultLine& add(const std::string& key, const std::string& value) {
    line_ += " " + key + "=" + value;
    return *this;
  }
  ResultLine& add(const std::string& key, double value, const char* fmt = "%.6g") {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, value);
    return add(key, std::string(buf));
  }
  void print() const {
    std::printf("RESULT%s\n", line_.c_str());
    std::fflush(stdout);
  }

 private:
  std::string line_;
};

// Delivery time measured from outside the engine, without touching core/.
//
// The window loop (core/src/simulation.cpp) runs, per delivery window:
//   steps ... barrier; single{merge+sort spikes, observers.on_spikes, observers.end_window}
//   (implicit barrier); every thread: Projection::deliver for all projections;
//   next window: single{observers.begin_window} (implicit barrier); step w1: stimuli.apply ...
// DeliveryClock::end_window stamps the moment the spikes are sorted and handed over. The first
// stimulus applied at the first step of the next window (DeliveryProbe, added before any other
// stimulus) is reached by thread 0 only after the begin_window barrier, i.e. after the slowest
// thread has finished its deliveries. The difference is the wall-clock delivery time of the
// window (critical path over threads, load imbalance and one empty single construct included).
// The deliveries after the last window are counted when the run returns (finish_run).
struct DeliveryTiming {
  double total = 0.0;   // [s]
  double t_end = 0.0;   // stamp of the last end_window
  bool pending = false;
  std::int64_t windows = 0;
};

class DeliveryClock : public Observer {
 public:
  explicit DeliveryClock(DeliveryTiming& t) : t_(&t) {}
  void end_window(Step /*to*/) override {
    t_->t_end = wall_seconds();
    t_->pending = true;
    ++t_->windows;
  }
  /// Call right after Simulation::run returns.
  void finish_run() {
    if (t_->pending) t_->total += wall_seconds() - t_->t_end;
    t_->pending = false;
  }

 private:
  DeliveryTiming* t_;
};

class DeliveryProbe : public Stimulus {
 public:
  DeliveryProbe(Population& any, DeliveryTiming& t) : Stimulus("bench_delivery_probe", any), t_(&t) {}
  std::string_view kind() const override { return "bench_probe"; }
  void apply(Step /*k*/, Range owned) override {
    // Thread 0 owns the range that starts at neuron 0 (Simulation::owned); it alone measures.
    if (owned.begin != 0 || !t_->pending) return;
    t_->total += wall_seconds() - t_->t_end;
    t_->pending = false;
  }

 private:
  DeliveryTiming* t_;
};

/// Wall and CPU time of one Simulation::run(duration), with the delivery clock closed after it.
struct RunTimes {
  double wall_s, cpu_s;
};
inline RunTimes timed_run(Simulation& sim, double duration, DeliveryClock& clock) {
  const double t0 = wall_seconds(), c0 = cpu_seconds();
  sim.run(duration);
  clock.finish_run();
  return {wall_seconds() - t0, cpu_seconds() - c0};
}

}  // namespace nmsim::bench
