// The task scheduler's pure core: order of due tasks, periodic re-arming without bursts,
// cancellation (also within a batch), stale handles, bounds, and that cancelled entries do not
// pile up. Virtual time only: every time point is built from the clock's epoch.

#include <netcore/app/task_scheduler_core.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <tuple>

using namespace netcore::app;
using namespace std::chrono_literals;
using clock_type = task_scheduler_core::clock;

namespace {

clock_type::time_point t(clock_type::duration d) {
  return clock_type::time_point{} + d;
}
long long ms(clock_type::time_point p) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(p.time_since_epoch()).count();
}

task_handle must(schedule_result r) {
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.handle.valid());
  return r.handle;
}

std::vector<task_handle> handles(const std::vector<task_scheduler_core::due>& batch) {
  std::vector<task_handle> out;
  for (const auto& d : batch) out.push_back(d.handle);
  return out;
}

// The owner's loop from the header: runs (calls `run` for) each live task, then done().
template <class Run>
std::vector<task_handle> run_batch(task_scheduler_core& core, clock_type::time_point now, Run run) {
  std::vector<task_handle> ran;
  for (const auto& d : core.take_due(now)) {
    if (core.is_live(d.handle)) {
      ran.push_back(d.handle);
      run(d.handle);
    }
    core.done(d.handle);
  }
  return ran;
}

}  // namespace

TEST(app_task_scheduler_core, orders_by_time_then_priority_then_schedule_order) {
  task_scheduler_core core;
  const auto late_high = must(core.schedule_at(t(20ms), 9));
  const auto low_a = must(core.schedule_at(t(10ms), 1));
  const auto high = must(core.schedule_at(t(10ms), 5));
  const auto low_b = must(core.schedule_at(t(10ms), 1));
  const auto early = must(core.schedule_at(t(5ms), -3));
  const auto not_yet = must(core.schedule_at(t(21ms), 100));
  const auto batch = core.take_due(t(20ms));
  EXPECT_EQ(handles(batch), (std::vector<task_handle>{early, high, low_a, low_b, late_high}));
  EXPECT_EQ(ms(batch[0].at), 5);
  EXPECT_EQ(batch[1].priority, 5);
  EXPECT_FALSE(batch[1].periodic);
  EXPECT_TRUE(core.is_live(not_yet));
  EXPECT_EQ(ms(*core.next_deadline()), 21);
}

TEST(app_task_scheduler_core, due_at_or_before_now_and_past_times_at_once) {
  task_scheduler_core core;
  const auto a = must(core.schedule_at(t(10ms)));
  EXPECT_TRUE(core.take_due(t(9ms)).empty());
  EXPECT_EQ(handles(core.take_due(t(10ms))), std::vector<task_handle>{a});
  EXPECT_TRUE(core.done(a));
  // At 50ms a task for 30ms is already late: it is due at once, before one for 50ms.
  const auto on_time = must(core.schedule_at(t(50ms)));
  const auto past = must(core.schedule_at(t(30ms)));
  EXPECT_EQ(ms(*core.next_deadline()), 30);
  EXPECT_EQ(handles(core.take_due(t(50ms))), (std::vector<task_handle>{past, on_time}));
}

TEST(app_task_scheduler_core, periodic_runs_at_a_fixed_rate) {
  task_scheduler_core core;
  const auto p = must(core.schedule_every(t(10ms), 10ms));
  auto batch = core.take_due(t(10ms));
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_TRUE(batch[0].periodic);
  EXPECT_FALSE(core.done(p));  // periodic: done() does nothing
  EXPECT_TRUE(core.is_live(p));
  EXPECT_EQ(ms(*core.next_deadline()), 20);
  EXPECT_TRUE(core.take_due(t(19ms)).empty());
  // Served 3ms late: the next run stays at 20 + 10, not 23 + 10.
  batch = core.take_due(t(23ms));
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(ms(batch[0].at), 20);
  EXPECT_EQ(ms(*core.next_deadline()), 30);
  batch = core.take_due(t(31ms));
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(ms(batch[0].at), 30);
  EXPECT_EQ(ms(*core.next_deadline()), 40);
  EXPECT_EQ(core.size(), 1u);
}

TEST(app_task_scheduler_core, periodic_catch_up_runs_once_and_keeps_the_phase) {
  task_scheduler_core core;
  const auto p = must(core.schedule_every(t(3ms), 10ms));
  // Nine runs were missed (3, 13, ..., 93): one run now, the next at 103.
  auto batch = core.take_due(t(95ms));
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].handle, p);
  EXPECT_EQ(ms(batch[0].at), 3);
  EXPECT_EQ(ms(*core.next_deadline()), 103);
  // Exactly on a grid point the next run is the one after it.
  batch = core.take_due(t(203ms));
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(ms(batch[0].at), 103);
  EXPECT_EQ(ms(*core.next_deadline()), 213);
}

TEST(app_task_scheduler_core, periodic_without_a_representable_next_time_ends) {
  task_scheduler_core core;
  const auto max = clock_type::time_point::max();
  const auto p = must(core.schedule_every(max - 10ns, 100ns));
  const auto batch = core.take_due(max - 5ns);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_FALSE(batch[0].periodic);
  EXPECT_FALSE(core.next_deadline().has_value());
  EXPECT_TRUE(core.is_live(p));
  EXPECT_TRUE(core.done(p));
  EXPECT_EQ(core.size(), 0u);
}

TEST(app_task_scheduler_core, intervals_of_zero_or_less_are_rejected) {
  task_scheduler_core core;
  for (auto interval : {clock_type::duration::zero(), clock_type::duration{-1ms}}) {
    const auto r = core.schedule_every(t(10ms), interval);
    EXPECT_FALSE(r);
    EXPECT_EQ(r.error, schedule_error::invalid_interval);
    EXPECT_FALSE(r.handle.valid());
  }
  EXPECT_EQ(core.size(), 0u);
  EXPECT_TRUE(core.schedule_every(t(10ms), 1ns).ok());
}

TEST(app_task_scheduler_core, cancel_before_due_and_of_a_periodic_task) {
  task_scheduler_core core;
  const auto once = must(core.schedule_at(t(10ms)));
  const auto every = must(core.schedule_every(t(10ms), 5ms));
  EXPECT_TRUE(core.cancel(once));
  EXPECT_FALSE(core.is_live(once));
  EXPECT_FALSE(core.cancel(once));
  EXPECT_EQ(handles(core.take_due(t(10ms))), std::vector<task_handle>{every});
  EXPECT_TRUE(core.cancel(every));
  EXPECT_FALSE(core.is_live(every));
  EXPECT_TRUE(core.take_due(t(100ms)).empty());
  EXPECT_FALSE(core.next_deadline().has_value());
  EXPECT_EQ(core.size(), 0u);
}

TEST(app_task_scheduler_core, one_shot_task_is_pending_until_done) {
  task_scheduler_core core;
  const auto a = must(core.schedule_at(t(10ms)));
  EXPECT_FALSE(core.done(a));  // not returned by take_due yet
  ASSERT_EQ(core.take_due(t(10ms)).size(), 1u);
  EXPECT_TRUE(core.is_live(a));
  EXPECT_EQ(core.size(), 1u);
  EXPECT_FALSE(core.next_deadline().has_value());
  EXPECT_TRUE(core.take_due(t(20ms)).empty());  // returned once only
  EXPECT_TRUE(core.done(a));
  EXPECT_FALSE(core.is_live(a));
  EXPECT_FALSE(core.done(a));
  EXPECT_FALSE(core.cancel(a));  // already run
  EXPECT_EQ(core.size(), 0u);
}

TEST(app_task_scheduler_core, a_task_cancelled_earlier_in_its_batch_is_skipped) {
  task_scheduler_core core;
  const auto first = must(core.schedule_at(t(10ms), 1));
  const auto victim = must(core.schedule_at(t(10ms)));
  const auto periodic_victim = must(core.schedule_every(t(10ms), 10ms));
  const auto ran = run_batch(core, t(10ms), [&](task_handle h) {
    if (h != first) return;
    EXPECT_TRUE(core.cancel(victim));  // pending its run: still cancellable
    EXPECT_TRUE(core.cancel(periodic_victim));
  });
  EXPECT_EQ(ran, std::vector<task_handle>{first});
  EXPECT_FALSE(core.done(victim));
  EXPECT_EQ(core.size(), 0u);
  EXPECT_FALSE(core.next_deadline().has_value());
}

TEST(app_task_scheduler_core, stale_handles_never_match_a_newer_task) {
  task_scheduler_core core;
  const auto old = must(core.schedule_at(t(10ms)));
  ASSERT_TRUE(core.cancel(old));
  const auto fresh = must(core.schedule_at(t(10ms)));
  EXPECT_EQ(fresh.id, old.id);  // the id is reused, under a new generation
  EXPECT_NE(fresh.generation, old.generation);
  EXPECT_FALSE(core.is_live(old));
  EXPECT_FALSE(core.cancel(old));
  EXPECT_FALSE(core.done(old));
  EXPECT_TRUE(core.is_live(fresh));
  EXPECT_FALSE(core.cancel(task_handle{}));
  EXPECT_FALSE(core.cancel(task_handle{fresh.id + 1, fresh.generation}));
  EXPECT_FALSE(core.cancel(task_handle{fresh.id, fresh.generation + 1}));
  EXPECT_EQ(handles(core.take_due(t(10ms))), std::vector<task_handle>{fresh});
}

TEST(app_task_scheduler_core, tasks_scheduled_within_a_batch_wait_for_the_next_take_due) {
  task_scheduler_core core;
  const auto a = must(core.schedule_at(t(10ms)));
  const auto b = must(core.schedule_at(t(10ms)));
  task_handle now_task, later_task;
  const auto ran = run_batch(core, t(10ms), [&](task_handle h) {
    if (h != a) return;
    now_task = must(core.schedule_at(t(10ms)));  // due already, but not in this batch
    later_task = must(core.schedule_at(t(15ms)));
  });
  EXPECT_EQ(ran, (std::vector<task_handle>{a, b}));
  EXPECT_EQ(ms(*core.next_deadline()), 10);
  EXPECT_EQ(handles(core.take_due(t(10ms))), std::vector<task_handle>{now_task});
  EXPECT_EQ(ms(*core.next_deadline()), 15);
  EXPECT_TRUE(core.is_live(later_task));
}

TEST(app_task_scheduler_core, next_deadline_is_the_earliest_live_task) {
  task_scheduler_core core;
  EXPECT_FALSE(core.next_deadline().has_value());
  const auto c = must(core.schedule_at(t(30ms)));
  const auto a = must(core.schedule_at(t(10ms)));
  must(core.schedule_every(t(20ms), 100ms));
  EXPECT_EQ(ms(*core.next_deadline()), 10);
  ASSERT_TRUE(core.cancel(a));
  EXPECT_EQ(ms(*core.next_deadline()), 20);
  ASSERT_TRUE(core.cancel(c));
  EXPECT_EQ(ms(*core.next_deadline()), 20);
  ASSERT_EQ(core.take_due(t(20ms)).size(), 1u);
  EXPECT_EQ(ms(*core.next_deadline()), 120);
}

TEST(app_task_scheduler_core, max_tasks_bounds_live_tasks_including_pending_ones) {
  task_scheduler_core core{task_scheduler_limits{3}};
  const auto a = must(core.schedule_at(t(10ms)));
  const auto b = must(core.schedule_at(t(20ms)));
  must(core.schedule_every(t(20ms), 1ms));
  const auto full = core.schedule_at(t(5ms));
  EXPECT_EQ(full.error, schedule_error::too_many_tasks);
  EXPECT_FALSE(full.handle.valid());
  EXPECT_EQ(core.size(), 3u);
  ASSERT_EQ(core.take_due(t(10ms)).size(), 1u);
  EXPECT_EQ(core.schedule_at(t(5ms)).error, schedule_error::too_many_tasks);  // a is pending
  EXPECT_TRUE(core.done(a));
  const auto d = must(core.schedule_at(t(5ms)));
  EXPECT_FALSE(core.schedule_every(t(5ms), 1ms).ok());
  EXPECT_TRUE(core.cancel(b));
  EXPECT_TRUE(core.schedule_every(t(5ms), 1ms).ok());
  EXPECT_TRUE(core.is_live(d));
  EXPECT_EQ(task_scheduler_core{task_scheduler_limits{0}}.schedule_at(t(1ms)).error,
            schedule_error::too_many_tasks);
}

TEST(app_task_scheduler_core, cancelled_entries_do_not_accumulate) {
  task_scheduler_core core;
  std::vector<task_handle> hs;
  for (int i = 0; i < 1000; ++i) hs.push_back(must(core.schedule_at(t(1ms * (i + 1)))));
  for (int i = 0; i < 999; ++i) ASSERT_TRUE(core.cancel(hs[i]));
  EXPECT_LE(core.heap_entries(), 2u);
  EXPECT_EQ(core.size(), 1u);
  EXPECT_EQ(ms(*core.next_deadline()), 1000);
  // Long schedule/cancel churn beside a long-lived task: freed ids are reused (no slot beyond
  // the 1000 ever live at once) and the heap stays small.
  for (int i = 0; i < 100000; ++i) {
    const auto h = must(core.schedule_at(t(1h) + 1ms * i));
    ASSERT_LE(h.id, 1000u);
    ASSERT_TRUE(core.cancel(h));
    ASSERT_LE(core.heap_entries(), 2u);
  }
  EXPECT_EQ(handles(core.take_due(t(1000ms))), std::vector<task_handle>{hs[999]});
}

// Random schedules, cancels, batches and done() calls against a plain reference model that
// sorts every time; also checks the heap bound after every step.
TEST(app_task_scheduler_core, matches_a_reference_model_under_random_use) {
  struct model_task {
    task_handle h;
    clock_type::time_point at;
    int priority;
    std::uint64_t seq;
    clock_type::duration interval;
    bool waiting;
  };
  std::mt19937 rng{20240611};
  task_scheduler_core core{task_scheduler_limits{64}};
  std::vector<model_task> model;
  std::uint64_t seq = 0;
  auto now = t(0ms);
  const auto pick = [&](int n) { return std::uniform_int_distribution<int>{0, n - 1}(rng); };
  for (int step = 0; step < 20000; ++step) {
    const int op = pick(10);
    if (op < 4) {
      const auto at = now + 1ms * (pick(40) - 5);
      const int prio = pick(3);
      const auto interval = op == 0 ? 1ms * (1 + pick(15)) : clock_type::duration::zero();
      const auto r = op == 0 ? core.schedule_every(at, interval, prio) : core.schedule_at(at, prio);
      ASSERT_EQ(r.ok(), model.size() < 64);
      if (r) model.push_back({r.handle, at, prio, seq++, interval, true});
    } else if (op < 6 && !model.empty()) {
      const auto i = static_cast<std::size_t>(pick(static_cast<int>(model.size())));
      ASSERT_TRUE(core.cancel(model[i].h));
      model.erase(model.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      now += 1ms * pick(12);
      std::vector<model_task*> due;
      for (auto& m : model)
        if (m.waiting && m.at <= now) due.push_back(&m);
      std::sort(due.begin(), due.end(), [](const model_task* a, const model_task* b) {
        return std::make_tuple(a->at, -a->priority, a->seq) <
               std::make_tuple(b->at, -b->priority, b->seq);
      });
      std::vector<task_handle> expected;
      for (auto* m : due) {
        expected.push_back(m->h);
        if (m->interval == clock_type::duration::zero()) m->waiting = false;
        while (m->interval != clock_type::duration::zero() && m->at <= now) m->at += m->interval;
      }
      ASSERT_EQ(handles(core.take_due(now)), expected);
      for (auto it = model.begin(); it != model.end();) {
        if (!it->waiting && pick(2) == 0) {
          ASSERT_TRUE(core.done(it->h));
          it = model.erase(it);
        } else {
          ++it;
        }
      }
    }
    ASSERT_EQ(core.size(), model.size());
    std::size_t waiting = 0;
    std::optional<clock_type::time_point> earliest;
    for (const auto& m : model) {
      if (!m.waiting) continue;
      ++waiting;
      if (!earliest || m.at < *earliest) earliest = m.at;
    }
    ASSERT_EQ(core.next_deadline(), earliest);
    ASSERT_LE(core.heap_entries(), 2 * waiting);
  }
}
