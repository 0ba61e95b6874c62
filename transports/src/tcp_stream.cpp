#include <netcore/transports/fd_stream.hpp>
#include <netcore/transports/tcp_stream.hpp>

#include "socket_util.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace netcore::transports {

stream_profile tcp_profile() noexcept {
  stream_profile p;
  p.chunk_size = 64u << 10;
  p.write_batch = 1u << 20;
  p.read_size = 256u << 10;
  p.lossy = false;
  return p;
}

void apply_tcp_options(int fd, const tcp_options& opts) noexcept {
  const int nodelay = opts.no_delay ? 1 : 0;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
  if (opts.receive_buffer != 0) {
    const int value = static_cast<int>(std::min<std::size_t>(opts.receive_buffer, INT_MAX));
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, sizeof value);
  }
#ifdef TCP_NOTSENT_LOWAT
  if (opts.not_sent_low_water != 0) {
    const int value = static_cast<int>(std::min<std::size_t>(opts.not_sent_low_water, INT_MAX));
    ::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &value, sizeof value);
  }
#endif
}

namespace {

/// Connects the non-blocking socket `fd` to `addr`, waiting up to `timeout`.
std::error_code connect_one(int fd, const sockaddr* addr, socklen_t len,
                            std::chrono::milliseconds timeout) {
  if (::connect(fd, addr, len) == 0) return {};
  if (errno != EINPROGRESS) return os_error(errno);
  pollfd p{fd, POLLOUT, 0};
  const int ms =
      timeout.count() > 0 ? static_cast<int>(std::min<long long>(timeout.count(), INT_MAX)) : -1;
  for (;;) {
    const int r = ::poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return os_error(errno);
    if (r == 0) return os_error(ETIMEDOUT);
    break;
  }
  int err = 0;
  socklen_t err_len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) return os_error(errno);
  return err == 0 ? std::error_code{} : os_error(err);
}

}  // namespace

result<std::unique_ptr<byte_stream>> tcp_connect(const std::string& host, std::uint16_t port,
                                                 const tcp_options& opts) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0 || found == nullptr)
    return std::error_code{transport_errc::resolution_failed};
  std::error_code last = os_error(ECONNREFUSED);
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = os_error(errno);
      continue;
    }
    last = connect_one(fd, ai->ai_addr, ai->ai_addrlen, opts.connect_timeout);
    if (last) {
      ::close(fd);
      continue;
    }
    ::freeaddrinfo(found);
    apply_tcp_options(fd, opts);
    auto s = fd_stream::adopt(fd, fd_stream::kind::socket, tcp_profile(),
                              "tcp " + detail::peer_name(fd));
    if (!s) return s.error();
    return std::unique_ptr<byte_stream>(std::move(*s));
  }
  ::freeaddrinfo(found);
  return last;
}

}  // namespace netcore::transports
