#include <netcore/session/outbound_scheduler.hpp>

#include <algorithm>

namespace netcore::session {

outbound_scheduler::outbound_scheduler(std::size_t quantum)
    : quantum_(std::max<std::size_t>(quantum, 1)) {
  ring_of_.fill(no_ring);
}

void outbound_scheduler::set_active(std::uint8_t level, bool on) noexcept {
  const auto mask = std::uint64_t{1} << (level % 64);
  if (on)
    active_[level / 64] |= mask;
  else
    active_[level / 64] &= ~mask;
}

int outbound_scheduler::highest_active() const noexcept {
  for (int w = 3; w >= 0; --w) {
    const auto word = active_[static_cast<std::size_t>(w)];
    if (word != 0) return w * 64 + 63 - __builtin_clzll(word);
  }
  return -1;
}

std::deque<std::uint64_t>& outbound_scheduler::ring(std::uint8_t level) {
  if (ring_of_[level] == no_ring) {
    ring_of_[level] = static_cast<std::uint16_t>(rings_.size());
    rings_.emplace_back();
  }
  return rings_[ring_of_[level]];
}

void outbound_scheduler::add(std::uint64_t id, std::uint8_t priority) {
  auto& f = flows_[id];
  f.priority = priority;
}

void outbound_scheduler::activate(std::uint64_t id, flow& f) {
  if (f.in_ring || f.stalled) return;
  // A flow joining the rotation starts with one quantum, so equal small items leave in the order
  // their flows came.
  if (f.deficit == 0) f.deficit = quantum_;
  f.in_ring = true;
  ring(f.priority).push_back(id);
  set_active(f.priority, true);
}

void outbound_scheduler::wake(std::uint64_t id) {
  auto i = flows_.find(id);
  if (i != flows_.end()) activate(id, i->second);
}

void outbound_scheduler::remove(std::uint64_t id) {
  auto i = flows_.find(id);
  if (i == flows_.end()) return;
  if (i->second.in_ring) {
    auto& r = rings_[ring_of_[i->second.priority]];
    r.erase(std::find(r.begin(), r.end(), id));
    if (r.empty()) set_active(i->second.priority, false);
  }
  if (i->second.stalled) stalled_.erase(std::find(stalled_.begin(), stalled_.end(), id));
  flows_.erase(i);
}

void outbound_scheduler::unstall(std::uint64_t id) {
  auto i = flows_.find(id);
  if (i == flows_.end() || !i->second.stalled) return;
  i->second.stalled = false;
  stalled_.erase(std::find(stalled_.begin(), stalled_.end(), id));
  activate(id, i->second);
}

void outbound_scheduler::unstall_all() {
  // Back in the order they stalled: the rotation stays as fair as it was.
  std::vector<std::uint64_t> ids;
  ids.swap(stalled_);
  for (auto id : ids) {
    flow& f = flows_.at(id);
    f.stalled = false;
    activate(id, f);
  }
}

}  // namespace netcore::session
