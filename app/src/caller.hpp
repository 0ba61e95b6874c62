#pragma once

// The actor behind endpoint::caller() and client::caller(). Not installed.

#include <netcore/app/caller.hpp>

#include <caf/actor_system.hpp>

#include <chrono>
#include <functional>

namespace netcore::app::detail {

/// Makes one call and calls its last argument with the reply, once, from any thread.
using call_function = std::function<void(actors::outgoing_message, std::chrono::milliseconds,
                                         std::function<void(reply)>)>;

/// Spawns a caller that makes its calls through `make_call`. A reply callback that is dropped
/// uncalled answers status::unavailable, so no call of an actor waits forever.
caller_actor spawn_caller(caf::actor_system& sys, call_function make_call);

}  // namespace netcore::app::detail
