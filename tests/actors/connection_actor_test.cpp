// The connection actor on CAF's deterministic test scheduler, in virtual time: its typed
// interface (send with reply, fire and forget, cancel, attach, subscribe, close, stats) against a
// peer that is a plain session core fed with what the actor's writer saw.

#include "connection_actor.hpp"

#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/session/core.hpp>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <vector>

using namespace netcore;
using namespace netcore::actors;
using namespace netcore::actors::detail;
using namespace std::chrono_literals;

namespace {

/// What the fake writer saw.
struct wire_log {
  protocol::byte_buffer bytes;
  std::size_t taken = 0;  // bytes already fed to the peer
  bool hold = false;      // keep write replies back (a slow transport)
  std::deque<caf::typed_response_promise<written_atom>> held;
};

/// Makes the fake writer answer its oldest held write (promises are delivered by their owner).
using release_atom = caf::atom_constant<caf::atom("release")>;

caf::behavior fake_writer(caf::event_based_actor* self, wire_log* log) {
  return {
      [log](release_atom) {
        if (log->held.empty()) return;
        auto rp = log->held.front();
        log->held.pop_front();
        rp.deliver(written_atom::value);
      },
      [self, log](write_atom, write_job& job) -> caf::result<written_atom> {
        for (const auto& s : job.slices) {
          auto p = static_cast<const std::uint8_t*>(s.data);
          log->bytes.insert(log->bytes.end(), p, p + s.size);
        }
        if (!log->hold) return written_atom::value;
        auto rp = self->make_response_promise<written_atom>();
        log->held.push_back(rp);
        return rp;
      },
  };
}

/// What the sinks saw.
struct record {
  std::vector<protocol::incoming_message> messages;
  std::vector<incoming_failure> failures;
  std::vector<send_outcome> outcomes;
  std::vector<send_progress> progress;
  std::vector<connection_closed> closed;
  std::vector<send_outcome> replies;  // to requests
};

delivery_sink::behavior_type recording_sink(delivery_sink::pointer, record* rec) {
  return {
      [rec](deliver_atom, delivery& d) {
        for (auto& m : d.messages) rec->messages.push_back(std::move(m));
        for (auto& f : d.failures) rec->failures.push_back(f);
        return caf::ok_atom::value;
      },
  };
}

event_sink::behavior_type recording_events(event_sink::pointer, record* rec) {
  return {
      [rec](outcome_atom, send_outcome& o) { rec->outcomes.push_back(o); },
      [rec](progress_atom, send_progress& p) { rec->progress.push_back(p); },
      [rec](closed_atom, connection_closed& c) { rec->closed.push_back(c); },
  };
}

session::session_config quiet_session() {
  session::session_config c;
  c.keepalive_interval = 0ms;
  c.peer_timeout = 0ms;
  return c;
}

class connection_actor_test : public ::testing::Test {
 protected:
  connection_actor_test() {
    cfg_.set("scheduler.policy", caf::atom("testing"));
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    apply(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
    writer_ = sys_->spawn(fake_writer, &wire_);
    sink_ = sys_->spawn(recording_sink, &rec_);
    events_ = sys_->spawn(recording_events, &rec_);
  }

  ~connection_actor_test() override {
    wire_.hold = false;
    while (!wire_.held.empty()) {
      caf::anon_send(writer_, release_atom::value);
      sched_->run();
    }
    if (conn_) caf::anon_send(conn_, abort_atom::value);
    for (auto a : {caf::actor_cast<caf::actor>(writer_), caf::actor_cast<caf::actor>(sink_),
                   caf::actor_cast<caf::actor>(events_)})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched_->run();
  }

  static connection_config quiet() {
    connection_config c;
    c.keepalive_interval = 0ms;
    c.peer_timeout = 0ms;
    c.chunk_size = 1000;
    c.write_batch = 64u << 10;
    c.read_size = 4096;
    c.message_window = 4000;
    c.spill_to_files = false;
    return c;
  }

  /// Spawns the connection actor under test and a peer session of `peer_cfg`.
  void start(connection_config cfg = quiet(), session::session_config peer_cfg = quiet_session()) {
    connection_params p;
    p.config = std::move(cfg);
    p.ids = std::make_shared<session::id_source>();
    p.test_writer = caf::actor_cast<writer_actor>(writer_);
    p.events = events_;
    conn_ = spawn_connection(*sys_, std::move(p));
    caf::anon_send(conn_, subscribe_atom::value, events_);
    peer_ = std::make_unique<session::core>(peer_cfg, sys_->clock().now());
    sched_->run();
  }

  /// Moves bytes both ways until nothing moves (the peer reads and answers unless `peer_mute`).
  void exchange() {
    for (int round = 0; round < 10000; ++round) {
      sched_->run();
      bool moved = false;
      if (wire_.taken < wire_.bytes.size()) {
        peer_->feed(
            protocol::byte_view{wire_.bytes.data() + wire_.taken, wire_.bytes.size() - wire_.taken},
            sys_->clock().now());
        wire_.taken = wire_.bytes.size();
        moved = true;
      }
      while (auto e = peer_->poll()) peer_events_.push_back(std::move(*e));
      while (!peer_mute_ && peer_->wants_write()) {
        const auto& slices = peer_->next_batch();
        if (slices.empty()) break;
        read_buffer rb;
        rb.bytes = std::make_shared<protocol::byte_buffer>();
        for (const auto& s : slices) {
          auto q = static_cast<const std::uint8_t*>(s.data);
          rb.bytes->insert(rb.bytes->end(), q, q + s.size);
        }
        rb.size = rb.bytes->size();
        peer_->on_written(rb.size);
        caf::anon_send(conn_, bytes_atom::value, std::move(rb));
        moved = true;
      }
      if (!moved && !sched_->has_job()) return;
    }
    ADD_FAILURE() << "exchange did not settle";
  }

  /// Messages the peer received.
  std::vector<protocol::incoming_message> peer_messages() {
    std::vector<protocol::incoming_message> out;
    for (auto& e : peer_events_)
      if (auto r = std::get_if<session::received>(&e)) out.push_back(r->message);
    return out;
  }

  /// Requests (send_atom, msg) from a helper actor, or with `wait` (send_atom, wait_atom, msg):
  /// a full queue then makes the message wait for room. The reply lands in rec_.replies.
  void request_send(outgoing_message msg, bool wait = false) {
    auto conn = conn_;
    auto rec = &rec_;
    sys_->spawn([conn, rec, msg, wait](caf::event_based_actor* self) mutable {
      auto record = [rec](send_outcome& o) { rec->replies.push_back(o); };
      if (wait)
        self->request(conn, caf::infinite, send_atom::value, wait_atom::value, std::move(msg))
            .then(record);
      else
        self->request(conn, caf::infinite, send_atom::value, std::move(msg)).then(record);
    });
  }

  static outgoing_message body(std::string route, std::size_t n, std::uint8_t fill = 1) {
    return outgoing_message::from_bytes(std::move(route), protocol::byte_buffer(n, fill));
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  wire_log wire_;
  record rec_;
  caf::actor writer_;
  delivery_sink sink_;
  event_sink events_;
  connection_impl_actor conn_;
  std::unique_ptr<session::core> peer_;
  std::vector<session::event> peer_events_;
  bool peer_mute_ = false;
};

}  // namespace

TEST_F(connection_actor_test, a_send_request_is_answered_once_the_message_is_written) {
  start();
  request_send(body("req", 100));
  sched_->run();
  EXPECT_TRUE(rec_.replies.empty());  // the peer's HELLO has not come yet: nothing is written
  exchange();
  ASSERT_EQ(rec_.replies.size(), 1u);
  EXPECT_TRUE(rec_.replies[0].ok()) << rec_.replies[0].error.message();
  auto got = peer_messages();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].meta.route, "req");
  EXPECT_EQ(got[0].body.size(), 100u);
  // The event sink heard the same outcome.
  ASSERT_EQ(rec_.outcomes.size(), 1u);
  EXPECT_EQ(rec_.outcomes[0].id, rec_.replies[0].id);
}

TEST_F(connection_actor_test, fire_and_forget_sends_take_ids_from_the_shared_source) {
  start();
  caf::anon_send(conn_, send_atom::value, std::uint64_t{41}, body("a", 10));
  caf::anon_send(conn_, send_atom::value, std::uint64_t{42},
                 outgoing_batch{body("b", 10), body("c", 10)});
  exchange();
  ASSERT_EQ(peer_messages().size(), 3u);
  std::vector<std::uint64_t> ids;
  for (auto& o : rec_.outcomes) ids.push_back(o.id);
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{41, 42, 43}));
}

TEST_F(connection_actor_test, deliveries_wait_for_a_sink_and_then_arrive_in_order) {
  start();
  exchange();
  for (int i = 0; i < 3; ++i) {
    protocol::message_meta m;
    m.route = "in/" + std::to_string(i);
    peer_->send(m, std::make_shared<protocol::byte_buffer>(50, 1));
  }
  exchange();
  EXPECT_TRUE(rec_.messages.empty());  // no sink attached yet
  caf::anon_send(conn_, attach_atom::value, sink_);
  exchange();
  ASSERT_EQ(rec_.messages.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(rec_.messages[i].meta.route, "in/" + std::to_string(i));
}

TEST_F(connection_actor_test, multi_frame_bodies_come_from_a_producer_within_its_window) {
  start();
  exchange();
  wire_.hold = true;  // nothing written completes: the producer must stop at its window
  caf::anon_send(conn_, send_atom::value, std::uint64_t{7}, body("big", 100000, 3));
  sched_->run();
  // At most the window (4000) of DATA beyond what was written (nothing) reached the writer.
  std::uint64_t data = 0;
  protocol::limits lim;
  protocol::decoder dec{lim};
  protocol::byte_view in{wire_.bytes.data() + wire_.taken, wire_.bytes.size() - wire_.taken};
  for (;;) {
    auto r = dec.next(in);
    if (r.status != protocol::decode_status::frame) break;
    if (r.frame.header.type == protocol::frame_type::data) data += r.frame.payload.size();
  }
  EXPECT_GT(data, 0u);
  EXPECT_LE(data, 4000u);
  wire_.hold = false;
  for (int i = 0; i < 100 && !wire_.held.empty(); ++i) {
    caf::anon_send(writer_, release_atom::value);
    sched_->run();
  }
  exchange();
  auto got = peer_messages();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body.bytes(), protocol::byte_buffer(100000, 3));
  ASSERT_FALSE(rec_.progress.empty());
  EXPECT_EQ(rec_.progress.back().written, 100000u);
}

TEST_F(connection_actor_test, a_full_queue_answers_backpressure_not_a_silent_drop) {
  auto cfg = quiet();
  cfg.max_queued_messages = 2;
  start(cfg);
  // The peer never says HELLO: messages queue.
  for (int i = 0; i < 4; ++i) request_send(body("q", 10));
  sched_->run();
  ASSERT_EQ(rec_.replies.size(), 2u);
  for (auto& r : rec_.replies) EXPECT_EQ(r.error, std::error_code{runtime_errc::backpressure});
}

TEST_F(connection_actor_test, a_waiting_send_waits_for_room_and_keeps_its_order) {
  auto cfg = quiet();
  cfg.max_queued_messages = 2;
  cfg.max_waiting_sends = 3;
  start(cfg);
  // The peer has not said HELLO: two messages fill the queue, three wait, the sixth is refused.
  for (int i = 0; i < 6; ++i) request_send(body("w/" + std::to_string(i), 10), true);
  sched_->run();
  ASSERT_EQ(rec_.replies.size(), 1u);
  EXPECT_EQ(rec_.replies[0].error, std::error_code{runtime_errc::backpressure});
  // The peer's HELLO lets the queue drain: the waiting ones follow, in the order they came.
  exchange();
  ASSERT_EQ(rec_.replies.size(), 6u);
  for (std::size_t i = 1; i < 6; ++i) EXPECT_TRUE(rec_.replies[i].ok()) << i;
  auto got = peer_messages();
  ASSERT_EQ(got.size(), 5u);
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i].meta.route, "w/" + std::to_string(i));
}

TEST_F(connection_actor_test, waiting_sends_fail_when_the_connection_ends) {
  auto cfg = quiet();
  cfg.max_queued_messages = 1;
  start(cfg);
  for (int i = 0; i < 3; ++i) request_send(body("w", 10), true);
  sched_->run();
  EXPECT_TRUE(rec_.replies.empty());
  caf::anon_send(conn_, abort_atom::value);
  sched_->run();
  ASSERT_EQ(rec_.replies.size(), 3u);  // every one answered, none dropped
  for (auto& r : rec_.replies) EXPECT_FALSE(r.ok());
}

TEST_F(connection_actor_test, cancel_reaches_the_peer) {
  auto peer = quiet_session();
  peer.initial_message_credit = 2000;
  start(quiet(), peer);
  exchange();
  peer_mute_ = true;  // no grants: the message stalls after 2000 bytes
  caf::anon_send(conn_, send_atom::value, std::uint64_t{5}, body("big", 50000));
  exchange();
  caf::anon_send(conn_, cancel_atom::value, std::uint64_t{5});
  peer_mute_ = false;
  exchange();
  ASSERT_EQ(rec_.outcomes.size(), 1u);
  EXPECT_EQ(rec_.outcomes[0].error, std::error_code{wire_errc::cancelled});
  bool peer_failed = false;
  for (auto& e : peer_events_)
    if (auto f = std::get_if<session::receive_failed>(&e))
      peer_failed = f->id == 5 && f->reason == std::error_code{wire_errc::cancelled};
  EXPECT_TRUE(peer_failed);
}

TEST_F(connection_actor_test, close_drains_answers_clean_and_the_actor_quits) {
  start();
  exchange();
  caf::anon_send(conn_, send_atom::value, std::uint64_t{1}, body("last", 30000));
  std::vector<connection_closed> answers;
  bool down = false;
  auto conn = conn_;
  auto watcher = sys_->spawn([conn, &answers, &down](caf::event_based_actor* self) {
    self->monitor(conn);
    self->set_down_handler([&down](caf::down_msg&) { down = true; });
    self->request(conn, caf::infinite, close_atom::value, caf::timespan{5s})
        .then([&answers](connection_closed& c) { answers.push_back(c); });
    return caf::behavior{[](int) {}};  // stays alive to hear the connection go down
  });
  exchange();
  ASSERT_EQ(rec_.outcomes.size(), 1u);
  EXPECT_TRUE(rec_.outcomes[0].ok());
  // The peer answered the GOAWAY; both are drained: a clean close.
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(answers[0].clean()) << answers[0].reason.message();
  ASSERT_EQ(rec_.closed.size(), 1u);
  EXPECT_TRUE(rec_.closed[0].clean());
  EXPECT_TRUE(down);
  caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
  conn_ = nullptr;
}

TEST_F(connection_actor_test, a_silent_peer_times_out_in_virtual_time) {
  auto cfg = quiet();
  cfg.keepalive_interval = 1s;
  cfg.peer_timeout = 3s;
  start(cfg);
  exchange();
  peer_mute_ = true;
  for (int i = 0; i < 40 && rec_.closed.empty(); ++i) {
    sched_->advance_time(100ms);
    exchange();
  }
  std::size_t pings = 0;
  protocol::limits lim;
  protocol::decoder dec{lim};
  protocol::byte_view in{wire_.bytes};
  for (;;) {
    auto r = dec.next(in);
    if (r.status != protocol::decode_status::frame) break;
    pings += r.frame.header.type == protocol::frame_type::ping;
  }
  EXPECT_GE(pings, 2u);
  ASSERT_EQ(rec_.closed.size(), 1u);
  EXPECT_EQ(rec_.closed[0].reason, std::error_code{wire_errc::peer_timeout});
  conn_ = nullptr;
}

TEST_F(connection_actor_test, stats_come_in_one_call) {
  start();
  exchange();
  caf::anon_send(conn_, send_atom::value, std::uint64_t{1}, body("s", 500));
  exchange();
  std::vector<connection_stats> got;
  auto conn = conn_;
  sys_->spawn([conn, &got](caf::event_based_actor* self) {
    self->request(conn, caf::infinite, stats_atom::value).then([&got](connection_stats& s) {
      got.push_back(s);
    });
  });
  sched_->run();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].open);
  EXPECT_EQ(got[0].session.messages_sent, 1u);
  EXPECT_GT(got[0].session.bytes_out, 500u);
  EXPECT_EQ(got[0].transport, "test");
}

namespace {

/// A frame the session must treat as a protocol violation: a message opened under id 0.
read_buffer violating_frame() {
  protocol::encoder enc;
  protocol::message_meta meta;
  meta.route = "bad";
  const std::uint8_t body[1] = {0};
  enc.open_single(0, meta, protocol::byte_view{body, 1});
  read_buffer rb;
  rb.bytes = std::make_shared<protocol::byte_buffer>();
  for (const auto& s : enc.slices()) {
    auto p = static_cast<const std::uint8_t*>(s.data);
    rb.bytes->insert(rb.bytes->end(), p, p + s.size);
  }
  rb.size = rb.bytes->size();
  return rb;
}

/// Watches `conn` go down.
caf::actor watch_down(caf::actor_system& sys, connection_impl_actor conn, bool* down) {
  return sys.spawn([conn, down](caf::event_based_actor* self) {
    self->monitor(conn);
    self->set_down_handler([down](caf::down_msg&) { *down = true; });
    return caf::behavior{[](int) {}};
  });
}

}  // namespace

TEST_F(connection_actor_test,
       an_ended_session_whose_goaway_is_never_written_quits_after_the_linger) {
  auto cfg = quiet();
  cfg.linger = 2s;
  start(cfg);
  exchange();
  bool down = false;
  auto watcher = watch_down(*sys_, conn_, &down);
  wire_.hold = true;  // the transport takes no more bytes: the GOAWAY(error) stays in flight
  caf::anon_send(conn_, bytes_atom::value, violating_frame());
  sched_->run();
  ASSERT_EQ(rec_.closed.size(), 1u);
  EXPECT_TRUE(rec_.closed[0].reason) << "a violation reported as a clean end";
  EXPECT_FALSE(down) << "quit before the linger, without its last frame";
  sched_->advance_time(2500ms);
  sched_->run();
  EXPECT_TRUE(down) << "the connection actor waits forever for a write that never completes";
  caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
  conn_ = nullptr;
}

TEST_F(connection_actor_test, abort_ends_the_actor_at_once_even_while_its_last_write_hangs) {
  start();
  exchange();
  bool down = false;
  auto watcher = watch_down(*sys_, conn_, &down);
  wire_.hold = true;
  caf::anon_send(conn_, bytes_atom::value, violating_frame());
  sched_->run();
  ASSERT_EQ(rec_.closed.size(), 1u);
  caf::anon_send(conn_, abort_atom::value);
  sched_->run();
  EXPECT_TRUE(down) << "abort() did not end a connection whose last write hangs";
  caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
  conn_ = nullptr;
}
