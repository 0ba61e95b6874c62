#pragma once

// R2 (docs/BENCHMARKS.md): netcore over TLS beside netcore over plain TCP, same run, same
// runtime and CPU policy: bulk throughput of 1 MiB messages and the idle round trip of a 100 B
// request.

#include "baselines.hpp"

#include <netcore/actors/runtime.hpp>

#include <cstdint>
#include <string>

namespace netcore::bench {

/// One bulk transfer: its rate and the CPU time the whole process spent on it.
struct bulk_figures {
  double gbps = 0;
  double cpu_seconds = 0;
};

/// `total` bytes sent as 1 MiB messages over loopback TCP, with TLS or without, to a receiver
/// that keeps them in memory and drops them. Throws std::runtime_error on failure.
bulk_figures tls_bulk(actors::runtime& rt, const std::string& spill, bool tls, std::uint64_t total);

/// Round trips of a 100 B request echoed by an actor at the other end, with TLS or without.
/// Throws std::runtime_error on failure.
latency tls_idle_rtt(actors::runtime& rt, const std::string& spill, bool tls, std::size_t samples);

}  // namespace netcore::bench
