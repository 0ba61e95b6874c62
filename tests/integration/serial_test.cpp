// Integration scenarios over serial lines: real pseudo-terminal pairs joined by socat
// (`socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`), opened with serial_open. Volumes
// are small (a serial link is slow) and the connection uses serial-sized chunks. A corruption
// test puts a relay between two such pairs that damages bytes in one direction.

#include "scenarios.hpp"

#include <netcore/transports/serial_stream.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>

extern char** environ;

using namespace netcore;
using namespace netcore::integration;

namespace {

/// The full path of `name` on $PATH, or "".
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs{path ? path : "/usr/local/bin:/usr/bin:/bin"};
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    auto candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

bool exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

/// A socat process joining two ptys reachable at `a` and `b`.
struct socat_process {
  pid_t pid = -1;
  int log_fd = -1;  // read end of socat's stderr
  std::string dir;
  std::string a;
  std::string b;
  std::string log;

  /// Stops socat and removes its links.
  void stop() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
      pid = -1;
    }
    if (log_fd >= 0) ::close(log_fd);
    log_fd = -1;
    if (!dir.empty()) {
      ::unlink(a.c_str());
      ::unlink(b.c_str());
      ::rmdir(dir.c_str());
    }
  }
};

/// Starts socat with links in a new directory under `parent`; waits (bounded, on socat's own
/// report, not by polling) until it has opened both ptys. On failure `p.pid` is -1 and `p.log`
/// says why.
socat_process start_socat(const std::string& socat, const std::string& parent) {
  socat_process p;
  std::string tmpl = parent + "/socat-XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    p.log = "mkdtemp failed";
    return p;
  }
  p.dir = tmpl;
  p.a = p.dir + "/a";
  p.b = p.dir + "/b";
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    p.log = "pipe failed";
    return p;
  }
  const std::string a_arg = "pty,raw,echo=0,link=" + p.a;
  const std::string b_arg = "pty,raw,echo=0,link=" + p.b;
  std::vector<char*> argv = {const_cast<char*>(socat.c_str()), const_cast<char*>("-d"),
                             const_cast<char*>("-d"),          const_cast<char*>(a_arg.c_str()),
                             const_cast<char*>(b_arg.c_str()), nullptr};
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
  const int rc = ::posix_spawn(&p.pid, socat.c_str(), &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  p.log_fd = out[0];
  if (rc != 0) {
    p.pid = -1;
    p.log = "posix_spawn failed";
    return p;
  }
  // socat logs "starting data transfer loop" once both ptys (and their links) exist.
  const auto deadline = clock_type::now() + 10s;
  while (p.log.find("starting data transfer loop") == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    pollfd pfd{p.log_fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[1024];
    auto n = ::read(p.log_fd, buf, sizeof buf);
    if (n <= 0) break;  // socat exited
    p.log.append(buf, static_cast<std::size_t>(n));
  }
  if (p.log.find("starting data transfer loop") == std::string::npos || !exists(p.a) ||
      !exists(p.b)) {
    p.stop();
    p.pid = -1;
  }
  return p;
}

std::unique_ptr<transports::byte_stream> open_serial(const std::string& path) {
  auto s = transports::serial_open(path);
  return s ? std::move(*s) : nullptr;
}

scale serial_scale() {
  scale s;
  s.chunk_size = 512;
  s.write_batch = 4 * KiB;
  s.read_size = 4 * KiB;
  s.message_count = 50;
  s.max_message = 128 * KiB;  // about 0.6 MiB each way
  s.memory_threshold = 32 * KiB;
  s.abort_message = 4 * MiB;  // interrupted after a few KiB
  s.stall_total = 1536 * KiB;
  s.stall_message = 24 * KiB;
  s.stall_budget = 64 * KiB;
  s.stall_credit = 64 * KiB;
  s.stall_queue = 128 * KiB;
  s.stall_sent_max = 512 * KiB;
  s.rss_slack = 32 * MiB;
  s.garbage_bytes = 8 * KiB;
  // A serial line has no hang-up signal (closing one end of a socat pty pair does not reach the
  // other end either): a vanished peer is noticed by its silence, so keepalive and peer timeout
  // are short and "promptly" means within the peer timeout.
  s.keepalive = 250ms;
  s.peer_timeout = 3s;
  s.prompt = 5s;
  s.wait = 60s;
  s.test_budget = std::chrono::seconds{180};
  return s;
}

/// Copies bytes between two serial lines, one thread per direction; bytes going left → right can
/// be damaged at chosen offsets of that direction's byte stream.
class corrupting_relay {
 public:
  /// Relays both ways; with `flip_per_byte` > 0 each byte in either direction has one bit
  /// flipped with that probability (seeded: repeatable).
  corrupting_relay(std::unique_ptr<transports::byte_stream> left,
                   std::unique_ptr<transports::byte_stream> right, double flip_per_byte = 0)
      : left_(std::move(left)), right_(std::move(right)), flip_per_byte_(flip_per_byte),
        forward_([this] { pump(*left_, *right_, true); }),
        backward_([this] { pump(*right_, *left_, false); }) {}
  ~corrupting_relay() {
    left_->close();
    right_->close();
    forward_.join();
    backward_.join();
  }

  /// Damages `length` bytes of the left → right stream starting `ahead` bytes after what was
  /// relayed so far: overwritten with noise (`burst`) or each bit flipped. Returns the offset.
  std::uint64_t damage(std::uint64_t ahead, std::size_t length, bool burst) {
    std::lock_guard<std::mutex> guard{mtx_};
    spans_.push_back({forwarded_ + ahead, length, burst});
    return forwarded_ + ahead;
  }
  std::uint64_t forwarded() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return forwarded_;
  }
  std::uint64_t damaged() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return damaged_;
  }
  /// Bits flipped at random so far (both directions).
  std::uint64_t flips() const { return flips_.load(); }

 private:
  struct span {
    std::uint64_t at;
    std::size_t length;
    bool burst;
  };

  void pump(transports::byte_stream& from, transports::byte_stream& to, bool corrupt) {
    std::mt19937_64 noise{corrupt ? 99u : 101u};
    std::geometric_distribution<std::uint64_t> gap{flip_per_byte_ > 0 ? flip_per_byte_ : 0.5};
    std::uint64_t next_flip = flip_per_byte_ > 0 ? gap(noise) : UINT64_MAX;
    protocol::byte_buffer buf(4 * KiB);
    for (;;) {
      auto n = from.read(buf.data(), buf.size());
      if (!n) break;
      for (; next_flip < *n; next_flip += 1 + gap(noise)) {
        buf[static_cast<std::size_t>(next_flip)] ^= static_cast<std::uint8_t>(1u << (noise() % 8));
        ++flips_;
      }
      if (next_flip != UINT64_MAX) next_flip -= *n;
      if (corrupt) {
        std::lock_guard<std::mutex> guard{mtx_};
        const auto begin = forwarded_;
        const auto end = begin + *n;
        for (const auto& s : spans_) {
          for (auto pos = std::max(begin, s.at); pos < std::min(end, s.at + s.length); ++pos) {
            auto& byte = buf[static_cast<std::size_t>(pos - begin)];
            byte = s.burst ? static_cast<std::uint8_t>(noise()) : static_cast<std::uint8_t>(~byte);
            ++damaged_;
          }
        }
        forwarded_ = end;
      }
      transports::io_slice slice{buf.data(), *n};
      if (to.write(&slice, 1)) break;
    }
    // One side went away: so does the other.
    from.close();
    to.close();
  }

  std::unique_ptr<transports::byte_stream> left_;
  std::unique_ptr<transports::byte_stream> right_;
  double flip_per_byte_;
  std::atomic<std::uint64_t> flips_{0};
  mutable std::mutex mtx_;
  std::vector<span> spans_;
  std::uint64_t forwarded_ = 0;
  std::uint64_t damaged_ = 0;
  std::thread forward_;
  std::thread backward_;
};

class serial_integration : public scenario_fixture {
 protected:
  void SetUp() override {
    scenario_fixture::SetUp();
    socat_ = find_on_path("socat");
    if (socat_.empty()) GTEST_SKIP() << "socat is not installed: no virtual serial lines";
  }

  /// A fresh socat pty pair, stopped at teardown.
  socat_process socat_pair() {
    auto p = std::make_shared<socat_process>(start_socat(socat_, data_));
    at_teardown([p] { p->stop(); });
    EXPECT_GT(p->pid, 0) << "socat did not start:\n" << p->log;
    return *p;
  }

  stream_pair serial_pair() {
    auto p = socat_pair();
    if (p.pid <= 0) return {};
    return {open_serial(p.a), open_serial(p.b)};
  }

  pair_factory factory() {
    return [this] { return serial_pair(); };
  }

  /// A <-> (pty pair 1) <-> relay <-> (pty pair 2) <-> B: the two ends and the relay between
  /// them (null ends when socat failed).
  struct relayed_line {
    std::unique_ptr<transports::byte_stream> a;
    std::unique_ptr<transports::byte_stream> b;
    std::unique_ptr<corrupting_relay> relay;
  };
  relayed_line relayed(double flip_per_byte = 0) {
    auto p1 = socat_pair();
    auto p2 = socat_pair();
    if (p1.pid <= 0 || p2.pid <= 0) return {};
    relayed_line line{open_serial(p1.a), open_serial(p2.b), nullptr};
    auto r1 = open_serial(p1.b);
    auto r2 = open_serial(p2.a);
    if (!line.a || !line.b || !r1 || !r2) return {};
    line.relay = std::make_unique<corrupting_relay>(std::move(r1), std::move(r2), flip_per_byte);
    return line;
  }

  std::string socat_;
};

}  // namespace

TEST_F(serial_integration, concurrent_messages_both_directions) {
  concurrent_both_directions(factory(), serial_scale());
}

TEST_F(serial_integration, large_message_through_files) {
  // 1 GiB through file storage, as on every transport. A pty ignores the baud rate, so large
  // frames suit it (about 60 MB/s through socat here); NETCORE_SERIAL_HUGE_MIB changes the size.
  auto s = serial_scale();
  s.chunk_size = 16 * KiB;
  s.write_batch = 256 * KiB;
  s.read_size = 64 * KiB;
  const char* mib = std::getenv("NETCORE_SERIAL_HUGE_MIB");
#if defined(__SANITIZE_THREAD__)
  // Under ThreadSanitizer the reliable link's packets run several times slower: a quarter.
  constexpr std::uint64_t default_mib = 256;
#else
  constexpr std::uint64_t default_mib = 1024;
#endif
  s.huge_message = (mib ? std::strtoull(mib, nullptr, 10) : default_mib) * MiB;
  huge_file_message(factory(), s);
}

TEST_F(serial_integration, receiver_aborts_mid_message) {
  disconnect_mid_message(factory(), serial_scale(), aborting::receiver);
}

TEST_F(serial_integration, sender_aborts_mid_message) {
  disconnect_mid_message(factory(), serial_scale(), aborting::sender);
}

TEST_F(serial_integration, stalled_receiver_throttles_sender) {
  stalled_receiver(factory(), serial_scale());
}

TEST_F(serial_integration, garbage_then_valid_frames) {
  // The raw end is the other pty of the pair; it speaks bare frames, so the link is off here.
  auto s = serial_scale();
  s.reliable_link = false;
  garbage_then_valid_frames(factory(), s);
}

TEST_F(serial_integration, unread_messages_removed_at_close) {
  unread_messages_at_close(factory(), serial_scale());
}

TEST_F(serial_integration, without_the_link_corrupted_bytes_fail_only_damaged_messages) {
  auto s = serial_scale();
  s.reliable_link = false;  // bare frames: damage costs messages, typed, and nothing else
  s.idle_timeout = 2s;      // a message whose END was destroyed fails soon
  arm_watchdog(s.test_budget);
  auto line = relayed();
  ASSERT_TRUE(line.relay) << "cannot set up the relayed line";
  auto& relay = *line.relay;

  event_log ev_a{sys()};
  event_log ev_b{sys()};
  delivery_log at_b{sys()};
  connection a = open(std::move(line.a), config(s), &ev_a);
  connection b = open(std::move(line.b), config(s), &ev_b);
  b.attach(at_b.actor());

  std::map<std::uint64_t, std::string> route_of_id;  // A's ids
  auto send_phase = [&](const std::string& phase, std::size_t count) {
    std::vector<std::string> routes;
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint64_t size = i % 2 ? 40 * KiB : 24 * KiB;  // some spill, some do not
      auto route = route_of(phase, "A", i, size);
      auto id = a.send(outgoing_message::from_bytes(route, pattern_body(route, size)));
      EXPECT_TRUE(id);
      if (id) route_of_id[*id] = route;
      routes.push_back(route);
    }
    return routes;
  };
  auto arrived = [&](const std::string& route) {
    for (auto& m : at_b.messages)
      if (m.meta.route == route) return true;
    return false;
  };
  auto all_arrived = [&](const std::vector<std::string>& routes) {
    return std::all_of(routes.begin(), routes.end(), arrived);
  };

  // Phase 1: a clean line.
  auto phase1 = send_phase("before", 4);
  ASSERT_TRUE(at_b.wait_until([&] { return all_arrived(phase1); }, s.wait));
  ASSERT_TRUE(ev_a.wait_outcomes(phase1.size(), s.wait));

  // Phase 2: noise over 64 bytes, noise over 700 bytes (more than a whole frame, header
  // included: the decoder must resynchronise) and one flipped byte, in the A -> B stream while it
  // carries these messages.
  const auto burst_at = relay.damage(2000, 64, true);
  relay.damage(60000, 700, true);
  relay.damage(120000, 1, false);
  auto phase2 = send_phase("during", 8);
  ASSERT_TRUE(ev_a.wait_outcomes(phase1.size() + phase2.size(), s.wait));
  EXPECT_GT(relay.forwarded(), burst_at + 120000) << "phase 2 did not cover the damage";
  EXPECT_EQ(relay.damaged(), 64u + 700u + 1u);

  // Phase 3: the line is clean again; everything arrives.
  auto phase3 = send_phase("after", 6);
  ASSERT_TRUE(at_b.wait_until([&] { return all_arrived(phase3); }, s.wait));
  ASSERT_TRUE(ev_a.wait_outcomes(route_of_id.size(), s.wait));

  // Damaged messages resolve: delivered intact, failed with a typed error, or (when their OPEN
  // was destroyed) never heard of. Those left open fail once idle.
  auto failed = [&](const std::string& route) {
    for (auto& f : at_b.failures)
      if (route_of_id.count(f.id) && route_of_id[f.id] == route) return true;
    return false;
  };
  at_b.wait_until(
      [&] {
        return std::all_of(phase2.begin(), phase2.end(),
                           [&](auto& r) { return arrived(r) || failed(r); });
      },
      s.idle_timeout + 2 * s.keepalive + 2s);

  // Round trips in both directions still work.
  const std::string back = route_of("round", "B-to-A", 0, 30 * KiB);
  ASSERT_TRUE(b.send(outgoing_message::from_bytes(back, pattern_body(back, 30 * KiB))));
  auto m = a.receive(s.wait);
  ASSERT_TRUE(m) << m.error().reason.message();
  EXPECT_EQ(m->meta.route, back);
  EXPECT_EQ(check_body(m->body, back, 30 * KiB), "");
  m->body.remove_file();
  const std::string fin = route_of("round", "A-to-B", 0, 30 * KiB);
  ASSERT_TRUE(a.send(outgoing_message::from_bytes(fin, pattern_body(fin, 30 * KiB))));
  ASSERT_TRUE(at_b.wait_until([&] { return arrived(fin); }, s.wait));

  // Whatever arrived is intact.
  for (auto& msg : at_b.messages) {
    auto size = size_in_route(msg.meta.route);
    EXPECT_EQ(check_body(msg.body, msg.meta.route, static_cast<std::uint64_t>(size)), "");
    msg.body.remove_file();
  }
  EXPECT_TRUE(all_arrived(phase1));
  EXPECT_TRUE(all_arrived(phase3));
  std::size_t damaged = 0;
  std::string report;
  for (auto& r : phase2) {
    if (arrived(r)) continue;
    ++damaged;
    std::string why = "never arrived";
    for (auto& f : at_b.failures)
      if (route_of_id[f.id] == r) why = "failed: " + f.reason.message();
    report += "\n  " + r + ": " + why;
  }
  EXPECT_GE(damaged, 1u) << "the damage hit no message";
  // Failures concern damaged messages only, each with a typed error.
  for (auto& f : at_b.failures) {
    EXPECT_TRUE(f.reason);
    ASSERT_TRUE(route_of_id.count(f.id)) << "failure of unknown id " << f.id;
    EXPECT_EQ(route_of_id[f.id].rfind("during/", 0), 0u) << route_of_id[f.id] << " failed";
  }
  std::string sender_errors;
  for (auto& [id, e] : ev_a.outcomes)
    if (e) sender_errors += " " + route_of_id[id] + "=" + e.message();
  EXPECT_FALSE(ev_a.closed.has_value());
  EXPECT_FALSE(ev_b.closed.has_value());
  std::printf("[ info ] %llu bytes relayed A->B, %llu damaged; %zu of %zu damaged messages:%s\n"
              "[ info ] sender outcomes with errors:%s\n",
              static_cast<unsigned long long>(relay.forwarded()),
              static_cast<unsigned long long>(relay.damaged()), damaged, phase2.size(),
              report.c_str(), sender_errors.empty() ? " none" : sender_errors.c_str());
}

TEST_F(serial_integration, the_reliable_link_delivers_every_message_through_random_bit_flips) {
  // Two socat pty pairs joined by a relay that flips random bits both ways: without the link,
  // 1e-5 lost about 1.5 % of the messages silently and 1e-4 froze the connection.
  auto s = serial_scale();
  arm_watchdog(s.test_budget);
  for (const double rate : {1e-5, 1e-4}) {
    SCOPED_TRACE("flip rate " + std::to_string(rate));
    auto line = relayed(rate);
    ASSERT_TRUE(line.relay) << "cannot set up the relayed line";
    auto& relay = *line.relay;
    event_log ev_a{sys()};
    delivery_log at_b{sys()};
    connection a = open(std::move(line.a), config(s), &ev_a);
    connection b = open(std::move(line.b), config(s));
    b.attach(at_b.actor());

    std::map<std::string, std::uint64_t> sent;
    for (std::size_t i = 0; i < 120; ++i) {
      const std::uint64_t size = 100 + (i * 7919) % 16'000;
      auto route = route_of("flips", "A", i, size);
      auto id = a.send(outgoing_message::from_bytes(route, pattern_body(route, size)));
      ASSERT_TRUE(id) << id.error().message();
      sent[route] = size;
    }
    ASSERT_TRUE(ev_a.wait_outcomes(sent.size(), s.wait)) << ev_a.outcomes.size() << " outcomes";
    for (const auto& [id, e] : ev_a.outcomes)
      EXPECT_FALSE(e) << "message " << id << ": " << e.message();
    ASSERT_TRUE(at_b.wait_until([&] { return at_b.messages.size() >= sent.size(); }, s.wait));
    std::set<std::string> seen;
    for (auto& m : at_b.messages) {
      EXPECT_TRUE(seen.insert(m.meta.route).second) << "delivered twice: " << m.meta.route;
      ASSERT_EQ(sent.count(m.meta.route), 1u) << m.meta.route;
      EXPECT_EQ(check_body(m.body, m.meta.route, sent[m.meta.route]), "");
      m.body.remove_file();
    }
    EXPECT_EQ(seen.size(), sent.size());
    EXPECT_TRUE(at_b.failures.empty());
    EXPECT_GT(relay.flips(), 0u);
    const auto st = a.stats().session;
    std::printf("[ info ] flip rate %g: %llu bits flipped, %llu packets sent, %llu again\n", rate,
                static_cast<unsigned long long>(relay.flips()),
                static_cast<unsigned long long>(st.link_packets_sent),
                static_cast<unsigned long long>(st.link_retransmissions));
    a.close(5s);
    b.close(5s);
  }
}
