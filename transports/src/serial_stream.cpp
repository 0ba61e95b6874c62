#include <netcore/transports/serial_stream.hpp>

#include <asio.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>

namespace netcore::transports {
namespace {

#ifdef IOV_MAX
constexpr std::size_t write_batch_slices = IOV_MAX < 64 ? IOV_MAX : 64;
#else
constexpr std::size_t write_batch_slices = 16;
#endif

static_assert(sizeof(io_slice) == sizeof(iovec), "io_slice must match struct iovec");

/// A serial port. Reads and writes go straight to the descriptor (non-blocking) and wait in
/// poll() together with an eventfd that close() signals, so close() from any thread wakes a
/// blocked read or write without closing a descriptor that is still in use.
class serial_stream final : public byte_stream {
 public:
  serial_stream(std::string path, unsigned baud)
      : port_(context_), path_(std::move(path)), baud_(baud) {}

  ~serial_stream() override {
    asio::error_code ignored;
    port_.close(ignored);
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  errc open(const serial_options& opts) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) return errc::disconnected;
    asio::error_code ec;
    port_.open(path_, ec);
    if (ec) return errc::disconnected;

    using base = asio::serial_port_base;
    port_.set_option(base::baud_rate(opts.baud), ec);
    if (ec) return errc::disconnected;

    base::parity::type parity = base::parity::none;
    switch (opts.parity_mode) {
    case serial_options::parity::none:
      parity = base::parity::none;
      break;
    case serial_options::parity::odd:
      parity = base::parity::odd;
      break;
    case serial_options::parity::even:
      parity = base::parity::even;
      break;
    }
    port_.set_option(base::parity(parity), ec);
    if (ec) return errc::disconnected;

    base::stop_bits::type stop = base::stop_bits::one;
    switch (opts.stop) {
    case serial_options::stop_bits::one:
      stop = base::stop_bits::one;
      break;
    case serial_options::stop_bits::one_point_five:
      stop = base::stop_bits::onepointfive;
      break;
    case serial_options::stop_bits::two:
      stop = base::stop_bits::two;
      break;
    }
    port_.set_option(base::stop_bits(stop), ec);
    if (ec) return errc::disconnected;

    base::flow_control::type flow = base::flow_control::none;
    switch (opts.flow) {
    case serial_options::flow_control::none:
      flow = base::flow_control::none;
      break;
    case serial_options::flow_control::software:
      flow = base::flow_control::software;
      break;
    case serial_options::flow_control::hardware:
      flow = base::flow_control::hardware;
      break;
    }
    port_.set_option(base::flow_control(flow), ec);
    if (ec) return errc::disconnected;

    if (opts.character_size < 5 || opts.character_size > 8) return errc::disconnected;
    port_.set_option(base::character_size(opts.character_size), ec);
    if (ec) return errc::disconnected;

    fd_ = port_.native_handle();
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) < 0) return errc::disconnected;
    return errc::ok;
  }

  errc write(const io_slice* slices, std::size_t count) override {
    if (closed_.load(std::memory_order_acquire)) return errc::disconnected;
    // Copies of the caller's slices, advanced in place as short writes take bytes.
    iovec batch[write_batch_slices];
    std::size_t next = 0;
    while (next < count) {
      std::size_t n = 0;
      for (; next < count && n < write_batch_slices; ++next) {
        if (slices[next].size != 0) {
          batch[n].iov_base = const_cast<void*>(slices[next].data);
          batch[n].iov_len = slices[next].size;
          ++n;
        }
      }
      iovec* pending = batch;
      while (n > 0) {
        if (closed_.load(std::memory_order_acquire)) return errc::disconnected;
        const ssize_t written = ::writev(fd_, pending, static_cast<int>(n));
        if (written < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK) {
            const errc e = wait(POLLOUT);
            if (e != errc::ok) return e;
            continue;
          }
          if (closed_.load(std::memory_order_acquire)) return errc::disconnected;
          return errno == EIO || errno == ENXIO || errno == EBADF ? errc::disconnected
                                                                  : errc::send_failed;
        }
        auto left = static_cast<std::size_t>(written);
        while (n > 0 && left >= pending->iov_len) {
          left -= pending->iov_len;
          ++pending;
          --n;
        }
        if (n > 0) {
          pending->iov_base = static_cast<std::uint8_t*>(pending->iov_base) + left;
          pending->iov_len -= left;
        }
      }
    }
    return errc::ok;
  }

  result<std::size_t> read(std::uint8_t* buf, std::size_t max) override {
    if (max == 0) {
      if (closed_.load(std::memory_order_acquire)) return errc::disconnected;
      return std::size_t{0};
    }
    for (;;) {
      if (closed_.load(std::memory_order_acquire)) return errc::disconnected;
      const ssize_t n = ::read(fd_, buf, max);
      if (n > 0) return static_cast<std::size_t>(n);
      if (n == 0) return errc::disconnected;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return errc::disconnected;
      const errc e = wait(POLLIN);
      if (e != errc::ok) return e;
    }
  }

  void close() noexcept override {
    if (closed_.exchange(true, std::memory_order_acq_rel)) return;
    const std::uint64_t one = 1;
    // The eventfd stays readable from now on: every present and future wait() wakes.
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }

  stream_profile profile() const override {
    stream_profile p;
    // About 5 ms of line time per chunk (10 bits per byte on the wire with start and stop bits).
    const double per_5ms = static_cast<double>(baud_) / 10.0 * 0.005;
    p.chunk_size = static_cast<std::size_t>(std::clamp(per_5ms, 64.0, 4096.0));
    p.write_batch = 4 * p.chunk_size;
    p.read_size = 4096;
    p.lossy = true;
    return p;
  }

  std::string describe() const override { return "serial " + path_ + " " + std::to_string(baud_); }

 private:
  /// Waits until the port is ready for `events` or close() was called.
  errc wait(short events) {
    for (;;) {
      pollfd fds[2] = {{fd_, events, 0}, {wake_fd_, POLLIN, 0}};
      const int r = ::poll(fds, 2, -1);
      if (r < 0) {
        if (errno == EINTR) continue;
        return errc::disconnected;
      }
      if (closed_.load(std::memory_order_acquire) || (fds[1].revents & POLLIN) != 0) {
        return errc::disconnected;
      }
      if ((fds[0].revents & events) != 0) return errc::ok;
      // Hang-up or error without readiness: the line is gone.
      if ((fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) != 0) return errc::disconnected;
    }
  }

  asio::io_context context_;  // owns the port's service; never run
  asio::serial_port port_;
  std::string path_;
  unsigned baud_;
  int fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> closed_{false};
};

}  // namespace

result<std::unique_ptr<byte_stream>> serial_open(const std::string& path,
                                                 const serial_options& opts) {
  auto stream = std::make_unique<serial_stream>(path, opts.baud);
  if (stream->open(opts) != errc::ok) return errc::disconnected;
  return std::unique_ptr<byte_stream>(std::move(stream));
}

}  // namespace netcore::transports
