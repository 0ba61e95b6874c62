#include "baselines.hpp"

#include <zmq.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace netcore::bench {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::size_t reader_buffer_size = std::size_t{1} << 20;

double micros(clock_type::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}
double seconds(clock_type::duration d) {
  return std::chrono::duration<double>(d).count();
}

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// A page-aligned, pre-touched buffer for the large transfers. Alignment matters: the kernel copies
// into a receive buffer that starts 16 bytes past a page boundary (where malloc puts large blocks)
// at well under half the speed it reaches for a page-aligned one (loopback, 1 MiB writes: about
// 2.7 against 6.6 GB/s on a 2-core AMD EPYC VM).
class page_buffer {
 public:
  explicit page_buffer(std::size_t size, char fill = 0)
      : data_(static_cast<char*>(
            std::aligned_alloc(page, std::max<std::size_t>(1, (size + page - 1) / page) * page))),
        size_(size) {
    if (!data_) throw std::bad_alloc();
    std::memset(data_.get(), fill, size_);
  }
  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  std::size_t size() const { return size_; }

 private:
  static constexpr std::size_t page = 4096;
  struct free_deleter {
    void operator()(char* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<char, free_deleter> data_;
  std::size_t size_;
};

// ---------------------------------------------------------------------------------------------------
// Threads: every function runs its parts on workers and joins them all before returning. The first
// exception thrown by a worker is kept and rethrown by join(); when it happens, `on_failure`
// unblocks the other workers (shuts sockets down, raises stop flags) so that the join terminates.

class workers {
 public:
  explicit workers(std::function<void()> on_failure) : on_failure_(std::move(on_failure)) {}
  workers(const workers&) = delete;
  workers& operator=(const workers&) = delete;

  ~workers() {
    if (any_joinable()) on_failure_();
    join_threads();
  }

  template <class F>
  void spawn(F f) {
    threads_.emplace_back([this, f = std::move(f)]() mutable {
      try {
        f();
      } catch (...) {
        fail(std::current_exception());
      }
    });
  }

  void join() {
    join_threads();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void fail(std::exception_ptr e) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error_) return;
      error_ = std::move(e);
    }
    on_failure_();
  }
  bool any_joinable() const {
    return std::any_of(threads_.begin(), threads_.end(),
                       [](const auto& t) { return t.joinable(); });
  }
  void join_threads() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  std::function<void()> on_failure_;
  std::mutex mutex_;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
};

// ---------------------------------------------------------------------------------------------------
// POSIX TCP helpers.

class socket_fd {
 public:
  explicit socket_fd(int fd = -1) : fd_(fd) {}
  socket_fd(socket_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  socket_fd& operator=(socket_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  ~socket_fd() { reset(); }

  int get() const { return fd_; }
  // Safe while other threads are blocked in send/recv on the descriptor: it wakes them up.
  void shutdown(int how) const {
    if (fd_ >= 0) ::shutdown(fd_, how);
  }

 private:
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_;
};

void set_int_option(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) throw_errno(what);
}

void set_io_timeouts(int fd) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(io_timeout.count());
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) throw_errno("SO_RCVTIMEO");
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) throw_errno("SO_SNDTIMEO");
}

void set_nodelay(int fd) {
  set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
}

// A connected pair of loopback TCP sockets on an ephemeral port, with I/O timeouts set.
struct tcp_pair {
  socket_fd client;
  socket_fd server;
};

tcp_pair make_tcp_pair(bool nodelay) {
  socket_fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listener.get() < 0) throw_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    throw_errno("bind");
  if (::listen(listener.get(), 1) != 0) throw_errno("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw_errno("getsockname");

  tcp_pair p;
  p.client = socket_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (p.client.get() < 0) throw_errno("socket");
  // A loopback connect completes through the listen backlog, before accept() is called.
  if (::connect(p.client.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    throw_errno("connect");
  p.server = socket_fd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (p.server.get() < 0) throw_errno("accept");
  for (const socket_fd* s : {&p.client, &p.server}) {
    set_io_timeouts(s->get());
    if (nodelay) set_nodelay(s->get());
  }
  return p;
}

void send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        throw std::runtime_error("send: peer stopped reading (timeout)");
      throw_errno("send");
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// One recv(); returns 0 at end of stream.
std::size_t recv_some(int fd, char* data, std::size_t size) {
  for (;;) {
    const ssize_t n = ::recv(fd, data, size, 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      throw std::runtime_error("recv: peer stopped sending (timeout)");
    throw_errno("recv");
  }
}

// Reads exactly `size` bytes. Returns false on end of stream before the first byte; end of stream
// in the middle is an error.
bool recv_all_or_eof(int fd, char* data, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    const std::size_t n = recv_some(fd, data + got, size - got);
    if (n == 0) {
      if (got == 0) return false;
      throw std::runtime_error("recv: connection closed in the middle of a message");
    }
    got += n;
  }
  return true;
}

void recv_all(int fd, char* data, std::size_t size) {
  if (!recv_all_or_eof(fd, data, size)) throw std::runtime_error("recv: connection closed");
}

void discard(int fd, std::uint64_t size, page_buffer& buffer) {
  while (size > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(size, buffer.size()));
    const std::size_t n = recv_some(fd, buffer.data(), want);
    if (n == 0) throw std::runtime_error("recv: connection closed in the middle of a message");
    size -= n;
  }
}

// ---------------------------------------------------------------------------------------------------
// Naive framing: 4-byte big-endian length, then the payload.

void put_length(char* out, std::uint32_t len) {
  out[0] = static_cast<char>((len >> 24) & 0xff);
  out[1] = static_cast<char>((len >> 16) & 0xff);
  out[2] = static_cast<char>((len >> 8) & 0xff);
  out[3] = static_cast<char>(len & 0xff);
}

std::uint32_t get_length(const char* in) {
  const auto b = [in](int i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(in[i]));
  };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

// Whole-message write access to the client connection, granted in ticket order. The bulk writer,
// which always has a message to send, takes its next ticket in the same step as it gives up the
// connection, so it never loses its place: a request arriving while a bulk message is being written
// goes right after that message, and a request arriving between two bulk messages waits for the
// next one. (A plain mutex, or re-queueing later, would let scheduling decide instead: the bulk
// writer could re-acquire the connection ahead of a waiting request, or fall behind a run of
// requests.)
class write_turns {
 public:
  using ticket = std::uint64_t;

  ticket take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return next_++;
  }
  // Blocks until `t` is served; throws once abort() was called.
  void wait(ticket t) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return aborted_ || serving_ == t; });
    if (aborted_) throw std::runtime_error("aborted: another thread failed");
  }
  void release() { release_and_maybe_take(); }
  ticket release_and_take() { return release_and_maybe_take(true); }
  void abort() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      aborted_ = true;
    }
    cv_.notify_all();
  }

 private:
  ticket release_and_maybe_take(bool take_next = false) {
    ticket t = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++serving_;
      if (take_next) t = next_++;
    }
    cv_.notify_all();
    return t;
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  ticket next_ = 0;
  ticket serving_ = 0;
  bool aborted_ = false;
};

// ---------------------------------------------------------------------------------------------------
// ZeroMQ helpers. Each side gets its own context, hence its own I/O thread, as two processes would:
// with one shared context a single I/O thread both writes and reads every byte, which caps 10 KB
// messages at about half the rate two I/O threads reach. Sockets are created and connected by the
// calling thread and then used by exactly one worker each. Blocking calls use a short timeout and
// are retried, so a worker notices `abort` (set when another worker failed) and gives up after
// `io_timeout` without progress.

constexpr int zmq_retry_ms = 100;

void no_free(void*, void*) noexcept {}

std::string bind_ephemeral(zmq::socket_t& s) {
  s.bind("tcp://127.0.0.1:*");
  return s.get(zmq::sockopt::last_endpoint);
}

void check_progress(const std::atomic<bool>& abort, clock_type::time_point since,
                    const char* what) {
  if (abort.load(std::memory_order_relaxed))
    throw std::runtime_error("aborted: another thread failed");
  if (clock_type::now() - since > io_timeout) throw std::runtime_error(what);
}

// A message that could not be sent is left untouched by send() and is offered again.
template <class Message>
void zmq_send_retry(zmq::socket_t& s, Message& msg, const std::atomic<bool>& abort) {
  const auto start = clock_type::now();
  while (!s.send(msg, zmq::send_flags::none))
    check_progress(abort, start, "zmq send: peer stopped reading (timeout)");
}

void zmq_recv_retry(zmq::socket_t& s, zmq::message_t& msg, const std::atomic<bool>& abort) {
  const auto start = clock_type::now();
  while (!s.recv(msg, zmq::recv_flags::none))
    check_progress(abort, start, "zmq recv: peer stopped sending (timeout)");
}

/// A connected PUSH/PULL pair over loopback TCP, each side with its own context (its own I/O
/// thread, as two processes would have), both with high water mark `hwm`.
struct push_pull_pair {
  explicit push_pull_pair(int hwm)
      : receiver_ctx(1), sender_ctx(1), pull(receiver_ctx, zmq::socket_type::pull),
        push(sender_ctx, zmq::socket_type::push) {
    pull.set(zmq::sockopt::rcvhwm, hwm);
    pull.set(zmq::sockopt::rcvtimeo, zmq_retry_ms);
    pull.set(zmq::sockopt::linger, 0);
    const std::string endpoint = bind_ephemeral(pull);
    push.set(zmq::sockopt::sndhwm, hwm);
    push.set(zmq::sockopt::sndtimeo, zmq_retry_ms);
    push.set(zmq::sockopt::linger, 0);
    push.connect(endpoint);
  }
  zmq::context_t receiver_ctx;
  zmq::context_t sender_ctx;
  zmq::socket_t pull;
  zmq::socket_t push;
};

}  // namespace

// -----------------------------------------------------------------------------------------------------

latency percentiles(std::vector<double> samples_us) {
  latency out;
  out.samples = samples_us.size();
  if (samples_us.empty()) return out;
  std::sort(samples_us.begin(), samples_us.end());
  const auto rank = [&](double p) {
    const auto r =
        static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(out.samples)));
    return samples_us[std::clamp<std::size_t>(r, 1, out.samples) - 1];
  };
  out.p50_us = rank(50);
  out.p99_us = rank(99);
  return out;
}

namespace {

// The raw TCP bulk transfer: a blocking writer thread, a reader thread that hands each read to
// `consume` (data, size). GB/s between the first and the last read, see raw_tcp_bulk_gbps.
double raw_tcp_transfer(std::uint64_t total_bytes, std::size_t write_size, const char* name,
                        const std::function<void(const char*, std::size_t)>& consume) {
  if (total_bytes == 0 || write_size == 0)
    throw std::invalid_argument(std::string(name) + ": sizes must be positive");
  tcp_pair conn = make_tcp_pair(false);
  double gbps = 0;
  workers w([&] {
    conn.client.shutdown(SHUT_RDWR);
    conn.server.shutdown(SHUT_RDWR);
  });

  w.spawn([&] {
    const page_buffer buffer(write_size, 'x');
    for (std::uint64_t left = total_bytes; left > 0;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, write_size));
      send_all(conn.client.get(), buffer.data(), n);
      left -= n;
    }
    conn.client.shutdown(SHUT_WR);
  });

  w.spawn([&] {
    page_buffer buffer(reader_buffer_size);
    std::uint64_t received = 0;
    std::uint64_t counted = 0;  // bytes received after the first read
    clock_type::time_point first{};
    clock_type::time_point last{};
    while (received < total_bytes) {
      const std::size_t n = recv_some(conn.server.get(), buffer.data(), buffer.size());
      if (n == 0) throw std::runtime_error(std::string(name) + ": connection closed early");
      if (consume) consume(buffer.data(), n);
      last = clock_type::now();
      if (received == 0)
        first = last;
      else
        counted += n;
      received += n;
    }
    const double s = seconds(last - first);
    gbps = s > 0 ? static_cast<double>(counted) / s / 1e9 : 0.0;
  });

  w.join();
  return gbps;
}

}  // namespace

double raw_tcp_bulk_gbps(std::uint64_t total_bytes, std::size_t write_size) {
  return raw_tcp_transfer(total_bytes, write_size, "raw_tcp_bulk_gbps", nullptr);
}

double raw_tcp_to_file_gbps(std::uint64_t total_bytes, std::size_t write_size,
                            const std::string& directory) {
  const std::string path = directory + "/raw-tcp-body";
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path);
  struct closer {
    int fd;
    std::string path;
    ~closer() {
      ::close(fd);
      ::unlink(path.c_str());
    }
  } guard{fd, path};
  return raw_tcp_transfer(
      total_bytes, write_size, "raw_tcp_to_file_gbps", [&](const char* data, std::size_t n) {
        for (std::size_t done = 0; done < n;) {
          const ssize_t k = ::write(fd, data + done, n - done);
          if (k < 0 && errno == EINTR) continue;
          if (k <= 0) throw std::system_error(errno, std::generic_category(), "write " + path);
          done += static_cast<std::size_t>(k);
        }
      });
}

double zmq_bulk_gbps(std::uint64_t total_bytes, std::size_t message_size) {
  if (total_bytes == 0 || message_size == 0)
    throw std::invalid_argument("zmq_bulk_gbps: sizes must be positive");
  // Outlives the contexts: queued zero-copy messages point into it until the sockets are gone.
  page_buffer buffer(message_size, 'x');
  // Bound the memory a slow receiver can pile up to about 64 MiB.
  const int hwm =
      static_cast<int>(std::clamp<std::size_t>((std::size_t{64} << 20) / message_size, 4, 100000));

  push_pull_pair zp(hwm);
  zmq::socket_t& pull = zp.pull;
  zmq::socket_t& push = zp.push;

  std::atomic<bool> abort{false};
  double gbps = 0;
  workers w([&] { abort = true; });

  w.spawn([&] {
    for (std::uint64_t left = total_bytes; left > 0;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, message_size));
      zmq::message_t msg(buffer.data(), n, no_free, nullptr);
      zmq_send_retry(push, msg, abort);
      left -= n;
    }
  });

  w.spawn([&] {
    zmq::message_t msg;
    std::uint64_t received = 0;
    std::uint64_t counted = 0;  // bytes of the messages after the first one
    clock_type::time_point first{};
    clock_type::time_point last{};
    while (received < total_bytes) {
      zmq_recv_retry(pull, msg, abort);
      last = clock_type::now();
      if (received == 0)
        first = last;
      else
        counted += msg.size();
      received += msg.size();
    }
    const double s = seconds(last - first);
    gbps = s > 0 ? static_cast<double>(counted) / s / 1e9 : 0.0;
  });

  w.join();
  return gbps;
}

double zmq_small_msgs_per_sec(std::size_t count, std::size_t size) {
  if (count == 0) throw std::invalid_argument("zmq_small_msgs_per_sec: count must be positive");
  constexpr int hwm = 100000;
  push_pull_pair zp(hwm);
  zmq::socket_t& pull = zp.pull;
  zmq::socket_t& push = zp.push;

  std::atomic<bool> abort{false};
  double rate = 0;
  workers w([&] { abort = true; });

  w.spawn([&] {
    const std::vector<char> payload(size, 'x');
    const zmq::const_buffer buffer(payload.data(), payload.size());
    for (std::size_t i = 0; i < count; ++i) zmq_send_retry(push, buffer, abort);
  });

  w.spawn([&] {
    zmq::message_t msg;
    zmq_recv_retry(pull, msg, abort);
    const auto first = clock_type::now();
    for (std::size_t i = 1; i < count; ++i) zmq_recv_retry(pull, msg, abort);
    const double s = seconds(clock_type::now() - first);
    rate = s > 0 ? static_cast<double>(count - 1) / s : 0.0;
  });

  w.join();
  return rate;
}

double zmq_dealer_router_calls_per_sec(std::size_t connections, std::size_t window,
                                       std::size_t total, std::size_t size) {
  if (connections == 0 || window == 0 || total == 0)
    throw std::invalid_argument("zmq_dealer_router_calls_per_sec: nothing to do");
  zmq::context_t server_ctx(1), client_ctx(1);
  zmq::socket_t router(server_ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.set(zmq::sockopt::rcvtimeo, zmq_retry_ms);
  const std::string endpoint = bind_ephemeral(router);
  std::vector<zmq::socket_t> dealers;
  for (std::size_t i = 0; i < connections; ++i) {
    dealers.emplace_back(client_ctx, zmq::socket_type::dealer);
    dealers.back().set(zmq::sockopt::linger, 0);
    dealers.back().connect(endpoint);
  }
  std::atomic<bool> abort{false};
  std::atomic<bool> done{false};
  double rate = 0;
  workers w([&] { abort = true; });
  w.spawn([&] {  // the server: echo every request to the DEALER it came from
    zmq::message_t id, body;
    while (!done.load()) {
      if (!router.recv(id, zmq::recv_flags::none)) continue;
      zmq_recv_retry(router, body, abort);
      router.send(id, zmq::send_flags::sndmore);
      router.send(body, zmq::send_flags::none);
    }
  });
  w.spawn([&] {
    const std::vector<char> payload(size, 'x');
    std::vector<zmq::pollitem_t> items;
    for (auto& d : dealers) items.push_back({d.handle(), 0, ZMQ_POLLIN, 0});
    std::size_t sent = 0, received = 0;
    const auto start = clock_type::now();
    for (auto& d : dealers)
      for (std::size_t i = 0; i < window && sent < total; ++i, ++sent)
        d.send(zmq::const_buffer(payload.data(), payload.size()), zmq::send_flags::none);
    zmq::message_t reply;
    while (received < total) {
      zmq::poll(items, std::chrono::milliseconds{zmq_retry_ms});
      check_progress(abort, start, "zmq dealer/router: no replies (timeout)");
      for (std::size_t i = 0; i < dealers.size(); ++i) {
        if ((items[i].revents & ZMQ_POLLIN) == 0) continue;
        while (dealers[i].recv(reply, zmq::recv_flags::dontwait)) {
          ++received;
          if (sent < total) {
            dealers[i].send(zmq::const_buffer(payload.data(), payload.size()),
                            zmq::send_flags::none);
            ++sent;
          }
        }
      }
    }
    rate = static_cast<double>(total) / seconds(clock_type::now() - start);
    done = true;
  });
  w.join();
  return rate;
}

latency naive_framing_rtt_under_load(std::uint64_t bulk_bytes, std::size_t request_size,
                                     std::size_t samples) {
  if (bulk_bytes == request_size)
    throw std::invalid_argument(
        "naive_framing_rtt_under_load: request_size must differ from bulk_bytes");
  if (bulk_bytes > std::numeric_limits<std::uint32_t>::max() ||
      request_size > std::numeric_limits<std::uint32_t>::max())
    throw std::invalid_argument(
        "naive_framing_rtt_under_load: messages must be shorter than 4 GiB");
  if (samples == 0) return {};

  page_buffer bulk_frame(4 + static_cast<std::size_t>(bulk_bytes), 'b');
  put_length(bulk_frame.data(), static_cast<std::uint32_t>(bulk_bytes));
  // Both directions carry latency-sensitive small frames: no Nagle delay on either end.
  tcp_pair conn = make_tcp_pair(true);
  std::atomic<bool> stop{false};
  std::atomic<bool> bulk_started{false};
  write_turns turns;
  std::vector<double> rtts;
  rtts.reserve(samples);
  workers w([&] {
    stop = true;
    turns.abort();
    conn.client.shutdown(SHUT_RDWR);
    conn.server.shutdown(SHUT_RDWR);
  });

  // Server: reads frames one at a time, discards bulk frames, echoes requests on the same socket.
  w.spawn([&] {
    const int fd = conn.server.get();
    page_buffer sink(reader_buffer_size);
    std::vector<char> echo(4 + request_size);
    char header[4];
    while (recv_all_or_eof(fd, header, sizeof header)) {
      const std::uint32_t len = get_length(header);
      if (len == request_size) {
        recv_all(fd, echo.data() + 4, request_size);
        put_length(echo.data(), len);
        send_all(fd, echo.data(), echo.size());
      } else {
        discard(fd, len, sink);
      }
    }
  });

  // Client, bulk writer: whole bulk messages back to back until the request writer is done.
  w.spawn([&] {
    for (write_turns::ticket t = turns.take();;) {
      turns.wait(t);
      if (stop.load()) {
        turns.release();
        break;
      }
      bulk_started = true;
      send_all(conn.client.get(), bulk_frame.data(), bulk_frame.size());
      t = turns.release_and_take();
    }
    // Only this thread can still be writing: the request writer set `stop` after its last request.
    conn.client.shutdown(SHUT_WR);
  });

  // Client, request writer: one request at a time, the next one as soon as the echo is in.
  w.spawn([&] {
    std::vector<char> request(4 + request_size, 'r');
    put_length(request.data(), static_cast<std::uint32_t>(request_size));
    std::vector<char> echo(request.size());
    // Requests start once the bulk writer holds the connection, so every sample sees the load.
    while (!bulk_started.load() && !stop.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const auto deadline = clock_type::now() + max_latency_run_time;
    while (rtts.size() < samples && !stop.load() && clock_type::now() < deadline) {
      const auto t0 = clock_type::now();
      turns.wait(turns.take());
      send_all(conn.client.get(), request.data(), request.size());
      turns.release();
      recv_all(conn.client.get(), echo.data(), echo.size());
      rtts.push_back(micros(clock_type::now() - t0));
      if (get_length(echo.data()) != request_size)
        throw std::runtime_error("naive_framing_rtt_under_load: unexpected echo");
    }
    stop = true;
  });

  w.join();
  return percentiles(std::move(rtts));
}

latency zmq_rtt_under_load(std::uint64_t bulk_bytes, std::size_t request_size,
                           std::size_t samples) {
  if (bulk_bytes == request_size)
    throw std::invalid_argument("zmq_rtt_under_load: request_size must differ from bulk_bytes");
  if (samples == 0) return {};

  // Outlives the contexts: queued zero-copy bulk messages point into it until the sockets are gone.
  page_buffer bulk(static_cast<std::size_t>(bulk_bytes), 'b');
  const std::vector<char> request(request_size, 'r');

  zmq::context_t server_ctx(1);
  zmq::context_t client_ctx(1);
  zmq::socket_t server(server_ctx, zmq::socket_type::router);
  server.set(zmq::sockopt::rcvhwm, 4);  // at most a few bulk messages buffered by the receiver
  server.set(zmq::sockopt::linger, 0);
  const std::string endpoint = bind_ephemeral(server);
  zmq::socket_t client(client_ctx, zmq::socket_type::dealer);
  // The client queues at most one message beyond the one the I/O thread is writing (see below).
  client.set(zmq::sockopt::sndhwm, 1);
  client.set(zmq::sockopt::linger, 0);
  client.connect(endpoint);

  std::atomic<bool> stop{false};
  std::vector<double> rtts;
  rtts.reserve(samples);
  workers w([&] { stop = true; });

  // Server: echoes requests (same size as sent) to their sender, drops bulk messages.
  w.spawn([&] {
    zmq::message_t identity;
    zmq::message_t payload;
    zmq_pollitem_t item{server.handle(), 0, ZMQ_POLLIN, 0};
    while (!stop.load()) {
      zmq::poll(&item, 1, std::chrono::milliseconds{zmq_retry_ms});
      if (!(item.revents & ZMQ_POLLIN)) continue;
      while (server.recv(identity, zmq::recv_flags::dontwait)) {
        if (!identity.more() || !server.recv(payload, zmq::recv_flags::none) || payload.more())
          throw std::runtime_error("zmq_rtt_under_load: unexpected message on the server");
        if (payload.size() == request_size) {
          server.send(identity, zmq::send_flags::sndmore);
          server.send(payload, zmq::send_flags::none);
        }
      }
    }
  });

  // Client: one thread drives the one DEALER socket (ZeroMQ sockets are not thread-safe), polling
  // it for input and output.
  //  - Output: the first bulk message goes out before the first request is due, so that every
  //    request sees the load. Then, whenever the socket is writable, a due request is sent, or else
  //    the next bulk message. With SNDHWM 1 the socket is writable only when no message is waiting
  //    behind the one the I/O thread is writing, so bulk messages flow back to back with at most
  //    one queued. A request cannot overtake what is queued: it finds in front of it the rest of
  //    the message being written and, usually, one more whole bulk message.
  //  - Input: an echo completes the round trip; the next request is due at once.
  // A round trip runs from the moment the request is due (before waiting for the socket to accept
  // it) until its echo has been received.
  w.spawn([&] {
    bool request_due = false;
    bool bulk_started = false;
    auto due_since = clock_type::now();
    auto last_progress = due_since;
    const auto deadline = due_since + max_latency_run_time;
    zmq::message_t echo;
    zmq_pollitem_t item{client.handle(), 0, ZMQ_POLLIN | ZMQ_POLLOUT, 0};
    while (rtts.size() < samples && !stop.load()) {
      const auto now = clock_type::now();
      if (now >= deadline) break;
      if (now - last_progress > io_timeout)
        throw std::runtime_error("zmq_rtt_under_load: no progress (timeout)");
      zmq::poll(&item, 1, std::chrono::milliseconds{zmq_retry_ms});
      if (item.revents & ZMQ_POLLIN) {
        while (client.recv(echo, zmq::recv_flags::dontwait)) {
          if (!bulk_started || request_due || echo.size() != request_size)
            throw std::runtime_error("zmq_rtt_under_load: unexpected echo");
          const auto arrived = clock_type::now();
          rtts.push_back(micros(arrived - due_since));
          request_due = true;
          due_since = last_progress = arrived;
        }
      }
      if (rtts.size() >= samples) break;
      if (item.revents & ZMQ_POLLOUT) {
        if (request_due) {
          if (client.send(zmq::const_buffer(request.data(), request.size()),
                          zmq::send_flags::dontwait))
            request_due = false;
        } else if (client.send(zmq::message_t(bulk.data(), bulk.size(), no_free, nullptr),
                               zmq::send_flags::dontwait)) {
          last_progress = clock_type::now();
          if (!bulk_started) {
            bulk_started = request_due = true;
            due_since = last_progress;
          }
        }
      }
    }
    stop = true;
  });

  w.join();
  return percentiles(std::move(rtts));
}

latency raw_tcp_idle_rtt(std::size_t request_size, std::size_t samples) {
  if (request_size == 0)
    throw std::invalid_argument("raw_tcp_idle_rtt: request_size must be positive");
  if (samples == 0) return {};
  constexpr std::size_t warmup = 20;

  tcp_pair conn = make_tcp_pair(true);
  std::vector<double> rtts;
  rtts.reserve(samples);
  workers w([&] {
    conn.client.shutdown(SHUT_RDWR);
    conn.server.shutdown(SHUT_RDWR);
  });

  w.spawn([&] {
    std::vector<char> buffer(request_size);
    while (recv_all_or_eof(conn.server.get(), buffer.data(), buffer.size()))
      send_all(conn.server.get(), buffer.data(), buffer.size());
  });

  w.spawn([&] {
    const std::vector<char> request(request_size, 'r');
    std::vector<char> reply(request_size);
    for (std::size_t i = 0; i < warmup + samples; ++i) {
      const auto t0 = clock_type::now();
      send_all(conn.client.get(), request.data(), request.size());
      recv_all(conn.client.get(), reply.data(), reply.size());
      if (i >= warmup) rtts.push_back(micros(clock_type::now() - t0));
    }
    conn.client.shutdown(SHUT_WR);
  });

  w.join();
  return percentiles(std::move(rtts));
}

namespace {

/// Reads exactly `n` bytes, spinning on non-blocking reads instead of sleeping in the kernel (as
/// a busy-polling server does). False at EOF.
bool recv_all_spinning(int fd, char* p, std::size_t n) {
  while (n > 0) {
    const auto r = ::recv(fd, p, n, MSG_DONTWAIT);
    if (r > 0) {
      p += r;
      n -= static_cast<std::size_t>(r);
      continue;
    }
    if (r == 0) return false;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
  }
  return true;
}

}  // namespace

latency raw_tcp_busy_poll_rtt(std::size_t request_size, std::size_t samples) {
  if (request_size == 0)
    throw std::invalid_argument("raw_tcp_busy_poll_rtt: request_size must be positive");
  if (samples == 0) return {};
  constexpr std::size_t warmup = 20;

  tcp_pair conn = make_tcp_pair(true);
  std::vector<double> rtts;
  rtts.reserve(samples);
  workers w([&] {
    conn.client.shutdown(SHUT_RDWR);
    conn.server.shutdown(SHUT_RDWR);
  });

  w.spawn([&] {
    std::vector<char> buffer(request_size);
    while (recv_all_spinning(conn.server.get(), buffer.data(), buffer.size()))
      send_all(conn.server.get(), buffer.data(), buffer.size());
  });

  w.spawn([&] {
    const std::vector<char> request(request_size, 'r');
    std::vector<char> reply(request_size);
    for (std::size_t i = 0; i < warmup + samples; ++i) {
      const auto t0 = clock_type::now();
      send_all(conn.client.get(), request.data(), request.size());
      if (!recv_all_spinning(conn.client.get(), reply.data(), reply.size())) break;
      if (i >= warmup) rtts.push_back(micros(clock_type::now() - t0));
    }
    conn.client.shutdown(SHUT_WR);
  });

  w.join();
  return percentiles(std::move(rtts));
}

}  // namespace netcore::bench
