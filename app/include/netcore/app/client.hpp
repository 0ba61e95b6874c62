#pragma once

// A client: calls on one peer through an endpoint, over a connection it makes itself and, when
// asked, makes again after the connection ends, with exponential backoff and jitter. Calls made
// while there is no connection wait for one up to their deadline (or fail at once).

#include <netcore/actors/connection.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/app/backoff.hpp>
#include <netcore/app/endpoint.hpp>

#include <caf/actor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <system_error>

namespace netcore::app {

/// Makes one connection (a TCP connect, a unix socket, a serial line, ...). Called on a thread
/// of its own for each attempt, so it may block.
using connector = std::function<protocol::result<actors::connection, std::error_code>()>;

/// How a client connects and what its calls do without a connection.
struct client_config {
  /// How to connect (see tcp_connector()). Required.
  connector connect;
  /// Connect again when the connection ends (or an attempt fails), after backoff delays.
  bool reconnect = true;
  backoff_policy backoff;
  /// Consecutive failed attempts after which the client gives up: calls waiting then, and all
  /// later ones, fail status::unavailable (0 = never give up).
  std::uint32_t max_attempts = 0;
  /// Calls made while there is no connection wait for one up to their deadline (then
  /// deadline_exceeded); false: they fail status::unavailable at once.
  bool wait_for_connection = true;
  /// Calls waiting for a connection at most; beyond: status::unavailable at once.
  std::size_t max_waiting_calls = 4096;
  /// Seeds the jitter (0: from std::random_device).
  std::uint64_t seed = 0;
};

/// A connector for TCP.
connector tcp_connector(actors::runtime& rt, std::string host, std::uint16_t port,
                        actors::connection_config config = {});
/// A connector for a unix-domain socket.
connector unix_connector(actors::runtime& rt, std::string path,
                         actors::connection_config config = {});

/// What a client has done so far.
struct client_stats {
  std::uint64_t connects = 0;     ///< connections made
  std::uint64_t failures = 0;     ///< attempts that failed
  std::uint64_t disconnects = 0;  ///< connections that ended
  std::uint64_t waiting = 0;      ///< calls waiting for a connection now
  bool connected = false;
  bool given_up = false;  ///< max_attempts reached
};

/// Owns its connection; calls go through `ep` (which serves the connection, so the peer can call
/// back). Thread-safe. Destroy it before the endpoint and the runtime: its destructor stops
/// reconnecting, fails the calls waiting for a connection (status::unavailable) and closes the
/// connection.
class client {
 public:
  /// Starts connecting at once. Errors of the attempts show in stats() and in the calls.
  client(actors::runtime& rt, endpoint& ep, client_config config);
  /// The same with the default configuration and `connect` (reconnecting, calls waiting).
  client(actors::runtime& rt, endpoint& ep, connector connect);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Calls `request.meta.route` on the peer: answered as endpoint::call() answers, or, without a
  /// connection, after one is made (within `timeout`: 0 means the endpoint's default), or
  /// status::unavailable (no waiting, too many waiting, given up, client destroyed).
  std::future<reply> call(actors::outgoing_message request,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds{0});
  /// The same with a callback, called once on an actor's thread.
  void call(actors::outgoing_message request, std::chrono::milliseconds timeout,
            std::function<void(reply)> done);
  /// A caller actor for actors (caller.hpp): each (call_atom, request, timeout) is answered
  /// with the reply call() would give; after the client is destroyed, status::unavailable.
  caller_actor caller();
  /// Sends a message without an answer on the current connection. Errors: runtime_errc::closed
  /// without one; as endpoint::send().
  std::error_code send(actors::outgoing_message message);

  /// Waits until connected, at most `timeout`; true when connected.
  bool wait_connected(std::chrono::milliseconds timeout);
  /// The counters (a snapshot).
  client_stats stats() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace netcore::app
