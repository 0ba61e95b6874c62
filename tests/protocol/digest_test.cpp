#include <netcore/protocol/digest.hpp>

#include <gtest/gtest.h>

// The reference, compiled into this test so it does not depend on how the library links xxhash.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using netcore::protocol::byte_buffer;
using netcore::protocol::byte_view;
using netcore::protocol::digest64;
using netcore::protocol::digest_state;
using netcore::protocol::xxh3_64;

byte_buffer random_bytes(std::mt19937_64& rng, std::size_t n) {
  byte_buffer out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

digest64 reference(byte_view v) {
  return XXH3_64bits(v.data(), v.size());
}

TEST(Digest, EmptyInput) {
  const digest64 empty = XXH3_64bits(nullptr, 0);
  EXPECT_EQ(empty, 0x2D06800538D394C2ull);  // XXH3-64 of no bytes, seed 0
  EXPECT_EQ(xxh3_64(byte_view{}), empty);
  const std::uint8_t byte = 0;
  EXPECT_EQ(xxh3_64(byte_view{&byte, 0}), empty);

  digest_state st;
  EXPECT_EQ(st.finish(), empty);
  st.update(byte_view{});
  EXPECT_EQ(st.finish(), empty);
}

TEST(Digest, IsSeedZeroXxh3) {
  const std::string_view s = "netcore";
  EXPECT_EQ(xxh3_64(s), XXH3_64bits(s.data(), s.size()));
  EXPECT_NE(xxh3_64(s), XXH3_64bits_withSeed(s.data(), s.size(), 1));
}

// Covers every XXH3 length class (0, 1-3, 4-8, 9-16, 17-128, 129-240, long) at odd offsets.
TEST(Digest, OneShotMatchesReference) {
  std::mt19937_64 rng(0xD16E0001);
  const byte_buffer buf = random_bytes(rng, 70'000);
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 300; ++n) lengths.push_back(n);
  for (std::size_t n : {1023u, 1024u, 1025u, 4096u, 16384u, 65536u, 69'999u}) lengths.push_back(n);
  for (std::size_t len : lengths) {
    const std::size_t off = rng() % (buf.size() - len + 1);
    const byte_view v(buf.data() + off, len);
    ASSERT_EQ(xxh3_64(v), reference(v)) << "len " << len << " offset " << off;
  }
}

TEST(Digest, IncrementalEqualsOneShot) {
  std::mt19937_64 rng(0xD16E0002);
  const byte_buffer buf = random_bytes(rng, 200'000);
  for (int round = 0; round < 100; ++round) {
    const std::size_t len = rng() % (buf.size() + 1);
    const byte_view whole(buf.data(), len);
    std::vector<std::size_t> cuts{0, len};
    const int pieces = 1 + static_cast<int>(rng() % 10);
    for (int i = 1; i < pieces; ++i) cuts.push_back(rng() % (len + 1));
    std::sort(cuts.begin(), cuts.end());

    digest_state st;
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
      st.update(whole.sub(cuts[i], cuts[i + 1] - cuts[i]));
    }
    ASSERT_EQ(st.finish(), xxh3_64(whole)) << "round " << round << " len " << len;
    ASSERT_EQ(st.finish(), reference(whole)) << "round " << round << " len " << len;
  }
}

TEST(Digest, SmallPiecesEqualOneShot) {
  std::mt19937_64 rng(0xD16E0003);
  const byte_buffer buf = random_bytes(rng, 5000);
  digest_state st;
  std::size_t done = 0;
  while (done < buf.size()) {
    const std::size_t n = std::min<std::size_t>(rng() % 7, buf.size() - done);
    st.update(byte_view(buf.data() + done, n));
    done += n;
  }
  EXPECT_EQ(st.finish(), xxh3_64(buf));
}

TEST(Digest, FinishKeepsStateUsable) {
  std::mt19937_64 rng(0xD16E0004);
  const byte_buffer buf = random_bytes(rng, 3000);
  const byte_view all(buf);
  digest_state st;
  st.update(all.sub(0, 1000));
  EXPECT_EQ(st.finish(), xxh3_64(all.sub(0, 1000)));
  EXPECT_EQ(st.finish(), xxh3_64(all.sub(0, 1000)));
  st.update(all.sub(1000));
  EXPECT_EQ(st.finish(), xxh3_64(all));
}

TEST(Digest, ResetStartsOver) {
  std::mt19937_64 rng(0xD16E0005);
  const byte_buffer a = random_bytes(rng, 500);
  const byte_buffer b = random_bytes(rng, 700);
  digest_state st;
  st.update(a);
  ASSERT_NE(st.finish(), xxh3_64(b));
  st.reset();
  EXPECT_EQ(st.finish(), xxh3_64(byte_view{}));
  st.update(b);
  EXPECT_EQ(st.finish(), xxh3_64(b));
}

TEST(Digest, MoveKeepsProgress) {
  std::mt19937_64 rng(0xD16E0006);
  const byte_buffer buf = random_bytes(rng, 4000);
  const byte_view all(buf);
  digest_state a;
  a.update(all.sub(0, 1500));
  digest_state b(std::move(a));
  b.update(all.sub(1500, 1000));
  digest_state c;
  c.update(all.sub(0, 10));  // discarded by the assignment
  c = std::move(b);
  c.update(all.sub(2500));
  EXPECT_EQ(c.finish(), xxh3_64(all));
}

TEST(Digest, DistinguishesDifferentBodies) {
  std::mt19937_64 rng(0xD16E0007);
  byte_buffer buf = random_bytes(rng, 10'000);
  const digest64 good = xxh3_64(buf);
  buf[4321] ^= 0x10;
  EXPECT_NE(xxh3_64(buf), good);
}

}  // namespace
