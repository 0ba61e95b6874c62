#pragma once

// An endpoint: a route table served on any number of connections, and calls made on them.
// Requests and responses are paired by the protocol (docs/PROTOCOL.md, "Calls"); a reply goes
// back on the connection its request came from.

#include <netcore/actors/connection.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/app/blueprint.hpp>
#include <netcore/app/call.hpp>
#include <netcore/app/caller.hpp>
#include <netcore/app/events.hpp>
#include <netcore/app/handlers.hpp>

#include <any>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string_view>
#include <system_error>

namespace netcore::app {

/// Bounds and defaults of an endpoint.
struct endpoint_config {
  /// The deadline of a call made without one: no call waits forever.
  std::chrono::milliseconds default_timeout{30'000};
  /// Incoming calls being answered at once (all connections); beyond: status::unavailable.
  std::size_t max_active_calls = 65'536;
  /// Calls this side made that wait for their answers; beyond: status::unavailable at once.
  std::size_t max_pending_calls = 65'536;
  /// Admission budgets: memory of requests being answered (body + session::message_overhead
  /// each; a body that went to a file counts its overhead only), across all connections and per
  /// connection (0: unbounded). A delivery that finds a budget used up waits, unanswered, until
  /// calls end: its connection then stops reading once its own delivery_budget is reached, so what
  /// the endpoint holds stays below max_active_bytes + (connections ×
  /// connection_config::delivery_budget). Responses to this side's calls never wait.
  std::uint64_t max_active_bytes = std::uint64_t{256} << 20;
  std::uint64_t max_active_bytes_per_connection = std::uint64_t{64} << 20;
  /// Where the endpoint reports what happens (event_names: started, connected, request,
  /// response, cancelled, disconnected, stopped); not owned, must outlive the endpoint. None:
  /// no events.
  app::events* events = nullptr;
};

/// What an endpoint holds at one moment.
struct endpoint_stats {
  std::uint64_t active_calls = 0;      ///< incoming calls being answered
  std::uint64_t active_bytes = 0;      ///< their cost against max_active_bytes
  std::uint64_t waiting_requests = 0;  ///< requests waiting for admission (budget used up)
  std::uint64_t pending_calls = 0;     ///< calls this side made, waiting for answers
};

/// Owns a route table and a dispatcher actor. Thread-safe; routes can be added and removed while
/// it serves (a call sees the routes as they were when it arrived). Destroy it before the runtime
/// and after the connections it serves; calls still waiting then fail with status::unavailable.
class endpoint {
 public:
  explicit endpoint(actors::runtime& rt, endpoint_config config = {});
  ~endpoint();
  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;

  /// The endpoint's own scope: its middleware, hooks, error handlers and default handler apply
  /// to every route (those of blueprints included).
  blueprint root();
  /// A blueprint under `prefix` (see blueprint::group()).
  blueprint group(std::string_view prefix, std::error_code* error = nullptr);

  /// Registers `h` for the route `name` (exact match). Errors (netcore.route): invalid_name,
  /// duplicate (a route of that name exists; `replace` overrides), too_many_routes.
  std::error_code handle(std::string_view name, sync_handler h, route_options options = {},
                         bool replace = false);
  /// The same for a handler that answers through its responder.
  std::error_code handle_async(std::string_view name, handler h, route_options options = {},
                               bool replace = false);
  /// The same for a handler that is an actor: each request is sent to `a` as (handle_atom,
  /// request) from an actor of its own; its reply is the answer, an error reply (or `a` being
  /// gone) answers status::internal. Errors: as handle(); invalid_argument for a null actor.
  std::error_code handle_actor(std::string_view name, handler_actor a, route_options options = {},
                               bool replace = false);
  /// Removes the route `name`. Errors: not_found.
  std::error_code remove(std::string_view name);
  /// The handler for requests no route matches (none: they are answered status::not_found).
  void set_default(handler h);

  /// Serves `c`: its incoming requests go to this endpoint's routes, and responses to the calls
  /// made on it come back here. Replaces any delivery sink `c` had (receive() then no longer
  /// serves it). Idempotent; `state`, when given, becomes the connection's state
  /// (request::state()), kept until the connection ends.
  void serve(actors::connection& c, std::shared_ptr<std::any> state = {});
  /// The configuration it was made with.
  const endpoint_config& config() const noexcept;
  /// What the endpoint holds now (a snapshot; blocks for a message round trip to its actor).
  endpoint_stats stats() const;

  /// Calls `route` on the peer of `c` (served by this endpoint: serve() is implied) and returns
  /// the reply: the peer's answer, or deadline_exceeded when none came within `timeout` (0: the
  /// endpoint's default; the call is then withdrawn on the wire), or unavailable when it could
  /// not be sent or the connection ended.
  std::future<reply> call(actors::connection& c, actors::outgoing_message request,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds{0});
  /// The same with a callback, called once on an actor's thread (never inline).
  void call(actors::connection& c, actors::outgoing_message request,
            std::chrono::milliseconds timeout, std::function<void(reply)> done);
  /// A caller actor for actors that call `route`s on the peer of `c` (caller.hpp): each
  /// (call_atom, request, timeout) is answered with the reply call() would give. Serves `c`.
  /// Calls made after the endpoint is destroyed are answered status::unavailable.
  caller_actor caller(actors::connection& c);
  /// Sends a message without waiting for an answer (its route's handler runs; what it answers is
  /// dropped). Errors: as connection::send().
  std::error_code send(actors::connection& c, actors::outgoing_message message);

  /// Stops taking calls (new ones are answered status::unavailable) and waits until the calls
  /// being answered are done, or `deadline` passed: those still running are then answered
  /// unavailable (their late answers dropped). Returns how many were cut off that way. The
  /// connections stay served; start() takes calls again.
  std::size_t stop(std::chrono::milliseconds deadline);
  /// Takes calls again after stop().
  void start();

  /// The dispatcher: connections deliver to it (as a delivery_sink) and report to it (as an
  /// event_sink).
  actors::delivery_sink sink() const;

 private:
  std::shared_ptr<detail::endpoint_core> impl_;
};

}  // namespace netcore::app
