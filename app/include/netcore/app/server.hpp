#pragma once

// A server: one endpoint's routes served on every connection that comes in on any number of
// addresses (TCP, unix sockets) or is handed to it (a serial line, a pipe, a TLS stream), with
// admission, hooks, per-connection state, an idle timeout and a two-phase graceful shutdown.

#include <netcore/actors/connection.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/app/endpoint.hpp>

#include <caf/actor.hpp>

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace netcore::app {

/// What a server knows of one connection, as its hooks see it.
struct peer_info {
  /// The connection's actor (the same as request::connection()).
  caf::actor_addr id;
  /// Its transport, e.g. "tcp 127.0.0.1:4000".
  std::string transport;
  /// Where it came in: the acceptor's address ("tcp 0.0.0.0:4000"), or "served" for one handed
  /// to server::serve().
  std::string listener;
  /// What a pre-shared-key handshake established (empty without one).
  transports::peer_identity identity;
};

/// The open hook's answer: take the connection (with a state for its requests), or refuse it
/// with a reason the peer reads (its GOAWAY `refused`).
struct admission {
  bool accepted = true;
  std::string reason;
  std::shared_ptr<std::any> state;

  /// Take it; `state` (may be empty) is what request::state() returns for its requests.
  static admission accept(std::any state = {}) {
    admission a;
    if (state.has_value()) a.state = std::make_shared<std::any>(std::move(state));
    return a;
  }
  /// Refuse it: the peer's connection ends with wire_errc::refused and `why` as its peer_text.
  static admission refuse(std::string why) {
    admission a;
    a.accepted = false;
    a.reason = std::move(why);
    return a;
  }
};

/// Bounds and hooks of a server. The hooks run on the server's actor, one at a time: keep them
/// short (no blocking I/O); an exception from on_open refuses the connection, one from on_close
/// is dropped.
struct server_config {
  /// Connections served at once; one more is refused (GOAWAY `refused` with a reason).
  std::size_t max_connections = 1024;
  /// A connection with no message in either direction and no call being answered for this long
  /// is closed gracefully (0 = never).
  std::chrono::milliseconds idle_timeout{0};
  /// The deadline of the shutdown the destructor makes.
  std::chrono::milliseconds shutdown_timeout{5'000};
  /// For every connection the server accepts (its delivery_budget bounds what one connection can
  /// make the server hold; endpoint_config's admission budgets bound the rest).
  actors::connection_config connection;
  /// Decides on every new connection (none: all are accepted, without state).
  std::function<admission(const peer_info&)> on_open;
  /// Hears the end of every connection the server accepted (not of refused ones).
  std::function<void(const peer_info&, const actors::connection_closed&)> on_close;
};

/// What a server has done so far.
struct server_stats {
  std::uint64_t accepted = 0;     ///< connections taken
  std::uint64_t refused = 0;      ///< refused: max_connections, the open hook, or shutting down
  std::uint64_t closed = 0;       ///< taken connections that ended
  std::uint64_t idle_closed = 0;  ///< of those, closed by the idle timeout
  std::uint64_t open = 0;         ///< served now
  std::uint64_t listeners = 0;    ///< addresses listened on now
};

/// Serves `ep`'s routes. Owns the connections it accepts (they end with it) and its acceptors.
/// Thread-safe. Destroy it before the endpoint and the runtime: its destructor shuts down with
/// server_config::shutdown_timeout.
class server {
 public:
  server(actors::runtime& rt, endpoint& ep, server_config config = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Listens on TCP (port 0: any free one) and returns the port bound. Errors: as
  /// actors::runtime::listen_tcp; runtime_errc::shutting_down after shutdown().
  protocol::result<std::uint16_t, std::error_code>
  listen_tcp(const std::string& address, std::uint16_t port, const transports::tcp_options& = {});
  /// Listens on a unix-domain socket. Errors: as actors::runtime::listen_unix.
  std::error_code listen_unix(const std::string& path);
  /// Serves a connection made elsewhere (a serial line: the server's single peer; a pipe; any
  /// stream): the same admission, hooks and limits as accepted ones. The server owns it now.
  void serve(actors::connection c);

  /// Two-phase graceful shutdown within `deadline`: stops listening and refuses new
  /// connections, lets the calls being answered finish (new calls are answered unavailable),
  /// then closes every connection gracefully (queued messages written, GOAWAY); whatever is left
  /// at the deadline is aborted. Returns once every connection ended. Idempotent; the server
  /// takes no connections afterwards. The endpoint stays stopped (endpoint::start() takes calls
  /// again, e.g. for a new server).
  void shutdown(std::chrono::milliseconds deadline);

  /// The counters (a snapshot).
  server_stats stats() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace netcore::app
