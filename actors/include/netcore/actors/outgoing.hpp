#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/error.hpp>
#include <netcore/protocol/metadata.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace netcore::actors {

/// A message to send: metadata and a body held in memory (shared, never copied by netcore) or
/// streamed from a file without loading it.
struct outgoing_message {
  protocol::message_meta meta;
  /// The body in memory; ignored when file_path is set.
  std::shared_ptr<const protocol::byte_buffer> bytes;
  /// A file to stream the body from.
  std::string file_path;

  /// A message whose body is `body` (moved into shared storage).
  static outgoing_message from_bytes(std::string route, protocol::byte_buffer body,
                                     protocol::content_type type = protocol::content_type::raw) {
    outgoing_message m;
    m.meta.route = std::move(route);
    m.meta.type = type;
    m.bytes = std::make_shared<const protocol::byte_buffer>(std::move(body));
    return m;
  }
  /// A message whose body is streamed from the file at `path`.
  static outgoing_message from_file(std::string route, std::string path) {
    outgoing_message m;
    m.meta.route = std::move(route);
    m.file_path = std::move(path);
    return m;
  }
  /// Body size when it lives in memory (0 for file bodies).
  std::size_t memory_size() const noexcept { return bytes ? bytes->size() : 0; }
};

/// How far an outgoing multi-frame message has got: body bytes written to the stream so far.
struct send_progress {
  std::uint64_t id = 0;
  std::uint64_t written = 0;
  /// The body size (protocol::unknown_size until known).
  std::uint64_t total = 0;
};

/// What became of an outgoing message: sent in full, or failed (errc says why).
struct send_outcome {
  std::uint64_t id = 0;
  protocol::errc error = protocol::errc::ok;
  bool ok() const noexcept { return error == protocol::errc::ok; }
};

}  // namespace netcore::actors
