#pragma once

// The entry point for callers that are actors: a typed actor that makes calls and answers each
// with its reply, so an actor writes `self->request(caller, ...).then(...)` instead of passing
// callbacks. endpoint::caller() and client::caller() make one.

#include <netcore/actors/messages.hpp>
#include <netcore/app/call.hpp>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/typed_actor.hpp>

namespace netcore::app {

/// The message that makes a call through a caller_actor.
using call_atom = caf::atom_constant<caf::atom("ap_request")>;

/// Makes calls for actors: (call_atom, request, timeout) → reply. The request's route is
/// `request.meta.route`; a timeout of zero means the endpoint's default_timeout. The reply is
/// always a `reply` (never a CAF error): the peer's answer, deadline_exceeded when none came in
/// time, unavailable when the call could not be made (its connection or endpoint gone, too many
/// calls waiting). The actor lives as long as a handle to it or a call it makes does.
using caller_actor = caf::typed_actor<
    caf::replies_to<call_atom, actors::outgoing_message, caf::timespan>::with<reply>>;

}  // namespace netcore::app

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::app::reply)
