// The submission queue of connection::send: one nudge per drain, every message taken in order,
// the drained vector's capacity handed back, and nothing accepted once the actor is gone.

#include "submission_queue.hpp"

#include <gtest/gtest.h>

using namespace netcore::actors;
using detail::submission_queue;

namespace {
outgoing_message text(const std::string& route) {
  return outgoing_message::from_text(route, "x");
}
}  // namespace

TEST(submission_queue, only_the_first_message_after_a_drain_asks_for_a_nudge) {
  submission_queue q;
  auto a = text("a"), b = text("b"), c = text("c");
  EXPECT_EQ(q.push(1, a), submission_queue::pushed::queued_nudge);
  EXPECT_EQ(q.push(2, b), submission_queue::pushed::queued);
  std::vector<submission_queue::item> out;
  q.take(out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].id, 1u);
  EXPECT_EQ(out[0].msg.meta.route, "a");
  EXPECT_EQ(out[1].msg.meta.route, "b");
  EXPECT_EQ(q.push(3, c), submission_queue::pushed::queued_nudge);  // drained: a new nudge
}

TEST(submission_queue, the_drained_vector_keeps_its_capacity_for_the_next_round) {
  submission_queue q;
  std::vector<submission_queue::item> out;
  auto fill = [&](std::uint64_t first) {
    for (std::uint64_t i = first; i < first + 64; ++i) {
      auto m = text("m");
      q.push(i, m);
    }
  };
  fill(1);
  q.take(out);
  ASSERT_EQ(out.size(), 64u);
  const auto* first_buffer = out.data();
  fill(65);
  q.take(out);  // `out`'s emptied buffer went back to the queue
  ASSERT_EQ(out.size(), 64u);
  EXPECT_EQ(out.front().id, 65u);
  fill(129);
  q.take(out);
  ASSERT_EQ(out.size(), 64u);
  EXPECT_EQ(out.data(), first_buffer) << "the two buffers should take turns, not be reallocated";
  EXPECT_EQ(out.back().id, 192u);
}

TEST(submission_queue, close_returns_what_was_queued_and_refuses_the_rest) {
  submission_queue q;
  auto a = text("a");
  q.push(7, a);
  auto left = q.close();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, 7u);
  auto b = text("b");
  EXPECT_EQ(q.push(8, b), submission_queue::pushed::closed);
  EXPECT_EQ(b.meta.route, "b");  // a refused message is left to its caller
  EXPECT_EQ(q.size(), 0u);
}
