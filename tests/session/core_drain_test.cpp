// GOAWAY and the two-phase drain: a graceful close delivers everything queued, refuses what is
// new, and closes both sides cleanly; a deadline bounds it.

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

std::size_t goaways(const side& s) {
  std::size_t n = 0;
  for (auto& f : s.frames()) n += f.header.type == frame_type::goaway;
  return n;
}

}  // namespace

TEST(session_drain, shutdown_delivers_everything_queued_and_closes_both_sides_cleanly) {
  session_pair p{quiet(), quiet()};
  p.pump();
  std::vector<std::uint64_t> ids;
  for (std::size_t size : {10u, 100000u, 3u << 20, 0u}) {
    auto id = p.a().core.send(meta("q"), pattern(size));
    ASSERT_TRUE(id);
    ids.push_back(*id);
  }
  p.a().core.shutdown(p.now(), p.now() + 10s);
  EXPECT_EQ(p.a().core.state(), session_state::draining);
  EXPECT_EQ(p.a().core.send(meta("new"), pattern(1)).error(),
            std::error_code{runtime_errc::shutting_down});
  p.pump();
  EXPECT_EQ(p.b().messages.size(), 4u);
  for (auto id : ids) {
    ASSERT_NE(p.a().outcome(id), nullptr);
    EXPECT_TRUE(p.a().outcome(id)->ok());
  }
  ASSERT_EQ(p.a().closes.size(), 1u);
  ASSERT_EQ(p.b().closes.size(), 1u);
  EXPECT_FALSE(p.a().closes[0].reason) << p.a().closes[0].reason.message();
  EXPECT_FALSE(p.b().closes[0].reason) << p.b().closes[0].reason.message();
  EXPECT_EQ(goaways(p.a()), 1u);
  EXPECT_EQ(goaways(p.b()), 1u);
  EXPECT_EQ(p.b().goaways.size(), 1u);
  EXPECT_TRUE(p.a().core.done());
  EXPECT_TRUE(p.b().core.done());
}

TEST(session_drain, the_peer_finishes_what_it_queued_and_refuses_new_messages) {
  // A takes one message at a time and grants 3000 bytes of credit per message: B's first message
  // is under way and waits for credit, its second cannot open yet when A says GOAWAY.
  auto a_cfg = quiet();
  a_cfg.initial_message_credit = 3000;
  a_cfg.limits.max_concurrent_messages = 1;
  auto b_cfg = quiet();
  b_cfg.chunk_size = 1000;
  session_pair p{a_cfg, b_cfg};
  p.pump();
  p.a_reads = false;
  auto opened = p.b().core.send(meta("under-way"), pattern(50000));
  auto queued = p.b().core.send(meta("queued"), pattern(50000, 2));
  ASSERT_TRUE(opened && queued);
  p.pump();
  for (auto& f : p.b().frames())
    ASSERT_FALSE(f.header.type == frame_type::open && f.header.message_id == *queued);
  p.a().core.shutdown(p.now(), p.now() + 10s);
  p.a_reads = true;
  p.pump();
  // B learnt of the close before its second message was opened: it refuses anything new...
  ASSERT_EQ(p.b().goaways.size(), 1u);
  // ...and finishes both, so A receives both before the connection closes cleanly.
  ASSERT_NE(p.b().outcome(*opened), nullptr);
  EXPECT_TRUE(p.b().outcome(*opened)->ok());
  ASSERT_NE(p.b().outcome(*queued), nullptr);
  EXPECT_TRUE(p.b().outcome(*queued)->ok());
  ASSERT_EQ(p.a().messages.size(), 2u);
  ASSERT_EQ(p.a().closes.size(), 1u);
  EXPECT_FALSE(p.a().closes[0].reason);
  ASSERT_EQ(p.b().closes.size(), 1u);
  EXPECT_FALSE(p.b().closes[0].reason);
}

TEST(session_drain, after_the_peers_goaway_new_messages_are_refused) {
  raw_peer peer{quiet()};
  peer.hello();
  // The peer has a message under way when it says GOAWAY: the session drains until it is done.
  peer.frames().open(1, meta("last"), 3);
  peer.frames().goaway(errc::ok);
  peer.send();
  EXPECT_EQ(peer.core().state(), session_state::draining);
  EXPECT_EQ(peer.core().send(meta("new"), pattern(1)).error(),
            std::error_code{runtime_errc::peer_going_away});
  // Nothing was queued here: this side answered GOAWAY at once.
  EXPECT_EQ(peer.goaway_code(), errc::ok);
  protocol::byte_buffer body{1, 2, 3};
  peer.frames().data(1, 0, protocol::byte_view{body});
  peer.frames().end(1, 3, protocol::xxh3_64(protocol::byte_view{body}));
  peer.send();
  EXPECT_EQ(peer.all<received>().size(), 1u);
  EXPECT_EQ(peer.core().state(), session_state::closed);
  EXPECT_EQ(peer.closed_reason(), std::error_code{});
}

TEST(session_drain, a_drain_past_its_deadline_fails_what_is_left) {
  auto receiver = quiet();
  receiver.initial_message_credit = 4096;
  session_pair p{quiet(), receiver};
  p.pump();
  p.b_reads = false;  // B never grants more: the message cannot finish
  auto id = p.a().core.send(meta("stuck"), pattern(1u << 20));
  ASSERT_TRUE(id);
  p.pump();
  p.a().core.shutdown(p.now(), p.now() + 2s);
  p.advance(1900ms);
  EXPECT_EQ(p.a().outcome(*id), nullptr);
  p.advance(200ms);
  ASSERT_NE(p.a().outcome(*id), nullptr);
  EXPECT_EQ(p.a().outcome(*id)->reason, std::error_code{runtime_errc::drain_timeout});
  ASSERT_EQ(p.a().closes.size(), 1u);
  EXPECT_EQ(p.a().closes[0].reason, std::error_code{runtime_errc::drain_timeout});
}

TEST(session_drain, both_sides_closing_at_once_still_close_cleanly) {
  session_pair p{quiet(), quiet()};
  p.pump();
  ASSERT_TRUE(p.a().core.send(meta("a"), pattern(70000)));
  ASSERT_TRUE(p.b().core.send(meta("b"), pattern(70000)));
  p.a().core.shutdown(p.now(), p.now() + 5s);
  p.b().core.shutdown(p.now(), p.now() + 5s);
  p.pump();
  EXPECT_EQ(p.a().messages.size(), 1u);
  EXPECT_EQ(p.b().messages.size(), 1u);
  ASSERT_EQ(p.a().closes.size(), 1u);
  ASSERT_EQ(p.b().closes.size(), 1u);
  EXPECT_FALSE(p.a().closes[0].reason);
  EXPECT_FALSE(p.b().closes[0].reason);
}

TEST(session_drain, shutdown_during_the_handshake_drains_once_the_peer_is_known) {
  session_pair p{quiet(), quiet()};
  auto id = p.a().core.send(meta("early"), pattern(100));
  ASSERT_TRUE(id);
  p.a().core.shutdown(p.now(), p.now() + 5s);
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 1u);
  EXPECT_TRUE(p.a().outcome(*id)->ok());
  ASSERT_EQ(p.a().closes.size(), 1u);
  EXPECT_FALSE(p.a().closes[0].reason);
}

TEST(session_drain, a_goaway_with_an_error_fails_everything_with_that_code) {
  raw_peer peer{quiet()};
  peer.hello();
  auto id = peer.core().send(meta("x"), pattern(100000));
  ASSERT_TRUE(id);
  peer.frames().goaway(errc::protocol_error, "bye");
  peer.send();
  auto outcomes = peer.all<sent>();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].reason, std::error_code{errc::protocol_error});
  auto g = peer.all<peer_goaway>();
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].text, "bye");
  EXPECT_EQ(peer.closed_reason(), std::error_code{errc::protocol_error});
}

TEST(session_drain, the_end_of_the_stream_after_the_peers_goaway_settles_unconfirmed_writes) {
  // A threaded transport reports its writes apart from what it reads: the peer's GOAWAY and the
  // end of the stream can reach the session before the confirmation of its own last write.
  const auto now = clock::time_point{} + 1h;
  side a{quiet(), now};
  side b{quiet(), now};
  // Moves what `from` writes to `to`; the batch carrying a GOAWAY stays unconfirmed unless
  // `confirm_goaway`.
  auto move = [&](side& from, side& to, bool confirm_goaway) {
    while (from.core.wants_write()) {
      const auto& slices = from.core.next_batch();
      if (slices.empty()) return;
      protocol::byte_buffer bytes;
      for (const auto& s : slices) {
        auto p = static_cast<const std::uint8_t*>(s.data);
        bytes.insert(bytes.end(), p, p + s.size);
      }
      bool goaway = false;
      for (const auto& f : decode_all(bytes)) goaway |= f.header.type == frame_type::goaway;
      to.core.feed(protocol::byte_view{bytes}, now);
      if (goaway && !confirm_goaway) return;
      from.core.on_written(bytes.size());
    }
  };
  for (int i = 0; i < 4; ++i) {
    move(a, b, true);
    move(b, a, true);
  }
  auto id = a.core.send(meta("last"), pattern(100));
  ASSERT_TRUE(id);
  a.core.shutdown(now, now + 5s);
  for (int i = 0; i < 4; ++i) {
    move(a, b, false);
    move(b, a, true);
    a.drain_events();
    b.drain_events();
  }
  ASSERT_TRUE(b.core.done());  // B answered with its GOAWAY and closes the stream
  ASSERT_FALSE(a.core.done());
  a.core.on_transport_closed(runtime_errc::disconnected);
  a.drain_events();
  ASSERT_EQ(b.messages.size(), 1u);
  ASSERT_NE(a.outcome(*id), nullptr);
  EXPECT_TRUE(a.outcome(*id)->ok());
  ASSERT_EQ(a.closes.size(), 1u);
  EXPECT_FALSE(a.closes[0].reason) << a.closes[0].reason.message();
}
