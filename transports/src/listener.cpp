#include <netcore/transports/fd_stream.hpp>
#include <netcore/transports/listener.hpp>
#include <netcore/transports/unix_stream.hpp>

#include "socket_util.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace netcore::transports {

namespace {

/// Resolves a listening address: a numeric address as it is, a name through getaddrinfo.
std::error_code resolve_passive(const std::string& address, std::uint16_t port,
                                sockaddr_storage& out, socklen_t& len) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (::getaddrinfo(address.empty() ? nullptr : address.c_str(), service.c_str(), &hints, &found) !=
          0 ||
      found == nullptr)
    return transport_errc::resolution_failed;
  std::memcpy(&out, found->ai_addr, found->ai_addrlen);
  len = found->ai_addrlen;
  ::freeaddrinfo(found);
  return {};
}

bool vanished_peer(int e) {
  // A peer that went away between its SYN and our accept is not the listener's failure.
  return e == ECONNABORTED || e == EPROTO || e == EINTR || e == ENETDOWN || e == ENOPROTOOPT ||
         e == EHOSTDOWN || e == ENONET || e == EHOSTUNREACH || e == EOPNOTSUPP || e == ENETUNREACH;
}

}  // namespace

listener::listener(int fd, bool tcp, tcp_options opts, std::string path, std::uint16_t port,
                   std::string description)
    : fd_(fd), tcp_(tcp), opts_(opts), path_(std::move(path)), port_(port),
      description_(std::move(description)) {}

listener::~listener() {
  ::close(fd_);
  if (!path_.empty()) ::unlink(path_.c_str());
}

result<std::unique_ptr<listener>> listener::tcp(const std::string& address, std::uint16_t port,
                                                const tcp_options& opts) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (auto e = resolve_passive(address, port, ss, len)) return e;
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return os_error(errno);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ss.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0 ||
      ::listen(fd, SOMAXCONN) != 0) {
    const int e = errno;
    ::close(fd);
    return os_error(e);
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  std::uint16_t actual = 0;
  if (bound.ss_family == AF_INET)
    actual = ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  else if (bound.ss_family == AF_INET6)
    actual = ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port);
  return std::unique_ptr<listener>(
      new listener(fd, true, opts, {}, actual, "tcp " + detail::address_name(bound)));
}

result<std::unique_ptr<listener>> listener::unix_socket(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return std::error_code{transport_errc::invalid_address};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // A socket file left by an earlier process is replaced; anything else at the path is kept.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return os_error(errno);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, SOMAXCONN) != 0) {
    const int e = errno;
    ::close(fd);
    return os_error(e);
  }
  return std::unique_ptr<listener>(new listener(fd, false, {}, path, 0, "unix " + path));
}

result<std::unique_ptr<byte_stream>> listener::try_accept() {
  for (;;) {
    if (closed_.load(std::memory_order_acquire)) return std::error_code{transport_errc::closed};
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) return std::unique_ptr<byte_stream>{};
      if (vanished_peer(e)) continue;
      if (closed_.load(std::memory_order_acquire)) return std::error_code{transport_errc::closed};
      return os_error(e);
    }
    if (tcp_) apply_tcp_options(fd, opts_);
    auto s = fd_stream::adopt(fd, fd_stream::kind::socket, tcp_ ? tcp_profile() : unix_profile(),
                              (tcp_ ? "tcp " + detail::peer_name(fd) : "unix " + path_));
    if (!s) return s.error();
    return std::unique_ptr<byte_stream>(std::move(*s));
  }
}

result<std::unique_ptr<byte_stream>> listener::accept() {
  for (;;) {
    auto r = try_accept();
    if (!r || *r) return r;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) return os_error(errno);
    // After close(), shutdown() makes the descriptor readable and accept4 fail: checked above.
  }
}

void listener::close() noexcept {
  if (closed_.exchange(true, std::memory_order_acq_rel)) return;
  // On Linux, shutdown() of a listening socket wakes a blocked poll/accept; the descriptor stays
  // valid until the destructor.
  ::shutdown(fd_, SHUT_RDWR);
}

}  // namespace netcore::transports
