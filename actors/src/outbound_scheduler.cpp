#include <netcore/actors/outbound_scheduler.hpp>

#include <algorithm>

namespace netcore::actors {

outbound_scheduler::outbound_scheduler(std::size_t quantum)
    : quantum_(std::max<std::size_t>(quantum, 1)) {}

void outbound_scheduler::add(std::uint64_t id, std::uint8_t priority) {
  auto& e = messages_[id];
  e.priority = priority;
}

namespace {
void set_bit(std::array<std::uint64_t, 4>& words, std::size_t level, bool on) {
  auto mask = std::uint64_t{1} << (level % 64);
  if (on)
    words[level / 64] |= mask;
  else
    words[level / 64] &= ~mask;
}
}  // namespace

int outbound_scheduler::highest_active() const noexcept {
  for (int w = 3; w >= 0; --w)
    if (active_[static_cast<std::size_t>(w)] != 0)
      return w * 64 + 63 - __builtin_clzll(active_[static_cast<std::size_t>(w)]);
  return -1;
}

void outbound_scheduler::activate(std::uint64_t id, entry& e) {
  if (e.in_ring || e.stalled || e.items.empty()) return;
  // A message joining the rotation starts with one quantum, so equal small messages leave in
  // the order they came.
  if (e.deficit == 0) e.deficit = quantum_;
  e.in_ring = true;
  rings_[e.priority].push_back(id);
  set_bit(active_, e.priority, true);
}

void outbound_scheduler::push(std::uint64_t id, outbound_item item) {
  auto i = messages_.find(id);
  if (i == messages_.end()) return;
  i->second.items.push_back(std::move(item));
  ++total_;
  activate(id, i->second);
}

void outbound_scheduler::push_single(std::uint8_t priority, outbound_item item) {
  auto id = lane_of(priority);
  auto& e = messages_[id];
  e.priority = priority;
  e.items.push_back(std::move(item));
  ++total_;
  activate(id, e);
}

void outbound_scheduler::remove(std::uint64_t id) {
  auto i = messages_.find(id);
  if (i == messages_.end()) return;
  if (i->second.in_ring) {
    auto& ring = rings_[i->second.priority];
    ring.erase(std::find(ring.begin(), ring.end(), id));
    if (ring.empty()) set_bit(active_, i->second.priority, false);
  }
  total_ -= i->second.items.size();
  messages_.erase(i);
}

std::optional<std::pair<std::uint64_t, outbound_item>>
outbound_scheduler::next(const credit_check& can_send) {
  for (int level = highest_active(); level >= 0; level = highest_active()) {
    auto& ring = rings_[static_cast<std::size_t>(level)];
    // Each step sends, stalls a message, or rotates one with a quantum more of deficit, so the
    // loop ends: either something is sent or every message at this level is stalled.
    while (!ring.empty()) {
      auto id = ring.front();
      auto& e = messages_.at(id);
      auto& head = e.items.front();
      auto cost = head.body_size();
      if (cost > 0 && !can_send(id, cost)) {
        e.stalled = true;
        e.in_ring = false;
        ring.pop_front();
        continue;
      }
      if (e.deficit < cost) {
        e.deficit += quantum_;
        ring.pop_front();
        ring.push_back(id);
        continue;
      }
      e.deficit -= cost;
      std::pair<std::uint64_t, outbound_item> out{id, std::move(head)};
      e.items.pop_front();
      --total_;
      if (e.items.empty()) {
        // An emptied queue forfeits its remaining deficit (classic DRR).
        e.deficit = 0;
        e.in_ring = false;
        ring.pop_front();
      }
      if (ring.empty()) set_bit(active_, static_cast<std::size_t>(level), false);
      return out;
    }
    // Every message at this level is stalled: look at the levels below.
    set_bit(active_, static_cast<std::size_t>(level), false);
  }
  return std::nullopt;
}

void outbound_scheduler::unstall(std::uint64_t id) {
  auto i = messages_.find(id);
  if (i == messages_.end() || !i->second.stalled) return;
  i->second.stalled = false;
  activate(id, i->second);
}

void outbound_scheduler::unstall_all() {
  for (auto& [id, e] : messages_) {
    if (!e.stalled) continue;
    e.stalled = false;
    activate(id, e);
  }
}

std::size_t outbound_scheduler::queued(std::uint64_t id) const {
  auto i = messages_.find(id);
  return i == messages_.end() ? 0 : i->second.items.size();
}

}  // namespace netcore::actors
