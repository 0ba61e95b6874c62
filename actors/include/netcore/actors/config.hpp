#pragma once

#include <netcore/session/config.hpp>
#include <netcore/transports/psk_config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace netcore::actors {

/// Everything tunable about one connection: the session's protocol settings and limits
/// (inherited: limits, storage, credits, queue bounds, keepalive, timeouts, transforms) and how
/// the runtime drives it. Sizes of 0 take the transport's profile (a serial line wants small
/// chunks).
///
/// Compression: `transforms.apply = protocol::transform_bit(protocol::transform_id::zstd)`
/// compresses outgoing memory bodies of transforms.min_size … max_size for peers that take zstd
/// (every netcore peer does unless its limits.accepted_transforms says otherwise); the session
/// compresses them on the connection's thread, larger and file bodies are streamed plain.
///
/// Safe by default: incoming bodies above storage.memory_threshold (4 MiB) go to spill files in
/// the runtime's private directory when storage.spill_directory is empty, so a 200 MiB message
/// arrives with the defaults; anything above limits.max_message_size is refused to the sender
/// before it sends the body.
struct connection_config : session::session_config {
  connection_config() {
    chunk_size = 0;
    write_batch = 0;
  }

  /// Bytes asked of each read (0 = transport profile).
  std::size_t read_size = 0;
  /// Spill large incoming bodies to files (in storage.spill_directory, or the runtime's private
  /// directory when that is empty). Off: bodies stay in memory, bounded by
  /// limits.max_buffered_bytes, and larger ones fail with wire_errc::memory_limit.
  bool spill_to_files = true;
  /// Body bytes an outgoing message actor may have produced beyond what was written.
  std::size_t message_window = 1u << 20;
  /// Messages of (send_atom, wait_atom, ...) requests that may wait for room in a full outgoing
  /// queue; one more fails with runtime_errc::backpressure.
  std::size_t max_waiting_sends = 4096;
  /// Bytes of queued outgoing messages the blocking connection::send() lets wait before it
  /// blocks the caller (small messages have a quarter of it to themselves).
  std::size_t send_queue_limit = 64u << 20;
  /// How long the destructor of a connection (and close() without an argument) lets queued
  /// messages drain before it gives up on them (they then fail with runtime_errc::drain_timeout).
  std::chrono::milliseconds close_timeout{10'000};
  /// After a connection's last frame is written, how long it waits for the peer to close its end
  /// before it closes the transport anyway.
  std::chrono::milliseconds linger{2'000};
  /// How long receive() polls for a message before it sleeps. A spin spares a request/reply
  /// caller the wake-up of a sleeping thread (tens of µs on an idle vCPU) when a core is free for
  /// it; with fewer cores than busy threads it delays the threads that would deliver the reply
  /// (measured: 13-40 µs round trips without a spin, 128 µs with a 50 µs spin on 2 vCPUs).
  /// 0 = sleep at once.
  std::chrono::microseconds receive_spin{0};
  /// Streams whose reads block (a user's send/recv pair, in-memory pairs) are served by a reader
  /// and a writer thread: buffers the reader may hand over at once, and batches the writer may
  /// hold.
  std::size_t reads_in_flight = 4;
  std::size_t writes_in_flight = 2;

  /// Pre-shared-key authentication (docs/PROTOCOL.md, "Pre-session handshake"), client side:
  /// runtime::connect_tcp(), connect_unix(), open_serial() and open_pipe() run the handshake on
  /// the calling thread (bounded by psk->timeout) before the connection exists, and fail with
  /// its error (transport_errc::auth_failed, auth_timeout, auth_protocol_error). runtime::adopt()
  /// does not run it: hand it a stream from transports::psk_client() instead. The key is not kept
  /// once the connection exists.
  std::optional<transports::psk_config> psk;
  /// Pre-shared-key authentication, server side: runtime::listen_tcp(), listen_unix() and
  /// listen() run the handshake with every accepted peer on the acceptor's event loop before a
  /// connection exists for it; a peer that fails it or is silent past psk_server->timeout is
  /// closed and counted (acceptor::handshakes()). At most
  /// runtime_config::max_pending_handshakes run at once. Shared, never modified; null: none.
  std::shared_ptr<const transports::psk_server_config> psk_server;
};

}  // namespace netcore::actors
