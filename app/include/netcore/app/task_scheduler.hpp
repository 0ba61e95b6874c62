#pragma once

// The task scheduler: user tasks run after a delay, at a time or every interval, on one actor
// around task_scheduler_core. Named "task scheduler" to tell it apart from the frame scheduler
// (session::outbound_scheduler) and from CAF's thread pool.
//
// Where tasks run: on the scheduler actor itself, one at a time, in the order of
// task_scheduler_core (time, then priority, then schedule order). A task must be short; a long
// job should send its work to another actor. Time is the actor system's clock
// (caf::actor_system::clock(), std::chrono::steady_clock unless CAF's test coordinator fakes it).
//
// Timer: the actor keeps one CAF delayed message ("tick") on its way for the earliest due task,
// not one per task, and no polling. A tick carries the time it was armed for, and the actor
// keeps the times of its ticks on their way. CAF 0.17 cannot cancel a delayed message, so a
// task due before every tick on its way gets a tick of its own; the ticks already on their way
// are kept and serve the later deadlines (no new tick is sent for a deadline a tick on its way
// already covers), and a tick that arrives with nothing due runs nothing
// (stats().ignored_ticks). Tasks due at or after the earliest add no tick; only a task due
// earlier than every tick on its way does (at worst each task scheduled in decreasing time
// order; about ln n of n tasks in random order).
//
// Exceptions: whatever a task throws is caught. The run counts in stats().failures, and the
// error goes to task_scheduler_config::on_error. A periodic task that throws keeps its schedule
// (it runs again at its next time); a one-shot task that throws has ended.

#include <netcore/app/task_scheduler_core.hpp>

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>

namespace netcore::app {

class task_context;

/// A task. It gets the context of its run, through which it may schedule and cancel tasks.
using task_fn = std::function<void(task_context&)>;

/// What to schedule: the callable, when it first runs and whether it repeats. Times are on the
/// actor system's clock; a time already past (or a delay of zero or less) means "at once".
struct task_spec {
  /// The clock of every time here: the actor clock's (std::chrono::steady_clock).
  using clock = task_scheduler_core::clock;

  /// A one-shot task `delay` after the scheduler receives the request.
  static task_spec after(clock::duration delay, task_fn fn, int priority = 0);
  /// A one-shot task at `when`.
  static task_spec at(clock::time_point when, task_fn fn, int priority = 0);
  /// A periodic task first run `first_delay` after the scheduler receives the request, then at
  /// a fixed rate of one run per `interval` (no bursts after a delay: see task_scheduler_core).
  static task_spec every(clock::duration interval, clock::duration first_delay, task_fn fn,
                         int priority = 0);

  std::optional<clock::time_point> when;    ///< The first run; empty: `delay` after arrival.
  clock::duration delay{0};                 ///< Used when `when` is empty.
  std::optional<clock::duration> interval;  ///< Set: periodic (it must be > 0).
  int priority = 0;                         ///< Higher first among tasks due together.
  task_fn fn;                               ///< Must not be empty.
};

/// What a scheduler counted since it started.
struct task_scheduler_stats {
  std::uint64_t runs = 0;           ///< Task runs (each run of a periodic task), failed included.
  std::uint64_t failures = 0;       ///< Runs that threw.
  std::uint64_t cancelled = 0;      ///< cancel() calls that ended a task.
  std::uint64_t ignored_ticks = 0;  ///< Ticks that arrived with nothing due (superseded, early).
  std::size_t live = 0;             ///< Tasks scheduled that have not ended.
  std::size_t pending_ticks = 0;    ///< Ticks on their way: 1 while a task waits; more when the
                                    ///< earliest deadline moved earlier (file comment); one
                                    ///< whose task was cancelled counts until it arrives.
};

/// Bounds and callbacks of a scheduler.
struct task_scheduler_config {
  /// max_tasks: live tasks at most; schedule calls beyond it fail with too_many_tasks.
  task_scheduler_limits limits;
  /// Called on the scheduler actor with the handle and the exception of every run that threw.
  /// Must be short and must not call the blocking task_scheduler functions of another
  /// scheduler; what it throws is dropped. Empty: failures are only counted.
  std::function<void(task_handle, std::exception_ptr)> on_error;
};

namespace detail {
struct task_scheduler_state;
struct task_scheduler_access;

/// `d` in the clock's unit, saturated at its bounds.
task_scheduler_core::clock::duration to_clock_duration(std::chrono::milliseconds d) noexcept;
}  // namespace detail

/// The scheduling calls shared by task_scheduler (from any thread) and task_context (inside a
/// task), written once in terms of the derived class's schedule(task_spec).
template <class Derived>
class task_scheduling {
 public:
  /// The clock of every time here: the actor clock's (std::chrono::steady_clock).
  using clock = task_scheduler_core::clock;

  /// Runs `task` once, `delay` from now (zero or less: at once), ordered by `priority` among
  /// tasks due together. Errors: too_many_tasks, stopped (task_scheduler only: its actor has
  /// ended). Throws std::invalid_argument for an empty `task`.
  schedule_result after(std::chrono::milliseconds delay, task_fn task, int priority = 0) {
    return self().schedule(
        task_spec::after(detail::to_clock_duration(delay), std::move(task), priority));
  }
  /// The same for a task that does not need its context.
  schedule_result after(std::chrono::milliseconds delay, std::function<void()> task,
                        int priority = 0) {
    return after(delay, wrap(std::move(task)), priority);
  }

  /// Runs `task` once at `when` on the actor system's clock (a time past: at once).
  schedule_result at(clock::time_point when, task_fn task, int priority = 0) {
    return self().schedule(task_spec::at(when, std::move(task), priority));
  }
  /// The same for a task that does not need its context.
  schedule_result at(clock::time_point when, std::function<void()> task, int priority = 0) {
    return at(when, wrap(std::move(task)), priority);
  }

  /// Runs `task` every `interval` at a fixed rate, first after `first_delay` (empty: after one
  /// interval), until it is cancelled. Errors: invalid_interval (interval <= 0),
  /// too_many_tasks, stopped.
  schedule_result every(std::chrono::milliseconds interval, task_fn task, int priority = 0,
                        std::optional<std::chrono::milliseconds> first_delay = std::nullopt) {
    return self().schedule(task_spec::every(
        detail::to_clock_duration(interval),
        detail::to_clock_duration(first_delay.value_or(interval)), std::move(task), priority));
  }
  /// The same for a task that does not need its context.
  schedule_result every(std::chrono::milliseconds interval, std::function<void()> task,
                        int priority = 0,
                        std::optional<std::chrono::milliseconds> first_delay = std::nullopt) {
    return every(interval, wrap(std::move(task)), priority, first_delay);
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
  static task_fn wrap(std::function<void()> f) {
    if (!f) return {};
    return [f = std::move(f)](task_context&) { f(); };
  }
};

/// The view a running task has of its scheduler. It is valid only during that run, on the
/// scheduler actor (do not keep it). Its calls act on the scheduler directly, without messages:
/// a task scheduling or cancelling tasks never waits for anything.
class task_context : public task_scheduling<task_context> {
 public:
  task_context(const task_context&) = delete;
  task_context& operator=(const task_context&) = delete;

  /// The running task (a periodic task may cancel itself with it).
  task_handle handle() const noexcept { return running_; }
  /// The actor system's clock now.
  clock::time_point now() const noexcept;

  /// Schedules `spec` (the general form of after/at/every). A task scheduled due now runs
  /// after the current batch, not within it. Errors: as task_scheduler::schedule().
  schedule_result schedule(task_spec spec);
  /// Ends task `h` before it runs (again), the running task included. False when `h` is
  /// invalid, stale, or already ended.
  bool cancel(task_handle h);
  /// The scheduler's counters now.
  task_scheduler_stats stats() const;

 private:
  friend struct detail::task_scheduler_access;
  task_context(detail::task_scheduler_state& state, task_handle running) noexcept
      : state_(&state), running_(running) {}

  detail::task_scheduler_state* state_;
  task_handle running_;
};

// Messages of the task scheduler actor (local only: they carry callables).
/// (schedule_task_atom, task_spec) -> schedule_result: schedules a task.
using schedule_task_atom = caf::atom_constant<caf::atom("ts_sched")>;
/// (cancel_task_atom, task_handle) -> bool: cancels a task.
using cancel_task_atom = caf::atom_constant<caf::atom("ts_cancel")>;
/// (task_stats_atom) -> task_scheduler_stats: the counters.
using task_stats_atom = caf::atom_constant<caf::atom("ts_stats")>;
/// Internal: the timer. It carries the time it was armed for; sent by the actor to itself.
using task_tick_atom = caf::atom_constant<caf::atom("ts_tick")>;

/// The task scheduler actor. schedule_task_atom answers the new handle or why there is none
/// (an empty callable is answered with caf::sec::invalid_argument); cancel_task_atom answers
/// whether that ended the task; task_stats_atom answers the counters.
using task_scheduler_actor =
    caf::typed_actor<caf::replies_to<schedule_task_atom, task_spec>::with<schedule_result>,
                     caf::replies_to<cancel_task_atom, task_handle>::with<bool>,
                     caf::replies_to<task_stats_atom>::with<task_scheduler_stats>,
                     caf::reacts_to<task_tick_atom, task_scheduler_core::clock::duration>>;

/// Spawns a task scheduler actor for actors that schedule through messages. It runs until it
/// gets an exit message (send one before the actor system ends); tasks not run are dropped.
task_scheduler_actor spawn_task_scheduler(caf::actor_system& sys, task_scheduler_config cfg = {});

/// A task scheduler for plain C++: owns a scheduler actor and talks to it. Thread-safe: every
/// call from outside a task is a blocking request to the actor (a round trip). Called from
/// inside one of its own tasks (on the actor), a call acts through that task's context instead,
/// so it never waits for the actor it runs on. (From a task of another scheduler, a call is a
/// blocking request as from any thread, holding that scheduler's CAF worker until answered.)
/// Create it after, destroy it before `sys`.
class task_scheduler : public task_scheduling<task_scheduler> {
 public:
  /// Spawns the actor on `sys`, bounded and reporting as `cfg` says.
  explicit task_scheduler(caf::actor_system& sys, task_scheduler_config cfg = {});
  /// Stops the actor and waits until it has ended: afterwards no task runs, and the callables
  /// of tasks not run are destroyed. From inside one of its own tasks it stops the actor
  /// without waiting (the batch of due tasks in progress completes first).
  ~task_scheduler();
  task_scheduler(const task_scheduler&) = delete;
  task_scheduler& operator=(const task_scheduler&) = delete;

  /// Schedules `spec` (the general form of after/at/every). Errors (result.error, with an
  /// invalid handle): too_many_tasks (limits.max_tasks live), invalid_interval, stopped (the
  /// actor has ended). Throws std::invalid_argument for an empty `spec.fn`.
  schedule_result schedule(task_spec spec);
  /// Ends task `h` before it runs (again). True when that ended it; false when `h` is invalid,
  /// stale, already ended (a one-shot task that ran), or the actor has ended. A task already
  /// running completes its run.
  bool cancel(task_handle h);
  /// The counters now (all zero once the actor has ended).
  task_scheduler_stats stats() const;
  /// The actor, for actors that schedule through messages.
  task_scheduler_actor actor() const { return actor_; }

 private:
  caf::actor_system* sys_;
  task_scheduler_actor actor_;
};

}  // namespace netcore::app

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::app::task_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::app::task_handle)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::app::schedule_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::app::task_scheduler_stats)
