#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

namespace netcore::session {

/// What the owner of a flow says about the flow's next item: whether there is one, whether it may
/// go now (flow-control credit, concurrency), and its cost in body bytes (what fairness counts).
struct flow_head {
  bool has_item = false;
  bool sendable = false;
  std::size_t cost = 0;
};

/// Chooses which flow (an outgoing message, or a lane of small messages) sends next. It holds no
/// items: the owner of the flows answers head(id) with a flow_head and sends the item itself.
///
/// Priority levels 0–255: a higher level is always served first. Within a level, flows share the
/// stream by deficit round robin over *bytes* (one quantum per turn), so a flow cut into small
/// items gets the same bandwidth as one cut into large items. A flow whose head may not go
/// (sendable false) is set aside (stalled) and does not hold up the others until unstall() or
/// unstall_all() brings it back; a flow without an item leaves the rotation until wake().
/// Memory: a few bytes per flow and a queue per priority level in use; nothing per level unused.
class outbound_scheduler {
 public:
  /// `quantum`: bytes a flow may send per turn (at least the largest item).
  explicit outbound_scheduler(std::size_t quantum = 64u << 10);

  /// Makes flow `id` known at `priority`, out of the rotation until wake().
  void add(std::uint64_t id, std::uint8_t priority);
  /// Forgets flow `id` (no-op when unknown).
  void remove(std::uint64_t id);
  /// True when `id` is known.
  bool contains(std::uint64_t id) const { return flows_.count(id) != 0; }
  /// Flow `id` may have a new item: puts it into the rotation unless stalled.
  void wake(std::uint64_t id);
  /// Brings a stalled flow back into the rotation (its credit grew).
  void unstall(std::uint64_t id);
  /// Brings every stalled flow back (the connection's credit grew).
  void unstall_all();

  /// The next flow to send its head item, or nothing when no flow can send now. `head(id)`
  /// returns the flow_head of flow `id`; the chosen flow's deficit is charged with its cost, and
  /// the caller must then send exactly that item (and wake() the flow if more may follow).
  template <class Head>
  std::optional<std::uint64_t> next(Head&& head);

  /// Flows known.
  std::size_t size() const noexcept { return flows_.size(); }
  /// Flows set aside for lack of credit.
  std::size_t stalled() const noexcept { return stalled_.size(); }
  /// True when no flow is in the rotation (stalled flows do not count).
  bool idle() const noexcept { return highest_active() < 0; }

 private:
  struct flow {
    std::uint8_t priority = 0;
    std::size_t deficit = 0;
    bool in_ring = false;
    bool stalled = false;
  };
  void activate(std::uint64_t id, flow& f);
  std::deque<std::uint64_t>& ring(std::uint8_t level);
  void set_active(std::uint8_t level, bool on) noexcept;
  int highest_active() const noexcept;

  static constexpr std::uint16_t no_ring = 0xFFFF;

  std::size_t quantum_;
  std::vector<std::uint64_t> stalled_;  // in the order they stalled
  std::unordered_map<std::uint64_t, flow> flows_;
  std::vector<std::deque<std::uint64_t>> rings_;  // one per level in use
  std::array<std::uint16_t, 256> ring_of_;        // level → index into rings_, or no_ring
  std::array<std::uint64_t, 4> active_{};         // bit per level with a non-empty ring
};

template <class Head>
std::optional<std::uint64_t> outbound_scheduler::next(Head&& head) {
  for (int level = highest_active(); level >= 0; level = highest_active()) {
    auto& r = rings_[ring_of_[static_cast<std::size_t>(level)]];
    // Each step sends, drops a flow without item, stalls a flow, or rotates one with a quantum
    // more of deficit: the loop ends.
    while (!r.empty()) {
      const std::uint64_t id = r.front();
      flow& f = flows_.at(id);
      const flow_head h = head(id);
      if (!h.has_item) {
        f.deficit = 0;  // an emptied queue forfeits its deficit (classic DRR)
        f.in_ring = false;
        r.pop_front();
        continue;
      }
      if (!h.sendable) {
        f.stalled = true;
        stalled_.push_back(id);
        f.in_ring = false;
        r.pop_front();
        continue;
      }
      if (f.deficit < h.cost) {
        f.deficit += quantum_;
        r.pop_front();
        r.push_back(id);
        continue;
      }
      f.deficit -= h.cost;
      return id;
    }
    set_active(static_cast<std::uint8_t>(level), false);
  }
  return std::nullopt;
}

}  // namespace netcore::session
