// The link actor: owns the sending half of a connection. Outgoing messages register here; their
// frames wait in the outbound scheduler and leave in large vectored writes, control frames first,
// then by priority level and deficit round robin over bytes, within the peer's credit.

#include <netcore/actors/messages.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/transports/byte_stream.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <deque>
#include <string>
#include <unordered_map>

namespace netcore::actors {

namespace {

using protocol::errc;

/// A control frame waiting for the next batch.
struct control_frame {
  protocol::frame_type type = protocol::frame_type::ping;
  std::uint64_t id = 0;
  std::uint64_t argument = 0;
  protocol::origin who = protocol::origin::local;
  protocol::settings hello{};
  std::string text{};
};

control_frame make_control(protocol::frame_type type, std::uint64_t id = 0,
                           std::uint64_t argument = 0) {
  control_frame c;
  c.type = type;
  c.id = id;
  c.argument = argument;
  return c;
}

/// An outgoing message known to the link.
struct message_entry {
  protocol::message_meta meta;
  caf::actor producer;                           // invalid for single-frame messages
  std::int64_t peer_credit = 0;                  // body bytes the peer lets this message send
  std::size_t gate_bytes = 0;                    // bytes to give back to the blocking senders' gate
  gate_lane gate = gate_lane::large;             // ... and the account they go back to
  bool opened_on_wire = false;                   // OPEN already in a batch
  bool end_on_wire = false;                      // END already in a batch: too late to cancel
  std::uint64_t total = protocol::unknown_size;  // body size, once OPEN is known
  std::uint64_t written = 0;                     // body bytes written so far
  caf::actor reply_to;  // outcome target of a request-based send (may be invalid)
};

struct link_state {
  link_params params;
  outbound_scheduler sched{64u << 10};
  std::deque<control_frame> control;
  std::unordered_map<std::uint64_t, message_entry> messages;
  /// Requesters waiting for the outcome of a single-frame message (request-based sends only).
  std::unordered_map<std::uint64_t, caf::actor> single_reply_to;
  caf::actor receiver;
  std::int64_t connection_credit = 0;
  std::uint64_t peer_message_credit = 0;
  std::uint32_t peer_max_frame = 0;
  std::vector<write_job_ptr> jobs_in_flight;  // handed to the writer, not yet confirmed
  std::uint64_t write_sequence = 0;
  std::uint64_t ping_token = 0;
  std::uint64_t keepalive_generation = 0;
  bool flush_pending = false;  // a flush_atom is on its way to ourselves
  bool closing = false;        // close requested: finish what is queued, accept nothing new
  bool peer_goaway = false;    // the peer opens nothing new; we may still send
  bool failed = false;
  static inline const char* name = "netcore.link";
};

using link_actor = caf::stateful_actor<link_state>;

void notify_outcome(link_actor* self, std::uint64_t id, message_entry& e, errc error) {
  auto& st = self->state;
  if (st.params.gate && e.gate_bytes > 0) st.params.gate->release(e.gate_bytes, e.gate);
  e.gate_bytes = 0;
  send_outcome out{id, error};
  if (e.reply_to) self->send(e.reply_to, outcome_atom::value, out);
  if (st.params.events) self->send(st.params.events, outcome_atom::value, out);
}

void finish_message(link_actor* self, std::uint64_t id, errc error) {
  auto& st = self->state;
  auto i = st.messages.find(id);
  if (i == st.messages.end()) return;
  if (i->second.producer) self->send_exit(i->second.producer, caf::exit_reason::user_shutdown);
  st.sched.remove(id);
  notify_outcome(self, id, i->second, error);
  st.messages.erase(i);
}

void fail_link(link_actor* self, errc reason);

void maybe_quit(link_actor* self) {
  auto& st = self->state;
  if (st.closing && st.messages.empty() && st.sched.total_queued() == 0 && st.control.empty() &&
      st.jobs_in_flight.empty()) {
    if (st.params.stream) st.params.stream->close();
    if (st.receiver) self->send(st.receiver, fail_atom::value, errc::shutting_down);
    if (st.params.events) self->send(st.params.events, closed_atom::value, errc::ok);
    self->quit();
  }
}

void encode_control(write_job& job, control_frame& c) {
  using protocol::frame_type;
  switch (c.type) {
  case frame_type::hello:
    job.frames.hello(c.hello);
    break;
  case frame_type::ping:
    job.frames.ping(c.argument);
    break;
  case frame_type::pong:
    job.frames.pong(c.argument);
    break;
  case frame_type::credit:
    job.frames.credit(c.id, c.argument);
    break;
  case frame_type::cancel:
    job.frames.cancel(c.id, c.who, static_cast<errc>(c.argument), c.text);
    break;
  case frame_type::error:
    job.frames.error(c.id, c.who, static_cast<errc>(c.argument), c.text);
    break;
  case frame_type::goaway:
    job.frames.goaway(static_cast<errc>(c.argument), c.text);
    break;
  default:
    break;
  }
}

void on_written(link_actor* self, const write_job_ptr& job, errc result);

/// Batches are built once the mailbox has been worked through: a burst of sends (or chunks)
/// then leaves in one write instead of one write per message.
void request_flush(link_actor* self) {
  if (self->state.flush_pending) return;
  self->state.flush_pending = true;
  self->send(self, flush_atom::value);
}
void settle(link_actor* self, const write_job& job);

/// Builds batches while the writer has room: control frames first, then scheduled items.
void flush(link_actor* self) {
  auto& st = self->state;
  if (st.failed) return;
  auto can_send = [&st](std::uint64_t id, std::size_t bytes) {
    auto n = static_cast<std::int64_t>(bytes);
    if (outbound_scheduler::is_lane(id)) return st.connection_credit >= n;
    auto i = st.messages.find(id);
    if (i == st.messages.end()) return false;
    return st.connection_credit >= n && i->second.peer_credit >= n;
  };
  while (st.jobs_in_flight.size() < st.params.config.writes_in_flight) {
    // Nothing to say (stalled messages cannot send either): no batch to build.
    if (st.control.empty() && st.sched.idle()) break;
    auto job = std::make_shared<write_job>();
    job->sequence = ++st.write_sequence;
    while (!st.control.empty()) {
      encode_control(*job, st.control.front());
      st.control.pop_front();
    }
    while (job->frames.size() < st.params.write_batch) {
      auto next = st.sched.next(can_send);
      if (!next) break;
      auto id = next->first;
      auto& item = next->second;
      auto body = item.body_size();
      if (item.what == outbound_item::kind::single) {
        st.connection_credit -= static_cast<std::int64_t>(body);
        job->frames.open_single(item.id, item.meta, item.bytes);
        job->singles.emplace_back(item.id, item.gate_bytes);
        if (item.owner) job->owners.push_back(std::move(item.owner));
        continue;
      }
      auto& e = st.messages.at(id);
      st.connection_credit -= static_cast<std::int64_t>(body);
      e.peer_credit -= static_cast<std::int64_t>(body);
      switch (item.what) {
      case outbound_item::kind::open:
        e.total = item.position;
        job->frames.open(id, e.meta, item.position);
        e.opened_on_wire = true;
        break;
      case outbound_item::kind::single:
        break;  // handled above
      case outbound_item::kind::data:
        job->frames.data(id, item.position, item.bytes);
        break;
      case outbound_item::kind::end:
        job->frames.end(id, item.position, item.digest);
        e.end_on_wire = true;
        job->finished.push_back(id);
        break;
      }
      if (item.owner) job->owners.push_back(std::move(item.owner));
      if (body > 0 && item.what == outbound_item::kind::data) {
        if (!job->body_bytes.empty() && job->body_bytes.back().first == id)
          job->body_bytes.back().second += body;
        else
          job->body_bytes.emplace_back(id, body);
      }
    }
    if (job->frames.empty()) break;
    // A small batch with the writer idle is written right here: an idle connection then answers
    // without a thread hand-off. Large batches go to the writer thread, so that writing overlaps
    // with building the next batch; so does whatever the stream does not take at once.
    if (st.jobs_in_flight.empty() && st.params.stream &&
        job->frames.size() <= st.params.config.inline_write_max) {
      const auto& slices = job->frames.slices();
      auto written = st.params.stream->try_write(slices.data(), slices.size());
      if (!written) {
        st.jobs_in_flight.push_back(job);
        fail_link(self, written.error());
        return;
      }
      if (*written == job->frames.size()) {
        settle(self, *job);
        continue;
      }
      job->skip = *written;
    }
    st.jobs_in_flight.push_back(job);
    self->request(st.params.writer, caf::infinite, write_atom::value, job)
        .then([self, job](written_atom, errc result) { on_written(self, job, result); },
              [self](caf::error&) { fail_link(self, errc::send_failed); });
  }
  maybe_quit(self);
}

void on_written(link_actor* self, const write_job_ptr& job, errc result) {
  auto& st = self->state;
  if (result != errc::ok) {
    fail_link(self, result);  // fails this job's messages too
    return;
  }
  st.jobs_in_flight.erase(std::find(st.jobs_in_flight.begin(), st.jobs_in_flight.end(), job));
  settle(self, *job);
  request_flush(self);
}

void settle(link_actor* self, const write_job& job) {
  auto& st = self->state;
  for (auto& [id, bytes] : job.body_bytes) {
    auto i = st.messages.find(id);
    if (i == st.messages.end()) continue;
    if (i->second.producer) self->send(i->second.producer, window_atom::value, bytes);
    i->second.written += bytes;
    // Written body bytes leave the blocking senders' gate at once, so a small message queued
    // behind a large one does not wait for all of it.
    auto released = std::min(i->second.gate_bytes, bytes);
    if (st.params.gate && released > 0) st.params.gate->release(released, i->second.gate);
    i->second.gate_bytes -= released;
    if (st.params.events)
      self->send(st.params.events, progress_atom::value,
                 send_progress{id, i->second.written, i->second.total});
  }
  std::size_t gate_bytes = 0;
  for (auto& [id, bytes] : job.singles) {
    gate_bytes += bytes;
    if (st.params.events) self->send(st.params.events, outcome_atom::value, send_outcome{id});
    if (!st.single_reply_to.empty()) {
      auto i = st.single_reply_to.find(id);
      if (i != st.single_reply_to.end()) {
        self->send(i->second, outcome_atom::value, send_outcome{id});
        st.single_reply_to.erase(i);
      }
    }
  }
  if (st.params.gate && gate_bytes > 0) st.params.gate->release(gate_bytes, gate_lane::small);
  for (auto id : job.finished) {
    auto i = st.messages.find(id);
    if (i == st.messages.end()) continue;
    notify_outcome(self, id, i->second, errc::ok);
    st.sched.remove(id);
    st.messages.erase(i);  // the producer quits by itself after END
  }
}

void fail_link(link_actor* self, errc reason) {
  auto& st = self->state;
  if (st.failed) return;
  st.failed = true;
  if (st.params.gate) st.params.gate->close();
  std::vector<std::uint64_t> ids;
  for (auto& [id, e] : st.messages) ids.push_back(id);
  for (auto id : ids) finish_message(self, id, reason);
  // Single-frame messages still queued, or in writes that will never be confirmed, fail too.
  auto fail_single = [self, reason](std::uint64_t id, std::size_t gate_bytes) {
    auto& st = self->state;
    if (st.params.gate && gate_bytes > 0) st.params.gate->release(gate_bytes, gate_lane::small);
    if (st.params.events)
      self->send(st.params.events, outcome_atom::value, send_outcome{id, reason});
    auto i = st.single_reply_to.find(id);
    if (i != st.single_reply_to.end()) {
      self->send(i->second, outcome_atom::value, send_outcome{id, reason});
      st.single_reply_to.erase(i);
    }
  };
  st.sched.unstall_all();
  auto any = [](std::uint64_t, std::size_t) { return true; };
  while (auto n = st.sched.next(any))
    if (n->second.what == outbound_item::kind::single)
      fail_single(n->second.id, n->second.gate_bytes);
  for (auto& job : st.jobs_in_flight)
    for (auto& [id, bytes] : job->singles) fail_single(id, bytes);
  st.jobs_in_flight.clear();
  if (st.params.stream) st.params.stream->close();
  if (st.receiver) self->send(st.receiver, fail_atom::value, reason);
  if (st.params.events) self->send(st.params.events, closed_atom::value, reason);
  self->quit();
}

/// Registers a new outgoing message under `id`.
void accept(link_actor* self, std::uint64_t id, outgoing_message msg, std::size_t gate_bytes,
            caf::actor reply_to) {
  auto& st = self->state;
  message_entry e;
  e.gate_bytes = gate_bytes;
  e.gate =
      gate_lane_of(msg.memory_size(), !msg.file_path.empty(), st.params.config.single_frame_max);
  e.reply_to = std::move(reply_to);
  if (st.failed || st.closing) {
    notify_outcome(self, id, e, st.failed ? errc::disconnected : errc::shutting_down);
    return;
  }
  auto priority = msg.meta.priority;
  auto size = msg.memory_size();
  bool single =
      msg.file_path.empty() && size <= st.params.config.single_frame_max &&
      size <= st.peer_message_credit &&
      protocol::encoded_meta_size(msg.meta) + size + protocol::digest_size <= st.peer_max_frame;
  if (single) {
    // Fast path: no per-message actor and no per-message bookkeeping.
    outbound_item item;
    item.what = outbound_item::kind::single;
    item.position = size;
    if (msg.bytes) item.bytes = protocol::byte_view{*msg.bytes};
    item.owner = std::move(msg.bytes);
    item.id = id;
    item.meta = std::move(msg.meta);
    item.gate_bytes = gate_bytes;
    if (e.reply_to) st.single_reply_to.emplace(id, std::move(e.reply_to));
    st.sched.push_single(priority, std::move(item));
  } else {
    e.peer_credit = static_cast<std::int64_t>(st.peer_message_credit);
    e.meta = msg.meta;
    st.sched.add(id, priority);
    e.producer =
        spawn_message_actor(self->system(), caf::actor_cast<caf::actor>(self), id, std::move(msg),
                            st.params.chunk_size, st.params.config.message_window);
    st.messages.emplace(id, std::move(e));
  }
  request_flush(self);
}

void queue_control(link_actor* self, control_frame c) {
  self->state.control.push_back(std::move(c));
  request_flush(self);
}

void schedule_keepalive(link_actor* self) {
  auto interval = self->state.params.config.keepalive_interval;
  if (interval.count() <= 0) return;
  self->delayed_send(self, interval, tick_atom::value, ++self->state.keepalive_generation);
}

caf::behavior link_impl(link_actor* self, link_params params) {
  auto& st = self->state;
  st.params = std::move(params);
  if (!st.params.ids) st.params.ids = std::make_shared<id_source>();
  st.sched = outbound_scheduler{std::max(st.params.chunk_size, st.params.config.single_frame_max)};
  protocol::settings defaults;
  st.connection_credit = static_cast<std::int64_t>(defaults.initial_connection_credit);
  st.peer_message_credit = defaults.initial_message_credit;
  st.peer_max_frame = defaults.max_frame_payload;
  // Announce our receive settings first of all.
  auto hello = make_control(protocol::frame_type::hello);
  hello.hello.max_frame_payload = st.params.config.limits.max_frame_payload;
  hello.hello.initial_message_credit = st.params.config.initial_message_credit;
  hello.hello.initial_connection_credit = st.params.config.initial_connection_credit;
  hello.hello.max_concurrent_messages = st.params.config.limits.max_concurrent_messages;
  st.control.push_back(std::move(hello));
  self->send(self, tick_atom::value, std::uint64_t{0});  // first flush happens once running
  schedule_keepalive(self);
  self->set_down_handler([self](caf::down_msg&) {});
  return {
      // -- from applications --
      [self](send_atom, outgoing_message& msg) -> std::uint64_t {
        auto id = self->state.params.ids->allocate();
        auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        accept(self, id, std::move(msg), 0, sender);
        return id;
      },
      [self](send_atom, std::uint64_t id, outgoing_message& msg, std::uint64_t gate_bytes) {
        accept(self, id, std::move(msg), static_cast<std::size_t>(gate_bytes), caf::actor{});
      },
      [self](send_atom, outgoing_batch& batch, std::uint64_t first_id) {
        // Blocking senders acquired each message's cost from the gate.
        for (std::size_t i = 0; i < batch->size(); ++i) {
          auto& msg = (*batch)[i];
          auto cost = msg.memory_size() + gate_overhead_per_message;
          accept(self, first_id + i, std::move(msg), cost, caf::actor{});
        }
      },
      [self](cancel_atom, std::uint64_t id) {
        auto& st = self->state;
        auto i = st.messages.find(id);
        // Once END is on its way the peer gets the whole message: the outcome will be ok.
        if (i == st.messages.end() || i->second.end_on_wire) return;
        if (i->second.opened_on_wire) {
          auto c = make_control(protocol::frame_type::cancel, id,
                                static_cast<std::uint64_t>(errc::cancelled));
          c.who = protocol::origin::local;
          st.control.push_back(std::move(c));
        }
        finish_message(self, id, errc::cancelled);
        request_flush(self);
      },
      [self](close_atom) {
        auto& st = self->state;
        if (st.closing || st.failed) return;
        st.closing = true;
        auto c = make_control(protocol::frame_type::goaway);
        c.argument = static_cast<std::uint64_t>(errc::ok);
        queue_control(self, std::move(c));
        maybe_quit(self);
      },
      // -- from the message actors --
      [self](chunk_atom, std::uint64_t id, outbound_item& item) {
        auto& st = self->state;
        if (!st.sched.contains(id)) return;  // cancelled meanwhile
        st.sched.push(id, std::move(item));
        request_flush(self);
      },
      [self](fail_atom, std::uint64_t id, errc reason) {
        // A message actor could not produce its body (e.g. the file became unreadable).
        auto& st = self->state;
        auto i = st.messages.find(id);
        if (i == st.messages.end()) return;
        if (i->second.opened_on_wire) {
          auto c =
              make_control(protocol::frame_type::cancel, id, static_cast<std::uint64_t>(reason));
          st.control.push_back(std::move(c));
        }
        finish_message(self, id, reason);
        request_flush(self);
      },
      // -- from the receiver --
      [self](wire_atom, caf::actor receiver) { self->state.receiver = std::move(receiver); },
      [self](credit_atom, std::uint64_t id, std::uint64_t increment) {
        auto& st = self->state;
        auto inc = static_cast<std::int64_t>(std::min<std::uint64_t>(increment, INT64_MAX / 4));
        if (id == 0) {
          st.connection_credit += inc;
          st.sched.unstall_all();
        } else {
          auto i = st.messages.find(id);
          if (i == st.messages.end()) return;
          i->second.peer_credit += inc;
          st.sched.unstall(id);
        }
        request_flush(self);
      },
      [self](hello_atom, protocol::settings& s) {
        auto& st = self->state;
        protocol::settings defaults;
        st.connection_credit += static_cast<std::int64_t>(s.initial_connection_credit) -
                                static_cast<std::int64_t>(defaults.initial_connection_credit);
        auto delta = static_cast<std::int64_t>(s.initial_message_credit) -
                     static_cast<std::int64_t>(st.peer_message_credit);
        for (auto& [id, e] : st.messages) e.peer_credit += delta;
        st.peer_message_credit = s.initial_message_credit;
        st.peer_max_frame = s.max_frame_payload;
        st.sched.unstall_all();
        request_flush(self);
      },
      [self](ping_atom, std::uint64_t token) {
        auto c = make_control(protocol::frame_type::pong);
        c.argument = token;
        queue_control(self, std::move(c));
      },
      [self](grant_atom, std::uint64_t id, std::uint64_t increment) {
        auto c = make_control(protocol::frame_type::credit, id, increment);
        queue_control(self, std::move(c));
      },
      [self](in_cancel_atom, std::uint64_t id, errc reason) {
        // The receiving side abandons the peer's message `id`: tell the peer.
        auto c = make_control(protocol::frame_type::cancel, id, static_cast<std::uint64_t>(reason));
        c.who = protocol::origin::remote;
        queue_control(self, std::move(c));
      },
      [self](peer_cancel_atom, std::uint64_t id, errc reason) {
        finish_message(self, id, reason == errc::ok ? errc::cancelled : reason);
        request_flush(self);
      },
      [self](goaway_atom, errc) { self->state.peer_goaway = true; },
      [self](fail_atom, errc reason) { fail_link(self, reason); },
      [self](flush_atom) {
        self->state.flush_pending = false;
        flush(self);
      },
      [self](tick_atom, std::uint64_t generation) {
        auto& st = self->state;
        if (generation != 0 && generation == st.keepalive_generation) {
          auto c = make_control(protocol::frame_type::ping);
          c.argument = ++st.ping_token;
          st.control.push_back(std::move(c));
          schedule_keepalive(self);
        }
        request_flush(self);
      },
  };
}

}  // namespace

caf::actor spawn_link(caf::actor_system& sys, link_params params) {
  return sys.spawn(link_impl, std::move(params));
}

}  // namespace netcore::actors
