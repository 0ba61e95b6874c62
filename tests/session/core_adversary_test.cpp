// A hostile or broken peer, speaking raw frames to a session: every violation is a typed error,
// memory stays bounded, and what concerns one message fails that message only.

#include <netcore/session/core.hpp>

#include "session_pair.hpp"

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

protocol::message_meta route(std::string r) {
  return meta(std::move(r));
}

}  // namespace

TEST(session_adversary, data_beyond_the_message_credit_ends_the_connection) {
  auto c = quiet();
  c.initial_message_credit = 4096;
  raw_peer peer{c};
  peer.hello();
  protocol::byte_buffer chunk(4096, 7);
  peer.frames().open(1, route("m"), 100000);
  peer.frames().data(1, 0, protocol::byte_view{chunk});
  peer.send();
  EXPECT_FALSE(peer.closed_reason());  // exactly the window: fine
  // The session granted more once it stored those bytes; the peer sends that and one byte more
  // before it could have seen another grant.
  std::uint64_t granted = 0;
  for (auto& f : peer.written())
    if (f.header.type == frame_type::credit && f.header.message_id == 1)
      granted += f.header.argument;
  ASSERT_EQ(granted, 4096u);
  protocol::byte_buffer more(4097, 7);
  peer.frames().data(1, 4096, protocol::byte_view{more});
  peer.send();
  EXPECT_EQ(peer.closed_reason(), std::error_code{errc::flow_control});
  EXPECT_EQ(peer.goaway_code(), errc::flow_control);
  auto failures = peer.all<receive_failed>();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].reason, std::error_code{errc::flow_control});
  EXPECT_EQ(peer.core().stats().buffered_bytes, 0u);
}

TEST(session_adversary, bytes_beyond_the_connection_credit_end_the_connection) {
  auto c = quiet();
  c.initial_connection_credit = 10000;
  raw_peer peer{c};
  peer.hello();
  protocol::byte_buffer body(900, 1);
  // All at once: no grant can have reached the peer in between.
  for (std::uint64_t id = 1; id <= 20; ++id)
    peer.frames().open_single(id, route("s"), protocol::byte_view{body});
  peer.send();
  EXPECT_EQ(peer.closed_reason(), std::error_code{errc::flow_control});
  // 10 frames of ~950 wire bytes fit 10000 bytes of credit, the 11th does not.
  EXPECT_EQ(peer.all<received>().size(), 10u);
}

TEST(session_adversary, more_open_messages_than_announced_end_the_connection) {
  auto c = quiet();
  c.limits.max_concurrent_messages = 4;
  raw_peer peer{c};
  peer.hello();
  for (std::uint64_t id = 1; id <= 4; ++id) peer.frames().open(id, route("m"), 1000);
  peer.send();
  EXPECT_FALSE(peer.closed_reason());
  EXPECT_EQ(peer.core().stats().open_incoming, 4u);
  peer.frames().open(5, route("m"), 1000);
  peer.send();
  EXPECT_EQ(peer.closed_reason(), std::error_code{errc::too_many_messages});
  EXPECT_EQ(peer.core().stats().open_incoming, 0u);
}

TEST(session_adversary, frames_for_messages_never_opened_end_the_connection_beyond_an_allowance) {
  auto c = quiet();
  c.max_unknown_frames = 8;
  raw_peer peer{c};
  peer.hello();
  protocol::byte_buffer chunk(10, 1);
  for (int i = 0; i < 8; ++i) peer.frames().data(1000 + i, 0, protocol::byte_view{chunk});
  peer.send();
  EXPECT_FALSE(peer.closed_reason());
  peer.frames().data(2000, 0, protocol::byte_view{chunk});
  peer.send();
  EXPECT_EQ(peer.closed_reason(), std::error_code{errc::protocol_error});
}

TEST(session_adversary, data_still_in_flight_for_a_cancelled_message_is_no_violation) {
  auto c = quiet();
  c.max_unknown_frames = 2;
  raw_peer peer{c};
  peer.hello();
  peer.frames().open(1, route("m"), 1u << 20);
  peer.send();
  EXPECT_TRUE(peer.core().cancel_incoming(1));
  protocol::byte_buffer chunk(1000, 1);
  for (int i = 0; i < 50; ++i) peer.frames().data(1, 1000 * i, protocol::byte_view{chunk});
  peer.send();
  EXPECT_FALSE(peer.closed_reason());
  // And the credit of those bytes comes back to the connection.
  EXPECT_GE(peer.core().stats().bytes_in, 50000u);
}

TEST(session_adversary, a_ping_flood_ends_the_connection_and_pongs_stay_bounded) {
  auto c = quiet();
  c.max_pings_per_second = 100;
  raw_peer peer{c};
  peer.hello();
  for (int i = 0; i < 50; ++i) peer.frames().ping(i);
  peer.send();
  std::size_t pongs = 0;
  for (auto& f : peer.written()) pongs += f.header.type == frame_type::pong;
  EXPECT_EQ(pongs, 1u);  // only the latest PING of a burst is answered
  EXPECT_FALSE(peer.closed_reason());
  for (int i = 0; i < 60; ++i) peer.frames().ping(i);
  peer.send();
  EXPECT_EQ(peer.closed_reason(), std::error_code{errc::flood});
  EXPECT_EQ(peer.goaway_code(), errc::flood);
}

TEST(session_adversary, pings_at_a_polite_rate_are_answered_forever) {
  auto c = quiet();
  c.max_pings_per_second = 10;
  raw_peer peer{c};
  peer.hello();
  for (int i = 0; i < 100; ++i) {
    peer.frames().ping(i);
    peer.send();
    peer.advance(200ms);
  }
  EXPECT_FALSE(peer.closed_reason());
  std::size_t pongs = 0;
  for (auto& f : peer.written()) pongs += f.header.type == frame_type::pong;
  EXPECT_EQ(pongs, 100u);
}

TEST(session_adversary, message_frames_before_hello_end_the_connection) {
  raw_peer peer{quiet()};
  protocol::byte_buffer body(10, 1);
  peer.frames().open_single(1, route("early"), protocol::byte_view{body});
  peer.send();
  EXPECT_EQ(peer.closed_reason(), std::error_code{errc::protocol_error});
}

TEST(session_adversary, a_frame_larger_than_announced_ends_the_connection) {
  auto c = quiet();
  c.limits.max_frame_payload = 4096;
  raw_peer peer{c};
  peer.hello();
  peer.frames().open(1, route("m"), 100000);
  protocol::byte_buffer chunk(5000, 1);
  peer.frames().data(1, 0, protocol::byte_view{chunk});
  peer.send();
  EXPECT_EQ(peer.closed_reason(), std::error_code{errc::frame_too_large});
}

TEST(session_adversary, a_malformed_hello_ends_the_connection) {
  raw_peer peer{quiet()};
  protocol::settings bad;
  bad.max_frame_payload = 10;  // below the protocol's minimum
  peer.hello(bad);
  EXPECT_EQ(peer.closed_reason(), std::error_code{errc::malformed_frame});
}

TEST(session_adversary, a_corrupt_single_frame_fails_that_message_and_tells_the_sender) {
  raw_peer peer{quiet()};
  peer.hello();
  protocol::byte_buffer body(100, 1);
  peer.frames().open_single(7, route("lost"), protocol::byte_view{body});
  protocol::byte_buffer bytes;
  peer.frames().flatten_into(bytes);
  peer.frames().clear();
  bytes[protocol::header_size + 20] ^= 0x40;  // a payload byte: header intact, payload CRC fails
  peer.send_bytes(bytes);
  auto failures = peer.all<receive_failed>();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].id, 7u);
  EXPECT_EQ(failures[0].reason, std::error_code{errc::payload_corrupt});
  bool cancel = false;
  for (auto& f : peer.written())
    if (f.header.type == frame_type::cancel && f.header.message_id == 7) {
      cancel = true;
      EXPECT_TRUE(f.header.flags & protocol::flags::peer_origin);
      EXPECT_EQ(f.header.argument, static_cast<std::uint64_t>(errc::payload_corrupt));
    }
  EXPECT_TRUE(cancel);
  // The connection goes on.
  peer.frames().open_single(8, route("fine"), protocol::byte_view{body});
  peer.send();
  ASSERT_EQ(peer.all<received>().size(), 1u);
  EXPECT_FALSE(peer.closed_reason());
}

TEST(session_adversary, a_peer_that_does_not_read_its_cancels_ends_with_flood) {
  auto c = quiet();
  c.limits.max_message_size = 100;
  c.max_control_frames = 16;
  raw_peer peer{c};
  peer.hello();
  // Each OPEN declares too much: each fails and earns a CANCEL; the core writes nothing while
  // the test does not collect, so the CANCELs pile up to the bound.
  protocol::byte_buffer bytes;
  for (std::uint64_t id = 1; id <= 40; ++id) peer.frames().open(id, route("big"), 1000);
  peer.frames().flatten_into(bytes);
  peer.frames().clear();
  peer.core().feed(protocol::byte_view{bytes}, peer.now());
  peer.collect();
  EXPECT_EQ(peer.closed_reason(), std::error_code{errc::flood});
}

TEST(session_adversary, unknown_frame_types_and_garbage_are_skipped) {
  raw_peer peer{quiet()};
  peer.hello();
  protocol::byte_buffer garbage(333, 0xAB);
  peer.send_bytes(garbage);
  protocol::byte_buffer body(10, 1);
  peer.frames().open_single(1, route("after-garbage"), protocol::byte_view{body});
  peer.send();
  ASSERT_EQ(peer.all<received>().size(), 1u);
  EXPECT_FALSE(peer.closed_reason());
  EXPECT_EQ(peer.core().stats().resync_bytes_dropped, 333u);
}

TEST(session_adversary, a_duplicate_open_fails_that_message_only) {
  raw_peer peer{quiet()};
  peer.hello();
  peer.frames().open(1, route("m"), 10);
  peer.frames().open(1, route("m"), 10);
  peer.send();
  auto failures = peer.all<receive_failed>();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].reason, std::error_code{errc::duplicate_message});
  EXPECT_FALSE(peer.closed_reason());
}

TEST(session_adversary, a_peer_declaring_more_than_the_limit_is_refused_without_allocating) {
  auto c = quiet();
  c.limits.max_message_size = 1u << 20;
  raw_peer peer{c};
  peer.hello();
  for (std::uint64_t id = 1; id <= 100; ++id) peer.frames().open(id, route("huge"), 1ull << 40);
  peer.send();
  auto failures = peer.all<receive_failed>();
  ASSERT_EQ(failures.size(), 100u);
  for (auto& f : failures) EXPECT_EQ(f.reason, std::error_code{errc::message_too_large});
  EXPECT_EQ(peer.core().stats().buffered_bytes, 0u);
  EXPECT_EQ(peer.core().stats().open_incoming, 0u);
  EXPECT_FALSE(peer.closed_reason());
}

TEST(session_adversary, a_peer_trickling_a_body_below_the_minimum_rate_is_cut_off) {
  auto c = quiet();
  c.min_data_rate = 128;
  c.rate_window = 10s;
  raw_peer peer{c};
  peer.hello();
  peer.frames().open(1, route("slow"), 1u << 20);
  peer.send();
  const protocol::byte_buffer chunk(60, 0x5A);  // 92 B/s with the frame header: below 128 B/s
  std::uint64_t offset = 0;
  for (int s = 0; s < 30 && !peer.closed_reason(); ++s) {
    peer.frames().data(1, offset, protocol::byte_view{chunk});
    offset += chunk.size();
    peer.send();
    peer.advance(1s);
  }
  ASSERT_TRUE(peer.closed_reason().has_value());
  EXPECT_EQ(*peer.closed_reason(), std::error_code{runtime_errc::too_slow});
  EXPECT_EQ(peer.goaway_code(), errc::peer_timeout);
  auto failed = peer.all<receive_failed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].reason, std::error_code{runtime_errc::too_slow});
}

TEST(session_adversary, a_peer_above_the_minimum_rate_and_an_idle_peer_are_left_alone) {
  auto c = quiet();
  raw_peer peer{c};
  peer.hello();
  peer.frames().open(1, route("steady"), 1u << 20);
  peer.send();
  const protocol::byte_buffer chunk(200, 0x5A);  // 200 B/s: above the default 128 B/s
  std::uint64_t offset = 0;
  for (int s = 0; s < 40; ++s) {
    peer.frames().data(1, offset, protocol::byte_view{chunk});
    offset += chunk.size();
    peer.send();
    peer.advance(1s);
  }
  EXPECT_FALSE(peer.closed_reason().has_value());
  // A peer that owes nothing (no message open, no frame begun) may stay silent.
  raw_peer idle{c};
  idle.hello();
  idle.advance(60s);
  EXPECT_FALSE(idle.closed_reason().has_value());
}

TEST(session_adversary, a_frame_header_sent_a_byte_at_a_time_is_cut_off) {
  auto c = quiet();
  c.handshake_timeout = 0ms;  // the rate alone, not the handshake deadline
  raw_peer peer{c};
  protocol::encoder enc;
  enc.hello(protocol::settings{});
  protocol::byte_buffer hello;
  enc.flatten_into(hello);
  for (std::size_t i = 0; i < hello.size() && !peer.closed_reason(); ++i) {
    peer.send_bytes(protocol::byte_buffer{hello[i]});
    peer.advance(1s);
  }
  ASSERT_TRUE(peer.closed_reason().has_value());
  EXPECT_EQ(*peer.closed_reason(), std::error_code{runtime_errc::too_slow});
}

TEST(session_adversary, empty_messages_beyond_the_delivery_budget_pause_input_not_the_peer) {
  auto c = quiet();
  c.delivery_budget = 64u << 10;  // 256 empty messages (message_overhead each)
  c.peer_timeout = 3s;
  raw_peer peer{c};
  peer.hello();
  // Empty messages within the connection credit, in reads of 100: credit alone would let the
  // peer have thousands delivered, each costing message_overhead.
  std::uint64_t id = 0;
  while (peer.core().accepts_input() && id < 10'000) {
    for (int i = 0; i < 100; ++i) peer.frames().open_single(++id, route("e"), {});
    peer.send();
  }
  ASSERT_FALSE(peer.core().accepts_input()) << "input never paused";
  const auto held = peer.core().stats();
  EXPECT_EQ(held.input_pauses, 1u);
  EXPECT_LE(held.unacknowledged, c.delivery_budget + 100 * message_overhead);
  EXPECT_EQ(held.messages_received, peer.all<received>().size());
  // Paused by this side, the peer's silence is not the peer's fault: no peer_timeout.
  peer.advance(10s);
  peer.collect();
  EXPECT_FALSE(peer.closed_reason());
  // The application catches up: input resumes, and the peer's silence counts again from now.
  for (const auto& r : peer.all<received>()) peer.core().acknowledge(r.cost);
  EXPECT_TRUE(peer.core().accepts_input());
  EXPECT_EQ(peer.core().stats().unacknowledged, 0u);
  EXPECT_EQ(peer.core().stats().unacknowledged_peak, held.unacknowledged);
  peer.advance(2s);
  peer.collect();
  EXPECT_FALSE(peer.closed_reason());
  peer.advance(1500ms);
  peer.collect();
  EXPECT_EQ(peer.closed_reason(), std::error_code{errc::peer_timeout});
}
