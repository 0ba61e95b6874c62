#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/error.hpp>
#include <netcore/protocol/result.hpp>

#include <cstdint>
#include <string>
#include <utility>

namespace netcore::protocol::detail {

/// A file that receives a message body as it arrives, so the body never has to fit in memory.
///
/// The file is created exclusively (O_CREAT | O_EXCL, mode 0600) in a configured directory under
/// a name chosen here ("netcore-<pid>-<sequence>-<random hex>.part"); nothing a peer sends goes
/// into the name. Bytes are written straight through, never buffered. Unless close_and_keep()
/// succeeded, the destructor closes and removes the file.
class spill_file {
 public:
  spill_file() noexcept = default;
  ~spill_file();
  spill_file(spill_file&& other) noexcept;
  spill_file& operator=(spill_file&& other) noexcept;
  spill_file(const spill_file&) = delete;
  spill_file& operator=(const spill_file&) = delete;

  /// Creates a new, empty spill file in `directory`. `sequence` goes into the name (callers pass
  /// a counter); a random part makes names unique across processes and instances, and a name
  /// that exists already is retried a few times with a fresh random part.
  /// Errors: errc::storage_failed (missing directory, not a directory, no permission, ...).
  static result<spill_file> create(const std::string& directory, std::uint64_t sequence);

  /// True while the file is open for appending.
  bool is_open() const noexcept { return fd_ >= 0; }
  /// The file's path (empty for a default-constructed object).
  const std::string& path() const noexcept { return path_; }
  /// Bytes appended so far.
  std::uint64_t size() const noexcept { return size_; }

  /// Appends `bytes` to the file, retrying interrupted and short writes.
  /// Errors: errc::storage_failed (e.g. ENOSPC, EIO, EFBIG, or the file is not open).
  errc append(byte_view bytes) noexcept;

  /// Closes the file and hands it over: from now on it is not removed by this object. Fails when
  /// the file was removed from its directory behind our back or closing reports an error; the
  /// file is then still removed on destruction. Errors: errc::storage_failed.
  result<std::string> close_and_keep();

  /// Closes and removes the file now (unless it was kept); the object becomes empty.
  void discard() noexcept;

 private:
  spill_file(int fd, std::string path) noexcept : fd_(fd), path_(std::move(path)) {}

  int fd_ = -1;
  std::string path_;
  std::uint64_t size_ = 0;
  bool kept_ = false;
};

}  // namespace netcore::protocol::detail
