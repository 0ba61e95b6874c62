#include "spill_file.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <random>
#include <utility>

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
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
  std::snprintf(name, sizeof name, "netcore-%ld-%llu-%016llx.part", static_cast<long>(::getpid()),
                static_cast<unsigned long long>(sequence),
                static_cast<unsigned long long>(random_bits()));
  return name;
}

}  // namespace

spill_file::~spill_file() {
  discard();
}

spill_file::spill_file(spill_file&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)),
      size_(std::exchange(other.size_, 0)), kept_(std::exchange(other.kept_, false)) {
  other.path_.clear();
}

spill_file& spill_file::operator=(spill_file&& other) noexcept {
  if (this != &other) {
    discard();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    other.path_.clear();
    size_ = std::exchange(other.size_, 0);
    kept_ = std::exchange(other.kept_, false);
  }
  return *this;
}

result<spill_file> spill_file::create(const std::string& directory, std::uint64_t sequence) {
  if (directory.empty()) return errc::storage_failed;
  std::string prefix = directory;
  if (prefix.back() != '/') prefix.push_back('/');

  for (int attempt = 0; attempt < max_create_attempts; ++attempt) {
    std::string path = prefix + make_name(sequence);
    int fd;
    do {
      fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    } while (fd < 0 && errno == EINTR);
    if (fd >= 0) {
      // The umask may only have removed bits; make the mode exactly owner read/write.
      (void)::fchmod(fd, 0600);
      return spill_file(fd, std::move(path));
    }
    if (errno != EEXIST) return errc::storage_failed;
  }
  return errc::storage_failed;
}

errc spill_file::append(byte_view bytes) noexcept {
  if (fd_ < 0) return errc::storage_failed;
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
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || st.st_nlink == 0) return errc::storage_failed;
  int fd = std::exchange(fd_, -1);
  // On Linux the descriptor is released even when close() reports EINTR.
  if (::close(fd) != 0 && errno != EINTR) return errc::storage_failed;
  kept_ = true;
  return path_;
}

void spill_file::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!kept_ && !path_.empty()) ::unlink(path_.c_str());
  path_.clear();
  size_ = 0;
  kept_ = false;
}

}  // namespace netcore::protocol::detail
