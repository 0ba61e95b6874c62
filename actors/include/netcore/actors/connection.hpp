#pragma once

#include <netcore/actors/config.hpp>
#include <netcore/actors/interfaces.hpp>
#include <netcore/actors/messages.hpp>
#include <netcore/protocol/result.hpp>
#include <netcore/transports/byte_stream.hpp>
#include <netcore/transports/peer_identity.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace netcore::session {
struct id_source;
}  // namespace netcore::session

namespace netcore::actors {

/// Why connection::receive() returned no message.
struct receive_error {
  /// runtime_errc::timed_out; the reason the failed incoming message `id` failed; or, once the
  /// connection ended and nothing is left, why it ended (runtime_errc::closed after a clean close).
  std::error_code reason;
  /// The incoming message that failed (0 when the error is not about one).
  std::uint64_t id = 0;

  friend bool operator==(const receive_error& a, const receive_error& b) noexcept {
    return a.reason == b.reason && a.id == b.id;
  }
  friend bool operator!=(const receive_error& a, const receive_error& b) noexcept {
    return !(a == b);
  }
};

class connection;

namespace detail {
struct connection_shared;
connection make_connection(std::shared_ptr<connection_shared> shared);
}  // namespace detail

/// A handle to one connection: many concurrent messages in both directions over one byte
/// stream, made by a runtime (runtime.hpp). Move-only; every method is thread-safe.
///
/// Plain C++: send() / receive() block the calling thread (bounded by a byte gate and a
/// timeout). Actors: actor() is the connection's typed actor (interfaces.hpp), which can be
/// monitored; attach() a delivery_sink to take deliveries, subscribe() an event_sink to hear
/// outcomes and the end. Without a sink, incoming messages and failures wait for receive().
///
/// Destroying a connection closes it like close(): queued messages are written first, for at
/// most connection_config::close_timeout; what is still queued then fails with
/// runtime_errc::drain_timeout, reported to the event sinks and in the returned reason. Nothing
/// is dropped silently.
class connection {
 public:
  connection() = default;
  connection(connection&&) noexcept;
  connection& operator=(connection&&) noexcept;
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// True for a handle that refers to a connection.
  bool valid() const noexcept { return shared_ != nullptr; }
  explicit operator bool() const noexcept { return valid(); }

  /// Queues `msg` and returns its id; its outcome goes to the event sinks. Blocks while more
  /// than connection_config::send_queue_limit bytes of large messages (a quarter of it for small
  /// ones, which a large transfer never holds up) wait to be written. Errors:
  /// runtime_errc::closed once the connection ended.
  protocol::result<std::uint64_t, std::error_code> send(outgoing_message msg);
  /// As send(), but never blocks: runtime_errc::backpressure when the gate is full.
  protocol::result<std::uint64_t, std::error_code> try_send(outgoing_message msg);
  /// Queues many messages in one go; returns the first id (the others follow consecutively).
  /// Errors: as send(); runtime_errc::invalid_argument for an empty batch.
  protocol::result<std::uint64_t, std::error_code> send_batch(std::vector<outgoing_message> msgs);

  /// The next incoming message, waiting up to `timeout`. A message that failed to arrive (a
  /// limit, storage, digest, cancel) comes back as a receive_error naming it; so do the end of
  /// the connection and runtime_errc::timed_out. Messages whose body went to a file belong to
  /// the caller from here (message_body::path()); untaken ones are removed with the connection.
  /// Errors: runtime_errc::invalid_argument once a delivery sink is attached.
  protocol::result<protocol::incoming_message, receive_error>
  receive(std::chrono::milliseconds timeout);

  /// Cancels outgoing message `id`: the peer is told, its outcome is wire_errc::cancelled (a
  /// no-op once its end is on the wire).
  void cancel(std::uint64_t id);
  /// Abandons incoming message `id`: the peer is told, its spill file removed.
  void cancel_incoming(std::uint64_t id);

  /// Closes gracefully within connection_config::close_timeout (see close(deadline)).
  connection_closed close();
  /// Closes gracefully: no new messages, queued ones written, then GOAWAY; returns once the
  /// connection ended, with the reason (clean, or runtime_errc::drain_timeout when `deadline`
  /// passed with messages in flight, which then failed). Idempotent.
  connection_closed close(std::chrono::milliseconds deadline);
  /// Waits until the connection ended (the peer closed it, an error, or a close() or abort()
  /// from anywhere), at most `timeout`; returns why it ended, or nothing when it still runs.
  /// A moved-from handle returns runtime_errc::closed at once.
  std::optional<connection_closed>
  wait_closed(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());
  /// Ends at once: pending messages fail with runtime_errc::shutting_down. Returns immediately.
  void abort();
  /// Ends at once, telling the peer why: its GOAWAY carries `code` (e.g. wire_errc::refused) and
  /// `text` (at most 1024 bytes; the peer sees them as its connection_closed's reason and
  /// peer_text). Pending messages fail with `code`. Returns immediately.
  void abort(protocol::errc code, std::string text);

  /// The counters, in one call (an empty connection_stats once the connection is gone).
  connection_stats stats() const;

  /// Deliveries go to `sink` from now on (those that waited go first). receive() no longer
  /// serves this connection.
  void attach(delivery_sink sink);
  /// `sink` hears outcomes, progress and the end of the connection from now on. The end reaches
  /// it exactly once, even when the connection was over before the subscription (a sink
  /// subscribed twice hears the end once).
  void subscribe(event_sink sink);
  /// The connection's typed actor: send to it from actors, monitor it to learn of its end.
  const connection_actor& actor() const;
  /// `n` fresh outgoing ids for (send_atom, id, msg) / (send_atom, first, batch) from actors.
  std::uint64_t allocate_id(std::uint64_t n = 1);
  /// Where allocate_id() takes its ids from (session/core.hpp): shared with the connection's
  /// actor, so a copy hands out ids for this connection after the handle is moved or gone.
  /// Null for a moved-from connection.
  std::shared_ptr<session::id_source> id_source() const;
  /// The transport, e.g. "tcp 127.0.0.1:4000".
  const std::string& describe() const;
  /// What the pre-session handshake established about the peer: psk_identity is the identity
  /// both ends authenticated with a pre-shared key (connection_config::psk, psk_server), empty
  /// without one. Fixed for the connection's life.
  const transports::peer_identity& peer() const;
  /// Who the peer proved to be, when the transport authenticates it (TLS with verify_peer: the
  /// certificate's CN, DNS names and SHA-256). Known once the peer's HELLO arrived (its first
  /// message comes after it), and kept after the end; empty before, and for transports that do
  /// not authenticate.
  std::optional<transports::certificate_identity> peer_certificate() const;

 private:
  friend connection detail::make_connection(std::shared_ptr<detail::connection_shared> shared);
  explicit connection(std::shared_ptr<detail::connection_shared> shared);
  std::shared_ptr<detail::connection_shared> shared_;
};

}  // namespace netcore::actors
