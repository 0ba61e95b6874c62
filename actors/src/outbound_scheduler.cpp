#include <netcore/actors/outbound_scheduler.hpp>

#include <algorithm>

namespace netcore::actors {

outbound_scheduler::outbound_scheduler(std::size_t quantum)
    : quantum_(std::max<std::size_t>(quantum, 1)) {}

void outbound_scheduler::add(std::uint64_t id, std::uint8_t priority) {
  auto& e = messages_[id];
  e.priority = priority;
}

void outbound_scheduler::activate(std::uint64_t id, entry& e) {
  if (e.in_ring || e.stalled || e.items.empty()) return;
  // A message joining the rotation starts with one quantum, so equal small messages leave in
  // the order they came.
  if (e.deficit == 0) e.deficit = quantum_;
  e.in_ring = true;
  rings_[e.priority].push_back(id);
  active_.set(e.priority);
}

void outbound_scheduler::push(std::uint64_t id, outbound_item item) {
  auto i = messages_.find(id);
  if (i == messages_.end()) return;
  i->second.items.push_back(std::move(item));
  activate(id, i->second);
}

void outbound_scheduler::remove(std::uint64_t id) {
  auto i = messages_.find(id);
  if (i == messages_.end()) return;
  if (i->second.in_ring) {
    auto& ring = rings_[i->second.priority];
    ring.erase(std::find(ring.begin(), ring.end(), id));
    if (ring.empty()) active_.reset(i->second.priority);
  }
  messages_.erase(i);
}

std::optional<std::pair<std::uint64_t, outbound_item>>
outbound_scheduler::next(const credit_check& can_send) {
  for (int level = 255; level >= 0; --level) {
    if (!active_.test(static_cast<std::size_t>(level))) continue;
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
      if (e.items.empty()) {
        // An emptied queue forfeits its remaining deficit (classic DRR).
        e.deficit = 0;
        e.in_ring = false;
        ring.pop_front();
      }
      if (ring.empty()) active_.reset(static_cast<std::size_t>(level));
      return out;
    }
    if (ring.empty()) active_.reset(static_cast<std::size_t>(level));
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
