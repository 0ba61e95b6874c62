// The gRPC baselines of P8 and P2 (docs/BENCHMARKS.md): gRPC C++ over loopback TCP, server and
// client in this process, as the ZeroMQ baselines are. Built only where gRPC is found
// (bench/grpc_baseline.cmake defines NETCORE_BENCH_HAVE_GRPC for the programs that link it).
//
// The server is the asynchronous completion-queue kind gRPC's own benchmarks use: each of its
// threads drives a completion queue of its own, with calls requested ahead on every queue. Each
// function starts its server and clients, joins all their threads before returning and returns
// plain numbers; failures (a call that does not succeed, a peer that stops answering for
// `io_timeout`) throw std::runtime_error.
#pragma once

#include "baselines.hpp"

#include <cstddef>
#include <cstdint>

namespace netcore::bench {

/// How many threads (each with a completion queue of its own) the server of the gRPC baselines
/// runs, and at most how many the P8 client runs (no more than it has channels), unless
/// NETCORE_BENCH_GRPC_THREADS says otherwise: one per core of the 2-core machines, where 1 and 2
/// measured the same within the noise.
inline constexpr std::size_t grpc_default_threads = 2;

/// P8's gRPC baseline: unary echo calls of `size` bytes on `connections` channels, each its own
/// TCP connection (a subchannel pool of its own), each keeping `window` calls in flight from the
/// asynchronous client API (a new call as each reply arrives) until `total_calls` replies came
/// back. Returns replies/s, counted from the first call on connected channels.
double grpc_unary_calls_per_sec(std::size_t connections, std::size_t window,
                                std::size_t total_calls, std::size_t size);

/// P2's gRPC baseline: round trips of unary echo calls of `request_size` bytes, one after another
/// from the synchronous client API, on ONE channel (one TCP connection) that also carries a
/// client-streaming upload of `bulk_bytes` in messages of `message_size` bytes, written back to
/// back by another thread with the synchronous writer. Calls start once the upload has started
/// and stop after `samples` round trips or when the upload is complete, whichever is first.
latency grpc_rtt_under_load(std::uint64_t bulk_bytes, std::size_t message_size,
                            std::size_t request_size, std::size_t samples);

}  // namespace netcore::bench
