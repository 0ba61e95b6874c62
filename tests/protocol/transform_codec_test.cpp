// Covers protocol/src/transform_codec.cpp: zstd applied only when it makes a body smaller, round
// trips of many sizes (a rapidcheck property), and the bounded undoing of a chain: corrupt data,
// sizes that differ from the declared one, unknown transforms.

#include <netcore/protocol/transform_codec.hpp>

#include "body_patterns.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <zstd.h>

using namespace netcore::protocol;
using netcore::protocol::test::noise_bytes;
using netcore::protocol::test::text_bytes;

namespace {

constexpr std::uint64_t zstd_mask = transform_bit(transform_id::zstd);

transform_chain zstd_chain(std::uint64_t decoded) {
  transform_chain c;
  c.push(transform_id::zstd, decoded);
  return c;
}

}  // namespace

TEST(transform_codec, compressible_bodies_shrink_and_come_back) {
  transform_codec codec;
  const byte_buffer body = text_bytes(64 << 10);
  transformed_body t;
  ASSERT_TRUE(codec.apply(zstd_mask, body, {}, t));
  EXPECT_LT(t.bytes.size(), body.size() / 3);
  ASSERT_EQ(t.chain.count, 1);
  EXPECT_EQ(t.chain.steps[0].id, transform_id::zstd);
  EXPECT_EQ(t.chain.decoded_size(), body.size());
  // The bytes are a standard zstd frame naming its content size.
  EXPECT_EQ(ZSTD_getFrameContentSize(t.bytes.data(), t.bytes.size()), body.size());

  byte_buffer back;
  ASSERT_EQ(codec.undo(t.chain, t.bytes, back), errc::ok);
  EXPECT_EQ(back, body);
}

TEST(transform_codec, incompressible_bodies_stay_plain) {
  transform_codec codec;
  transformed_body t;
  EXPECT_FALSE(codec.apply(zstd_mask, noise_bytes(64 << 10), {}, t));
  EXPECT_FALSE(codec.apply(zstd_mask, byte_buffer{}, {}, t));
  EXPECT_FALSE(codec.apply(zstd_mask, byte_buffer{'a'}, {}, t));
}

TEST(transform_codec, no_known_transform_in_the_mask_applies_nothing) {
  transform_codec codec;
  transformed_body t;
  EXPECT_FALSE(codec.apply(0, text_bytes(8192), {}, t));
  EXPECT_FALSE(codec.apply(~zstd_mask, text_bytes(8192), {}, t));
}

TEST(transform_codec, levels_trade_speed_for_size_and_are_clamped) {
  transform_codec codec;
  const byte_buffer body = text_bytes(256 << 10, 7);
  transformed_body fast, strong, clamped;
  ASSERT_TRUE(codec.apply(zstd_mask, body, {-5}, fast));
  ASSERT_TRUE(codec.apply(zstd_mask, body, {9}, strong));
  ASSERT_TRUE(codec.apply(zstd_mask, body, {1000}, clamped));
  EXPECT_LT(strong.bytes.size(), fast.bytes.size());
  byte_buffer back;
  for (const auto* t : {&fast, &strong, &clamped}) {
    ASSERT_EQ(codec.undo(t->chain, t->bytes, back), errc::ok);
    EXPECT_EQ(back, body);
  }
}

TEST(transform_codec, an_empty_chain_gives_the_bytes_back) {
  transform_codec codec;
  byte_buffer back;
  const byte_buffer body = {1, 2, 3};
  ASSERT_EQ(codec.undo({}, body, back), errc::ok);
  EXPECT_EQ(back, body);
}

TEST(transform_codec, corrupt_data_is_transform_failed) {
  transform_codec codec;
  const byte_buffer body = text_bytes(20000, 3);
  transformed_body t;
  ASSERT_TRUE(codec.apply(zstd_mask, body, {}, t));
  byte_buffer back;
  // Not zstd at all.
  EXPECT_EQ(codec.undo(zstd_chain(body.size()), noise_bytes(300), back), errc::transform_failed);
  EXPECT_EQ(codec.undo(zstd_chain(body.size()), byte_buffer{}, back), errc::transform_failed);
  // Truncated.
  byte_buffer cut{t.bytes.begin(),
                  t.bytes.begin() + static_cast<std::ptrdiff_t>(t.bytes.size() / 2)};
  EXPECT_EQ(codec.undo(t.chain, cut, back), errc::transform_failed);
  // Trailing garbage after the frame.
  byte_buffer longer = t.bytes;
  longer.push_back(0x42);
  EXPECT_EQ(codec.undo(t.chain, longer, back), errc::transform_failed);
  // The codec goes on decoding good input after bad.
  ASSERT_EQ(codec.undo(t.chain, t.bytes, back), errc::ok);
  EXPECT_EQ(back, body);
}

TEST(transform_codec, a_size_other_than_declared_is_size_mismatch) {
  transform_codec codec;
  const byte_buffer body = text_bytes(10000, 5);
  transformed_body t;
  ASSERT_TRUE(codec.apply(zstd_mask, body, {}, t));
  byte_buffer back;
  EXPECT_EQ(codec.undo(zstd_chain(body.size() - 1), t.bytes, back), errc::size_mismatch);
  EXPECT_EQ(codec.undo(zstd_chain(body.size() + 1), t.bytes, back), errc::size_mismatch);
  EXPECT_EQ(codec.undo(zstd_chain(0), t.bytes, back), errc::size_mismatch);
  // A declared size far beyond what the frame says is refused from the frame's header, before
  // anything is allocated for it (a terabyte here would fail as memory_limit otherwise).
  EXPECT_EQ(codec.undo(zstd_chain(std::uint64_t{1} << 40), t.bytes, back), errc::size_mismatch);
}

TEST(transform_codec, frames_without_a_content_size_are_bounded_by_the_declared_size) {
  // A peer's zstd frame need not name its size: decoding stops at the declared size.
  const byte_buffer body = text_bytes(50000, 11);
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ASSERT_NE(cctx, nullptr);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  byte_buffer frame(ZSTD_compressBound(body.size()));
  std::size_t n = ZSTD_compress2(cctx, frame.data(), frame.size(), body.data(), body.size());
  ZSTD_freeCCtx(cctx);
  ASSERT_FALSE(ZSTD_isError(n));
  frame.resize(n);
  ASSERT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), ZSTD_CONTENTSIZE_UNKNOWN);

  transform_codec codec;
  byte_buffer back;
  ASSERT_EQ(codec.undo(zstd_chain(body.size()), frame, back), errc::ok);
  EXPECT_EQ(back, body);
  EXPECT_EQ(codec.undo(zstd_chain(body.size() - 100), frame, back), errc::size_mismatch);
  EXPECT_EQ(codec.undo(zstd_chain(body.size() + 100), frame, back), errc::size_mismatch);
}

TEST(transform_codec, unknown_transforms_are_unsupported) {
  transform_codec codec;
  transform_chain c;
  c.push(static_cast<transform_id>(7), 100);
  byte_buffer back;
  EXPECT_EQ(codec.undo(c, byte_buffer(10, 0), back), errc::unsupported_transform);
}

RC_GTEST_PROP(transform_codec, every_body_round_trips_or_stays_plain, ()) {
  const auto size = *rc::gen::inRange<std::size_t>(0, 70000);
  const auto seed = *rc::gen::arbitrary<std::uint64_t>();
  const bool text = *rc::gen::arbitrary<bool>();
  const int level = *rc::gen::inRange(-3, 6);
  const byte_buffer body = text ? text_bytes(size, seed) : noise_bytes(size, seed);
  transform_codec codec;
  transformed_body t;
  if (!codec.apply(zstd_mask, body, {level}, t)) {
    RC_ASSERT(!text || size < 1024);  // text always shrinks unless tiny
    return;
  }
  RC_ASSERT(t.bytes.size() < body.size());
  RC_ASSERT(t.chain.decoded_size() == body.size());
  byte_buffer back;
  RC_ASSERT(codec.undo(t.chain, t.bytes, back) == errc::ok);
  RC_ASSERT(back == body);
}
