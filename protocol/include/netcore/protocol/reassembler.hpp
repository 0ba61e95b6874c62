#pragma once

#include <netcore/protocol/error.hpp>
#include <netcore/protocol/frame.hpp>
#include <netcore/protocol/limits.hpp>
#include <netcore/protocol/message_body.hpp>
#include <netcore/protocol/metadata.hpp>
#include <netcore/protocol/transform_codec.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>

namespace netcore::protocol {

/// A complete, verified incoming message.
struct incoming_message {
  std::uint64_t id = 0;  ///< The peer's id for the message.
  message_meta meta;     ///< Route, content type, priority, headers.
  message_body body;     ///< The verified body.
};

/// What the reassembler reports: a completed message or a failed one.
struct reassembly_event {
  enum class kind { completed, failed };
  kind what = kind::completed;
  std::uint64_t id = 0;      ///< The peer's message id.
  errc error = errc::ok;     ///< kind::failed: why.
  incoming_message message;  ///< kind::completed: the message.
};

/// Counters kept by a reassembler.
struct reassembler_stats {
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t spilled = 0;             ///< Messages that went to a file.
  std::uint64_t body_bytes = 0;          ///< Body bytes accepted (as they arrived: wire bytes).
  std::uint64_t decoded = 0;             ///< Messages whose transforms were undone.
  std::uint64_t decoded_wire_bytes = 0;  ///< Their bodies' bytes as they arrived.
  std::uint64_t decoded_bytes = 0;       ///< Their bodies' bytes once the transforms were undone.
};

/// Rebuilds incoming messages from decoded frames (sans I/O; time is passed in).
///
/// Chunks of many messages may interleave; each message's chunks arrive in order. Bodies stay in
/// memory up to storage_policy::memory_threshold and go to a spill file beyond it. The digest in
/// END (or in a single-frame OPEN) is verified before a message is reported completed; events
/// come out in completion order. A failure concerns one message only: the others continue.
/// Spill files of failed, cancelled or unfinished messages are removed (also on destruction).
///
/// A transformed message (flags::transformed) has its transforms checked at its OPEN (announced
/// ones only: limits::accepted_transforms; every declared size within limits::max_decoded_size)
/// and undone once its wire body is complete and verified; the decoded body is then kept like
/// any other (memory, or a spill file above the threshold) and must have exactly the declared
/// size. Its failures (errc::transform_failed, size_mismatch, message_too_large) are that
/// message's; errc::unsupported_transform is one too, but the session ends the connection for it.
class reassembler {
 public:
  using clock = std::chrono::steady_clock;

  explicit reassembler(const limits& lim = {}, storage_policy policy = {});
  ~reassembler();
  reassembler(const reassembler&) = delete;
  reassembler& operator=(const reassembler&) = delete;

  /// Feeds one verified frame about a message the peer originated: OPEN, DATA, END, or CANCEL
  /// without flags::peer_origin. Other frame types are ignored (errc::ok). Returns errc::ok or
  /// the error that failed the frame's message (also reported as an event when the message was
  /// known). Errors about an unknown id are returned only (errc::unknown_message).
  errc on_frame(const frame_view& frame, clock::time_point now);

  /// Fails the message named by a frame whose payload was corrupt (decoder errc::payload_corrupt).
  void on_corrupt_frame(const frame_header& header);

  /// Fails (and cleans up) the open message `id` with `reason`, e.g. a local cancel.
  /// Returns false when no such message is open.
  bool fail(std::uint64_t id, errc reason);

  /// Fails every open message with `reason` (disconnect, shutdown).
  void fail_all(errc reason);

  /// Fails every open message that has seen no frame since `now - limits::idle_timeout`.
  /// Returns how many failed.
  std::size_t expire(clock::time_point now);

  /// The next event, in completion order, or nothing.
  std::optional<reassembly_event> poll();

  /// Messages being received right now.
  std::size_t open_count() const noexcept;
  /// Body bytes currently held in memory by open messages.
  std::uint64_t buffered_bytes() const noexcept { return buffered_; }
  /// Body bytes received so far for open message `id` (0 if not open).
  std::uint64_t received(std::uint64_t id) const noexcept;
  /// The earliest time an open message would expire, if any is open.
  std::optional<clock::time_point> next_deadline() const;
  /// Counters since construction.
  const reassembler_stats& stats() const noexcept { return stats_; }

 private:
  struct partial;
  errc on_open(const frame_view& f, clock::time_point now);
  errc on_single(const frame_view& f, std::uint64_t id, std::uint64_t declared);
  errc on_data(const frame_view& f, clock::time_point now);
  errc on_end(const frame_view& f);
  void fail_partial(std::uint64_t id, errc reason);
  errc append(partial& p, byte_view bytes);
  // Transforms and complete bodies (reassembler_transforms.cpp).
  errc read_transforms(const frame_view& f, std::uint64_t declared, transform_chain& chain,
                       std::size_t& consumed) const;
  errc undo_transforms(const transform_chain& chain, byte_view wire, byte_buffer& out);
  errc decode_body(const transform_chain& chain, message_body& body);
  errc store_complete(byte_view content, byte_buffer* owned, message_body& out);

  limits limits_;
  storage_policy policy_;
  transform_codec codec_;
  std::unordered_map<std::uint64_t, std::unique_ptr<partial>> open_;
  std::deque<reassembly_event> events_;
  std::uint64_t buffered_ = 0;
  std::uint64_t file_counter_ = 0;
  reassembler_stats stats_{};
};

}  // namespace netcore::protocol
