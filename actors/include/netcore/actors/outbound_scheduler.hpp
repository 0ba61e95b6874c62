#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/digest.hpp>
#include <netcore/protocol/metadata.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

namespace netcore::actors {

/// One thing an outgoing message wants on the wire, in order: OPEN, DATA..., END, or a whole
/// small message as one SINGLE frame.
struct outbound_item {
  enum class kind : std::uint8_t { open, data, end, single };
  kind what = kind::data;
  /// DATA: offset of the chunk; OPEN/END/SINGLE: total body size (OPEN: may be unknown_size).
  std::uint64_t position = 0;
  /// DATA/SINGLE: the body bytes, kept alive by `owner`.
  protocol::byte_view bytes;
  std::shared_ptr<const void> owner;
  /// END: the whole-body digest.
  protocol::digest64 digest = 0;
  /// SINGLE: the message's own id and metadata (single-frame messages share one lane per
  /// priority level instead of being scheduled one by one).
  std::uint64_t id = 0;
  protocol::message_meta meta;
  /// SINGLE: bytes to give back to the blocking senders' gate once written.
  std::size_t gate_bytes = 0;

  /// Body bytes this item costs in flow-control credit and fairness.
  std::size_t body_size() const noexcept {
    return what == kind::data || what == kind::single ? bytes.size() : 0;
  }
};

/// Chooses what goes on the wire next among many outgoing messages (no I/O, no actors).
///
/// Priority levels 0–255: a higher level is always served first. Within a level, messages share
/// the stream by deficit round robin over *bytes* (quantum per turn), so a message cut into small
/// chunks gets the same bandwidth as one cut into large chunks. A message whose next DATA may not
/// go for lack of flow-control credit is set aside (stalled) and does not hold up the others
/// until unstall()/unstall_all() brings it back.
class outbound_scheduler {
 public:
  /// `quantum`: bytes a message may send per round (at least the largest chunk).
  explicit outbound_scheduler(std::size_t quantum);

  /// Makes message `id` known at `priority`. Items can then be pushed.
  void add(std::uint64_t id, std::uint8_t priority);
  /// Appends an item to message `id`'s queue (which must be known).
  void push(std::uint64_t id, outbound_item item);
  /// Appends a whole single-frame message to the lane of `priority`: all single-frame messages
  /// of a level form one flow that takes part in the round robin like one message, in order.
  void push_single(std::uint8_t priority, outbound_item item);
  /// True when `id` names a single-frame lane rather than a message.
  static constexpr bool is_lane(std::uint64_t id) noexcept { return (id & lane_bit) != 0; }
  /// The lane id of `priority`.
  static constexpr std::uint64_t lane_of(std::uint8_t priority) noexcept {
    return lane_bit | priority;
  }

  /// Forgets message `id` and drops its queued items.
  void remove(std::uint64_t id);
  /// True when `id` is known.
  bool contains(std::uint64_t id) const { return messages_.count(id) != 0; }

  /// Decides whether `bytes` of body for message `id` may go now (flow-control credit).
  using credit_check = std::function<bool(std::uint64_t id, std::size_t bytes)>;

  /// The next item to send and its message id, or nothing when no message can send.
  std::optional<std::pair<std::uint64_t, outbound_item>> next(const credit_check& can_send);

  /// Brings a stalled message back into rotation (its credit grew).
  void unstall(std::uint64_t id);
  /// Brings every stalled message back (the connection's credit grew).
  void unstall_all();

  /// Items queued for message `id`.
  std::size_t queued(std::uint64_t id) const;
  /// Messages known.
  std::size_t size() const noexcept { return messages_.size(); }
  /// Items queued over all messages and lanes (stalled ones included).
  std::size_t total_queued() const noexcept { return total_; }
  /// True when no message has an item that could be sent (ignoring stalls).
  bool idle() const noexcept { return highest_active() < 0; }

 private:
  struct entry {
    std::uint8_t priority = 0;
    std::deque<outbound_item> items;
    std::size_t deficit = 0;
    bool in_ring = false;
    bool stalled = false;
  };
  void activate(std::uint64_t id, entry& e);
  int highest_active() const noexcept;

  static constexpr std::uint64_t lane_bit = std::uint64_t{1} << 63;

  std::size_t quantum_;
  std::unordered_map<std::uint64_t, entry> messages_;
  std::array<std::deque<std::uint64_t>, 256> rings_;
  std::array<std::uint64_t, 4> active_{};
  std::size_t total_ = 0;  // bit per level with a non-empty ring
};

}  // namespace netcore::actors
