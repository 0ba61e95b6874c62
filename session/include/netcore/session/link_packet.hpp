#pragma once

// The packets of the reliable link: on a lossy stream (a serial line) the frame stream travels
// cut into sequenced, checksummed packets that the peer acknowledges. This file is the packet
// format and the resynchronising packet decoder; reliable_link.hpp is the protocol around them.

#include <netcore/protocol/bytes.hpp>

#include <cstddef>
#include <cstdint>

namespace netcore::session {

/// Bytes of a packet header: magic "NL", version, kind, sequence, ack, sack bitmap, payload
/// length, reserved, payload CRC32C, header CRC32C (docs/PROTOCOL.md, "Reliable link").
inline constexpr std::size_t link_header_size = 28;
/// Link packet format version.
inline constexpr std::uint8_t link_version = 1;
/// Packets a receiver accepts beyond the next one it expects (the sack bitmap width): the
/// largest send window.
inline constexpr std::uint32_t link_max_window = 32;

/// What a packet carries.
enum class link_kind : std::uint8_t {
  data = 1,  ///< `length` bytes of the frame stream, numbered `seq`.
  ack = 2,   ///< Acknowledgement only: no payload, `seq` unused.
};

/// A decoded packet header.
struct link_header {
  link_kind kind = link_kind::data;
  std::uint32_t seq = 0;   ///< This packet's number (data).
  std::uint32_t ack = 0;   ///< The next data packet the sender of this one expects.
  std::uint32_t sack = 0;  ///< Bit i: packet ack + 1 + i has arrived (out of order).
  std::uint16_t length = 0;
};

/// Writes the header of a packet with `h` and `payload` into `out[0..link_header_size)`.
void encode_link_header(const link_header& h, protocol::byte_view payload,
                        std::uint8_t* out) noexcept;

/// Counters of a link_decoder.
struct link_decoder_stats {
  std::uint64_t packets = 0;           ///< Packets that verified.
  std::uint64_t corrupt_headers = 0;   ///< Candidate headers whose CRC failed.
  std::uint64_t corrupt_payloads = 0;  ///< Verified headers whose payload CRC failed.
  std::uint64_t dropped_bytes = 0;     ///< Bytes skipped to find the next packet.
};

/// Finds packets in a byte stream that may lose, corrupt, duplicate or insert bytes: a packet is
/// taken only when its header CRC and its payload CRC verify; anything else is skipped a byte at
/// a time until a verifying header is found (so a lost byte costs the packets it touched, never
/// the ones after). Memory: at most one packet plus the bytes of one feed.
class link_decoder {
 public:
  /// Accepts payloads of at most `max_payload` bytes (longer claims are treated as garbage).
  explicit link_decoder(std::size_t max_payload) noexcept : max_payload_(max_payload) {}

  /// Appends `bytes` and calls `on_packet(const link_header&, protocol::byte_view payload)` for
  /// each packet that verified, in stream order. The payload view is valid during the call only.
  template <class F>
  void feed(protocol::byte_view bytes, F&& on_packet) {
    link_header h;
    protocol::byte_view payload;
    std::size_t pos = 0;
    if (buf_.empty()) {
      // Nothing held back: packets are taken from the caller's bytes in place, and only an
      // incomplete one at the end is copied.
      while (next(bytes, pos, h, payload)) on_packet(h, payload);
      buf_.assign(bytes.begin() + pos, bytes.end());
      return;
    }
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
    while (next(buf_, pos, h, payload)) on_packet(h, payload);
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos));
  }

  /// Bytes held waiting for the rest of a packet.
  std::size_t buffered() const noexcept { return buf_.size(); }
  const link_decoder_stats& stats() const noexcept { return stats_; }

 private:
  /// Finds the next packet in `in` at or after `pos`; false when more bytes are needed (`pos`
  /// then is where scanning resumes).
  bool next(protocol::byte_view in, std::size_t& pos, link_header& h, protocol::byte_view& payload);

  std::size_t max_payload_;
  protocol::byte_buffer buf_;
  link_decoder_stats stats_;
};

}  // namespace netcore::session
