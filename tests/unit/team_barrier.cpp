// The engine's barrier (core/src/team_barrier.hpp): the serial section runs once per round on
// one thread, after every thread's work of the round and before any thread's next round, and no
// wake-up is lost. With no spinning every waiter takes the futex path, where a lost wake-up
// (the releaser missing a thread that is about to sleep) hangs the run; libstdc++ 12's
// atomic::wait lost one about once in 10^7 rounds, so 2 x 200 000 rounds here with 2 and 3
// threads and several spin counts catch a regression with a ctest timeout rather than by luck
// only on long runs.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "team_barrier.hpp"

using nmsim::detail::TeamBarrier;

namespace {

// Each round every thread adds its id+1 to its slot; the serial section checks that all slots
// hold the round's values (all work done before it), sums them and bumps the round counter.
struct Rounds {
  long serial_runs, bad, late, checksum, expected_checksum;
};

Rounds run_rounds(int threads, unsigned spins, long rounds) {
  TeamBarrier team(threads, spins);
  std::vector<long> slot(static_cast<std::size_t>(threads), 0);
  long serial_runs = 0, bad = 0, checksum = 0;
  std::atomic<long> late{0};
  auto body = [&](int id) {
    for (long r = 0; r < rounds; ++r) {
      slot[static_cast<std::size_t>(id)] += id + 1;
      team.arrive_and_wait([&] {
        for (int t = 0; t < threads; ++t)
          if (slot[static_cast<std::size_t>(t)] != (r + 1) * (t + 1)) ++bad;
        ++serial_runs;
        for (long v : slot) checksum += v;
      });
      // After the call the serial section of this round has run.
      if (serial_runs != r + 1) late.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(body, t);
  body(0);
  for (auto& t : pool) t.join();
  const long per_round_sum = threads * (threads + 1) / 2;
  return {serial_runs, bad, late.load(), checksum, per_round_sum * rounds * (rounds + 1) / 2};
}

}  // namespace

TEST_CASE("TeamBarrier: serial section once per round, no lost wake-up", "[engine][barrier]") {
  for (int threads : {2, 3})
    for (unsigned spins : {0u, 8u, 512u}) {
      INFO("threads " << threads << ", spins " << spins);
      const long rounds = spins == 0 ? 200000 : 50000;
      const Rounds got = run_rounds(threads, spins, rounds);
      CHECK(got.serial_runs == rounds);
      CHECK(got.bad == 0);
      CHECK(got.late == 0);
      CHECK(got.checksum == got.expected_checksum);
    }
}

TEST_CASE("TeamBarrier: one thread runs the serial section inline", "[engine][barrier]") {
  TeamBarrier team(1);
  int runs = 0;
  for (int r = 0; r < 10; ++r) team.arrive_and_wait([&] { ++runs; });
  CHECK(runs == 10);
}
