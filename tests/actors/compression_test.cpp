// Covers compressed messages through the runtime's public API over TCP on loopback
// (actors/src/connection_actor.cpp: memory bodies the session compresses go to it whole):
// a client that compresses, a server that accepts zstd by default or refuses it, bodies small,
// chunked, incompressible and above the compression bound, and the counters in stats().

#include <netcore/actors/runtime.hpp>

#include <gtest/gtest.h>

#include "../protocol/body_patterns.hpp"
#include "runtime_support.hpp"

#include <map>
#include <string>

using namespace netcore;
using namespace netcore::actors;
using namespace netcore::actors::test;
using protocol::test::noise_bytes;
using protocol::test::text_bytes;

namespace {

class compression_test : public runtime_fixture {
 protected:
  static connection_config compressing() {
    connection_config c;
    c.transforms.apply = protocol::transform_bit(protocol::transform_id::zstd);
    return c;
  }

  /// Sends each body from `from` and checks that `to` receives it intact.
  static void exchange(connection& from, connection& to,
                       const std::map<std::string, protocol::byte_buffer>& bodies) {
    for (const auto& [route, body] : bodies)
      ASSERT_TRUE(from.send(outgoing_message::from_bytes(route, body)));
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      auto m = to.receive(30s);
      ASSERT_TRUE(m) << m.error().reason.message();
      ASSERT_EQ(bodies.count(m->meta.route), 1u) << m->meta.route;
      auto bytes = m->body.read_all();
      ASSERT_TRUE(bytes);
      EXPECT_TRUE(*bytes == bodies.at(m->meta.route)) << m->meta.route;
      m->body.remove_file();
    }
  }

  static std::uint64_t total(const std::map<std::string, protocol::byte_buffer>& bodies) {
    std::uint64_t n = 0;
    for (const auto& entry : bodies) n += entry.second.size();
    return n;
  }
};

}  // namespace

TEST_F(compression_test, a_compressing_client_sends_fewer_bytes_to_a_default_server) {
  auto [client, server] = tcp_pair(compressing());
  const std::map<std::string, protocol::byte_buffer> bodies = {
      {"small", text_bytes(8 << 10, 1)},        // one SINGLE frame
      {"chunked", text_bytes(512 << 10, 2)},    // OPEN, DATA, END even compressed
      {"medium", text_bytes(64 << 10, 3)},      // above single_frame_max, SINGLE compressed
      {"noise", noise_bytes(64 << 10, 4)},      // does not shrink: plain
      {"tiny", text_bytes(100, 5)},             // below transforms.min_size: plain
      {"too_large", text_bytes(3u << 20, 6)}};  // above transforms.max_size: streamed plain
  exchange(client, server, bodies);

  const auto c = client.stats().session, s = server.stats().session;
  EXPECT_EQ(c.compressed.messages, 3u);
  EXPECT_EQ(c.compressed.plain_bytes, (8u << 10) + (512u << 10) + (64u << 10));
  EXPECT_LT(c.compressed.wire_bytes * 3, c.compressed.plain_bytes);
  EXPECT_EQ(c.compression_skipped, 1u);
  EXPECT_EQ(s.decompressed.messages, 3u);
  EXPECT_EQ(s.decompressed.plain_bytes, c.compressed.plain_bytes);
  EXPECT_EQ(s.decompressed.wire_bytes, c.compressed.wire_bytes);
  EXPECT_EQ(s.messages_received, bodies.size());
  // What crossed the socket: the bodies less what compression saved, and framing.
  const std::uint64_t saved = c.compressed.plain_bytes - c.compressed.wire_bytes;
  ASSERT_GT(c.bytes_out + saved, total(bodies));
  EXPECT_LT(c.bytes_out + saved - total(bodies), 16u << 10);
  EXPECT_EQ(s.bytes_in, c.bytes_out);
}

TEST_F(compression_test, a_server_that_refuses_zstd_gets_every_body_plain) {
  connection_config server_config;
  server_config.limits.accepted_transforms = 0;
  auto [client, server] = tcp_pair(compressing(), server_config);
  const std::map<std::string, protocol::byte_buffer> bodies = {{"small", text_bytes(8 << 10, 1)},
                                                               {"medium", text_bytes(64 << 10, 2)}};
  exchange(client, server, bodies);
  const auto c = client.stats().session;
  EXPECT_EQ(c.compressed.messages, 0u);
  EXPECT_EQ(server.stats().session.decompressed.messages, 0u);
  EXPECT_GT(c.bytes_out, total(bodies));
}

TEST_F(compression_test, both_ways_when_both_sides_compress) {
  auto [client, server] = tcp_pair(compressing(), compressing());
  exchange(client, server, {{"up", text_bytes(100 << 10, 7)}});
  exchange(server, client, {{"down", text_bytes(100 << 10, 8)}});
  EXPECT_EQ(client.stats().session.compressed.messages, 1u);
  EXPECT_EQ(client.stats().session.decompressed.messages, 1u);
  EXPECT_EQ(server.stats().session.compressed.messages, 1u);
  EXPECT_EQ(server.stats().session.decompressed.messages, 1u);
  EXPECT_TRUE(client.close().clean());
}
