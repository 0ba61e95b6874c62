// The cache's pure core: TTL (0 = never), expiry without access, LRU with count and weight
// bounds, replacement, stats, and single-flight load bookkeeping. Time is virtual throughout.

#include <netcore/app/cache_core.hpp>

#include <gtest/gtest.h>

#include <limits>
#include <memory>

using namespace netcore::app;
using namespace std::chrono_literals;

namespace {

using cache = cache_core<int>;
using steady = cache::clock;

constexpr steady::time_point at(steady::duration d) {
  return steady::time_point{} + d;
}
constexpr auto forever = steady::duration::zero();

std::optional<int> value(cache& c, const std::string& key, steady::time_point now) {
  const int* v = c.get(key, now);
  return v ? std::optional<int>{*v} : std::nullopt;
}

}  // namespace

TEST(app_cache_core, ttl_zero_never_expires_and_a_positive_ttl_expires_exactly_at_its_deadline) {
  cache c;
  ASSERT_EQ(c.set("forever", 1, forever, at(10ms)), set_result::stored);
  ASSERT_EQ(c.set("timed", 2, 50ms, at(10ms)), set_result::stored);
  EXPECT_EQ(value(c, "timed", at(59ms)), 2);             // just before set time + ttl: live
  EXPECT_EQ(value(c, "timed", at(60ms)), std::nullopt);  // at set time + ttl: dead
  EXPECT_EQ(c.expire(at(24h * 365 * 100)), 0u);
  EXPECT_EQ(value(c, "forever", at(24h * 365 * 100)), 1);
  EXPECT_EQ(c.next_expiry(), std::nullopt);  // an entry without TTL never arms the timer
}

TEST(app_cache_core, a_huge_ttl_saturates_instead_of_overflowing) {
  cache c;
  ASSERT_EQ(c.set("k", 1, steady::duration::max(), at(1h)), set_result::stored);
  EXPECT_EQ(c.next_expiry(), steady::time_point::max());
  EXPECT_EQ(value(c, "k", at(24h * 365 * 100)), 1);
}

TEST(app_cache_core, expire_removes_due_entries_without_any_get) {
  cache c;
  c.set("a", 1, 10ms, at(0ms));
  c.set("b", 2, 30ms, at(0ms));
  c.set("c", 3, 20ms, at(0ms));
  c.set("d", 4, forever, at(0ms));
  EXPECT_EQ(c.expire(at(9ms)), 0u);
  EXPECT_EQ(c.expire(at(20ms)), 2u);  // a and c, due at 10ms and 20ms
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.stats().expirations, 2u);
  EXPECT_EQ(c.stats().hits + c.stats().misses, 0u);
  EXPECT_EQ(c.next_expiry(), at(30ms));
  EXPECT_EQ(c.expire(at(30ms)), 1u);
  EXPECT_EQ(c.next_expiry(), std::nullopt);
  EXPECT_EQ(value(c, "d", at(1h)), 4);
}

TEST(app_cache_core, next_expiry_tracks_the_earliest_ignoring_replaced_and_erased_entries) {
  cache c;
  EXPECT_EQ(c.next_expiry(), std::nullopt);
  c.set("a", 1, 30ms, at(0ms));
  c.set("b", 2, 10ms, at(0ms));
  c.set("c", 3, 20ms, at(0ms));
  EXPECT_EQ(c.next_expiry(), at(10ms));
  c.set("b", 2, 100ms, at(0ms));  // replaced: its old deadline is forgotten
  EXPECT_EQ(c.next_expiry(), at(20ms));
  EXPECT_TRUE(c.erase("c", at(1ms)));
  EXPECT_EQ(c.next_expiry(), at(30ms));
  c.set("a", 1, forever, at(0ms));  // replaced by an entry without TTL
  EXPECT_EQ(c.next_expiry(), at(100ms));
  c.clear();
  EXPECT_EQ(c.next_expiry(), std::nullopt);
}

TEST(app_cache_core, lru_evicts_the_least_recently_used_and_get_refreshes_recency) {
  cache c{cache_limits{3, 0, 16}};
  c.set("a", 1, forever, at(0ms));
  c.set("b", 2, forever, at(0ms));
  c.set("c", 3, forever, at(0ms));
  EXPECT_EQ(value(c, "a", at(1ms)), 1);  // a is now the most recent: b is the oldest
  c.set("d", 4, forever, at(2ms));
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(value(c, "b", at(3ms)), std::nullopt);
  c.set("c", 30, forever, at(4ms));  // a set refreshes too: a is the oldest now
  c.set("e", 5, forever, at(5ms));
  EXPECT_EQ(value(c, "a", at(6ms)), std::nullopt);
  EXPECT_EQ(value(c, "c", at(6ms)), 30);
  EXPECT_EQ(value(c, "d", at(6ms)), 4);
  EXPECT_EQ(value(c, "e", at(6ms)), 5);
  EXPECT_EQ(c.stats().evictions, 2u);
}

TEST(app_cache_core, dead_entries_make_room_before_any_live_entry_is_evicted) {
  cache c{cache_limits{2, 0, 16}};
  c.set("old", 1, forever, at(0ms));
  c.set("short", 2, 5ms, at(1ms));  // more recent than "old", but dead at 6ms
  c.set("new", 3, forever, at(6ms));
  EXPECT_EQ(value(c, "old", at(7ms)), 1);
  EXPECT_EQ(value(c, "new", at(7ms)), 3);
  EXPECT_EQ(c.stats().evictions, 0u);
  EXPECT_EQ(c.stats().expirations, 1u);
}

TEST(app_cache_core, the_weight_bound_evicts_until_it_holds) {
  cache c{cache_limits{100, 10, 16}};
  c.set("a", 1, forever, at(0ms), 4);
  c.set("b", 2, forever, at(0ms), 4);
  c.set("c", 3, forever, at(0ms), 2);
  EXPECT_EQ(c.stats().weight, 10u);
  c.set("d", 4, forever, at(1ms), 5);  // needs 5: a (4) and b (4) go, c (2) stays
  EXPECT_EQ(c.stats().weight, 7u);
  EXPECT_EQ(c.stats().evictions, 2u);
  EXPECT_EQ(value(c, "c", at(2ms)), 3);
  EXPECT_EQ(value(c, "a", at(2ms)), std::nullopt);
  c.set("free", 5, forever, at(3ms), 0);  // weightless entries only count against max_entries
  EXPECT_EQ(c.stats().weight, 7u);
  EXPECT_EQ(c.size(), 3u);
}

TEST(app_cache_core, an_entry_heavier_than_max_weight_is_refused_and_the_old_value_dropped) {
  cache c{cache_limits{100, 10, 16}};
  c.set("small", 1, forever, at(0ms), 3);
  c.set("k", 1, forever, at(0ms), 3);
  EXPECT_EQ(c.set("k", 2, forever, at(1ms), 11), set_result::too_large);
  EXPECT_EQ(value(c, "k", at(2ms)), std::nullopt);  // never the value before the refused set
  EXPECT_EQ(value(c, "small", at(2ms)), 1);         // nothing else was evicted for it
  EXPECT_EQ(c.stats().weight, 3u);
  EXPECT_EQ(c.set("k", 3, forever, at(3ms), 10), set_result::stored);  // exactly the bound fits
  EXPECT_EQ(c.size(), 1u);
}

TEST(app_cache_core, a_negative_ttl_or_a_zero_entry_bound_is_refused) {
  cache c;
  c.set("k", 1, forever, at(0ms));
  EXPECT_EQ(c.set("k", 2, -1ms, at(1ms)), set_result::bad_ttl);
  EXPECT_EQ(c.size(), 0u);
  cache none{cache_limits{0, 0, 16}};
  EXPECT_EQ(none.set("k", 1, forever, at(0ms)), set_result::too_large);
  EXPECT_EQ(none.size(), 0u);
}

TEST(app_cache_core, unbounded_weight_never_overflows_the_total) {
  cache c;  // max_weight 0: bounded only by what a std::uint64_t holds
  const auto half = std::numeric_limits<std::uint64_t>::max() / 2 + 1;
  c.set("a", 1, forever, at(0ms), half);
  c.set("b", 2, forever, at(0ms), half);  // a + b would wrap: a is evicted
  EXPECT_EQ(c.stats().weight, half);
  EXPECT_EQ(c.stats().evictions, 1u);
  EXPECT_EQ(value(c, "b", at(1ms)), 2);
}

TEST(app_cache_core, replacing_a_key_updates_value_weight_and_ttl) {
  cache c{cache_limits{100, 100, 16}};
  c.set("k", 1, 10ms, at(0ms), 7);
  c.set("k", 2, 50ms, at(5ms), 3);
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(c.stats().weight, 3u);
  EXPECT_EQ(value(c, "k", at(20ms)), 2);  // the old deadline (10ms) is forgotten
  EXPECT_EQ(c.next_expiry(), at(55ms));
  c.set("k", 3, forever, at(30ms), 1);
  EXPECT_EQ(value(c, "k", at(1h)), 3);
  EXPECT_EQ(c.stats().evictions + c.stats().expirations, 0u);
}

TEST(app_cache_core, repeated_sets_of_one_key_keep_the_expiry_index_bounded) {
  cache c;
  for (int i = 0; i < 10'000; ++i) c.set("k", i, 1h, at(std::chrono::milliseconds{i}));
  EXPECT_EQ(c.stats().timed, 1u);
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(c.next_expiry(), at(1h + 9'999ms));
  c.set("k", 0, forever, at(10s));
  EXPECT_EQ(c.stats().timed, 0u);
}

TEST(app_cache_core, stats_count_hits_misses_evictions_and_expirations) {
  cache c{cache_limits{2, 0, 16}};
  c.set("a", 1, 10ms, at(0ms));
  c.set("b", 2, forever, at(0ms));
  value(c, "b", at(1ms));                // hit
  value(c, "x", at(1ms));                // miss
  value(c, "a", at(10ms));               // miss and expiration
  EXPECT_FALSE(c.erase("a", at(11ms)));  // already gone
  c.set("c", 3, forever, at(12ms));
  c.set("d", 4, forever, at(13ms));      // evicts b
  c.set("e", 5, 1ms, at(14ms));          // evicts c
  EXPECT_FALSE(c.erase("e", at(15ms)));  // dead: an expiration, not a delete
  EXPECT_TRUE(c.erase("d", at(15ms)));
  const auto s = c.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.evictions, 2u);
  EXPECT_EQ(s.expirations, 2u);
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.weight, 0u);
}

TEST(app_cache_core, clear_counts_nothing_and_leaves_loads_in_flight) {
  cache c;
  c.set("a", 1, 10ms, at(0ms));
  c.set("b", 2, forever, at(0ms));
  ASSERT_EQ(c.begin_load("x", 1), load_role::compute);
  c.clear();
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.stats().evictions + c.stats().expirations, 0u);
  EXPECT_EQ(c.stats().weight, 0u);
  EXPECT_TRUE(c.loading("x"));
  EXPECT_EQ(c.begin_load("x", 2), load_role::wait);
  const auto r = c.finish_load("x", true);
  EXPECT_EQ(r.waiters, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_TRUE(r.superseded);
}

TEST(app_cache_core, single_flight_computes_once_and_answers_every_waiter_in_order) {
  cache c;
  EXPECT_EQ(c.begin_load("k", 7), load_role::compute);
  EXPECT_EQ(c.begin_load("k", 3), load_role::wait);
  EXPECT_EQ(c.begin_load("k", 9), load_role::wait);
  EXPECT_EQ(c.begin_load("other", 4), load_role::compute);  // keys load independently
  EXPECT_TRUE(c.loading("k"));
  EXPECT_EQ(c.stats().loading, 2u);
  EXPECT_EQ(c.stats().waiters, 4u);
  const auto r = c.finish_load("k", true);
  EXPECT_EQ(r.waiters, (std::vector<std::uint64_t>{7, 3, 9}));
  EXPECT_FALSE(r.superseded);
  EXPECT_FALSE(c.loading("k"));
  EXPECT_EQ(c.size(), 0u);  // storing the value is the owner's call
  EXPECT_EQ(c.stats().loads, 1u);
  EXPECT_EQ(c.stats().waiters, 1u);
  EXPECT_TRUE(c.finish_load("k", true).waiters.empty());  // not loading: nothing, not counted
  EXPECT_EQ(c.stats().loads, 1u);
}

TEST(app_cache_core, a_failed_load_caches_nothing_and_the_next_caller_computes_again) {
  cache c;
  ASSERT_EQ(c.begin_load("k", 1), load_role::compute);
  ASSERT_EQ(c.begin_load("k", 2), load_role::wait);
  EXPECT_EQ(c.finish_load("k", false).waiters, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(c.get("k", at(0ms)), nullptr);
  EXPECT_EQ(c.begin_load("k", 3), load_role::compute);
  EXPECT_EQ(c.stats().load_failures, 1u);
  EXPECT_EQ(c.stats().loads, 0u);
}

TEST(app_cache_core, set_and_erase_during_a_load_mark_it_superseded_but_it_still_finishes) {
  cache c;
  ASSERT_EQ(c.begin_load("k", 1), load_role::compute);
  EXPECT_FALSE(c.erase("k", at(0ms)));  // no entry, but the load may now carry stale data
  EXPECT_TRUE(c.loading("k"));
  const auto r = c.finish_load("k", true);
  EXPECT_EQ(r.waiters, (std::vector<std::uint64_t>{1}));
  EXPECT_TRUE(r.superseded);
  ASSERT_EQ(c.begin_load("k", 2), load_role::compute);
  c.set("k", 5, forever, at(1ms));
  EXPECT_TRUE(c.finish_load("k", true).superseded);
  ASSERT_EQ(c.begin_load("k", 3), load_role::compute);
  c.set("other", 5, forever, at(1ms));
  EXPECT_FALSE(c.finish_load("k", true).superseded);
}

TEST(app_cache_core, max_waiters_bounds_callers_across_keys_until_a_load_finishes) {
  cache c{cache_limits{100, 0, 3}};
  EXPECT_EQ(c.begin_load("a", 1), load_role::compute);
  EXPECT_EQ(c.begin_load("a", 2), load_role::wait);
  EXPECT_EQ(c.begin_load("b", 3), load_role::compute);
  EXPECT_EQ(c.begin_load("a", 4), std::nullopt);
  EXPECT_EQ(c.begin_load("c", 5), std::nullopt);  // not registered: no load of c
  EXPECT_FALSE(c.loading("c"));
  EXPECT_EQ(c.finish_load("a", true).waiters.size(), 2u);
  EXPECT_EQ(c.begin_load("c", 5), load_role::compute);
  EXPECT_EQ(c.begin_load("c", 6), load_role::wait);
  EXPECT_EQ(c.begin_load("c", 7), std::nullopt);
}

TEST(app_cache_core, move_only_values_are_stored_and_the_cache_moves) {
  cache_core<std::unique_ptr<int>> c;
  c.set("k", std::make_unique<int>(42), 10ms, at(0ms));
  auto moved = std::move(c);
  const auto* v = moved.get("k", at(1ms));
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(**v, 42);
  EXPECT_EQ(moved.next_expiry(), at(10ms));
  EXPECT_EQ(moved.expire(at(10ms)), 1u);  // the moved expiry index still finds its entries
  EXPECT_EQ(moved.size(), 0u);
}
