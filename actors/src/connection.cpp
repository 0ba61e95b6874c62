#include "runtime_impl.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <future>
#include <memory>

namespace netcore::actors {

namespace detail {
connection make_connection(std::shared_ptr<connection_shared> shared) {
  return connection{std::move(shared)};
}
}  // namespace detail

namespace {
// How much longer than the drain deadline close() waits for the actor's answer.
constexpr std::chrono::seconds close_margin{5};
}  // namespace

connection::connection(std::shared_ptr<detail::connection_shared> shared)
    : shared_(std::move(shared)) {}

connection::connection(connection&&) noexcept = default;

connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    if (shared_ && !shared_->closed.load()) close();
    shared_ = std::move(other.shared_);
  }
  return *this;
}

connection::~connection() {
  if (shared_ && !shared_->closed.load()) close();
}

namespace {

// After a push into the submission queue: the nudge it asks for, or the refusal.
protocol::result<std::uint64_t, std::error_code>
queued(detail::connection_shared& s, detail::submission_queue::pushed how, std::uint64_t id) {
  if (how == detail::submission_queue::pushed::closed) return std::error_code{runtime_errc::closed};
  if (how == detail::submission_queue::pushed::queued_nudge)
    caf::anon_send(s.impl, detail::drain_atom::value);
  return id;
}

// Hands a message whose gate bytes were acquired to the connection actor (submission_queue).
protocol::result<std::uint64_t, std::error_code> queue_message(detail::connection_shared& s,
                                                               outgoing_message msg) {
  const auto id = s.ids->allocate();
  return queued(s, s.queue->push(id, msg), id);
}

}  // namespace

protocol::result<std::uint64_t, std::error_code> connection::send(outgoing_message msg) {
  if (!shared_) return std::error_code{runtime_errc::closed};
  auto& s = *shared_;
  const auto cost = detail::gate_cost(msg);
  if (!s.gate->acquire(cost, detail::gate_lane_for(msg, s.single_frame_max)))
    return std::error_code{runtime_errc::closed};
  return queue_message(s, std::move(msg));
}

protocol::result<std::uint64_t, std::error_code> connection::try_send(outgoing_message msg) {
  if (!shared_) return std::error_code{runtime_errc::closed};
  auto& s = *shared_;
  const auto cost = detail::gate_cost(msg);
  switch (s.gate->try_acquire(cost, detail::gate_lane_for(msg, s.single_frame_max))) {
  case send_gate::attempt::closed:
    return std::error_code{runtime_errc::closed};
  case send_gate::attempt::full:
    return std::error_code{runtime_errc::backpressure};
  case send_gate::attempt::acquired:
    break;
  }
  return queue_message(s, std::move(msg));
}

protocol::result<std::uint64_t, std::error_code>
connection::send_batch(std::vector<outgoing_message> msgs) {
  if (!shared_) return std::error_code{runtime_errc::closed};
  if (msgs.empty()) return std::error_code{runtime_errc::invalid_argument};
  auto& s = *shared_;
  std::size_t cost[2] = {0, 0};
  for (const auto& m : msgs) {
    const auto lane = detail::gate_lane_for(m, s.single_frame_max);
    cost[lane == gate_lane::small ? 0 : 1] += detail::gate_cost(m);
  }
  if ((cost[0] > 0 && !s.gate->acquire(cost[0], gate_lane::small)) ||
      (cost[1] > 0 && !s.gate->acquire(cost[1], gate_lane::large)))
    return std::error_code{runtime_errc::closed};
  const auto first = s.ids->allocate(msgs.size());
  return queued(s, s.queue->push(first, msgs), first);
}

protocol::result<protocol::incoming_message, receive_error>
connection::receive(std::chrono::milliseconds timeout) {
  if (!shared_) return receive_error{runtime_errc::closed, 0};
  if (shared_->sink_attached.load()) return receive_error{runtime_errc::invalid_argument, 0};
  return shared_->box->take(timeout);
}

void connection::cancel(std::uint64_t id) {
  if (shared_) caf::anon_send(shared_->impl, cancel_atom::value, id);
}

void connection::cancel_incoming(std::uint64_t id) {
  if (shared_) caf::anon_send(shared_->impl, drop_atom::value, id);
}

connection_closed connection::close() {
  if (!shared_) return {runtime_errc::closed, {}, {}};
  return close(shared_->close_timeout);
}

connection_closed connection::close(std::chrono::milliseconds deadline) {
  if (!shared_) return {runtime_errc::closed, {}, {}};
  auto& s = *shared_;
  connection_closed out{runtime_errc::closed, s.transport, {}};
  caf::scoped_actor self{*s.sys};
  self->request(s.impl, deadline + close_margin, close_atom::value, caf::timespan{deadline})
      .receive([&](connection_closed& c) { out = std::move(c); },
               [&](caf::error& e) {
                 // The actor is gone already: it recorded how the connection ended.
                 if (auto ended = s.end->get())
                   out = *ended;
                 else
                   out.reason = to_error_code(e);
               });
  s.closed.store(true);
  return out;
}

void connection::abort() {
  if (!shared_) return;
  shared_->closed.store(true);
  caf::anon_send(shared_->impl, abort_atom::value);
}

void connection::abort(protocol::errc code, std::string text) {
  if (!shared_) return;
  shared_->closed.store(true);
  caf::anon_send(shared_->impl, abort_atom::value, static_cast<std::uint16_t>(code),
                 std::move(text));
}

connection_stats connection::stats() const {
  connection_stats out;
  if (!shared_) return out;
  caf::scoped_actor self{*shared_->sys};
  self->request(shared_->impl, std::chrono::seconds{10}, stats_atom::value)
      .receive([&](connection_stats& s) { out = std::move(s); },
               [&](caf::error&) { out.transport = shared_->transport; });
  return out;
}

std::optional<connection_closed> connection::wait_closed(std::chrono::milliseconds timeout) {
  if (!shared_) return connection_closed{runtime_errc::closed, {}, {}};
  auto& s = *shared_;
  std::call_once(s.end_watch_once, [&s] {
    auto ended = std::make_shared<std::promise<caf::error>>();
    s.end_watch = ended->get_future().share();
    // Called at once when the actor is gone already.
    caf::actor_cast<caf::abstract_actor*>(s.impl)->attach_functor(
        [ended](const caf::error& why) { ended->set_value(why); });
  });
  auto future = s.end_watch;
  if (timeout != std::chrono::milliseconds::max() &&
      future.wait_for(timeout) != std::future_status::ready)
    return std::nullopt;
  const auto why = future.get();
  if (auto closed = shared_->end->get()) return closed;
  return connection_closed{to_error_code(why), shared_->transport, {}};
}

void connection::attach(delivery_sink sink) {
  if (!shared_) return;
  shared_->sink_attached.store(true);
  caf::anon_send(shared_->impl, attach_atom::value, std::move(sink));
}

void connection::subscribe(event_sink sink) {
  if (!shared_ || !sink) return;
  caf::anon_send(shared_->impl, subscribe_atom::value, sink);
  // A connection that ended at once may have quit before the subscription reached it (its
  // mailbox is then gone): a watcher on the actor's end tells the sink instead, once.
  auto end = shared_->end;
  auto transport = shared_->transport;
  auto self = shared_->actor.address();  // weak: the functor lives inside the actor
  caf::actor_cast<caf::abstract_actor*>(shared_->impl)
      ->attach_functor([end, sink, transport, self](const caf::error& why) {
        if (!end->first_telling(sink.address())) return;
        auto closed = end->get();
        if (!closed) closed = connection_closed{to_error_code(why), transport, {}};
        // As if the connection sent it: a sink that serves many connections tells them apart by
        // the sender.
        if (auto from = caf::actor_cast<caf::strong_actor_ptr>(self))
          caf::send_as(caf::actor_cast<connection_actor>(from), sink, closed_atom::value,
                       std::move(*closed));
        else
          caf::anon_send(sink, closed_atom::value, std::move(*closed));
      });
}

const connection_actor& connection::actor() const {
  static const connection_actor none;
  return shared_ ? shared_->actor : none;
}

std::uint64_t connection::allocate_id(std::uint64_t n) {
  return shared_ ? shared_->ids->allocate(n) : 0;
}

std::shared_ptr<session::id_source> connection::id_source() const {
  return shared_ ? shared_->ids : nullptr;
}

const transports::peer_identity& connection::peer() const {
  static const transports::peer_identity none;
  return shared_ ? shared_->peer : none;
}

std::optional<transports::certificate_identity> connection::peer_certificate() const {
  return shared_ ? shared_->certificate->get() : std::nullopt;
}

const std::string& connection::describe() const {
  static const std::string none;
  return shared_ ? shared_->transport : none;
}

}  // namespace netcore::actors
