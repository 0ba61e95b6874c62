#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/encoder.hpp>
#include <netcore/session/config.hpp>
#include <netcore/session/link_packet.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace netcore::session {

/// Counters of a reliable link.
struct link_stats {
  std::uint64_t packets_sent = 0;      ///< Data packets written for the first time.
  std::uint64_t retransmissions = 0;   ///< Data packets queued again (lost or timed out).
  std::uint64_t acks_sent = 0;         ///< Acknowledgement-only packets written.
  std::uint64_t packets_received = 0;  ///< Data packets taken (each exactly once).
  std::uint64_t duplicates = 0;        ///< Data packets that had arrived before.
  std::uint64_t out_of_window = 0;     ///< Data packets beyond the receive window, dropped.
  link_decoder_stats decoder;          ///< Corrupt headers and payloads, bytes skipped.
  std::chrono::microseconds srtt{0};   ///< Smoothed round trip (0 before the first sample).
  std::chrono::microseconds rto{0};    ///< Current retransmission timeout.
  std::size_t packet_payload = 0;      ///< Current payload of new packets.
};

/// Selective-repeat ARQ over one ordered byte stream that may lose, corrupt or duplicate bytes
/// (the model of T-MIN's sliding window and HDLC's asynchronous balanced mode). Outgoing: the
/// frame stream is cut into numbered packets; at most `window` are unacknowledged; each is kept
/// until the peer acknowledges it and sent again when the peer's acknowledgements show it lost
/// (a later packet arrived and this one did not: the stream is ordered) or when its timeout
/// passes (RFC 6298 from measured round trips, never below what two packets take at the link's
/// rate, doubled per retry). New packets shrink when many are lost (a noisy line) and grow back
/// to link_config::packet_payload when the line is clean. Incoming: packets are taken in order
/// exactly once; up to the window arriving out of order are held; every received packet is
/// acknowledged, piggybacked on the next outgoing packet or in an acknowledgement packet of its
/// own.
///
/// Sans I/O like session::core, which owns one per connection on lossy streams. Thread safety:
/// none.
class reliable_link {
 public:
  using clock = std::chrono::steady_clock;
  /// Where in-order incoming payloads go: `ctx` and the bytes (valid during the call).
  using sink = void (*)(void* ctx, protocol::byte_view bytes);

  explicit reliable_link(link_config config);
  ~reliable_link();
  reliable_link(const reliable_link&) = delete;
  reliable_link& operator=(const reliable_link&) = delete;

  // -- sending -----------------------------------------------------------------------------------

  /// Frame-stream bytes submit() should take now: what fits the free part of the window.
  std::size_t room() const noexcept;
  /// Copies `slices` into new packets (queued for transmission). The bytes are acknowledged, in
  /// order, through take_acked().
  void submit(const std::vector<protocol::io_slice>& slices);
  /// True when next_batch() has packets or an acknowledgement to write.
  bool wants_write() const noexcept;
  /// The next packets to write: retransmissions first, then new packets within the window, all
  /// carrying the current acknowledgement (or one acknowledgement packet). The slices stay valid
  /// until on_written() has accounted for them.
  const std::vector<protocol::io_slice>& next_batch();
  /// `n` more bytes of the batches were written, in order, at `now` (timeouts start here).
  void on_written(std::size_t n, clock::time_point now);
  /// Keeps the last batch (headers and payloads) alive for a writer on another thread.
  std::shared_ptr<const void> last_batch_owner() const;
  /// Frame-stream bytes the peer acknowledged since the last call.
  std::uint64_t take_acked() noexcept;
  /// True when every batch handed out was written and nothing waits to be.
  bool flushed() const noexcept;
  /// True when every packet submitted was acknowledged.
  bool idle() const noexcept { return inflight_.empty(); }
  /// Stops retransmitting (the session ended): what is queued goes out once, beyond the window
  /// too; timeouts stop.
  void stop_retransmitting() noexcept;

  // -- receiving ---------------------------------------------------------------------------------

  /// Takes bytes from the stream: acknowledgements update the send window; data packets that
  /// complete the in-order stream go to `deliver(ctx, bytes)`, in order, each byte exactly once.
  void feed(protocol::byte_view bytes, clock::time_point now, sink deliver, void* ctx);

  // -- time --------------------------------------------------------------------------------------

  /// Queues for retransmission every packet whose timeout passed; a packet past max_retries
  /// makes the link failed().
  void tick(clock::time_point now);
  /// When tick() must run next (the earliest packet timeout), if ever.
  std::optional<clock::time_point> next_deadline() const;
  /// True once a packet went unacknowledged after max_retries retransmissions.
  bool failed() const noexcept { return failed_; }

  link_stats stats() const;
  const link_config& config() const noexcept { return config_; }

 private:
  struct out_packet;
  struct emission;

  out_packet* find(std::uint64_t seq) noexcept;
  void on_packet(const link_header& h, protocol::byte_view payload, clock::time_point now,
                 sink deliver, void* ctx);
  void on_ack(std::uint32_t ack, std::uint32_t sack, clock::time_point now);
  void sample_rtt(clock::duration r);
  void lost(out_packet& p, bool shown_lost);
  std::size_t packet_size() const noexcept;
  std::uint64_t window_end() const noexcept;
  void count_transmission(const out_packet& p, bool arrived) noexcept;
  clock::duration timeout_of(const out_packet& p) const noexcept;
  std::uint32_t sack_bits() const noexcept;

  link_config config_;
  // -- send side --
  std::deque<out_packet> inflight_;  // seq base_ … next_seq_-1
  std::uint64_t base_ = 0;           // oldest unacknowledged
  std::uint64_t next_seq_ = 0;       // next new packet
  std::uint64_t first_unsent_ = 0;   // oldest never handed out
  std::deque<std::uint64_t> retransmit_;
  std::deque<std::shared_ptr<emission>> emissions_;
  std::size_t item_ = 0;          // item of emissions_.front() being written
  std::size_t item_written_ = 0;  // ... bytes of it written
  std::uint64_t tx_counter_ = 0;
  std::uint64_t acked_ = 0;
  bool retransmitting_ = true;
  bool failed_ = false;
  std::vector<protocol::io_slice> no_slices_;
  // -- receive side --
  link_decoder decoder_;
  std::uint64_t expected_ = 0;
  std::map<std::uint64_t, protocol::byte_buffer> held_;  // out of order, by sequence
  bool ack_due_ = false;
  // -- timing --
  clock::duration srtt_{0};
  clock::duration rttvar_{0};
  clock::duration rto_;
  double loss_ = 0;             // share of transmissions lost (moving average)
  double mean_wire_ = 0;        // bytes of a transmission (moving average)
  std::uint64_t observed_ = 0;  // transmissions whose fate is known
  link_stats stats_;
};

}  // namespace netcore::session
