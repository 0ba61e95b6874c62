#pragma once

// Events: named notifications with a payload of any type, delivered asynchronously to the
// handlers subscribed to the name. Handlers run on the events actor, one at a time, in the order
// they subscribed; a handler that throws is isolated (the others still run) and reported as an
// "error" event.

#include <netcore/app/status.hpp>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>

#include <any>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace netcore::app {

/// One event: its name and its payload (empty, or a value of the emitter's type).
struct event {
  std::string name;
  std::any payload;

  /// The payload as a T, or nullptr when it holds something else (or nothing).
  template <class T>
  const T* as() const noexcept {
    return std::any_cast<T>(&payload);
  }
};

/// The payload of an "error" event: a handler of `event_name` threw.
struct event_failure {
  std::string event_name;
  std::uint64_t subscription = 0;
  std::string what;
};

/// Payload of an endpoint's request, response and cancelled events.
struct call_event {
  std::string route;
  std::uint64_t id = 0;           ///< The caller's message id.
  caf::actor_addr connection;     ///< The connection the call came on.
  app::status code = status::ok;  ///< response: the answer's status (cancelled: why).
  std::string reason;
};

/// Payload of an endpoint's connected and disconnected events.
struct connection_event {
  caf::actor_addr connection;
  std::error_code reason;  ///< disconnected: why (empty: a clean close).
};

/// Names of the events netcore itself emits; "error" carries an event_failure. An endpoint
/// given an events actor (endpoint_config::events) emits started and stopped (no payload),
/// connected and disconnected (connection_event), request, response and cancelled
/// (call_event: a request arrived, was answered, was withdrawn or outlived its deadline), and
/// message_sent / message_received for one-way messages (call_event, code ok).
namespace event_names {
inline constexpr const char* error = "error";
inline constexpr const char* started = "started";
inline constexpr const char* stopped = "stopped";
inline constexpr const char* connected = "connected";
inline constexpr const char* disconnected = "disconnected";
inline constexpr const char* request = "request";
inline constexpr const char* response = "response";
inline constexpr const char* cancelled = "cancelled";
inline constexpr const char* message_sent = "message_sent";          ///< endpoint::send()
inline constexpr const char* message_received = "message_received";  ///< a one-way message
}  // namespace event_names

using event_handler = std::function<void(const event&)>;

/// Names one subscription (0: none).
struct subscription {
  std::uint64_t id = 0;
  bool valid() const noexcept { return id != 0; }
};

/// Bounds of an events actor.
struct events_config {
  /// Subscriptions at most; one more is refused and reported as an "error" event (its
  /// event_failure names the subscription).
  std::size_t max_subscriptions = 65'536;
};

/// A handle to an events actor. Thread-safe; on(), once(), off() and emit() return at once and
/// take effect in the order one thread called them (an emit after an on() from the same thread
/// reaches that handler). Destroying the handle stops the actor; events not yet delivered are
/// dropped.
class events {
 public:
  explicit events(caf::actor_system& sys, events_config config = {});
  ~events();
  events(const events&) = delete;
  events& operator=(const events&) = delete;

  /// `h` runs for every event named `name` from now on. An empty `h` gives an invalid
  /// subscription.
  subscription on(std::string name, event_handler h);
  /// `h` runs for the next event named `name` only.
  subscription once(std::string name, event_handler h);
  /// Ends a subscription; events emitted afterwards (from this thread) no longer reach it.
  void off(subscription s);
  /// Delivers an event named `name` with `payload` to its handlers, asynchronously.
  void emit(std::string name, std::any payload = {});

  /// The events actor (messages are local to this process).
  caf::actor actor() const noexcept { return actor_; }

 private:
  caf::actor actor_;
  std::atomic<std::uint64_t> next_id_{0};
};

}  // namespace netcore::app
