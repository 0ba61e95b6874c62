#pragma once

#include <netcore/actors/config.hpp>
#include <netcore/actors/outgoing.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/protocol/reassembler.hpp>
#include <netcore/protocol/result.hpp>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <memory>
#include <vector>

namespace netcore::transports {
class byte_stream;
}

namespace netcore::actors {

/// One connection: many concurrent messages in both directions over one byte stream.
///
/// Spawns and wires the connection's actors (link, receiver, reader, writer) in `sys`.
/// Incoming messages go to the `delivery` actor when one is given (it receives
/// (deliver_atom, delivery_ptr) and must reply caf::ok_atom to release the delivery budget),
/// otherwise to a built-in inbox served by receive(). Send outcomes, progress of multi-frame
/// messages and the connection's end go to `events` when given: (outcome_atom, send_outcome),
/// (progress_atom, send_progress) after each write, (closed_atom, errc).
///
/// Every method is thread-safe. The blocking ones (send, receive) are for non-actor threads;
/// actors talk to link() directly: request (send_atom, outgoing_message) → the message id, then
/// (outcome_atom, send_outcome) when it was written in full or failed.
class connection {
 public:
  connection(caf::actor_system& sys, std::unique_ptr<transports::byte_stream> stream,
             connection_config config = {}, caf::actor delivery = {}, caf::actor events = {});
  /// Aborts (see abort()). To let queued messages finish first, call close() and wait for
  /// (closed_atom, errc) on the events actor before destroying the connection.
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Queues `msg` for sending and returns its id. Blocks while more than
  /// connection_config::send_queue_limit bytes of large messages (a quarter of it for small
  /// ones, which a large transfer never holds up) wait to be written. Errors:
  /// errc::disconnected once the connection has ended.
  protocol::result<std::uint64_t> send(outgoing_message msg);

  /// Queues many messages at once (one actor message); returns the first id (the others follow
  /// consecutively). Same blocking and errors as send().
  protocol::result<std::uint64_t> send_batch(std::vector<outgoing_message> msgs);

  /// Waits up to `timeout` for the next complete incoming message (built-in inbox only).
  /// Errors: errc::timed_out, errc::disconnected (ended and nothing left),
  /// errc::internal_error when a delivery actor was given.
  protocol::result<protocol::incoming_message> receive(std::chrono::milliseconds timeout);

  /// Cancels the outgoing message `id`: the peer is told, all its state freed.
  void cancel(std::uint64_t id);
  /// Abandons the incoming message `id`: the peer is told, its spill file removed.
  void cancel_incoming(std::uint64_t id);

  /// Graceful close: GOAWAY, finishes queued messages, then closes the stream.
  void close();
  /// Immediate teardown: closes the stream; pending sends fail with errc::shutting_down.
  void abort();

  /// The link actor (send side).
  const caf::actor& link() const noexcept { return link_; }
  /// The receiver actor (receive side).
  const caf::actor& receiver() const noexcept { return receiver_; }

 private:
  caf::actor_system& sys_;
  std::shared_ptr<transports::byte_stream> stream_;
  std::shared_ptr<send_gate> gate_;
  std::shared_ptr<id_source> ids_;
  caf::actor link_;
  caf::actor receiver_;
  caf::actor reader_;
  caf::actor writer_;
  caf::actor inbox_;
  bool own_inbox_ = false;
  std::size_t single_frame_max_ = 0;
};

}  // namespace netcore::actors
