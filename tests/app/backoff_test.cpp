// Reconnection delays: growth, the cap, jitter bounds, and the same delays for the same seed.
// Covers app/include/netcore/app/backoff.hpp.

#include <netcore/app/backoff.hpp>

#include <gtest/gtest.h>

using namespace netcore::app;
using namespace std::chrono_literals;

TEST(backoff, without_jitter_it_doubles_up_to_the_cap) {
  backoff b{backoff_policy{100ms, 1000ms, 2.0, 0.0}};
  EXPECT_EQ(b.delay(0), 100ms);
  EXPECT_EQ(b.delay(1), 200ms);
  EXPECT_EQ(b.delay(2), 400ms);
  EXPECT_EQ(b.delay(3), 800ms);
  EXPECT_EQ(b.delay(4), 1000ms);
  EXPECT_EQ(b.delay(1'000'000), 1000ms);  // a long outage does not overflow
}

TEST(backoff, jitter_stays_within_its_fraction_and_varies) {
  backoff b{backoff_policy{1000ms, 1000ms, 2.0, 0.25}, 7};
  bool varied = false;
  auto first = b.delay(0);
  for (int i = 0; i < 1000; ++i) {
    auto d = b.delay(0);
    EXPECT_GE(d, 750ms);
    EXPECT_LE(d, 1250ms);
    varied = varied || d != first;
  }
  EXPECT_TRUE(varied);
}

TEST(backoff, the_same_seed_gives_the_same_delays) {
  backoff a{{}, 42}, b{{}, 42}, c{{}, 43};
  bool differs = false;
  for (std::uint32_t n = 0; n < 20; ++n) {
    const auto x = a.delay(n);
    EXPECT_EQ(x, b.delay(n));
    differs = differs || x != c.delay(n);
  }
  EXPECT_TRUE(differs);
}
