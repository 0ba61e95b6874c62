#include <netcore/actors/connection.hpp>

#include <netcore/actors/messages.hpp>
#include <netcore/transports/byte_stream.hpp>

#include <caf/all.hpp>

#include <deque>

namespace netcore::actors {

namespace {

using protocol::errc;
using get_atom = caf::get_atom;

/// Answer to an inbox get: a message, or why there is none.
struct inbox_reply {
  protocol::incoming_message message;
  errc error = errc::ok;
};

}  // namespace
}  // namespace netcore::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::actors::inbox_reply)

namespace netcore::actors {

namespace {

/// The built-in inbox: holds delivered messages for receive() and learns when the connection ends.
/// A delivery is acknowledged once all its messages were taken, so an application that does not
/// call receive() throttles the peer through the delivery budget.
struct inbox_state {
  struct pending_ack {
    std::size_t left;
    caf::response_promise promise;
  };
  struct waiter {
    std::uint64_t ticket;
    caf::response_promise promise;
  };
  std::deque<protocol::incoming_message> messages;
  std::deque<pending_ack> acks;
  std::deque<waiter> waiters;
  std::uint64_t next_ticket = 0;
  bool closed = false;
  bool aborting = false;  // abort() asked the inbox to go once the receiver is done
  errc close_reason = errc::ok;
  static inline const char* name = "netcore.inbox";

  inbox_state() = default;
  inbox_state(const inbox_state&) = delete;
  inbox_state& operator=(const inbox_state&) = delete;
  ~inbox_state() {
    // Messages nobody took: their spill files were never handed to the application.
    for (auto& m : messages) m.body.remove_file();
  }
};

using inbox_actor = caf::stateful_actor<inbox_state>;

void take_one(inbox_actor* self, caf::response_promise& rp) {
  auto& st = self->state;
  inbox_reply reply;
  reply.message = std::move(st.messages.front());
  st.messages.pop_front();
  if (!st.acks.empty() && --st.acks.front().left == 0) {
    st.acks.front().promise.deliver(caf::ok_atom::value);
    st.acks.pop_front();
  }
  rp.deliver(std::move(reply));
}

void serve_waiters(inbox_actor* self) {
  auto& st = self->state;
  while (!st.waiters.empty() && !st.messages.empty()) {
    take_one(self, st.waiters.front().promise);
    st.waiters.pop_front();
  }
  if (st.closed) {
    for (auto& w : st.waiters) w.promise.deliver(inbox_reply{{}, errc::disconnected});
    st.waiters.clear();
  }
}

caf::behavior inbox_impl(inbox_actor* self) {
  return {
      [self](deliver_atom, delivery_ptr& d) -> caf::result<caf::ok_atom> {
        auto& st = self->state;
        if (d->messages.empty()) return caf::ok_atom::value;
        auto rp = self->make_response_promise();
        st.acks.push_back({d->messages.size(), rp});
        for (auto& m : d->messages) st.messages.push_back(std::move(m));
        serve_waiters(self);
        return caf::delegated<caf::ok_atom>{};
      },
      [self](get_atom, std::chrono::milliseconds timeout) -> caf::result<inbox_reply> {
        auto& st = self->state;
        auto rp = self->make_response_promise();
        if (st.aborting) {
          rp.deliver(inbox_reply{{}, errc::disconnected});
        } else if (!st.messages.empty()) {
          take_one(self, rp);
        } else if (st.closed) {
          rp.deliver(inbox_reply{{}, errc::disconnected});
        } else {
          auto ticket = ++st.next_ticket;
          st.waiters.push_back({ticket, rp});
          self->delayed_send(self, timeout, tick_atom::value, ticket);
        }
        return caf::delegated<inbox_reply>{};
      },
      [self](tick_atom, std::uint64_t ticket) {
        auto& ws = self->state.waiters;
        for (auto i = ws.begin(); i != ws.end(); ++i) {
          if (i->ticket != ticket) continue;
          i->promise.deliver(inbox_reply{{}, errc::timed_out});
          ws.erase(i);
          return;
        }
      },
      [self](closed_atom, errc reason) {
        auto& st = self->state;
        if (!st.closed) st.close_reason = reason;
        st.closed = true;
        serve_waiters(self);
        if (st.aborting) self->quit();
      },
      [self](close_atom) {
        // From abort(). The receiver's last deliveries come before its closed_atom: quitting
        // only then lets the destructor of the state remove every spill file nobody took.
        auto& st = self->state;
        st.aborting = true;
        for (auto& w : st.waiters) w.promise.deliver(inbox_reply{{}, errc::disconnected});
        st.waiters.clear();
        if (st.closed) self->quit();
      },
  };
}

}  // namespace

connection::connection(caf::actor_system& sys, std::unique_ptr<transports::byte_stream> stream,
                       connection_config config, caf::actor delivery, caf::actor events)
    : sys_(sys), stream_(std::move(stream)) {
  auto profile = stream_->profile();
  auto chunk = config.chunk_size ? config.chunk_size : profile.chunk_size;
  auto batch = config.write_batch ? config.write_batch : profile.write_batch;
  auto read_size = config.read_size ? config.read_size : profile.read_size;
  gate_ = std::make_shared<send_gate>(config.send_queue_limit);
  single_frame_max_ = config.single_frame_max;
  ids_ = std::make_shared<id_source>();
  inbox_ = sys.spawn(inbox_impl);
  own_inbox_ = !delivery;
  writer_ = spawn_writer(sys, stream_);

  link_params lp;
  lp.config = config;
  lp.chunk_size = chunk;
  lp.write_batch = batch;
  lp.writer = writer_;
  lp.events = events;  // outcomes and the connection's end
  lp.gate = gate_;
  lp.ids = ids_;
  lp.stream = stream_;
  link_ = spawn_link(sys, std::move(lp));

  receiver_params rp;
  rp.config = config;
  rp.link = link_;
  rp.delivery = delivery ? delivery : inbox_;
  rp.events = inbox_;  // the inbox ends pending receive() calls
  rp.stream = stream_;
  receiver_ = spawn_receiver(sys, std::move(rp));
  caf::anon_send(link_, wire_atom::value, receiver_);
  reader_ = spawn_reader(sys, stream_, receiver_, read_size, config.reads_in_flight);
}

connection::~connection() {
  abort();
}

protocol::result<std::uint64_t> connection::send(outgoing_message msg) {
  auto cost = msg.memory_size() + gate_overhead_per_message;
  auto lane = gate_lane_of(msg.memory_size(), !msg.file_path.empty(), single_frame_max_);
  if (!gate_->acquire(cost, lane)) return errc::disconnected;
  auto id = ids_->allocate();
  caf::anon_send(link_, send_atom::value, id, std::move(msg), std::uint64_t{cost});
  return id;
}

protocol::result<std::uint64_t> connection::send_batch(std::vector<outgoing_message> msgs) {
  if (msgs.empty()) return errc::internal_error;
  std::size_t cost[2] = {0, 0};
  for (const auto& m : msgs) {
    auto lane = gate_lane_of(m.memory_size(), !m.file_path.empty(), single_frame_max_);
    cost[lane == gate_lane::small ? 0 : 1] += m.memory_size() + gate_overhead_per_message;
  }
  if ((cost[0] > 0 && !gate_->acquire(cost[0], gate_lane::small)) ||
      (cost[1] > 0 && !gate_->acquire(cost[1], gate_lane::large)))
    return errc::disconnected;
  auto first = ids_->next.fetch_add(msgs.size(), std::memory_order_relaxed);
  auto batch = std::make_shared<std::vector<outgoing_message>>(std::move(msgs));
  caf::anon_send(link_, send_atom::value, batch, first);
  return first;
}

protocol::result<protocol::incoming_message>
connection::receive(std::chrono::milliseconds timeout) {
  if (!own_inbox_) return errc::internal_error;
  caf::scoped_actor self{sys_};
  protocol::result<protocol::incoming_message> out{errc::disconnected};
  self->request(inbox_, caf::infinite, caf::get_atom::value, timeout)
      .receive(
          [&](inbox_reply& r) {
            if (r.error == errc::ok)
              out = std::move(r.message);
            else
              out = r.error;
          },
          [&](caf::error&) { out = errc::disconnected; });
  return out;
}

void connection::cancel(std::uint64_t id) {
  caf::anon_send(link_, cancel_atom::value, id);
}

void connection::cancel_incoming(std::uint64_t id) {
  caf::anon_send(receiver_, in_cancel_atom::value, id);
}

void connection::close() {
  caf::anon_send(link_, close_atom::value);
}

void connection::abort() {
  if (!stream_) return;
  gate_->close();
  caf::anon_send(link_, fail_atom::value, errc::shutting_down);
  caf::anon_send(receiver_, fail_atom::value, errc::shutting_down);
  stream_->close();
  caf::anon_send_exit(reader_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(writer_, caf::exit_reason::user_shutdown);
  caf::anon_send(inbox_, close_atom::value);
}

}  // namespace netcore::actors
