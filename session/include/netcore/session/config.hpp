#pragma once

#include <netcore/protocol/limits.hpp>
#include <netcore/protocol/transform.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace netcore::session {

/// The reliable link that carries the frame stream over a lossy stream (serial lines): sequenced,
/// checksummed packets, acknowledged by the peer and repaired by selective-repeat retransmission
/// (docs/PROTOCOL.md, "Reliable link"). Both ends of a link must agree on `enabled`.
struct link_config {
  /// Use it on streams marked lossy. Off: the frames go bare and the session only tolerates
  /// losses (repairs credit, reports failures) without repairing them.
  bool enabled = true;
  /// Frame-stream bytes per packet (28 bytes of header each: 1.4 % at the default).
  std::size_t packet_payload = 2048;
  /// Longest packet payload accepted from the peer; longer claims are garbage.
  std::size_t max_packet_payload = 16u << 10;
  /// Packets sent and not yet acknowledged, at most (1 … link_max_window).
  std::uint32_t window = 32;
  /// Retransmission timeout before the first round-trip measurement.
  std::chrono::milliseconds initial_rto{200};
  /// Bounds of the retransmission timeout (it follows the measured round trip, RFC 6298).
  std::chrono::milliseconds min_rto{10};
  std::chrono::milliseconds max_rto{4'000};
  /// Retransmissions of one packet before the link fails with runtime_errc::retries_exhausted.
  std::uint32_t max_retries = 12;
  /// The link's rate in bytes per second when known (a serial line's baud / 10), else 0: the
  /// timeout never drops below the time two full packets take on the wire.
  std::uint64_t bytes_per_second = 0;
};

/// Which outgoing bodies a session transforms (compresses), and how (docs/PROTOCOL.md,
/// "Transforms"). A transform is applied only where the peer announced that it undoes it (its
/// limits.accepted_transforms), and a body goes as it is when the transform would not make it
/// smaller. What this side undoes, and announces, is its own limits.accepted_transforms and
/// limits.max_decoded_size.
struct transform_config {
  /// Transforms applied to outgoing bodies (bit k = protocol::transform_id k; bits of unknown
  /// transforms are ignored), in ascending id order. 0, the default: every body goes as it is
  /// (compression costs CPU on both sides, and over TLS compressing secrets beside data an
  /// attacker chooses can reveal them through the sizes: docs/SECURITY.md).
  std::uint64_t apply = 0;
  /// Bodies smaller than this go as they are. At 4 KiB zstd takes ~15-25 µs and saves ~3 KiB of
  /// text, about what sending 3 KiB takes at 1 Gbit/s; smaller bodies save less per µs spent.
  std::uint64_t min_size = 4u << 10;
  /// Bodies larger than this go as they are, and so do streamed ones (open_stream()): a body is
  /// compressed whole, by send(), on the caller's thread (in the runtime the connection's event
  /// loop), ~2-4 ms per MiB at level 1 here. The peer's limits.max_decoded_size bounds it too.
  std::uint64_t max_size = 1u << 20;
  /// zstd's compression level (1 … 19, negative: faster; 0 = zstd's default, 3).
  int zstd_level = 1;
};

/// Everything tunable about one session (one connection's protocol state). Every resource a peer
/// can make the session spend is bounded by a field here, never by what the peer claims.
struct session_config {
  /// Receive-side limits (frame size, message size, concurrency, memory, metadata, idle timeout);
  /// the ones that concern the sender are announced to the peer in HELLO.
  protocol::limits limits;
  /// Where incoming bodies are kept (memory threshold, spill directory).
  protocol::storage_policy storage;
  /// Which outgoing bodies are transformed (compressed); off by default.
  transform_config transforms;

  /// Body bytes per DATA frame (at most the peer's max_frame_payload).
  std::size_t chunk_size = 64u << 10;
  /// Bytes next_batch() puts into one batch at most (one vectored write).
  std::size_t write_batch = 1u << 20;
  /// Messages whose body is at most this size travel as one SINGLE frame (when they fit the
  /// peer's max_frame_payload).
  std::size_t single_frame_max = 16u << 10;

  /// Credit each incoming message starts with (body bytes), announced in HELLO.
  std::uint64_t initial_message_credit = 4u << 20;
  /// Credit the connection starts with (wire bytes of message frames), announced in HELLO.
  std::uint64_t initial_connection_credit = 32u << 20;
  /// Cost of delivered messages (see received::cost) not yet acknowledged before the session
  /// stops granting connection credit: a consumer that does not keep up throttles the peer.
  std::uint64_t delivery_budget = 64u << 20;

  /// Most bytes of outgoing messages queued and not yet written (in-memory bodies, pushed
  /// chunks, plus message_overhead per message); beyond it send() fails with
  /// runtime_errc::backpressure.
  std::uint64_t max_queued_bytes = 256u << 20;
  /// Most outgoing messages queued and not yet finished.
  std::size_t max_queued_messages = 1u << 16;
  /// Most control frames (CANCEL, ERROR) waiting to be sent; a peer that makes the session
  /// answer faster than it reads ends the connection with errc::flood.
  std::size_t max_control_frames = 4096;
  /// PINGs (and PONGs) per second the peer may send, with a burst of as many; more end the
  /// connection with errc::flood. 0 = unlimited.
  std::uint32_t max_pings_per_second = 100;
  /// DATA/END frames for message ids the peer never opened that are tolerated before the
  /// connection ends with errc::protocol_error (on lossy streams lost OPENs make them normal:
  /// 0 = unlimited).
  std::uint32_t max_unknown_frames = 64;
  /// The stream may lose or corrupt bytes (serial lines): the session then grants back the
  /// credit of frames that vanished and tolerates frames of messages it never saw open.
  bool lossy = false;
  /// The reliable link used when `lossy` (see link_config): every message then arrives intact
  /// exactly once or fails on both sides, and a message's outcome means "acknowledged".
  link_config link;

  /// A PING goes out after this long without hearing from the peer, and again after each such
  /// interval (0 = none). Connections with traffic send none.
  std::chrono::milliseconds keepalive_interval{5'000};
  /// Silence from the peer after which the session fails with errc::peer_timeout (0 = never).
  std::chrono::milliseconds peer_timeout{15'000};
  /// Time the peer's HELLO may take to arrive before the session fails with
  /// runtime_errc::handshake_timeout (0 = wait forever).
  std::chrono::milliseconds handshake_timeout{10'000};
  /// While the peer owes bytes (it began a frame or has a message open, and this side is not
  /// withholding credit), it must send at least this many bytes per second, measured over
  /// `rate_window`; a slower peer (a slowloris) ends the connection with runtime_errc::too_slow
  /// (GOAWAY peer_timeout). 0 = no minimum.
  std::uint64_t min_data_rate = 128;
  std::chrono::milliseconds rate_window{10'000};
};

/// What every queued outgoing message and every delivered message costs the byte budgets
/// besides its body, so that floods of empty messages are bounded too.
inline constexpr std::uint64_t message_overhead = 256;

}  // namespace netcore::session
