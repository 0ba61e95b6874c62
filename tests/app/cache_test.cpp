// The cache actor and its plain C++ handle on CAF's deterministic test scheduler, in virtual
// time: get/set/erase/clear, expiry by the actor's timer alone (one delayed message at a time),
// LRU eviction, get-or-compute with one computation per key, failures that cache nothing,
// superseded loads, the waiter bound and the counters. A last group runs on CAF's real scheduler:
// a blocking computation in a detached actor with a caller waiting on another thread, and the
// timer on the real clock.
// Covers app/src/cache.cpp.

#include <netcore/app/cache.hpp>

#include <netcore/actors/scheduler_settings.hpp>

#include <caf/all.hpp>
#include <caf/detail/simple_actor_clock.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

using namespace netcore;
using namespace netcore::app;
using namespace std::chrono_literals;

namespace {

protocol::byte_buffer bytes(const std::string& s) {
  return protocol::byte_buffer(s.begin(), s.end());
}

std::optional<protocol::byte_buffer> some(const std::string& s) {
  return bytes(s);
}

/// A computation that counts its runs and returns `value`.
cache_compute counting(std::shared_ptr<std::atomic<int>> calls, std::string value) {
  return [calls, value]() -> std::optional<protocol::byte_buffer> {
    ++*calls;
    return bytes(value);
  };
}

class cache_test : public ::testing::Test {
 protected:
  cache_test() {
    cfg_.set("scheduler.policy", caf::atom("testing"));
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    actors::apply(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
  }

  ~cache_test() override {
    cache_.reset();
    sched_->run();
  }

  void make(cache_limits limits = {}) {
    cache_config c;
    c.limits = limits;
    cache_ = std::make_unique<cache>(*sys_, c);
    sched_->run();
  }

  /// Runs the actors, then takes the future's value (it must be ready by then).
  template <class T>
  T wait(std::future<T> f) {
    sched_->run();
    if (f.wait_for(0s) != std::future_status::ready)
      throw std::runtime_error("no answer after running the scheduler");
    return f.get();
  }

  void advance(caf::timespan d) {
    sched_->advance_time(d);
    sched_->run();
  }

  cache_stats stats() { return wait(cache_->stats()); }

  /// Delayed messages to the cache actor waiting in the test clock.
  std::size_t pending_ticks() const {
    using clock = caf::detail::simple_actor_clock;
    const auto target = caf::actor_cast<caf::strong_actor_ptr>(cache_->actor());
    std::size_t n = 0;
    for (const auto& [at, event] : sched_->clock().schedule())
      if (event->subtype == clock::actor_msg_type &&
          static_cast<const clock::actor_msg&>(*event).receiver == target)
        ++n;
    return n;
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  std::unique_ptr<cache> cache_;
};

}  // namespace

TEST_F(cache_test, set_get_erase_and_clear) {
  make();
  EXPECT_EQ(wait(cache_->set("a", bytes("1"), 0ms)), set_result::stored);
  EXPECT_EQ(wait(cache_->set("b", bytes("2"), 0ms)), set_result::stored);
  EXPECT_EQ(wait(cache_->get("a")), some("1"));
  EXPECT_EQ(wait(cache_->get("nope")), std::nullopt);
  EXPECT_EQ(wait(cache_->set("a", bytes("3"), 0ms)), set_result::stored);  // replaces
  EXPECT_EQ(wait(cache_->get("a")), some("3"));
  EXPECT_TRUE(wait(cache_->erase("a")));
  EXPECT_FALSE(wait(cache_->erase("a")));
  EXPECT_EQ(wait(cache_->get("a")), std::nullopt);
  cache_->clear();
  EXPECT_EQ(wait(cache_->get("b")), std::nullopt);  // calls keep their order: clear came first
  const auto s = stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 3u);
}

TEST_F(cache_test, a_negative_ttl_is_refused_and_removes_the_previous_entry) {
  make();
  ASSERT_EQ(wait(cache_->set("k", bytes("old"), 0ms)), set_result::stored);
  EXPECT_EQ(wait(cache_->set("k", bytes("new"), -1ms)), set_result::bad_ttl);
  EXPECT_EQ(wait(cache_->get("k")), std::nullopt);
}

TEST_F(cache_test, ttl_zero_never_expires_and_a_ttl_expires_at_its_time_by_the_timer_alone) {
  make();
  ASSERT_EQ(wait(cache_->set("forever", bytes("f"), 0ms)), set_result::stored);
  ASSERT_EQ(wait(cache_->set("timed", bytes("t"), 50ms)), set_result::stored);
  advance(49ms);
  EXPECT_EQ(stats().expirations, 0u);
  EXPECT_EQ(stats().entries, 2u);
  advance(1ms);  // exactly the set time + ttl: no get, only the timer
  auto s = stats();
  EXPECT_EQ(s.expirations, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.timed, 0u);
  EXPECT_EQ(s.hits + s.misses, 0u);
  EXPECT_EQ(pending_ticks(), 0u);  // nothing left that can expire: no timer
  advance(24h * 365);
  EXPECT_EQ(wait(cache_->get("forever")), some("f"));
  EXPECT_EQ(wait(cache_->get("timed")), std::nullopt);
  EXPECT_EQ(stats().expirations, 1u);
}

TEST_F(cache_test, many_timed_entries_share_one_pending_timer_message) {
  make();
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(wait(cache_->set("k" + std::to_string(i), bytes("v"), 100ms + i * 1ms)),
              set_result::stored);
  for (int i = 0; i < 10; ++i)  // replacing an entry with the same deadline arms nothing either
    ASSERT_EQ(wait(cache_->set("k0", bytes("v"), 100ms)), set_result::stored);
  EXPECT_EQ(pending_ticks(), 1u);
  advance(100ms);
  EXPECT_EQ(stats().expirations, 1u);
  EXPECT_EQ(pending_ticks(), 1u);  // the next one, for k1
  advance(49ms);
  EXPECT_EQ(stats().expirations, 50u);
  EXPECT_EQ(stats().entries, 0u);
  EXPECT_EQ(pending_ticks(), 0u);
}

TEST_F(cache_test, an_earlier_expiry_adds_one_timer_message_and_a_later_one_none) {
  make();
  ASSERT_EQ(wait(cache_->set("late", bytes("l"), 100ms)), set_result::stored);
  EXPECT_EQ(pending_ticks(), 1u);
  ASSERT_EQ(wait(cache_->set("later", bytes("l"), 200ms)), set_result::stored);
  EXPECT_EQ(pending_ticks(), 1u);
  // CAF cannot cancel the tick for "late": an earlier expiry needs a tick of its own.
  ASSERT_EQ(wait(cache_->set("early", bytes("e"), 10ms)), set_result::stored);
  EXPECT_EQ(pending_ticks(), 2u);
  advance(10ms);
  EXPECT_EQ(stats().expirations, 1u);
  EXPECT_EQ(pending_ticks(), 1u);  // the tick for "late" is still on its way: none added
  advance(90ms);
  EXPECT_EQ(stats().expirations, 2u);
  EXPECT_EQ(pending_ticks(), 1u);  // for "later"
  advance(100ms);
  EXPECT_EQ(stats().expirations, 3u);
  EXPECT_EQ(pending_ticks(), 0u);
}

TEST_F(cache_test, the_least_recently_used_entry_is_evicted_at_the_count_bound) {
  cache_limits limits;
  limits.max_entries = 2;
  make(limits);
  ASSERT_EQ(wait(cache_->set("a", bytes("1"), 0ms)), set_result::stored);
  ASSERT_EQ(wait(cache_->set("b", bytes("2"), 0ms)), set_result::stored);
  ASSERT_EQ(wait(cache_->get("a")), some("1"));  // b is now the least recently used
  ASSERT_EQ(wait(cache_->set("c", bytes("3"), 0ms)), set_result::stored);
  EXPECT_EQ(wait(cache_->get("b")), std::nullopt);
  EXPECT_EQ(wait(cache_->get("a")), some("1"));
  EXPECT_EQ(wait(cache_->get("c")), some("3"));
  const auto s = stats();
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.entries, 2u);
}

TEST_F(cache_test, entries_are_evicted_to_keep_the_weight_bound) {
  cache_limits limits;
  limits.max_weight = 10;
  make(limits);
  ASSERT_EQ(wait(cache_->set("a", bytes("1"), 0ms, 6)), set_result::stored);
  ASSERT_EQ(wait(cache_->set("b", bytes("2"), 0ms, 4)), set_result::stored);
  ASSERT_EQ(wait(cache_->set("c", bytes("3"), 0ms, 5)), set_result::stored);  // a must go
  EXPECT_EQ(wait(cache_->get("a")), std::nullopt);
  EXPECT_EQ(wait(cache_->get("b")), some("2"));
  EXPECT_EQ(wait(cache_->set("huge", bytes("4"), 0ms, 11)), set_result::too_large);
  const auto s = stats();
  EXPECT_EQ(s.weight, 9u);
  EXPECT_EQ(s.evictions, 1u);
}

TEST_F(cache_test, concurrent_misses_of_one_key_compute_once_and_every_caller_gets_the_value) {
  make();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto first = cache_->get_or_compute("k", 0ms, counting(calls, "computed"));
  auto second = cache_->get_or_compute("k", 0ms, counting(calls, "other"));
  const auto a = wait(std::move(first));
  const auto b = wait(std::move(second));
  EXPECT_EQ(*calls, 1);
  EXPECT_EQ(a.value, some("computed"));
  EXPECT_EQ(b.value, some("computed"));
  EXPECT_TRUE(a.computed_here);
  EXPECT_FALSE(b.computed_here);
  EXPECT_TRUE(a.error.empty());
  auto s = stats();
  EXPECT_EQ(s.misses, 2u);  // the second caller missed too, and waited instead of computing
  EXPECT_EQ(s.hits, 0u);
  EXPECT_EQ(s.loads, 1u);
  EXPECT_EQ(s.loading, 0u);
  EXPECT_EQ(s.waiters, 0u);
  // Stored: the next call is a hit and computes nothing.
  const auto c = wait(cache_->get_or_compute("k", 0ms, counting(calls, "again")));
  EXPECT_EQ(c.value, some("computed"));
  EXPECT_FALSE(c.computed_here);
  EXPECT_EQ(*calls, 1);
  EXPECT_EQ(stats().hits, 1u);
}

TEST_F(cache_test, a_computation_returning_nothing_caches_nothing_and_the_next_call_computes) {
  make();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto nothing = [calls]() -> std::optional<protocol::byte_buffer> {
    ++*calls;
    return std::nullopt;
  };
  auto first = cache_->get_or_compute("k", 0ms, nothing);
  auto second = cache_->get_or_compute("k", 0ms, nothing);
  const auto a = wait(std::move(first));
  const auto b = wait(std::move(second));
  EXPECT_EQ(*calls, 1);
  EXPECT_EQ(a.value, std::nullopt);
  EXPECT_EQ(b.value, std::nullopt);  // the waiter shares the failure
  EXPECT_EQ(a.error, "the computation returned no value");
  EXPECT_EQ(b.error, a.error);
  EXPECT_EQ(stats().entries, 0u);
  EXPECT_EQ(stats().load_failures, 1u);
  const auto c = wait(cache_->get_or_compute("k", 0ms, counting(calls, "v")));
  EXPECT_EQ(*calls, 2);
  EXPECT_TRUE(c.computed_here);
  EXPECT_EQ(c.value, some("v"));
  EXPECT_EQ(stats().loads, 1u);
}

TEST_F(cache_test, a_throwing_computation_fails_with_its_message_and_caches_nothing) {
  make();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto throwing = [calls]() -> std::optional<protocol::byte_buffer> {
    ++*calls;
    throw std::runtime_error("backend down");
  };
  const auto a = wait(cache_->get_or_compute("k", 0ms, throwing));
  EXPECT_EQ(a.value, std::nullopt);
  EXPECT_EQ(a.error, "the computation threw: backend down");
  EXPECT_EQ(wait(cache_->get("k")), std::nullopt);
  const auto b = wait(cache_->get_or_compute("k", 0ms, throwing));
  EXPECT_EQ(*calls, 2);  // computed again
  EXPECT_EQ(b.error, a.error);
  EXPECT_EQ(stats().load_failures, 2u);
}

TEST_F(cache_test, a_set_during_a_load_wins_and_the_waiters_still_get_the_computed_value) {
  make();
  const auto target = cache_->actor();
  auto calls = std::make_shared<std::atomic<int>>(0);
  // The set reaches the cache actor while the load is in flight: sent from the computation,
  // before the computation's answer.
  auto racing = [calls, target]() -> std::optional<protocol::byte_buffer> {
    ++*calls;
    caf::anon_send(target, cache_set_atom::value, std::string{"k"}, bytes("set"), caf::timespan{0},
                   std::uint64_t{1});
    return bytes("computed");
  };
  auto first = cache_->get_or_compute("k", 0ms, racing);
  auto second = cache_->get_or_compute("k", 0ms, racing);
  EXPECT_EQ(wait(std::move(first)).value, some("computed"));
  EXPECT_EQ(wait(std::move(second)).value, some("computed"));
  EXPECT_EQ(*calls, 1);
  EXPECT_EQ(wait(cache_->get("k")), some("set"));  // the superseded value was not stored
  EXPECT_EQ(stats().loads, 1u);
}

TEST_F(cache_test, a_clear_during_a_load_keeps_the_loaded_value_out) {
  make();
  const auto target = cache_->actor();
  auto clearing = [target]() -> std::optional<protocol::byte_buffer> {
    caf::anon_send(target, cache_clear_atom::value);
    return bytes("computed");
  };
  EXPECT_EQ(wait(cache_->get_or_compute("k", 0ms, clearing)).value, some("computed"));
  EXPECT_EQ(wait(cache_->get("k")), std::nullopt);
}

TEST_F(cache_test, a_loaded_value_expires_by_its_ttl) {
  make();
  auto calls = std::make_shared<std::atomic<int>>(0);
  ASSERT_EQ(wait(cache_->get_or_compute("k", 30ms, counting(calls, "v"))).value, some("v"));
  EXPECT_EQ(stats().timed, 1u);
  advance(30ms);
  EXPECT_EQ(stats().expirations, 1u);
  EXPECT_TRUE(wait(cache_->get_or_compute("k", 30ms, counting(calls, "v"))).computed_here);
  EXPECT_EQ(*calls, 2);
}

TEST_F(cache_test, loads_beyond_the_waiter_bound_are_refused_at_once) {
  cache_limits limits;
  limits.max_waiters = 1;
  make(limits);
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto first = cache_->get_or_compute("k", 0ms, counting(calls, "v"));
  auto second = cache_->get_or_compute("k", 0ms, counting(calls, "v"));
  EXPECT_EQ(wait(std::move(first)).value, some("v"));
  const auto b = wait(std::move(second));
  EXPECT_EQ(b.value, std::nullopt);
  EXPECT_EQ(b.error, "too many callers are waiting for loads");
  EXPECT_EQ(*calls, 1);
}

TEST_F(cache_test, bad_load_arguments_fail_without_computing) {
  make();
  auto calls = std::make_shared<std::atomic<int>>(0);
  EXPECT_EQ(wait(cache_->get_or_compute("k", -1ms, counting(calls, "v"))).error, "negative ttl");
  EXPECT_EQ(wait(cache_->get_or_compute("k", 0ms, nullptr)).error, "no computation given");
  EXPECT_EQ(*calls, 0);
  EXPECT_EQ(stats().loads + stats().load_failures, 0u);
}

TEST_F(cache_test, callers_waiting_on_a_load_fail_when_the_cache_actor_stops) {
  make();
  const auto target = cache_->actor();
  auto stopping = [target]() -> std::optional<protocol::byte_buffer> {
    caf::anon_send_exit(target, caf::exit_reason::user_shutdown);
    return bytes("late");
  };
  auto f = cache_->get_or_compute("k", 0ms, stopping);
  sched_->run();
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  EXPECT_THROW(f.get(), std::runtime_error);
}

TEST_F(cache_test, the_counters_add_up) {
  cache_limits limits;
  limits.max_entries = 1;
  make(limits);
  auto calls = std::make_shared<std::atomic<int>>(0);
  ASSERT_EQ(wait(cache_->set("a", bytes("1"), 10ms)), set_result::stored);
  ASSERT_EQ(wait(cache_->get("a")), some("1"));                                     // hit
  ASSERT_EQ(wait(cache_->get("x")), std::nullopt);                                  // miss
  ASSERT_TRUE(wait(cache_->get_or_compute("b", 0ms, counting(calls, "2"))).value);  // miss, load
                                                                                    // (a evicted)
  ASSERT_FALSE(wait(cache_->get_or_compute("c", 0ms, nullptr)).value);      // refused: no count
  ASSERT_EQ(wait(cache_->set("a", bytes("1"), 10ms)), set_result::stored);  // evicts b
  advance(10ms);                                                            // expires a
  const auto s = stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.loads, 1u);
  EXPECT_EQ(s.load_failures, 0u);
  EXPECT_EQ(s.evictions, 2u);  // a for b, then b for a
  EXPECT_EQ(s.expirations, 1u);
  EXPECT_EQ(s.entries, 0u);
}

TEST_F(cache_test, actors_use_the_typed_interface_directly) {
  make();
  caf::scoped_actor self{*sys_};
  const auto target = cache_->actor();
  auto set = self->request(target, caf::infinite, cache_set_atom::value, std::string{"k"},
                           bytes("v"), caf::timespan{0}, std::uint64_t{1});
  sched_->run();  // the answer is in the scoped actor's mailbox before it waits
  set.receive([](set_result r) { EXPECT_EQ(r, set_result::stored); },
              [](const caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
  auto get = self->request(target, caf::infinite, cache_get_atom::value, std::string{"k"});
  sched_->run();
  get.receive(
      [](const cache_lookup& r) {
        EXPECT_TRUE(r.found);
        EXPECT_EQ(r.value, bytes("v"));
      },
      [](const caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
}

// -- CAF's real scheduler -------------------------------------------------------------------------

namespace {

class cache_threads_test : public ::testing::Test {
 protected:
  cache_threads_test() {
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    actors::apply(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    cache_ = std::make_unique<cache>(*sys_);
  }
  ~cache_threads_test() override { cache_.reset(); }

  /// Polls the stats until `ready` holds (false after 10 s).
  template <class Pred>
  bool eventually(Pred ready) {
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < give_up) {
      if (ready(cache_->stats().get())) return true;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<cache> cache_;
};

}  // namespace

TEST_F(cache_threads_test, a_blocking_computation_runs_detached_while_another_caller_waits) {
  // Opens on every way out, so a failed assertion cannot leave the detached actor blocked.
  struct gate_t {
    std::promise<void> promise;
    bool open = false;
    void release() {
      if (!std::exchange(open, true)) promise.set_value();
    }
    ~gate_t() { release(); }
  } gate;
  auto opened = gate.promise.get_future().share();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto slow = [opened, calls]() -> std::optional<protocol::byte_buffer> {
    ++*calls;
    opened.wait();  // blocks its own thread, not the cache actor
    return bytes("slow");
  };
  auto first = cache_->get_or_compute("k", 0ms, slow, true);
  std::future<cache::loaded> second;
  std::thread other{[&] { second = cache_->get_or_compute("k", 0ms, counting(calls, "fast")); }};
  other.join();
  // Both callers are registered with the load while the computation blocks; the cache still
  // answers meanwhile.
  ASSERT_TRUE(eventually([](const cache_stats& s) { return s.waiters == 2; }));
  EXPECT_EQ(cache_->get("unrelated").get(), std::nullopt);
  gate.release();
  ASSERT_EQ(first.wait_for(10s), std::future_status::ready);
  ASSERT_EQ(second.wait_for(10s), std::future_status::ready);
  const auto a = first.get();
  const auto b = second.get();
  EXPECT_EQ(a.value, some("slow"));
  EXPECT_EQ(b.value, some("slow"));
  EXPECT_TRUE(a.computed_here);
  EXPECT_FALSE(b.computed_here);
  EXPECT_EQ(*calls, 1);
  EXPECT_EQ(cache_->get("k").get(), some("slow"));
}

TEST_F(cache_threads_test, the_timer_expires_entries_on_the_real_clock) {
  ASSERT_EQ(cache_->set("k", bytes("v"), 20ms).get(), set_result::stored);
  EXPECT_TRUE(eventually([](const cache_stats& s) { return s.expirations == 1; }));
  EXPECT_EQ(cache_->stats().get().entries, 0u);
}
