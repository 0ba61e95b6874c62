#pragma once

// The actor behind a client: it owns the connection, makes it (on a detached helper actor per
// attempt, since connecting blocks), makes it again after backoff delays, and keeps the calls
// made without a connection until one is made or their deadline passes. Not installed.

#include <netcore/app/client.hpp>

#include "owned_connection.hpp"

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <functional>
#include <memory>

namespace netcore::app::detail {

using cl_call_atom = caf::atom_constant<caf::atom("cl_call")>;        // a call to make
using cl_made_atom = caf::atom_constant<caf::atom("cl_made")>;        // an attempt connected
using cl_failed_atom = caf::atom_constant<caf::atom("cl_failed")>;    // an attempt failed
using cl_retry_atom = caf::atom_constant<caf::atom("cl_retry")>;      // the backoff is over
using cl_expire_atom = caf::atom_constant<caf::atom("cl_expire")>;    // a waiting call's deadline
using cl_current_atom = caf::atom_constant<caf::atom("cl_current")>;  // the connection now
using cl_ready_atom = caf::atom_constant<caf::atom("cl_ready")>;      // answer once connected
using cl_stats_atom = caf::atom_constant<caf::atom("cl_stats")>;      // read the counters
using cl_stop_atom = caf::atom_constant<caf::atom("cl_stop")>;        // the client is destroyed

/// A call's completion, shared with the actor.
struct client_done {
  std::function<void(reply)> fn;
};

/// What the client actor starts with.
struct client_setup {
  client_config config;
  endpoint* ep = nullptr;  // outlives the actor (the client stops it first)
  std::chrono::milliseconds default_timeout{30'000};
};

/// Spawns the actor of a client; it starts connecting at once.
caf::actor spawn_client_actor(caf::actor_system& sys, client_setup setup);

}  // namespace netcore::app::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<netcore::app::detail::client_done>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::app::client_stats)
