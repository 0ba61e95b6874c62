#pragma once

// P9 (docs/BENCHMARKS.md): the idle round trip of a 100 B request through an endpoint — route
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

}  // namespace netcore::bench
