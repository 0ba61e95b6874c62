// The fault-injecting decorator: each fault lands where the seed puts it, the same seed gives the
// same faults, and close() ends even a stalled read.

#include <netcore/transports/faulty_stream.hpp>
#include <netcore/transports/memory_stream.hpp>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

using namespace netcore;
using namespace netcore::transports;

namespace {

std::vector<std::uint8_t> sample(std::size_t n) {
  std::vector<std::uint8_t> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(i * 13 + 5);
  return out;
}

void put(byte_stream& s, const std::vector<std::uint8_t>& bytes) {
  io_slice slice{bytes.data(), bytes.size()};
  ASSERT_FALSE(s.write(&slice, 1));
}

/// Reads until `n` bytes arrived or the stream ends.
std::vector<std::uint8_t> take(byte_stream& s, std::size_t n) {
  std::vector<std::uint8_t> out;
  std::uint8_t buf[4096];
  while (out.size() < n) {
    auto r = s.read(buf, std::min(sizeof buf, n - out.size()));
    if (!r) break;
    out.insert(out.end(), buf, buf + *r);
  }
  return out;
}

/// Sends `bytes` through a faulty reading end with `plan`; what the reader got and the counts.
std::pair<std::vector<std::uint8_t>, fault_counts>
through(const fault_plan& plan, const std::vector<std::uint8_t>& bytes, std::size_t expect) {
  auto [a, b] = make_memory_pair(1u << 20, 1000);
  faulty_stream reader{std::move(b), plan};
  put(*a, bytes);
  a->close();
  auto got = take(reader, expect);
  return {got, reader.counts()};
}

}  // namespace

TEST(faulty_stream, without_faults_it_passes_every_byte) {
  const auto bytes = sample(100000);
  auto [got, counts] = through({}, bytes, bytes.size());
  EXPECT_EQ(got, bytes);
  EXPECT_EQ(counts.bytes_read, bytes.size());
}

TEST(faulty_stream, flips_change_single_bits_and_repeat_with_the_seed) {
  const auto bytes = sample(200000);
  fault_plan plan;
  plan.seed = 7;
  plan.flip_per_byte = 1e-3;
  auto [got, counts] = through(plan, bytes, bytes.size());
  ASSERT_EQ(got.size(), bytes.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto x = static_cast<unsigned>(got[i] ^ bytes[i]);
    if (x == 0) continue;
    ++differing;
    EXPECT_EQ(x & (x - 1), 0u) << "more than one bit flipped at " << i;
  }
  EXPECT_EQ(differing, counts.flips);
  EXPECT_GT(counts.flips, 100u);  // about 200 expected
  EXPECT_LT(counts.flips, 400u);
  auto [again, counts_again] = through(plan, bytes, bytes.size());
  EXPECT_EQ(again, got);
  EXPECT_EQ(counts_again.flips, counts.flips);
}

TEST(faulty_stream, drops_lose_bytes_and_duplicates_repeat_them) {
  const auto bytes = sample(50000);
  fault_plan drop;
  drop.drop_per_read = 0.2;
  auto [short_of, dropped] = through(drop, bytes, bytes.size());
  EXPECT_GT(dropped.drops, 0u);
  EXPECT_LT(short_of.size(), bytes.size());
  fault_plan dup;
  dup.duplicate_per_read = 0.2;
  auto [longer, duplicated] = through(dup, bytes, 2 * bytes.size());
  EXPECT_GT(duplicated.duplicates, 0u);
  EXPECT_GT(longer.size(), bytes.size());
}

TEST(faulty_stream, a_truncated_stream_ends_after_exactly_its_bytes) {
  const auto bytes = sample(10000);
  fault_plan plan;
  plan.truncate_after = 4321;
  auto [got, counts] = through(plan, bytes, bytes.size());
  EXPECT_EQ(got.size(), 4321u);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), bytes.begin()));
  EXPECT_TRUE(counts.truncated);
}

TEST(faulty_stream, a_disconnect_writes_up_to_its_point_then_fails) {
  auto [a, b] = make_memory_pair();
  fault_plan plan;
  plan.disconnect_after = 1500;
  faulty_stream writer{std::move(a), plan};
  const auto bytes = sample(1000);
  io_slice slice{bytes.data(), bytes.size()};
  EXPECT_FALSE(writer.write(&slice, 1));
  EXPECT_EQ(writer.write(&slice, 1), std::error_code{transport_errc::end_of_stream});
  EXPECT_EQ(writer.write(&slice, 1), std::error_code{transport_errc::closed});
  EXPECT_TRUE(writer.counts().disconnected);
  EXPECT_EQ(take(*b, 5000).size(), 1500u);  // then the peer sees the end
}

TEST(faulty_stream, close_ends_a_stalled_read) {
  auto [a, b] = make_memory_pair();
  fault_plan plan;
  plan.stall_after = 10;
  faulty_stream reader{std::move(b), plan};
  put(*a, sample(100));
  EXPECT_EQ(take(reader, 10).size(), 10u);
  std::error_code ended;
  std::thread blocked{[&] {
    std::uint8_t buf[16];
    auto r = reader.read(buf, sizeof buf);
    ended = r ? std::error_code{} : r.error();
  }};
  reader.close();  // whether the read is already waiting or not, it ends with `closed`
  blocked.join();
  EXPECT_EQ(ended, std::error_code{transport_errc::closed});
}
