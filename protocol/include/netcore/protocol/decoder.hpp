#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/error.hpp>
#include <netcore/protocol/frame.hpp>
#include <netcore/protocol/limits.hpp>

#include <cstddef>
#include <cstdint>

namespace netcore::protocol {

/// What decoder::next() found.
enum class decode_status {
  need_more,  ///< All input consumed without completing a frame; feed more bytes.
  frame,      ///< A verified frame (result::frame).
  error,      ///< A typed error (result::error); decoding can continue with more calls.
};

/// One step of decoding.
struct decode_result {
  decode_status status = decode_status::need_more;
  /// status == frame: the frame. status == error with payload_corrupt or frame_too_large: the
  /// (valid) header of the offending frame, with an empty payload.
  frame_view frame;
  /// status == error: what went wrong.
  errc error = errc::ok;
  /// status == frame: bytes discarded by resynchronisation right before this frame.
  std::size_t dropped = 0;
};

/// Counters kept by a decoder.
struct decoder_stats {
  std::uint64_t frames = 0;            ///< Verified frames returned.
  std::uint64_t bytes = 0;             ///< Bytes consumed in total.
  std::uint64_t dropped_bytes = 0;     ///< Bytes discarded while resynchronising.
  std::uint64_t resyncs = 0;           ///< Times the decoder lost the frame boundary.
  std::uint64_t corrupt_payloads = 0;  ///< Frames dropped for a payload checksum mismatch.
  std::uint64_t oversized = 0;         ///< Frames skipped for exceeding max_frame_payload.
  std::uint64_t unknown_skipped = 0;   ///< Frames of unknown type skipped.
};

/// Incremental, allocation-bounded frame decoder (sans I/O).
///
/// Accepts the byte stream split anywhere. When a whole frame lies in the caller's input it is
/// returned in place (payload view into the input, no copy); otherwise only the current frame
/// is buffered, at most header_size + limits::max_frame_payload bytes.
///
/// Bad input never throws: a corrupt header (bad magic or checksum) reports errc::header_corrupt
/// once, then bytes are dropped until the next valid header; a payload checksum mismatch reports
/// errc::payload_corrupt with the frame's header (the frame boundary is kept); a payload above
/// max_frame_payload reports errc::frame_too_large and its bytes are skipped without buffering.
/// Frames of unknown type are skipped silently (counted in stats()).
class decoder {
 public:
  explicit decoder(const limits& lim = {});

  /// Decodes from the front of `input`, advancing it past consumed bytes. Returns at the first
  /// frame or error, or with need_more once `input` is empty. Views in the result stay valid
  /// until the next call and as long as the caller's input bytes do.
  decode_result next(byte_view& input);

  /// Counters since construction.
  const decoder_stats& stats() const noexcept { return stats_; }
  /// True when no partial frame is buffered (a clean frame boundary).
  bool at_boundary() const noexcept {
    return state_ == state::header && (buf_.empty() || pending_clear_);
  }

 private:
  enum class state { header, payload, skip, resync };

  decode_result finish_frame(const std::uint8_t* payload);
  bool scan_for_header(byte_view& input);

  std::uint32_t max_payload_;
  state state_ = state::header;
  frame_header header_{};
  byte_buffer buf_;              // partial header or partial frame payload
  std::uint64_t skip_left_ = 0;  // payload bytes still to skip
  std::size_t dropped_ = 0;      // dropped in the current resync episode
  bool pending_clear_ = false;   // buf_ holds the payload last returned
  decoder_stats stats_{};
};

}  // namespace netcore::protocol
