#pragma once

#include <netcore/transports/byte_stream.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace netcore::transports {

/// Options for TCP streams (applied to connected and accepted sockets alike).
struct tcp_options {
  /// Disable Nagle's algorithm (lower latency for small messages).
  bool no_delay = true;
  /// Linux TCP_NOTSENT_LOWAT in bytes (0 = leave the kernel default): keeps the unsent kernel
  /// queue short so the runtime's priorities, not the socket buffer, decide what goes next.
  std::size_t not_sent_low_water = 0;
  /// SO_RCVBUF in bytes (0 = kernel autotuning): bytes the peer may have in flight towards a
  /// receiver that is slower than the link. Smaller keeps a request from queueing behind them.
  std::size_t receive_buffer = 0;
  /// How long tcp_connect() waits for each address to accept (0 = the kernel's own timeout).
  std::chrono::milliseconds connect_timeout{10'000};
};

/// The tuning of TCP streams: 64 KiB chunks, 1 MiB writes.
stream_profile tcp_profile() noexcept;

/// Applies `opts` to the connected TCP socket `fd`.
void apply_tcp_options(int fd, const tcp_options& opts) noexcept;

/// Connects to `host`:`port` (IPv4 or IPv6; names resolved, every address tried in turn).
/// Errors: transport_errc::resolution_failed (unknown host), or the OS error of the last
/// address tried: std::errc::connection_refused, std::errc::network_unreachable,
/// std::errc::timed_out, ...
result<std::unique_ptr<byte_stream>> tcp_connect(const std::string& host, std::uint16_t port,
                                                 const tcp_options& opts = {});

}  // namespace netcore::transports
