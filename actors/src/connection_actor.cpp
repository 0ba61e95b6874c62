// The connection actor: its typed behaviour, and pump(), which turns what the session core
// reported into deliveries, send outcomes, producer windows, writes and the next timer.

#include "connection_actor.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace netcore::actors::detail {

std::size_t gate_cost(const outgoing_message& m) noexcept {
  return m.memory_size() + gate_overhead_per_message;
}

gate_lane gate_lane_for(const outgoing_message& m, std::size_t single_frame_max) noexcept {
  return gate_lane_of(m.memory_size(), !m.file_path.empty(), single_frame_max);
}

connection_state::connection_state(connection_params p, session::clock::time_point now)
    : params(std::move(p)),
      core(static_cast<const session::session_config&>(params.config), now, params.ids) {}

connection_impl::connection_impl(caf::actor_config& cfg, connection_params params)
    : super(cfg, params.loop), params_(std::move(params)) {}

connection_impl_actor connection_impl::handle() {
  return caf::actor_cast<connection_impl_actor>(this);
}

void connection_impl::on_exit() {
  if (state_) {
    // Whatever is still pending learns that the connection is gone.
    for (auto& [id, rp] : state_->replies)
      rp.deliver(send_outcome{id, runtime_errc::shutting_down});
    for (auto& rp : state_->close_replies)
      rp.deliver(connection_closed{state_->core.close_reason(), state_->transport,
                                   state_->core.peer_goaway_text()});
    if (state_->params.box) state_->params.box->close(runtime_errc::shutting_down);
    if (state_->params.gate) state_->params.gate->close();
    if (state_->params.queue) {
      // Sent but never taken: their senders hear of them like of any other failed message.
      for (auto& item : state_->params.queue->close())
        for (auto& sink : state_->event_sinks)
          caf::anon_send(sink, outcome_atom::value,
                         send_outcome{item.id, runtime_errc::shutting_down});
    }
    for (auto& [id, p] : state_->producers) caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    auto finished = std::move(state_->params.on_finished);
    state_.reset();
    if (finished) finished();
  }
  super::on_exit();
}

connection_impl::behavior_type connection_impl::make_behavior() {
  state_ = std::make_unique<connection_state>(std::move(params_), now());
  auto& s = st();
  s.transport = s.params.stream ? s.params.stream->describe() : std::string{"test"};
  const bool polled = loop() != nullptr && s.params.stream && s.params.stream->native_handle() >= 0;
  s.io = polled ? make_polled_wire(*this) : make_threaded_wire(*this);
  s.io->start();
  pump();  // our HELLO goes out first of all
  return {
      // -- the send side --
      [this](send_atom, outgoing_message& m) -> caf::result<send_outcome> {
        auto rp = make_response_promise<send_outcome>();
        const auto id = st().params.ids->allocate();
        st().replies.emplace(id, rp);
        submit(id, std::move(m), false);
        after_submit();
        return rp;
      },
      [this](send_atom, wait_atom, outgoing_message& m) -> caf::result<send_outcome> {
        auto& s = st();
        auto rp = make_response_promise<send_outcome>();
        const auto id = s.params.ids->allocate();
        s.replies.emplace(id, rp);
        if (s.waiting_sends.empty() && (s.ended || s.core.has_room(queue_cost(m)))) {
          submit(id, std::move(m), false);  // room (or the end, which answers at once)
        } else if (s.waiting_sends.size() < s.params.config.max_waiting_sends) {
          s.waiting_sends.emplace_back(id, std::move(m));
          return rp;
        } else {
          on_sent(id, runtime_errc::backpressure, 0);
        }
        after_submit();
        return rp;
      },
      [this](send_atom, std::uint64_t id, outgoing_message& m) {
        if (id == 0) id = st().params.ids->allocate();  // "pick one for me"
        submit(id, std::move(m), false);
        after_submit();
      },
      [this](send_atom, std::uint64_t first, outgoing_batch& batch) {
        if (first == 0) first = st().params.ids->allocate(batch.size());
        for (std::size_t i = 0; i < batch.size(); ++i)
          submit(first + i, std::move(batch[i]), false);
        after_submit();
      },
      [this](drain_atom) {
        drain_queue();
        after_submit();
      },
      [this](cancel_atom, std::uint64_t id) {
        drain_queue();  // a message sent before cancel() is known to the core first
        st().core.cancel(id);
        pump();
      },
      // -- control --
      [this](drop_atom, std::uint64_t id) {
        st().core.cancel_incoming(id);
        pump();
      },
      [this](attach_atom, delivery_sink& sink) {
        auto& s = st();
        s.params.sink = std::move(sink);
        if (s.params.box) {
          // What arrived before the sink (into the built-in inbox) goes to the sink first.
          auto [d, cost] = s.params.box->drain();
          if (!d.messages.empty() || !d.failures.empty())
            s.waiting.emplace_front(std::move(d), cost);
          s.params.box.reset();
        }
        auto waiting = std::move(s.waiting);
        s.waiting.clear();
        for (auto& [d, cost] : waiting) deliver(std::move(d), cost);
        pump();
      },
      [this](subscribe_atom, event_sink& sink) {
        auto& s = st();
        if (s.ended) {
          if (!s.params.end || s.params.end->first_telling(sink.address()))
            send(sink, closed_atom::value,
                 connection_closed{s.core.close_reason(), s.transport, s.core.peer_goaway_text()});
          return;
        }
        s.event_sinks.push_back(std::move(sink));
      },
      [this](close_atom, caf::timespan deadline) -> caf::result<connection_closed> {
        auto& s = st();
        if (s.ended)
          return connection_closed{s.core.close_reason(), s.transport, s.core.peer_goaway_text()};
        drain_queue();  // what was sent before close() goes out before the end
        auto rp = make_response_promise<connection_closed>();
        s.close_replies.push_back(rp);
        const auto t = now();
        s.core.shutdown(t, t + std::chrono::duration_cast<session::clock::duration>(deadline));
        pump();
        return rp;
      },
      [this](abort_atom) { abort_now(runtime_errc::shutting_down, {}); },
      [this](abort_atom, std::uint16_t code, std::string& text) {
        abort_now(protocol::errc_from_wire(code, protocol::errc::shutting_down), text);
      },
      [this](stats_atom) -> connection_stats {
        auto& s = st();
        connection_stats out;
        out.session = s.core.stats();
        out.transport = s.transport;
        out.open = !s.ended;
        out.pending_deliveries = s.waiting.size();
        return out;
      },
      // -- from producers --
      [this](chunk_atom, std::uint64_t id, produced_chunk& c) {
        auto& core = st().core;
        if (!c.bytes.empty()) core.push(id, c.bytes, std::move(c.owner));
        if (c.last) core.finish(id, c.digest);
        pump();
      },
      [this](chunk_atom, std::uint64_t id, caf::error& e) {
        st().core.fail_stream(id, to_error_code(e));
        pump();
      },
      // -- from the transport --
      [this](readable_atom) {
        st().io->on_readable();
        pump();
      },
      [this](writable_atom) {
        st().io->on_writable();
        pump();
      },
      [this](bytes_atom, read_buffer& rb) -> caf::result<read_buffer> {
        st().core.feed(protocol::byte_view{rb.bytes->data(), rb.size}, now());
        pump();
        if (st().core.accepts_input()) return std::move(rb);
        // The application holds more than its delivery budget: the reader gets its buffer back,
        // and reads again, only once it caught up (pump() hands the buffers back).
        st().held_reads.emplace_back(make_response_promise<read_buffer>(), std::move(rb));
        return st().held_reads.back().first;
      },
      [this](ended_atom, caf::error& e) { transport_failed(to_error_code(e)); },
      // -- timers and acknowledgements --
      [this](tick_atom, std::uint64_t generation) {
        auto& s = st();
        if (generation != s.timer_generation && generation != wire_tick) return;  // superseded
        s.timer_at.reset();
        s.core.tick(now());
        pump();
      },
      [this](ack_atom, std::uint64_t cost) {
        st().core.acknowledge(cost);
        pump();
      },
      [this](linger_atom) { quit_when_done(); },
      [this](flush_atom) {
        auto& s = st();
        s.flush_pending = false;
        if (!s.finishing) s.io->flush();
        pump();
      },
  };
}

namespace {

// A blocking sender's gate bytes travel with its message as the session's cookie: the bytes, and
// the account in the top bit.
constexpr std::uint64_t large_lane_bit = std::uint64_t{1} << 63;

std::uint64_t gate_cookie(std::size_t bytes, gate_lane lane) noexcept {
  return bytes | (lane == gate_lane::large ? large_lane_bit : 0);
}

}  // namespace

void connection_impl::release_gate(std::size_t bytes, gate_lane lane) {
  st().gate_release[lane == gate_lane::small ? 0 : 1] += bytes;
}

void connection_impl::submit(std::uint64_t id, outgoing_message msg, bool gated) {
  auto& s = st();
  std::uint64_t cookie = 0;
  if (gated && s.params.gate) {
    const auto bytes = gate_cost(msg);
    const auto lane = gate_lane_for(msg, s.params.config.single_frame_max);
    if (!msg.file_path.empty() || msg.memory_size() > s.params.config.single_frame_max)
      s.gate_held[id] = {bytes, lane};  // released as it is written (progress)
    else
      cookie = gate_cookie(bytes, lane);  // released once it is written
  }
  std::error_code e;
  if (!msg.file_path.empty()) {
    const int fd = ::open(msg.file_path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat info {};
    if (fd < 0 || ::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      e = fd < 0 ? os_error(errno) : std::error_code{os_error(EINVAL)};
      if (fd >= 0) ::close(fd);
    } else {
      e = s.core.open_stream(id, msg.meta, static_cast<std::uint64_t>(info.st_size));
      if (e)
        ::close(fd);
      else
        spawn_producer(id, std::move(msg), fd);
    }
  } else if (whole_in_core(msg)) {
    e = s.core.send(id, std::move(msg.meta), std::move(msg.bytes), cookie);
  } else {
    e = s.core.open_stream(id, msg.meta, msg.memory_size());
    if (!e) spawn_producer(id, std::move(msg), -1);
  }
  if (e) on_sent(id, e, cookie);  // refused at once: reported like any other outcome
}

void connection_impl::on_sent(std::uint64_t id, std::error_code reason, std::uint64_t cookie) {
  auto& s = st();
  if (cookie != 0) {
    release_gate(static_cast<std::size_t>(cookie & ~large_lane_bit),
                 (cookie & large_lane_bit) ? gate_lane::large : gate_lane::small);
  } else if (!s.gate_held.empty()) {
    if (auto g = s.gate_held.find(id); g != s.gate_held.end()) {
      release_gate(g->second.bytes, g->second.lane);
      s.gate_held.erase(g);
    }
  }
  if (auto p = s.producers.find(id); p != s.producers.end()) {
    // A finished producer has quit already; a failed or cancelled message stops its producer.
    if (reason) caf::anon_send_exit(p->second, caf::exit_reason::user_shutdown);
    s.producers.erase(p);
  }
  if (auto r = s.replies.find(id); r != s.replies.end()) {
    r->second.deliver(send_outcome{id, reason});
    s.replies.erase(r);
  }
  for (auto& sink : s.event_sinks) send(sink, outcome_atom::value, send_outcome{id, reason});
}

void connection_impl::on_progress(const session::progress& p) {
  auto& s = st();
  if (auto producer = s.producers.find(p.id); producer != s.producers.end())
    send(producer->second, window_atom::value, p.delta);
  // Written body bytes leave the blocking senders' gate at once, so the next large message of a
  // blocking sender can queue behind this one before it ends.
  if (auto g = s.gate_held.find(p.id); g != s.gate_held.end()) {
    const auto released =
        static_cast<std::size_t>(std::min<std::uint64_t>(p.delta, g->second.bytes));
    release_gate(released, g->second.lane);
    g->second.bytes -= released;
  }
  for (auto& sink : s.event_sinks)
    send(sink, progress_atom::value, send_progress{p.id, p.written, p.total});
}

void connection_impl::on_closed(std::error_code reason) {
  auto& s = st();
  s.ended = true;
  if (s.params.box) s.params.box->close(reason);
  if (s.params.gate) s.params.gate->close();
  // The description now: a TLS stream adds why it failed (OpenSSL's reason).
  if (s.params.stream) s.transport = s.params.stream->describe();
  const connection_closed c{reason, s.transport, s.core.peer_goaway_text()};
  if (s.params.end) s.params.end->set(c);
  for (auto& sink : s.event_sinks)
    if (!s.params.end || s.params.end->first_telling(sink.address()))
      send(sink, closed_atom::value, c);
  for (auto& rp : s.close_replies) rp.deliver(c);
  s.close_replies.clear();
}

void connection_impl::abort_now(std::error_code reason, std::string_view text) {
  drain_queue();  // failed by the abort like everything else in flight
  st().core.abort(reason, text);
  pump();
  if (!state_) return;
  // Now, not after a drain or a linger: the GOAWAY goes out as far as the transport takes it at
  // once, then the transport is closed.
  if (!st().finishing) st().io->flush();
  quit_when_done();
}

void connection_impl::deliver(delivery d, std::uint64_t cost) {
  auto& s = st();
  if (s.params.sink) {
    request(s.params.sink, caf::infinite, deliver_atom::value, std::move(d))
        .then(
            [this, cost](caf::ok_atom) {
              if (!state_) return;
              st().core.acknowledge(cost);
              pump();
            },
            [this, cost](caf::error&) {
              // The sink is gone: its share of the budget comes back all the same.
              if (!state_) return;
              st().core.acknowledge(cost);
              pump();
            });
    return;
  }
  s.waiting.emplace_back(std::move(d), cost);
}

void connection_impl::hand_over() {
  auto& s = st();
  if (s.pending.messages.empty() && s.pending.failures.empty()) return;
  if (!s.params.sink && s.params.box) {
    // receive() takes them one by one, each acknowledging its own cost.
    s.params.box->push(s.pending, s.pending_costs);
    s.pending_cost = 0;
    s.pending_costs.clear();
    return;
  }
  s.pending_costs.clear();
  delivery d = std::move(s.pending);
  s.pending = delivery{};
  const auto cost = s.pending_cost;
  s.pending_cost = 0;
  deliver(std::move(d), cost);
}

void connection_impl::pump() {
  if (!state_) return;
  auto& s = st();
  for (int round = 0; round < 16; ++round) {
    while (auto e = s.core.poll()) {
      std::visit(
          [this, &s](auto& ev) {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, session::received>) {
              s.pending.messages.push_back(std::move(ev.message));
              s.pending_cost += ev.cost;
              s.pending_costs.push_back(ev.cost);
            } else if constexpr (std::is_same_v<T, session::receive_failed>) {
              s.pending.failures.push_back(incoming_failure{ev.id, ev.reason});
            } else if constexpr (std::is_same_v<T, session::sent>) {
              on_sent(ev.id, ev.reason, ev.cookie);
            } else if constexpr (std::is_same_v<T, session::progress>) {
              on_progress(ev);
            } else if constexpr (std::is_same_v<T, session::closed>) {
              hand_over();  // what arrived before the end goes first
              on_closed(ev.reason);
            } else if constexpr (std::is_same_v<T, session::peer_ready>) {
              if (s.params.certificate && s.params.stream)
                s.params.certificate->set(s.params.stream->verified_peer());
            }
          },
          *e);
    }
    hand_over();
    // Written messages made room, or the connection ended: the waiting sends go next.
    if (!s.waiting_sends.empty()) submit_waiting();
    if (!s.core.has_events()) break;
  }
  // The blocking senders' gate hears once per pump, not once per message.
  for (int lane = 0; lane < 2; ++lane) {
    if (s.gate_release[lane] == 0 || !s.params.gate) continue;
    s.params.gate->release(s.gate_release[lane], lane == 0 ? gate_lane::small : gate_lane::large);
    s.gate_release[lane] = 0;
  }
  // Writes wait until the mailbox is worked through: a burst of sends or of producer chunks then
  // leaves in one vectored write instead of one write per message.
  if (s.core.accepts_input()) {
    s.io->resume_input();
    for (auto& [rp, rb] : s.held_reads) rp.deliver(std::move(rb));
    s.held_reads.clear();
  }
  if (!s.finishing && s.core.wants_write() && s.io->ready()) request_flush();
  if (s.ended && !s.core.done() && !s.finishing && !s.linger_armed) {
    // Ended, with its last control frames (a GOAWAY) still to write: they get the linger time,
    // not forever (a peer that stopped reading never takes them).
    s.linger_armed = true;
    delayed_send(handle(), s.params.config.linger, linger_atom::value);
  }
  if (s.core.done() && !s.finishing) {
    if (s.io->idle()) {
      s.finishing = true;
      if (!s.io->finish()) {
        quit_when_done();  // nothing to wait for
        return;
      }
    } else if (!s.linger_armed) {
      // The last bytes are still being written: they get the linger time, not forever (a peer
      // that stopped reading never takes them).
      s.linger_armed = true;
      delayed_send(handle(), s.params.config.linger, linger_atom::value);
    }
  }
  schedule_timer();
}

void connection_impl::drain_queue() {
  auto& s = st();
  if (!s.params.queue) return;
  s.params.queue->take(s.drained);
  for (auto& item : s.drained) submit(item.id, std::move(item.msg), true);
  s.drained.clear();
}

bool connection_impl::whole_in_core(const outgoing_message& m) const noexcept {
  return m.file_path.empty() && (m.memory_size() <= state_->params.config.single_frame_max ||
                                 state_->core.may_transform(m.memory_size()));
}

std::uint64_t connection_impl::queue_cost(const outgoing_message& m) const noexcept {
  return session::message_overhead + (whole_in_core(m) ? m.memory_size() : 0);
}

void connection_impl::submit_waiting() {
  auto& s = st();
  while (!s.waiting_sends.empty()) {
    auto& [id, msg] = s.waiting_sends.front();
    if (!s.ended && !s.core.has_room(queue_cost(msg))) return;
    const auto waited = id;
    auto m = std::move(msg);
    s.waiting_sends.pop_front();
    if (s.ended)
      on_sent(waited, runtime_errc::closed, 0);
    else
      submit(waited, std::move(m), false);
  }
}

void connection_impl::after_submit() {
  auto& s = st();
  // Queuing a message changes nothing but the output, unless it was refused at once (an event,
  // gate bytes to give back) or the connection is ending: then the whole pump runs. Otherwise the
  // deferred flush is all there is to ask for; its pump does the rest once the mailbox is worked
  // through (a burst of sends then costs one pump, not one each).
  if (s.finishing || s.core.done() || s.core.has_events() || s.gate_release[0] != 0 ||
      s.gate_release[1] != 0) {
    pump();
    return;
  }
  if (s.core.wants_write() && s.io->ready()) request_flush();
}

void connection_impl::request_flush() {
  auto& s = st();
  if (s.flush_pending) return;
  s.flush_pending = true;
  send(handle(), flush_atom::value);
}

void connection_impl::schedule_timer() {
  auto& s = st();
  if (s.finishing) {
    if (!s.linger_armed) {
      s.linger_armed = true;
      delayed_send(handle(), s.params.config.linger, linger_atom::value);
    }
    return;
  }
  auto at = s.core.next_deadline();
  if (!at) return;
  if (s.io->set_timer(*at)) return;  // the event loop keeps it
  if (s.timer_at && *s.timer_at <= *at) return;
  s.timer_at = at;
  const auto delay = std::max(*at - now(), session::clock::duration::zero());
  delayed_send(handle(), delay, tick_atom::value, ++s.timer_generation);
}

void connection_impl::transport_failed(std::error_code reason) {
  if (!state_) return;
  st().core.on_transport_closed(reason);
  pump();
  quit_when_done();
}

void connection_impl::quit_when_done() {
  if (!state_) return;
  auto& s = st();
  s.io->close();
  if (!s.ended) {
    // The linger ran out or the transport is gone without the core having ended: end it now.
    s.core.on_transport_closed(transport_errc::closed);
    pump();
  }
  quit();
}

connection_impl_actor spawn_connection(caf::actor_system& sys, connection_params params) {
  caf::actor_config cfg{params.loop};
  return sys.spawn_class<connection_impl, caf::no_spawn_options>(cfg, std::move(params));
}

}  // namespace netcore::actors::detail
