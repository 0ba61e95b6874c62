#include <netcore/transports/memory_stream.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>

namespace netcore::transports {
namespace {

/// One direction of a memory pair: a bounded byte ring. The mutex and condition variables are the
/// gate at the blocking boundary (a writer waiting for room, a reader waiting for bytes).
class channel {
 public:
  explicit channel(std::size_t capacity)
      : capacity_(std::max<std::size_t>(capacity, 1)), ring_(new std::uint8_t[capacity_]) {}

  /// Copies all of `data` into the ring, waiting for room as needed.
  std::error_code write(const std::uint8_t* data, std::size_t size) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (size > 0) {
      not_full_.wait(lock, [&] { return closed_ || count_ < capacity_; });
      if (closed_) return transport_errc::end_of_stream;
      const std::size_t n = std::min(size, capacity_ - count_);
      const std::size_t tail = (head_ + count_) % capacity_;
      const std::size_t first = std::min(n, capacity_ - tail);
      std::memcpy(ring_.get() + tail, data, first);
      std::memcpy(ring_.get(), data + first, n - first);
      count_ += n;
      data += n;
      size -= n;
      not_empty_.notify_all();
    }
    return {};
  }

  /// Takes up to `max` bytes, waiting while the ring is empty and still open. Buffered bytes are
  /// delivered after the writer closed; a closed reader gets nothing more.
  result<std::size_t> read(std::uint8_t* buf, std::size_t max) {
    std::unique_lock<std::mutex> lock(mutex_);
    not_empty_.wait(lock, [&] { return reader_closed_ || closed_ || count_ > 0; });
    if (reader_closed_ || count_ == 0) return std::error_code{transport_errc::end_of_stream};
    const std::size_t n = std::min(max, count_);
    const std::size_t first = std::min(n, capacity_ - head_);
    std::memcpy(buf, ring_.get() + head_, first);
    std::memcpy(buf + first, ring_.get(), n - first);
    head_ = (head_ + n) % capacity_;
    count_ -= n;
    if (count_ == 0) head_ = 0;
    not_full_.notify_all();
    return n;
  }

  /// No more writes; the reader drains what is buffered, then sees disconnected. With
  /// `reader_too`, the reader fails at once as well.
  void close(bool reader_too) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    if (reader_too) reader_closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  bool reader_closed() {
    std::lock_guard<std::mutex> lock(mutex_);
    return reader_closed_;
  }

  bool closed() {
    std::lock_guard<std::mutex> lock(mutex_);
    return closed_;
  }

 private:
  const std::size_t capacity_;
  // Not value-initialised: the kernel commits pages only as the ring is first written.
  std::unique_ptr<std::uint8_t[]> ring_;
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  bool closed_ = false;
  bool reader_closed_ = false;
};

struct link {
  explicit link(std::size_t capacity) : a_to_b(capacity), b_to_a(capacity) {}
  channel a_to_b;
  channel b_to_a;
};

class memory_stream final : public byte_stream {
 public:
  memory_stream(std::shared_ptr<link> shared, channel& out, channel& in, std::size_t read_limit)
      : link_(std::move(shared)), out_(out), in_(in),
        read_limit_(std::max<std::size_t>(read_limit, 1)) {}

  ~memory_stream() override { close(); }

  std::error_code write(const io_slice* slices, std::size_t count) override {
    // Calls after this side's close() say so; after the peer's, the channel says end_of_stream.
    if (closed_.load()) return transport_errc::closed;
    if (out_.closed()) return transport_errc::end_of_stream;
    for (std::size_t i = 0; i < count; ++i) {
      if (slices[i].size == 0) continue;
      if (auto e = out_.write(static_cast<const std::uint8_t*>(slices[i].data), slices[i].size))
        return e;
    }
    return {};
  }

  result<std::size_t> read(std::uint8_t* buf, std::size_t max) override {
    if (closed_.load()) return std::error_code{transport_errc::closed};
    if (max == 0) {
      if (in_.reader_closed()) return std::error_code{transport_errc::end_of_stream};
      return std::size_t{0};
    }
    return in_.read(buf, std::min(max, read_limit_));
  }

  void close() noexcept override {
    closed_.store(true);
    // This side's reads and writes fail at once; the peer drains what this side wrote, then
    // sees disconnected, and its writes fail.
    out_.close(false);
    in_.close(true);
  }

  std::string describe() const override { return "memory"; }

 private:
  std::shared_ptr<link> link_;
  channel& out_;
  channel& in_;
  std::size_t read_limit_;
  std::atomic<bool> closed_{false};
};

}  // namespace

std::pair<std::unique_ptr<byte_stream>, std::unique_ptr<byte_stream>>
make_memory_pair(std::size_t capacity, std::size_t read_limit) {
  auto shared = std::make_shared<link>(capacity);
  channel& a_to_b = shared->a_to_b;
  channel& b_to_a = shared->b_to_a;
  auto a = std::make_unique<memory_stream>(shared, a_to_b, b_to_a, read_limit);
  auto b = std::make_unique<memory_stream>(std::move(shared), b_to_a, a_to_b, read_limit);
  return {std::move(a), std::move(b)};
}

}  // namespace netcore::transports
