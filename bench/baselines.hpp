// Same-run baselines for the netcore benchmarks: raw TCP and ZeroMQ over loopback.
//
// Each function runs one complete measurement on 127.0.0.1 (ephemeral ports), starts its own
// threads, joins them all before returning and returns plain numbers. Failures (socket errors, a
// peer that stops answering for `io_timeout`) are reported by throwing std::runtime_error /
// std::system_error / zmq::error_t / std::invalid_argument; the threads are joined before the
// exception leaves the function.
//
// ZeroMQ measurements give each side its own context (and so its own I/O thread), as two processes
// would have. Large buffers are page-aligned.
//
// Run them in the same process run as the netcore measurement they are compared with, alternate the
// two and compare medians: the machines are shared and noisy (see the performance notes).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace netcore::bench {

// A blocked send or receive that makes no progress for this long fails the measurement.
inline constexpr std::chrono::seconds io_timeout{30};

// The request/response measurements stop issuing requests after this long even if fewer than the
// asked number of samples were taken; `latency::samples` tells how many were.
inline constexpr std::chrono::seconds max_latency_run_time{60};

struct latency {
  double p50_us = 0;
  double p99_us = 0;
  std::size_t samples = 0;
};

// Nearest-rank 50th and 99th percentiles of round trips given in microseconds. Empty input: all
// zero.
latency percentiles(std::vector<double> samples_us);

// One blocking writer thread sends `total_bytes` over a TCP connection in writes of `write_size`
// bytes from one preallocated buffer; one reader thread reads into a 1 MiB buffer and discards.
// Returns GB/s (1e9 bytes/s) seen by the reader between the first and the last byte (the bytes of
// the first read are not counted, since they arrived before the clock started; a transfer that fits
// in one read gives 0).
double raw_tcp_bulk_gbps(std::uint64_t total_bytes, std::size_t write_size);

// As raw_tcp_bulk_gbps, but the reader stores what it reads: each read (up to 1 MiB) is written to
// a new file in `directory` (removed afterwards) before the next read, as a hand-written receiver
// that keeps a large body on disk would. Returns GB/s between the first read and the last write.
double raw_tcp_to_file_gbps(std::uint64_t total_bytes, std::size_t write_size,
                            const std::string& directory);

// ZeroMQ PUSH -> PULL over tcp://127.0.0.1: messages of `message_size` bytes (zero-copy, all
// pointing at one shared buffer; the last one shorter if `total_bytes` is not a multiple) until
// `total_bytes` are sent. Returns GB/s seen by the receiver between the first and the last message.
double zmq_bulk_gbps(std::uint64_t total_bytes, std::size_t message_size);

// ZeroMQ PUSH -> PULL over tcp://127.0.0.1: `count` messages of `size` bytes, high water marks of
// 100000 messages on both sides. Returns messages/s seen by the receiver between the first and the
// last message.
double zmq_small_msgs_per_sec(std::size_t count, std::size_t size);

// ZeroMQ DEALER -> ROUTER echo over tcp://127.0.0.1: `connections` DEALER sockets (one client
// thread polling them all, its own context), each keeping `window` requests of `size` bytes in
// flight until `total` replies came back; the ROUTER (its own context and thread) echoes each.
// Returns replies/s.
double zmq_dealer_router_calls_per_sec(std::size_t connections, std::size_t window,
                                       std::size_t total, std::size_t size);

// Round trip of a small request on ONE TCP connection that also carries bulk messages, with a naive
// length-prefixed protocol (4-byte big-endian length + payload, one whole message at a time, no
// interleaving). A client thread writes bulk messages of `bulk_bytes` back to back; a second client
// thread issues requests of `request_size` bytes one after another, each waiting for the message
// being written to finish (writers take turns in arrival order). The server reads frames, discards
// bulk ones and echoes requests on the same connection. A round trip runs from the moment the
// client decides to send the request until its echo has been read. Requires request_size !=
// bulk_bytes and bulk_bytes < 2^32.
latency naive_framing_rtt_under_load(std::uint64_t bulk_bytes, std::size_t request_size,
                                     std::size_t samples);

// The same with ZeroMQ: a DEALER (client) and a ROUTER (server) over one TCP connection. The client
// socket is driven by one thread (ZeroMQ sockets are not thread-safe) that keeps bulk messages of
// `bulk_bytes` flowing and issues one request of `request_size` bytes as soon as the previous echo
// has arrived; the server echoes requests and discards bulk messages. Requires request_size !=
// bulk_bytes.
latency zmq_rtt_under_load(std::uint64_t bulk_bytes, std::size_t request_size, std::size_t samples);

// Ping-pong of `request_size` bytes on an otherwise idle TCP connection (TCP_NODELAY on both ends);
// a few unrecorded round trips warm the connection up first.
latency raw_tcp_idle_rtt(std::size_t request_size, std::size_t samples);

// The same ping-pong with both readers spinning on non-blocking reads instead of sleeping in the
// kernel: the fair baseline for a runtime whose threads poll before they sleep (an idle vCPU adds
// 25-40 us to every blocking wake-up on these VMs).
latency raw_tcp_busy_poll_rtt(std::size_t request_size, std::size_t samples);

}  // namespace netcore::bench
