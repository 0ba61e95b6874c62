#include "io_loop.hpp"

#include <caf/scheduler/abstract_coordinator.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>

#include <future>

#include <pthread.h>

namespace netcore::actors::detail {

namespace {
// Messages an actor handles per resumption before it lets others on the loop run.
constexpr std::size_t max_throughput = 300;
}  // namespace

io_loop::io_loop(caf::actor_system& sys, std::string name, std::size_t spin_polls,
                 std::size_t read_buffer_size)
    : caf::execution_unit(&sys), context_(1), buffer_(read_buffer_size), spin_polls_(spin_polls),
      name_(std::move(name)) {
  std::promise<std::thread::id> started;
  auto id = started.get_future();
  thread_ = std::thread{[this, &started] {
    // Named before the constructor returns, so that thread listings see the name at once.
    ::pthread_setname_np(::pthread_self(), name_.substr(0, 15).c_str());
    started.set_value(std::this_thread::get_id());
    run();
  }};
  thread_id_ = id.get();
}

io_loop::~io_loop() {
  stop();
}

void io_loop::actor_started() noexcept {
  live_.fetch_add(1, std::memory_order_relaxed);
}

void io_loop::actor_finished() noexcept {
  if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::lock_guard<std::mutex> guard{mutex_};
    none_live_.notify_all();
  }
}

void io_loop::stop() {
  if (!thread_.joinable()) return;
  {
    std::unique_lock<std::mutex> guard{mutex_};
    none_live_.wait(guard, [this] { return live_.load() == 0; });
  }
  // The flag is set by a handler on the loop itself: the loop sees it after that handler, whether
  // it was polling or asleep in epoll_wait. (Stopping the io_context from here instead raced with
  // the loop's own restart of a stopped context and could leave it asleep for good.)
  asio::post(context_, [this] { stopping_.store(true, std::memory_order_relaxed); });
  thread_.join();
}

void io_loop::exec_later(caf::resumable* job) {
  // Only actors pinned to a loop carry the io_actor subtype (on_loop.hpp); everything they send
  // to runs on CAF's workers as usual.
  if (job->subtype() == caf::resumable::io_actor) {
    asio::post(context_, [this, job] { run_job(job); });
  } else {
    system().scheduler().enqueue(job);
  }
}

void io_loop::run_job(caf::resumable* job) {
  switch (job->resume(this, max_throughput)) {
  case caf::resumable::resume_later:
    // Still has messages: let the other handlers of the loop run first.
    asio::post(context_, [this, job] { run_job(job); });
    break;
  case caf::resumable::done:
  case caf::resumable::awaiting_message:
    caf::intrusive_ptr_release(job);
    break;
  case caf::resumable::shutdown_execution_unit:
    break;
  }
}

void io_loop::run() {
  auto work = asio::make_work_guard(context_);
  std::size_t idle = 0;
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (context_.poll() > 0) {
      idle = 0;
      continue;
    }
    if (++idle < spin_polls_) continue;
    idle = 0;
    context_.run_one();
  }
}

}  // namespace netcore::actors::detail
