#pragma once

#include <netcore/transports/byte_stream.hpp>
#include <netcore/transports/tcp_stream.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace netcore::transports {

/// A listening stream socket (TCP or unix-domain). accept() blocks until a peer connects or
/// close() is called; try_accept() never blocks, for event loops that wait on native_handle().
/// Every failure is a returned error, never an exception: running out of descriptors (EMFILE,
/// ENFILE) fails that accept only, and the listener stays usable.
class listener {
 public:
  /// Listens on `address` ("127.0.0.1", "::1", "0.0.0.0", "::", or a name) and `port` (0 = any
  /// free port). Errors: transport_errc::resolution_failed, or the OS error
  /// (std::errc::address_in_use, std::errc::permission_denied, ...).
  static result<std::unique_ptr<listener>> tcp(const std::string& address, std::uint16_t port,
                                               const tcp_options& opts = {});
  /// Listens on the unix-domain socket `path`; a stale socket file there is replaced, and the
  /// file is removed again when the listener is destroyed. Errors: transport_errc::invalid_address
  /// (path too long), or the OS error (std::errc::address_in_use when something else than a
  /// socket is at `path`, std::errc::permission_denied, ...).
  static result<std::unique_ptr<listener>> unix_socket(const std::string& path);

  ~listener();
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;

  /// Waits for the next peer. Errors: transport_errc::closed after close(), or the OS error
  /// (std::errc::too_many_files_open, ...).
  result<std::unique_ptr<byte_stream>> accept();
  /// The next waiting peer, or nullptr when none is waiting. Errors: as accept().
  result<std::unique_ptr<byte_stream>> try_accept();
  /// The listening descriptor, for an event loop to wait on.
  int native_handle() const noexcept { return fd_; }
  /// The TCP port actually bound (0 for unix sockets).
  std::uint16_t port() const noexcept { return port_; }
  /// "tcp 127.0.0.1:4000" or "unix /path".
  const std::string& describe() const noexcept { return description_; }
  /// Stops listening: a blocked accept() returns transport_errc::closed. Thread-safe.
  void close() noexcept;

 private:
  listener(int fd, bool tcp, tcp_options opts, std::string path, std::uint16_t port,
           std::string description);

  int fd_;
  bool tcp_;
  tcp_options opts_;
  std::string path_;  // unix: removed at destruction
  std::uint16_t port_;
  std::string description_;
  std::atomic<bool> closed_{false};
};

}  // namespace netcore::transports
