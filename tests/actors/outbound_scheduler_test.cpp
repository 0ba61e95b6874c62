#include <netcore/actors/outbound_scheduler.hpp>

#include <gtest/gtest.h>

#include <map>
#include <vector>

using namespace netcore::actors;

namespace {

outbound_item data_item(std::size_t size, std::uint64_t offset = 0) {
  static std::vector<std::uint8_t> bytes(1 << 20);
  outbound_item it;
  it.what = outbound_item::kind::data;
  it.position = offset;
  it.bytes = {bytes.data(), size};
  return it;
}

outbound_item control_item(outbound_item::kind k) {
  outbound_item it;
  it.what = k;
  return it;
}

const outbound_scheduler::credit_check always = [](std::uint64_t, std::size_t) { return true; };

std::vector<std::uint64_t> drain_ids(outbound_scheduler& s,
                                     const outbound_scheduler::credit_check& check = always) {
  std::vector<std::uint64_t> out;
  while (auto n = s.next(check)) out.push_back(n->first);
  return out;
}

}  // namespace

TEST(outbound_scheduler, equal_chunks_alternate_round_robin) {
  outbound_scheduler s{1000};
  for (std::uint64_t id : {1, 2, 3}) {
    s.add(id, 0);
    for (int i = 0; i < 3; ++i) s.push(id, data_item(1000));
  }
  EXPECT_EQ(drain_ids(s), (std::vector<std::uint64_t>{1, 2, 3, 1, 2, 3, 1, 2, 3}));
  EXPECT_TRUE(s.idle());
}

TEST(outbound_scheduler, items_of_one_message_keep_their_order) {
  outbound_scheduler s{100};
  s.add(1, 0);
  s.push(1, control_item(outbound_item::kind::open));
  s.push(1, data_item(100, 0));
  s.push(1, data_item(100, 100));
  s.push(1, control_item(outbound_item::kind::end));
  std::vector<outbound_item::kind> kinds;
  std::vector<std::uint64_t> offsets;
  while (auto n = s.next(always)) {
    kinds.push_back(n->second.what);
    offsets.push_back(n->second.position);
  }
  ASSERT_EQ(kinds.size(), 4u);
  EXPECT_EQ(kinds.front(), outbound_item::kind::open);
  EXPECT_EQ(kinds.back(), outbound_item::kind::end);
  EXPECT_EQ(offsets[1], 0u);
  EXPECT_EQ(offsets[2], 100u);
}

TEST(outbound_scheduler, fairness_is_by_bytes_not_by_chunk_count) {
  // Message 1 uses 4 KiB chunks, message 2 uses 16 KiB chunks: over a long run both must get
  // the same number of bytes, not the same number of chunks.
  outbound_scheduler s{16384};
  s.add(1, 0);
  s.add(2, 0);
  for (int i = 0; i < 400; ++i) s.push(1, data_item(4096));
  for (int i = 0; i < 100; ++i) s.push(2, data_item(16384));
  std::map<std::uint64_t, std::size_t> bytes;
  for (int picks = 0; picks < 200; ++picks) {
    auto n = s.next(always);
    ASSERT_TRUE(n);
    bytes[n->first] += n->second.bytes.size();
  }
  auto a = static_cast<double>(bytes[1]), b = static_cast<double>(bytes[2]);
  EXPECT_GT(a, 0);
  EXPECT_NEAR(a / b, 1.0, 0.15);
}

TEST(outbound_scheduler, higher_priority_goes_first) {
  outbound_scheduler s{100};
  s.add(1, 0);
  s.add(2, 7);
  s.add(3, 7);
  for (std::uint64_t id : {1, 2, 3})
    for (int i = 0; i < 2; ++i) s.push(id, data_item(100));
  EXPECT_EQ(drain_ids(s), (std::vector<std::uint64_t>{2, 3, 2, 3, 1, 1}));
}

TEST(outbound_scheduler, new_higher_priority_work_preempts_between_items) {
  outbound_scheduler s{100};
  s.add(1, 0);
  for (int i = 0; i < 5; ++i) s.push(1, data_item(100));
  EXPECT_EQ(s.next(always)->first, 1u);
  s.add(9, 200);
  s.push(9, data_item(10));
  EXPECT_EQ(s.next(always)->first, 9u);
  EXPECT_EQ(s.next(always)->first, 1u);
}

TEST(outbound_scheduler, a_stalled_message_does_not_stall_the_others) {
  outbound_scheduler s{100};
  s.add(1, 0);
  s.add(2, 0);
  for (std::uint64_t id : {1, 2})
    for (int i = 0; i < 3; ++i) s.push(id, data_item(100));
  auto no_credit_for_1 = [](std::uint64_t id, std::size_t) { return id != 1; };
  EXPECT_EQ(drain_ids(s, no_credit_for_1), (std::vector<std::uint64_t>{2, 2, 2}));
  EXPECT_EQ(s.queued(1), 3u);
  // Still stalled until told otherwise, even with credit now.
  EXPECT_FALSE(s.next(always));
  s.unstall(1);
  EXPECT_EQ(drain_ids(s), (std::vector<std::uint64_t>{1, 1, 1}));
}

TEST(outbound_scheduler, control_items_need_no_credit) {
  outbound_scheduler s{100};
  s.add(1, 0);
  s.push(1, control_item(outbound_item::kind::open));
  s.push(1, data_item(100));
  auto never = [](std::uint64_t, std::size_t) { return false; };
  auto n = s.next(never);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->second.what, outbound_item::kind::open);
  EXPECT_FALSE(s.next(never));
  s.unstall_all();
  EXPECT_EQ(s.next(always)->second.what, outbound_item::kind::data);
}

TEST(outbound_scheduler, remove_drops_queued_items) {
  outbound_scheduler s{100};
  s.add(1, 0);
  s.add(2, 0);
  s.push(1, data_item(100));
  s.push(2, data_item(100));
  s.remove(1);
  EXPECT_FALSE(s.contains(1));
  EXPECT_EQ(drain_ids(s), (std::vector<std::uint64_t>{2}));
  s.push(1, data_item(100));  // unknown now: ignored
  EXPECT_FALSE(s.next(always));
}

TEST(outbound_scheduler, chunks_larger_than_the_quantum_still_progress) {
  outbound_scheduler s{10};
  s.add(1, 0);
  s.push(1, data_item(1000));
  EXPECT_EQ(drain_ids(s), (std::vector<std::uint64_t>{1}));
}
