#pragma once

#include <cstddef>
#include <cstdint>
#include <system_error>
#include <utility>
#include <vector>

namespace netcore::session {

/// Counts of failures by reason (a small flat map; reasons are few).
class reason_counts {
 public:
  /// Adds one failure for `reason`.
  void add(std::error_code reason);
  /// Failures counted for `reason`.
  std::uint64_t count(std::error_code reason) const noexcept;
  /// Every failure counted.
  std::uint64_t total() const noexcept;
  /// The reasons seen, with their counts, in first-seen order.
  const std::vector<std::pair<std::error_code, std::uint64_t>>& entries() const noexcept {
    return entries_;
  }

 private:
  std::vector<std::pair<std::error_code, std::uint64_t>> entries_;
};

/// Bodies that travelled transformed (compressed), and their bytes both ways.
struct transform_counts {
  std::uint64_t messages = 0;
  std::uint64_t plain_bytes = 0;  ///< Their bodies as the applications see them.
  std::uint64_t wire_bytes = 0;   ///< Their bodies as they travelled.
};

/// Counters of one session: what a CLI's `stats` and a server's metrics show. Monotonic except
/// the "current" gauges at the end.
struct session_stats {
  std::uint64_t bytes_in = 0;     ///< Bytes fed in from the transport.
  std::uint64_t bytes_out = 0;    ///< Bytes written to the transport.
  std::uint64_t frames_in = 0;    ///< Verified frames decoded.
  std::uint64_t frames_out = 0;   ///< Frames put into batches.
  std::uint64_t batches_out = 0;  ///< Batches built.

  std::uint64_t messages_sent = 0;      ///< Outgoing messages written in full.
  std::uint64_t messages_received = 0;  ///< Incoming messages delivered.
  reason_counts send_failures;          ///< Outgoing messages that failed, by reason.
  reason_counts receive_failures;       ///< Incoming messages that failed, by reason.

  std::uint64_t resync_bytes_dropped = 0;   ///< Garbage skipped to find a frame boundary.
  std::uint64_t corrupt_frames = 0;         ///< Frames dropped for a payload checksum mismatch.
  std::uint64_t credit_stalls = 0;          ///< Times a message waited for the peer's credit.
  std::uint64_t backpressure_refusals = 0;  ///< send() calls refused: queue full.
  std::uint64_t pings_sent = 0;
  std::uint64_t pings_received = 0;
  std::uint64_t input_pauses = 0;  ///< Times input stopped: deliveries beyond delivery_budget.

  transform_counts compressed;    ///< Outgoing bodies compressed before they were sent.
  transform_counts decompressed;  ///< Incoming bodies that arrived compressed.
  std::uint64_t compression_skipped =
      0;  ///< Outgoing bodies compression did not shrink: sent plain.

  // The reliable link (lossy streams only; all 0 otherwise).
  std::uint64_t link_packets_sent = 0;     ///< Data packets written for the first time.
  std::uint64_t link_retransmissions = 0;  ///< Data packets sent again (lost or timed out).
  std::uint64_t link_corrupt_packets = 0;  ///< Packets dropped for a failed checksum.
  std::uint64_t link_duplicates = 0;       ///< Data packets that had arrived before.
  std::uint64_t link_bytes_dropped = 0;    ///< Bytes skipped to find the next packet.
  std::uint64_t link_rtt_us = 0;           ///< Current: smoothed round trip, microseconds.

  std::size_t open_outgoing = 0;          ///< Current: outgoing messages not yet finished.
  std::size_t open_incoming = 0;          ///< Current: incoming messages being received.
  std::uint64_t queued_bytes = 0;         ///< Current: outgoing bytes queued, not yet written.
  std::uint64_t buffered_bytes = 0;       ///< Current: incoming body bytes held in memory.
  std::uint64_t unacknowledged = 0;       ///< Current: delivered cost not yet acknowledged.
  std::uint64_t unacknowledged_peak = 0;  ///< The most `unacknowledged` ever was.
};

}  // namespace netcore::session
