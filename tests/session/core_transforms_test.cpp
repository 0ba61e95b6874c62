// Covers session/src/transforms.cpp and compressed messages between two session cores:
// negotiation (both sides take zstd: compressed on the wire, fewer bytes; either side without:
// plain), bodies queued during the handshake, the size range and the peer's decoded-size bound,
// incompressible and streamed bodies plain, and a round trip of many sizes around the thresholds
// (rapidcheck). A raw peer's transformed messages: core_transforms_adversary_test.cpp.

#include <netcore/session/core.hpp>

#include "../protocol/body_patterns.hpp"
#include "session_pair.hpp"

#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <string>

using namespace netcore;
using namespace netcore::session;
using namespace netcore::session::test;
using protocol::test::noise_bytes;
using protocol::test::text_bytes;

namespace {

constexpr std::uint64_t zstd_bit = protocol::transform_bit(protocol::transform_id::zstd);

session_config quiet() {
  session_config c;
  c.keepalive_interval = 0ms;
  c.peer_timeout = 0ms;
  return c;
}

session_config compressing() {
  session_config c = quiet();
  c.transforms.apply = zstd_bit;
  return c;
}

shared_body share(protocol::byte_buffer b) {
  return std::make_shared<const protocol::byte_buffer>(std::move(b));
}

/// The OPEN frames one side wrote.
std::vector<wire_frame> opens(const side& s) {
  std::vector<wire_frame> out;
  for (auto& f : s.frames())
    if (f.header.type == frame_type::open) out.push_back(f);
  return out;
}

bool transformed(const wire_frame& f) {
  return (f.header.flags & protocol::flags::transformed) != 0;
}

/// Sends `body` from a to b over a fresh pair and returns the bytes a wrote.
std::size_t wire_bytes_for(session_config a, session_config b, const shared_body& body) {
  session_pair p{std::move(a), std::move(b)};
  p.pump();
  EXPECT_TRUE(p.a().core.send(meta("m"), body));
  p.pump();
  EXPECT_EQ(p.b().messages.size(), 1u);
  return p.a().wrote.size();
}

/// The settings in the HELLO among `frames`.
protocol::settings announced_in(const std::vector<wire_frame>& frames) {
  protocol::settings s;
  for (auto& f : frames) {
    if (f.header.type == frame_type::hello) {
      EXPECT_EQ(protocol::decode_settings(protocol::byte_view{f.payload}, s), errc::ok);
    }
  }
  return s;
}

protocol::transform_chain zstd_chain(std::uint64_t decoded) {
  protocol::transform_chain c;
  c.push(protocol::transform_id::zstd, decoded);
  return c;
}

}  // namespace

TEST(session_transforms, both_sides_with_zstd_put_fewer_bytes_on_the_wire) {
  const auto body = share(text_bytes(64 << 10));
  session_pair p{compressing(), quiet()};
  p.pump();
  auto id = p.a().core.send(meta("logs"), body);
  ASSERT_TRUE(id);
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 1u);
  EXPECT_EQ(p.b().messages[0].message.body.bytes(), *body);
  EXPECT_EQ(p.b().messages[0].message.meta.route, "logs");
  ASSERT_NE(p.a().outcome(*id), nullptr);
  EXPECT_TRUE(p.a().outcome(*id)->ok());

  // On the wire: one transformed SINGLE frame naming zstd and the original size.
  auto o = opens(p.a());
  ASSERT_EQ(o.size(), 1u);
  EXPECT_TRUE(transformed(o[0]));
  EXPECT_NE(o[0].header.flags & protocol::flags::single, 0);
  protocol::transform_chain chain;
  std::size_t consumed = 0;
  ASSERT_EQ(protocol::decode_transforms(protocol::byte_view{o[0].payload}, chain, consumed),
            errc::ok);
  EXPECT_EQ(chain, zstd_chain(body->size()));
  EXPECT_LT(o[0].header.argument, body->size() / 3);

  const auto a = p.a().core.stats(), b = p.b().core.stats();
  EXPECT_EQ(a.compressed.messages, 1u);
  EXPECT_EQ(a.compressed.plain_bytes, body->size());
  EXPECT_EQ(a.compressed.wire_bytes, o[0].header.argument);
  EXPECT_EQ(b.decompressed.messages, 1u);
  EXPECT_EQ(b.decompressed.plain_bytes, body->size());
  EXPECT_EQ(b.decompressed.wire_bytes, o[0].header.argument);
  EXPECT_EQ(b.messages_received, 1u);

  // The same body plain costs more than three times the bytes.
  EXPECT_LT(3 * wire_bytes_for(compressing(), quiet(), body),
            wire_bytes_for(quiet(), quiet(), body));
}

TEST(session_transforms, a_receiver_that_does_not_announce_zstd_gets_plain_bodies) {
  auto b = quiet();
  b.limits.accepted_transforms = 0;
  session_pair p{compressing(), b};
  p.pump();
  // B's HELLO says it undoes nothing.
  EXPECT_EQ(announced_in(p.b().frames()).accepted_transforms, 0u);
  EXPECT_FALSE(p.a().core.may_transform(64 << 10));

  const auto body = share(text_bytes(64 << 10));
  ASSERT_TRUE(p.a().core.send(meta("m"), body));
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 1u);
  EXPECT_EQ(p.b().messages[0].message.body.bytes(), *body);
  for (auto& f : opens(p.a())) EXPECT_FALSE(transformed(f));
  EXPECT_EQ(p.a().core.stats().compressed.messages, 0u);
  EXPECT_EQ(p.a().core.stats().compression_skipped, 0u);  // never tried
}

TEST(session_transforms, a_sender_without_it_enabled_sends_plain_bodies) {
  session_pair p{quiet(), compressing()};
  p.pump();
  const auto body = share(text_bytes(64 << 10));
  ASSERT_TRUE(p.a().core.send(meta("m"), body));
  ASSERT_TRUE(p.b().core.send(meta("back"), body));
  p.pump();
  for (auto& f : opens(p.a())) EXPECT_FALSE(transformed(f));
  ASSERT_EQ(opens(p.b()).size(), 1u);
  EXPECT_TRUE(transformed(opens(p.b())[0]));  // the other way round it compresses
  ASSERT_EQ(p.a().messages.size(), 1u);
  EXPECT_EQ(p.a().messages[0].message.body.bytes(), *body);
  EXPECT_EQ(p.b().messages[0].message.body.bytes(), *body);
}

TEST(session_transforms, an_older_peer_that_announces_nothing_gets_plain_bodies) {
  raw_peer peer{compressing()};
  peer.hello(protocol::settings{});  // settings 1-5 only
  ASSERT_TRUE(peer.core().send(meta("m"), share(text_bytes(20000))));
  peer.collect();
  raw_peer modern{compressing()};
  protocol::settings s;
  s.accepted_transforms = zstd_bit;
  modern.hello(s);
  ASSERT_TRUE(modern.core().send(meta("m"), share(text_bytes(20000))));
  modern.collect();
  for (auto* x : {&peer, &modern}) {
    for (auto& f : x->written()) {
      if (f.header.type != frame_type::open) continue;
      EXPECT_EQ(transformed(f), x == &modern);
    }
  }
}

TEST(session_transforms, bodies_queued_during_the_handshake_are_compressed_once_it_is_done) {
  session_pair p{compressing(), quiet()};
  EXPECT_TRUE(p.a().core.may_transform(64 << 10));  // assumed until the peer's HELLO says
  const auto small = share(text_bytes(10000, 1));   // a SINGLE frame
  const auto large = share(text_bytes(300000, 2));  // OPEN, DATA, END even compressed
  const auto noise = share(noise_bytes(10000, 3));
  ASSERT_TRUE(p.a().core.send(meta("small"), small));
  ASSERT_TRUE(p.a().core.send(meta("large"), large));
  ASSERT_TRUE(p.a().core.send(meta("noise"), noise));
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 3u);
  for (auto& m : p.b().messages) {
    const auto& want = m.message.meta.route == "small"   ? small
                       : m.message.meta.route == "large" ? large
                                                         : noise;
    EXPECT_EQ(m.message.body.bytes(), *want) << m.message.meta.route;
  }
  // Small and large go transformed (large as OPEN, DATA, END), noise as it is.
  std::size_t singles = 0, flagged = 0;
  for (auto& f : opens(p.a())) {
    singles += (f.header.flags & protocol::flags::single) != 0;
    flagged += transformed(f);
  }
  EXPECT_EQ(singles, 2u);
  EXPECT_EQ(flagged, 2u);
  EXPECT_EQ(p.a().core.stats().compressed.messages, 2u);
  EXPECT_EQ(p.a().core.stats().compression_skipped, 1u);
  EXPECT_EQ(p.b().core.stats().decompressed.messages, 2u);
  for (auto& o : p.a().outcomes) EXPECT_TRUE(o.ok());
}

TEST(session_transforms, large_compressed_bodies_go_in_chunks_and_report_wire_progress) {
  auto a = compressing();
  a.transforms.max_size = 4u << 20;
  auto b = quiet();
  b.limits.max_decoded_size = 4u << 20;
  session_pair p{a, b};
  p.pump();
  const auto body = share(text_bytes(3u << 20, 5));
  auto id = p.a().core.send(meta("bulk"), body);
  ASSERT_TRUE(id);
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 1u);
  EXPECT_EQ(p.b().messages[0].message.body.bytes(), *body);
  const auto wire = p.a().core.stats().compressed.wire_bytes;
  EXPECT_LT(wire, body->size() / 3);
  std::uint64_t progressed = 0;
  for (auto& pr : p.a().progressed) {
    EXPECT_EQ(pr.total, wire);  // progress counts the bytes that travel
    progressed += pr.delta;
  }
  EXPECT_EQ(progressed, wire);
  ASSERT_NE(p.a().outcome(*id), nullptr);
  EXPECT_TRUE(p.a().outcome(*id)->ok());
}

TEST(session_transforms, only_bodies_within_the_size_range_and_the_peers_bound_are_compressed) {
  auto a = compressing();
  a.transforms.min_size = 5000;
  a.transforms.max_size = 50000;
  auto b = quiet();
  b.limits.max_decoded_size = 30000;
  session_pair p{a, b};
  p.pump();
  EXPECT_FALSE(p.a().core.may_transform(4999));
  EXPECT_TRUE(p.a().core.may_transform(5000));
  EXPECT_TRUE(p.a().core.may_transform(30000));
  EXPECT_FALSE(p.a().core.may_transform(30001));  // the peer takes no more decoded
  for (std::size_t n : {4999u, 5000u, 30000u, 30001u, 60000u})
    ASSERT_TRUE(p.a().core.send(meta(std::to_string(n)), share(text_bytes(n))));
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 5u);
  for (auto& m : p.b().messages) EXPECT_EQ(m.message.body.size(), std::stoul(m.message.meta.route));
  EXPECT_EQ(p.a().core.stats().compressed.messages, 2u);
  EXPECT_EQ(p.a().core.stats().compressed.plain_bytes, 35000u);
}

TEST(session_transforms, incompressible_and_streamed_bodies_go_plain) {
  session_pair p{compressing(), quiet()};
  p.pump();
  const auto noise = share(noise_bytes(64 << 10));
  ASSERT_TRUE(p.a().core.send(meta("noise"), noise));
  const auto text = text_bytes(40000);
  auto stream = p.a().core.open_stream(meta("stream"), text.size());
  ASSERT_TRUE(stream);
  auto owner = share(text);
  ASSERT_FALSE(p.a().core.push(*stream, protocol::byte_view{*owner}, owner));
  ASSERT_FALSE(p.a().core.finish(*stream, protocol::xxh3_64(protocol::byte_view{*owner})));
  p.pump();
  ASSERT_EQ(p.b().messages.size(), 2u);
  for (auto& f : opens(p.a())) EXPECT_FALSE(transformed(f));
  EXPECT_EQ(p.a().core.stats().compression_skipped, 1u);
  EXPECT_EQ(p.a().core.stats().compressed.messages, 0u);
  for (auto& m : p.b().messages)
    EXPECT_EQ(m.message.body.bytes(), m.message.meta.route == "noise" ? *noise : text);
}

RC_GTEST_PROP(session_transforms, bodies_of_every_size_around_the_bounds_arrive_intact, ()) {
  auto a = compressing();
  a.transforms.min_size = 4096;
  a.transforms.max_size = 40000;
  a.single_frame_max = 8192;  // compressed bodies go both as SINGLE frames and in chunks
  a.chunk_size = 4096;
  a.transforms.zstd_level = *rc::gen::inRange(-2, 4);
  const auto near = [](std::size_t at) { return rc::gen::inRange(at - 40, at + 40); };
  const auto sizes = *rc::gen::container<std::vector<std::size_t>>(
      *rc::gen::inRange<std::size_t>(1, 6),
      rc::gen::oneOf(near(4096), near(8192), near(40000), rc::gen::inRange<std::size_t>(0, 90000)));
  session_pair p{a, quiet()};
  if (*rc::gen::arbitrary<bool>()) p.pump();  // queued before or after the handshake
  std::map<std::string, shared_body> bodies;
  std::size_t expect_compressed = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const bool text = *rc::gen::arbitrary<bool>();
    auto body = share(text ? text_bytes(sizes[i], i) : noise_bytes(sizes[i], i));
    if (text && sizes[i] >= 4096 && sizes[i] <= 40000) ++expect_compressed;
    bodies[std::to_string(i)] = body;
    RC_ASSERT(p.a().core.send(meta(std::to_string(i)), body));
  }
  p.pump();
  RC_ASSERT(p.b().messages.size() == sizes.size());
  for (auto& m : p.b().messages) RC_ASSERT(m.message.body.bytes() == *bodies[m.message.meta.route]);
  RC_ASSERT(p.a().core.stats().compressed.messages == expect_compressed);
  RC_ASSERT(p.b().core.stats().decompressed.messages == expect_compressed);
  RC_ASSERT(p.b().failures.empty());
}
