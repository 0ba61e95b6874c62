#pragma once

// Helpers shared by the transport tests.

#include <netcore/transports/byte_stream.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace netcore::transports::test {

/// Deterministic pseudo-random bytes.
inline std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

/// Writes `data` in randomly sized slices (up to `max_len` bytes), up to `max_slices` slices per
/// write() call.
inline std::error_code write_in_pieces(byte_stream& s, const std::vector<std::uint8_t>& data,
                                       std::uint64_t seed, std::size_t max_slices = 8,
                                       std::size_t max_len = 70000) {
  std::mt19937_64 rng(seed);
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::vector<io_slice> slices;
    const std::size_t n_slices = 1 + rng() % max_slices;
    for (std::size_t i = 0; i < n_slices && pos < data.size(); ++i) {
      const std::size_t len = std::min<std::size_t>(data.size() - pos, rng() % max_len);
      slices.push_back({data.data() + pos, len});
      pos += len;
    }
    if (auto e = s.write(slices.data(), slices.size())) return e;
  }
  return {};
}

/// Reads exactly `n` bytes (or until an error), recording the largest single read.
inline std::vector<std::uint8_t> read_exactly(byte_stream& s, std::size_t n,
                                              std::size_t* largest = nullptr) {
  std::vector<std::uint8_t> out(n);
  std::size_t got = 0;
  while (got < n) {
    auto r = s.read(out.data() + got, n - got);
    if (!r) break;
    EXPECT_GT(*r, 0u);
    if (largest) *largest = std::max(*largest, *r);
    got += *r;
  }
  out.resize(got);
  return out;
}

}  // namespace netcore::transports::test
