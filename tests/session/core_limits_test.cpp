// Every setting a peer announces in HELLO governs what this side sends: frame size, message and
// connection credit, concurrency, message size. Checked on the wire between two sessions.

#include <netcore/session/core.hpp>

#include "session_pair.hpp"

#include <algorithm>
#include <map>

using namespace netcore;
using namespace netcore::session;
using namespace netcore::session::test;

namespace {

session_config quiet() {
  session_config c;
  c.keepalive_interval = 0ms;
  c.peer_timeout = 0ms;
  return c;
}

}  // namespace

TEST(session_limits, a_peer_announcing_16k_frames_never_receives_a_larger_frame) {
  auto sender = quiet();
  sender.chunk_size = 64u << 10;
  sender.single_frame_max = 16u << 10;
  auto receiver = quiet();
  receiver.limits.max_frame_payload = 16u << 10;
  session_pair p{sender, receiver};
  // Queued before the handshake (frame size unknown yet) and after it.
  ASSERT_TRUE(p.a().core.send(meta("single-sized"), pattern(16u << 10)));
  ASSERT_TRUE(p.a().core.send(meta("big"), pattern(1u << 20)));
  p.pump();
  ASSERT_TRUE(p.a().core.send(meta("after"), pattern(16u << 10)));
  ASSERT_TRUE(p.a().core.send(meta("small"), pattern(100)));
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 4u);
  std::size_t largest = 0;
  for (auto& f : p.a().frames()) largest = std::max<std::size_t>(largest, f.payload.size());
  EXPECT_LE(largest, 16u << 10);
  EXPECT_GT(largest, 8u << 10);  // chunks did use the frame size the peer allows
  EXPECT_TRUE(p.b().closes.empty());
}

TEST(session_limits, a_peer_announcing_four_concurrent_messages_never_has_five_open) {
  auto sender = quiet();
  sender.chunk_size = 4096;
  sender.single_frame_max = 0;
  sender.write_batch = 8192;
  auto receiver = quiet();
  receiver.limits.max_concurrent_messages = 4;
  session_pair p{sender, receiver};
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(p.a().core.send(meta("m"), pattern(20000)));
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 20u);
  EXPECT_TRUE(p.b().closes.empty());
  // Replay A's wire: OPEN adds one, END and CANCEL take one away.
  int open = 0, most = 0;
  for (auto& f : p.a().frames()) {
    if (f.header.type == frame_type::open && !(f.header.flags & protocol::flags::single)) ++open;
    if (f.header.type == frame_type::end || f.header.type == frame_type::cancel) --open;
    most = std::max(most, open);
  }
  EXPECT_EQ(most, 4);
}

TEST(session_limits, connection_and_message_credit_are_never_exceeded) {
  auto receiver = quiet();
  receiver.initial_connection_credit = 64u << 10;
  receiver.initial_message_credit = 16u << 10;
  auto sender = quiet();
  sender.chunk_size = 8192;
  session_pair p{sender, receiver};
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.a().core.send(meta("m"), pattern(100000)));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(p.a().core.send(meta("s"), pattern(500)));
  p.pump();
  EXPECT_EQ(p.b().messages.size(), 60u);
  // B checks every frame against what it granted; an overrun would have ended the connection.
  EXPECT_TRUE(p.b().closes.empty());
  EXPECT_TRUE(p.a().closes.empty());
  EXPECT_GT(p.a().core.stats().credit_stalls, 0u);
}

TEST(session_limits, a_message_above_the_peers_max_size_is_refused_before_its_body_is_sent) {
  auto receiver = quiet();
  receiver.limits.max_message_size = 1000;
  session_pair p{quiet(), receiver};
  // Queued during the handshake: it fails when the peer's HELLO says it is too large.
  auto early = p.a().core.send(meta("early"), pattern(5000));
  ASSERT_TRUE(early);
  p.pump();
  ASSERT_NE(p.a().outcome(*early), nullptr);
  EXPECT_EQ(p.a().outcome(*early)->reason, std::error_code{errc::message_too_large});
  // Once the peer is known: refused at once.
  auto late = p.a().core.send(meta("late"), pattern(5000));
  EXPECT_EQ(late.error(), std::error_code{errc::message_too_large});
  // A stream of unknown size fails as soon as it crosses the limit.
  auto s = p.a().core.open_stream(meta("stream"), protocol::unknown_size);
  ASSERT_TRUE(s);
  auto chunk = pattern(600);
  EXPECT_FALSE(p.a().core.push(*s, protocol::byte_view{*chunk}, chunk));
  EXPECT_EQ(p.a().core.push(*s, protocol::byte_view{*chunk}, chunk),
            std::error_code{errc::message_too_large});
  p.pump();
  EXPECT_TRUE(p.b().messages.empty());
  for (auto& f : p.a().frames()) {
    if (f.header.type == frame_type::data) ADD_FAILURE() << "a body byte went out";
    if (f.header.type == frame_type::open && f.header.message_id == *early)
      ADD_FAILURE() << "the refused message was opened";
  }
  ASSERT_TRUE(p.a().core.send(meta("fits"), pattern(1000)));
  p.pump();
  EXPECT_EQ(p.b().messages.size(), 1u);
}

TEST(session_limits, metadata_the_peer_cannot_take_in_one_frame_is_refused) {
  auto receiver = quiet();
  receiver.limits.max_frame_payload = 1024;
  session_pair p{quiet(), receiver};
  p.pump();
  auto m = meta(std::string(2000, 'r'));
  EXPECT_EQ(p.a().core.send(m, pattern(10)).error(), std::error_code{errc::metadata_too_large});
}

TEST(session_limits, the_hello_announces_this_sides_limits) {
  auto c = quiet();
  c.limits.max_frame_payload = 20000;
  c.limits.max_concurrent_messages = 7;
  c.limits.max_message_size = 123456;
  c.initial_message_credit = 5000;
  c.initial_connection_credit = 50000;
  session_pair p{c, quiet()};
  p.pump();
  ASSERT_TRUE(p.b().ready);
  const auto& s = p.b().core.peer_settings();
  EXPECT_EQ(s.max_frame_payload, 20000u);
  EXPECT_EQ(s.max_concurrent_messages, 7u);
  EXPECT_EQ(s.max_message_size, 123456u);
  EXPECT_EQ(s.initial_message_credit, 5000u);
  EXPECT_EQ(s.initial_connection_credit, 50000u);
}

TEST(session_limits, a_refusal_that_crosses_the_last_bytes_comes_back_as_a_second_outcome) {
  // B can keep no body above 10 bytes (memory) and has no spill file to give: it refuses the
  // SINGLE message that A has already written in full.
  session_config b;
  b.storage.memory_threshold = 10;
  b.storage.spill_directory = "/tmp";
  b.storage.quota = std::make_shared<protocol::spill_quota>(0, 0);
  session_pair p{{}, b};
  p.pump();
  auto id = p.a().core.send(meta("refused"), pattern(100));
  ASSERT_TRUE(id);
  p.pump();
  ASSERT_EQ(p.b().failures.size(), 1u);
  EXPECT_EQ(p.b().failures[0].reason, std::error_code{errc::storage_full});
  std::vector<std::error_code> outcomes;
  for (const auto& o : p.a().outcomes)
    if (o.id == *id) outcomes.push_back(o.reason);
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_FALSE(outcomes[0]);  // written in full
  EXPECT_EQ(outcomes[1], std::error_code{errc::storage_full});
  // Other messages are not affected.
  auto small = p.a().core.send(meta("fits"), pattern(5));
  ASSERT_TRUE(small);
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 1u);
  ASSERT_NE(p.a().outcome(*small), nullptr);
  EXPECT_TRUE(p.a().outcome(*small)->ok());
}
