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
//
// The sleep is a futex on the generation counter with our own count of sleepers, all accesses
// sequentially consistent (a Dekker pair: the releaser stores the generation then reads the
// sleeper count, a sleeper raises the count then reads the generation, so at least one of them
// sees the other). std::atomic::wait/notify_all of libstdc++ 12 was used before and lost a
// wake-up about once in 10^7 windows (both threads asleep, a 2-thread run hung): its notify
// checks its waiter count after a release store, which x86 may reorder before the store.
#include <atomic>
#include <climits>
#include <cstdint>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#else
#include <thread>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace nmsim::detail {

class TeamBarrier {
 public:
  /// `spins`: pause hints before a waiter sleeps (tests use 0 to exercise the sleeping path).
  explicit TeamBarrier(int threads, unsigned spins = kSpins) : threads_(threads), spins_(spins) {}
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
      generation_.store(gen + 1, std::memory_order_seq_cst);
      if (sleepers_.load(std::memory_order_seq_cst) > 0) wake_all();
      return;
    }
    for (unsigned spins = 0; spins < spins_; ++spins) {
      if (generation_.load(std::memory_order_acquire) != gen) return;
      pause();
    }
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    while (generation_.load(std::memory_order_seq_cst) == gen) sleep_while(gen);
    sleepers_.fetch_sub(1, std::memory_order_seq_cst);
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

  // Sleeps until woken or until the generation differs from `gen` (the kernel checks that
  // atomically with going to sleep, so a release between our check and the call is not lost).
  void sleep_while(std::uint32_t gen) {
#if defined(__linux__)
    // Bounded as a second line of defence: were a wake-up ever lost, it would cost 20 ms, not
    // the run.
    timespec timeout{0, 20'000'000};
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&generation_), FUTEX_WAIT_PRIVATE, gen, &timeout, nullptr, 0);
#else
    (void)gen;
    std::this_thread::yield();
#endif
  }
  void wake_all() {
#if defined(__linux__)
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&generation_), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr,
            0);
#endif
  }

  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                    std::atomic<std::uint32_t>::is_always_lock_free,
                "the futex works on the counter's own 32-bit word");

  int threads_;
  unsigned spins_;
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<std::uint32_t> generation_{0};
  alignas(64) std::atomic<int> sleepers_{0};
};

}  // namespace nmsim::detail
