#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/result.hpp>

#include <cstdint>
#include <string>

namespace netcore::protocol {

/// The body of a received message: bytes in memory, or a file for large bodies.
///
/// A file-backed body hands its file to the user: the file stays on disk after the body is
/// destroyed unless remove_file() is called; its path was chosen locally, never by the peer.
class message_body {
 public:
  message_body() = default;
  /// A body held in memory.
  static message_body in_memory(byte_buffer bytes);
  /// A body stored in the file at `path`, `size` bytes long.
  static message_body in_file(std::string path, std::uint64_t size);

  /// True when the body lives in a file.
  bool is_file() const noexcept { return !path_.empty(); }
  /// Body size in bytes.
  std::uint64_t size() const noexcept { return is_file() ? file_size_ : bytes_.size(); }
  /// The in-memory bytes (empty for a file-backed body).
  const byte_buffer& bytes() const noexcept { return bytes_; }
  /// Moves the in-memory bytes out.
  byte_buffer take_bytes() noexcept { return std::move(bytes_); }
  /// The file's path (empty for an in-memory body).
  const std::string& path() const noexcept { return path_; }
  /// The whole body as bytes: the memory itself, or the file read back.
  /// Errors: errc::storage_failed when the file cannot be read.
  result<byte_buffer> read_all() const;
  /// Deletes the backing file, if any; the body becomes empty.
  void remove_file() noexcept;

 private:
  byte_buffer bytes_;
  std::string path_;
  std::uint64_t file_size_ = 0;
};

}  // namespace netcore::protocol
