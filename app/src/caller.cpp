#include "caller.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <unordered_map>

namespace netcore::app::detail {

namespace {

using caller_done_atom = caf::atom_constant<caf::atom("ap_callok")>;

using caller_impl = caller_actor::extend<caf::reacts_to<caller_done_atom, std::uint64_t, reply>>;

struct caller_state {
  call_function make_call;
  std::uint64_t next_key = 0;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<reply>> waiting;
  /// The caller actor was stopped (an exit message) with calls open: their callers hear so (a
  /// response promise destroyed undelivered would tell them nothing in CAF 0.17).
  ~caller_state() {
    for (auto& [key, promise] : waiting)
      promise.deliver(reply::failed(status::unavailable, "the caller actor was stopped"));
  }
};

// A CAF timeout as the call's: rounded up to whole milliseconds (a positive one never becomes 0,
// which means the default), at most what the wire carries.
std::chrono::milliseconds call_timeout(caf::timespan t) {
  if (t <= caf::timespan::zero()) return std::chrono::milliseconds{0};
  constexpr auto most = std::chrono::milliseconds{std::numeric_limits<std::uint32_t>::max()};
  if (t >= most) return most;
  return std::chrono::ceil<std::chrono::milliseconds>(t);
}

// Carries one reply back to the caller actor, which delivers it on its own thread. Dropped
// without a reply (the call was lost with an actor that went away), it answers unavailable.
class reply_route {
 public:
  reply_route(caller_impl self, std::uint64_t key) : self_(std::move(self)), key_(key) {}
  ~reply_route() {
    if (!sent_.exchange(true))
      caf::anon_send(self_, caller_done_atom::value, key_,
                     reply::failed(status::unavailable, "the call was dropped unanswered"));
  }
  reply_route(const reply_route&) = delete;
  reply_route& operator=(const reply_route&) = delete;
  void send(reply r) {
    if (!sent_.exchange(true)) caf::anon_send(self_, caller_done_atom::value, key_, std::move(r));
  }

 private:
  caller_impl self_;
  std::uint64_t key_;
  std::atomic<bool> sent_{false};
};

caller_impl::behavior_type caller_behavior(caller_impl::stateful_pointer<caller_state> self,
                                           call_function make_call) {
  self->state.make_call = std::move(make_call);
  return {
      [self](call_atom, actors::outgoing_message& msg,
             caf::timespan timeout) -> caf::result<reply> {
        auto& s = self->state;
        const auto key = ++s.next_key;
        auto promise = self->make_response_promise<reply>();
        s.waiting.emplace(key, promise);
        auto route = std::make_shared<reply_route>(caf::actor_cast<caller_impl>(self), key);
        s.make_call(std::move(msg), call_timeout(timeout),
                    [route](reply r) { route->send(std::move(r)); });
        return promise;
      },
      [self](caller_done_atom, std::uint64_t key, reply& r) {
        auto& s = self->state;
        auto it = s.waiting.find(key);
        if (it == s.waiting.end()) return;
        auto promise = std::move(it->second);
        s.waiting.erase(it);
        promise.deliver(std::move(r));
      },
  };
}

}  // namespace

caller_actor spawn_caller(caf::actor_system& sys, call_function make_call) {
  return caf::actor_cast<caller_actor>(sys.spawn(caller_behavior, std::move(make_call)));
}

}  // namespace netcore::app::detail
