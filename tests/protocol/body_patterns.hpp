#pragma once

// Bodies whose compressibility a test can count on, shared by the protocol, session and actors
// tests and the benchmarks: text-like bytes and JSON (compress several times over) and random
// bytes (do not compress).

#include <netcore/protocol/bytes.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace netcore::protocol::test {

/// `n` bytes of space-separated words drawn from a small vocabulary (deterministic per `seed`):
/// like logs or JSON, zstd shrinks them several times over at any level.
inline byte_buffer text_bytes(std::size_t n, std::uint64_t seed = 1) {
  static constexpr std::string_view words[] = {
      "message", "frame",   "credit", "route",   "header", "stream", "body",  "open",
      "data",    "end",     "cancel", "session", "peer",   "window", "chunk", "digest",
      "\"id\":", "{\"a\":", "}",      "[1,2,3]", "true",   "null",   "0.5",   "\n"};
  std::mt19937_64 rng{seed};
  byte_buffer out;
  out.reserve(n + 16);
  while (out.size() < n) {
    const std::string_view w = words[rng() % (sizeof(words) / sizeof(words[0]))];
    out.insert(out.end(), w.begin(), w.end());
    out.push_back(' ');
  }
  out.resize(n);
  return out;
}

/// `n` bytes of JSON records with numbers, names and flags (deterministic per `seed`): like an
/// API's responses; zstd shrinks them about six times over.
inline byte_buffer json_bytes(std::size_t n, std::uint64_t seed = 1) {
  std::mt19937_64 rng{seed};
  std::string s = "[";
  while (s.size() < n) {
    s += "{\"id\":" + std::to_string(rng() % 100000) + ",\"name\":\"user" +
         std::to_string(rng() % 1000) + "\",\"score\":" + std::to_string(rng() % 10000) +
         ",\"active\":" + (rng() % 2 ? "true" : "false") + "},";
  }
  s.resize(n);
  return byte_buffer(s.begin(), s.end());
}

/// `n` uniformly random bytes (deterministic per `seed`): no transform makes them smaller.
inline byte_buffer noise_bytes(std::size_t n, std::uint64_t seed = 1) {
  std::mt19937_64 rng{seed};
  byte_buffer out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

}  // namespace netcore::protocol::test
