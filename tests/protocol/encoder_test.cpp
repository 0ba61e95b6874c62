#include <netcore/protocol/encoder.hpp>

#include "test_support.hpp"

#include <netcore/protocol/crc32c.hpp>
#include <netcore/protocol/digest.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

using namespace netcore::protocol;
using netcore::protocol::test::decode_all;
using netcore::protocol::test::flatten;
using netcore::protocol::test::random_bytes;

TEST(encoder, header_round_trip_keeps_every_field) {
  frame_header h;
  h.type = frame_type::cancel;
  h.flags = flags::peer_origin;
  h.payload_length = 0xABCDEF;
  h.message_id = 0x0102030405060708;
  h.argument = 0xF0E0D0C0B0A09080;
  h.payload_crc = 0xDEADBEEF;
  std::uint8_t bytes[header_size];
  pack_header(h, bytes);
  EXPECT_EQ(bytes[0], 'N');
  EXPECT_EQ(bytes[1], 'C');
  EXPECT_EQ(bytes[2], protocol_version);
  frame_header back;
  ASSERT_EQ(unpack_header(bytes, back), errc::ok);
  EXPECT_EQ(back.type, h.type);
  EXPECT_EQ(back.flags, h.flags);
  EXPECT_EQ(back.payload_length, h.payload_length);
  EXPECT_EQ(back.message_id, h.message_id);
  EXPECT_EQ(back.argument, h.argument);
  EXPECT_EQ(back.payload_crc, h.payload_crc);
}

TEST(encoder, header_is_little_endian_at_documented_offsets) {
  frame_header h;
  h.type = frame_type::data;
  h.payload_length = 0x030201;
  h.message_id = 0x11;
  h.argument = 0x22;
  h.payload_crc = 0x33;
  std::uint8_t b[header_size];
  pack_header(h, b);
  EXPECT_EQ(b[3], 0x02);
  EXPECT_EQ(b[5], 0x01);
  EXPECT_EQ(b[6], 0x02);
  EXPECT_EQ(b[7], 0x03);
  EXPECT_EQ(b[8], 0x11);
  EXPECT_EQ(b[16], 0x22);
  EXPECT_EQ(b[24], 0x33);
  EXPECT_EQ(load_le(b + 28, 4), crc32c(byte_view{b, 28}));
}

TEST(encoder, any_flipped_header_bit_is_detected) {
  frame_header h;
  h.type = frame_type::end;
  h.message_id = 7;
  std::uint8_t b[header_size];
  pack_header(h, b);
  for (std::size_t bit = 0; bit < header_size * 8; ++bit) {
    std::uint8_t copy[header_size];
    std::copy(b, b + header_size, copy);
    copy[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    frame_header out;
    EXPECT_NE(unpack_header(copy, out), errc::ok) << "bit " << bit;
  }
}

TEST(encoder, other_version_is_unsupported_not_corrupt) {
  frame_header h;
  h.version = 2;
  std::uint8_t b[header_size];
  pack_header(h, b);
  frame_header out;
  EXPECT_EQ(unpack_header(b, out), errc::unsupported_version);
}

TEST(encoder, data_payload_is_referenced_not_copied) {
  auto body = random_bytes(16384, 1);
  encoder enc;
  enc.data(5, 0, body);
  enc.data(5, body.size(), body);
  const auto& s = enc.slices();
  // header, body, header, body: bodies point at the caller's bytes.
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[1].data, body.data());
  EXPECT_EQ(s[3].data, body.data());
  EXPECT_EQ(s[0].size, header_size);
  EXPECT_EQ(enc.size(), 2 * (header_size + body.size()));
  EXPECT_EQ(enc.frame_count(), 2u);
}

TEST(encoder, overhead_at_16k_chunks_is_within_0_3_percent) {
  auto body = random_bytes(16384, 2);
  encoder enc;
  enc.data(1, 0, body);
  auto overhead = static_cast<double>(enc.size() - body.size()) / static_cast<double>(body.size());
  EXPECT_LE(overhead, 0.003);
}

TEST(encoder, adjacent_owned_frames_share_one_slice) {
  encoder enc;
  enc.ping(1);
  enc.pong(2);
  enc.credit(0, 100);
  EXPECT_EQ(enc.slices().size(), 1u);
  EXPECT_EQ(enc.slices()[0].size, 3 * header_size);
}

TEST(encoder, every_frame_type_round_trips) {
  message_meta meta;
  meta.route = "files/upload";
  meta.type = content_type::json;
  meta.priority = 3;
  meta.headers = {{"a", "1"}, {"trace", std::string(300, 'x')}};
  auto body = random_bytes(1000, 3);
  settings s;
  s.initial_message_credit = 12345;

  encoder enc;
  enc.hello(s);
  enc.open(1, meta, body.size());
  enc.data(1, 0, body);
  enc.end(1, body.size(), xxh3_64(body));
  enc.open_single(2, meta, body);
  enc.cancel(9, origin::remote, errc::cancelled, "stop");
  enc.error(0, origin::local, errc::protocol_error, "bad");
  enc.credit(4, 65536);
  enc.ping(77);
  enc.pong(78);
  enc.goaway(errc::shutting_down, "bye");
  auto stream = flatten(enc);
  EXPECT_EQ(stream.size(), enc.size());

  auto d = decode_all(stream);
  ASSERT_TRUE(d.errors.empty());
  ASSERT_EQ(d.frames.size(), 11u);
  const auto& f = d.frames;

  EXPECT_EQ(f[0].header.type, frame_type::hello);
  settings back;
  ASSERT_EQ(decode_settings(f[0].payload, back), errc::ok);
  EXPECT_EQ(back, s);

  EXPECT_EQ(f[1].header.type, frame_type::open);
  EXPECT_EQ(f[1].header.message_id, 1u);
  EXPECT_EQ(f[1].header.argument, body.size());
  message_meta m;
  std::size_t used = 0;
  ASSERT_EQ(decode_meta(f[1].payload, limits{}, m, used), errc::ok);
  EXPECT_EQ(m, meta);
  EXPECT_EQ(used, f[1].payload.size());

  EXPECT_EQ(f[2].header.type, frame_type::data);
  EXPECT_EQ(f[2].header.argument, 0u);
  EXPECT_EQ(f[2].payload, body);

  EXPECT_EQ(f[3].header.type, frame_type::end);
  EXPECT_EQ(f[3].header.argument, body.size());
  EXPECT_EQ(load_le(f[3].payload.data(), 8), xxh3_64(body));

  EXPECT_EQ(f[4].header.type, frame_type::open);
  EXPECT_TRUE(f[4].header.flags & flags::single);
  ASSERT_EQ(decode_meta(f[4].payload, limits{}, m, used), errc::ok);
  byte_buffer single_body(f[4].payload.begin() + static_cast<std::ptrdiff_t>(used),
                          f[4].payload.end() - 8);
  EXPECT_EQ(single_body, body);
  EXPECT_EQ(load_le(f[4].payload.data() + f[4].payload.size() - 8, 8), xxh3_64(body));

  EXPECT_EQ(f[5].header.type, frame_type::cancel);
  EXPECT_EQ(f[5].header.message_id, 9u);
  EXPECT_TRUE(f[5].header.flags & flags::peer_origin);
  EXPECT_EQ(static_cast<errc>(f[5].header.argument), errc::cancelled);
  EXPECT_EQ(byte_view{f[5].payload}.as_chars(), "stop");

  EXPECT_EQ(f[6].header.type, frame_type::error);
  EXPECT_FALSE(f[6].header.flags & flags::peer_origin);
  EXPECT_EQ(static_cast<errc>(f[6].header.argument), errc::protocol_error);

  EXPECT_EQ(f[7].header.type, frame_type::credit);
  EXPECT_TRUE(f[7].header.flags & flags::peer_origin);
  EXPECT_EQ(f[7].header.argument, 65536u);

  EXPECT_EQ(f[8].header.type, frame_type::ping);
  EXPECT_EQ(f[8].header.argument, 77u);
  EXPECT_EQ(f[9].header.type, frame_type::pong);
  EXPECT_EQ(f[9].header.argument, 78u);
  EXPECT_EQ(f[10].header.type, frame_type::goaway);
  EXPECT_EQ(static_cast<errc>(f[10].header.argument), errc::shutting_down);
}

TEST(encoder, connection_credit_has_no_origin_flag) {
  encoder enc;
  enc.credit(0, 10);
  auto d = decode_all(flatten(enc));
  ASSERT_EQ(d.frames.size(), 1u);
  EXPECT_EQ(d.frames[0].header.flags, 0);
}

TEST(encoder, empty_data_and_empty_single_are_valid) {
  encoder enc;
  enc.data(1, 0, {});
  enc.open_single(2, message_meta{}, {});
  auto d = decode_all(flatten(enc));
  ASSERT_TRUE(d.errors.empty());
  ASSERT_EQ(d.frames.size(), 2u);
  EXPECT_TRUE(d.frames[0].payload.empty());
  EXPECT_EQ(d.frames[0].header.payload_crc, 0u);
  EXPECT_EQ(d.frames[1].payload.size(), encoded_meta_size(message_meta{}) + digest_size);
}

TEST(encoder, long_texts_are_cut_so_frames_stay_small) {
  encoder enc;
  enc.cancel(1, origin::local, errc::cancelled, std::string(100000, 'r'));
  EXPECT_LE(enc.size(), header_size + 4096);
}

TEST(encoder, clear_forgets_everything) {
  encoder enc;
  enc.ping(1);
  enc.clear();
  EXPECT_TRUE(enc.empty());
  EXPECT_EQ(enc.size(), 0u);
  EXPECT_TRUE(enc.slices().empty());
  enc.pong(2);
  auto d = decode_all(flatten(enc));
  ASSERT_EQ(d.frames.size(), 1u);
  EXPECT_EQ(d.frames[0].header.type, frame_type::pong);
}

TEST(encoder, small_bodies_are_copied_so_many_small_frames_make_one_slice) {
  auto body = random_bytes(100, 9);
  encoder enc;
  for (std::uint64_t id = 1; id <= 50; ++id) enc.open_single(id, message_meta{}, body);
  for (std::uint64_t id = 51; id <= 60; ++id) enc.data(id, 0, body);
  EXPECT_EQ(enc.slices().size(), 1u);
  auto d = decode_all(flatten(enc));
  ASSERT_TRUE(d.errors.empty());
  ASSERT_EQ(d.frames.size(), 60u);
  EXPECT_EQ(d.frames[59].payload, body);
}

TEST(encoder, transformed_opens_carry_the_flag_and_the_block_before_the_metadata) {
  transform_chain chain;
  chain.push(transform_id::zstd, 5000);
  message_meta meta;
  meta.route = "r";
  meta.call = call_info{};
  auto body = random_bytes(700, 3);  // referenced, not copied
  encoder enc;
  enc.open(1, meta, 1234, chain);
  enc.open_single(2, meta, body, chain);
  enc.open(3, meta, 10);  // no chain: no flag, no block
  auto d = decode_all(flatten(enc));
  ASSERT_TRUE(d.errors.empty());
  ASSERT_EQ(d.frames.size(), 3u);
  byte_buffer block;
  encode_transforms(chain, block);
  byte_buffer meta_bytes;
  encode_meta(meta, meta_bytes);
  for (int i = 0; i < 2; ++i) {
    const auto& f = d.frames[i];
    EXPECT_EQ(f.header.flags & (flags::transformed | flags::call),
              flags::transformed | flags::call);
    ASSERT_GE(f.payload.size(), block.size() + meta_bytes.size());
    EXPECT_TRUE(std::equal(block.begin(), block.end(), f.payload.begin()));
    EXPECT_TRUE(std::equal(meta_bytes.begin(), meta_bytes.end(), f.payload.begin() + block.size()));
  }
  EXPECT_EQ(d.frames[0].header.argument, 1234u);
  EXPECT_EQ(d.frames[1].header.argument, body.size());
  EXPECT_EQ(d.frames[1].payload.size(),
            block.size() + meta_bytes.size() + body.size() + digest_size);
  EXPECT_EQ(d.frames[2].header.flags & flags::transformed, 0);
  EXPECT_EQ(d.frames[2].payload, meta_bytes);
}
