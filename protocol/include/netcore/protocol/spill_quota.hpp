#pragma once

#include <atomic>
#include <cstdint>

namespace netcore::protocol {

/// What all spill files of a process (or of one runtime) may take together: open files (each
/// holds a descriptor while its message arrives) and bytes on disk of bodies still arriving.
///
/// Shared by every reassembler that points at it (storage_policy::quota) and safe to use from
/// any thread. A message that would exceed a bound fails with errc::storage_full before its
/// bytes are accepted, so a peer that opens thousands of large messages cannot exhaust the
/// process's descriptors or the disk. Bodies handed over to the application no longer count:
/// their files belong to it.
class spill_quota {
 public:
  /// `max_files` open spill files at most, `max_bytes` bytes in them at most (0 = none allowed).
  spill_quota(std::uint32_t max_files, std::uint64_t max_bytes) noexcept
      : max_files_(max_files), max_bytes_(max_bytes) {}
  spill_quota(const spill_quota&) = delete;
  spill_quota& operator=(const spill_quota&) = delete;

  /// Takes one file slot; false when all max_files are in use.
  bool try_acquire_file() noexcept { return try_add(files_, 1, max_files_); }
  /// Gives back a slot taken by try_acquire_file().
  void release_file() noexcept { files_.fetch_sub(1, std::memory_order_acq_rel); }

  /// Reserves `n` bytes; false (and nothing reserved) when they do not fit under max_bytes.
  bool try_reserve(std::uint64_t n) noexcept { return try_add(bytes_, n, max_bytes_); }
  /// Gives back `n` bytes reserved by try_reserve().
  void release(std::uint64_t n) noexcept { bytes_.fetch_sub(n, std::memory_order_acq_rel); }

  std::uint32_t max_files() const noexcept { return max_files_; }
  std::uint64_t max_bytes() const noexcept { return max_bytes_; }
  /// Spill files open now.
  std::uint64_t files() const noexcept { return files_.load(std::memory_order_acquire); }
  /// Bytes reserved now.
  std::uint64_t bytes() const noexcept { return bytes_.load(std::memory_order_acquire); }

 private:
  static bool try_add(std::atomic<std::uint64_t>& value, std::uint64_t n,
                      std::uint64_t max) noexcept {
    std::uint64_t current = value.load(std::memory_order_acquire);
    do {
      if (n > max || current > max - n) return false;
    } while (!value.compare_exchange_weak(current, current + n, std::memory_order_acq_rel));
    return true;
  }

  const std::uint32_t max_files_;
  const std::uint64_t max_bytes_;
  std::atomic<std::uint64_t> files_{0};
  std::atomic<std::uint64_t> bytes_{0};
};

}  // namespace netcore::protocol
