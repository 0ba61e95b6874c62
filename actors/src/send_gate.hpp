#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace netcore::actors {

/// Bytes a queued message costs the gate besides its body (bookkeeping in the connection), so a
/// flood of tiny messages is bounded too.
inline constexpr std::size_t gate_overhead_per_message = 256;

/// The two accounts of a send_gate: small messages (at most connection_config::single_frame_max
/// bytes, in memory) and the rest, so that a large transfer never blocks a small request.
enum class gate_lane : std::uint8_t { small, large };

/// The account a message of `memory_size` bytes (or a file) is charged to.
inline gate_lane gate_lane_of(std::size_t memory_size, bool from_file,
                              std::size_t single_frame_max) noexcept {
  return !from_file && memory_size <= single_frame_max ? gate_lane::small : gate_lane::large;
}

/// A byte-bounded gate at the boundary between blocking caller threads and the connection actor:
/// acquire() blocks while more than the lane's limit is queued; the connection releases bytes as
/// they are written. Large messages share `limit`, small ones `limit / 4` (at least 1 MiB). A
/// single message larger than its limit still passes when nothing of its lane is queued. close()
/// wakes every waiter and makes acquire() fail from then on.
class send_gate {
 public:
  explicit send_gate(std::size_t limit)
      : limits_{std::max<std::size_t>(limit / 4, std::size_t{1} << 20), limit} {}

  /// Waits for room for `bytes` in `lane`; false when the gate was closed.
  bool acquire(std::size_t bytes, gate_lane lane) {
    auto k = index(lane);
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait(guard, [&] { return closed_ || used_[k] == 0 || used_[k] + bytes <= limits_[k]; });
    if (closed_) return false;
    used_[k] += bytes;
    return true;
  }
  /// What try_acquire() found.
  enum class attempt { acquired, full, closed };
  /// Takes room for `bytes` in `lane` if it is there now, never waiting.
  attempt try_acquire(std::size_t bytes, gate_lane lane) {
    auto k = index(lane);
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_) return attempt::closed;
    if (used_[k] != 0 && used_[k] + bytes > limits_[k]) return attempt::full;
    used_[k] += bytes;
    return attempt::acquired;
  }
  /// Returns `bytes` of `lane` acquired earlier.
  void release(std::size_t bytes, gate_lane lane) {
    auto k = index(lane);
    {
      std::lock_guard<std::mutex> guard{mtx_};
      used_[k] = bytes > used_[k] ? 0 : used_[k] - bytes;
    }
    cv_.notify_all();
  }
  /// Fails current and future acquire() calls.
  void close() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      closed_ = true;
    }
    cv_.notify_all();
  }
  /// Bytes currently held in `lane`.
  std::size_t used(gate_lane lane) const {
    std::lock_guard<std::mutex> guard{mtx_};
    return used_[index(lane)];
  }

 private:
  static std::size_t index(gate_lane lane) noexcept { return lane == gate_lane::small ? 0 : 1; }

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::size_t limits_[2];
  std::size_t used_[2] = {0, 0};
  bool closed_ = false;
};

}  // namespace netcore::actors
