#pragma once

// The pure core of the task scheduler: which user task runs when. It keeps ids, times and order
// only; the actor around it keeps the callables and one timer for next_deadline(). Named "task
// scheduler" to tell it apart from the frame scheduler (session::outbound_scheduler) and from
// CAF's thread pool.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace netcore::app {

/// Names one scheduling of one task. An id names at most one live task at a time; a freed id is
/// reused only with a new generation, so a handle kept past its task's end (stale) never matches
/// a later task. The default handle is invalid and matches nothing.
struct task_handle {
  std::uint64_t id = 0;          ///< 1, 2, ...; 0 for no task.
  std::uint32_t generation = 0;  ///< 1 and up; 0 for no task.

  /// True for a handle a schedule call returned (it may since have become stale).
  bool valid() const noexcept { return id != 0 && generation != 0; }
  friend bool operator==(task_handle a, task_handle b) noexcept {
    return a.id == b.id && a.generation == b.generation;
  }
  friend bool operator!=(task_handle a, task_handle b) noexcept { return !(a == b); }
};

/// Bounds of one scheduler.
struct task_scheduler_limits {
  /// Live tasks (waiting for their time, or returned by take_due() and not yet done()) at most.
  std::size_t max_tasks = std::size_t{1} << 20;
};

/// Why a schedule call gave no handle.
enum class schedule_error : std::uint8_t {
  none = 0,          ///< Scheduled.
  too_many_tasks,    ///< max_tasks tasks are live; nothing was scheduled.
  invalid_interval,  ///< schedule_every() with an interval of zero or less; nothing was scheduled.
  stopped,           ///< The task scheduler actor has ended (never returned by the core itself).
};

/// What a schedule call returns: the new task's handle, or why there is none.
struct schedule_result {
  task_handle handle;                           ///< Valid exactly when ok().
  schedule_error error = schedule_error::none;  ///< none when scheduled.
  /// True when the task was scheduled.
  bool ok() const noexcept { return error == schedule_error::none; }
  explicit operator bool() const noexcept { return ok(); }
};

/// Decides which tasks are due and in what order. No I/O, no clock, no callbacks: time is passed
/// in, and every method returns after doing its own work, so a task may schedule and cancel
/// tasks at any point of the owner's loop, and nothing can deadlock (there are no locks and no
/// calls out). Thread safety: none; one owner drives it.
///
/// Order. take_due() returns the due tasks by time (earlier first), then priority (higher
/// first), then the order they were scheduled in (the schedule call, also for every later run
/// of a periodic task).
///
/// Periodic tasks run at a fixed rate: the next run is the previous scheduled time plus the
/// interval. When the owner fell behind by several intervals, missed runs are not replayed in a
/// burst: the task is returned once, and its next time is the first time after `now` on its
/// grid (first + k * interval), so its phase is kept. A task is thus returned at most once per
/// take_due(). A periodic task whose next time would lie beyond clock::time_point::max() is
/// returned a last time as if it were one-shot (due::periodic false, pending until done()).
///
/// A one-shot task take_due() returned is "pending its run": it stays live (is_live(), size(),
/// cancel() true) until the owner calls done(). This lets the owner skip a task that an earlier
/// task of the same batch cancelled, and never run a cancelled task:
///
///     for (const auto& d : core.take_due(now)) {
///       if (core.is_live(d.handle)) run(d.handle.id);       // false: cancelled meanwhile
///       if (core.done(d.handle)) callables.erase(d.handle.id);  // a one-shot task ended
///     }
///     arm_timer(core.next_deadline());
///
/// The owner erases a task's callable exactly when cancel() or done() returns true for it; that
/// keeps a map keyed by id in step with the core even though ids are reused. (A task may cancel
/// itself while it runs, so the owner should not destroy the running callable in place.)
///
/// Cost: schedule and cancel O(log n) amortised, take_due O(k log n) for k due tasks. Cancelled
/// tasks leave their heap entry behind (lazy deletion) until it reaches the top or dead entries
/// outnumber waiting ones, when the heap is compacted: after every call, heap_entries() is at
/// most twice the number of waiting tasks. Memory otherwise grows with the most tasks ever live
/// at once (a slot each), not with the number of schedule calls (but for one slot retired per
/// 2^32 reuses of a slot, when its generation would wrap).
class task_scheduler_core {
 public:
  using clock = std::chrono::steady_clock;

  /// One task take_due() returned.
  struct due {
    task_handle handle;     ///< The task.
    clock::time_point at;   ///< The time this run was scheduled for (may be before `now`).
    int priority = 0;       ///< As scheduled.
    bool periodic = false;  ///< True: re-armed already (done() does nothing); false: a
                            ///< one-shot run, pending until done().
  };

  /// An empty scheduler bounded by `limits`.
  explicit task_scheduler_core(task_scheduler_limits limits = {});

  /// A one-shot task due at `at` (a time already past is due at once), ordered by `priority`
  /// among tasks due at the same time. Errors: schedule_error::too_many_tasks.
  schedule_result schedule_at(clock::time_point at, int priority = 0);
  /// A periodic task: first due at `first`, then every `interval` (see the class comment).
  /// Errors: schedule_error::invalid_interval (interval <= 0), schedule_error::too_many_tasks.
  schedule_result schedule_every(clock::time_point first, clock::duration interval,
                                 int priority = 0);

  /// Ends task `h` before it runs (again): it is no longer live and never returned again. False
  /// when `h` is invalid, stale, unknown, already cancelled, or a one-shot task already done().
  bool cancel(task_handle h) noexcept;
  /// Ends one-shot task `h` that take_due() returned, whether the owner ran it or skipped it.
  /// True when that ended it; false for a periodic task (still live), a one-shot task not yet
  /// returned by take_due(), or an invalid, stale or cancelled handle.
  bool done(task_handle h) noexcept;
  /// True while `h` is scheduled (waiting, or pending its run after take_due()).
  bool is_live(task_handle h) const noexcept;

  /// The earliest time a waiting task is due (possibly already past), or nothing when no task
  /// waits. Cancelled tasks and one-shot tasks pending their run do not count.
  std::optional<clock::time_point> next_deadline() const noexcept;
  /// Every task due at or before `now`, in order (see the class comment). One-shot tasks become
  /// pending their run until done(); periodic ones are re-armed to a time after `now`.
  std::vector<due> take_due(clock::time_point now);

  /// Live tasks: waiting, or pending their run.
  std::size_t size() const noexcept { return live_; }
  /// Entries in the heap, cancelled ones not yet dropped included (for tests and statistics).
  std::size_t heap_entries() const noexcept { return heap_.size(); }

 private:
  enum class state : std::uint8_t { free, waiting, pending };
  struct slot {
    clock::duration interval{0};  // > 0 for a periodic task
    std::uint64_t seq = 0;        // the schedule call's place in line
    std::uint32_t generation = 1;
    state st = state::free;
  };
  struct entry {
    clock::time_point at;
    int priority;
    std::uint64_t seq;
    std::uint32_t index;
    std::uint32_t generation;
  };

  schedule_result add(clock::time_point at, clock::duration interval, int priority);
  slot* find(task_handle h) noexcept;
  const slot* find(task_handle h) const noexcept;
  bool waiting(const entry& e) const noexcept;
  void push(const entry& e);
  void release(std::uint32_t index) noexcept;
  void settle() noexcept;
  void compact_if_sparse() noexcept;

  task_scheduler_limits limits_;
  std::vector<slot> slots_;          // index + 1 is the task id
  std::vector<std::uint32_t> free_;  // reusable slot indexes
  std::vector<entry> heap_;          // its front is always a waiting task (or it is empty)
  std::size_t dead_ = 0;             // entries in heap_ of cancelled tasks
  std::size_t live_ = 0;
  std::uint64_t next_seq_ = 0;
};

}  // namespace netcore::app
