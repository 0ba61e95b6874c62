#include <netcore/protocol/decoder.hpp>

#include "test_support.hpp"

#include <netcore/protocol/crc32c.hpp>

#include <gtest/gtest.h>

using namespace netcore::protocol;
using netcore::protocol::test::decode_all;
using netcore::protocol::test::flatten;
using netcore::protocol::test::random_bytes;

namespace {

/// Three DATA frames of 1000, 0 and 3000 bytes for messages 1, 2, 3.
byte_buffer three_frames(byte_buffer& a, byte_buffer& c) {
  a = random_bytes(1000, 10);
  c = random_bytes(3000, 11);
  encoder enc;
  enc.data(1, 0, a);
  enc.data(2, 0, {});
  enc.data(3, 0, c);
  return flatten(enc);
}

}  // namespace

TEST(decoder, whole_frames_are_returned_in_place) {
  auto body = random_bytes(500, 1);
  encoder enc;
  enc.data(1, 0, body);
  auto stream = flatten(enc);
  decoder dec;
  byte_view in{stream};
  auto r = dec.next(in);
  ASSERT_EQ(r.status, decode_status::frame);
  EXPECT_EQ(r.frame.payload.data(), stream.data() + header_size);
  EXPECT_TRUE(in.empty());
  EXPECT_TRUE(dec.at_boundary());
  EXPECT_EQ(dec.next(in).status, decode_status::need_more);
}

TEST(decoder, any_split_yields_the_same_frames) {
  byte_buffer a, c;
  auto stream = three_frames(a, c);
  for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{31},
                            std::size_t{32}, std::size_t{33}, std::size_t{1000}, stream.size()}) {
    auto d = decode_all(stream, piece);
    ASSERT_TRUE(d.errors.empty()) << piece;
    ASSERT_EQ(d.frames.size(), 3u) << piece;
    EXPECT_EQ(d.frames[0].payload, a);
    EXPECT_TRUE(d.frames[1].payload.empty());
    EXPECT_EQ(d.frames[2].payload, c);
    EXPECT_EQ(d.frames[2].header.message_id, 3u);
  }
}

TEST(decoder, truncated_stream_waits_for_more) {
  byte_buffer a, c;
  auto stream = three_frames(a, c);
  decoder dec;
  for (std::size_t cut : {std::size_t{1}, std::size_t{31}, std::size_t{32}, std::size_t{500}}) {
    decoder d2;
    byte_view in{stream.data(), cut};
    EXPECT_EQ(d2.next(in).status, decode_status::need_more);
    EXPECT_TRUE(in.empty());
    EXPECT_FALSE(d2.at_boundary());
  }
}

TEST(decoder, corrupt_header_resynchronises_on_next_frame) {
  byte_buffer a, c;
  auto stream = three_frames(a, c);
  stream[10] ^= 0x40;  // inside the first header
  for (std::size_t piece : {std::size_t{1}, std::size_t{5}, stream.size()}) {
    auto d = decode_all(stream, piece);
    ASSERT_EQ(d.errors.size(), 1u) << piece;
    EXPECT_EQ(d.errors[0], errc::header_corrupt);
    ASSERT_EQ(d.frames.size(), 2u) << piece;
    EXPECT_EQ(d.frames[0].header.message_id, 2u);
    EXPECT_EQ(d.frames[1].payload, c);
    EXPECT_EQ(d.dropped, header_size + a.size()) << piece;
  }
}

TEST(decoder, corrupt_payload_fails_that_frame_only) {
  byte_buffer a, c;
  auto stream = three_frames(a, c);
  stream[header_size + 10] ^= 0x01;
  decoder dec;
  byte_view in{stream};
  auto r = dec.next(in);
  ASSERT_EQ(r.status, decode_status::error);
  EXPECT_EQ(r.error, errc::payload_corrupt);
  EXPECT_EQ(r.frame.header.message_id, 1u);
  auto d = decode_all(stream, 3);
  ASSERT_EQ(d.errors.size(), 1u);
  ASSERT_EQ(d.frames.size(), 2u);
  EXPECT_EQ(d.frames[1].payload, c);
  EXPECT_EQ(d.dropped, 0u);
  EXPECT_EQ(dec.stats().corrupt_payloads, 1u);
}

TEST(decoder, garbage_before_and_between_frames_is_dropped) {
  byte_buffer a, c;
  auto frames = three_frames(a, c);
  auto garbage = random_bytes(5000, 99);
  // Garbage full of magic bytes makes the scanner work harder.
  for (std::size_t i = 0; i < garbage.size(); i += 7) garbage[i] = magic0;
  for (std::size_t i = 1; i < garbage.size(); i += 7) garbage[i] = magic1;
  byte_buffer stream = garbage;
  stream.insert(stream.end(), frames.begin(), frames.end());
  stream.insert(stream.end(), garbage.begin(), garbage.end());
  stream.insert(stream.end(), frames.begin(), frames.end());
  for (std::size_t piece : {std::size_t{1}, std::size_t{64}, stream.size()}) {
    auto d = decode_all(stream, piece);
    ASSERT_EQ(d.frames.size(), 6u) << piece;
    EXPECT_EQ(d.dropped, 2 * garbage.size()) << piece;
    EXPECT_EQ(d.errors.size(), 2u) << piece;  // one report per resynchronisation
    EXPECT_EQ(d.frames[5].payload, c);
  }
}

TEST(decoder, oversized_frame_is_skipped_without_buffering) {
  auto big = random_bytes(5000, 5);
  auto small = random_bytes(10, 6);
  encoder enc;
  enc.data(1, 0, big);
  enc.data(2, 0, small);
  limits lim;
  lim.max_frame_payload = 4096;
  auto d = decode_all(flatten(enc), 100, lim);
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0], errc::frame_too_large);
  ASSERT_EQ(d.frames.size(), 1u);
  EXPECT_EQ(d.frames[0].payload, small);
}

TEST(decoder, oversized_frame_reports_its_header) {
  auto big = random_bytes(5000, 5);
  encoder enc;
  enc.data(42, 0, big);
  auto stream = flatten(enc);
  limits lim;
  lim.max_frame_payload = 4096;
  decoder dec{lim};
  byte_view in{stream};
  auto r = dec.next(in);
  ASSERT_EQ(r.status, decode_status::error);
  EXPECT_EQ(r.frame.header.message_id, 42u);
  EXPECT_EQ(dec.next(in).status, decode_status::need_more);
  EXPECT_TRUE(dec.at_boundary());
  EXPECT_EQ(dec.stats().oversized, 1u);
}

TEST(decoder, unknown_frame_types_are_skipped) {
  byte_buffer stream(header_size);
  frame_header h;
  h.type = static_cast<frame_type>(0x7F);
  byte_buffer payload = random_bytes(100, 7);
  h.payload_length = 100;
  h.payload_crc = crc32c(payload);
  pack_header(h, stream.data());
  stream.insert(stream.end(), payload.begin(), payload.end());
  encoder enc;
  enc.ping(5);
  enc.flatten_into(stream);
  decoder dec;
  auto d = decode_all(stream, 9);
  EXPECT_TRUE(d.errors.empty());
  ASSERT_EQ(d.frames.size(), 1u);
  EXPECT_EQ(d.frames[0].header.type, frame_type::ping);
}

TEST(decoder, unsupported_version_is_reported_and_skipped) {
  byte_buffer stream(header_size);
  frame_header h;
  h.version = 9;
  pack_header(h, stream.data());
  encoder enc;
  enc.ping(5);
  enc.flatten_into(stream);
  auto d = decode_all(stream);
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0], errc::unsupported_version);
  ASSERT_EQ(d.frames.size(), 1u);
  EXPECT_EQ(d.frames[0].header.type, frame_type::ping);
  EXPECT_EQ(d.dropped, header_size);
}

TEST(decoder, a_length_that_cuts_into_the_next_header_loses_one_frame_only) {
  // A dropped byte inside a payload (as on a serial line) shifts the stream: the damaged frame
  // fails its checksum, the next header is mangled, and decoding resumes at the frame after.
  byte_buffer a, c;
  auto stream = three_frames(a, c);
  encoder enc;
  enc.ping(1);
  enc.flatten_into(stream);
  stream.erase(stream.begin() + header_size + 100);
  auto d = decode_all(stream, 13);
  ASSERT_GE(d.errors.size(), 1u);
  ASSERT_FALSE(d.frames.empty());
  EXPECT_EQ(d.frames.back().header.type, frame_type::ping);
}

TEST(decoder, statistics_count_bytes_and_frames) {
  byte_buffer a, c;
  auto stream = three_frames(a, c);
  decoder dec;
  byte_view in{stream};
  while (dec.next(in).status != decode_status::need_more) {
  }
  EXPECT_EQ(dec.stats().frames, 3u);
  EXPECT_EQ(dec.stats().bytes, stream.size());
  EXPECT_EQ(dec.stats().dropped_bytes, 0u);
}

TEST(decoder, garbage_at_the_end_of_the_stream_is_counted_as_dropped) {
  encoder enc;
  enc.ping(1);
  auto stream = flatten(enc);
  auto garbage = random_bytes(300, 4);
  stream.insert(stream.end(), garbage.begin(), garbage.end());
  decoder dec;
  byte_view in{stream};
  while (dec.next(in).status != decode_status::need_more) {
  }
  EXPECT_EQ(dec.stats().frames, 1u);
  // Up to a header's worth may still sit in the scanner as a possible header start.
  EXPECT_GE(dec.stats().dropped_bytes + header_size, garbage.size());
  EXPECT_GE(dec.stats().resyncs, 1u);
}
