#pragma once
// Barrier for the threads of the engine's parallel region, with an optional serial section.
//
// With 1 ms delivery windows a run meets ~10^6 barriers per simulated quarter hour, each after
// only a few microseconds of work per thread. libgomp's barrier makes a futex_wake system call
// every time (even with one thread), and the engine's "barrier, then `omp single`" pattern costs
// two of them per window. Here the last thread to arrive runs the serial section itself and then
// releases the others: one synchronisation per window, no system call while the threads spin.
// Waiters spin briefly with a pause hint (a window's serial section and the imbalance between
// threads are a few us) and then sleep on the generation counter (futex): on an oversubscribed
// machine a waiter gives its core to the thread everyone waits for. The releasing thread's
// notify makes a system call only when someone sleeps.
#include <atomic>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace nmsim::detail {

class TeamBarrier {
 public:
  explicit TeamBarrier(int threads) : threads_(threads) {}
  TeamBarrier(const TeamBarrier&) = delete;
  TeamBarrier& operator=(const TeamBarrier&) = delete;

  /// Every thread of the team calls this; `serial()` runs on exactly one of them (the last to
  /// arrive) after all have arrived and before any returns. Everything a thread wrote before
  /// calling is visible to `serial()`, and everything `serial()` wrote is visible to every thread
  /// after the call (acquire/release on the counters). Which thread runs it varies, so it must
  /// not depend on the calling thread (as an `omp single` block).
  template <class Serial>
  void arrive_and_wait(Serial&& serial) {
    if (threads_ == 1) {
      serial();
      return;
    }
    const std::uint32_t gen = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) == threads_ - 1) {
      arrived_.store(0, std::memory_order_relaxed);  // no one touches it until the release below
      serial();
      generation_.store(gen + 1, std::memory_order_release);
      generation_.notify_all();
      return;
    }
    for (unsigned spins = 0; spins < kSpins; ++spins) {
      if (generation_.load(std::memory_order_acquire) != gen) return;
      pause();
    }
    while (generation_.load(std::memory_order_acquire) == gen) generation_.wait(gen, std::memory_order_acquire);
  }
  /// A plain barrier.
  void arrive_and_wait() {
    arrive_and_wait([] {});
  }

 private:
  // ~25 us of spinning (a pause takes ~50 ns on this project's AMD EPYC): longer than a
  // window's serial section and the usual imbalance between threads (a few us), far shorter than
  // a time slice. Spinning longer wasted the CPU time the awaited thread needed on a loaded
  // machine (2048 pauses: 7 s of CPU for 0.7 s of work at load 9).
  static constexpr unsigned kSpins = 512;
  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  }

  int threads_;
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<std::uint32_t> generation_{0};
};

}  // namespace nmsim::detail
