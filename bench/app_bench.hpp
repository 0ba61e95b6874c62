#pragma once

// P8 and P9 (docs/BENCHMARKS.md): request/response throughput with a window of calls in
// flight, and the idle round trip of a 100 B request through an endpoint — route
// lookup, a handler in an actor of its own, the response paired by the protocol — measured beside
// P6's runtime-level round trip in the same run and CPU policy.

#include "baselines.hpp"

#include <netcore/actors/runtime.hpp>

#include <cstddef>
#include <string>

namespace netcore::bench {

/// Round trips of a 100 B call from a client endpoint (a plain C++ thread waiting on the
/// future) to an "echo" route of a server endpoint, over loopback TCP on `rt`. Throws
/// std::runtime_error on failure.
latency endpoint_idle_rtt(actors::runtime& rt, const std::string& spill, std::size_t samples);

/// P8: `connections` TCP connections, each with `window` calls of `size` bytes in flight from a
/// client endpoint (a new call as each reply arrives) to an "echo" route of a server endpoint,
/// until `total` replies came back. Returns replies/s. Throws std::runtime_error on failure.
double endpoint_calls_per_sec(actors::runtime& rt, const std::string& spill,
                              std::size_t connections, std::size_t window, std::size_t total,
                              std::size_t size);

/// P2 through an endpoint: round trips of 100 B calls to "echo" while one call uploads `bulk`
/// bytes to an "upload" route of the same server on the same connection, until the upload is
/// answered or `samples` were taken. Throws std::runtime_error on failure (or no sample).
latency endpoint_rtt_under_load(actors::runtime& rt, const std::string& spill, std::uint64_t bulk,
                                std::size_t samples);

}  // namespace netcore::bench
