#include "send_gate.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace netcore::actors;

TEST(send_gate, a_large_transfer_does_not_hold_up_small_messages) {
  send_gate gate{4u << 20};
  ASSERT_TRUE(gate.acquire(1u << 30, gate_lane::large));  // alone, so it passes
  EXPECT_TRUE(gate.acquire(100, gate_lane::small));       // another account: no wait
  EXPECT_EQ(gate.used(gate_lane::large), 1u << 30);
  EXPECT_EQ(gate.used(gate_lane::small), 100u);
  gate.release(1u << 30, gate_lane::large);
  EXPECT_EQ(gate.used(gate_lane::large), 0u);
}

TEST(send_gate, lanes_are_chosen_by_size_and_source) {
  EXPECT_EQ(gate_lane_of(100, false, 16384), gate_lane::small);
  EXPECT_EQ(gate_lane_of(16384, false, 16384), gate_lane::small);
  EXPECT_EQ(gate_lane_of(16385, false, 16384), gate_lane::large);
  EXPECT_EQ(gate_lane_of(0, true, 16384), gate_lane::large);
}

TEST(send_gate, a_full_lane_blocks_until_released_and_close_fails_waiters) {
  send_gate gate{4u << 20};
  ASSERT_TRUE(gate.acquire(4u << 20, gate_lane::large));
  bool second = true;
  std::thread waiter{[&] { second = gate.acquire(1, gate_lane::large); }};
  gate.close();
  waiter.join();
  EXPECT_FALSE(second);
  EXPECT_FALSE(gate.acquire(1, gate_lane::small));
}

TEST(send_gate, release_lets_a_waiter_through) {
  send_gate gate{4u << 20};
  ASSERT_TRUE(gate.acquire(4u << 20, gate_lane::large));
  bool second = false;
  std::thread waiter{[&] { second = gate.acquire(1u << 20, gate_lane::large); }};
  gate.release(4u << 20, gate_lane::large);
  waiter.join();
  EXPECT_TRUE(second);
  EXPECT_EQ(gate.used(gate_lane::large), 1u << 20);
}
