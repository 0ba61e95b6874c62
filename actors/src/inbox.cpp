#include "inbox.hpp"

namespace netcore::actors::detail {

inbox::~inbox() {
  for (auto& i : items_)
    if (i.message) i.message->body.remove_file();
}

void inbox::push(protocol::incoming_message m, std::uint64_t cost) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    items_.push_back({std::move(m), {}, cost});
    ready_count_.fetch_add(1, std::memory_order_release);
  }
  ready_.notify_one();
}

void inbox::push(incoming_failure f) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    items_.push_back({std::nullopt, f, 0});
    ready_count_.fetch_add(1, std::memory_order_release);
  }
  ready_.notify_one();
}

void inbox::push(delivery& d, const std::vector<std::uint64_t>& costs) {
  if (d.messages.empty() && d.failures.empty()) return;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    // Failures first: a failure never concerns a message delivered in the same pump.
    for (auto& f : d.failures) items_.push_back({std::nullopt, f, 0});
    for (std::size_t i = 0; i < d.messages.size(); ++i)
      items_.push_back({std::move(d.messages[i]), {}, costs[i]});
    ready_count_.fetch_add(d.failures.size() + d.messages.size(), std::memory_order_release);
  }
  ready_.notify_all();
  d.messages.clear();
  d.failures.clear();
}

void inbox::close(std::error_code reason) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (closed_) return;
    closed_ = true;
    reason_ = reason ? reason : std::error_code{runtime_errc::closed};
    ready_count_.fetch_add(1, std::memory_order_release);
  }
  ready_.notify_all();
}

std::size_t inbox::size() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return items_.size();
}

std::pair<delivery, std::uint64_t> inbox::drain() {
  std::pair<delivery, std::uint64_t> out;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    drained_ = true;
    for (auto& i : items_) {
      if (i.message) {
        out.first.messages.push_back(std::move(*i.message));
        out.second += i.cost;
      } else {
        out.first.failures.push_back(i.failure);
      }
    }
    items_.clear();
    ready_count_.fetch_add(1, std::memory_order_release);
  }
  ready_.notify_all();
  return out;
}

protocol::result<protocol::incoming_message, receive_error>
inbox::take(std::chrono::milliseconds timeout) {
  if (spin_.count() > 0 && ready_count_.load(std::memory_order_acquire) == 0) {
    const auto until =
        std::chrono::steady_clock::now() + std::min<std::chrono::microseconds>(spin_, timeout);
    for (unsigned i = 1; ready_count_.load(std::memory_order_acquire) == 0; ++i)
      if (i % 64 == 0 && std::chrono::steady_clock::now() >= until) break;
  }
  std::unique_lock<std::mutex> guard{mutex_};
  if (drained_) return receive_error{runtime_errc::invalid_argument, 0};
  if (!ready_.wait_for(guard, timeout, [this] { return !items_.empty() || closed_; }))
    return receive_error{runtime_errc::timed_out, 0};
  if (items_.empty()) return receive_error{reason_, 0};
  item i = std::move(items_.front());
  items_.pop_front();
  ready_count_.fetch_sub(1, std::memory_order_acq_rel);
  guard.unlock();
  if (!i.message) return receive_error{i.failure.reason, i.failure.id};
  if (i.cost > 0 && ack_) ack_(i.cost);
  return std::move(*i.message);
}

}  // namespace netcore::actors::detail
