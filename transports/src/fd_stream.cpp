#include <netcore/transports/fd_stream.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <vector>

namespace netcore::transports {

namespace {

#ifdef IOV_MAX
constexpr std::size_t max_iov = IOV_MAX;
#else
constexpr std::size_t max_iov = 1024;
#endif

static_assert(sizeof(io_slice) == sizeof(iovec), "io_slice must match struct iovec");

}  // namespace

result<std::unique_ptr<fd_stream>> fd_stream::adopt(int fd, kind k, stream_profile profile,
                                                    std::string description) {
  if (fd < 0) return std::error_code{transport_errc::invalid_argument};
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    const int e = errno;
    ::close(fd);
    return os_error(e);
  }
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  int wake = -1;
  if (k == kind::other) {
    wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake < 0) {
      const int e = errno;
      ::close(fd);
      return os_error(e);
    }
  }
  return std::unique_ptr<fd_stream>(new fd_stream(fd, wake, k, profile, std::move(description)));
}

fd_stream::fd_stream(int fd, int wake_fd, kind k, stream_profile profile, std::string description)
    : fd_(fd), wake_fd_(wake_fd), kind_(k), profile_(profile),
      description_(std::move(description)) {}

fd_stream::~fd_stream() {
  ::close(fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

result<std::size_t> fd_stream::try_write(const io_slice* slices, std::size_t count) {
  if (closed_.load(std::memory_order_acquire)) return std::error_code{transport_errc::closed};
  std::size_t sent = 0;
  std::size_t i = 0;
  std::size_t skip = 0;  // bytes of slices[i] already written
  iovec iov[64];
  while (i < count) {
    std::size_t n = 0;
    for (std::size_t j = i; j < count && n < std::min<std::size_t>(max_iov, 64); ++j) {
      const std::size_t off = j == i ? skip : 0;
      if (slices[j].size == off) continue;
      iov[n].iov_base =
          const_cast<std::uint8_t*>(static_cast<const std::uint8_t*>(slices[j].data) + off);
      iov[n].iov_len = slices[j].size - off;
      ++n;
    }
    if (n == 0) break;
    ssize_t w;
    if (kind_ == kind::socket) {
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = n;
      w = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);  // a vanished peer: EPIPE, no signal
    } else {
      w = ::writev(fd_, iov, static_cast<int>(n));
    }
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return sent;
      if (closed_.load(std::memory_order_acquire)) return std::error_code{transport_errc::closed};
      return os_error(errno);
    }
    auto left = static_cast<std::size_t>(w);
    sent += left;
    while (i < count && left >= slices[i].size - skip) {
      left -= slices[i].size - skip;
      skip = 0;
      ++i;
    }
    skip += left;
  }
  return sent;
}

std::error_code fd_stream::write(const io_slice* slices, std::size_t count) {
  std::vector<io_slice> rest(slices, slices + count);
  std::size_t first = 0;
  while (first < rest.size()) {
    auto r = try_write(rest.data() + first, rest.size() - first);
    if (!r) return r.error();
    auto n = *r;
    while (first < rest.size() && n >= rest[first].size) {
      n -= rest[first].size;
      ++first;
    }
    if (first < rest.size() && n > 0) {
      rest[first].data = static_cast<const std::uint8_t*>(rest[first].data) + n;
      rest[first].size -= n;
    }
    if (first < rest.size() && *r == 0) {
      if (auto e = wait(POLLOUT)) return e;
    }
  }
  return {};
}

result<std::size_t> fd_stream::try_read(std::uint8_t* buf, std::size_t max) {
  if (closed_.load(std::memory_order_acquire)) return std::error_code{transport_errc::closed};
  if (max == 0) return std::size_t{0};
  for (;;) {
    const ssize_t n =
        kind_ == kind::socket ? ::recv(fd_, buf, max, MSG_DONTWAIT) : ::read(fd_, buf, max);
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0) return std::error_code{transport_errc::end_of_stream};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::size_t{0};
    if (closed_.load(std::memory_order_acquire)) return std::error_code{transport_errc::closed};
    return os_error(errno);
  }
}

result<std::size_t> fd_stream::read(std::uint8_t* buf, std::size_t max) {
  for (;;) {
    auto r = try_read(buf, max);
    if (!r || *r > 0 || max == 0) return r;
    if (auto e = wait(POLLIN)) return e;
  }
}

std::error_code fd_stream::wait(short events) {
  for (;;) {
    if (closed_.load(std::memory_order_acquire)) return transport_errc::closed;
    pollfd fds[2] = {{fd_, events, 0}, {wake_fd_, POLLIN, 0}};
    const int r = ::poll(fds, wake_fd_ >= 0 ? 2 : 1, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      return os_error(errno);
    }
    if (closed_.load(std::memory_order_acquire)) return transport_errc::closed;
    // Readiness, or a hang-up/error that the next read or write reports with its cause.
    if ((fds[0].revents & (events | POLLHUP | POLLERR | POLLNVAL)) != 0) return {};
  }
}

bool fd_stream::shutdown_write() noexcept {
  return kind_ == kind::socket && ::shutdown(fd_, SHUT_WR) == 0;
}

void fd_stream::close() noexcept {
  if (closed_.exchange(true, std::memory_order_acq_rel)) return;
  if (kind_ == kind::socket) {
    // Wakes threads blocked on the socket without releasing the descriptor, which another thread
    // may still be using; the destructor closes it.
    ::shutdown(fd_, SHUT_RDWR);
  } else {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }
}

}  // namespace netcore::transports
