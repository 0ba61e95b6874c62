#pragma once

// Handlers, how they run, and what runs around them, in which order (docs/ARCHITECTURE.md, "The
// application layer"): for a route in blueprint B nested in blueprint A of endpoint E,
//
//   middleware   E → A → B → the route's own (an onion: each calls `next` to go inward)
//   before hooks E → A → B, the first that answers ends the request
//   the handler
//   after hooks  B → A → E, on the way out
//   error handlers (for an exception anywhere in the chain) B → A → E; none answers: internal
//
// A blueprint's pieces apply to its own routes only, never to the endpoint's other routes.

#include <netcore/app/call.hpp>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <optional>

namespace netcore::app {

/// A handler that answers through its responder, now or later (from any thread).
using handler = std::function<void(const request&, responder)>;
/// A handler that answers by returning.
using sync_handler = std::function<response(const request&)>;

/// The message a handler actor gets for each request of its route.
using handle_atom = caf::atom_constant<caf::atom("ap_handle")>;
/// A handler that is an actor (endpoint::handle_actor()): it gets (handle_atom, request) and
/// replies with the response, at once or later through a response promise. An error reply, or
/// an actor that is gone, answers status::internal.
using handler_actor = caf::typed_actor<caf::replies_to<handle_atom, request>::with<response>>;

/// How a route's handler runs.
struct route_options {
  /// The handler may block (disk, a lock, a slow library): each call runs on a thread of its own
  /// instead of CAF's shared workers, so it never holds up other handlers.
  bool blocking = false;
  /// Calls of this route running at once, at most; one more is answered status::unavailable at
  /// once. 0 = no limit but the endpoint's.
  std::size_t max_concurrency = 0;
};

/// Goes on inward: the next middleware, or the hooks and the handler.
using next_fn = std::function<void(const request&, responder)>;
/// Onion middleware: runs around everything inside its scope. Calls `next` to go on (at once or
/// later, from any thread), or answers through the responder itself. To see the response on its
/// way out, it registers responder::on_reply() before calling `next`.
using middleware = std::function<void(const request&, responder, const next_fn& next)>;
/// Runs before the handler; a response ends the request there (the handler does not run).
using before_hook = std::function<std::optional<response>(const request&)>;
/// Sees, and may change, the response on its way out.
using after_hook = std::function<void(const request&, response&)>;
/// Turns an exception thrown in the chain into a response; std::nullopt passes it outward.
using error_handler =
    std::function<std::optional<response>(const request&, const std::exception_ptr&)>;

}  // namespace netcore::app

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::app::request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::app::response)
