#include "hostile_wire.hpp"

#include <netcore/protocol/metadata.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace netcore::bench::hostile {

int dial(std::uint16_t port, std::chrono::milliseconds send_timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{};
  tv.tv_sec = static_cast<long>(send_timeout.count() / 1000);
  tv.tv_usec = static_cast<long>(send_timeout.count() % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

write_status write_all(int fd, const protocol::byte_buffer& bytes, std::size_t* offset) {
  while (*offset < bytes.size()) {
    const auto n = ::send(fd, bytes.data() + *offset, bytes.size() - *offset, MSG_NOSIGNAL);
    if (n > 0) {
      *offset += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return write_status::timed_out;
    return write_status::closed;
  }
  return write_status::done;
}

protocol::byte_buffer frames(const std::function<void(protocol::encoder&)>& f) {
  protocol::encoder enc;
  f(enc);
  protocol::byte_buffer out;
  enc.flatten_into(out);
  return out;
}

protocol::byte_buffer hello() {
  return frames([](protocol::encoder& e) { e.hello(protocol::settings{}); });
}

frame_reader::frame_reader(int fd) : fd_(fd), buf_(256u << 10) {}

frame_reader::status frame_reader::next(clock_type::time_point deadline,
                                        protocol::frame_view& out) {
  for (;;) {
    while (!pending_.empty()) {
      auto r = dec_.next(pending_);
      if (r.status == protocol::decode_status::frame) {
        out = r.frame;
        return status::frame;
      }
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count())));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return status::timeout;
    const auto n = ::recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n == 0) return status::closed;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return status::reset;
    }
    pending_ = protocol::byte_view{buf_.data(), static_cast<std::size_t>(n)};
  }
}

std::string ending(int fd, std::chrono::milliseconds wait, std::uint64_t* frames) {
  frame_reader reader{fd};
  std::string goaway;
  for (;;) {
    protocol::frame_view f;
    const auto s = reader.next(clock_type::now() + wait, f);
    if (s == frame_reader::status::frame) {
      if (frames) ++*frames;
      if (f.header.type == protocol::frame_type::goaway && f.header.argument != 0 && goaway.empty())
        goaway = "goaway " + std::string{protocol::to_string(protocol::errc_from_wire(
                                 f.header.argument, protocol::errc::internal_error))};
      continue;
    }
    if (!goaway.empty()) return goaway;
    switch (s) {
    case frame_reader::status::closed:
      return "closed";
    case frame_reader::status::reset:
      return "reset";
    default:
      return "open";
    }
  }
}

namespace {

/// Waits for a frame `want` accepts; false on a timeout or the end of the stream.
bool await(frame_reader& r, std::chrono::milliseconds timeout,
           const std::function<bool(const protocol::frame_view&)>& want) {
  const auto deadline = clock_type::now() + timeout;
  for (;;) {
    protocol::frame_view f;
    if (r.next(deadline, f) != frame_reader::status::frame) return false;
    if (want(f)) return true;
  }
}

}  // namespace

round_trip well_behaved(std::uint16_t port, int samples, std::chrono::milliseconds timeout) {
  round_trip result;
  const auto t0 = clock_type::now();
  const int fd = dial(port, timeout);
  if (fd < 0) {
    result.error = "connect failed";
    return result;
  }
  frame_reader reader{fd};
  std::size_t at = 0;
  const auto greeting = hello();
  const bool greeted = write_all(fd, greeting, &at) == write_status::done &&
                       await(reader, timeout, [](const protocol::frame_view& f) {
                         return f.header.type == protocol::frame_type::hello;
                       });
  if (!greeted) {
    result.error = "no HELLO from the server";
    ::close(fd);
    return result;
  }
  result.connect_us = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
  protocol::message_meta meta;
  meta.route = "probe";
  const protocol::byte_buffer body(100, 0x5a);
  std::vector<double> rtts;
  for (int i = 1; i <= samples; ++i) {
    const auto request = frames(
        [&](protocol::encoder& e) { e.open_single(static_cast<std::uint64_t>(i), meta, body); });
    const auto sent = clock_type::now();
    at = 0;
    const bool echoed = write_all(fd, request, &at) == write_status::done &&
                        await(reader, timeout, [](const protocol::frame_view& f) {
                          return f.header.type == protocol::frame_type::open &&
                                 (f.header.flags & protocol::flags::single) != 0;
                        });
    if (!echoed) {
      result.error = "request " + std::to_string(i) + " was not echoed";
      ::close(fd);
      return result;
    }
    rtts.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - sent).count());
  }
  ::close(fd);
  std::sort(rtts.begin(), rtts.end());
  result.ok = true;
  result.rtt_us = rtts.empty() ? 0 : rtts[rtts.size() / 2];
  return result;
}

}  // namespace netcore::bench::hostile
