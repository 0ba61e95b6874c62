#pragma once

// The actor behind a server: it owns the connections, decides on each new one (limit, open
// hook), hears their ends (close hook), closes idle ones and closes them all at shutdown. Not
// installed.

#include <netcore/app/server.hpp>

#include "owned_connection.hpp"

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <memory>
#include <string>

namespace netcore::app::detail {

using adopt_atom = caf::atom_constant<caf::atom("sv_adopt")>;         // a new connection
using listeners_atom = caf::atom_constant<caf::atom("sv_listen")>;    // acceptors open now
using refuse_new_atom = caf::atom_constant<caf::atom("sv_refuse")>;   // shutdown began
using close_all_atom = caf::atom_constant<caf::atom("sv_closeal")>;   // shutdown's phase 2
using close_due_atom = caf::atom_constant<caf::atom("sv_closedu")>;   // phase 2's deadline
using idle_tick_atom = caf::atom_constant<caf::atom("sv_idle")>;      // the idle sweep
using server_stats_atom = caf::atom_constant<caf::atom("sv_stats")>;  // read the counters

/// What the server actor starts with.
struct server_setup {
  server_config config;
  endpoint* ep = nullptr;  // outlives the actor (the server shuts down first)
  caf::actor dispatcher;   // the endpoint's, asked about calls being answered
};

/// Spawns the actor of a server.
caf::actor spawn_server_actor(caf::actor_system& sys, server_setup setup);

}  // namespace netcore::app::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::app::server_stats)
