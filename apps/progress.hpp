#pragma once
// Progress line on stderr (only when it is a terminal): simulated time, % done, real-time
// factor, ETA; redrawn at most four times a second from the engine's single-thread hook.
#include <chrono>
#include <cstdio>

#include "nmsim/core/observer.hpp"
#include "nmsim/core/simulation.hpp"

namespace nmsim::apps {

class Progress : public Observer {
 public:
  explicit Progress(double duration_ms) : duration_(duration_ms) {}
  void prepare(const Simulation& sim) override {
    sim_ = &sim;
    start_ = last_ = std::chrono::steady_clock::now();
    t_start_ = sim.time();
  }
  void end_window(Step) override {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    draw(now);
  }
  bool passive() const override { return true; }
  void finish(bool) override {
    if (sim_ && drawn_) {
      draw(std::chrono::steady_clock::now());
      std::fputc('\n', stderr);
    }
  }

 private:
  void draw(std::chrono::steady_clock::time_point now) {
    const double wall = std::chrono::duration<double>(now - start_).count();
    const double done = sim_->time() - t_start_;
    const double rtf = done > 0 ? wall / (done * 1e-3) : 0.0;
    const double left = duration_ - done;
    const double eta = done > 0 ? left * wall / done : 0.0;
    std::fprintf(stderr, "\r[nmsim] t = %.1f / %.1f ms (%5.1f%%)  %.3g x real time  ETA %.0f s   ", done, duration_,
                 duration_ > 0 ? 100.0 * done / duration_ : 100.0, rtf, eta);
    std::fflush(stderr);
    drawn_ = true;
  }
  double duration_;
  const Simulation* sim_ = nullptr;
  std::chrono::steady_clock::time_point start_, last_;
  double t_start_ = 0;
  bool drawn_ = false;
};

}  // namespace nmsim::apps
