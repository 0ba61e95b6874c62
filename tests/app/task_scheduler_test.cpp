// The task scheduler actor and its plain C++ handle on CAF's deterministic test scheduler, in
// virtual time: when tasks run (after, at, every, priority), cancellation, tasks that schedule
// and cancel tasks, failures, bounds, and that one timer serves every task.
// Covers app/src/task_scheduler.cpp.

#include <netcore/app/task_scheduler.hpp>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace netcore::app;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

namespace {

class task_scheduler_test : public ::testing::Test {
 protected:
  task_scheduler_test() {
    cfg_.set("scheduler.policy", caf::atom("testing"));
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
    // Every enqueue runs at once, so the handle's blocking requests are answered in this thread.
    sched_->inline_all_enqueues();
    start_ = sys_->clock().now();
  }

  ~task_scheduler_test() override {
    sched_->run();
    ts_.reset();
    sched_->run();
  }

  task_scheduler& make(task_scheduler_config cfg = {}) {
    ts_ = std::make_unique<task_scheduler>(*sys_, std::move(cfg));
    return *ts_;
  }

  /// Moves virtual time on by `d` and runs what became due (also what tasks sent themselves).
  void advance(ms d) {
    sched_->advance_time(d);
    sched_->run();
  }
  /// Moves virtual time on 1 ms at a time, `n` times.
  void step(int n) {
    for (int i = 0; i < n; ++i) advance(1ms);
  }

  /// Virtual milliseconds since the fixture started.
  long long now_ms() const {
    return std::chrono::duration_cast<ms>(sys_->clock().now() - start_).count();
  }
  /// A task that records the virtual time of each of its runs.
  std::function<void()> record(std::vector<long long>& at) {
    return [this, &at] { at.push_back(now_ms()); };
  }

  /// Delayed messages CAF's clock holds (the scheduler's ticks on their way).
  std::size_t clock_entries() const { return sched_->clock().schedule().size(); }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  caf::actor_clock::time_point start_;
  std::unique_ptr<task_scheduler> ts_;
};

task_handle must(schedule_result r) {
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.handle.valid());
  return r.handle;
}

}  // namespace

TEST_F(task_scheduler_test, after_runs_at_its_delay_and_not_before) {
  auto& ts = make();
  std::vector<long long> ran;
  must(ts.after(5ms, record(ran)));
  EXPECT_EQ(ts.stats().live, 1u);
  step(4);
  EXPECT_TRUE(ran.empty());
  step(1);
  EXPECT_EQ(ran, (std::vector<long long>{5}));
  step(20);
  EXPECT_EQ(ran.size(), 1u);
  const auto st = ts.stats();
  EXPECT_EQ(st.runs, 1u);
  EXPECT_EQ(st.live, 0u);
  EXPECT_EQ(st.pending_ticks, 0u);
  EXPECT_EQ(clock_entries(), 0u);
}

TEST_F(task_scheduler_test, at_runs_at_its_time_and_a_past_time_runs_at_once) {
  auto& ts = make();
  std::vector<long long> later, past;
  must(ts.at(start_ + 7ms, record(later)));
  advance(3ms);
  must(ts.at(start_ + 1ms, record(past)));  // already past
  sched_->run();
  EXPECT_EQ(past, (std::vector<long long>{3}));
  step(3);
  EXPECT_TRUE(later.empty());
  step(1);
  EXPECT_EQ(later, (std::vector<long long>{7}));
}

TEST_F(task_scheduler_test, every_runs_at_a_fixed_rate_from_its_first_delay) {
  auto& ts = make();
  std::vector<long long> plain, offset;
  must(ts.every(10ms, record(plain)));
  must(ts.every(10ms, record(offset), 0, 3ms));
  step(35);
  EXPECT_EQ(plain, (std::vector<long long>{10, 20, 30}));
  EXPECT_EQ(offset, (std::vector<long long>{3, 13, 23, 33}));
  // Far behind: one run, no burst, and the grid is kept.
  advance(50ms);  // now 85
  EXPECT_EQ(plain, (std::vector<long long>{10, 20, 30, 85}));
  step(5);  // 90
  EXPECT_EQ(plain.back(), 90);
  EXPECT_EQ(ts.stats().live, 2u);
}

TEST_F(task_scheduler_test, every_rejects_an_interval_of_zero_or_less) {
  auto& ts = make();
  const auto r = ts.every(0ms, [] {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error, schedule_error::invalid_interval);
  EXPECT_FALSE(r.handle.valid());
  EXPECT_EQ(ts.every(-5ms, [] {}).error, schedule_error::invalid_interval);
  EXPECT_EQ(ts.stats().live, 0u);
}

TEST_F(task_scheduler_test, an_empty_task_is_refused) {
  auto& ts = make();
  EXPECT_THROW(ts.after(1ms, std::function<void()>{}), std::invalid_argument);
  EXPECT_THROW(ts.every(1ms, task_fn{}), std::invalid_argument);
  EXPECT_EQ(ts.stats().live, 0u);
}

TEST_F(task_scheduler_test, tasks_due_together_run_by_priority_then_schedule_order) {
  auto& ts = make();
  std::vector<std::string> order;
  auto note = [&order](std::string s) { return [&order, s] { order.push_back(s); }; };
  must(ts.after(5ms, note("low"), 1));
  must(ts.after(5ms, note("high-a"), 5));
  must(ts.after(5ms, note("negative"), -2));
  must(ts.after(5ms, note("high-b"), 5));
  must(ts.after(4ms, note("earlier"), -100));
  advance(10ms);  // all due at once: time first, then priority, then schedule order
  EXPECT_EQ(order, (std::vector<std::string>{"earlier", "high-a", "high-b", "low", "negative"}));
}

TEST_F(task_scheduler_test, cancel_before_due_drops_the_task) {
  auto& ts = make();
  std::vector<long long> ran;
  const auto h = must(ts.after(5ms, record(ran)));
  step(2);
  EXPECT_TRUE(ts.cancel(h));
  EXPECT_FALSE(ts.cancel(h));              // already cancelled
  EXPECT_FALSE(ts.cancel(task_handle{}));  // invalid
  step(10);
  EXPECT_TRUE(ran.empty());
  const auto st = ts.stats();
  EXPECT_EQ(st.cancelled, 1u);
  EXPECT_EQ(st.live, 0u);
  EXPECT_EQ(st.runs, 0u);
}

TEST_F(task_scheduler_test, a_one_shot_task_that_ran_cannot_be_cancelled) {
  auto& ts = make();
  std::vector<long long> ran;
  const auto h = must(ts.after(1ms, record(ran)));
  step(1);
  EXPECT_EQ(ran.size(), 1u);
  EXPECT_FALSE(ts.cancel(h));
}

TEST_F(task_scheduler_test, cancel_stops_a_periodic_task) {
  auto& ts = make();
  std::vector<long long> ran;
  const auto h = must(ts.every(2ms, record(ran)));
  step(6);
  EXPECT_EQ(ran, (std::vector<long long>{2, 4, 6}));
  EXPECT_TRUE(ts.cancel(h));
  step(10);
  EXPECT_EQ(ran.size(), 3u);
  EXPECT_EQ(ts.stats().live, 0u);
}

TEST_F(task_scheduler_test, a_task_schedules_and_cancels_tasks_through_its_context) {
  auto& ts = make();
  std::vector<long long> second, third, periodic;
  const auto victim = must(ts.after(5ms, record(third)));
  task_handle scheduled;
  must(ts.after(1ms, [&](task_context& ctx) {
    EXPECT_EQ(now_ms(), 1);
    EXPECT_EQ(ctx.now(), start_ + 1ms);
    scheduled = must(ctx.after(2ms, record(second)));
    EXPECT_TRUE(ctx.cancel(victim));
    // A periodic task that ends itself after three runs.
    must(ctx.every(1ms, [&](task_context& inner) {
      periodic.push_back(now_ms());
      if (periodic.size() == 3) {
        EXPECT_TRUE(inner.cancel(inner.handle()));
      }
    }));
    EXPECT_EQ(ctx.stats().live, 3u);  // this one (pending its run), `second`, the periodic one
  }));
  step(10);
  EXPECT_TRUE(scheduled.valid());
  EXPECT_EQ(second, (std::vector<long long>{3}));
  EXPECT_TRUE(third.empty());
  EXPECT_EQ(periodic, (std::vector<long long>{2, 3, 4}));
  EXPECT_EQ(ts.stats().live, 0u);
  EXPECT_EQ(ts.stats().cancelled, 2u);
}

TEST_F(task_scheduler_test, a_task_cancelled_by_an_earlier_one_of_its_batch_does_not_run) {
  auto& ts = make();
  std::vector<long long> victim_ran, periodic_ran, replacement_ran;
  const auto victim = must(ts.after(3ms, record(victim_ran)));
  const auto periodic = must(ts.every(3ms, record(periodic_ran)));
  task_handle replacement;
  must(ts.after(
      3ms,
      [&](task_context& ctx) {
        EXPECT_TRUE(ctx.cancel(victim));
        // Takes the victim's freed id (a new generation): it must not run in the victim's place.
        replacement = must(ctx.after(5ms, record(replacement_ran)));
        EXPECT_TRUE(ctx.cancel(periodic));
      },
      10));
  step(10);
  EXPECT_EQ(replacement.id, victim.id);
  EXPECT_TRUE(victim_ran.empty());
  EXPECT_TRUE(periodic_ran.empty());
  EXPECT_EQ(replacement_ran, (std::vector<long long>{8}));
  EXPECT_EQ(ts.stats().runs, 2u);
  EXPECT_EQ(ts.stats().live, 0u);
}

TEST_F(task_scheduler_test, a_task_due_now_from_a_task_runs_after_the_batch) {
  auto& ts = make();
  std::vector<std::string> order;
  must(ts.after(1ms, [&](task_context& ctx) {
    order.push_back("first");
    must(ctx.after(
        0ms, [&] { order.push_back("spawned"); }, 100));
  }));
  must(ts.after(1ms, [&] { order.push_back("second"); }));
  step(1);
  EXPECT_EQ(order, (std::vector<std::string>{"first", "second", "spawned"}));
}

TEST_F(task_scheduler_test, the_handle_used_inside_its_own_task_does_not_wait_for_itself) {
  auto& ts = make();
  std::vector<long long> spawned, victim_ran;
  const auto victim = must(ts.after(5ms, record(victim_ran)));
  bool cancelled = false;
  must(ts.after(1ms, [&] {
    must(ts.after(1ms, record(spawned)));  // a blocking request would deadlock here
    cancelled = ts.cancel(victim);
    EXPECT_EQ(ts.stats().live, 2u);  // this one (pending its run) and the new one
  }));
  step(10);
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(spawned, (std::vector<long long>{2}));
  EXPECT_TRUE(victim_ran.empty());
}

TEST_F(task_scheduler_test, a_throwing_periodic_task_keeps_running_and_reports_each_failure) {
  std::vector<task_handle> failed;
  std::vector<std::string> messages;
  task_scheduler_config cfg;
  cfg.on_error = [&](task_handle h, std::exception_ptr e) {
    failed.push_back(h);
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      messages.emplace_back(x.what());
    }
  };
  auto& ts = make(std::move(cfg));
  int runs = 0;
  const auto h = must(ts.every(2ms, [&] {
    ++runs;
    if (runs % 2 == 1) throw std::runtime_error("run " + std::to_string(runs));
  }));
  std::vector<long long> neighbour;
  must(ts.every(2ms, record(neighbour)));
  step(10);
  EXPECT_EQ(runs, 5);
  EXPECT_EQ(neighbour.size(), 5u);  // a failure does not disturb other tasks
  EXPECT_EQ(failed, (std::vector<task_handle>{h, h, h}));
  EXPECT_EQ(messages, (std::vector<std::string>{"run 1", "run 3", "run 5"}));
  const auto st = ts.stats();
  EXPECT_EQ(st.runs, 10u);
  EXPECT_EQ(st.failures, 3u);
  EXPECT_EQ(st.live, 2u);  // still scheduled
}

TEST_F(task_scheduler_test, a_throwing_one_shot_task_ends_and_a_throwing_callback_is_contained) {
  int reports = 0;
  task_scheduler_config cfg;
  cfg.on_error = [&](task_handle, std::exception_ptr) {
    ++reports;
    throw std::logic_error("the callback fails too");
  };
  auto& ts = make(std::move(cfg));
  const auto h = must(ts.after(1ms, [] { throw 42; }));
  std::vector<long long> after_it;
  must(ts.after(2ms, record(after_it)));
  step(3);
  EXPECT_EQ(reports, 1);
  EXPECT_EQ(after_it, (std::vector<long long>{2}));
  EXPECT_FALSE(ts.cancel(h));
  const auto st = ts.stats();
  EXPECT_EQ(st.failures, 1u);
  EXPECT_EQ(st.live, 0u);
}

TEST_F(task_scheduler_test, max_tasks_bounds_live_tasks) {
  task_scheduler_config cfg;
  cfg.limits.max_tasks = 3;
  auto& ts = make(std::move(cfg));
  must(ts.after(1ms, [] {}));
  must(ts.every(5ms, [] {}));
  must(ts.after(10ms, [] {}));
  const auto full = ts.after(1ms, [] {});
  EXPECT_EQ(full.error, schedule_error::too_many_tasks);
  EXPECT_FALSE(full.handle.valid());
  // Inside a task the same bound holds (the running one-shot task still counts).
  schedule_result inside;
  step(1);  // the first one-shot task ran: room for one
  must(ts.after(1ms, [&](task_context& ctx) { inside = ctx.after(1ms, [] {}); }));
  step(1);
  EXPECT_EQ(inside.error, schedule_error::too_many_tasks);
  EXPECT_EQ(ts.stats().live, 2u);
}

TEST_F(task_scheduler_test, one_tick_on_its_way_for_many_tasks) {
  auto& ts = make();
  std::vector<int> order;
  for (int i = 0; i < 1000; ++i)
    must(ts.after(ms{10 + i / 10}, [&order, i] { order.push_back(i); }));
  auto st = ts.stats();
  EXPECT_EQ(st.live, 1000u);
  EXPECT_EQ(st.pending_ticks, 1u);
  EXPECT_EQ(clock_entries(), 1u);
  for (int t = 0; t < 120; ++t) {
    advance(1ms);
    EXPECT_LE(clock_entries(), 1u);
  }
  std::vector<int> expected(1000);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(order, expected);
  st = ts.stats();
  EXPECT_EQ(st.runs, 1000u);
  EXPECT_EQ(st.ignored_ticks, 0u);
  EXPECT_EQ(clock_entries(), 0u);
}

TEST_F(task_scheduler_test, ticks_grow_only_when_the_earliest_deadline_moves_earlier) {
  auto& ts = make();
  std::vector<int> delays(1000);
  std::iota(delays.begin(), delays.end(), 1);
  std::shuffle(delays.begin(), delays.end(), std::mt19937{7});
  std::size_t new_earliest = 0;
  int earliest = 1 << 30;
  int ran = 0;
  for (int d : delays) {
    if (d < earliest) {
      earliest = d;
      ++new_earliest;
    }
    must(ts.after(ms{d}, [&ran] { ++ran; }));
  }
  EXPECT_LT(new_earliest, 20u);  // about ln(1000) for a random order, far below 1000
  EXPECT_EQ(clock_entries(), new_earliest);
  EXPECT_EQ(ts.stats().pending_ticks, new_earliest);
  for (int t = 0; t < 1000; ++t) {
    advance(1ms);
    EXPECT_LE(clock_entries(), new_earliest);
  }
  EXPECT_EQ(ran, 1000);
  // Each early tick served the task it was sent for: none arrived for nothing.
  EXPECT_EQ(ts.stats().ignored_ticks, 0u);
  EXPECT_EQ(clock_entries(), 0u);
}

TEST_F(task_scheduler_test, a_superseded_tick_runs_nothing_and_is_reused) {
  auto& ts = make();
  std::vector<long long> late, early;
  must(ts.after(100ms, record(late)));
  const auto e = must(ts.after(10ms, record(early)));
  EXPECT_EQ(clock_entries(), 2u);  // CAF cannot cancel the 100 ms tick
  advance(10ms);
  EXPECT_EQ(early, (std::vector<long long>{10}));
  EXPECT_EQ(clock_entries(), 1u);  // the 100 ms tick serves the late task: no new one
  // A tick whose task was cancelled arrives and runs nothing.
  must(ts.after(10ms, record(early)));
  EXPECT_EQ(clock_entries(), 2u);
  EXPECT_TRUE(ts.cancel(must(ts.after(5ms, record(early)))));
  EXPECT_EQ(clock_entries(), 3u);
  step(10);  // 20: the 15 ms tick found nothing due
  EXPECT_EQ(early, (std::vector<long long>{10, 20}));
  EXPECT_EQ(ts.stats().ignored_ticks, 1u);
  advance(80ms);
  EXPECT_EQ(late, (std::vector<long long>{100}));
  EXPECT_EQ(ts.stats().runs, 3u);
  EXPECT_EQ(clock_entries(), 0u);
  EXPECT_FALSE(ts.cancel(e));
}

TEST_F(task_scheduler_test, actors_schedule_and_cancel_through_messages) {
  auto& ts = make();
  auto sched = ts.actor();
  std::vector<long long> ran;
  schedule_result got;
  bool cancelled = false;
  auto client = sys_->spawn([&](caf::event_based_actor* self) {
    self->request(sched, caf::infinite, schedule_task_atom::value,
                  task_spec::after(3ms, [&](task_context&) { ran.push_back(now_ms()); }))
        .then([&, self](schedule_result r) {
          got = r;
          self->request(sched, caf::infinite, schedule_task_atom::value,
                        task_spec::after(4ms, [&](task_context&) { ran.push_back(-1); }))
              .then([&, self](schedule_result second) {
                self->request(sched, caf::infinite, cancel_task_atom::value, second.handle)
                    .then([&](bool ended) { cancelled = ended; });
              });
        });
    return caf::behavior{[](int) {}};
  });
  sched_->run();
  EXPECT_TRUE(got.ok());
  EXPECT_TRUE(cancelled);
  step(5);
  EXPECT_EQ(ran, (std::vector<long long>{3}));
  caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
}

TEST_F(task_scheduler_test, destroying_the_handle_drops_tasks_not_run) {
  auto& ts = make();
  auto token = std::make_shared<int>(0);
  bool ran = false;
  must(ts.after(5ms, [&ran, token] { ran = true; }));
  EXPECT_EQ(token.use_count(), 2);
  step(2);
  ts_.reset();
  EXPECT_EQ(token.use_count(), 1);  // the callable is gone once the destructor returns
  step(10);
  EXPECT_FALSE(ran);
}

TEST_F(task_scheduler_test, a_stopped_scheduler_answers_stopped) {
  auto& ts = make();
  const auto h = must(ts.after(5ms, [] {}));
  caf::anon_send_exit(ts.actor(), caf::exit_reason::kill);
  sched_->run();
  const auto r = ts.after(1ms, [] {});
  EXPECT_EQ(r.error, schedule_error::stopped);
  EXPECT_FALSE(r.handle.valid());
  EXPECT_FALSE(ts.cancel(h));
  EXPECT_EQ(ts.stats().live, 0u);
}
