// R1 (docs/BENCHMARKS.md): the hostile patterns, each an attack (hostile_attacks.hpp) on a fresh
// echo server, and the bound the documented limits (docs/SECURITY.md) put on what it may cost.
#pragma once

#include "hostile_attacks.hpp"

#include <netcore/actors/runtime.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace netcore::bench::hostile {

/// What the configured limits allow an attack to cost the server beyond twice its idle RSS and
/// its idle descriptors.
struct bound {
  double rss_mib = 0;
  std::string rss_terms;  ///< how rss_mib is made of the limits
  std::size_t fds = 0;
  std::string fd_terms;
};

/// One hostile pattern.
struct pattern {
  std::string name;         ///< e.g. "spill_flood"
  std::string description;  ///< one line
  actors::runtime_config server;
  /// Runs the attack against 127.0.0.1:port for the phase.
  std::function<attack(std::uint16_t port, std::chrono::milliseconds phase)> run;
  /// The bound on its cost.
  bound limit;
  /// The phase is at least this long (slowloris must outlast the handshake timeout).
  std::chrono::milliseconds min_phase{0};
  /// The well-behaved client comes once the hostile connections are closed (when they hold
  /// every connection the server takes), else while they are still open.
  bool visit_after_close = false;
};

/// The patterns; `quick` makes them smaller.
std::vector<pattern> patterns(bool quick);

}  // namespace netcore::bench::hostile
