#pragma once

// Reconnection delays: exponential backoff with jitter, as a pure function of the attempt number
// and a seeded generator (so tests and simulations see the same delays for the same seed).

#include <chrono>
#include <cstdint>
#include <random>

namespace netcore::app {

/// How long to wait before each reconnection attempt: `initial` × `multiplier`^n, capped at
/// `max`, then spread by ±`jitter` (a fraction: 0.2 = ±20 %) so that many clients cut off at
/// once do not come back at once.
struct backoff_policy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{10'000};
  double multiplier = 2.0;
  double jitter = 0.2;
};

/// The delays of one sequence of failed attempts. Not thread-safe (one per client).
class backoff {
 public:
  /// `seed` picks the jitter sequence (the same seed, the same delays).
  explicit backoff(backoff_policy p = {}, std::uint64_t seed = 0) : policy_(p), rng_(seed) {}

  /// The delay before attempt `n` + 1 after `n` consecutive failures (n = 0: the first retry).
  /// Always within [0, max × (1 + jitter)].
  std::chrono::milliseconds delay(std::uint32_t n) {
    double d = static_cast<double>(policy_.initial.count());
    const double cap = static_cast<double>(policy_.max.count());
    for (std::uint32_t i = 0; i < n && d < cap; ++i) d *= policy_.multiplier;
    if (d > cap) d = cap;
    if (policy_.jitter > 0) {
      std::uniform_real_distribution<double> spread{-policy_.jitter, policy_.jitter};
      d *= 1.0 + spread(rng_);
    }
    return std::chrono::milliseconds{static_cast<std::int64_t>(d < 0 ? 0 : d)};
  }

 private:
  backoff_policy policy_;
  std::mt19937_64 rng_;
};

}  // namespace netcore::app
