#pragma once

// The way from connection::send and try_send to the connection actor without a mailbox element
// per message. A mailbox element is allocated by the sending thread and freed by the loop thread;
// at millions of messages a second both threads then fight over the sender's malloc arena (P3:
// nine in ten futex calls of a send() burst were that lock). Here senders append to a vector
// under a short lock, and only the first message after a drain sends the actor a nudge; the actor
// takes everything queued at once and hands the emptied vector back, so a steady stream of sends
// allocates nothing per message.
//
// Order: every message of the connection façade (send, try_send, send_batch) goes through here,
// so they reach the session in the order their ids were given. The façade's other requests
// (cancel, close, abort) travel through the mailbox, and the actor drains this queue before it
// handles them: a message sent before close() or cancel() is queued before either takes effect.

#include <netcore/actors/messages.hpp>

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

namespace netcore::actors::detail {

class submission_queue {
 public:
  /// A queued message and the id its sender was given.
  struct item {
    std::uint64_t id;
    outgoing_message msg;
  };

  enum class pushed {
    queued,        ///< Queued; a nudge is on its way already.
    queued_nudge,  ///< Queued; the caller sends the actor a nudge.
    closed,        ///< Refused: the connection actor is gone (the message is left untouched).
  };

  /// Queues `msg` under `id` (any thread).
  pushed push(std::uint64_t id, outgoing_message& msg) {
    std::lock_guard<std::mutex> guard{mutex_};
    if (closed_) return pushed::closed;
    items_.push_back(item{id, std::move(msg)});
    if (nudged_) return pushed::queued;
    nudged_ = true;
    return pushed::queued_nudge;
  }

  /// Queues `msgs` under the ids first, first + 1, ... (any thread). On `closed` the messages are
  /// left untouched.
  pushed push(std::uint64_t first, std::vector<outgoing_message>& msgs) {
    std::lock_guard<std::mutex> guard{mutex_};
    if (closed_) return pushed::closed;
    for (auto& m : msgs) items_.push_back(item{first++, std::move(m)});
    if (nudged_) return pushed::queued;
    nudged_ = true;
    return pushed::queued_nudge;
  }

  /// Takes every queued message into `out`, whose capacity (after clearing it) is reused for the
  /// next round (the actor's thread).
  void take(std::vector<item>& out) {
    out.clear();
    std::lock_guard<std::mutex> guard{mutex_};
    items_.swap(out);
    nudged_ = false;
  }

  /// Refuses every later push and returns what is still queued, for the actor to report as failed.
  std::vector<item> close() {
    std::lock_guard<std::mutex> guard{mutex_};
    closed_ = true;
    nudged_ = false;
    return std::exchange(items_, {});
  }

  /// Messages queued now (tests).
  std::size_t size() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return items_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<item> items_;
  bool nudged_ = false;
  bool closed_ = false;
};

}  // namespace netcore::actors::detail
