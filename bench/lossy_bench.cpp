// R3 (docs/BENCHMARKS.md): messages over a serial line that flips bits. Two pseudo-terminals
// joined by a relay thread that flips one bit of a byte with a given probability in both
// directions; netcore runs on the two slave ends as on any serial line. For each flip rate it
// reports goodput and how many messages were delivered, failed (typed, at the sender) or lost
// (neither), beside the clean line in the same run; and the bare frames (the link off) on the
// clean line (what the link costs) and at 1e-5 (what the noisy line cost before). Writes JSON lines
// like netcore_runtime_bench.

#include <netcore/actors/runtime.hpp>
#include <netcore/transports/serial_stream.hpp>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace netcore;
using namespace netcore::actors;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

/// A pseudo-terminal: the master end (the relay's) and the path of the slave (netcore's).
struct pty {
  int master = -1;
  std::string slave;
};

pty open_pty() {
  pty p;
  p.master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (p.master < 0 || ::grantpt(p.master) != 0 || ::unlockpt(p.master) != 0)
    throw std::runtime_error("no pseudo-terminal");
  p.slave = ::ptsname(p.master);
  return p;
}

/// Copies bytes between two pty masters both ways, flipping one bit of a byte with probability
/// `flip` (seeded). Stops at destruction.
class flipping_relay {
 public:
  flipping_relay(int left, int right, double flip, std::uint64_t seed)
      : left_(left), right_(right), flip_(flip),
        forward_([this, seed] { pump(left_, right_, seed); }),
        backward_([this, seed] { pump(right_, left_, seed + 1); }) {}
  ~flipping_relay() {
    stop_ = true;
    forward_.join();
    backward_.join();
    ::close(left_);
    ::close(right_);
  }
  std::uint64_t flips() const { return flips_.load(); }

 private:
  void pump(int from, int to, std::uint64_t seed) {
    std::mt19937_64 rng{seed};
    std::geometric_distribution<std::uint64_t> gap{flip_ > 0 ? flip_ : 0.5};
    std::uint64_t next = flip_ > 0 ? gap(rng) : UINT64_MAX;
    std::vector<std::uint8_t> buf(64 << 10);
    while (!stop_) {
      pollfd p{from, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const auto n = ::read(from, buf.data(), buf.size());
      if (n <= 0) continue;  // the slave is not open (yet, or any more)
      const auto got = static_cast<std::uint64_t>(n);
      for (; next < got; next += 1 + gap(rng)) {
        buf[next] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        ++flips_;
      }
      if (next != UINT64_MAX) next -= got;
      for (std::size_t at = 0; at < got && !stop_;) {
        const auto w = ::write(to, buf.data() + at, got - at);
        if (w > 0) {
          at += static_cast<std::size_t>(w);
        } else {
          pollfd q{to, POLLOUT, 0};
          ::poll(&q, 1, 20);
        }
      }
    }
  }

  int left_;
  int right_;
  double flip_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> flips_{0};
  std::thread forward_;
  std::thread backward_;
};

struct run_result {
  std::size_t sent = 0;
  std::size_t delivered = 0;
  std::size_t failed = 0;  // the sender's outcome was a typed error
  std::size_t lost = 0;    // neither delivered nor reported failed
  std::size_t wrong = 0;   // delivered with other bytes (must stay 0)
  double seconds = 0;
  double goodput_mib_s = 0;
  std::uint64_t flips = 0;
  std::uint64_t retransmissions = 0;
};

std::shared_ptr<const protocol::byte_buffer> body_for(std::size_t i, std::size_t size) {
  auto b = std::make_shared<protocol::byte_buffer>(size);
  for (std::size_t k = 0; k < size; ++k) (*b)[k] = static_cast<std::uint8_t>(i * 131 + k * 7);
  return b;
}

/// `count` messages of `size` bytes A -> B over a line flipping bits at `flip`.
run_result run(caf::actor_system& sys, double flip, bool link, std::size_t count, std::size_t size,
               std::chrono::seconds limit) {
  auto p1 = open_pty();
  auto p2 = open_pty();
  flipping_relay relay{p1.master, p2.master, flip, 42};
  runtime rt{sys};
  connection_config cfg;
  cfg.link.enabled = link;
  // A pty carries about 60 MB/s whatever its baud rate: the timeouts follow that, not 115200.
  cfg.link.bytes_per_second = 60'000'000;
  cfg.peer_timeout = 30s;
  auto sa = transports::serial_open(p1.slave);
  auto sb = transports::serial_open(p2.slave);
  if (!sa || !sb) throw std::runtime_error("cannot open the pty slaves");
  auto a = rt.adopt(std::move(*sa), cfg);
  auto b = rt.adopt(std::move(*sb), cfg);
  caf::scoped_actor events{sys};
  a.subscribe(caf::actor_cast<event_sink>(events));

  run_result r;
  r.sent = count;
  std::vector<std::uint64_t> ids;
  const auto t0 = clock_type::now();
  for (std::size_t i = 0; i < count; ++i) {
    outgoing_message m;
    m.meta.route = "r/" + std::to_string(i);
    m.bytes = body_for(i, size);
    auto id = a.send(std::move(m));
    if (!id) throw std::runtime_error("send: " + id.error().message());
    ids.push_back(*id);
  }
  std::set<std::string> seen;
  auto last = t0;
  const auto deadline = t0 + limit;
  while (seen.size() < count && clock_type::now() < deadline) {
    auto m = b.receive(std::chrono::duration_cast<std::chrono::milliseconds>(
        std::min<clock_type::duration>(deadline - clock_type::now(), 2s)));
    if (!m) continue;  // a failure of one message (bare frames), or a pause
    const auto i = std::stoul(m->meta.route.substr(2));
    if (!seen.insert(m->meta.route).second) continue;
    if (m->body.bytes() != *body_for(i, size)) ++r.wrong;
    last = clock_type::now();
  }
  r.delivered = seen.size();
  std::set<std::uint64_t> failed;
  std::size_t outcomes = 0;
  while (outcomes < count && clock_type::now() < deadline + 2s) {
    bool got = false;
    events->receive(
        [&](outcome_atom, send_outcome& o) {
          ++outcomes;
          if (!o.ok()) failed.insert(o.id);
          got = true;
        },
        [&](progress_atom, send_progress&) { got = true; }, [&](closed_atom, connection_closed&) {},
        caf::after(500ms) >> [] {});
    if (!got && seen.size() == count) break;
  }
  for (std::size_t i = 0; i < count; ++i) {
    const bool arrived = seen.count("r/" + std::to_string(i)) != 0;
    if (failed.count(ids[i])) ++r.failed;
    if (!arrived && !failed.count(ids[i])) ++r.lost;
  }
  r.seconds = std::chrono::duration<double>(last - t0).count();
  r.goodput_mib_s = static_cast<double>(r.delivered * size) / (1 << 20) / std::max(r.seconds, 1e-9);
  r.flips = relay.flips();
  r.retransmissions = a.stats().session.link_retransmissions;
  a.abort();
  b.abort();
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path = "build/bench/results.jsonl";
  int reps = 3;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      out_path = argv[++i];
    } else if (a == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--quick") {
      quick = true;
    } else {
      std::cerr << "usage: netcore_lossy_bench [--out FILE] [--reps N] [--quick]\n";
      return 2;
    }
  }
  std::ofstream out{out_path, std::ios::app};
  if (!out) {
    std::cerr << "cannot write " << out_path << "\n";
    return 1;
  }
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  const std::size_t count = quick ? 1000 : 4000;
  const std::size_t size = 16000;  // the size that froze the bare line at 1e-4

  auto measure = [&](double flip, bool link) {
    std::vector<double> goodput;
    run_result worst;
    for (int r = 0; r < reps; ++r) {
      auto res = run(sys, flip, link, count, size, link ? 120s : 30s);
      goodput.push_back(res.goodput_mib_s);
      if (r == 0 || res.lost + res.failed + res.wrong > worst.lost + worst.failed + worst.wrong)
        worst = res;
      worst.goodput_mib_s = res.goodput_mib_s;
    }
    worst.goodput_mib_s = median(goodput);
    return worst;
  };
  const auto clean = measure(0, true);
  auto emit = [&](double flip, bool link, const run_result& r, const std::string& target,
                  bool met) {
    nlohmann::json j = {{"name", "R3"},
                        {"value", r.goodput_mib_s},
                        {"unit", "MiB/s goodput"},
                        {"baseline", "clean_line_same_run"},
                        {"baseline_value", clean.goodput_mib_s},
                        {"ratio", r.goodput_mib_s / std::max(clean.goodput_mib_s, 1e-9)},
                        {"target", target},
                        {"met", met},
                        {"flip_per_byte", flip},
                        {"reliable_link", link},
                        {"messages", r.sent},
                        {"message_bytes", size},
                        {"delivered", r.delivered},
                        {"failed", r.failed},
                        {"lost", r.lost},
                        {"wrong_bytes", r.wrong},
                        {"bits_flipped", r.flips},
                        {"retransmissions", r.retransmissions}};
    out << j.dump() << '\n';
    out.flush();
    std::cout << j.dump() << std::endl;
  };
  emit(0, true, clean, "lost 0", clean.lost == 0 && clean.wrong == 0);
  // What the link costs on a clean line: the same messages as bare frames.
  const auto bare_clean = measure(0, false);
  emit(0, false, bare_clean, "bare frames on the clean line: the link's cost is clean / this",
       bare_clean.wrong == 0);
  const auto e5 = measure(1e-5, true);
  emit(1e-5, true, e5, "lost 0, goodput >= 0.9x clean",
       e5.lost == 0 && e5.wrong == 0 && e5.goodput_mib_s >= 0.9 * clean.goodput_mib_s);
  const auto e4 = measure(1e-4, true);
  emit(1e-4, true, e4, "lost 0", e4.lost == 0 && e4.wrong == 0);
  const auto bare = measure(1e-5, false);
  emit(1e-5, false, bare, "bare frames, for comparison: losses expected", bare.wrong == 0);
  return 0;
}
