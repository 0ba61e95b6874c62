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
  }
  ready_.notify_one();
}

void inbox::push(incoming_failure f) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    items_.push_back({std::nullopt, f, 0});
  }
  ready_.notify_one();
}

void inbox::close(std::error_code reason) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (closed_) return;
    closed_ = true;
    reason_ = reason ? reason : std::error_code{runtime_errc::closed};
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
  }
  ready_.notify_all();
  return out;
}

protocol::result<protocol::incoming_message, receive_error>
inbox::take(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mutex_};
  if (drained_) return receive_error{runtime_errc::invalid_argument, 0};
  if (!ready_.wait_for(guard, timeout, [this] { return !items_.empty() || closed_; }))
    return receive_error{runtime_errc::timed_out, 0};
  if (items_.empty()) return receive_error{reason_, 0};
  item i = std::move(items_.front());
  items_.pop_front();
  guard.unlock();
  if (!i.message) return receive_error{i.failure.reason, i.failure.id};
  if (i.cost > 0 && ack_) ack_(i.cost);
  return std::move(*i.message);
}

}  // namespace netcore::actors::detail
