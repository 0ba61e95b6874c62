#pragma once

#include <netcore/protocol/limits.hpp>
#include <netcore/protocol/metadata.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace netcore::actors {

/// Everything tunable about one connection. Zero sizes mean "take the transport's profile".
struct connection_config {
  /// Receive-side limits (frame size, message size, concurrency, memory, metadata, idle timeout).
  protocol::limits limits;
  /// Where incoming bodies are kept (memory threshold, spill directory).
  protocol::storage_policy storage;

  /// Body bytes per DATA frame (0 = transport profile).
  std::size_t chunk_size = 0;
  /// Target bytes per vectored write (0 = transport profile).
  std::size_t write_batch = 0;
  /// Bytes asked of each transport read (0 = transport profile).
  std::size_t read_size = 0;
  /// Batches up to this size are written by the link itself when the writer is idle (no thread
  /// hand-off: lower latency on a quiet connection); larger ones go to the writer thread.
  std::size_t inline_write_max = 64u << 10;
  /// Writes handed to the writer at once (double buffering keeps the stream busy).
  std::size_t writes_in_flight = 2;
  /// Reads handed to the receiver at once: bounds received-but-unprocessed bytes to
  /// reads_in_flight × read_size.
  std::size_t reads_in_flight = 4;

  /// Messages with a body up to this size travel as one frame and skip the per-message actor.
  std::size_t single_frame_max = 16u << 10;
  /// Body bytes an outgoing message actor may have handed to the link but not yet written.
  std::size_t message_window = 1u << 20;
  /// Bytes of queued outgoing messages the blocking connection::send() lets wait before it
  /// blocks the caller.
  std::size_t send_queue_limit = 64u << 20;

  /// Credit each incoming message starts with, announced to the peer in HELLO.
  std::uint64_t initial_message_credit = 4u << 20;
  /// Credit the connection starts with, announced to the peer in HELLO.
  std::uint64_t initial_connection_credit = 32u << 20;
  /// Bytes of delivered-but-unacknowledged incoming messages before the connection stops
  /// granting credit to the peer (a slow consumer throttles the sender).
  std::uint64_t delivery_budget = 64u << 20;

  /// Interval between keepalive PINGs (0 = no keepalive).
  std::chrono::milliseconds keepalive_interval{5'000};
  /// Silence from the peer after which the connection fails with errc::peer_timeout.
  std::chrono::milliseconds peer_timeout{15'000};
};

}  // namespace netcore::actors
