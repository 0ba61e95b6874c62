#pragma once

#include <netcore/transports/byte_stream.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace netcore::transports {

/// Options for TCP streams.
struct tcp_options {
  /// Disable Nagle's algorithm (lower latency for small messages).
  bool no_delay = true;
  /// Linux TCP_NOTSENT_LOWAT in bytes (0 = leave the kernel default): keeps the unsent kernel
  /// queue short so the runtime's priorities, not the socket buffer, decide what goes next.
  std::size_t not_sent_low_water = 0;
  /// SO_RCVBUF in bytes (0 = kernel autotuning): bytes the peer may have in flight towards a
  /// receiver that is slower than the link. Smaller keeps a request from queueing behind them.
  std::size_t receive_buffer = 0;
};

/// Connects to `host`:`port` (IPv4 or IPv6, names resolved). Errors: errc::disconnected.
result<std::unique_ptr<byte_stream>> tcp_connect(const std::string& host, std::uint16_t port,
                                                 const tcp_options& opts = {});

/// A listening TCP socket.
class tcp_listener {
 public:
  /// Listens on `address` ("127.0.0.1", "::1", "0.0.0.0", "::") and `port` (0 = any free port).
  static result<std::unique_ptr<tcp_listener>>
  listen(const std::string& address, std::uint16_t port, const tcp_options& opts = {});
  virtual ~tcp_listener() = default;
  /// Blocks until a peer connects. Errors: errc::disconnected once close() was called.
  virtual result<std::unique_ptr<byte_stream>> accept() = 0;
  /// The port actually bound.
  virtual std::uint16_t port() const = 0;
  /// Stops listening; a blocked accept() returns an error. Thread-safe.
  virtual void close() noexcept = 0;
};

}  // namespace netcore::transports
