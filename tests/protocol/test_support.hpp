#pragma once

// Small helpers shared by the protocol tests.

#include <netcore/protocol/decoder.hpp>
#include <netcore/protocol/encoder.hpp>

#include <cstdint>
#include <random>
#include <vector>

namespace netcore::protocol::test {

/// Deterministic pseudo-random bytes.
inline byte_buffer random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng{seed};
  byte_buffer out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

/// The encoder's batch as contiguous bytes.
inline byte_buffer flatten(encoder& enc) {
  byte_buffer out;
  enc.flatten_into(out);
  return out;
}

/// An owned copy of a decoded frame (payload views die with the next decoder call).
struct owned_frame {
  frame_header header;
  byte_buffer payload;
};

/// Everything a decoder reports for `stream` fed in pieces of `piece` bytes.
struct decoded {
  std::vector<owned_frame> frames;
  std::vector<errc> errors;
  std::size_t dropped = 0;
};

inline decoded decode_all(const byte_buffer& stream, std::size_t piece = SIZE_MAX,
                          const limits& lim = {}) {
  decoder dec{lim};
  decoded out;
  std::size_t at = 0;
  do {
    auto n = std::min(piece, stream.size() - at);
    byte_view in{stream.data() + at, n};
    at += n;
    for (;;) {
      auto r = dec.next(in);
      if (r.status == decode_status::need_more) break;
      if (r.status == decode_status::error) {
        out.errors.push_back(r.error);
        continue;
      }
      out.dropped += r.dropped;
      out.frames.push_back(
          {r.frame.header, byte_buffer(r.frame.payload.begin(), r.frame.payload.end())});
    }
  } while (at < stream.size());
  return out;
}

}  // namespace netcore::protocol::test
