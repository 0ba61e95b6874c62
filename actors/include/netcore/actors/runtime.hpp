#pragma once

// Spawning the runtime's actors one by one. Applications normally use connection (connection.hpp),
// which wires these together; tests use them directly on CAF's deterministic scheduler.

#include <netcore/actors/config.hpp>
#include <netcore/actors/outgoing.hpp>
#include <netcore/actors/send_gate.hpp>

#include <caf/actor.hpp>

#include <atomic>
#include <cstdint>
#include <memory>

namespace netcore::transports {
class byte_stream;
}

namespace netcore::actors {

/// Allocates this side's message ids (1, 2, ...), shared by the link and blocking senders.
struct id_source {
  std::atomic<std::uint64_t> next{1};
  std::uint64_t allocate() noexcept { return next.fetch_add(1, std::memory_order_relaxed); }
};

/// What the link actor needs.
struct link_params {
  connection_config config;
  /// Effective body bytes per DATA frame and per vectored write.
  std::size_t chunk_size = 64u << 10;
  std::size_t write_batch = 1u << 20;
  /// Takes (write_atom, write_job_ptr) and replies (written_atom, errc).
  caf::actor writer;
  /// Receives (outcome_atom, send_outcome) and (closed_atom, errc); may be invalid.
  caf::actor events;
  /// Gate of blocking senders (released as their messages leave); may be null.
  std::shared_ptr<send_gate> gate;
  /// Id allocator shared with blocking senders.
  std::shared_ptr<id_source> ids;
  /// Closed when the link fails, to unblock transport threads; may be null.
  std::shared_ptr<transports::byte_stream> stream;
};

/// Spawns the link actor: accepts outgoing messages, time-slices their frames onto the stream.
///
/// Handles: (send_atom, outgoing_message) → replies the message id; (send_atom, uint64_t id,
/// outgoing_message) with an id from the shared id_source, no reply; (send_atom, outgoing_batch);
/// (cancel_atom, id); (wire_atom, receiver); (close_atom); plus the control messages the
/// receiver forwards (credit, ping, hello, goaway, peer cancel, grants, failures).
caf::actor spawn_link(caf::actor_system& sys, link_params params);

/// What the receiver actor needs.
struct receiver_params {
  connection_config config;
  /// The link of the same connection (control frames and failures go there).
  caf::actor link;
  /// Takes (deliver_atom, delivery_ptr) and replies ok_atom to release the delivery budget.
  caf::actor delivery;
  /// Receives (closed_atom, errc); may be invalid.
  caf::actor events;
  /// Closed when the receiver fails; may be null.
  std::shared_ptr<transports::byte_stream> stream;
};

/// Spawns the receiver actor: decodes (bytes_atom, read_buffer) into frames, reassembles and
/// delivers messages, returns flow-control credit, watches the peer's liveness.
caf::actor spawn_receiver(caf::actor_system& sys, receiver_params params);

/// Spawns the writer (own thread): performs each (write_atom, job) as one vectored write.
caf::actor spawn_writer(caf::actor_system& sys, std::shared_ptr<transports::byte_stream> stream);

/// Spawns the reader (own thread): reads `read_size` bytes at a time and hands them to
/// `receiver`, with at most `in_flight` buffers outstanding (a byte-bounded gate).
caf::actor spawn_reader(caf::actor_system& sys, std::shared_ptr<transports::byte_stream> stream,
                        caf::actor receiver, std::size_t read_size, std::size_t in_flight);

/// Spawns the actor of one outgoing multi-frame message: produces OPEN, DATA chunks (at most
/// `window` bytes not yet written) and END with the digest, to `link`.
caf::actor spawn_message_actor(caf::actor_system& sys, caf::actor link, std::uint64_t id,
                               outgoing_message msg, std::size_t chunk_size, std::size_t window);

}  // namespace netcore::actors
