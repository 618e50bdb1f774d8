#pragma once
// Deterministic randomness for the simulator. Every decision draws from a counter-based
// stream keyed by (seed, purpose, index) instead of one shared generator: the outcome of
// task #7 does not depend on how many polls task #3 received, so "same seed + same request
// sequence => same outcomes" survives interleavings that a single stream would not.
// The distributions are written here (not <random>'s), because std::normal_distribution and
// friends are implementation-defined and would differ between libstdc++ and libc++.

#include <cmath>
#include <cstdint>
#include <string_view>

namespace vidq::sim {

// SplitMix64 finalizer (Steele, Lea, Flood 2014): a bijective 64-bit mixer.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a, to turn a purpose name or a task id into a stream key.
constexpr std::uint64_t hash_text(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// One stream: draws are a pure function of (seed, purpose, index, draw number).
class stream {
 public:
  stream(std::uint64_t seed, std::string_view purpose, std::uint64_t index) noexcept
      : state_(mix64(mix64(seed ^ hash_text(purpose)) ^ mix64(index))) {}

  std::uint64_t next() noexcept {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // True with probability p (p <= 0 never, p >= 1 always).
  bool chance(double p) noexcept { return p > 0 && (p >= 1 || uniform() < p); }
  // Uniform integer in [lo, hi].
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) noexcept {
    return hi <= lo ? lo : lo + next() % (hi - lo + 1);
  }
  // Standard normal by Box-Muller (one value per call; the twin is discarded for simplicity).
  double normal() noexcept {
    const double u1 = 1.0 - uniform();  // (0, 1]: log() stays finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
  }
  // Log-normal with the given median and 90th percentile (p90 >= median > 0).
  double lognormal(double median, double p90) noexcept {
    constexpr double z90 = 1.2815515655446004;  // standard normal quantile at 0.9
    const double sigma = p90 > median ? std::log(p90 / median) / z90 : 0.0;
    return median * std::exp(sigma * normal());
  }

 private:
  std::uint64_t state_;
};

}  // namespace vidq::sim
