// session::core (core.cpp, core_send.cpp, core_receive.cpp) wired back to back with another core:
// handshake, delivery both ways, scheduling, progress, cancel both ways, keepalive and timeouts,
// all in virtual time.

#include <netcore/session/core.hpp>

#include "session_pair.hpp"

#include <map>
#include <set>

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

bool same_bytes(const protocol::incoming_message& m, const shared_body& body) {
  return m.body.bytes() == *body;
}

}  // namespace

TEST(session_core, nothing_but_hello_goes_out_before_the_peers_hello) {
  session_pair p{quiet(), quiet()};
  auto id = p.a().core.send(meta("early"), pattern(100));
  ASSERT_TRUE(id);
  // A writes before B said anything: only its HELLO.
  const auto& slices = p.a().core.next_batch();
  protocol::byte_buffer first;
  for (auto& s : slices) {
    auto b = static_cast<const std::uint8_t*>(s.data);
    first.insert(first.end(), b, b + s.size);
  }
  p.a().core.on_written(first.size());
  auto frames = decode_all(first);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header.type, frame_type::hello);
  EXPECT_EQ(p.a().core.state(), session_state::handshake);
  // The rest of the exchange delivers the message queued during the handshake.
  protocol::byte_buffer none;
  p.b().core.feed(protocol::byte_view{first}, p.now());
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 1u);
  EXPECT_EQ(p.b().messages[0].message.meta.route, "early");
  EXPECT_EQ(p.a().core.state(), session_state::open);
  ASSERT_NE(p.a().outcome(*id), nullptr);
  EXPECT_TRUE(p.a().outcome(*id)->ok());
}

TEST(session_core, messages_of_every_size_arrive_intact_both_ways) {
  session_pair p{quiet(), quiet()};
  std::map<std::string, shared_body> sent_by_a, sent_by_b;
  for (std::size_t size : {0u, 1u, 100u, 16u << 10, (16u << 10) + 1, 200u << 10, 3u << 20}) {
    auto route = "s" + std::to_string(size);
    sent_by_a[route] = pattern(size, 3);
    sent_by_b[route] = pattern(size, 9);
    ASSERT_TRUE(p.a().core.send(meta(route), sent_by_a[route]));
    ASSERT_TRUE(p.b().core.send(meta(route), sent_by_b[route]));
  }
  p.pump();
  ASSERT_EQ(p.b().messages.size(), sent_by_a.size());
  ASSERT_EQ(p.a().messages.size(), sent_by_b.size());
  for (auto& r : p.b().messages)
    EXPECT_TRUE(same_bytes(r.message, sent_by_a[r.message.meta.route]));
  for (auto& r : p.a().messages)
    EXPECT_TRUE(same_bytes(r.message, sent_by_b[r.message.meta.route]));
  for (auto& o : p.a().outcomes) EXPECT_TRUE(o.ok()) << o.reason.message();
  EXPECT_EQ(p.a().outcomes.size(), sent_by_a.size());
  auto st = p.a().core.stats();
  EXPECT_EQ(st.messages_sent, sent_by_a.size());
  EXPECT_EQ(st.messages_received, sent_by_b.size());
  EXPECT_EQ(st.queued_bytes, 0u);
  EXPECT_EQ(st.open_outgoing, 0u);
}

TEST(session_core, a_request_and_its_response_carry_their_call_blocks_end_to_end) {
  session_pair p{quiet(), quiet()};
  // A request in one frame and one in many, and a response to a request of B's.
  for (std::size_t size : {10u, 300u << 10}) {
    auto m = meta("call/" + std::to_string(size));
    m.call = protocol::call_info{};
    m.call->deadline_ms = 1500;
    ASSERT_TRUE(p.a().core.send(m, pattern(size, 4)));
  }
  auto answer = meta("call/answer");
  answer.call = protocol::call_info{};
  answer.call->what = protocol::call_info::kind::response;
  answer.call->request_id = 77;
  answer.call->status = 5;
  answer.call->message = "busy";
  ASSERT_TRUE(p.a().core.send(answer, pattern(0)));
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 3u);
  for (auto& r : p.b().messages) {
    ASSERT_TRUE(r.message.meta.call) << r.message.meta.route;
    if (r.message.meta.route == "call/answer") {
      EXPECT_EQ(r.message.meta.call, answer.call);
    } else {
      EXPECT_EQ(r.message.meta.call->what, protocol::call_info::kind::request);
      EXPECT_EQ(r.message.meta.call->deadline_ms, 1500u);
    }
  }
}

TEST(session_core, short_writes_and_any_split_change_nothing) {
  session_pair p{quiet(), quiet()};
  p.max_write = 7;
  auto body = pattern(300u << 10, 5);
  ASSERT_TRUE(p.a().core.send(meta("big"), body));
  ASSERT_TRUE(p.a().core.send(meta("small"), pattern(10)));
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 2u);
  for (auto& r : p.b().messages) {
    if (r.message.meta.route == "big") {
      EXPECT_TRUE(same_bytes(r.message, body));
    }
  }
}

TEST(session_core, multi_frame_messages_are_time_sliced_round_robin) {
  auto cfg = quiet();
  cfg.chunk_size = 1000;
  cfg.single_frame_max = 0;
  session_pair p{cfg, quiet()};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p.a().core.send(meta("m"), pattern(3000)));
  p.pump();
  std::vector<std::uint64_t> order;
  for (auto& f : p.a().frames())
    if (f.header.type == frame_type::data) order.push_back(f.header.message_id);
  EXPECT_EQ(order, (std::vector<std::uint64_t>{1, 2, 3, 1, 2, 3, 1, 2, 3}));
  EXPECT_EQ(p.b().messages.size(), 3u);
}

TEST(session_core, fairness_is_by_bytes_not_by_frames) {
  // One message in 1000-byte chunks beside single-frame messages of 8000 bytes each: per round,
  // the chunked one gets about as many bytes, not one chunk per big frame.
  auto cfg = quiet();
  cfg.chunk_size = 1000;
  cfg.single_frame_max = 8000;
  cfg.write_batch = 1;  // one frame per batch: the order is the scheduler's
  session_pair p{cfg, quiet()};
  ASSERT_TRUE(p.a().core.send(meta("chunked"), pattern(40000)));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(p.a().core.send(meta("single"), pattern(8000)));
  p.pump();
  std::size_t chunked_before_last_single = 0;
  auto frames = p.a().frames();
  std::size_t last_single = 0;
  for (std::size_t i = 0; i < frames.size(); ++i)
    if (frames[i].header.type == frame_type::open &&
        (frames[i].header.flags & protocol::flags::single))
      last_single = i;
  for (std::size_t i = 0; i < last_single; ++i)
    if (frames[i].header.type == frame_type::data) ++chunked_before_last_single;
  // 5 singles of 8000 B = 40000 B; the chunked message moved at least 32 of its 40 chunks by then.
  EXPECT_GE(chunked_before_last_single, 32u);
}

TEST(session_core, higher_priority_goes_first) {
  auto cfg = quiet();
  cfg.chunk_size = 1000;
  cfg.write_batch = 1;
  session_pair p{cfg, quiet()};
  p.pump();  // handshake first, so both are queued together
  ASSERT_TRUE(p.a().core.send(meta("low", 1), pattern(5000)));
  ASSERT_TRUE(p.a().core.send(meta("high", 9), pattern(5000)));
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 2u);
  EXPECT_EQ(p.b().messages[0].message.meta.route, "high");
}

TEST(session_core, progress_is_reported_as_bytes_are_written) {
  auto cfg = quiet();
  cfg.chunk_size = 1000;
  cfg.write_batch = 1;
  cfg.single_frame_max = 0;
  session_pair p{cfg, quiet()};
  auto id = p.a().core.send(meta("p"), pattern(2500));
  ASSERT_TRUE(id);
  p.pump();
  ASSERT_EQ(p.a().progressed.size(), 3u);
  EXPECT_EQ(p.a().progressed[0].written, 1000u);
  EXPECT_EQ(p.a().progressed[2].written, 2500u);
  EXPECT_EQ(p.a().progressed[2].total, 2500u);
  std::uint64_t sum = 0;
  for (auto& pr : p.a().progressed) sum += pr.delta;
  EXPECT_EQ(sum, 2500u);
}

TEST(session_core, streamed_bodies_arrive_with_their_digest) {
  session_pair p{quiet(), quiet()};
  auto id = p.a().core.open_stream(meta("stream"), protocol::unknown_size);
  ASSERT_TRUE(id);
  auto part1 = pattern(50000, 1), part2 = pattern(70000, 2);
  protocol::byte_buffer whole(part1->begin(), part1->end());
  whole.insert(whole.end(), part2->begin(), part2->end());
  EXPECT_FALSE(p.a().core.push(*id, protocol::byte_view{*part1}, part1));
  p.pump();
  EXPECT_TRUE(p.b().messages.empty());  // not finished yet
  EXPECT_FALSE(p.a().core.push(*id, protocol::byte_view{*part2}, part2));
  EXPECT_FALSE(p.a().core.finish(*id, protocol::xxh3_64(protocol::byte_view{whole})));
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 1u);
  EXPECT_EQ(p.b().messages[0].message.body.bytes(), whole);
  EXPECT_TRUE(p.a().outcome(*id)->ok());
}

TEST(session_core, a_stream_that_overruns_its_declared_size_fails) {
  session_pair p{quiet(), quiet()};
  auto id = p.a().core.open_stream(meta("s"), 10);
  ASSERT_TRUE(id);
  auto body = pattern(11);
  EXPECT_EQ(p.a().core.push(*id, protocol::byte_view{*body}, body),
            std::error_code{errc::size_mismatch});
  p.pump();
  ASSERT_NE(p.a().outcome(*id), nullptr);
  EXPECT_EQ(p.a().outcome(*id)->reason, std::error_code{errc::size_mismatch});
  EXPECT_EQ(p.a().core.push(*id, protocol::byte_view{*body}, body),
            std::error_code{runtime_errc::unknown_id});
}

namespace {

/// A pair whose receiver grants 4096 bytes of message credit, stopped right after A used it: the
/// big message is under way and cannot finish until B reads again.
struct stalled_transfer {
  session_pair p{[] {
                   auto c = quiet();
                   c.chunk_size = 1024;
                   return c;
                 }(),
                 [] {
                   auto c = quiet();
                   c.initial_message_credit = 4096;
                   return c;
                 }()};
  std::uint64_t id = 0;

  stalled_transfer() {
    p.pump();  // handshake
    p.b_reads = false;
    auto r = p.a().core.send(meta("big"), pattern(100000));
    EXPECT_TRUE(r);
    id = *r;
    p.pump();
    EXPECT_EQ(p.a().outcome(id), nullptr);
  }
};

}  // namespace

TEST(session_core, cancel_tells_the_peer_and_frees_both_sides) {
  stalled_transfer t;
  auto& p = t.p;
  p.a().core.cancel(t.id);
  p.b_reads = true;
  p.pump();
  ASSERT_NE(p.a().outcome(t.id), nullptr);
  EXPECT_EQ(p.a().outcome(t.id)->reason, std::error_code{errc::cancelled});
  ASSERT_EQ(p.b().failures.size(), 1u);
  EXPECT_EQ(p.b().failures[0].id, t.id);
  EXPECT_EQ(p.b().failures[0].reason, std::error_code{errc::cancelled});
  std::size_t cancels = 0;
  for (auto& f : p.a().frames()) cancels += f.header.type == frame_type::cancel;
  EXPECT_EQ(cancels, 1u);
  EXPECT_EQ(p.b().core.stats().open_incoming, 0u);
  EXPECT_EQ(p.a().core.stats().open_outgoing, 0u);
  // A second cancel, and one for an id never used, change nothing.
  p.a().core.cancel(t.id);
  p.a().core.cancel(999);
  p.pump();
  EXPECT_EQ(p.a().outcomes.size(), 1u);
}

TEST(session_core, cancel_once_the_end_is_on_its_way_changes_nothing) {
  session_pair p{quiet(), quiet()};
  auto id = p.a().core.send(meta("done"), pattern(100000));
  ASSERT_TRUE(id);
  p.pump();
  p.a().core.cancel(*id);
  p.pump();
  ASSERT_NE(p.a().outcome(*id), nullptr);
  EXPECT_TRUE(p.a().outcome(*id)->ok());
  EXPECT_EQ(p.b().messages.size(), 1u);
}

TEST(session_core, cancelling_an_incoming_message_fails_the_senders_outcome) {
  stalled_transfer t;
  auto& p = t.p;
  p.deliver_pending();  // B has the OPEN and the first 4096 bytes, and has not answered
  EXPECT_EQ(p.b().core.stats().open_incoming, 1u);
  EXPECT_TRUE(p.b().core.cancel_incoming(t.id));
  EXPECT_FALSE(p.b().core.cancel_incoming(t.id));
  EXPECT_FALSE(p.b().core.cancel_incoming(12345));
  p.b_reads = true;
  p.pump();
  ASSERT_NE(p.a().outcome(t.id), nullptr);
  EXPECT_EQ(p.a().outcome(t.id)->reason, std::error_code{errc::cancelled});
  ASSERT_EQ(p.b().failures.size(), 1u);
  EXPECT_EQ(p.b().failures[0].reason, std::error_code{errc::cancelled});
  // B's CANCEL names A's message: PEER_ORIGIN set.
  bool seen = false;
  for (auto& f : p.b().frames())
    if (f.header.type == frame_type::cancel) {
      seen = true;
      EXPECT_TRUE(f.header.flags & protocol::flags::peer_origin);
      EXPECT_EQ(f.header.message_id, t.id);
    }
  EXPECT_TRUE(seen);
}

TEST(session_core, a_disconnect_mid_message_fails_both_sides_typed) {
  stalled_transfer t;
  auto& p = t.p;
  p.deliver_pending();
  p.disconnect();
  ASSERT_NE(p.a().outcome(t.id), nullptr);
  EXPECT_EQ(p.a().outcome(t.id)->reason, std::error_code{runtime_errc::disconnected});
  ASSERT_EQ(p.b().failures.size(), 1u);
  EXPECT_EQ(p.b().failures[0].reason, std::error_code{runtime_errc::disconnected});
  ASSERT_EQ(p.a().closes.size(), 1u);
  EXPECT_EQ(p.a().core.state(), session_state::closed);
  EXPECT_EQ(p.a().core.send(meta("late"), pattern(1)).error(),
            std::error_code{runtime_errc::closed});
}

TEST(session_core, a_message_waits_for_credit_without_holding_up_others) {
  auto small_window = quiet();
  small_window.initial_message_credit = 4096;
  small_window.initial_connection_credit = 1u << 30;
  auto cfg = quiet();
  cfg.chunk_size = 1024;
  session_pair p{cfg, small_window};
  p.b().auto_ack = true;
  // B grants message credit as it stores: the big message keeps moving, in steps of its window.
  auto big = p.a().core.send(meta("big"), pattern(64u << 10));
  auto small = p.a().core.send(meta("small"), pattern(100));
  ASSERT_TRUE(big && small);
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 2u);
  // The small one did not wait for the big one.
  EXPECT_EQ(p.b().messages[0].message.meta.route, "small");
  // A never had more than B's window of DATA outstanding for the message: check on the wire.
  std::uint64_t granted = 4096, sent = 0;
  for (auto& f : p.a().frames())
    if (f.header.type == frame_type::data && f.header.message_id == *big) sent += f.payload.size();
  for (auto& f : p.b().frames())
    if (f.header.type == frame_type::credit && f.header.message_id == *big)
      granted += f.header.argument;
  EXPECT_LE(sent, granted);
  EXPECT_EQ(sent, 64u << 10);
}

TEST(session_core, a_consumer_that_does_not_acknowledge_throttles_the_sender) {
  auto receiver = quiet();
  receiver.initial_connection_credit = 256u << 10;
  receiver.delivery_budget = 128u << 10;
  session_pair p{quiet(), receiver};
  p.b().auto_ack = false;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(p.a().core.send(meta("m"), pattern(10000)));
  p.pump();
  // B stopped granting connection credit: far fewer than 100 arrived, and A still holds the rest.
  const auto delivered = p.b().messages.size();
  EXPECT_LT(delivered, 60u);
  EXPECT_GT(p.a().core.stats().queued_bytes, 0u);
  // The consumer catches up: everything arrives.
  std::size_t acked = 0;
  for (int round = 0; round < 100 && p.b().messages.size() < 100; ++round) {
    for (; acked < p.b().messages.size(); ++acked)
      p.b().core.acknowledge(p.b().messages[acked].cost);
    p.pump();
  }
  EXPECT_EQ(p.b().messages.size(), 100u);
}

TEST(session_core, keepalive_pings_on_schedule_and_a_silent_peer_times_out) {
  session_config c;
  c.keepalive_interval = 1s;
  c.peer_timeout = 3s;
  session_pair p{c, c};
  p.pump();
  p.advance(2500ms);
  std::size_t pings = 0, pongs = 0;
  for (auto& f : p.a().frames()) {
    pings += f.header.type == frame_type::ping;
    pongs += f.header.type == frame_type::pong;
  }
  EXPECT_EQ(pings, 2u);
  EXPECT_GE(pongs, 1u);  // A answers B's pings
  EXPECT_TRUE(p.a().closes.empty());
  // B goes silent: A gives up after peer_timeout of silence.
  p.a_reads = false;
  p.advance(3500ms);
  ASSERT_EQ(p.a().closes.size(), 1u);
  EXPECT_EQ(p.a().closes[0].reason, std::error_code{errc::peer_timeout});
}

TEST(session_core, a_peer_that_never_says_hello_fails_the_handshake) {
  auto c = quiet();
  c.handshake_timeout = 2s;
  session_pair p{c, c};
  p.a_reads = false;
  p.b_reads = false;
  auto id = p.a().core.send(meta("x"), pattern(10));
  ASSERT_TRUE(id);
  p.advance(2100ms);
  ASSERT_EQ(p.a().closes.size(), 1u);
  EXPECT_EQ(p.a().closes[0].reason, std::error_code{runtime_errc::handshake_timeout});
  ASSERT_NE(p.a().outcome(*id), nullptr);
  EXPECT_EQ(p.a().outcome(*id)->reason, std::error_code{runtime_errc::handshake_timeout});
}

TEST(session_core, the_outgoing_queue_is_bounded) {
  auto c = quiet();
  c.max_queued_bytes = 1u << 20;
  c.max_queued_messages = 10;
  session_pair p{c, quiet()};
  p.b_reads = false;
  std::size_t accepted = 0;
  std::error_code refused;
  for (int i = 0; i < 100; ++i) {
    auto r = p.a().core.send(meta("q"), pattern(1000));
    if (r)
      ++accepted;
    else
      refused = r.error();
  }
  EXPECT_EQ(accepted, 10u);
  EXPECT_EQ(refused, std::error_code{runtime_errc::backpressure});
  EXPECT_EQ(p.a().core.stats().backpressure_refusals, 90u);
  // One message larger than the byte bound passes when nothing else is queued.
  session_pair q{c, quiet()};
  EXPECT_TRUE(q.a().core.send(meta("huge"), pattern(2u << 20)));
  EXPECT_EQ(q.a().core.send(meta("next"), pattern(10)).error(),
            std::error_code{runtime_errc::backpressure});
}

TEST(session_core, a_connection_with_traffic_sends_no_keepalive_pings) {
  session_config c;
  c.keepalive_interval = 1s;
  c.peer_timeout = 3s;
  session_pair p{c, c};
  p.pump();
  // A message from B every 500 ms for 5 s: A always hears from its peer, so A never pings.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(p.b().core.send(meta("tick"), pattern(10)));
    p.advance(500ms);
  }
  std::size_t pings = 0;
  for (auto& f : p.a().frames()) pings += f.header.type == frame_type::ping;
  EXPECT_EQ(pings, 0u);
  EXPECT_EQ(p.a().messages.size(), 10u);
  EXPECT_TRUE(p.a().closes.empty());
}

TEST(session_core, a_cookie_comes_back_with_the_outcome_and_the_progress) {
  auto c = quiet();
  c.chunk_size = 1000;
  session_pair p{c, quiet()};
  ASSERT_FALSE(p.a().core.send(7, meta("small"), pattern(10), 1234));
  ASSERT_FALSE(p.a().core.send(8, meta("large"), pattern(30000), 5678));
  ASSERT_FALSE(p.a().core.send(9, meta("none"), pattern(10)));
  p.pump();
  ASSERT_NE(p.a().outcome(7), nullptr);
  EXPECT_EQ(p.a().outcome(7)->cookie, 1234u);
  EXPECT_EQ(p.a().outcome(8)->cookie, 5678u);
  EXPECT_EQ(p.a().outcome(9)->cookie, 0u);
  ASSERT_FALSE(p.a().progressed.empty());
  for (auto& pr : p.a().progressed) EXPECT_EQ(pr.cookie, 5678u);
  // A refused message's cookie comes back as well.
  session_pair q{c, quiet()};
  q.b_reads = false;
  ASSERT_FALSE(q.a().core.send(3, meta("cancelled"), pattern(10), 42));
  q.a().core.cancel(3);
  q.a().drain_events();
  ASSERT_NE(q.a().outcome(3), nullptr);
  EXPECT_EQ(q.a().outcome(3)->cookie, 42u);
}
