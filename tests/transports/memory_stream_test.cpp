#include <netcore/transports/memory_stream.hpp>

#include "stream_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

namespace {

using namespace netcore::transports::test;

using netcore::is_disconnect;
using netcore::transports::byte_stream;
using netcore::transports::io_slice;
using netcore::transports::make_memory_pair;

TEST(MemoryStream, RoundTripBothDirections) {
  auto [a, b] = make_memory_pair(64u << 10);
  const auto to_b = random_bytes(6u << 20, 1);
  const auto to_a = random_bytes(5u << 20, 2);
  std::vector<std::uint8_t> at_b;
  std::vector<std::uint8_t> at_a;
  std::thread reader_b([&, &b = b] { at_b = read_exactly(*b, to_b.size()); });
  std::thread writer_b([&, &b = b] { EXPECT_FALSE(write_in_pieces(*b, to_a, 4)); });
  EXPECT_FALSE(write_in_pieces(*a, to_b, 3));
  at_a = read_exactly(*a, to_a.size());
  reader_b.join();
  writer_b.join();
  EXPECT_TRUE(at_b == to_b);
  EXPECT_TRUE(at_a == to_a);
}

TEST(MemoryStream, ShortReadsHonourReadLimit) {
  auto [a, b] = make_memory_pair(1000, 3);
  const auto data = random_bytes(256u << 10, 5);
  std::size_t largest = 0;
  std::vector<std::uint8_t> got;
  std::thread reader([&, &b = b] { got = read_exactly(*b, data.size(), &largest); });
  const io_slice slice{data.data(), data.size()};
  EXPECT_FALSE(a->write(&slice, 1));
  reader.join();
  EXPECT_TRUE(got == data);
  EXPECT_LE(largest, 3u);
}

TEST(MemoryStream, ReadReturnsWhatIsAvailable) {
  auto [a, b] = make_memory_pair();
  const std::uint8_t bytes[] = {1, 2, 3, 4, 5};
  const io_slice slices[] = {{bytes, 2}, {bytes + 2, 3}};
  ASSERT_FALSE(a->write(slices, 2));
  std::uint8_t buf[64];
  auto r = b->read(buf, sizeof buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 5u);
  EXPECT_TRUE(std::equal(bytes, bytes + 5, buf));
}

TEST(MemoryStream, CloseUnblocksBlockedRead) {
  auto [a, b] = make_memory_pair();
  std::error_code seen;
  std::thread reader([&, &a = a] {
    std::uint8_t buf[16];
    seen = a->read(buf, sizeof buf).error();
  });
  a->close();
  reader.join();
  EXPECT_TRUE(is_disconnect(seen)) << seen.message();
}

TEST(MemoryStream, PeerCloseUnblocksBlockedRead) {
  auto [a, b] = make_memory_pair();
  std::error_code seen;
  std::thread reader([&, &a = a] {
    std::uint8_t buf[16];
    seen = a->read(buf, sizeof buf).error();
  });
  b->close();
  reader.join();
  EXPECT_TRUE(is_disconnect(seen)) << seen.message();
}

TEST(MemoryStream, CloseUnblocksBlockedWrite) {
  auto [a, b] = make_memory_pair(16);
  const auto data = random_bytes(1u << 20, 6);
  std::error_code seen;
  std::thread writer([&, &a = a] {
    const io_slice slice{data.data(), data.size()};
    seen = a->write(&slice, 1);
  });
  // The writer fills the 16-byte direction and blocks; the peer sees the first bytes.
  std::uint8_t buf[16];
  ASSERT_TRUE(b->read(buf, sizeof buf));
  a->close();
  writer.join();
  EXPECT_TRUE(is_disconnect(seen)) << seen.message();
}

TEST(MemoryStream, PeerCloseUnblocksBlockedWrite) {
  auto [a, b] = make_memory_pair(16);
  const auto data = random_bytes(1u << 20, 7);
  std::error_code seen;
  std::thread writer([&, &a = a] {
    const io_slice slice{data.data(), data.size()};
    seen = a->write(&slice, 1);
  });
  std::uint8_t buf[16];
  ASSERT_TRUE(b->read(buf, sizeof buf));
  b->close();
  writer.join();
  EXPECT_TRUE(is_disconnect(seen)) << seen.message();
}

TEST(MemoryStream, PeerDrainsBufferedBytesThenSeesDisconnected) {
  auto [a, b] = make_memory_pair();
  const std::uint8_t bytes[] = {9, 8, 7};
  const io_slice slice{bytes, sizeof bytes};
  ASSERT_FALSE(a->write(&slice, 1));
  a->close();

  std::uint8_t buf[8];
  auto r = b->read(buf, sizeof buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 3u);
  EXPECT_EQ(buf[0], 9);
  EXPECT_TRUE(is_disconnect(b->read(buf, sizeof buf).error()));
  EXPECT_TRUE(is_disconnect(b->write(&slice, 1)));
  // The closed side fails at once, in both directions.
  EXPECT_TRUE(is_disconnect(a->write(&slice, 1)));
  EXPECT_TRUE(is_disconnect(a->read(buf, sizeof buf).error()));
}

TEST(MemoryStream, ClosedSideDropsItsUnreadBytes) {
  auto [a, b] = make_memory_pair();
  const std::uint8_t bytes[] = {1, 2, 3};
  const io_slice slice{bytes, sizeof bytes};
  ASSERT_FALSE(b->write(&slice, 1));
  a->close();
  std::uint8_t buf[8];
  EXPECT_TRUE(is_disconnect(a->read(buf, sizeof buf).error()));
}

TEST(MemoryStream, CloseIsIdempotentAndConcurrent) {
  auto [a, b] = make_memory_pair();
  std::vector<std::thread> closers;
  for (int i = 0; i < 4; ++i)
    closers.emplace_back([&, &a = a, &b = b] {
      a->close();
      b->close();
    });
  for (auto& t : closers) t.join();
  a->close();
  std::uint8_t buf[1];
  EXPECT_TRUE(is_disconnect(b->read(buf, 1).error()));
}

TEST(MemoryStream, DescribeAndProfile) {
  auto [a, b] = make_memory_pair();
  EXPECT_EQ(a->describe(), "memory");
  EXPECT_FALSE(b->profile().lossy);
}

}  // namespace
