#pragma once

// An actor pinned to an io_loop: its mailbox is served on the loop thread, so it can do
// non-blocking I/O on the loop's descriptors between messages. Without a loop (tests on CAF's
// deterministic scheduler) it is an ordinary event-based actor.

#include "io_loop.hpp"

#include <caf/actor_config.hpp>
#include <caf/mailbox_element.hpp>

#include <utility>

namespace netcore::actors::detail {

template <class Base>
class on_loop : public Base {
 public:
  template <class... Ts>
  on_loop(caf::actor_config& cfg, io_loop* loop, Ts&&... xs)
      : Base(cfg, std::forward<Ts>(xs)...), loop_(loop) {
    if (loop_) loop_->actor_started();
  }

  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* eu) override {
    Base::enqueue(std::move(ptr), loop_ ? loop_ : eu);
  }

  void launch(caf::execution_unit* eu, bool lazy, bool hide) override {
    Base::launch(loop_ ? loop_ : eu, lazy, hide);
  }

  caf::resumable::subtype_t subtype() const override {
    return loop_ ? caf::resumable::io_actor : Base::subtype();
  }

  void on_exit() override {
    Base::on_exit();
    // loop_ itself stays: enqueue() reads it from any thread (a message sent to a terminated
    // actor is bounced by CAF without being scheduled, so the loop is not touched then).
    if (loop_ && !finished_) {
      finished_ = true;
      loop_->actor_finished();
    }
  }

  /// The loop the actor runs on (null without one).
  io_loop* loop() const noexcept { return loop_; }

 private:
  io_loop* const loop_;
  bool finished_ = false;  ///< actor_finished() was called (on the loop thread only)
};

}  // namespace netcore::actors::detail
