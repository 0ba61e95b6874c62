#include <netcore/app/task_scheduler_core.hpp>

#include <algorithm>
#include <limits>
#include <type_traits>
#include <utility>

namespace netcore::app {

namespace {

using clock = task_scheduler_core::clock;

static_assert(std::is_signed_v<clock::rep> && sizeof(clock::rep) == 8,
              "the re-arming arithmetic assumes a signed 64-bit tick count");

std::uint64_t ticks(clock::time_point t) noexcept {
  return static_cast<std::uint64_t>(t.time_since_epoch().count());
}

// The first time after `now` on the grid at + k * interval (k >= 1), or nothing when it lies
// beyond clock::time_point::max(). Requires at <= now and interval > 0. Unsigned arithmetic: the
// differences of two time points always fit in 64 unsigned bits, whatever their signs.
std::optional<clock::time_point> next_run(clock::time_point at, clock::duration interval,
                                          clock::time_point now) noexcept {
  const std::uint64_t room = ticks(clock::time_point::max()) - ticks(at);
  const std::uint64_t step = static_cast<std::uint64_t>(interval.count());
  const std::uint64_t elapsed = ticks(now) - ticks(at);
  const std::uint64_t skipped = elapsed - elapsed % step;  // whole intervals missed, <= room
  if (room - skipped < step) return std::nullopt;
  const auto next = static_cast<clock::rep>(ticks(at) + skipped + step);
  return clock::time_point{clock::duration{next}};
}

// Heap order for std::push_heap (a max-heap): true when `a` is due after `b`.
struct later {
  template <class Entry>
  bool operator()(const Entry& a, const Entry& b) const noexcept {
    if (a.at != b.at) return a.at > b.at;
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.seq > b.seq;
  }
};

}  // namespace

task_scheduler_core::task_scheduler_core(task_scheduler_limits limits) : limits_(limits) {}

schedule_result task_scheduler_core::schedule_at(clock::time_point at, int priority) {
  return add(at, clock::duration::zero(), priority);
}

schedule_result task_scheduler_core::schedule_every(clock::time_point first,
                                                    clock::duration interval, int priority) {
  if (interval <= clock::duration::zero()) return {{}, schedule_error::invalid_interval};
  return add(first, interval, priority);
}

schedule_result task_scheduler_core::add(clock::time_point at, clock::duration interval,
                                         int priority) {
  if (live_ >= limits_.max_tasks) return {{}, schedule_error::too_many_tasks};
  std::uint32_t index = 0;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else if (slots_.size() < std::numeric_limits<std::uint32_t>::max()) {
    // free_ holds room for every slot, so release() never allocates (cancel() is noexcept).
    if (free_.capacity() <= slots_.size())
      free_.reserve(std::max(slots_.size() + 1, 2 * free_.capacity()));
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    return {{}, schedule_error::too_many_tasks};  // every 32-bit index in use (or retired)
  }
  slot& s = slots_[index];
  s.interval = interval;
  s.seq = next_seq_++;
  s.st = state::waiting;
  ++live_;
  push({at, priority, s.seq, index, s.generation});
  return {{std::uint64_t{index} + 1, s.generation}, schedule_error::none};
}

bool task_scheduler_core::cancel(task_handle h) noexcept {
  slot* s = find(h);
  if (s == nullptr) return false;
  if (s->st == state::waiting) ++dead_;  // its heap entry stays until settle() or compaction
  release(static_cast<std::uint32_t>(h.id - 1));
  settle();
  compact_if_sparse();
  return true;
}

bool task_scheduler_core::done(task_handle h) noexcept {
  slot* s = find(h);
  if (s == nullptr || s->st != state::pending) return false;
  release(static_cast<std::uint32_t>(h.id - 1));
  return true;
}

bool task_scheduler_core::is_live(task_handle h) const noexcept {
  return find(h) != nullptr;
}

std::optional<clock::time_point> task_scheduler_core::next_deadline() const noexcept {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().at;  // settle() keeps the front a waiting task
}

std::vector<task_scheduler_core::due> task_scheduler_core::take_due(clock::time_point now) {
  std::vector<due> out;
  while (!heap_.empty() && heap_.front().at <= now) {
    entry e = heap_.front();
    slot& s = slots_[e.index];
    std::optional<clock::time_point> next;
    if (s.interval > clock::duration::zero()) next = next_run(e.at, s.interval, now);
    out.push_back({{std::uint64_t{e.index} + 1, e.generation}, e.at, e.priority, next.has_value()});
    std::pop_heap(heap_.begin(), heap_.end(), later{});
    heap_.pop_back();
    if (next) {
      e.at = *next;  // after `now`: not returned again by this call
      push(e);       // no allocation: an entry was just removed
    } else {
      s.st = state::pending;  // a one-shot task, or a periodic one without a next time
    }
    settle();
  }
  compact_if_sparse();
  return out;
}

task_scheduler_core::slot* task_scheduler_core::find(task_handle h) noexcept {
  return const_cast<slot*>(std::as_const(*this).find(h));
}

const task_scheduler_core::slot* task_scheduler_core::find(task_handle h) const noexcept {
  if (!h.valid() || h.id > slots_.size()) return nullptr;
  const slot& s = slots_[h.id - 1];
  if (s.generation != h.generation || s.st == state::free) return nullptr;
  return &s;
}

bool task_scheduler_core::waiting(const entry& e) const noexcept {
  const slot& s = slots_[e.index];
  return s.generation == e.generation && s.st == state::waiting;
}

void task_scheduler_core::push(const entry& e) {
  heap_.push_back(e);
  std::push_heap(heap_.begin(), heap_.end(), later{});
}

// Frees a slot under a new generation. A slot whose generation would wrap is retired instead,
// so no handle ever matches two tasks (one slot lost per 2^32 uses of it).
void task_scheduler_core::release(std::uint32_t index) noexcept {
  slot& s = slots_[index];
  s.st = state::free;
  --live_;
  if (s.generation == std::numeric_limits<std::uint32_t>::max()) return;
  ++s.generation;
  free_.push_back(index);  // never allocates: see add()
}

// Drops cancelled entries from the front, so the front is always a waiting task.
void task_scheduler_core::settle() noexcept {
  while (!heap_.empty() && !waiting(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), later{});
    heap_.pop_back();
    --dead_;
  }
}

// Rebuilds the heap without cancelled entries once they outnumber the waiting ones, which keeps
// heap_entries() <= 2 * waiting tasks at O(1) amortised cost per cancel.
void task_scheduler_core::compact_if_sparse() noexcept {
  if (dead_ <= heap_.size() - dead_) return;
  heap_.erase(
      std::remove_if(heap_.begin(), heap_.end(), [this](const entry& e) { return !waiting(e); }),
      heap_.end());
  std::make_heap(heap_.begin(), heap_.end(), later{});
  dead_ = 0;
}

}  // namespace netcore::app
