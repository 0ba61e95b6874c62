#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace netcore::actors {

/// Bytes a queued message costs the gate besides its body (bookkeeping in the link), so a flood
/// of tiny messages is bounded too.
inline constexpr std::size_t gate_overhead_per_message = 256;

/// A byte-bounded gate at the boundary between blocking caller threads and the link actor:
/// acquire() blocks while more than `limit` bytes are queued; the link releases bytes as
/// messages leave. A single message larger than the limit still passes when nothing is queued.
/// close() wakes every waiter and makes acquire() fail from then on.
class send_gate {
 public:
  explicit send_gate(std::size_t limit) : limit_(limit) {}

  /// Waits for room for `bytes`; false when the gate was closed.
  bool acquire(std::size_t bytes) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait(guard, [&] { return closed_ || used_ == 0 || used_ + bytes <= limit_; });
    if (closed_) return false;
    used_ += bytes;
    return true;
  }
  /// Returns `bytes` acquired earlier.
  void release(std::size_t bytes) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      used_ = bytes > used_ ? 0 : used_ - bytes;
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
  /// Bytes currently held.
  std::size_t used() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return used_;
  }

 private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::size_t limit_;
  std::size_t used_ = 0;
  bool closed_ = false;
};

}  // namespace netcore::actors
