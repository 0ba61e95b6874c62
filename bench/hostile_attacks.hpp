// R1 (docs/BENCHMARKS.md): the hostile clients. Each attacks the server on 127.0.0.1:port over
// raw sockets for one phase, speaking frames written with protocol::encoder, and returns what it
// left behind: the connections it still holds and how the others ended.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace netcore::bench::hostile {

/// What an attack left behind when its phase was over.
struct attack {
  /// Hostile connections still open (their ending is read after the well-behaved client).
  std::vector<int> open;
  /// Hostile connections opened in all.
  std::size_t connections = 0;
  /// How the connections that already ended did end ("goaway flow_control", "closed", ...).
  std::map<std::string, std::size_t> endings;
  /// Counts particular to the pattern (messages, frames, bytes sent...).
  nlohmann::json detail = nlohmann::json::object();
};

/// Reads how each connection still open ended (those still open after what had arrived are
/// given `wait` more, together), adds it to `a.endings` and closes them.
void conclude(attack& a, std::chrono::milliseconds wait);

/// 1. `conns` connections, each opening `per_connection` messages that declare `declared` body
/// bytes (so they spill), sending one 4 KiB chunk of each and never finishing them.
attack spill_flood(std::uint16_t port, std::chrono::milliseconds phase, std::size_t conns,
                   std::uint32_t per_connection, std::uint64_t declared);

/// 2. One connection sending empty messages as fast as it can within `credit` wire bytes (the
/// server's initial connection credit: it reads nothing, so it learns of no more), never
/// reading the echoes.
attack empty_flood(std::uint16_t port, std::chrono::milliseconds phase, std::uint64_t credit);

/// 3. 16 KiB messages at full speed whatever the credit, never reading; a connection the server
/// ends is replaced by a new one until the phase is over.
attack credit_ignorer(std::uint16_t port, std::chrono::milliseconds phase);

/// 4. PINGs as fast as the socket takes them, never reading the PONGs; reconnects as 3.
attack ping_flood(std::uint16_t port, std::chrono::milliseconds phase);

/// 5. `count` frames of 32 bytes on one connection: one message of unknown size made of empty
/// DATA frames, within the connection credit the server grants (a reader thread takes it).
attack tiny_frames(std::uint16_t port, std::chrono::milliseconds phase, std::uint64_t count);

/// 6. `n` connections, each sending its HELLO, then held idle.
attack many_connections(std::uint16_t port, std::chrono::milliseconds phase, std::size_t n);

/// 7. `n` connections sending their HELLO one byte per second.
attack slowloris(std::uint16_t port, std::chrono::milliseconds phase, std::size_t n);

}  // namespace netcore::bench::hostile
