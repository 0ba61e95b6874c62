#include <netcore/app/task_scheduler.hpp>

#include <caf/all.hpp>

#include <memory>
#include <set>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace netcore::app {

using clock = task_scheduler_core::clock;

static_assert(std::is_same_v<caf::actor_clock::time_point, clock::time_point>,
              "the core's times are the actor clock's times");
static_assert(std::is_same_v<caf::timespan, clock::duration>, "ticks carry a caf::timespan");

namespace detail {

/// Everything behind one scheduler actor; touched only on that actor.
struct task_scheduler_state {
  const char* name = "netcore.task_scheduler";
  task_scheduler_core core;
  std::function<void(task_handle, std::exception_ptr)> on_error;
  // The callables by task id, erased exactly when core.cancel() or core.done() is true. Shared
  // so that a task cancelling itself does not destroy the callable that is running.
  std::unordered_map<std::uint64_t, std::shared_ptr<task_fn>> tasks;
  std::multiset<clock::time_point> ticks;  // the times the ticks on their way were armed for
  caf::actor_clock* time = nullptr;
  caf::actor_id owner = 0;
  task_scheduler_stats counters;
};

/// Builds contexts and reads the state behind one (task_context keeps both private).
struct task_scheduler_access {
  static task_context make(task_scheduler_state& s, task_handle h) noexcept { return {s, h}; }
  static task_scheduler_state& state(task_context& c) noexcept { return *c.state_; }
};

clock::duration to_clock_duration(std::chrono::milliseconds d) noexcept {
  constexpr auto hi = std::chrono::duration_cast<std::chrono::milliseconds>(clock::duration::max());
  constexpr auto lo = std::chrono::duration_cast<std::chrono::milliseconds>(clock::duration::min());
  if (d >= hi) return clock::duration::max();
  if (d <= lo) return clock::duration::min();
  return std::chrono::duration_cast<clock::duration>(d);
}

}  // namespace detail

namespace {

using detail::task_scheduler_access;
using detail::task_scheduler_state;
using scheduler_ptr = task_scheduler_actor::stateful_pointer<task_scheduler_state>;

// The context of the task running on this thread, if any (set around each run).
thread_local task_context* running_context = nullptr;

// The running task's context when it belongs to the scheduler `owner`, else null.
task_context* context_of(caf::actor_id owner) noexcept {
  if (running_context == nullptr) return nullptr;
  return task_scheduler_access::state(*running_context).owner == owner ? running_context : nullptr;
}

// `t + d`, saturated at the clock's bounds.
clock::time_point add(clock::time_point t, clock::duration d) noexcept {
  const auto since = t.time_since_epoch();
  if (d > clock::duration::zero() && since > clock::duration::max() - d)
    return clock::time_point::max();
  if (d < clock::duration::zero() && since < clock::duration::min() - d)
    return clock::time_point::min();
  return t + d;
}

schedule_result schedule_in(task_scheduler_state& s, task_spec& spec) {
  const auto first = spec.when ? *spec.when : add(s.time->now(), spec.delay);
  const auto r = spec.interval ? s.core.schedule_every(first, *spec.interval, spec.priority)
                               : s.core.schedule_at(first, spec.priority);
  if (!r) return r;
  try {
    s.tasks.insert_or_assign(r.handle.id, std::make_shared<task_fn>(std::move(spec.fn)));
  } catch (...) {
    s.core.cancel(r.handle);
    throw;
  }
  return r;
}

bool cancel_in(task_scheduler_state& s, task_handle h) {
  if (!s.core.cancel(h)) return false;
  s.tasks.erase(h.id);
  ++s.counters.cancelled;
  return true;
}

task_scheduler_stats stats_of(const task_scheduler_state& s) {
  auto out = s.counters;
  out.live = s.core.size();
  out.pending_ticks = s.ticks.size();
  return out;
}

// Keeps a tick on its way for the earliest deadline: a tick already due at or before it will
// wake the actor in time (and arm the next one), else a new tick is sent for it.
void arm(scheduler_ptr self) {
  auto& s = self->state;
  const auto next = s.core.next_deadline();
  if (!next || (!s.ticks.empty() && *s.ticks.begin() <= *next)) return;
  s.ticks.insert(*next);
  const auto tick = next->time_since_epoch();
  if (*next <= s.time->now())
    self->send(self, task_tick_atom::value, tick);  // due already: CAF's test clock would hold
                                                    // a scheduled message until time moves on
  else
    self->scheduled_send(self, *next, task_tick_atom::value, tick);
}

void run(task_scheduler_state& s, task_handle h) {
  const auto found = s.tasks.find(h.id);
  if (found == s.tasks.end()) return;
  const auto fn = found->second;
  auto ctx = task_scheduler_access::make(s, h);
  auto* outer = std::exchange(running_context, &ctx);
  ++s.counters.runs;
  try {
    (*fn)(ctx);
  } catch (...) {
    ++s.counters.failures;
    if (s.on_error) {
      try {
        s.on_error(h, std::current_exception());
      } catch (...) {  // documented: dropped
      }
    }
  }
  running_context = outer;
}

void on_tick(scheduler_ptr self, clock::duration armed_for) {
  auto& s = self->state;
  if (auto t = s.ticks.find(clock::time_point{armed_for}); t != s.ticks.end()) s.ticks.erase(t);
  const auto batch = s.core.take_due(s.time->now());
  if (batch.empty()) ++s.counters.ignored_ticks;
  for (const auto& due : batch) {
    if (s.core.is_live(due.handle)) run(s, due.handle);  // false: cancelled by an earlier task
    if (s.core.done(due.handle)) s.tasks.erase(due.handle.id);
  }
  arm(self);
}

task_scheduler_actor::behavior_type scheduler_actor(scheduler_ptr self, task_scheduler_config cfg) {
  auto& s = self->state;
  s.core = task_scheduler_core{cfg.limits};
  s.on_error = std::move(cfg.on_error);
  s.time = &self->clock();
  s.owner = self->id();
  return {
      [self](schedule_task_atom, task_spec& spec) -> caf::result<schedule_result> {
        if (!spec.fn) return caf::make_error(caf::sec::invalid_argument);
        const auto r = schedule_in(self->state, spec);
        arm(self);
        return r;
      },
      [self](cancel_task_atom, task_handle h) {
        const bool ended = cancel_in(self->state, h);
        arm(self);
        return ended;
      },
      [self](task_stats_atom) { return stats_of(self->state); },
      [self](task_tick_atom, clock::duration armed_for) { on_tick(self, armed_for); },
  };
}

}  // namespace

task_spec task_spec::after(clock::duration delay, task_fn fn, int priority) {
  task_spec s;
  s.delay = delay;
  s.priority = priority;
  s.fn = std::move(fn);
  return s;
}

task_spec task_spec::at(clock::time_point when, task_fn fn, int priority) {
  task_spec s;
  s.when = when;
  s.priority = priority;
  s.fn = std::move(fn);
  return s;
}

task_spec task_spec::every(clock::duration interval, clock::duration first_delay, task_fn fn,
                           int priority) {
  task_spec s = after(first_delay, std::move(fn), priority);
  s.interval = interval;
  return s;
}

// task_context: runs on the actor, inside its tick handler, which arms the timer after the batch.

clock::time_point task_context::now() const noexcept {
  return state_->time->now();
}

schedule_result task_context::schedule(task_spec spec) {
  if (!spec.fn) throw std::invalid_argument("netcore::app::task_context: empty task");
  return schedule_in(*state_, spec);
}

bool task_context::cancel(task_handle h) {
  return cancel_in(*state_, h);
}

task_scheduler_stats task_context::stats() const {
  return stats_of(*state_);
}

task_scheduler_actor spawn_task_scheduler(caf::actor_system& sys, task_scheduler_config cfg) {
  return sys.spawn(scheduler_actor, std::move(cfg));
}

task_scheduler::task_scheduler(caf::actor_system& sys, task_scheduler_config cfg)
    : sys_(&sys), actor_(spawn_task_scheduler(sys, std::move(cfg))) {}

task_scheduler::~task_scheduler() {
  if (context_of(actor_.id()) != nullptr) {
    caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
    return;
  }
  caf::scoped_actor self{*sys_, true};
  self->send_exit(actor_, caf::exit_reason::user_shutdown);
  self->wait_for(caf::actor_cast<caf::actor>(actor_));
}

schedule_result task_scheduler::schedule(task_spec spec) {
  if (!spec.fn) throw std::invalid_argument("netcore::app::task_scheduler: empty task");
  if (auto* ctx = context_of(actor_.id())) return ctx->schedule(std::move(spec));
  schedule_result out{{}, schedule_error::stopped};
  caf::scoped_actor self{*sys_, true};
  self->request(actor_, caf::infinite, schedule_task_atom::value, std::move(spec))
      .receive([&](schedule_result r) { out = r; }, [](const caf::error&) {});
  return out;
}

bool task_scheduler::cancel(task_handle h) {
  if (auto* ctx = context_of(actor_.id())) return ctx->cancel(h);
  bool out = false;
  caf::scoped_actor self{*sys_, true};
  self->request(actor_, caf::infinite, cancel_task_atom::value, h)
      .receive([&](bool ended) { out = ended; }, [](const caf::error&) {});
  return out;
}

task_scheduler_stats task_scheduler::stats() const {
  if (auto* ctx = context_of(actor_.id())) return ctx->stats();
  task_scheduler_stats out;
  caf::scoped_actor self{*sys_, true};
  self->request(actor_, caf::infinite, task_stats_atom::value)
      .receive([&](task_scheduler_stats s) { out = s; }, [](const caf::error&) {});
  return out;
}

}  // namespace netcore::app
