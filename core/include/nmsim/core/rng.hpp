#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011, SC'11).
//
// A stream is keyed by (seed, purpose, id) and advanced by a 64-bit counter, so any draw can be
// reproduced from those numbers alone, whatever thread makes it and in whatever order other streams
// are used: this is what makes results bit-identical for any thread count. Conventions:
//   purpose = purpose_id("what/name")  e.g. "stimulus/noise", "connect/ee", "init/exc/v"
//   id      = the neuron (or source/target) the draws belong to
//   counter = where in that stream to start, in units of 128-bit blocks. Each block holds 4 u32 (2
//             doubles); a stream reads further blocks as it needs them. A per-step stream that may
//             read more than one block (rejection sampling: poisson, normal with bounds) must not
//             use counter = step, or step k's extra blocks are step k+1's first ones: use
//             counter = step << 32 (the step in the high word), as PoissonInput does.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nmsim {

/// Stable 32-bit identifier of a purpose string (FNV-1a). Adding streams never shifts others.
constexpr std::uint32_t purpose_id(std::string_view name) {
  std::uint32_t h = 2166136261u;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

/// The raw Philox4x32-10 bijection: 128-bit counter x 64-bit key -> 128 random bits.
std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> ctr,
                                        std::array<std::uint32_t, 2> key);

/// The same bijection for n counters that differ only in word 2: block j is
/// philox4x32({c0, c1, id0 + j, c3}, key), word w of it goes to out[w][j] (n <= 2^32 - id0).
/// Bit-identical to n calls of philox4x32; computed many lanes at a time (vector units chosen at
/// run time: integer arithmetic only, so every machine gets the same bits).
void philox4x32_ids(std::uint32_t c0, std::uint32_t c1, std::uint32_t id0, std::uint32_t c3,
                    std::array<std::uint32_t, 2> key, std::size_t n, std::uint32_t* const out[4]);

class RandomStream {
 public:
  RandomStream(std::uint64_t seed, std::uint32_t purpose, std::uint32_t id,
               std::uint64_t counter = 0)
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
        purpose_(purpose),
        id_(id),
        counter_(counter) {}

  std::uint32_t next_u32() {
    if (pos_ == 4) refill();
    return buf_[pos_++];
  }
  std::uint64_t next_u64() {
    std::uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }
  /// Uniform on [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// Uniform on (0, 1], safe for log().
  double uniform_pos() { return (static_cast<double>(next_u64() >> 11) + 1.0) * 0x1.0p-53; }
  /// Uniform integer in [0, n) without modulo bias (Lemire 2019). n >= 1.
  std::uint32_t below(std::uint32_t n);
  /// Standard normal (Box-Muller; both values of a pair are used).
  double normal();
  /// Exponential with mean 1.
  double exponential();
  /// Poisson with mean lambda >= 0 (inversion below 12, PTRS of Hoermann 1993 above).
  std::uint64_t poisson(double lambda);

 private:
  void refill();
  std::array<std::uint32_t, 2> key_;
  std::uint32_t purpose_;
  std::uint32_t id_;
  std::uint64_t counter_;
  std::array<std::uint32_t, 4> buf_{};
  int pos_ = 4;
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

}  // namespace nmsim
