#pragma once

// End-to-end scenarios shared by every transport: two connections on real threads, driven
// through the public connection API over a connected pair of byte_streams that a per-transport
// factory makes. Each transport's test file scales the scenarios to what its stream can carry.
//
// Bodies are a deterministic pattern seeded by the message's route, addressable at any offset,
// so a receiver verifies every byte (also of multi-GiB files, chunk by chunk) without keeping a
// copy. Every test gets its own spill directory, which must be empty once the actor system has
// shut down: no spill file may outlive its message.

#include <netcore/actors/connection.hpp>
#include <netcore/actors/messages.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/protocol/decoder.hpp>
#include <netcore/protocol/digest.hpp>
#include <netcore/protocol/encoder.hpp>
#include <netcore/transports/byte_stream.hpp>
#include <netcore/transports/pipe_stream.hpp>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#ifndef NETCORE_INTEGRATION_TMP
#error "NETCORE_INTEGRATION_TMP (a build-tree directory for spill files) must be defined"
#endif
#ifndef NETCORE_INTEGRATION_DATA
#error "NETCORE_INTEGRATION_DATA (a build-tree directory for test input files) must be defined"
#endif

namespace netcore::integration {

using actors::connection;
using actors::connection_config;
using actors::outgoing_message;
using actors::send_outcome;
using netcore::runtime_errc;
using protocol::errc;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;

// -- deterministic bodies ------------------------------------------------------------------------

/// The pattern seed of a route (FNV-1a).
inline std::uint64_t seed_of(const std::string& route) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : route) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

/// Word `w` of the pattern for `seed` (splitmix64 of the word index).
inline std::uint64_t pattern_word(std::uint64_t seed, std::uint64_t w) {
  std::uint64_t z = seed + (w + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Writes bytes [offset, offset + n) of the pattern for `seed` to `out`.
inline void fill_pattern(std::uint64_t seed, std::uint64_t offset, std::uint8_t* out,
                         std::size_t n) {
  while (n > 0) {
    const auto value = pattern_word(seed, offset / 8);
    const auto skip = static_cast<unsigned>(offset % 8);
    if (skip == 0 && n >= 8) {
      protocol::store_le(out, value, 8);
      out += 8;
      offset += 8;
      n -= 8;
      continue;
    }
    *out++ = static_cast<std::uint8_t>(value >> (8 * skip));
    ++offset;
    --n;
  }
}

/// The body of `size` bytes that a message to `route` carries.
inline protocol::byte_buffer pattern_body(const std::string& route, std::uint64_t size) {
  protocol::byte_buffer b(static_cast<std::size_t>(size));
  fill_pattern(seed_of(route), 0, b.data(), b.size());
  return b;
}

/// Compares `got` with the pattern for `seed` at `offset`; "" or a description of the first
/// differing byte.
inline std::string compare_pattern(std::uint64_t seed, std::uint64_t offset,
                                   const std::uint8_t* got, std::size_t n,
                                   protocol::byte_buffer& scratch) {
  scratch.resize(n);
  fill_pattern(seed, offset, scratch.data(), n);
  if (std::memcmp(scratch.data(), got, n) == 0) return {};
  std::size_t i = 0;
  while (scratch[i] == got[i]) ++i;
  return "first differing byte at offset " + std::to_string(offset + i);
}

/// "" when `body` is the `size`-byte pattern of `route` (in memory or in its file), else why not.
/// Files are streamed in chunks: a multi-GiB body is never loaded whole.
inline std::string check_body(const protocol::message_body& body, const std::string& route,
                              std::uint64_t size) {
  if (body.size() != size)
    return route + ": size " + std::to_string(body.size()) + ", expected " + std::to_string(size);
  const auto seed = seed_of(route);
  protocol::byte_buffer scratch;
  constexpr std::size_t step = 4 * MiB;
  if (!body.is_file()) {
    const auto& bytes = body.bytes();
    for (std::size_t off = 0; off < bytes.size(); off += step) {
      auto n = std::min<std::size_t>(step, bytes.size() - off);
      auto e = compare_pattern(seed, off, bytes.data() + off, n, scratch);
      if (!e.empty()) return route + ": " + e;
    }
    return {};
  }
  const int fd = ::open(body.path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return route + ": cannot open " + body.path();
  struct stat info {};
  std::string error;
  if (::fstat(fd, &info) != 0 || static_cast<std::uint64_t>(info.st_size) != size)
    error = route + ": file size " + std::to_string(info.st_size) + ", expected " +
            std::to_string(size);
  protocol::byte_buffer chunk(step);
  for (std::uint64_t off = 0; error.empty() && off < size;) {
    auto r = ::pread(fd, chunk.data(), chunk.size(), static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      error = route + ": short read at offset " + std::to_string(off);
      break;
    }
    auto e = compare_pattern(seed, off, chunk.data(), static_cast<std::size_t>(r), scratch);
    if (!e.empty()) error = route + ": " + e;
    off += static_cast<std::uint64_t>(r);
  }
  ::close(fd);
  return error;
}

/// Writes the `size`-byte pattern of `route` to a new file at `path`; false on failure.
inline bool write_pattern_file(const std::string& path, const std::string& route,
                               std::uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const auto seed = seed_of(route);
  protocol::byte_buffer chunk(4 * MiB);
  bool ok = true;
  for (std::uint64_t off = 0; ok && off < size;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - off));
    fill_pattern(seed, off, chunk.data(), n);
    std::size_t done = 0;
    while (ok && done < n) {
      auto w = ::write(fd, chunk.data() + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      ok = w > 0;
      if (ok) done += static_cast<std::size_t>(w);
    }
    off += n;
  }
  return ::close(fd) == 0 && ok;
}

// -- process and file-system probes --------------------------------------------------------------

/// The resident set size of this process, in bytes.
inline std::uint64_t resident_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  std::uint64_t total = 0;
  std::uint64_t resident = 0;
  statm >> total >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

/// Names of the entries in `dir` (without "." and "..").
inline std::vector<std::string> entries_of(const std::string& dir) {
  std::vector<std::string> out;
  if (auto* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string name{e->d_name};
      if (name != "." && name != "..") out.push_back(name);
    }
    ::closedir(d);
  }
  return out;
}

inline void make_directories(const std::string& path) {
  for (std::size_t pos = 1; pos != std::string::npos;) {
    pos = path.find('/', pos + 1);
    ::mkdir(path.substr(0, pos).c_str(), 0700);
  }
}

/// Watches a directory for file events (inotify): lets a test act while a receiver is in the
/// middle of storing a body, or once it has finished one, without polling.
class directory_watch {
 public:
  /// Watches `dir` for `mask` (IN_MODIFY: a file was written; IN_CLOSE_WRITE: one was completed).
  directory_watch(const std::string& dir, std::uint32_t mask)
      : fd_(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)), mask_(mask) {
    if (fd_ >= 0) ::inotify_add_watch(fd_, dir.c_str(), mask);
  }
  ~directory_watch() {
    if (fd_ >= 0) ::close(fd_);
  }
  directory_watch(const directory_watch&) = delete;
  directory_watch& operator=(const directory_watch&) = delete;

  /// Waits up to `timeout` until the event has been seen `times` times since construction.
  bool wait(std::size_t times, std::chrono::milliseconds timeout) {
    const auto deadline = clock_type::now() + timeout;
    while (seen_ < times) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (fd_ < 0 || left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      alignas(inotify_event) char buf[4096];
      auto n = ::read(fd_, buf, sizeof buf);
      for (ssize_t off = 0; off < n;) {
        auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        if (ev->mask & mask_) ++seen_;
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      }
    }
    return true;
  }

 private:
  int fd_;
  std::uint32_t mask_;
  std::size_t seen_ = 0;
};

// -- connection events ---------------------------------------------------------------------------

/// What a connection reported to its events actor: send outcomes and its end.
class event_log {
 public:
  explicit event_log(caf::actor_system& sys) : self_(sys) {}

  actors::event_sink handle() { return caf::actor_cast<actors::event_sink>(self_); }

  /// Takes events until `done()` holds or `timeout` passed; returns done().
  bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = clock_type::now() + timeout;
    while (!done()) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left.count() <= 0) return false;
      if (!take_one(left)) return done();
    }
    return true;
  }

  /// Takes one event, waiting up to `timeout`; false when none came.
  bool take_one(std::chrono::milliseconds timeout) {
    bool got = false;
    self_->receive(
        [&](actors::outcome_atom, send_outcome& o) {
          outcomes[o.id] = o.error;
          if (o.ok()) ++ok_count;
          got = true;
        },
        [&](actors::progress_atom, actors::send_progress&) { got = true; },
        [&](actors::closed_atom, actors::connection_closed& c) {
          if (!closed) closed = c.reason;
          got = true;
        },
        caf::after(timeout) >> [] {});
    return got;
  }

  /// Waits for outcomes of `n` messages in total.
  bool wait_outcomes(std::size_t n, std::chrono::milliseconds timeout) {
    return wait_until([&] { return outcomes.size() >= n; }, timeout);
  }

  std::map<std::uint64_t, std::error_code> outcomes;
  std::size_t ok_count = 0;
  std::optional<std::error_code> closed;

 private:
  caf::scoped_actor self_;
};

// -- transports and scale ------------------------------------------------------------------------

using stream_pair =
    std::pair<std::unique_ptr<transports::byte_stream>, std::unique_ptr<transports::byte_stream>>;
/// Makes a connected pair of byte streams (both null when the transport is unavailable).
using pair_factory = std::function<stream_pair()>;

/// How big each scenario is on one transport, and how its connections are tuned.
struct scale {
  // Concurrent messages: `message_count` bodies from 0 B up to `max_message`, geometric.
  std::size_t message_count = 50;
  std::uint64_t max_message = 64 * MiB;
  /// Bodies above this size arrive as files.
  std::uint64_t memory_threshold = 1 * MiB;
  /// On lossy streams (serial), carry the frames over the reliable link (both ends).
  bool reliable_link = true;
  // One huge file-backed message. ThreadSanitizer makes the byte path 10-40x slower (each copy
  // and checksum is instrumented): a quarter GiB still crosses every chunk, credit and spill
  // boundary the full size does.
#if defined(__SANITIZE_THREAD__)
  std::uint64_t huge_message = 256 * MiB;
#else
  std::uint64_t huge_message = 1 * GiB;
#endif
  // Disconnect in the middle of a message of this size (large: the transfer must still be under
  // way when the abort lands, even on a loaded machine).
  std::uint64_t abort_message = 256 * MiB;
  // A receiver that stops reading: the sender tries `stall_total` bytes in messages of
  // `stall_message`; the receiver lets `stall_budget` bytes of deliveries and `stall_credit`
  // bytes of connection credit be outstanding; the sender queues at most `stall_queue` bytes.
  std::uint64_t stall_total = 200 * MiB;
  std::uint64_t stall_message = 256 * KiB;
  std::uint64_t stall_budget = 1 * MiB;
  std::uint64_t stall_credit = 1 * MiB;
  std::uint64_t stall_queue = 4 * MiB;
  /// Most bytes that may complete before the sender stalls, and the most RSS may grow.
  std::uint64_t stall_sent_max = 16 * MiB;
  std::uint64_t rss_slack = 32 * MiB;
  // Garbage written by a raw peer before valid frames.
  std::size_t garbage_bytes = 64 * KiB;
  // Connection tuning (0 = the transport's profile).
  std::size_t chunk_size = 0;
  std::size_t write_batch = 0;
  std::size_t read_size = 0;
  std::chrono::milliseconds keepalive{5'000};
  std::chrono::milliseconds peer_timeout{15'000};
  std::chrono::milliseconds idle_timeout{30'000};
  // Waiting.
  /// Bound of any single blocking wait for progress.
  std::chrono::milliseconds wait{120'000};
  /// A disconnect must be noticed (typed errors on both sides) within this.
  std::chrono::milliseconds prompt{3'000};
  /// No send outcome for this long means the sender is stalled.
  std::chrono::milliseconds quiet{500};
  /// Whole-test watchdog: the process aborts (with a message and every thread's stack) rather
  /// than hang. Below ctest's 300 s timeout, so that the watchdog is the one that reports.
  std::chrono::seconds test_budget{240};
};

/// `count` sizes from 0 up to `max`: 0, then geometric from 1 to `max`, shuffled (fixed seed) so
/// that small and large messages interleave.
inline std::vector<std::uint64_t> geometric_sizes(std::size_t count, std::uint64_t max,
                                                  std::uint64_t shuffle_seed) {
  std::vector<std::uint64_t> sizes{0};
  for (std::size_t i = 1; i < count; ++i) {
    double exponent = count > 2 ? static_cast<double>(i - 1) / static_cast<double>(count - 2) : 1;
    auto s = static_cast<std::uint64_t>(std::pow(static_cast<double>(max), exponent) + 0.5);
    sizes.push_back(std::clamp<std::uint64_t>(s, 1, max));
  }
  std::mt19937_64 rng{shuffle_seed};
  std::shuffle(sizes.begin(), sizes.end(), rng);
  return sizes;
}

/// Route of message `index` of `size` bytes sent by `side` in scenario `tag`.
inline std::string route_of(const std::string& tag, const std::string& side, std::size_t index,
                            std::uint64_t size) {
  return tag + "/" + side + "/" + std::to_string(index) + "/" + std::to_string(size);
}

/// The size encoded in a route made by route_of (or -1).
inline std::int64_t size_in_route(const std::string& route) {
  auto slash = route.rfind('/');
  if (slash == std::string::npos) return -1;
  try {
    return static_cast<std::int64_t>(std::stoull(route.substr(slash + 1)));
  } catch (...) {
    return -1;
  }
}

/// Collects messages and failures handed to a delivery actor (acknowledging each delivery at
/// once), for tests that want to see typed failures of incoming messages.
class delivery_log {
 public:
  explicit delivery_log(caf::actor_system& sys) : sink_(sys) {
    forwarder_ =
        sys.spawn([sink = caf::actor_cast<caf::actor>(sink_)](
                      actors::delivery_sink::pointer) -> actors::delivery_sink::behavior_type {
          return {
              [sink](actors::deliver_atom a, actors::delivery& d) {
                caf::anon_send(sink, a, std::move(d));
                return caf::ok_atom::value;
              },
          };
        });
  }
  ~delivery_log() {
    caf::anon_send_exit(forwarder_, caf::exit_reason::user_shutdown);
    for (auto& m : messages) m.body.remove_file();  // taken by the test: the test's files
  }
  delivery_log(const delivery_log&) = delete;
  delivery_log& operator=(const delivery_log&) = delete;

  /// The sink to attach to a connection.
  const actors::delivery_sink& actor() const { return forwarder_; }

  /// Takes deliveries until `done()` holds or `timeout` passed; returns done().
  bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = clock_type::now() + timeout;
    while (!done()) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left.count() <= 0) return false;
      sink_->receive(
          [&](actors::deliver_atom, actors::delivery& d) {
            for (auto& m : d.messages) messages.push_back(std::move(m));
            for (auto& f : d.failures) failures.push_back(f);
          },
          caf::after(left) >> [] {});
    }
    return true;
  }

  std::vector<protocol::incoming_message> messages;
  std::vector<actors::incoming_failure> failures;

 private:
  caf::scoped_actor sink_;
  actors::delivery_sink forwarder_;
};

/// A pipe_stream over the connected socket `fd` (which it owns), through user functions that
/// move at most `max_send` bytes per send and `max_recv` bytes per receive; close() shuts the
/// socket down, which wakes a blocked send or receive.
inline std::unique_ptr<transports::byte_stream> socket_pipe_stream(int fd, std::size_t max_send,
                                                                   std::size_t max_recv) {
  struct owned_fd {
    explicit owned_fd(int f) : fd(f) {}
    ~owned_fd() { ::close(fd); }
    owned_fd(const owned_fd&) = delete;
    owned_fd& operator=(const owned_fd&) = delete;
    int fd;
  };
  auto sock = std::make_shared<owned_fd>(fd);
  transports::pipe_functions fns;
  fns.send = [sock, max_send](const std::uint8_t* data, std::size_t size) -> long {
    for (;;) {
      auto n = ::send(sock->fd, data, std::min(size, max_send), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      return static_cast<long>(n);
    }
  };
  fns.recv = [sock, max_recv](std::uint8_t* buf, std::size_t max) -> long {
    for (;;) {
      auto n = ::recv(sock->fd, buf, std::min(max, max_recv), 0);
      if (n < 0 && errno == EINTR) continue;
      return static_cast<long>(n);
    }
  };
  fns.close = [sock] { ::shutdown(sock->fd, SHUT_RDWR); };
  auto stream = transports::make_pipe_stream(std::move(fns));
  return stream ? std::move(*stream) : nullptr;
}

// -- a raw peer ----------------------------------------------------------------------------------

/// The far end of a stream driven by hand: writes raw bytes and decodes whatever the connection
/// on the other side sends (on a thread of its own, so the connection never blocks on it).
class raw_peer {
 public:
  explicit raw_peer(std::unique_ptr<transports::byte_stream> stream)
      : stream_(std::move(stream)), reader_([this] { read_loop(); }) {}
  ~raw_peer() {
    stream_->close();
    reader_.join();
  }
  raw_peer(const raw_peer&) = delete;
  raw_peer& operator=(const raw_peer&) = delete;

  std::error_code write(const protocol::byte_buffer& bytes) {
    transports::io_slice s{bytes.data(), bytes.size()};
    return stream_->write(&s, 1);
  }

  /// Waits up to `timeout` for a single-frame message to `route`; its body, or nothing.
  std::optional<protocol::byte_buffer> wait_single(const std::string& route,
                                                   std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, timeout, [&] { return singles_.count(route) > 0; });
    auto i = singles_.find(route);
    if (i == singles_.end()) return std::nullopt;
    return i->second;
  }

  std::uint64_t frames_seen() const { return frames_.load(); }

 private:
  void read_loop() {
    protocol::decoder dec;
    protocol::byte_buffer buf(64 * KiB);
    for (;;) {
      auto n = stream_->read(buf.data(), buf.size());
      if (!n) return;
      protocol::byte_view in{buf.data(), *n};
      for (;;) {
        auto r = dec.next(in);
        if (r.status == protocol::decode_status::need_more) break;
        if (r.status != protocol::decode_status::frame) continue;
        ++frames_;
        const auto& h = r.frame.header;
        if (h.type != protocol::frame_type::open || !(h.flags & protocol::flags::single)) continue;
        protocol::message_meta meta;
        std::size_t used = 0;
        if (protocol::decode_meta(r.frame.payload, {}, meta, used) != errc::ok) continue;
        auto body = r.frame.payload.sub(used);
        if (body.size() < protocol::digest_size) continue;
        body = body.sub(0, body.size() - protocol::digest_size);
        std::lock_guard<std::mutex> guard{mtx_};
        singles_[meta.route] = protocol::byte_buffer{body.begin(), body.end()};
        cv_.notify_all();
      }
    }
  }

  std::unique_ptr<transports::byte_stream> stream_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<std::string, protocol::byte_buffer> singles_;
  std::atomic<std::uint64_t> frames_{0};
  std::thread reader_;
};

// -- the fixture ---------------------------------------------------------------------------------

/// Per test: an actor system with two scheduler threads, a fresh spill directory, a watchdog,
/// and cleanups that run once the actor system has shut down.
class scenario_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    test_name_ = std::string{info->test_suite_name()} + "." + info->name();
    spill_ = std::string{NETCORE_INTEGRATION_TMP} + "/" + test_name_;
    data_ = NETCORE_INTEGRATION_DATA;
    make_directories(spill_);
    make_directories(data_);
    for (auto& name : entries_of(spill_)) ::unlink((spill_ + "/" + name).c_str());
    cfg_.set("scheduler.max-threads", 2);
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    rt_ = std::make_unique<actors::runtime>(*sys_);
    arm_watchdog(std::chrono::seconds{240});
  }

  void TearDown() override {
    // Every connection of the test is gone; the runtime waits for all their actors, so whatever
    // they had to clean up is cleaned up now.
    rt_.reset();
    sys_.reset();
    for (auto& c : cleanups_) c();
    cleanups_.clear();
    auto left = entries_of(spill_);
    std::string names;
    for (auto& n : left) names += " " + n;
    EXPECT_TRUE(left.empty()) << left.size() << " spill file(s) left behind:" << names;
    for (auto& name : left) ::unlink((spill_ + "/" + name).c_str());
    ::rmdir(spill_.c_str());
    disarm_watchdog();
  }

  /// Aborts the process if the test is still running after `budget`: a hang must fail loudly.
  void arm_watchdog(std::chrono::seconds budget) {
    disarm_watchdog();
    watchdog_stop_ = false;
    watchdog_ = std::thread{[this, budget, name = test_name_] {
      std::unique_lock<std::mutex> guard{watchdog_mtx_};
      if (!watchdog_cv_.wait_for(guard, budget, [this] { return watchdog_stop_; })) {
        std::fprintf(stderr, "\n%s: still running after %lld s, aborting (hang)\n", name.c_str(),
                     static_cast<long long>(budget.count()));
        dump_thread_stacks();
        std::abort();
      }
    }};
  }

  /// Prints every thread's stack to stderr with gdb, when the machine has it: what a hang
  /// reports, so that one seen once (in CI) can be understood.
  static void dump_thread_stacks() {
    if (::access("/usr/bin/gdb", X_OK) != 0) return;
    ::prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
    const std::string cmd = "/usr/bin/gdb -p " + std::to_string(::getpid()) +
                            " -batch -nx -ex 'thread apply all bt' </dev/null 1>&2 2>/dev/null";
    std::fflush(stderr);
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "(gdb could not attach)\n");
  }

  void disarm_watchdog() {
    if (!watchdog_.joinable()) return;
    {
      std::lock_guard<std::mutex> guard{watchdog_mtx_};
      watchdog_stop_ = true;
    }
    watchdog_cv_.notify_all();
    watchdog_.join();
  }

  caf::actor_system& sys() { return *sys_; }
  actors::runtime& rt() { return *rt_; }

  /// A connection over `stream` whose outcomes and end go to `events`.
  connection open(std::unique_ptr<transports::byte_stream> stream, const connection_config& cfg,
                  event_log* events = nullptr) {
    auto c = rt().adopt(std::move(stream), cfg);
    if (events) c.subscribe(events->handle());
    return c;
  }

  /// Runs `f` after the actor system has shut down (also when the test failed).
  void at_teardown(std::function<void()> f) { cleanups_.push_back(std::move(f)); }

  /// A connection configuration for `s`, spilling into this test's directory.
  connection_config config(const scale& s) const {
    connection_config c;
    c.storage.spill_directory = spill_;
    c.storage.memory_threshold = s.memory_threshold;
    c.chunk_size = s.chunk_size;
    c.write_batch = s.write_batch;
    c.read_size = s.read_size;
    c.keepalive_interval = s.keepalive;
    c.peer_timeout = s.peer_timeout;
    c.limits.idle_timeout = s.idle_timeout;
    c.link.enabled = s.reliable_link;
    return c;
  }

  static double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
  }

  // -- scenario (a): many concurrent messages in both directions ---------------------------------

  void concurrent_both_directions(const pair_factory& make, const scale& s) {
    arm_watchdog(s.test_budget);
    auto [sa, sb] = make();
    ASSERT_TRUE(sa && sb) << "cannot make a stream pair";
    event_log ev_a{sys()};
    event_log ev_b{sys()};
    connection a = open(std::move(sa), config(s), &ev_a);
    connection b = open(std::move(sb), config(s), &ev_b);
    const auto sizes = geometric_sizes(s.message_count, s.max_message, 42);
    std::uint64_t total = 0;
    std::size_t expected_files = 0;
    for (auto n : sizes) {
      total += n;
      if (n > s.memory_threshold) ++expected_files;
    }

    struct side_result {
      std::vector<std::string> errors;
      std::size_t received = 0;
      std::size_t files = 0;
    };
    side_result sent_a, sent_b, got_a, got_b;

    auto sender = [&](connection& c, const std::string& side, side_result& r) {
      for (std::size_t i = 0; i < sizes.size(); ++i) {
        auto route = route_of("concurrent", side, i, sizes[i]);
        auto id = c.send(outgoing_message::from_bytes(route, pattern_body(route, sizes[i])));
        if (!id) r.errors.push_back("send " + route + ": " + id.error().message());
      }
    };
    auto receiver = [&](connection& c, const std::string& from, side_result& r) {
      std::set<std::string> seen;
      while (r.received < sizes.size()) {
        auto m = c.receive(s.wait);
        if (!m) {
          r.errors.push_back("receive: " + m.error().reason.message() + " after " +
                             std::to_string(r.received) + " messages");
          return;
        }
        ++r.received;
        const auto& route = m->meta.route;
        auto size = size_in_route(route);
        if (route.rfind("concurrent/" + from + "/", 0) != 0 || size < 0) {
          r.errors.push_back("unexpected route " + route);
        } else {
          if (!seen.insert(route).second) r.errors.push_back("duplicate " + route);
          auto e = check_body(m->body, route, static_cast<std::uint64_t>(size));
          if (!e.empty()) r.errors.push_back(e);
          if (m->body.is_file() != (static_cast<std::uint64_t>(size) > s.memory_threshold))
            r.errors.push_back(route + (m->body.is_file() ? " came as a file" : " came in memory"));
        }
        if (m->body.is_file()) ++r.files;
        m->body.remove_file();
      }
    };

    const auto t0 = clock_type::now();
    std::thread ta{sender, std::ref(a), "A", std::ref(sent_a)};
    std::thread tb{sender, std::ref(b), "B", std::ref(sent_b)};
    std::thread ra{receiver, std::ref(a), "B", std::ref(got_a)};
    std::thread rb{receiver, std::ref(b), "A", std::ref(got_b)};
    ta.join();
    tb.join();
    ra.join();
    rb.join();
    const auto elapsed = seconds_since(t0);

    for (auto* r : {&sent_a, &sent_b, &got_a, &got_b})
      for (auto& e : r->errors) ADD_FAILURE() << e;
    EXPECT_EQ(got_a.received, sizes.size());
    EXPECT_EQ(got_b.received, sizes.size());
    EXPECT_EQ(got_a.files, expected_files);
    EXPECT_EQ(got_b.files, expected_files);
    ASSERT_TRUE(ev_a.wait_outcomes(sizes.size(), s.wait));
    ASSERT_TRUE(ev_b.wait_outcomes(sizes.size(), s.wait));
    EXPECT_EQ(ev_a.ok_count, sizes.size());
    EXPECT_EQ(ev_b.ok_count, sizes.size());
    EXPECT_FALSE(ev_a.closed.has_value());
    EXPECT_FALSE(ev_b.closed.has_value());
    std::printf("[ info ] %zu messages each way, %.1f MiB each way, largest %.1f MiB, %zu files "
                "each way: %.2f s (%.1f MiB/s both ways)\n",
                sizes.size(), static_cast<double>(total) / MiB,
                static_cast<double>(s.max_message) / MiB, expected_files, elapsed,
                2.0 * static_cast<double>(total) / MiB / elapsed);
  }

  // -- scenario (b): one huge message streamed from a file into a file ----------------------------

  void huge_file_message(const pair_factory& make, const scale& s) {
    arm_watchdog(s.test_budget);
    const std::string route = "huge/" + std::to_string(s.huge_message);
    const std::string source = data_ + "/" + test_name_ + ".src";
    at_teardown([source] { ::unlink(source.c_str()); });
    auto t0 = clock_type::now();
    ASSERT_TRUE(write_pattern_file(source, route, s.huge_message)) << "cannot write " << source;
    const auto write_s = seconds_since(t0);

    auto [sa, sb] = make();
    ASSERT_TRUE(sa && sb) << "cannot make a stream pair";
    event_log ev_a{sys()};
    connection a = open(std::move(sa), config(s), &ev_a);
    connection b = open(std::move(sb), config(s));
    t0 = clock_type::now();
    auto id = a.send(outgoing_message::from_file(route, source));
    ASSERT_TRUE(id) << id.error().message();
    auto m = b.receive(s.wait);
    ASSERT_TRUE(m) << m.error().reason.message();
    const auto transfer_s = seconds_since(t0);
    std::string received_path = m->body.path();
    at_teardown([received_path] {
      if (!received_path.empty()) ::unlink(received_path.c_str());
    });
    EXPECT_EQ(m->meta.route, route);
    EXPECT_TRUE(m->body.is_file());
    t0 = clock_type::now();
    EXPECT_EQ(check_body(m->body, route, s.huge_message), "");
    const auto verify_s = seconds_since(t0);
    m->body.remove_file();
    EXPECT_EQ(::access(received_path.c_str(), F_OK), -1) << "remove_file() left " << received_path;
    ASSERT_TRUE(ev_a.wait_outcomes(1, s.wait));
    EXPECT_FALSE(ev_a.outcomes[*id]) << ev_a.outcomes[*id].message();
    ::unlink(source.c_str());
    std::printf("[ info ] %.0f MiB: write source %.2f s, transfer %.2f s (%.0f MiB/s), verify "
                "%.2f s\n",
                static_cast<double>(s.huge_message) / MiB, write_s, transfer_s,
                static_cast<double>(s.huge_message) / MiB / transfer_s, verify_s);
  }

  // -- scenario (c): a peer disconnects in the middle of a message --------------------------------

  enum class aborting { sender, receiver };

  void disconnect_mid_message(const pair_factory& make, const scale& s, aborting who) {
    arm_watchdog(s.test_budget);
    auto [sa, sb] = make();
    ASSERT_TRUE(sa && sb) << "cannot make a stream pair";
    event_log ev_a{sys()};
    event_log ev_b{sys()};
    auto a = std::make_unique<connection>(open(std::move(sa), config(s), &ev_a));
    auto b = std::make_unique<connection>(open(std::move(sb), config(s), &ev_b));
    ASSERT_GT(s.abort_message, s.memory_threshold) << "the message must spill to be watched";
    directory_watch watch{spill_, IN_MODIFY};
    const std::string route = "abort/" + std::to_string(s.abort_message);
    auto big = a->send(outgoing_message::from_bytes(route, pattern_body(route, s.abort_message)));
    ASSERT_TRUE(big);
    // The receiver is storing the body: a few writes into its spill file.
    ASSERT_TRUE(watch.wait(3, s.wait)) << "the transfer did not start";

    const auto t0 = clock_type::now();
    auto& survivor_events = who == aborting::sender ? ev_b : ev_a;
    auto& aborter_events = who == aborting::sender ? ev_a : ev_b;
    auto& aborter = who == aborting::sender ? a : b;
    auto& survivor = who == aborting::sender ? b : a;
    aborter->abort();
    aborter.reset();  // a process that goes away closes its end of the stream, too

    // The survivor learns of the end: its connection closes with a typed error.
    EXPECT_TRUE(
        survivor_events.wait_until([&] { return survivor_events.closed.has_value(); }, s.prompt))
        << "the surviving side was not told the connection ended";
    const auto closed_s = seconds_since(t0);
    if (survivor_events.closed) {
      EXPECT_TRUE(*survivor_events.closed) << "a disconnect reported as a clean close";
    }
    // The sender's message failed with a typed error (never reported sent in full).
    EXPECT_TRUE(ev_a.wait_until([&] { return ev_a.outcomes.count(*big) > 0; }, s.prompt))
        << "no outcome for the interrupted message";
    const auto outcome_s = seconds_since(t0);
    if (ev_a.outcomes.count(*big)) {
      EXPECT_TRUE(ev_a.outcomes[*big]) << "the interrupted message was reported sent";
    }
    // The aborted side reported its own end too.
    EXPECT_TRUE(
        aborter_events.wait_until([&] { return aborter_events.closed.has_value(); }, s.prompt));
    // The survivor's blocking calls fail promptly with typed errors, no hang.
    auto r = survivor->receive(s.prompt);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().reason);
    EXPECT_NE(r.error().reason, std::error_code{runtime_errc::timed_out}) << "receive() hung";
    auto late = survivor->send(outgoing_message::from_bytes("late", pattern_body("late", 10)));
    EXPECT_FALSE(late) << "a send after the end was accepted";
    const auto total_s = seconds_since(t0);
    EXPECT_LT(total_s, 2.0 * std::chrono::duration<double>(s.prompt).count());
    survivor.reset();
    std::printf("[ info ] %s aborted: survivor closed after %.3f s (%s), outcome %s after %.3f "
                "s\n",
                who == aborting::sender ? "sender" : "receiver", closed_s,
                survivor_events.closed ? survivor_events.closed->message().c_str() : "-",
                ev_a.outcomes.count(*big) ? ev_a.outcomes[*big].message().c_str() : "-", outcome_s);
  }

  // -- scenario (d): a receiver that stops reading
  // --------------------------------------------------

  void stalled_receiver(const pair_factory& make, const scale& s) {
    arm_watchdog(s.test_budget);
    auto [sa, sb] = make();
    ASSERT_TRUE(sa && sb) << "cannot make a stream pair";
    auto cfg_a = config(s);
    cfg_a.send_queue_limit = static_cast<std::size_t>(s.stall_queue);
    auto cfg_b = config(s);
    cfg_b.delivery_budget = s.stall_budget;
    cfg_b.initial_connection_credit = s.stall_credit;
    cfg_b.initial_message_credit = std::max<std::uint64_t>(s.stall_credit / 4, 16 * KiB);
    event_log ev_a{sys()};
    connection a = open(std::move(sa), cfg_a, &ev_a);
    connection b = open(std::move(sb), cfg_b);
    const auto count = static_cast<std::size_t>(s.stall_total / s.stall_message);

    // Warm up: one round trip, so the baseline includes the connection's steady-state buffers.
    ASSERT_TRUE(a.send(outgoing_message::from_bytes("warmup", pattern_body("warmup", 1000))));
    {
      auto m = b.receive(s.wait);
      ASSERT_TRUE(m);
      ASSERT_TRUE(ev_a.wait_outcomes(1, s.wait));
    }
    const auto rss_before = resident_bytes();

    std::atomic<std::size_t> returned{0};
    std::atomic<bool> send_failed{false};
    std::thread sender{[&] {
      for (std::size_t i = 0; i < count; ++i) {
        auto route = route_of("stall", "A", i, s.stall_message);
        if (!a.send(outgoing_message::from_bytes(route, pattern_body(route, s.stall_message))))
          send_failed = true;
        ++returned;
      }
    }};

    // Outcomes come while credit lasts, then stop: wait for `quiet` without one.
    const auto t0 = clock_type::now();
    bool stalled = false;
    while (!stalled && clock_type::now() - t0 < s.wait && ev_a.outcomes.size() < count + 1)
      stalled = !ev_a.take_one(s.quiet);
    const auto stall_s = seconds_since(t0);
    const auto ok_at_stall = ev_a.ok_count - 1;  // without the warm-up
    const auto returned_at_stall = returned.load();
    const auto rss_stalled = resident_bytes();
    // And it stays stalled: nothing completes over a longer window, memory does not move.
    const bool more = ev_a.wait_until([&] { return ev_a.ok_count - 1 > ok_at_stall; }, 4 * s.quiet);
    const auto rss_later = resident_bytes();
    const auto returned_later = returned.load();

    EXPECT_TRUE(stalled) << "outcomes never stopped: the receiver does not throttle the sender";
    EXPECT_FALSE(more) << "outcomes resumed while nobody read";
    EXPECT_LT(ok_at_stall, count);
    EXPECT_LE(ok_at_stall * s.stall_message, s.stall_sent_max)
        << "too much completed before the sender stalled";
    EXPECT_EQ(returned_later, returned_at_stall) << "send() kept returning while stalled";
    EXPECT_LT(returned_at_stall, count) << "send() never blocked";
    const auto grew = rss_stalled > rss_before ? rss_stalled - rss_before : 0;
    const auto grew_later = rss_later > rss_stalled ? rss_later - rss_stalled : 0;
    // AddressSanitizer keeps freed memory in its quarantine (resident) and pads every
    // allocation, ThreadSanitizer adds shadow memory for every byte touched: the bound holds for
    // netcore's memory, not for those allocators'.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    const std::uint64_t slack = 3 * s.rss_slack;
#else
    const std::uint64_t slack = s.rss_slack;
#endif
    EXPECT_LT(grew, slack) << "RSS grew with the bytes offered while stalled";
    EXPECT_LT(grew_later, slack / 4) << "RSS kept growing while stalled";

    // Unblock: read everything; every message arrives intact, every send completes.
    std::size_t received = 0;
    std::vector<std::string> errors;
    const auto t1 = clock_type::now();
    for (std::size_t i = 0; i < count; ++i) {
      auto m = b.receive(std::min<std::chrono::milliseconds>(s.wait, 30s));
      if (!m) {
        errors.push_back("receive: " + m.error().reason.message() + " after " +
                         std::to_string(received) + " of " + std::to_string(count) +
                         " messages: the connection does not resume once the reader reads");
        break;
      }
      ++received;
      auto size = size_in_route(m->meta.route);
      auto e = check_body(m->body, m->meta.route, static_cast<std::uint64_t>(size));
      if (!e.empty()) errors.push_back(e);
      m->body.remove_file();
    }
    if (received < count) a.abort();  // unblocks the sender so the test can end
    sender.join();
    const auto drain_s = seconds_since(t1);
    for (auto& e : errors) ADD_FAILURE() << e;
    ASSERT_EQ(received, count);
    EXPECT_FALSE(send_failed.load());
    EXPECT_TRUE(ev_a.wait_outcomes(count + 1, s.wait));
    EXPECT_EQ(ev_a.ok_count, count + 1);
    std::printf("[ info ] offered %zu x %.0f KiB = %.1f MiB; stalled after %.2f s with %zu "
                "completed (%.1f MiB), %zu send() calls returned; RSS %+.1f MiB at stall, "
                "%+.1f MiB later; drained in %.2f s\n",
                count, static_cast<double>(s.stall_message) / KiB,
                static_cast<double>(s.stall_total) / MiB, stall_s, ok_at_stall,
                static_cast<double>(ok_at_stall * s.stall_message) / MiB, returned_at_stall,
                (static_cast<double>(rss_stalled) - static_cast<double>(rss_before)) / MiB,
                (static_cast<double>(rss_later) - static_cast<double>(rss_stalled)) / MiB, drain_s);
  }

  // -- scenario (e): a peer that sends garbage
  // -----------------------------------------------------

  /// `make` gives {the stream a connection serves, the raw other end}.
  void garbage_then_valid_frames(const pair_factory& make, const scale& s) {
    arm_watchdog(s.test_budget);
    auto [served, raw_end] = make();
    ASSERT_TRUE(served && raw_end) << "cannot make a stream pair";
    event_log ev{sys()};
    connection c = open(std::move(served), config(s), &ev);
    raw_peer peer{std::move(raw_end)};

    std::mt19937_64 rng{7};
    auto random_bytes = [&](std::size_t n) {
      protocol::byte_buffer b(n);
      for (auto& x : b) x = static_cast<std::uint8_t>(rng());
      return b;
    };
    auto append = [](protocol::byte_buffer& out, const protocol::byte_buffer& more) {
      out.insert(out.end(), more.begin(), more.end());
    };
    auto frames = [](const std::function<void(protocol::encoder&)>& f) {
      protocol::encoder enc;
      f(enc);
      protocol::byte_buffer out;
      enc.flatten_into(out);
      return out;
    };
    auto meta_for = [](const std::string& route) {
      protocol::message_meta m;
      m.route = route;
      return m;
    };

    const std::string r1 = route_of("valid", "raw", 1, 1000);
    const std::string r2 = route_of("corrupt", "raw", 2, 800);
    const std::uint64_t multi_size =
        std::max<std::uint64_t>(3 * s.memory_threshold / 2, 100 * KiB);  // spills
    const std::string r3 = route_of("valid", "raw", 3, multi_size);
    const std::string r4 = route_of("valid", "raw", 4, 5000);
    const auto b1 = pattern_body(r1, 1000);
    const auto b2 = pattern_body(r2, 800);
    const auto b3 = pattern_body(r3, multi_size);
    const auto b4 = pattern_body(r4, 5000);

    protocol::byte_buffer wire;
    // A peer says HELLO before any message frame (docs/PROTOCOL.md); noise may come before it.
    append(wire, random_bytes(s.garbage_bytes / 8));
    append(wire, frames([](auto& e) { e.hello(protocol::settings{}); }));
    // Plain noise.
    append(wire, random_bytes(s.garbage_bytes));
    // Noise full of frame magic, and a frame header cut short just before a valid frame.
    for (int i = 0; i < 200; ++i) {
      wire.push_back(protocol::magic0);
      wire.push_back(protocol::magic1);
      append(wire, random_bytes(static_cast<std::size_t>(rng() % 40)));
    }
    auto truncated = frames([&](auto& e) { e.open_single(99, meta_for("cut"), b1); });
    wire.insert(wire.end(), truncated.begin(), truncated.begin() + 20);
    append(wire, frames([&](auto& e) { e.open_single(1, meta_for(r1), b1); }));
    // More noise, then a frame whose payload is damaged (that message only must fail).
    append(wire, random_bytes(4 * KiB));
    auto damaged = frames([&](auto& e) { e.open_single(2, meta_for(r2), b2); });
    damaged[protocol::header_size + 100] ^= 0x5a;
    append(wire, damaged);
    // A multi-frame message with its digest.
    append(wire, frames([&](auto& e) {
             e.open(3, meta_for(r3), multi_size);
             const std::size_t chunk = 16 * KiB;
             for (std::size_t off = 0; off < b3.size(); off += chunk)
               e.data(3, off, protocol::byte_view{b3}.sub(off, chunk));
             e.end(3, multi_size, protocol::xxh3_64(b3));
           }));
    append(wire, random_bytes(s.garbage_bytes / 4));
    append(wire, frames([&](auto& e) { e.open_single(4, meta_for(r4), b4); }));
    ASSERT_FALSE(peer.write(wire));

    std::map<std::string, std::string> got;  // route -> "" or what was wrong
    std::vector<actors::receive_error> failed;
    // Three messages and one failure: the damaged one is reported, never silently lost.
    while (got.size() + failed.size() < 4) {
      auto m = c.receive(s.wait);
      if (!m) {
        ASSERT_NE(m.error().id, 0u)
            << m.error().reason.message() << " after " << got.size() << " messages";
        failed.push_back(m.error());
        continue;
      }
      auto size = size_in_route(m->meta.route);
      got[m->meta.route] = check_body(m->body, m->meta.route, static_cast<std::uint64_t>(size));
      EXPECT_EQ(m->body.is_file(), static_cast<std::uint64_t>(size) > s.memory_threshold);
      m->body.remove_file();
    }
    EXPECT_EQ(got.count(r1), 1u);
    EXPECT_EQ(got.count(r3), 1u);
    EXPECT_EQ(got.count(r4), 1u);
    for (auto& [route, error] : got) EXPECT_EQ(error, "") << route;
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].id, 2u);
    EXPECT_EQ(failed[0].reason, std::error_code{errc::payload_corrupt});
    // Nothing else arrives.
    auto extra = c.receive(std::chrono::milliseconds{300});
    EXPECT_FALSE(extra) << "unexpected message " << (extra ? extra->meta.route : "");
    if (!extra) {
      EXPECT_EQ(extra.error().reason, std::error_code{runtime_errc::timed_out});
    }

    // The connection is still up in both directions.
    const std::string reply = "reply/after/garbage";
    auto id = c.send(outgoing_message::from_bytes(reply, pattern_body(reply, 3000)));
    ASSERT_TRUE(id);
    auto body = peer.wait_single(reply, s.wait);
    ASSERT_TRUE(body) << "the reply never reached the raw peer";
    EXPECT_EQ(*body, pattern_body(reply, 3000));
    ASSERT_TRUE(ev.wait_outcomes(1, s.wait));
    EXPECT_FALSE(ev.outcomes[*id]);
    EXPECT_FALSE(ev.closed.has_value()) << ev.closed.value_or(std::error_code{}).message();
  }

  // -- scenario (f): a connection closed with messages nobody took ------------------------------

  /// Messages that arrived (some as files) but were never taken with receive() when the
  /// connection goes away must not leave spill files behind.
  void unread_messages_at_close(const pair_factory& make, const scale& s) {
    arm_watchdog(s.test_budget);
    auto [sa, sb] = make();
    ASSERT_TRUE(sa && sb) << "cannot make a stream pair";
    event_log ev_a{sys()};
    auto a = std::make_unique<connection>(open(std::move(sa), config(s), &ev_a));
    auto b = std::make_unique<connection>(open(std::move(sb), config(s)));
    directory_watch completed{spill_, IN_CLOSE_WRITE};
    const std::vector<std::uint64_t> sizes = {s.memory_threshold + 1, 100, s.memory_threshold * 2,
                                              5000, s.memory_threshold + 4096};
    std::size_t files = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      auto route = route_of("unread", "A", i, sizes[i]);
      ASSERT_TRUE(a->send(outgoing_message::from_bytes(route, pattern_body(route, sizes[i]))));
      if (sizes[i] > s.memory_threshold) ++files;
    }
    ASSERT_TRUE(ev_a.wait_outcomes(sizes.size(), s.wait));
    // Every spilled body is complete (its file closed and handed over): all sit in b's inbox.
    ASSERT_TRUE(completed.wait(files, s.wait));
    // Take one, leave the rest.
    auto m = b->receive(s.wait);
    ASSERT_TRUE(m) << m.error().reason.message();
    EXPECT_EQ(check_body(m->body, m->meta.route,
                         static_cast<std::uint64_t>(size_in_route(m->meta.route))),
              "");
    m->body.remove_file();
    b.reset();
    a.reset();
    // TearDown checks that the spill directory is empty.
  }

  std::string test_name_;
  std::string spill_;
  std::string data_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<actors::runtime> rt_;
  std::vector<std::function<void()>> cleanups_;
  std::thread watchdog_;
  std::mutex watchdog_mtx_;
  std::condition_variable watchdog_cv_;
  bool watchdog_stop_ = false;
};

}  // namespace netcore::integration
