// Deterministic tests of the link, message and receiver actors on CAF's test scheduler.

#include <netcore/actors/runtime.hpp>

#include "actor_fixture.hpp"

#include <netcore/protocol/encoder.hpp>

#include <map>

using namespace netcore;
using namespace netcore::actors;
using namespace netcore::actors::test;
using protocol::frame_type;

namespace {

outgoing_message body_of(std::size_t n, std::uint8_t priority = 0, std::uint8_t fill = 1) {
  auto m = outgoing_message::from_bytes("r", protocol::byte_buffer(n, fill));
  m.meta.priority = priority;
  return m;
}

std::vector<std::uint64_t> data_ids(const std::vector<wire_frame>& frames) {
  std::vector<std::uint64_t> ids;
  for (const auto& f : frames)
    if (f.header.type == frame_type::data) ids.push_back(f.header.message_id);
  return ids;
}

/// Sends `msg` as message `id` (as connection::send does, without a gate).
void send_message(const caf::actor& link, std::uint64_t id, outgoing_message msg) {
  caf::anon_send(link, send_atom::value, id, std::move(msg), std::uint64_t{0});
}

class link_test : public actor_fixture {
 protected:
  /// Every message chunked (no single frames), no keepalive: each choice of the link shows.
  static connection_config chunked_config() {
    connection_config c;
    c.single_frame_max = 0;
    c.keepalive_interval = std::chrono::milliseconds{0};
    return c;
  }

  /// A running link whose peer announced `peer`.
  caf::actor link_with_peer(const protocol::settings& peer, const connection_config& config) {
    auto link = spawn_link_actor(make_link_params(config));
    run();
    caf::anon_send(link, hello_atom::value, peer);
    return link;
  }

  /// Sends `msgs` to a link whose writer holds back its first write, so everything queues,
  /// then lets the writer go and returns the frames in wire order.
  std::vector<wire_frame> send_all_then_write(std::vector<outgoing_message> msgs,
                                              connection_config config = {}) {
    config.keepalive_interval = std::chrono::milliseconds{0};
    auto p = make_link_params(config);
    p.config.writes_in_flight = 1;
    wire_.hold = true;
    auto link = spawn_link_actor(p);
    run();  // HELLO goes out and is held
    for (std::uint64_t i = 0; i < msgs.size(); ++i)
      caf::anon_send(link, send_atom::value, i + 1, std::move(msgs[i]), std::uint64_t{0});
    run();
    wire_.hold = false;
    release_writes();
    run();
    return decode_wire(wire_.bytes);
  }
};

}  // namespace

TEST_F(link_test, hello_goes_first) {
  auto frames = send_all_then_write({body_of(10)});
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(frames[0].header.type, frame_type::hello);
}

TEST_F(link_test, small_messages_travel_as_single_frames) {
  auto frames = send_all_then_write({body_of(100), body_of(0)});
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[1].header.type, frame_type::open);
  EXPECT_TRUE(frames[1].header.flags & protocol::flags::single);
  EXPECT_EQ(frames[2].header.argument, 0u);
  ASSERT_EQ(rec_.outcomes.size(), 2u);
  EXPECT_TRUE(rec_.outcomes[0].ok());
}

TEST_F(link_test, messages_are_time_sliced_round_robin) {
  connection_config config;
  config.single_frame_max = 0;
  auto frames = send_all_then_write({body_of(3000), body_of(3000), body_of(3000)}, config);
  EXPECT_EQ(data_ids(frames), (std::vector<std::uint64_t>{1, 2, 3, 1, 2, 3, 1, 2, 3}));
  // OPEN comes before a message's first chunk and END after its last.
  std::map<std::uint64_t, std::vector<frame_type>> per_message;
  for (auto& f : frames)
    if (f.header.message_id != 0) per_message[f.header.message_id].push_back(f.header.type);
  for (auto& [id, types] : per_message) {
    EXPECT_EQ(types.front(), frame_type::open) << id;
    EXPECT_EQ(types.back(), frame_type::end) << id;
  }
  ASSERT_EQ(rec_.outcomes.size(), 3u);
  for (auto& o : rec_.outcomes) EXPECT_TRUE(o.ok());
}

TEST_F(link_test, progress_is_reported_as_chunks_are_written) {
  connection_config config;
  config.single_frame_max = 0;
  send_all_then_write({body_of(2500)}, config);
  ASSERT_EQ(rec_.progress.size(), 3u);
  EXPECT_EQ(rec_.progress[0].written, 1000u);
  EXPECT_EQ(rec_.progress[2].written, 2500u);
  EXPECT_EQ(rec_.progress[2].total, 2500u);
}

TEST_F(link_test, sharing_is_fair_by_bytes_not_by_frames) {
  // Message 1 goes out in 1000-byte chunks; messages 2..9 are 8000-byte single frames, which
  // share one lane. Byte fairness gives the lane one 8000-byte frame per eight chunks.
  connection_config config;
  config.single_frame_max = 8000;
  std::vector<outgoing_message> msgs;
  msgs.push_back(body_of(16000));
  for (int i = 0; i < 8; ++i) msgs.push_back(body_of(8000));
  auto frames = send_all_then_write(std::move(msgs), config);
  std::size_t chunk_bytes = 0, single_bytes = 0;
  bool balanced_while_both_active = true;
  for (auto& f : frames) {
    if (f.header.type == frame_type::data) chunk_bytes += f.payload.size();
    if (f.header.type == frame_type::open && (f.header.flags & protocol::flags::single))
      single_bytes += f.header.argument;
    if (chunk_bytes < 16000 && single_bytes < 64000) {
      auto diff =
          chunk_bytes > single_bytes ? chunk_bytes - single_bytes : single_bytes - chunk_bytes;
      if (diff > 8000) balanced_while_both_active = false;
    }
  }
  EXPECT_EQ(chunk_bytes, 16000u);
  EXPECT_EQ(single_bytes, 64000u);
  EXPECT_TRUE(balanced_while_both_active);
}

TEST_F(link_test, higher_priority_is_served_first) {
  connection_config config;
  config.single_frame_max = 0;
  auto frames = send_all_then_write({body_of(2000, 0), body_of(2000, 5), body_of(2000, 5)}, config);
  EXPECT_EQ(data_ids(frames), (std::vector<std::uint64_t>{2, 3, 2, 3, 1, 1}));
}

TEST_F(link_test, chunks_carry_the_body_and_end_carries_its_digest) {
  connection_config config;
  config.single_frame_max = 0;
  protocol::byte_buffer body(2500);
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<std::uint8_t>(i * 7);
  auto frames = send_all_then_write({outgoing_message::from_bytes("x", body)}, config);
  protocol::byte_buffer got;
  for (auto& f : frames) {
    if (f.header.type == frame_type::data) {
      EXPECT_EQ(f.header.argument, got.size());
      got.insert(got.end(), f.payload.begin(), f.payload.end());
    }
    if (f.header.type == frame_type::end) {
      EXPECT_EQ(f.header.argument, body.size());
      EXPECT_EQ(protocol::load_le(f.payload.data(), 8), protocol::xxh3_64(body));
    }
  }
  EXPECT_EQ(got, body);
}

TEST_F(link_test, peer_credit_stalls_one_message_not_the_others) {
  auto config = chunked_config();
  // The peer allows 2000 bytes per message.
  protocol::settings peer;
  peer.initial_message_credit = 2000;
  auto link = link_with_peer(peer, config);
  send_message(link, 1, body_of(5000));
  run();
  auto before = data_ids(decode_wire(wire_.bytes));
  EXPECT_EQ(before, (std::vector<std::uint64_t>{1, 1}));  // stalled after 2000 bytes
  send_message(link, 2, body_of(1000));
  run();
  auto during = data_ids(decode_wire(wire_.bytes));
  EXPECT_EQ(during, (std::vector<std::uint64_t>{1, 1, 2}));  // message 2 is not held up
  caf::anon_send(link, credit_atom::value, std::uint64_t{1}, std::uint64_t{3000});
  run();
  EXPECT_EQ(data_ids(decode_wire(wire_.bytes)), (std::vector<std::uint64_t>{1, 1, 2, 1, 1, 1}));
  ASSERT_EQ(rec_.outcomes.size(), 2u);
}

TEST_F(link_test, connection_credit_stalls_everything_until_granted) {
  auto config = chunked_config();
  protocol::settings peer;
  peer.initial_connection_credit = 1500;
  auto link = link_with_peer(peer, config);
  send_message(link, 1, body_of(3000));
  run();
  EXPECT_EQ(data_ids(decode_wire(wire_.bytes)).size(), 1u);
  caf::anon_send(link, credit_atom::value, std::uint64_t{0}, std::uint64_t{10000});
  run();
  EXPECT_EQ(data_ids(decode_wire(wire_.bytes)).size(), 3u);
}

TEST_F(link_test, message_actor_keeps_at_most_its_window_ahead_of_the_writer) {
  connection_config config;
  config.single_frame_max = 0;
  config.message_window = 2000;
  config.keepalive_interval = std::chrono::milliseconds{0};
  auto p = make_link_params(config);
  p.config.writes_in_flight = 1;
  wire_.hold = true;
  auto link = spawn_link_actor(p);
  run();
  send_message(link, 1, body_of(10000));
  run();
  // The writer holds its first write (HELLO): the message actor produced OPEN + 2 chunks only.
  release_writes(1);  // HELLO done; OPEN goes
  release_writes(1);  // OPEN done; chunk 1 goes
  release_writes(1);  // chunk 1 done: its window returns, chunk 3 is produced
  auto frames = decode_wire(wire_.bytes);
  EXPECT_EQ(data_ids(frames).size(), 2u);
  wire_.hold = false;
  release_writes();
  run();
  EXPECT_EQ(data_ids(decode_wire(wire_.bytes)).size(), 10u);
}

TEST_F(link_test, cancel_tells_the_peer_and_reports_the_outcome) {
  auto config = chunked_config();
  auto p = make_link_params(config);
  p.config.writes_in_flight = 1;
  auto link = spawn_link_actor(p);
  run();
  protocol::settings peer;
  peer.initial_message_credit = 1000;  // the message stalls after one chunk
  caf::anon_send(link, hello_atom::value, peer);
  send_message(link, 1, body_of(5000));
  run();
  caf::anon_send(link, cancel_atom::value, std::uint64_t{1});
  run();
  auto frames = decode_wire(wire_.bytes);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().header.type, frame_type::cancel);
  EXPECT_EQ(frames.back().header.message_id, 1u);
  EXPECT_FALSE(frames.back().header.flags & protocol::flags::peer_origin);
  ASSERT_EQ(rec_.outcomes.size(), 1u);
  EXPECT_EQ(rec_.outcomes[0].error, errc::cancelled);
  // Credit for the cancelled message changes nothing.
  caf::anon_send(link, credit_atom::value, std::uint64_t{1}, std::uint64_t{100000});
  run();
  EXPECT_EQ(decode_wire(wire_.bytes).size(), frames.size());
}

TEST_F(link_test, cancel_after_end_is_on_its_way_changes_nothing) {
  auto config = chunked_config();
  auto p = make_link_params(config);
  p.write_batch = 1u << 20;  // the whole message in one write
  p.config.writes_in_flight = 1;
  wire_.hold = true;
  auto link = spawn_link_actor(p);
  run();  // HELLO's write is held: the message queues up behind it
  send_message(link, 1, body_of(3000));
  run();
  release_writes(1);  // the next write, also held, carries OPEN, every DATA and END
  caf::anon_send(link, cancel_atom::value, std::uint64_t{1});
  run();
  wire_.hold = false;
  release_writes();
  run();
  for (auto& f : decode_wire(wire_.bytes)) EXPECT_NE(f.header.type, frame_type::cancel);
  ASSERT_EQ(rec_.outcomes.size(), 1u);
  EXPECT_TRUE(rec_.outcomes[0].ok());
}

TEST_F(link_test, written_bytes_leave_the_send_gate_before_the_message_ends) {
  auto config = chunked_config();
  auto p = make_link_params(config);
  p.gate = std::make_shared<send_gate>(1u << 20);
  auto link = spawn_link_actor(p);
  run();
  protocol::settings peer;
  peer.initial_message_credit = 2000;  // stalls after two chunks
  caf::anon_send(link, hello_atom::value, peer);
  ASSERT_TRUE(p.gate->acquire(5000 + 256, gate_lane::large));
  caf::anon_send(link, send_atom::value, std::uint64_t{1}, body_of(5000), std::uint64_t{5256});
  run();
  EXPECT_EQ(p.gate->used(gate_lane::large), 5256u - 2000u);
  ASSERT_TRUE(rec_.outcomes.empty());
}

TEST_F(link_test, peer_cancel_ends_the_message_without_a_cancel_back) {
  auto config = chunked_config();
  protocol::settings peer;
  peer.initial_message_credit = 1000;
  auto link = link_with_peer(peer, config);
  send_message(link, 1, body_of(5000));
  run();
  caf::anon_send(link, peer_cancel_atom::value, std::uint64_t{1}, errc::memory_limit);
  run();
  for (auto& f : decode_wire(wire_.bytes)) EXPECT_NE(f.header.type, frame_type::cancel);
  ASSERT_EQ(rec_.outcomes.size(), 1u);
  EXPECT_EQ(rec_.outcomes[0].error, errc::memory_limit);
}

TEST_F(link_test, pings_are_sent_on_schedule_in_virtual_time) {
  connection_config config;
  config.keepalive_interval = std::chrono::milliseconds{1000};
  spawn_link_actor(make_link_params(config));
  run();
  auto pings = [&] {
    std::size_t n = 0;
    for (auto& f : decode_wire(wire_.bytes)) n += f.header.type == frame_type::ping;
    return n;
  };
  EXPECT_EQ(pings(), 0u);
  sched_->advance_time(std::chrono::milliseconds{1000});
  run();
  EXPECT_EQ(pings(), 1u);
  sched_->advance_time(std::chrono::milliseconds{1000});
  run();
  EXPECT_EQ(pings(), 2u);
}

TEST_F(link_test, a_failing_write_fails_every_pending_message) {
  auto config = chunked_config();
  auto p = make_link_params(config);
  p.config.writes_in_flight = 1;
  wire_.hold = true;
  auto link = spawn_link_actor(p);
  run();
  send_message(link, 1, body_of(5000));
  send_message(link, 2, body_of(5000));
  run();
  caf::anon_send(writer_, release_atom::value, errc::disconnected);
  run();
  ASSERT_EQ(rec_.outcomes.size(), 2u);
  for (auto& o : rec_.outcomes) EXPECT_EQ(o.error, errc::disconnected);
  ASSERT_FALSE(rec_.closed.empty());
  EXPECT_EQ(rec_.closed[0], errc::disconnected);
}

// -- receiver ----------------------------------------------------------------------------------

class receiver_test : public actor_fixture {
 protected:
  void feed(const caf::actor& receiver, protocol::encoder& enc) {
    read_buffer rb;
    rb.bytes = std::make_shared<protocol::byte_buffer>();
    enc.flatten_into(*rb.bytes);
    rb.size = rb.bytes->size();
    enc.clear();
    caf::anon_send(receiver, bytes_atom::value, rb);
    run();
  }
};

TEST_F(receiver_test, delivers_complete_messages_and_grants_credit) {
  connection_config config;
  config.keepalive_interval = std::chrono::milliseconds{0};
  config.initial_message_credit = 4000;
  config.initial_connection_credit = 8000;
  auto link = spawn_link_actor(make_link_params(config));
  auto receiver = spawn_receiver_actor(link, config);
  caf::anon_send(link, wire_atom::value, receiver);
  run();
  protocol::byte_buffer body(6000, 9);
  protocol::encoder enc;
  enc.open(1, protocol::message_meta{"up", protocol::content_type::raw, 0, {}}, body.size());
  enc.data(1, 0, protocol::byte_view{body.data(), 3000});
  feed(receiver, enc);
  // Half of the message's credit was stored: a CREDIT for message 1 goes back.
  bool granted = false;
  for (auto& f : decode_wire(wire_.bytes))
    if (f.header.type == frame_type::credit && f.header.message_id == 1) {
      granted = true;
      EXPECT_EQ(f.header.argument, 3000u);
      EXPECT_TRUE(f.header.flags & protocol::flags::peer_origin);
    }
  EXPECT_TRUE(granted);
  enc.data(1, 3000, protocol::byte_view{body.data() + 3000, 3000});
  enc.end(1, body.size(), protocol::xxh3_64(body));
  feed(receiver, enc);
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_EQ(rec_.messages[0].meta.route, "up");
  EXPECT_EQ(rec_.messages[0].body.bytes(), body);
}

TEST_F(receiver_test, a_bad_digest_fails_that_message_and_tells_the_peer) {
  connection_config config;
  config.keepalive_interval = std::chrono::milliseconds{0};
  auto link = spawn_link_actor(make_link_params(config));
  auto receiver = spawn_receiver_actor(link, config);
  run();
  protocol::byte_buffer body(100, 1);
  protocol::encoder enc;
  enc.open(1, {}, body.size());
  enc.data(1, 0, body);
  enc.end(1, body.size(), 12345);
  enc.open_single(2, {}, body);
  feed(receiver, enc);
  ASSERT_EQ(rec_.failures.size(), 1u);
  EXPECT_EQ(rec_.failures[0].error, errc::digest_mismatch);
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_EQ(rec_.messages[0].id, 2u);
  bool cancel_sent = false;
  for (auto& f : decode_wire(wire_.bytes))
    if (f.header.type == frame_type::cancel && f.header.message_id == 1) cancel_sent = true;
  EXPECT_TRUE(cancel_sent);
}

TEST_F(receiver_test, garbage_is_a_typed_error_not_a_crash) {
  connection_config config;
  config.keepalive_interval = std::chrono::milliseconds{0};
  auto link = spawn_link_actor(make_link_params(config));
  auto receiver = spawn_receiver_actor(link, config);
  run();
  read_buffer rb;
  rb.bytes = std::make_shared<protocol::byte_buffer>(10000, 0x4E);
  rb.size = rb.bytes->size();
  caf::anon_send(receiver, bytes_atom::value, rb);
  run();
  protocol::encoder enc;
  protocol::byte_buffer body(10, 3);
  enc.open_single(7, {}, body);
  feed(receiver, enc);
  ASSERT_EQ(rec_.messages.size(), 1u);
  EXPECT_EQ(rec_.messages[0].id, 7u);
}

TEST_F(receiver_test, peer_silence_fails_the_connection_in_virtual_time) {
  connection_config config;
  config.keepalive_interval = std::chrono::milliseconds{1000};
  config.peer_timeout = std::chrono::milliseconds{3000};
  config.single_frame_max = 0;
  auto link = spawn_link_actor(make_link_params(config));
  auto receiver = spawn_receiver_actor(link, config);
  caf::anon_send(link, wire_atom::value, receiver);
  run();
  protocol::settings peer;
  peer.initial_message_credit = 1000;  // keeps our message pending
  caf::anon_send(link, hello_atom::value, peer);
  send_message(link, 1, body_of(5000));
  // A half-received incoming message, to see it fail too.
  protocol::encoder enc;
  enc.open(1, {}, 100);
  feed(receiver, enc);
  for (int s = 0; s < 2; ++s) {
    sched_->advance_time(std::chrono::milliseconds{1000});
    run();
  }
  EXPECT_TRUE(rec_.closed.empty());
  sched_->advance_time(std::chrono::milliseconds{1000});
  run();
  ASSERT_FALSE(rec_.closed.empty());
  EXPECT_EQ(rec_.closed[0], errc::peer_timeout);
  ASSERT_EQ(rec_.outcomes.size(), 1u);
  EXPECT_EQ(rec_.outcomes[0].error, errc::peer_timeout);
  ASSERT_EQ(rec_.failures.size(), 1u);
  EXPECT_EQ(rec_.failures[0].error, errc::peer_timeout);
}

TEST_F(receiver_test, bytes_of_frames_lost_on_the_wire_are_granted_back) {
  connection_config config;
  config.keepalive_interval = std::chrono::milliseconds{0};
  config.initial_connection_credit = 4000;  // grants go out in steps of 1000
  auto link = spawn_link_actor(make_link_params(config));
  auto receiver = spawn_receiver_actor(link, config);
  run();
  protocol::byte_buffer chunk(1000, 5);
  protocol::encoder enc;
  enc.open(1, {}, 5000);
  enc.data(1, 0, chunk);
  enc.data(1, 3000, chunk);  // the chunk at 1000 and the one at 2000 were lost
  feed(receiver, enc);
  std::uint64_t granted = 0;
  for (auto& f : decode_wire(wire_.bytes))
    if (f.header.type == frame_type::credit && f.header.message_id == 0)
      granted += f.header.argument;
  EXPECT_EQ(granted, 4000u);
  ASSERT_EQ(rec_.failures.size(), 1u);
  EXPECT_EQ(rec_.failures[0].error, errc::offset_mismatch);
}

TEST_F(receiver_test, control_frames_reach_the_link) {
  connection_config config;
  config.keepalive_interval = std::chrono::milliseconds{0};
  auto link = spawn_link_actor(make_link_params(config));
  auto receiver = spawn_receiver_actor(link, config);
  run();
  protocol::encoder enc;
  enc.ping(4242);
  feed(receiver, enc);
  bool pong = false;
  for (auto& f : decode_wire(wire_.bytes))
    if (f.header.type == frame_type::pong && f.header.argument == 4242) pong = true;
  EXPECT_TRUE(pong);
}
