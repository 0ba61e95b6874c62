#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/error.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

/// Message transforms (docs/PROTOCOL.md, "Transforms"): what a sender did to a message body
/// before it went on the wire (compression), so that the receiver can undo it. Each side
/// announces in its HELLO the transforms it undoes; a sender applies only those, and marks the
/// ones it applied, in order, in the message's OPEN.
namespace netcore::protocol {

/// A transform's number on the wire. Bit `id` of a HELLO's transform mask announces it.
enum class transform_id : std::uint8_t {
  zstd = 0,  ///< Zstandard compression (RFC 8878): the whole body as one zstd frame.
};

/// A short name for `t` ("zstd"; "unknown" otherwise).
const char* to_string(transform_id t) noexcept;

/// The mask bit that announces `t` (0 for ids beyond a mask's 64 bits).
constexpr std::uint64_t transform_bit(transform_id t) noexcept {
  const auto n = static_cast<unsigned>(t);
  return n < 64 ? std::uint64_t{1} << n : 0;
}

/// Every transform this build applies and undoes.
inline constexpr std::uint64_t known_transforms = transform_bit(transform_id::zstd);

/// Most transforms one message may carry.
inline constexpr std::size_t max_transforms = 4;

/// One transform applied to a body: which, and how many bytes the body had before it.
struct transform_step {
  transform_id id = transform_id::zstd;
  /// Body bytes before this transform (for the first step: the original body's size). Undoing
  /// the step must give exactly this many bytes.
  std::uint64_t input_size = 0;

  friend bool operator==(const transform_step& a, const transform_step& b) {
    return a.id == b.id && a.input_size == b.input_size;
  }
};

/// The transforms applied to one body, in the order they were applied; the receiver undoes them
/// last first. Empty: the body travels as it is (and the OPEN carries no transform block).
struct transform_chain {
  std::array<transform_step, max_transforms> steps{};
  std::uint8_t count = 0;

  bool empty() const noexcept { return count == 0; }
  /// Appends a step; false (and nothing changes) when the chain is full.
  bool push(transform_id id, std::uint64_t input_size) noexcept;
  /// The original body's size: the first step's input size (0 for an empty chain).
  std::uint64_t decoded_size() const noexcept { return count == 0 ? 0 : steps[0].input_size; }
  /// True when every step is a transform of `mask` (always for an empty chain).
  bool only_uses(std::uint64_t mask) const noexcept;

  friend bool operator==(const transform_chain& a, const transform_chain& b) {
    if (a.count != b.count) return false;
    for (std::uint8_t i = 0; i < a.count; ++i)
      if (!(a.steps[i] == b.steps[i])) return false;
    return true;
  }
};

/// Bytes encode_transforms() appends for `c`: 0 for an empty chain, else 1 + 9 per step.
std::size_t encoded_transforms_size(const transform_chain& c) noexcept;

/// Appends the transform block of `c` (nothing for an empty chain) to `out`: the start of an
/// OPEN payload that carries flags::transformed (docs/PROTOCOL.md, "Transforms").
void encode_transforms(const transform_chain& c, byte_buffer& out);

/// Parses the transform block at the front of an OPEN payload with flags::transformed into
/// `out`; on success `consumed` is the block's size. Ids are not checked here (see
/// transform_chain::only_uses). Errors: errc::malformed_frame (truncated, or a count of 0 or
/// above max_transforms).
errc decode_transforms(byte_view payload, transform_chain& out, std::size_t& consumed);

}  // namespace netcore::protocol
