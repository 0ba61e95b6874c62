// Covers the receive side of transformed messages in session::core (core_receive.cpp and the
// reassembler beneath it) against a raw peer: a transform this side did not announce or does not
// know ends the connection; a corrupt or mis-sized body fails its message only; a declared size
// over the limit is refused at OPEN and the connection goes on.

#include <netcore/session/core.hpp>

#include <netcore/protocol/transform_codec.hpp>

#include "../protocol/body_patterns.hpp"
#include "session_pair.hpp"

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

protocol::transform_chain zstd_chain(std::uint64_t decoded) {
  protocol::transform_chain c;
  c.push(protocol::transform_id::zstd, decoded);
  return c;
}

protocol::byte_buffer zstd(const protocol::byte_buffer& plain) {
  protocol::transform_codec codec;
  protocol::transformed_body t;
  EXPECT_TRUE(codec.apply(zstd_bit, plain, {}, t));
  return t.bytes;
}

/// The transforms announced in the HELLO among `frames`.
std::uint64_t announced_transforms(const std::vector<wire_frame>& frames) {
  protocol::settings s;
  for (auto& f : frames) {
    if (f.header.type == frame_type::hello) {
      EXPECT_EQ(protocol::decode_settings(protocol::byte_view{f.payload}, s), errc::ok);
    }
  }
  return s.accepted_transforms;
}

}  // namespace

TEST(session_transforms_adversary, a_transform_this_side_did_not_announce_ends_the_connection) {
  auto c = quiet();
  c.limits.accepted_transforms = 0;
  raw_peer peer{c};
  peer.hello();
  const auto plain = text_bytes(9000);
  const auto wire = zstd(plain);
  peer.frames().open_single(1, meta("m"), protocol::byte_view{wire}, zstd_chain(plain.size()));
  peer.send();
  EXPECT_EQ(peer.closed_reason(), std::error_code{errc::unsupported_transform});
  EXPECT_EQ(peer.goaway_code(), errc::unsupported_transform);
  EXPECT_TRUE(peer.all<received>().empty());
}

TEST(session_transforms_adversary, a_transform_this_build_does_not_know_ends_the_connection) {
  auto c = quiet();
  c.limits.accepted_transforms = ~std::uint64_t{0};  // announces only what it knows
  raw_peer peer{c};
  peer.hello();
  protocol::transform_chain unknown;
  unknown.push(static_cast<protocol::transform_id>(9), 100);
  peer.frames().open(1, meta("m"), 50, unknown);
  peer.send();
  EXPECT_EQ(peer.closed_reason(), std::error_code{errc::unsupported_transform});
  EXPECT_EQ(announced_transforms(peer.written()), protocol::known_transforms);
}

TEST(session_transforms_adversary,
     a_corrupt_compressed_body_fails_its_message_and_the_connection_goes_on) {
  raw_peer peer{quiet()};
  peer.hello();
  const auto junk = noise_bytes(3000);  // its digest is right: the peer's bytes, not the line's
  peer.frames().open_single(1, meta("bad"), protocol::byte_view{junk}, zstd_chain(9000));
  const auto plain = text_bytes(9000, 4);
  const auto wire = zstd(plain);
  peer.frames().open_single(3, meta("good"), protocol::byte_view{wire}, zstd_chain(plain.size()));
  peer.send();
  EXPECT_FALSE(peer.closed_reason());
  auto failures = peer.all<receive_failed>();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].id, 1u);
  EXPECT_EQ(failures[0].reason, std::error_code{errc::transform_failed});
  auto got = peer.all<received>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message.body.bytes(), plain);
  bool cancelled = false;
  for (auto& f : peer.written())
    if (f.header.type == frame_type::cancel && f.header.message_id == 1)
      cancelled = f.header.argument == static_cast<std::uint64_t>(errc::transform_failed);
  EXPECT_TRUE(cancelled);  // the sender learns why
  EXPECT_EQ(peer.core().stats().receive_failures.count(errc::transform_failed), 1u);
}

TEST(session_transforms_adversary, a_declared_size_other_than_the_decoded_one_fails_its_message) {
  raw_peer peer{quiet()};
  peer.hello();
  const auto plain = text_bytes(20000, 6);
  const auto wire = zstd(plain);
  peer.frames().open(1, meta("m"), wire.size(), zstd_chain(plain.size() + 1));
  peer.frames().data(1, 0, protocol::byte_view{wire});
  peer.frames().end(1, wire.size(), protocol::xxh3_64(protocol::byte_view{wire}));
  peer.send();
  EXPECT_FALSE(peer.closed_reason());
  auto failures = peer.all<receive_failed>();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].reason, std::error_code{errc::size_mismatch});
}

TEST(session_transforms_adversary, a_declared_size_over_the_limit_is_refused_at_open) {
  auto c = quiet();
  c.limits.max_decoded_size = 1u << 20;
  raw_peer peer{c};
  peer.hello();
  // A terabyte from a kilobyte: refused at the OPEN, before any DATA, nothing buffered.
  peer.frames().open(1, meta("bomb"), 1000, zstd_chain(std::uint64_t{1} << 40));
  peer.send();
  auto failures = peer.all<receive_failed>();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].reason, std::error_code{errc::message_too_large});
  EXPECT_EQ(peer.core().stats().open_incoming, 0u);
  // The DATA still in flight costs nothing, and the connection goes on.
  protocol::byte_buffer rest(1000, 1);
  peer.frames().data(1, 0, protocol::byte_view{rest});
  const auto plain = text_bytes(9000, 8);
  const auto wire = zstd(plain);
  peer.frames().open_single(3, meta("fine"), protocol::byte_view{wire}, zstd_chain(plain.size()));
  peer.send();
  EXPECT_FALSE(peer.closed_reason());
  EXPECT_EQ(peer.core().stats().buffered_bytes, 0u);
  ASSERT_EQ(peer.all<received>().size(), 1u);
  EXPECT_EQ(peer.all<received>()[0].message.body.bytes(), plain);
}
