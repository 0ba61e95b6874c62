#pragma once

// The state behind one call on each side, shared between the endpoint's dispatcher actor, the
// handler's request and responder, and the caller's future. Not installed.

#include <netcore/actors/messages.hpp>
#include <netcore/app/call.hpp>
#include <netcore/app/handlers.hpp>
#include <netcore/app/route_table.hpp>
#include <netcore/app/task_scheduler_core.hpp>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace netcore::app {

namespace detail {

/// A registered handler and how it runs.
struct handler_entry {
  handler fn;
  bool blocking = false;
  std::size_t max_concurrency = 0;
};

/// What the dispatcher reads for every request: an immutable snapshot, replaced as a whole
/// when routes change (readers never lock).
struct routing {
  route_table table;
  std::unordered_map<std::uint64_t, handler_entry> handlers;
  std::unordered_map<std::uint64_t, middleware> middleware_fns;
  std::unordered_map<std::uint64_t, before_hook> before_fns;
  std::unordered_map<std::uint64_t, after_hook> after_fns;
  std::unordered_map<std::uint64_t, error_handler> error_fns;
};

/// One incoming call (server side), from its arrival to its answer or its end.
struct call_state {
  protocol::incoming_message message;
  actors::connection_actor connection;
  std::shared_ptr<std::any> connection_state;  // endpoint::serve()'s, for request::state()
  caf::actor dispatcher;
  std::optional<clock::time_point> deadline;
  task_handle deadline_task;  // the dispatcher's timer entry for `deadline`
  std::uint64_t handler_key = 0;
  std::uint64_t cost = 0;    // what it holds of the admission budgets (body + overhead)
  bool wants_answer = true;  // false for a plain message (no call block): answers are dropped
  std::atomic<bool> cancelled{false};
  std::weak_ptr<responder_state> answering;

  request make_request(const std::shared_ptr<call_state>& self) const { return request{self}; }
  static responder make_responder(std::shared_ptr<responder_state> s) {
    return responder{std::move(s)};
  }
};

/// The answering side of one call: the first reply wins; destroyed unanswered, it answers
/// status::internal.
struct responder_state {
  std::shared_ptr<call_state> call;
  std::atomic<bool> done{false};
  std::mutex mutex;  // guards transforms (registered by the chain, applied by whoever answers)
  std::vector<std::function<void(response&)>> transforms;
  ~responder_state();
  bool send(response r);
};

/// The message that answers `c` with `r` (a response naming the request).
actors::outgoing_message answer_message(const call_state& c, response r);

/// A call this side made (client side), waiting for its response.
struct pending_call {
  std::function<void(reply)> done;
};

}  // namespace detail
}  // namespace netcore::app

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<netcore::app::detail::call_state>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<netcore::app::detail::pending_call>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<std::any>)
