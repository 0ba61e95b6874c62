#pragma once

// The typed actor interfaces of a connection: what an actor may send to a connection, and what a
// connection sends to the actors that take its deliveries and events. A message outside these
// is a compile error. docs/ARCHITECTURE.md's message table is checked against these lists by
// tests/actors/interfaces_test.cpp.

#include <netcore/actors/messages.hpp>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>

namespace netcore::actors {

// -- atoms of the public interfaces (at most 10 characters) -------------------------------------

/// Send a message.
using send_atom = caf::atom_constant<caf::atom("nc_send")>;
/// With send_atom: wait for room in a full outgoing queue instead of failing with backpressure.
using wait_atom = caf::atom_constant<caf::atom("nc_wait")>;
/// Cancel an outgoing message.
using cancel_atom = caf::atom_constant<caf::atom("nc_cancel")>;
/// Abandon an incoming message.
using drop_atom = caf::atom_constant<caf::atom("nc_drop")>;
/// Attach the actor that takes deliveries.
using attach_atom = caf::atom_constant<caf::atom("nc_attach")>;
/// Subscribe an actor to outcomes, progress and the end of the connection.
using subscribe_atom = caf::atom_constant<caf::atom("nc_subscr")>;
/// Close gracefully (drain within a deadline).
using close_atom = caf::atom_constant<caf::atom("nc_close")>;
/// End at once.
using abort_atom = caf::atom_constant<caf::atom("nc_abort")>;
/// Read the counters.
using stats_atom = caf::atom_constant<caf::atom("nc_stats")>;
/// A delivery of incoming messages and failures.
using deliver_atom = caf::atom_constant<caf::atom("nc_deliver")>;
/// What became of an outgoing message.
using outcome_atom = caf::atom_constant<caf::atom("nc_outcome")>;
/// How far an outgoing message got.
using progress_atom = caf::atom_constant<caf::atom("nc_progres")>;
/// The connection ended.
using closed_atom = caf::atom_constant<caf::atom("nc_closed")>;

// -- interfaces ---------------------------------------------------------------------------------

/// Takes a connection's deliveries. Reply caf::ok_atom once the messages are taken (files
/// moved, bytes consumed): until then they count against the connection's delivery budget, so
/// a sink that falls behind throttles the peer instead of buffering without bound.
using delivery_sink = caf::typed_actor<caf::replies_to<deliver_atom, delivery>::with<caf::ok_atom>>;

/// Hears what becomes of a connection's outgoing messages and of the connection itself.
using event_sink = caf::typed_actor<caf::reacts_to<outcome_atom, send_outcome>,
                                    caf::reacts_to<progress_atom, send_progress>,
                                    caf::reacts_to<closed_atom, connection_closed>>;

/// The send side of a connection.
///
/// - (send_atom, outgoing_message) → send_outcome: queue a message; the reply comes when it was
///   written in full, or failed (runtime_errc::backpressure when the queue is full,
///   runtime_errc::closed once the connection ended, wire codes the peer answered with, ...).
/// - (send_atom, wait_atom, outgoing_message) → send_outcome: the same, but a full queue makes
///   the message wait (in order, behind others that wait) until written messages make room,
///   instead of failing with backpressure. The caller bounds what waits by the requests it has
///   outstanding; beyond connection_config::max_waiting_sends waiting messages, or once the
///   connection ends, they fail (backpressure, closed) like any other.
/// - (send_atom, id, outgoing_message): the same without a reply, under an id from
///   connection::allocate_id() (or 0: the connection picks one, for senders that never refer to
///   the message again); the outcome goes to the event sinks.
/// - (send_atom, first_id, outgoing_batch): many at once, ids first_id, first_id + 1, ... (0:
///   picked by the connection).
/// - (cancel_atom, id): cancel an outgoing message (a no-op once its end is on its way).
using link_actor =
    caf::typed_actor<caf::replies_to<send_atom, outgoing_message>::with<send_outcome>,
                     caf::replies_to<send_atom, wait_atom, outgoing_message>::with<send_outcome>,
                     caf::reacts_to<send_atom, std::uint64_t, outgoing_message>,
                     caf::reacts_to<send_atom, std::uint64_t, outgoing_batch>,
                     caf::reacts_to<cancel_atom, std::uint64_t>>;

/// A whole connection: its send side, plus
///
/// - (drop_atom, id): abandon the incoming message `id` (the peer is told, its file removed);
/// - (attach_atom, delivery_sink): deliveries go to this actor from now on (deliveries that
///   waited for a sink go first);
/// - (subscribe_atom, event_sink): one more actor hears outcomes, progress and the end;
/// - (close_atom, deadline) → connection_closed: drain gracefully, reply when the connection
///   ended (clean, or why not: runtime_errc::drain_timeout after the deadline);
/// - (abort_atom): end now; pending messages fail with runtime_errc::shutting_down;
/// - (abort_atom, code, text): the same, telling the peer why: a GOAWAY with the wire code
///   `code` (protocol::errc, e.g. refused) and `text` (at most 1024 bytes; the peer's
///   connection_closed::peer_text); pending messages fail with that code;
/// - (stats_atom) → connection_stats.
///
/// The actor quits once the connection ended and its transport is closed: monitor it to learn
/// when a connection is gone.
using connection_actor = link_actor::extend<
    caf::reacts_to<drop_atom, std::uint64_t>, caf::reacts_to<attach_atom, delivery_sink>,
    caf::reacts_to<subscribe_atom, event_sink>,
    caf::replies_to<close_atom, caf::timespan>::with<connection_closed>, caf::reacts_to<abort_atom>,
    caf::reacts_to<abort_atom, std::uint16_t, std::string>,
    caf::replies_to<stats_atom>::with<connection_stats>>;

}  // namespace netcore::actors
