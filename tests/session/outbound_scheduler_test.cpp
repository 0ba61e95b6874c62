#include <netcore/session/outbound_scheduler.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <vector>

using namespace netcore::session;

namespace {

/// The owner of some flows: each holds a queue of item sizes; the scheduler only picks.
struct flows {
  explicit flows(std::size_t quantum) : sched(quantum) {}
  outbound_scheduler sched;
  std::map<std::uint64_t, std::deque<std::size_t>> items;
  std::function<bool(std::uint64_t, std::size_t)> credit = [](std::uint64_t, std::size_t) {
    return true;
  };

  void add(std::uint64_t id, std::uint8_t priority) { sched.add(id, priority); }
  void push(std::uint64_t id, std::size_t size) {
    items[id].push_back(size);
    sched.wake(id);
  }
  /// Picks the next flow and takes its head item; returns {id, size}.
  std::optional<std::pair<std::uint64_t, std::size_t>> next() {
    auto id = sched.next([this](std::uint64_t f) {
      auto& q = items[f];
      if (q.empty()) return flow_head{};
      return flow_head{true, credit(f, q.front()), q.front()};
    });
    if (!id) return std::nullopt;
    auto size = items[*id].front();
    items[*id].pop_front();
    return std::make_pair(*id, size);
  }
  std::vector<std::uint64_t> drain() {
    std::vector<std::uint64_t> out;
    while (auto n = next()) out.push_back(n->first);
    return out;
  }
};

}  // namespace

TEST(outbound_scheduler, equal_items_alternate_round_robin) {
  flows f{1000};
  for (std::uint64_t id : {1, 2, 3}) {
    f.add(id, 0);
    for (int i = 0; i < 3; ++i) f.push(id, 1000);
  }
  EXPECT_EQ(f.drain(), (std::vector<std::uint64_t>{1, 2, 3, 1, 2, 3, 1, 2, 3}));
  EXPECT_TRUE(f.sched.idle());
}

TEST(outbound_scheduler, fairness_is_by_bytes_not_by_item_count) {
  // Flow 1 uses 4 KiB items, flow 2 uses 16 KiB items: over a long run both must get the same
  // number of bytes, not the same number of items.
  flows f{16384};
  f.add(1, 0);
  f.add(2, 0);
  for (int i = 0; i < 400; ++i) f.push(1, 4096);
  for (int i = 0; i < 100; ++i) f.push(2, 16384);
  std::map<std::uint64_t, std::size_t> bytes;
  for (int picks = 0; picks < 200; ++picks) {
    auto n = f.next();
    ASSERT_TRUE(n);
    bytes[n->first] += n->second;
  }
  auto a = static_cast<double>(bytes[1]), b = static_cast<double>(bytes[2]);
  EXPECT_GT(a, 0);
  EXPECT_NEAR(a / b, 1.0, 0.15);
}

TEST(outbound_scheduler, higher_priority_goes_first) {
  flows f{100};
  f.add(1, 0);
  f.add(2, 7);
  f.add(3, 7);
  for (std::uint64_t id : {1, 2, 3})
    for (int i = 0; i < 2; ++i) f.push(id, 100);
  EXPECT_EQ(f.drain(), (std::vector<std::uint64_t>{2, 3, 2, 3, 1, 1}));
}

TEST(outbound_scheduler, new_higher_priority_work_preempts_between_items) {
  flows f{100};
  f.add(1, 0);
  for (int i = 0; i < 5; ++i) f.push(1, 100);
  EXPECT_EQ(f.next()->first, 1u);
  f.add(9, 200);
  f.push(9, 10);
  EXPECT_EQ(f.next()->first, 9u);
  EXPECT_EQ(f.next()->first, 1u);
}

TEST(outbound_scheduler, a_stalled_flow_does_not_stall_the_others) {
  flows f{100};
  f.add(1, 0);
  f.add(2, 0);
  for (std::uint64_t id : {1, 2})
    for (int i = 0; i < 3; ++i) f.push(id, 100);
  f.credit = [](std::uint64_t id, std::size_t) { return id != 1; };
  EXPECT_EQ(f.drain(), (std::vector<std::uint64_t>{2, 2, 2}));
  EXPECT_EQ(f.items[1].size(), 3u);
  EXPECT_EQ(f.sched.stalled(), 1u);
  // Still stalled until told otherwise, even with credit now.
  f.credit = [](std::uint64_t, std::size_t) { return true; };
  EXPECT_FALSE(f.next());
  f.sched.unstall(1);
  EXPECT_EQ(f.sched.stalled(), 0u);
  EXPECT_EQ(f.drain(), (std::vector<std::uint64_t>{1, 1, 1}));
}

TEST(outbound_scheduler, unstall_all_brings_every_stalled_flow_back) {
  flows f{100};
  for (std::uint64_t id : {1, 2}) {
    f.add(id, 0);
    f.push(id, 100);
  }
  f.credit = [](std::uint64_t, std::size_t) { return false; };
  EXPECT_FALSE(f.next());
  EXPECT_EQ(f.sched.stalled(), 2u);
  f.credit = [](std::uint64_t, std::size_t) { return true; };
  f.sched.unstall_all();
  EXPECT_EQ(f.drain(), (std::vector<std::uint64_t>{1, 2}));
}

TEST(outbound_scheduler, a_flow_without_items_leaves_until_woken) {
  flows f{100};
  f.add(1, 0);
  f.push(1, 100);
  EXPECT_EQ(f.drain(), (std::vector<std::uint64_t>{1}));
  EXPECT_TRUE(f.sched.idle());
  f.items[1].push_back(50);  // without wake(): not scheduled
  EXPECT_FALSE(f.next());
  f.sched.wake(1);
  EXPECT_EQ(f.drain(), (std::vector<std::uint64_t>{1}));
}

TEST(outbound_scheduler, remove_forgets_a_flow) {
  flows f{100};
  f.add(1, 0);
  f.add(2, 0);
  f.push(1, 100);
  f.push(2, 100);
  f.sched.remove(1);
  EXPECT_FALSE(f.sched.contains(1));
  EXPECT_EQ(f.drain(), (std::vector<std::uint64_t>{2}));
  f.sched.wake(1);  // unknown now: ignored
  EXPECT_FALSE(f.next());
  EXPECT_EQ(f.sched.size(), 1u);
}

TEST(outbound_scheduler, items_larger_than_the_quantum_still_progress) {
  flows f{10};
  f.add(1, 0);
  f.push(1, 1000);
  EXPECT_EQ(f.drain(), (std::vector<std::uint64_t>{1}));
}

TEST(outbound_scheduler, many_levels_cost_nothing_until_used) {
  flows f{100};
  for (int level = 0; level < 256; ++level) {
    f.add(static_cast<std::uint64_t>(level + 1), static_cast<std::uint8_t>(level));
    f.push(static_cast<std::uint64_t>(level + 1), 1);
  }
  auto order = f.drain();
  ASSERT_EQ(order.size(), 256u);
  EXPECT_EQ(order.front(), 256u);  // level 255 first
  EXPECT_EQ(order.back(), 1u);
}
