#pragma once

// One event-loop thread: an asio io_context, the CAF execution unit that runs actors on it, and
// the read buffer its connections share (bytes are decoded where they arrive, so one buffer per
// thread serves every connection on it).

#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/resumable.hpp>

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif
#include <asio/io_context.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace netcore::actors::detail {

/// Runs CAF actors and asio handlers on one thread. Actors pinned to the loop (see on_loop) are
/// resumed here whenever a message arrives for them, from any thread; every other actor they
/// send to still runs on CAF's workers.
///
/// Idle policy: after its last handler the thread polls `spin_polls` more times before it
/// sleeps in epoll_wait, the same trade as CAF's spinning workers (an idle vCPU adds tens of µs to
/// a wake-up on these machines). 0 = sleep at once.
class io_loop final : public caf::execution_unit {
 public:
  io_loop(caf::actor_system& sys, std::string name, std::size_t spin_polls,
          std::size_t read_buffer_size);
  ~io_loop() override;
  io_loop(const io_loop&) = delete;
  io_loop& operator=(const io_loop&) = delete;

  /// The loop's io_context: handlers posted to it run on the loop thread.
  asio::io_context& context() noexcept { return context_; }
  /// The read buffer of the loop thread; only for code running on it, only within one handler.
  std::uint8_t* read_buffer() noexcept { return buffer_.data(); }
  std::size_t read_buffer_size() const noexcept { return buffer_.size(); }
  /// True on the loop's own thread.
  bool on_loop_thread() const noexcept { return std::this_thread::get_id() == thread_id_; }
  /// The thread's id (for tests and thread accounting).
  std::thread::id thread_id() const noexcept { return thread_id_; }

  /// An actor pinned to this loop started / finished: stop() waits until none is left.
  void actor_started() noexcept;
  void actor_finished() noexcept;
  /// Actors pinned to this loop that have not finished.
  std::size_t live_actors() const noexcept { return live_.load(); }
  /// Waits until every pinned actor finished, then stops and joins the thread. Idempotent.
  void stop();

  // -- caf::execution_unit --
  void exec_later(caf::resumable* job) override;

 private:
  void run_job(caf::resumable* job);
  void run();

  asio::io_context context_;
  std::vector<std::uint8_t> buffer_;
  std::size_t spin_polls_;
  std::string name_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> live_{0};
  std::mutex mutex_;
  std::condition_variable none_live_;
  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace netcore::actors::detail
