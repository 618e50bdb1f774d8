#pragma once
// Reproducible random draws for tests that simulate many tasks. std::mt19937_64's sequence
// is fixed by the standard; the distributions of <random> are not, so the draws are made by
// hand to stay identical on every standard library.

#include "vidq/engine/expected_duration.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

namespace vidq::test {

struct seeded_rng {
  std::mt19937_64 gen;
  explicit seeded_rng(std::uint64_t seed) : gen(seed) {}
  double uniform() { return static_cast<double>(gen() >> 11) * 0x1.0p-53; }
  double normal() {
    const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  millis lognormal(const engine::duration_dist& d) {
    return static_cast<millis>(static_cast<double>(d.median) * std::exp(d.sigma() * normal()));
  }
};

}  // namespace vidq::test
