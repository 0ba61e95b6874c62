#pragma once

#include <netcore/protocol/spill_quota.hpp>
#include <netcore/protocol/transform.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace netcore::protocol {

/// Receive-side limits. Every size a peer names is checked against these before anything is
/// allocated; every violation is a typed errc. All are configurable; the defaults are safe.
struct limits {
  /// Largest frame payload accepted (at most max_wire_payload). Also the decoder's only buffer.
  std::uint32_t max_frame_payload = 1u << 20;
  /// Largest message body accepted (declared or received).
  std::uint64_t max_message_size = std::uint64_t{16} << 30;
  /// Most messages from the peer that may be open (being received) at once.
  std::uint32_t max_concurrent_messages = 1024;
  /// Most body bytes held in memory across all open incoming messages.
  std::uint64_t max_buffered_bytes = std::uint64_t{64} << 20;
  /// Longest route, in bytes.
  std::uint32_t max_route_length = 1024;
  /// Most header fields in one OPEN frame.
  std::uint32_t max_headers = 64;
  /// Most bytes of route plus headers in one OPEN frame.
  std::uint32_t max_metadata_bytes = 64u << 10;
  /// An open incoming message with no frame for this long fails with errc::idle_timeout.
  std::chrono::milliseconds idle_timeout{30'000};
  /// Transforms whose bodies this side undoes (bit k = transform_id k), announced in HELLO:
  /// peers apply no others. A message naming another one fails with
  /// errc::unsupported_transform (and the session ends the connection). 0 = none: peers send
  /// every body as it is. Bits of transforms this build does not know are ignored. Default: zstd.
  std::uint64_t accepted_transforms = known_transforms;
  /// Largest size a transformed body may declare for itself, before its first transform and
  /// between two, announced in HELLO (a sender sends larger bodies plain). A larger one fails at
  /// its OPEN with errc::message_too_large, before any of it arrives, and so does a transformed
  /// body whose wire size is larger. Decoding one body therefore takes at most twice this in
  /// memory (its wire bytes and its decoded bytes), for as long as it runs.
  std::uint64_t max_decoded_size = std::uint64_t{4} << 20;
};

/// Where incoming message bodies are kept while they arrive.
struct storage_policy {
  /// Bodies up to this size stay in memory; larger ones (declared, or grown past it) go to a file.
  std::uint64_t memory_threshold = std::uint64_t{4} << 20;
  /// Directory for spill files; empty = never spill (bodies stay in memory, bounded by
  /// limits::max_buffered_bytes). Files are created there exclusively with mode 0600 under a
  /// name chosen locally, and removed when their message fails or is cancelled. Where the file
  /// system allows it they have no name until their message is complete (O_TMPFILE), so the
  /// kernel frees them if the process dies.
  std::string spill_directory;
  /// Bounds on the spill files of every reassembler sharing it (open files, bytes of bodies
  /// still arriving); a message beyond them fails with errc::storage_full. Null = only the file
  /// system's free space bounds them (the runtime always sets one, runtime_config::spill_quota).
  std::shared_ptr<spill_quota> quota;
};

}  // namespace netcore::protocol
