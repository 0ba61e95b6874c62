#pragma once

// What a call looks like to the code on either end: the request a handler gets, the response it
// gives, the responder that delivers it later, and the reply a caller receives.

#include <netcore/actors/interfaces.hpp>
#include <netcore/app/status.hpp>
#include <netcore/protocol/message_body.hpp>
#include <netcore/protocol/metadata.hpp>

#include <any>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netcore::app {

using clock = std::chrono::steady_clock;

namespace detail {
struct call_state;
struct responder_state;
}  // namespace detail

/// One incoming request as its handler sees it. Copyable and cheap to copy (the message is
/// shared); valid as long as any copy lives, also after the connection ended.
class request {
 public:
  request() = default;
  /// The route it was sent to.
  const std::string& route() const noexcept;
  /// The caller's message id for it (unique per connection and direction).
  std::uint64_t id() const noexcept;
  /// Route, content type, priority, headers.
  const protocol::message_meta& meta() const noexcept;
  /// The value of the first header named `name`, or nullptr.
  const std::string* header(std::string_view name) const noexcept;
  /// The body; a file-backed body (a large one, spilled on arrival) has a path instead of bytes.
  const protocol::message_body& body() const noexcept;
  /// The body as text (a file-backed body is read from its file).
  std::string text() const;
  /// When the caller stops waiting (its deadline, counted from the request's arrival), if it
  /// set one.
  std::optional<clock::time_point> deadline() const noexcept;
  /// True once the caller withdrew the request or its deadline passed: an answer is no longer
  /// wanted (and would be dropped).
  bool cancelled() const noexcept;
  /// The connection the request came from (the answer goes back on it).
  const actors::connection_actor& connection() const noexcept;
  /// The state the application keeps for that connection (endpoint::serve(c, state), or what a
  /// server's open hook gave it); null when it has none.
  const std::shared_ptr<std::any>& connection_state() const noexcept;
  /// That state as a `T`, or nullptr when there is none or it holds another type. It lives as
  /// long as the connection is served or any request of it lives; shared by every request of
  /// the connection, so guard what handlers on many threads change in it.
  template <class T>
  T* state() const noexcept {
    const auto& s = connection_state();
    return s ? std::any_cast<T>(s.get()) : nullptr;
  }

 private:
  friend struct detail::call_state;
  explicit request(std::shared_ptr<detail::call_state> state) : state_(std::move(state)) {}
  std::shared_ptr<detail::call_state> state_;
};

/// What a handler answers: a status (ok, or why not) with a reason, headers and a body.
struct response {
  app::status code = app::status::ok;
  /// A human-readable reason beside the status (travels with it).
  std::string reason;
  protocol::content_type type = protocol::content_type::raw;
  std::vector<protocol::header_field> headers;
  protocol::byte_buffer body;

  /// An ok response with `bytes` as its body.
  static response bytes(protocol::byte_buffer bytes);
  /// An ok response with `text` as its body (content type text).
  static response text(std::string_view text);
  /// A failure: `code` (not ok) with `reason`, no body.
  static response error(app::status code, std::string reason);
};

/// Delivers a handler's answer, now or later, from any thread. Copies share one call: the first
/// reply() wins, later ones return false. When the last copy is destroyed without a reply the
/// caller gets status::internal ("the handler dropped its responder"), so no call waits forever
/// on a forgotten promise.
class responder {
 public:
  responder() = default;
  /// Sends `r` to the caller; false when the call was answered already (or it is no call).
  bool reply(response r) const;
  /// True once an answer was given.
  bool replied() const noexcept;
  /// True once the caller withdrew the request or its deadline passed.
  bool cancelled() const noexcept;
  /// `fn` sees, and may change, the answer before it leaves (whatever answers: the handler, a
  /// hook, an error handler). Functions registered later run earlier: inner scopes first.
  /// Register before the call is answered; an exception from `fn` turns the answer into
  /// status::internal.
  void on_reply(std::function<void(response&)> fn) const;

 private:
  friend struct detail::call_state;
  explicit responder(std::shared_ptr<detail::responder_state> s) : state_(std::move(s)) {}
  std::shared_ptr<detail::responder_state> state_;
};

/// What a caller receives: the answer's status and reason, and its message.
struct reply {
  app::status code = app::status::ok;
  std::string reason;
  protocol::message_meta meta;
  protocol::message_body body;

  bool ok() const noexcept { return code == app::status::ok; }
  /// The body as text.
  std::string text() const;
  /// A reply that never reached the peer or never came back (deadline_exceeded, unavailable, ...).
  static reply failed(app::status code, std::string reason);
};

}  // namespace netcore::app
