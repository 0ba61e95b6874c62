#pragma once

// The built-in inbox of a connection that has no delivery sink: where connection::receive() takes
// messages and failures from. The connection actor pushes, caller threads take; the mutex is the
// gate at that blocking boundary. A message counts against the connection's delivery budget until
// it is taken, so an application that stops calling receive() throttles the peer.

#include <netcore/actors/connection.hpp>
#include <netcore/actors/messages.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <system_error>

namespace netcore::actors::detail {

class inbox {
 public:
  /// Called with the cost of every message taken (releases the delivery budget).
  using ack_function = std::function<void(std::uint64_t cost)>;

  /// `spin`: how long take() polls for an item before it sleeps (an idle vCPU adds tens of µs to
  /// a sleeping thread's wake-up on these machines; a short spin hides it for request/reply).
  inbox(ack_function ack, std::chrono::microseconds spin) : ack_(std::move(ack)), spin_(spin) {}
  /// Messages nobody took: their spill files were never handed over, so they are removed.
  ~inbox();
  inbox(const inbox&) = delete;
  inbox& operator=(const inbox&) = delete;

  /// Adds a message that costs `cost` of the delivery budget.
  void push(protocol::incoming_message m, std::uint64_t cost);
  /// Adds a failure report.
  void push(incoming_failure f);
  /// Adds what one pump of the connection produced, in order, under one lock and one wake-up.
  void push(delivery& d, const std::vector<std::uint64_t>& costs);
  /// The connection ended: once the inbox is empty, take() reports `reason` (or
  /// runtime_errc::closed after a clean close).
  void close(std::error_code reason);

  /// The next message or failure, waiting up to `timeout`. Errors: receive_error with the
  /// failed message's id and reason, runtime_errc::timed_out, or the reason the connection ended.
  protocol::result<protocol::incoming_message, receive_error>
  take(std::chrono::milliseconds timeout);

  /// Messages and failures waiting.
  std::size_t size() const;

  /// Takes everything waiting, in order, as one delivery and its cost (a delivery sink was
  /// attached: it gets what arrived before it). take() reports runtime_errc::invalid_argument from
  /// now on.
  std::pair<delivery, std::uint64_t> drain();

 private:
  struct item {
    std::optional<protocol::incoming_message> message;
    incoming_failure failure;
    std::uint64_t cost = 0;
  };
  ack_function ack_;
  std::chrono::microseconds spin_;
  std::atomic<std::size_t> ready_count_{0};  // items + (closed ? 1 : 0), for the spin
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<item> items_;
  bool closed_ = false;
  bool drained_ = false;
  std::error_code reason_;
};

}  // namespace netcore::actors::detail
