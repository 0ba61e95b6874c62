#include "spill_file.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <random>
#include <utility>

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

namespace netcore::protocol::detail {

namespace {

// How many names are tried when the chosen one exists already.
constexpr int max_create_attempts = 8;

// 64 unpredictable bits for a file name. The kernel's generator first; should it be unavailable,
// a mix of std::random_device, the clock and a per-process counter (uniqueness is what matters
// here, O_EXCL guarantees that a name is never reused).
std::uint64_t random_bits() noexcept {
  std::uint64_t value = 0;
  ssize_t got = ::getrandom(&value, sizeof value, GRND_NONBLOCK);
  if (got == static_cast<ssize_t>(sizeof value)) return value;

  static std::atomic<std::uint64_t> fallback_counter{0};
  std::uint64_t mix = static_cast<std::uint64_t>(
      std::chrono::high_resolution_clock::now().time_since_epoch().count());
  mix ^= (fallback_counter.fetch_add(1) + 1) * 0x9E3779B97F4A7C15ull;
  try {
    std::random_device rd;
    mix ^= (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  } catch (...) {
    // The clock and counter alone still give distinct names; O_EXCL catches collisions.
  }
  // splitmix64 finaliser.
  mix = (mix ^ (mix >> 30)) * 0xBF58476D1CE4E5B9ull;
  mix = (mix ^ (mix >> 27)) * 0x94D049BB133111EBull;
  return mix ^ (mix >> 31);
}

std::string make_name(std::uint64_t sequence) {
  char name[96];
  std::snprintf(name, sizeof name, "netcore-%ld-%llu-%016llx", static_cast<long>(::getpid()),
                static_cast<unsigned long long>(sequence),
                static_cast<unsigned long long>(random_bits()));
  return name;
}

// Bytes a growing file of unknown size reserves at a time, so that the quota is not touched
// for every chunk.
constexpr std::uint64_t reserve_step = 1u << 20;

// True when the file system holding `directory` has room for `bytes` more (or cannot say).
bool has_room(const std::string& directory, std::uint64_t bytes) noexcept {
  if (bytes == 0) return true;
  struct statvfs st {};
  if (::statvfs(directory.c_str(), &st) != 0) return true;  // the writes will tell
  const std::uint64_t unit = st.f_frsize != 0 ? st.f_frsize : 1;
  return bytes / unit <= st.f_bavail;
}

int open_retrying(const char* path, int flags, mode_t mode) noexcept {
  int fd;
  do {
    fd = ::open(path, flags, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

}  // namespace

spill_file::~spill_file() {
  discard();
}

spill_file::spill_file(spill_file&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), named_(std::exchange(other.named_, false)),
      kept_(std::exchange(other.kept_, false)), directory_(std::move(other.directory_)),
      path_(std::move(other.path_)), sequence_(other.sequence_),
      size_(std::exchange(other.size_, 0)), reserved_(std::exchange(other.reserved_, 0)),
      quota_(std::move(other.quota_)) {
  other.path_.clear();
}

spill_file& spill_file::operator=(spill_file&& other) noexcept {
  if (this != &other) {
    discard();
    fd_ = std::exchange(other.fd_, -1);
    named_ = std::exchange(other.named_, false);
    kept_ = std::exchange(other.kept_, false);
    directory_ = std::move(other.directory_);
    path_ = std::move(other.path_);
    other.path_.clear();
    sequence_ = other.sequence_;
    size_ = std::exchange(other.size_, 0);
    reserved_ = std::exchange(other.reserved_, 0);
    quota_ = std::move(other.quota_);
  }
  return *this;
}

result<spill_file> spill_file::create(const std::string& directory, std::uint64_t sequence,
                                      std::shared_ptr<spill_quota> quota, std::uint64_t expected) {
  if (directory.empty()) return errc::storage_failed;
  spill_file f;
  f.directory_ = directory;
  if (f.directory_.back() != '/') f.directory_.push_back('/');
  f.sequence_ = sequence;
  if (quota) {
    if (!quota->try_acquire_file()) return errc::storage_full;
    f.quota_ = std::move(quota);  // from here on, f gives the slot back however this ends
    if (!f.quota_->try_reserve(expected)) return errc::storage_full;
    f.reserved_ = expected;
  }
  if (!has_room(directory, expected)) return errc::storage_full;

  // Unnamed first: the kernel frees it with the last descriptor, even after a crash.
  f.fd_ = open_retrying(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (f.fd_ >= 0) {
    (void)::fchmod(f.fd_, 0600);  // the umask may only have removed bits
    return f;
  }
  // File systems without O_TMPFILE: a named file, created exclusively.
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) return errc::storage_failed;
  for (int attempt = 0; attempt < max_create_attempts; ++attempt) {
    std::string path = f.directory_ + make_name(sequence);
    f.fd_ = open_retrying(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (f.fd_ >= 0) {
      (void)::fchmod(f.fd_, 0600);
      f.named_ = true;
      f.path_ = std::move(path);
      return f;
    }
    if (errno != EEXIST) return errc::storage_failed;
  }
  return errc::storage_failed;
}

errc spill_file::append(byte_view bytes) noexcept {
  if (fd_ < 0) return errc::storage_failed;
  if (quota_ && bytes.size() > reserved_ - std::min(reserved_, size_)) {
    const std::uint64_t need = size_ + bytes.size() - reserved_;
    const std::uint64_t step = std::max(need, reserve_step);
    if (quota_->try_reserve(step)) {
      reserved_ += step;
    } else if (quota_->try_reserve(need)) {
      reserved_ += need;
    } else {
      return errc::storage_full;
    }
  }
  const std::uint8_t* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errc::storage_failed;
    }
    if (n == 0) return errc::storage_failed;  // no progress: treat like a full device
    p += n;
    left -= static_cast<std::size_t>(n);
    size_ += static_cast<std::uint64_t>(n);
  }
  return errc::ok;
}

result<std::string> spill_file::close_and_keep() {
  if (fd_ < 0 || kept_) return errc::storage_failed;
  if (named_) {
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || st.st_nlink == 0) return errc::storage_failed;
  } else {
    // Give the unnamed file a name: linkat through /proc/self/fd needs no privilege (unlike
    // AT_EMPTY_PATH). A name that exists already is retried with a fresh random part.
    char self[64];
    std::snprintf(self, sizeof self, "/proc/self/fd/%d", fd_);
    bool linked = false;
    for (int attempt = 0; attempt < max_create_attempts && !linked; ++attempt) {
      std::string path = directory_ + make_name(sequence_);
      if (::linkat(AT_FDCWD, self, AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0) {
        path_ = std::move(path);
        linked = true;
      } else if (errno != EEXIST) {
        return errc::storage_failed;
      }
    }
    if (!linked) return errc::storage_failed;
    named_ = true;
  }
  int fd = std::exchange(fd_, -1);
  kept_ = true;  // named now: even if close() complains, the file is the application's
  release_quota();
  // On Linux the descriptor is released even when close() reports EINTR.
  if (::close(fd) != 0 && errno != EINTR) {
    ::unlink(path_.c_str());
    kept_ = false;
    path_.clear();
    return errc::storage_failed;
  }
  return path_;
}

void spill_file::release_quota() noexcept {
  if (!quota_) return;
  quota_->release(reserved_);
  quota_->release_file();
  reserved_ = 0;
  quota_.reset();
}

void spill_file::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!kept_ && named_ && !path_.empty()) ::unlink(path_.c_str());
  release_quota();
  path_.clear();
  named_ = false;
  size_ = 0;
  kept_ = false;
}

}  // namespace netcore::protocol::detail
