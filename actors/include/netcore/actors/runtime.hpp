#pragma once

#include <netcore/actors/config.hpp>
#include <netcore/actors/connection.hpp>
#include <netcore/protocol/result.hpp>
#include <netcore/transports/byte_stream.hpp>
#include <netcore/transports/pipe_stream.hpp>
#include <netcore/transports/serial_stream.hpp>
#include <netcore/transports/tcp_stream.hpp>

#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace netcore::transports {
class listener;
}

namespace netcore::actors {

/// How a runtime runs its connections.
struct runtime_config {
  /// Event-loop threads for descriptor transports (TCP, unix sockets, serial lines): every such
  /// connection lives on one of them, whatever their number.
  std::size_t io_threads = 1;
  /// Polls an idle loop thread makes before it sleeps in epoll_wait. Spinning spares a request
  /// the wake-up of a sleeping loop thread (tens of µs on an idle vCPU) but burns the core it
  /// spins on: with more busy threads than cores (several processes, or CAF's spinning workers
  /// beside the loops) spinners delay the threads that have work. Measured on 2 vCPUs, 10,000
  /// connections: p99 1.7 ms without spinning, 116 ms with 2000 polls; one process ping-ponging
  /// alone: 13-40 µs round trips with 20000 polls, ~30 µs without. 0 (the default) = sleep at once.
  std::size_t io_spin_polls = 0;
  /// Threads on which the producers of file bodies read their files (at least 1); each
  /// connection reads its files on one of them, assigned round-robin.
  std::size_t file_threads = 1;
  /// Bytes of each loop thread's read buffer (shared by its connections).
  std::size_t read_buffer = 256u << 10;
  /// Directory in which the private spill directory is created (empty: $TMPDIR, else /tmp).
  std::string spill_parent;
  /// Spill files open at once across all the runtime's connections (each holds a descriptor
  /// while its message arrives); an incoming message beyond it fails with
  /// wire_errc::storage_full, at both ends. Connections whose storage.quota is set use theirs.
  std::uint32_t max_spill_files = 256;
  /// Bytes of bodies still arriving in spill files across all connections: a message declaring
  /// more than is left fails at its OPEN with wire_errc::storage_full (so does one declaring
  /// more than the file system has free).
  std::uint64_t max_spill_bytes = std::uint64_t{64} << 30;
  /// Connections the runtime holds at most (accepted and opened): an acceptor closes a
  /// connection beyond it at once (counted in acceptor::refused()), so a flood of clients costs
  /// one descriptor for a moment each, never memory.
  std::size_t max_connections = 16384;
  /// Pre-shared-key handshakes (connection_config::psk_server) running at once across the
  /// runtime's acceptors: each holds a descriptor and a fixed ~1 KiB of state until it succeeds,
  /// fails or times out; a peer beyond the bound is closed at once (acceptor::refused()).
  std::size_t max_pending_handshakes = 1024;
};

namespace detail {
struct runtime_impl;
struct acceptor_core;
}  // namespace detail

/// Called for every accepted connection, on an event-loop thread: keep it short (store the
/// connection, attach a sink).
using accept_handler = std::function<void(connection)>;

/// What an acceptor's pre-shared-key handshakes came to (all 0 without
/// connection_config::psk_server).
struct handshake_counts {
  /// Running now.
  std::uint64_t pending = 0;
  /// Succeeded: the peer became a connection.
  std::uint64_t authenticated = 0;
  /// Failed: a wrong key or identity, a peer that does not speak the handshake, or one that left.
  std::uint64_t failed = 0;
  /// Dropped because the peer did not finish within psk_server_config::timeout.
  std::uint64_t timed_out = 0;
};
/// Turns each accepted stream into the one a connection runs on, e.g. TLS around it
/// (`[ctx](auto s) { return transports::make_tls(std::move(s), ctx); }`). Called on the
/// acceptor's event-loop thread: it must not block (make_tls does not; the handshake runs later,
/// on the connection). An error closes that stream only and counts as a failed accept.
using stream_decorator = std::function<transports::result<std::unique_ptr<transports::byte_stream>>(
    std::unique_ptr<transports::byte_stream>)>;

/// A listening socket whose accepted connections land on the runtime's event loops. Move-only;
/// destroying it stops listening (connections already accepted go on; pending handshakes end).
class acceptor {
 public:
  acceptor() = default;
  acceptor(acceptor&&) noexcept;
  acceptor& operator=(acceptor&&) noexcept;
  ~acceptor();

  /// The TCP port bound (0 for unix sockets).
  std::uint16_t port() const;
  /// "tcp 127.0.0.1:4000" or "unix /path".
  const std::string& describe() const;
  /// Connections accepted so far (with a pre-shared key: those that passed the handshake).
  std::uint64_t accepted() const;
  /// Accepts that failed (e.g. std::errc::too_many_files_open); the acceptor pauses 100 ms after
  /// each and goes on.
  std::uint64_t failures() const;
  /// Connections closed at once because the runtime held runtime_config::max_connections, or
  /// runtime_config::max_pending_handshakes handshakes.
  std::uint64_t refused() const;
  /// The pre-shared-key handshakes so far.
  handshake_counts handshakes() const;
  /// The last accept failure (empty if none).
  std::error_code last_error() const;
  /// Stops listening. Idempotent.
  void close();

 private:
  friend class runtime;
  explicit acceptor(std::shared_ptr<detail::acceptor_core> core);
  std::shared_ptr<detail::acceptor_core> core_;
};

/// Runs connections for an actor system: the event-loop threads that every descriptor transport
/// shares, the threads that read file bodies, and a private spill directory (mode 0700, removed
/// with the runtime) that incoming bodies go to unless a connection names its own.
///
/// Destroy it before the actor system and after the connections and acceptors it made: its
/// destructor aborts connections still open, waits for their actors, stops its threads and
/// removes the spill directory with whatever is left in it.
class runtime {
 public:
  explicit runtime(caf::actor_system& sys, runtime_config config = {});
  /// A runtime with an actor system of its own (configured by apply(): netcore's scheduler
  /// settings and message types), for programs that do not use CAF otherwise; system() returns
  /// it. It is destroyed with the runtime, after the runtime's connections.
  explicit runtime(runtime_config config = {});
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// The actor system the connections' actors run in.
  caf::actor_system& system() const noexcept;
  /// The private spill directory.
  const std::string& spill_directory() const noexcept;
  /// The spill files and bytes in use now, against runtime_config's bounds.
  const protocol::spill_quota& spill_usage() const noexcept;

  /// A connection over any byte stream: a pollable one (native_handle() >= 0) is served by an
  /// event loop, any other by a reader and a writer thread of its own.
  connection adopt(std::unique_ptr<transports::byte_stream> stream, connection_config config = {});

  /// Connects over TCP. Errors: as transports::tcp_connect (the OS cause kept, e.g.
  /// std::errc::connection_refused, transport_errc::resolution_failed).
  protocol::result<connection, std::error_code>
  connect_tcp(const std::string& host, std::uint16_t port, connection_config config = {},
              const transports::tcp_options& opts = {});
  /// Connects to a unix-domain socket. Errors: as transports::unix_connect.
  protocol::result<connection, std::error_code> connect_unix(const std::string& path,
                                                             connection_config config = {});
  /// Opens a serial line. Errors: as transports::serial_open.
  protocol::result<connection, std::error_code>
  open_serial(const std::string& path, const transports::serial_options& opts = {},
              connection_config config = {});
  /// A connection over a user's send/recv pair. Errors: as transports::make_pipe_stream.
  protocol::result<connection, std::error_code> open_pipe(transports::pipe_functions fns,
                                                          connection_config config = {},
                                                          transports::stream_profile profile = {});

  /// Listens on TCP; each accepted connection goes to `on_accept` (with config.psk_server set,
  /// only once it passed the handshake). Errors: as transports::listener::tcp;
  /// transport_errc::invalid_argument for a config.psk_server that transports::validate()
  /// refuses.
  protocol::result<acceptor, std::error_code>
  listen_tcp(const std::string& address, std::uint16_t port, accept_handler on_accept,
             connection_config config = {}, const transports::tcp_options& opts = {});
  /// Listens on a unix-domain socket. Errors: as transports::listener::unix_socket; as
  /// listen_tcp() for config.psk_server.
  protocol::result<acceptor, std::error_code>
  listen_unix(const std::string& path, accept_handler on_accept, connection_config config = {});
  /// Serves an existing listener (an unusable config.psk_server fails every handshake).
  /// Serves an existing listener; `decorate`, when set, wraps every accepted stream first (TLS).
  acceptor listen(std::unique_ptr<transports::listener> l, accept_handler on_accept,
                  connection_config config = {}, stream_decorator decorate = {});

  /// Connections whose actors are still running.
  std::size_t connections() const;
  /// Event-loop threads (for accounting: threads do not grow with connections).
  std::size_t io_threads() const noexcept;

 private:
  struct owned_system;
  std::unique_ptr<owned_system> own_;  // first in, last out: outlives impl_
  std::unique_ptr<detail::runtime_impl> impl_;
};

}  // namespace netcore::actors
