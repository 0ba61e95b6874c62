#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/protocol/error.hpp>
#include <netcore/protocol/result.hpp>
#include <netcore/protocol/spill_quota.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace netcore::protocol::detail {

/// A file that receives a message body as it arrives, so the body never has to fit in memory.
///
/// The file is created without a name where the kernel allows it (O_TMPFILE in the configured
/// directory, mode 0600): should the process die, the kernel frees it, so no spill file can
/// outlive its process. It gets a name only when its message is complete and handed over
/// (close_and_keep(): "netcore-<pid>-<sequence>-<random hex>", nothing a peer sends goes into
/// it). On file systems without O_TMPFILE the file is created under that name at once
/// (O_CREAT | O_EXCL). Bytes are written straight through, never buffered. Unless
/// close_and_keep() succeeded, the destructor closes and removes the file.
///
/// With a quota the file holds one of its file slots from create() until it is kept or
/// discarded, and reserves the bytes it was created for plus whatever it grows beyond them.
class spill_file {
 public:
  spill_file() noexcept = default;
  ~spill_file();
  spill_file(spill_file&& other) noexcept;
  spill_file& operator=(spill_file&& other) noexcept;
  spill_file(const spill_file&) = delete;
  spill_file& operator=(const spill_file&) = delete;

  /// Creates a new, empty spill file in `directory` for a body of `expected` bytes (0 when
  /// unknown). `sequence` goes into the eventual name (callers pass a counter); a random part
  /// makes names unique across processes and instances.
  /// Errors: errc::storage_full when `quota` has no file slot or no room for `expected` bytes,
  /// or the file system has less free space than `expected`; errc::storage_failed when the
  /// file cannot be created (missing directory, no permission, no descriptor left, ...).
  static result<spill_file> create(const std::string& directory, std::uint64_t sequence,
                                   std::shared_ptr<spill_quota> quota = nullptr,
                                   std::uint64_t expected = 0);

  /// True while the file is open for appending.
  bool is_open() const noexcept { return fd_ >= 0; }
  /// The file's path: empty while an unnamed file is open, set once it is kept.
  const std::string& path() const noexcept { return path_; }
  /// Bytes appended so far.
  std::uint64_t size() const noexcept { return size_; }

  /// Appends `bytes` to the file, retrying interrupted and short writes.
  /// Errors: errc::storage_full when growing past the reservation does not fit the quota;
  /// errc::storage_failed (e.g. ENOSPC, EIO, EFBIG, or the file is not open).
  errc append(byte_view bytes) noexcept;

  /// Names the file (an unnamed one is linked into its directory), closes it and hands it
  /// over: from now on it is not removed by this object and no longer counts against the quota.
  /// Errors: errc::storage_failed (linking or closing failed; the file is then still removed on
  /// destruction).
  result<std::string> close_and_keep();

  /// Closes and removes the file now (unless it was kept); the object becomes empty.
  void discard() noexcept;

 private:
  int fd_ = -1;
  bool named_ = false;  ///< created under path_ (no O_TMPFILE)
  bool kept_ = false;
  std::string directory_;  ///< with a trailing '/'
  std::string path_;
  std::uint64_t sequence_ = 0;
  std::uint64_t size_ = 0;
  std::uint64_t reserved_ = 0;  ///< bytes reserved in quota_
  std::shared_ptr<spill_quota> quota_;

  void release_quota() noexcept;
};

}  // namespace netcore::protocol::detail
