#include <netcore/transports/tcp_stream.hpp>

#include <cerrno>
#include <climits>
#include <sys/uio.h>

#include <asio.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <sstream>
#include <vector>

namespace netcore::transports {
namespace {

using asio::ip::tcp;

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

/// Errors that mean the connection is gone rather than that bytes were refused.
bool is_disconnect(const asio::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_reset || ec == asio::error::connection_aborted ||
         ec == asio::error::not_connected || ec == asio::error::shut_down ||
         ec == asio::error::timed_out || ec == asio::error::host_unreachable ||
         ec == asio::error::network_unreachable || ec == asio::error::network_down ||
         ec == asio::error::network_reset || ec == asio::error::bad_descriptor ||
         ec == asio::error::operation_aborted;
}

void apply_options(tcp::socket& sock, const tcp_options& opts) {
  asio::error_code ignored;
  sock.set_option(tcp::no_delay(opts.no_delay), ignored);
  if (opts.receive_buffer != 0)
    sock.set_option(asio::socket_base::receive_buffer_size(
                        static_cast<int>(std::min<std::size_t>(opts.receive_buffer, INT_MAX))),
                    ignored);
#ifdef TCP_NOTSENT_LOWAT
  if (opts.not_sent_low_water != 0) {
    const int value = static_cast<int>(std::min<std::size_t>(opts.not_sent_low_water, INT_MAX));
    ::setsockopt(sock.native_handle(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &value, sizeof value);
  }
#endif
}

class tcp_stream final : public byte_stream {
 public:
  tcp_stream() : socket_(context_) {}

  ~tcp_stream() override {
    asio::error_code ignored;
    socket_.close(ignored);
  }

  tcp::socket& socket() noexcept { return socket_; }

  /// Records the peer's address for describe(); called once the socket is connected.
  void connected(const tcp_options& opts) {
    apply_options(socket_, opts);
    asio::error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    std::ostringstream out;
    out << "tcp ";
    if (ec) {
      out << "?";
    } else {
      out << remote;
    }
    description_ = out.str();
  }

  errc write(const io_slice* slices, std::size_t count) override {
    auto r = send_slices(slices, count, 0);
    return r ? errc::ok : r.error();
  }

  result<std::size_t> try_write(const io_slice* slices, std::size_t count) override {
    return send_slices(slices, count, MSG_DONTWAIT);
  }

  result<std::size_t> read(std::uint8_t* buf, std::size_t max) override {
    if (closed_.load(std::memory_order_acquire)) return errc::disconnected;
    if (max == 0) return std::size_t{0};
    asio::error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(buf, max), ec);
    if (ec || n == 0) return errc::disconnected;
    return n;
  }

  void close() noexcept override {
    if (closed_.exchange(true, std::memory_order_acq_rel)) return;
    // shutdown() wakes a thread blocked in recv/send on this socket without releasing the
    // descriptor, which another thread may still be using; the destructor closes it.
    ::shutdown(socket_.native_handle(), SHUT_RDWR);
  }

  stream_profile profile() const override {
    stream_profile p;
    p.chunk_size = 64u << 10;
    p.write_batch = 1u << 20;
    p.read_size = 1u << 20;
    p.lossy = false;
    return p;
  }

  std::string describe() const override { return description_; }

 private:
  /// Sends the slices with one sendmsg per IOV_MAX of them (asio::write would stop at 64 buffers
  /// per call); a short send resumes inside the slice where it stopped. With MSG_DONTWAIT it
  /// returns at the first would-block with the bytes sent so far.
  result<std::size_t> send_slices(const io_slice* slices, std::size_t count, int flags) {
    if (closed_.load(std::memory_order_acquire)) return errc::disconnected;
    const int fd = socket_.native_handle();
    std::size_t sent = 0;
    iovec iov[IOV_MAX];
    std::size_t i = 0;
    std::size_t skip = 0;  // bytes of slices[i] already written
    while (i < count) {
      int n = 0;
      for (std::size_t j = i; j < count && n < IOV_MAX; ++j) {
        auto off = j == i ? skip : 0;
        if (slices[j].size == off) continue;
        iov[n].iov_base =
            const_cast<std::uint8_t*>(static_cast<const std::uint8_t*>(slices[j].data) + off);
        iov[n].iov_len = slices[j].size - off;
        ++n;
      }
      if (n == 0) break;
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<std::size_t>(n);
      auto w =
          ::sendmsg(fd, &msg, MSG_NOSIGNAL | flags);  // a vanished peer is an error, not SIGPIPE
      if (w < 0) {
        if (errno == EINTR) continue;
        if ((flags & MSG_DONTWAIT) && (errno == EAGAIN || errno == EWOULDBLOCK)) return sent;
        const asio::error_code ec{errno, asio::error::get_system_category()};
        if (closed_.load(std::memory_order_acquire) || is_disconnect(ec)) return errc::disconnected;
        return errc::send_failed;
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

  asio::io_context context_;  // owns the socket's service; never run
  tcp::socket socket_;
  std::atomic<bool> closed_{false};
  std::string description_ = "tcp";
};

class tcp_listener_impl final : public tcp_listener {
 public:
  tcp_listener_impl() : acceptor_(context_) {}

  ~tcp_listener_impl() override {
    asio::error_code ignored;
    acceptor_.close(ignored);
  }

  errc open(const tcp::endpoint& endpoint, const tcp_options& opts) {
    opts_ = opts;
    asio::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return errc::disconnected;
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (ec) return errc::disconnected;
    if (endpoint.address().is_v6()) {
      acceptor_.set_option(asio::ip::v6_only(true), ec);
      if (ec) return errc::disconnected;
    }
    acceptor_.bind(endpoint, ec);
    if (ec) return errc::disconnected;
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return errc::disconnected;
    const auto local = acceptor_.local_endpoint(ec);
    if (ec) return errc::disconnected;
    port_ = local.port();
    return errc::ok;
  }

  result<std::unique_ptr<byte_stream>> accept() override {
    for (;;) {
      if (closed_.load(std::memory_order_acquire)) return errc::disconnected;
      auto stream = std::make_unique<tcp_stream>();
      asio::error_code ec;
      acceptor_.accept(stream->socket(), ec);
      if (closed_.load(std::memory_order_acquire)) return errc::disconnected;
      if (!ec) {
        stream->connected(opts_);
        return std::unique_ptr<byte_stream>(std::move(stream));
      }
      // A peer that vanished between SYN and accept is not the listener's failure.
      if (ec == asio::error::connection_aborted || ec == asio::error::connection_reset ||
          ec == asio::error::interrupted || ec == asio::error::try_again) {
        continue;
      }
      return errc::disconnected;
    }
  }

  std::uint16_t port() const override { return port_; }

  void close() noexcept override {
    if (closed_.exchange(true, std::memory_order_acq_rel)) return;
    // On Linux, shutdown() of a listening socket makes a blocked accept() fail with EINVAL and
    // every later accept() fail at once; the descriptor stays valid until the destructor.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
  }

 private:
  asio::io_context context_;  // owns the acceptor's service; never run
  tcp::acceptor acceptor_;
  tcp_options opts_;
  std::uint16_t port_ = 0;
  std::atomic<bool> closed_{false};
};

}  // namespace

result<std::unique_ptr<byte_stream>> tcp_connect(const std::string& host, std::uint16_t port,
                                                 const tcp_options& opts) {
  auto stream = std::make_unique<tcp_stream>();
  asio::error_code ec;
  tcp::resolver::results_type endpoints;
  {
    asio::io_context resolve_context;
    tcp::resolver resolver(resolve_context);
    endpoints = resolver.resolve(host, std::to_string(port), tcp::resolver::numeric_service, ec);
  }
  if (ec || endpoints.empty()) return errc::disconnected;
  asio::connect(stream->socket(), endpoints, ec);
  if (ec) return errc::disconnected;
  stream->connected(opts);
  return std::unique_ptr<byte_stream>(std::move(stream));
}

result<std::unique_ptr<tcp_listener>>
tcp_listener::listen(const std::string& address, std::uint16_t port, const tcp_options& opts) {
  asio::error_code ec;
  tcp::endpoint endpoint;
  const auto parsed = asio::ip::make_address(address, ec);
  if (!ec) {
    endpoint = tcp::endpoint(parsed, port);
  } else {
    asio::io_context resolve_context;
    tcp::resolver resolver(resolve_context);
    const auto found = resolver.resolve(
        address, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || found.empty()) return errc::disconnected;
    endpoint = found.begin()->endpoint();
  }
  auto listener = std::make_unique<tcp_listener_impl>();
  if (listener->open(endpoint, opts) != errc::ok) return errc::disconnected;
  return std::unique_ptr<tcp_listener>(std::move(listener));
}

}  // namespace netcore::transports
