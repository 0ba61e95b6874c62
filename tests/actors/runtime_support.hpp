// What the runtime tests share: a runtime on a real actor system, TCP pairs through a listener,
// and an event sink that collects outcomes.
#pragma once

#include <netcore/actors/runtime.hpp>
#include <netcore/actors/scheduler_settings.hpp>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace netcore::actors::test {

using namespace std::chrono_literals;

inline std::size_t thread_count() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n;
}

inline protocol::byte_buffer pattern(std::size_t n, std::uint8_t seed) {
  protocol::byte_buffer b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7 + (i >> 12));
  return b;
}

/// Connections accepted by a listener, handed to the test thread.
struct accepted {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<connection> conns;

  accept_handler handler() {
    return [this](connection c) {
      std::lock_guard<std::mutex> guard{mtx};
      conns.push_back(std::move(c));
      cv.notify_all();
    };
  }
  bool wait(std::size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, timeout, [&] { return conns.size() >= n; });
  }
};

/// Outcomes and the end reported to an event sink.
struct events {
  explicit events(caf::actor_system& sys) : self(sys) {}
  event_sink handle() { return caf::actor_cast<event_sink>(self); }
  /// Waits for the outcome of `id`.
  std::optional<std::error_code> outcome(std::uint64_t id,
                                         std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto i = outcomes.find(id); i != outcomes.end()) return i->second;
      self->receive([&](outcome_atom, send_outcome& o) { outcomes[o.id] = o.error; },
                    [&](progress_atom, send_progress&) {},
                    [&](closed_atom, connection_closed& c) { closed = c; },
                    caf::after(100ms) >> [] {});
    }
    return std::nullopt;
  }
  caf::scoped_actor self;
  std::map<std::uint64_t, std::error_code> outcomes;
  std::optional<connection_closed> closed;
};

/// A runtime (configured by the test) on a quiet actor system with netcore's settings.
class runtime_fixture : public ::testing::Test {
 protected:
  explicit runtime_fixture(runtime_config config = {}) {
    apply(cfg_);
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    rt_ = std::make_unique<runtime>(*sys_, std::move(config));
  }
  ~runtime_fixture() override {
    rt_.reset();
    sys_.reset();
  }

  /// A client connection and the server side of it, over TCP on loopback.
  std::pair<connection, connection> tcp_pair(connection_config client = {},
                                             connection_config server = {}) {
    accepted acc;
    auto l = rt_->listen_tcp("127.0.0.1", 0, acc.handler(), server);
    EXPECT_TRUE(l) << l.error().message();
    auto c = rt_->connect_tcp("127.0.0.1", l->port(), client);
    EXPECT_TRUE(c) << c.error().message();
    EXPECT_TRUE(acc.wait(1));
    std::lock_guard<std::mutex> guard{acc.mtx};
    return {std::move(*c), std::move(acc.conns.front())};
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<runtime> rt_;
};

/// A raw TCP socket connected to 127.0.0.1:`port` (reads time out after 10 s), or -1: a peer
/// that speaks whatever the test writes. The caller closes it.
/// Connects the socket `fd` to 127.0.0.1:`port` (10 s receive timeout). Needs no new
/// descriptor, so it works with the descriptor limit at zero. Returns false on failure.
inline bool connect_loopback(int fd, std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return true;
}

/// A new TCP socket connected to 127.0.0.1:`port`, or -1. The caller closes it.
inline int raw_connect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (!connect_loopback(fd, port)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace netcore::actors::test
