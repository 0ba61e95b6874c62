// The reliable link's packet format and its resynchronising decoder: every packet that verifies
// is taken, whatever garbage, loss or corruption surrounds it; nothing else is.

#include <netcore/session/link_packet.hpp>

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace netcore::session {
namespace {

struct taken {
  link_header header;
  protocol::byte_buffer payload;
};

protocol::byte_buffer packet(link_header h, const protocol::byte_buffer& payload) {
  protocol::byte_buffer out(link_header_size);
  encode_link_header(h, payload, out.data());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

protocol::byte_buffer data_packet(std::uint32_t seq, std::size_t size) {
  link_header h;
  h.kind = link_kind::data;
  h.seq = seq;
  h.ack = seq * 3;
  h.sack = 0x80000001u ^ seq;
  protocol::byte_buffer payload(size);
  for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<std::uint8_t>(seq * 7 + i);
  return packet(h, payload);
}

std::vector<taken> decode(link_decoder& d, const protocol::byte_buffer& bytes,
                          std::size_t piece = SIZE_MAX) {
  std::vector<taken> out;
  for (std::size_t at = 0; at < bytes.size();) {
    const std::size_t n = std::min(piece, bytes.size() - at);
    d.feed({bytes.data() + at, n}, [&](const link_header& h, protocol::byte_view p) {
      out.push_back({h, {p.begin(), p.end()}});
    });
    at += n;
  }
  return out;
}

TEST(link_packet, header_and_payload_round_trip_at_any_split) {
  protocol::byte_buffer stream;
  for (std::uint32_t seq = 0; seq < 5; ++seq) {
    auto p = data_packet(seq, seq * 100);
    stream.insert(stream.end(), p.begin(), p.end());
  }
  link_header ack;
  ack.kind = link_kind::ack;
  ack.ack = 77;
  ack.sack = 5;
  auto a = packet(ack, {});
  stream.insert(stream.end(), a.begin(), a.end());
  for (std::size_t piece : {SIZE_MAX, std::size_t{1}, std::size_t{13}}) {
    link_decoder d{4096};
    auto got = decode(d, stream, piece);
    ASSERT_EQ(got.size(), 6u) << "piece " << piece;
    for (std::uint32_t seq = 0; seq < 5; ++seq) {
      EXPECT_EQ(got[seq].header.kind, link_kind::data);
      EXPECT_EQ(got[seq].header.seq, seq);
      EXPECT_EQ(got[seq].header.ack, seq * 3);
      EXPECT_EQ(got[seq].header.sack, 0x80000001u ^ seq);
      ASSERT_EQ(got[seq].payload.size(), seq * 100);
      for (std::size_t i = 0; i < got[seq].payload.size(); ++i)
        ASSERT_EQ(got[seq].payload[i], static_cast<std::uint8_t>(seq * 7 + i));
    }
    EXPECT_EQ(got[5].header.kind, link_kind::ack);
    EXPECT_EQ(got[5].header.ack, 77u);
    EXPECT_EQ(got[5].header.sack, 5u);
    EXPECT_EQ(d.buffered(), 0u);
    EXPECT_EQ(d.stats().dropped_bytes, 0u);
  }
}

TEST(link_packet, garbage_between_packets_is_skipped) {
  auto p1 = data_packet(1, 50);
  auto p2 = data_packet(2, 60);
  protocol::byte_buffer stream = {'N', 'L', 'N', 0x00, 0xFF, 'N', 'L', 1, 2};
  stream.insert(stream.end(), p1.begin(), p1.end());
  for (int i = 0; i < 40; ++i) stream.push_back(static_cast<std::uint8_t>(i * 13));
  stream.insert(stream.end(), p2.begin(), p2.end());
  link_decoder d{4096};
  auto got = decode(d, stream);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].header.seq, 1u);
  EXPECT_EQ(got[1].header.seq, 2u);
  EXPECT_EQ(d.stats().dropped_bytes, 9u + 40u);
}

TEST(link_packet, a_corrupt_header_or_payload_costs_that_packet_only) {
  for (std::size_t at : {std::size_t{5}, std::size_t{17}, std::size_t{26}, link_header_size + 3}) {
    auto p1 = data_packet(1, 200);
    auto p2 = data_packet(2, 200);
    p1[at] ^= 0x10;
    protocol::byte_buffer stream = p1;
    stream.insert(stream.end(), p2.begin(), p2.end());
    link_decoder d{4096};
    auto got = decode(d, stream);
    ASSERT_EQ(got.size(), 1u) << "corrupt byte " << at;
    EXPECT_EQ(got[0].header.seq, 2u);
    EXPECT_EQ(d.stats().corrupt_headers + d.stats().corrupt_payloads, 1u);
  }
}

TEST(link_packet, bytes_lost_inside_a_packet_do_not_take_the_next_one_along) {
  // The first packet loses 30 payload bytes: its verified length then reaches into the next
  // packet, whose header must still be found.
  auto p1 = data_packet(1, 300);
  auto p2 = data_packet(2, 100);
  p1.erase(p1.begin() + 100, p1.begin() + 130);
  protocol::byte_buffer stream = p1;
  stream.insert(stream.end(), p2.begin(), p2.end());
  auto p3 = data_packet(3, 400);  // enough bytes after to complete the damaged length
  stream.insert(stream.end(), p3.begin(), p3.end());
  link_decoder d{4096};
  auto got = decode(d, stream);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].header.seq, 2u);
  EXPECT_EQ(got[1].header.seq, 3u);
  EXPECT_EQ(d.stats().corrupt_payloads, 1u);
}

TEST(link_packet, a_length_beyond_the_limit_is_garbage_and_nothing_is_buffered_for_it) {
  auto big = data_packet(1, 5000);
  auto ok = data_packet(2, 10);
  protocol::byte_buffer stream = big;
  stream.insert(stream.end(), ok.begin(), ok.end());
  link_decoder d{1024};
  auto got = decode(d, stream);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].header.seq, 2u);
  EXPECT_GE(d.stats().corrupt_headers, 1u);
  EXPECT_LT(d.buffered(), link_header_size);
}

TEST(link_packet, random_flips_never_yield_a_wrong_packet) {
  std::mt19937_64 rng{7};
  protocol::byte_buffer stream;
  for (std::uint32_t seq = 0; seq < 400; ++seq) {
    auto p = data_packet(seq, 1 + rng() % 700);
    stream.insert(stream.end(), p.begin(), p.end());
  }
  std::size_t flips = 0;
  for (auto& b : stream)
    if (rng() % 2000 == 0) {
      b ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      ++flips;
    }
  link_decoder d{4096};
  auto got = decode(d, stream, 977);
  ASSERT_GT(flips, 0u);
  EXPECT_LT(got.size(), 400u);
  EXPECT_GT(got.size(), 200u);
  for (const auto& t : got) {
    // Every packet taken is exactly the one that was sent.
    auto expect = data_packet(t.header.seq, t.payload.size());
    protocol::byte_buffer payload{expect.begin() + link_header_size, expect.end()};
    ASSERT_EQ(t.payload, payload) << "packet " << t.header.seq;
  }
}

}  // namespace
}  // namespace netcore::session
