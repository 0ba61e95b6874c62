#include <netcore/transports/faulty_stream.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <vector>

namespace netcore::transports {

struct faulty_stream::state {
  explicit state(fault_plan p) : plan(p), rng(p.seed) {
    if (plan.flip_per_byte > 0) until_flip = next_flip_gap();
  }

  std::uint64_t next_flip_gap() {
    std::geometric_distribution<std::uint64_t> gap{std::min(plan.flip_per_byte, 1.0)};
    return gap(rng);
  }

  bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>{}(rng) < p; }

  /// A span [first, last) inside [0, n), n > 0.
  std::pair<std::size_t, std::size_t> span(std::size_t n) {
    std::uniform_int_distribution<std::size_t> pick{0, n - 1};
    auto a = pick(rng);
    auto b = pick(rng);
    if (a > b) std::swap(a, b);
    return {a, b + 1};
  }

  /// Bytes the next read may return before a truncation or stall point (SIZE_MAX: no limit).
  std::size_t until_limit() const {
    std::uint64_t limit = UINT64_MAX;
    if (plan.truncate_after != 0) limit = std::min(limit, plan.truncate_after);
    if (plan.stall_after != 0) limit = std::min(limit, plan.stall_after);
    if (limit == UINT64_MAX) return SIZE_MAX;
    return limit > counts.bytes_read ? static_cast<std::size_t>(limit - counts.bytes_read) : 0;
  }

  fault_plan plan;
  std::mt19937_64 rng;
  std::uint64_t until_flip = UINT64_MAX;
  std::vector<std::uint8_t> replay;  // a duplicated span, delivered before further reads
  fault_counts counts;
  bool closed = false;
  mutable std::mutex mutex;
  std::condition_variable wake;
};

faulty_stream::faulty_stream(std::unique_ptr<byte_stream> inner, fault_plan plan)
    : inner_(std::move(inner)), state_(std::make_unique<state>(plan)) {}

faulty_stream::~faulty_stream() {
  close();
}

std::error_code faulty_stream::write(const io_slice* slices, std::size_t count) {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < count; ++i) total += slices[i].size;
  std::uint64_t allowed = total;
  {
    std::lock_guard<std::mutex> guard{state_->mutex};
    if (state_->closed || state_->counts.disconnected) return transport_errc::closed;
    const auto& plan = state_->plan;
    if (plan.disconnect_after != 0)
      allowed =
          std::min<std::uint64_t>(total, plan.disconnect_after > state_->counts.bytes_written
                                             ? plan.disconnect_after - state_->counts.bytes_written
                                             : 0);
  }
  if (allowed == total) {
    auto ec = inner_->write(slices, count);
    if (!ec) {
      std::lock_guard<std::mutex> guard{state_->mutex};
      state_->counts.bytes_written += total;
    }
    return ec;
  }
  // The disconnect falls inside this write: what comes before it goes out, then the stream ends.
  std::vector<io_slice> head;
  std::uint64_t left = allowed;
  for (std::size_t i = 0; i < count && left > 0; ++i) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, slices[i].size));
    head.push_back({slices[i].data, n});
    left -= n;
  }
  if (!head.empty()) (void)inner_->write(head.data(), head.size());
  {
    std::lock_guard<std::mutex> guard{state_->mutex};
    state_->counts.bytes_written += allowed;
    state_->counts.disconnected = true;
  }
  inner_->close();
  return transport_errc::end_of_stream;
}

result<std::size_t> faulty_stream::read(std::uint8_t* buf, std::size_t max) {
  if (max == 0) return std::size_t{0};
  std::unique_lock<std::mutex> lock{state_->mutex};
  auto& s = *state_;
  for (;;) {
    if (s.closed) return transport_errc::closed;
    if (s.plan.stall_after != 0 && s.counts.bytes_read >= s.plan.stall_after) {
      s.counts.stalled = true;
      s.wake.wait(lock, [&] { return s.closed; });
      return transport_errc::closed;
    }
    if (s.plan.truncate_after != 0 && s.counts.bytes_read >= s.plan.truncate_after) {
      s.counts.truncated = true;
      return transport_errc::end_of_stream;
    }
    const std::size_t cap = std::min(max, s.until_limit());
    if (!s.replay.empty()) {
      const std::size_t n = std::min(cap, s.replay.size());
      std::memcpy(buf, s.replay.data(), n);
      s.replay.erase(s.replay.begin(), s.replay.begin() + static_cast<std::ptrdiff_t>(n));
      s.counts.bytes_read += n;
      return n;
    }
    lock.unlock();
    auto r = inner_->read(buf, cap);
    lock.lock();
    if (!r) return r;
    std::size_t n = *r;
    if (n > 0 && s.chance(s.plan.drop_per_read)) {
      const auto [a, b] = s.span(n);
      std::memmove(buf + a, buf + b, n - b);
      n -= b - a;
      ++s.counts.drops;
    }
    if (n > 0 && s.chance(s.plan.duplicate_per_read)) {
      const auto [a, b] = s.span(n);
      s.replay.assign(buf + a, buf + b);
      ++s.counts.duplicates;
    }
    if (s.plan.flip_per_byte > 0) {
      std::uint64_t at = 0;
      while (at < n && s.until_flip < n - at) {
        at += s.until_flip;
        buf[at] ^= static_cast<std::uint8_t>(1u << (s.rng() % 8));
        ++s.counts.flips;
        ++at;
        s.until_flip = s.next_flip_gap();
      }
      if (s.until_flip != UINT64_MAX) s.until_flip -= n - at;
    }
    if (n == 0) continue;  // everything read was dropped: read again
    s.counts.bytes_read += n;
    return n;
  }
}

void faulty_stream::close() noexcept {
  {
    std::lock_guard<std::mutex> guard{state_->mutex};
    state_->closed = true;
  }
  state_->wake.notify_all();
  inner_->close();
}

stream_profile faulty_stream::profile() const {
  return inner_->profile();
}

std::string faulty_stream::describe() const {
  return "faulty " + inner_->describe();
}

fault_counts faulty_stream::counts() const {
  std::lock_guard<std::mutex> guard{state_->mutex};
  return state_->counts;
}

std::unique_ptr<byte_stream> make_faulty(std::unique_ptr<byte_stream> inner, fault_plan plan) {
  return std::make_unique<faulty_stream>(std::move(inner), plan);
}

}  // namespace netcore::transports
