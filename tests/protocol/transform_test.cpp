// Covers protocol/src/transform.cpp: transform ids and masks, the transform chain and its block
// at the front of an OPEN payload (round trip, truncation, bad counts).

#include <netcore/protocol/transform.hpp>

#include <gtest/gtest.h>

using namespace netcore::protocol;

TEST(transform, ids_have_stable_bits_and_names) {
  EXPECT_EQ(static_cast<int>(transform_id::zstd), 0);
  EXPECT_EQ(transform_bit(transform_id::zstd), 1u);
  EXPECT_EQ(known_transforms, 1u);
  EXPECT_STREQ(to_string(transform_id::zstd), "zstd");
  EXPECT_STREQ(to_string(static_cast<transform_id>(9)), "unknown");
  // Ids beyond a mask's 64 bits can never be announced.
  EXPECT_EQ(transform_bit(static_cast<transform_id>(64)), 0u);
  EXPECT_EQ(transform_bit(static_cast<transform_id>(63)), std::uint64_t{1} << 63);
}

TEST(transform, an_empty_chain_has_no_block) {
  transform_chain c;
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.decoded_size(), 0u);
  EXPECT_TRUE(c.only_uses(0));
  EXPECT_EQ(encoded_transforms_size(c), 0u);
  byte_buffer out;
  encode_transforms(c, out);
  EXPECT_TRUE(out.empty());
}

TEST(transform, chains_round_trip_in_order) {
  transform_chain c;
  ASSERT_TRUE(c.push(transform_id::zstd, 70000));
  ASSERT_TRUE(c.push(static_cast<transform_id>(5), 1234));
  byte_buffer out = {0xAA};  // appended after what is there
  encode_transforms(c, out);
  ASSERT_EQ(out.size(), 1 + encoded_transforms_size(c));
  EXPECT_EQ(encoded_transforms_size(c), 1u + 2 * 9);
  out.push_back(0x55);  // what follows the block (the metadata) is not consumed

  transform_chain back;
  std::size_t consumed = 0;
  ASSERT_EQ(decode_transforms(byte_view{out}.sub(1), back, consumed), errc::ok);
  EXPECT_EQ(consumed, encoded_transforms_size(c));
  EXPECT_EQ(back, c);
  EXPECT_EQ(back.decoded_size(), 70000u);
  EXPECT_EQ(back.steps[1].id, static_cast<transform_id>(5));
}

TEST(transform, a_chain_holds_at_most_max_transforms) {
  transform_chain c;
  for (std::size_t i = 0; i < max_transforms; ++i) EXPECT_TRUE(c.push(transform_id::zstd, i));
  EXPECT_FALSE(c.push(transform_id::zstd, 99));
  EXPECT_EQ(c.count, max_transforms);
}

TEST(transform, only_uses_checks_every_step_against_a_mask) {
  transform_chain c;
  c.push(transform_id::zstd, 10);
  EXPECT_TRUE(c.only_uses(transform_bit(transform_id::zstd)));
  EXPECT_FALSE(c.only_uses(0));
  EXPECT_FALSE(c.only_uses(~transform_bit(transform_id::zstd)));
  c.push(static_cast<transform_id>(200), 5);  // no mask can announce it
  EXPECT_FALSE(c.only_uses(~std::uint64_t{0}));
}

TEST(transform, truncated_or_miscounted_blocks_are_malformed) {
  transform_chain c;
  c.push(transform_id::zstd, 4096);
  byte_buffer good;
  encode_transforms(c, good);
  transform_chain out;
  std::size_t consumed = 0;
  for (std::size_t n = 0; n < good.size(); ++n)
    EXPECT_EQ(decode_transforms(byte_view{good.data(), n}, out, consumed), errc::malformed_frame)
        << n;
  byte_buffer zero = {0};
  EXPECT_EQ(decode_transforms(byte_view{zero}, out, consumed), errc::malformed_frame);
  byte_buffer too_many(1 + 9 * (max_transforms + 1), 0);
  too_many[0] = static_cast<std::uint8_t>(max_transforms + 1);
  EXPECT_EQ(decode_transforms(byte_view{too_many}, out, consumed), errc::malformed_frame);
  // A failed parse leaves the output alone.
  EXPECT_TRUE(out.empty());
}
