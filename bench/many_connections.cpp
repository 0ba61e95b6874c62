#include "many_connections.hpp"

#include "baselines.hpp"

#include <netcore/actors/runtime.hpp>
#include <netcore/actors/scheduler_settings.hpp>

#include <caf/all.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace netcore::bench {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace netcore::actors;

scheduler_settings scheduler_from_env() {
  scheduler_settings sched;
  if (auto* v = std::getenv("NETCORE_BENCH_AGGRESSIVE_POLLS"))
    sched.aggressive_poll_attempts = std::strtoul(v, nullptr, 10);
  if (auto* v = std::getenv("NETCORE_BENCH_WORKERS")) sched.workers = std::strtoul(v, nullptr, 10);
  return sched;
}

void raise_descriptor_limit() {
  rlimit r{};
  ::getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &r);
}

double rss_mib() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

std::size_t threads() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n;
}

template <class T>
void put(int fd, const T& v) {
  if (::write(fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) std::_Exit(90);
}

template <class T>
T get(int fd) {
  T v{};
  std::size_t got = 0;
  auto* p = reinterpret_cast<char*>(&v);
  while (got < sizeof v) {
    auto r = ::read(fd, p + got, sizeof v - got);
    if (r <= 0) throw std::runtime_error("P7: a child process went away");
    got += static_cast<std::size_t>(r);
  }
  return v;
}

struct pipes {
  int to_child[2];
  int from_child[2];
  pipes() {
    if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) throw std::runtime_error("pipe");
  }
  void child_side() {
    ::close(to_child[1]);
    ::close(from_child[0]);
  }
  void parent_side() {
    ::close(to_child[0]);
    ::close(from_child[1]);
  }
};

struct server_report {
  double rss_mib;
  std::size_t threads;
  std::size_t accepted;
  double accept_seconds;
};

runtime_config loop_config() {
  runtime_config c;
  if (auto* v = std::getenv("NETCORE_BENCH_IO_SPIN"))
    c.io_spin_polls = std::strtoul(v, nullptr, 10);
  return c;
}

connection_config quiet_config() {
  connection_config c;
  c.spill_to_files = false;
  return c;
}

// -- the netcore server: echoes every request on the connection it came from ------------------

[[noreturn]] void netcore_server(pipes p) {
  p.child_side();
  raise_descriptor_limit();
  {
    caf::actor_system_config cfg;
    apply(cfg, scheduler_from_env());
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    runtime rt{sys, loop_config()};
    auto echo = sys.spawn([](delivery_sink::pointer self) -> delivery_sink::behavior_type {
      return {[self](deliver_atom, delivery& d) {
        auto conn = caf::actor_cast<connection_actor>(self->current_sender());
        for (auto& m : d.messages)
          self->send(conn, send_atom::value, std::uint64_t{0},
                     outgoing_message::from_bytes("r", m.body.take_bytes()));
        return caf::ok_atom::value;
      }};
    });
    std::mutex mtx;
    std::vector<connection> conns;
    clock_type::time_point first{}, last{};
    auto acc = rt.listen_tcp(
        "127.0.0.1", 0,
        [&](connection c) {
          c.attach(echo);
          std::lock_guard<std::mutex> guard{mtx};
          const auto now = clock_type::now();
          if (conns.empty()) first = now;
          last = now;
          conns.push_back(std::move(c));
        },
        quiet_config());
    if (!acc) std::_Exit(91);
    put(p.from_child[1], acc->port());
    put(p.from_child[1], server_report{rss_mib(), threads(), 0, 0});
    for (;;) {
      const char command = get<char>(p.to_child[0]);
      if (command == 'q') break;
      std::lock_guard<std::mutex> guard{mtx};
      put(p.from_child[1], server_report{rss_mib(), threads(), conns.size(),
                                         std::chrono::duration<double>(last - first).count()});
    }
    acc->close();
    std::lock_guard<std::mutex> guard{mtx};
    for (auto& c : conns) c.abort();
    conns.clear();
    caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  }
  std::_Exit(0);
}

// -- the netcore client: N connections, one request per connection per second ----------------

struct client_report {
  double connect_seconds;
  double p50_us;
  double p99_us;
  std::size_t samples;
  std::size_t failures;
};

struct latency_state {
  std::vector<double> rtts;
  std::size_t failures = 0;
};

using get_latencies_atom = caf::atom_constant<caf::atom("latencies")>;

[[noreturn]] void netcore_client(pipes p, std::uint16_t port, std::size_t n,
                                 std::chrono::seconds load) {
  p.child_side();
  raise_descriptor_limit();
  {
    caf::actor_system_config cfg;
    apply(cfg, scheduler_from_env());
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    runtime rt{sys, loop_config()};
    // One actor takes every reply: the body carries the send time.
    auto driver = sys.spawn([](caf::stateful_actor<latency_state>* self) -> caf::behavior {
      return {
          [self](deliver_atom, delivery& d) {
            const auto now = clock_type::now().time_since_epoch().count();
            for (auto& m : d.messages) {
              std::int64_t sent = 0;
              std::memcpy(&sent, m.body.bytes().data(), sizeof sent);
              self->state.rtts.push_back(static_cast<double>(now - sent) / 1000.0);
            }
            self->state.failures += d.failures.size();
            return caf::ok_atom::value;
          },
          [self](get_latencies_atom) { return self->state.rtts; },
      };
    });
    std::vector<connection> conns;
    conns.reserve(n);
    const auto t0 = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) {
      auto c = rt.connect_tcp("127.0.0.1", port, quiet_config());
      if (!c) std::_Exit(92);
      c->attach(caf::actor_cast<delivery_sink>(driver));
      conns.push_back(std::move(*c));
    }
    const double connect_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    put(p.from_child[1], 'c');
    // The load: connection i sends at i/N of every second.
    const auto start = clock_type::now() + std::chrono::milliseconds{100};
    const auto step = std::chrono::duration_cast<clock_type::duration>(std::chrono::seconds{1}) / n;
    protocol::byte_buffer body(100, 'x');
    for (long long second = 0; second < load.count(); ++second) {
      for (std::size_t i = 0; i < n; ++i) {
        std::this_thread::sleep_until(start + std::chrono::seconds{second} +
                                      step * static_cast<long long>(i));
        const auto now = clock_type::now().time_since_epoch().count();
        std::memcpy(body.data(), &now, sizeof now);
        conns[i].send(outgoing_message::from_bytes("q", body));
      }
    }
    std::this_thread::sleep_for(std::chrono::seconds{1});  // the last replies
    std::vector<double> rtts;
    caf::scoped_actor self{sys};
    self->request(driver, std::chrono::seconds{30}, get_latencies_atom::value)
        .receive([&](std::vector<double>& v) { rtts = std::move(v); }, [](caf::error&) {});
    auto l = percentiles(rtts);
    const std::size_t expected = n * static_cast<std::size_t>(load.count());
    put(p.from_child[1], client_report{connect_s, l.p50_us, l.p99_us, l.samples,
                                       expected > l.samples ? expected - l.samples : 0});
    for (auto& c : conns) c.abort();
    conns.clear();
    caf::anon_send_exit(driver, caf::exit_reason::user_shutdown);
  }
  std::_Exit(0);
}

// -- the baseline: a plain epoll echo server ---------------------------------------------------

[[noreturn]] void epoll_server(pipes p) {
  p.child_side();
  raise_descriptor_limit();
  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 4096) != 0)
    std::_Exit(93);
  socklen_t len = sizeof addr;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::uint16_t port = ntohs(addr.sin_port);
  const int ep = ::epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.fd = p.to_child[0];
  ::epoll_ctl(ep, EPOLL_CTL_ADD, p.to_child[0], &ev);
  put(p.from_child[1], port);
  put(p.from_child[1], rss_mib());
  std::vector<epoll_event> events(256);
  char buf[4096];
  for (;;) {
    const int k = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < k; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd == lfd) {
        for (int c; (c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
      } else if (fd == p.to_child[0]) {
        const char command = get<char>(fd);
        if (command == 'q') std::_Exit(0);
        put(p.from_child[1], rss_mib());
      } else {
        const auto r = ::recv(fd, buf, sizeof buf, 0);
        if (r <= 0) {
          ::close(fd);
          continue;
        }
        [[maybe_unused]] auto w = ::send(fd, buf, static_cast<std::size_t>(r), MSG_NOSIGNAL);
      }
    }
  }
}

/// Holds `n` raw connections to the epoll server, each with one echoed request.
std::vector<int> raw_clients(std::uint16_t port, std::size_t n) {
  std::vector<int> fds;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char buf[100] = {};
  for (std::size_t i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("P7 baseline: connect");
    if (::send(fd, buf, sizeof buf, MSG_NOSIGNAL) != sizeof buf ||
        ::recv(fd, buf, sizeof buf, MSG_WAITALL) != sizeof buf)
      throw std::runtime_error("P7 baseline: echo");
    fds.push_back(fd);
  }
  return fds;
}

/// The netcore client's load, on the raw connections to the epoll server: connection i sends a
/// 100 B request (its first bytes the send time) at i/N of every second; one epoll thread takes
/// the echoes. The round trips of this baseline show what the machine itself adds.
latency raw_load(const std::vector<int>& fds, std::chrono::seconds load) {
  const int ep = ::epoll_create1(0);
  for (int fd : fds) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  const std::size_t expected = fds.size() * static_cast<std::size_t>(load.count());
  std::vector<double> rtts;
  rtts.reserve(expected);
  std::atomic<bool> stop{false};
  std::thread receiver{[&] {
    std::vector<epoll_event> events(256);
    char buf[100];
    while (!stop.load() && rtts.size() < expected) {
      const int k = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
      const auto now = clock_type::now().time_since_epoch().count();
      for (int i = 0; i < k; ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        if (::recv(fd, buf, sizeof buf, MSG_WAITALL) != sizeof buf) continue;
        std::int64_t sent = 0;
        std::memcpy(&sent, buf, sizeof sent);
        rtts.push_back(static_cast<double>(now - sent) / 1000.0);
      }
    }
  }};
  const auto start = clock_type::now() + std::chrono::milliseconds{100};
  const auto step =
      std::chrono::duration_cast<clock_type::duration>(std::chrono::seconds{1}) / fds.size();
  char body[100] = {};
  for (long long second = 0; second < load.count(); ++second) {
    for (std::size_t i = 0; i < fds.size(); ++i) {
      std::this_thread::sleep_until(start + std::chrono::seconds{second} +
                                    step * static_cast<long long>(i));
      const auto now = clock_type::now().time_since_epoch().count();
      std::memcpy(body, &now, sizeof now);
      [[maybe_unused]] auto w = ::send(fds[i], body, sizeof body, MSG_NOSIGNAL);
    }
  }
  std::this_thread::sleep_for(std::chrono::seconds{1});  // the last echoes
  stop = true;
  receiver.join();
  ::close(ep);
  return percentiles(rtts);
}

}  // namespace

many_connections_result run_many_connections(std::size_t n, std::chrono::seconds load) {
  raise_descriptor_limit();
  many_connections_result out;
  out.connections = n;

  // netcore: the server, then the client against it.
  pipes sp;
  const pid_t server = ::fork();
  if (server == 0) netcore_server(sp);
  sp.parent_side();
  const auto port = get<std::uint16_t>(sp.from_child[0]);
  const auto idle = get<server_report>(sp.from_child[0]);
  out.rss_idle_mib = idle.rss_mib;
  out.server_threads_idle = idle.threads;

  pipes cp;
  const pid_t client = ::fork();
  if (client == 0) netcore_client(cp, port, n, load);
  cp.parent_side();
  (void)get<char>(cp.from_child[0]);  // every connection is up
  // Measure the server half-way through the load.
  std::this_thread::sleep_for(load / 2 + std::chrono::milliseconds{100});
  put(sp.to_child[1], 'm');
  const auto loaded = get<server_report>(sp.from_child[0]);
  const auto c = get<client_report>(cp.from_child[0]);
  put(sp.to_child[1], 'q');
  int status = 0;
  ::waitpid(client, &status, 0);
  ::waitpid(server, &status, 0);
  out.rss_loaded_mib = loaded.rss_mib;
  out.server_threads = loaded.threads;
  out.accept_seconds = loaded.accept_seconds;
  out.rss_per_connection_kib = (loaded.rss_mib - idle.rss_mib) * 1024.0 / static_cast<double>(n);
  out.p50_us = c.p50_us;
  out.p99_us = c.p99_us;
  out.samples = c.samples;
  if (loaded.accepted != n)
    throw std::runtime_error("P7: the server did not accept every connection");

  // The baseline: the same count of connections held by a plain epoll echo server.
  pipes bp;
  const pid_t base = ::fork();
  if (base == 0) epoll_server(bp);
  bp.parent_side();
  const auto bport = get<std::uint16_t>(bp.from_child[0]);
  out.baseline_rss_idle_mib = get<double>(bp.from_child[0]);
  auto fds = raw_clients(bport, n);
  put(bp.to_child[1], 'm');
  out.baseline_rss_loaded_mib = get<double>(bp.from_child[0]);
  out.baseline_rss_per_connection_kib =
      (out.baseline_rss_loaded_mib - out.baseline_rss_idle_mib) * 1024.0 / static_cast<double>(n);
  const auto base_rtt = raw_load(fds, load);
  out.baseline_p50_us = base_rtt.p50_us;
  out.baseline_p99_us = base_rtt.p99_us;
  for (int fd : fds) ::close(fd);
  put(bp.to_child[1], 'q');
  ::waitpid(base, &status, 0);
  return out;
}

}  // namespace netcore::bench
