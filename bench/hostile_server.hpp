// R1 (docs/BENCHMARKS.md): the server under attack, a netcore echo server in a process of its
// own (forked before the calling process starts any thread), and a sampler of its resident
// memory and descriptors read from /proc.
#pragma once

#include <netcore/actors/runtime.hpp>

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <thread>

namespace netcore::bench::hostile {

/// What the server's acceptor counted.
struct acceptor_counts {
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;
  std::uint64_t failures = 0;
  std::uint64_t connections = 0;  ///< runtime::connections() at the time
};

/// A forked netcore server on 127.0.0.1 that sends back every message it receives, on the
/// connection it came from, with the given runtime bounds and the default connection_config. An
/// event sink subscribed to every connection counts why they ended.
class echo_server {
 public:
  explicit echo_server(actors::runtime_config config = {});
  /// Stops the server (stop()).
  ~echo_server();
  echo_server(const echo_server&) = delete;
  echo_server& operator=(const echo_server&) = delete;

  /// The port the server listens on.
  std::uint16_t port() const noexcept { return port_; }
  /// The server's process id.
  pid_t pid() const noexcept { return pid_; }
  /// True while the server process runs (it has neither exited nor been killed).
  bool alive();
  /// The acceptor's counters now (zeros if the server is gone).
  acceptor_counts counts();
  /// How the server's connections have ended so far, as its event sink heard it: the reason's
  /// message ("clean" for a clean close) and how many.
  std::map<std::string, std::uint64_t> endings();
  /// Asks the server to end; kills it if it has not within 10 s. Returns how it ended:
  /// "exit 0", "exit N", "signal N", or "killed" (did not end when asked).
  std::string stop();

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::uint16_t port_ = 0;
  bool reaped_ = false;
  std::string ended_;
};

/// The largest footprint sampled.
struct footprint {
  double peak_rss_mib = 0;
  std::size_t peak_fds = 0;
  std::size_t samples = 0;
};

/// Samples VmRSS (/proc/<pid>/status) and the entries of /proc/<pid>/fd every 50 ms on a
/// thread of its own, from construction until finish().
class sampler {
 public:
  explicit sampler(pid_t pid);
  ~sampler();
  sampler(const sampler&) = delete;
  sampler& operator=(const sampler&) = delete;

  /// Stops sampling (once) and returns the peaks.
  footprint finish();

 private:
  void sample();

  pid_t pid_;
  std::atomic<bool> stop_{false};
  footprint peak_;
  std::thread thread_;
};

/// VmRSS of `pid` in MiB (0 if it is gone).
double rss_mib(pid_t pid);
/// Open descriptors of `pid`.
std::size_t descriptors(pid_t pid);

}  // namespace netcore::bench::hostile
