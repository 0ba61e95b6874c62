// The receiver actor: owns the receiving half of a connection. Bytes from the reader go through
// the decoder and the reassembler; complete messages go to the delivery actor in batches;
// flow-control credit goes back to the peer as bytes are stored and deliveries acknowledged;
// control frames go to the link; silence beyond the peer timeout fails the connection.

#include <netcore/actors/messages.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/protocol/decoder.hpp>
#include <netcore/transports/byte_stream.hpp>

#include <caf/all.hpp>

#include <unordered_map>

namespace netcore::actors {

namespace {

using protocol::errc;
using protocol::frame_type;

struct receiver_state {
  receiver_params params;
  std::unique_ptr<protocol::decoder> decoder;
  std::unique_ptr<protocol::reassembler> reassembler;
  /// Body bytes stored per incoming message but not yet granted back.
  std::unordered_map<std::uint64_t, std::uint64_t> message_ungranted;
  std::uint64_t connection_ungranted = 0;
  /// Body bytes delivered in memory and not yet acknowledged by the delivery actor.
  std::uint64_t delivery_outstanding = 0;
  caf::actor_clock::time_point last_heard;
  std::uint64_t tick_generation = 0;
  bool failed = false;
  static inline const char* name = "netcore.receiver";
};

using receiver_actor = caf::stateful_actor<receiver_state>;

void deliver_events(receiver_actor* self, delivery_ptr out);

void fail_receiver(receiver_actor* self, errc reason, bool tell_link) {
  auto& st = self->state;
  if (st.failed) return;
  st.failed = true;
  st.reassembler->fail_all(reason);
  deliver_events(self, std::make_shared<delivery>());
  if (st.params.stream) st.params.stream->close();
  if (tell_link && st.params.link) self->send(st.params.link, fail_atom::value, reason);
  if (st.params.events) self->send(st.params.events, closed_atom::value, reason);
  self->quit();
}

/// Grants credit back to the peer: per message once half its window was stored, for the
/// connection once a quarter was, unless deliveries the application has not acknowledged
/// exceed the budget (then a slow consumer throttles the peer).
void grant_credit(receiver_actor* self, bool force) {
  auto& st = self->state;
  const auto& cfg = st.params.config;
  for (auto i = st.message_ungranted.begin(); i != st.message_ungranted.end();) {
    if (force ? i->second > 0 : i->second >= cfg.initial_message_credit / 2) {
      self->send(st.params.link, grant_atom::value, i->first, i->second);
      i->second = 0;
    }
    ++i;
  }
  // Only unacknowledged deliveries count: bytes of messages still arriving can only shrink by
  // completing, which needs credit (partial bodies are bounded by limits::max_buffered_bytes).
  if (st.delivery_outstanding > cfg.delivery_budget) return;
  if (st.connection_ungranted > 0 &&
      (force || st.connection_ungranted >= cfg.initial_connection_credit / 4)) {
    self->send(st.params.link, grant_atom::value, std::uint64_t{0}, st.connection_ungranted);
    st.connection_ungranted = 0;
  }
}

void deliver_events(receiver_actor* self, delivery_ptr out) {
  auto& st = self->state;
  while (auto ev = st.reassembler->poll()) {
    st.message_ungranted.erase(ev->id);
    if (ev->what == protocol::reassembly_event::kind::completed) {
      if (!ev->message.body.is_file()) out->memory_bytes += ev->message.body.size();
      out->messages.push_back(std::move(ev->message));
    } else {
      out->failures.push_back({ev->id, ev->error});
      // Tell the peer to stop sending a message we gave up on (unless it cancelled it).
      if (ev->error != errc::cancelled && !st.failed)
        self->send(st.params.link, in_cancel_atom::value, ev->id, ev->error);
    }
  }
  if (out->messages.empty() && out->failures.empty()) return;
  if (!st.params.delivery) return;
  st.delivery_outstanding += out->memory_bytes;
  auto bytes = out->memory_bytes;
  self->request(st.params.delivery, caf::infinite, deliver_atom::value, out)
      .then(
          [self, bytes](caf::ok_atom) {
            auto& st = self->state;
            st.delivery_outstanding -= std::min(bytes, st.delivery_outstanding);
            if (!st.failed) grant_credit(self, false);
          },
          [self, bytes](caf::error&) {
            auto& st = self->state;
            st.delivery_outstanding -= std::min(bytes, st.delivery_outstanding);
          });
}

void on_frame(receiver_actor* self, const protocol::frame_view& f) {
  auto& st = self->state;
  const auto& h = f.header;
  bool peer_origin = (h.flags & protocol::flags::peer_origin) != 0;
  switch (h.type) {
  case frame_type::open:
  case frame_type::data:
  case frame_type::end: {
    auto before = st.reassembler->received(h.message_id);
    auto e = st.reassembler->on_frame(f, st.last_heard);
    if (e == errc::unknown_message) {
      // Not open (maybe failed earlier): ignore, but keep the connection's credit flowing.
      if (h.type == frame_type::data) st.connection_ungranted += f.payload.size();
      return;
    }
    std::uint64_t body = 0;
    if (h.type == frame_type::data) {
      body = f.payload.size();
      if (e == errc::ok) {
        auto after = st.reassembler->received(h.message_id);
        if (after > before) st.message_ungranted[h.message_id] += after - before;
      }
    } else if (h.type == frame_type::open && (h.flags & protocol::flags::single)) {
      body = h.argument;
    }
    // On a lossy stream whole frames can vanish (a destroyed header). The peer counted their
    // bytes against its credit; when a later DATA or END shows the gap, grant it back, or the
    // connection's credit would shrink with every loss.
    if ((e == errc::offset_mismatch && h.type == frame_type::data) ||
        (e == errc::size_mismatch && h.type == frame_type::end)) {
      auto claimed = h.argument;  // DATA: where this chunk starts; END: the total
      // The peer cannot have had more in flight than the connection's credit: cap what it claims.
      if (claimed > before)
        body +=
            std::min<std::uint64_t>(claimed - before, st.params.config.initial_connection_credit);
    }
    st.connection_ungranted += body;
    return;
  }
  case frame_type::cancel:
    if (peer_origin)
      self->send(st.params.link, peer_cancel_atom::value, h.message_id,
                 static_cast<errc>(h.argument));
    else
      st.reassembler->on_frame(f, st.last_heard);
    return;
  case frame_type::error:
    if (h.message_id == 0) return;  // informational; a fatal one is followed by a close
    if (peer_origin)
      self->send(st.params.link, peer_cancel_atom::value, h.message_id,
                 static_cast<errc>(h.argument));
    else
      st.reassembler->fail(h.message_id, static_cast<errc>(h.argument));
    return;
  case frame_type::credit:
    self->send(st.params.link, credit_atom::value, h.message_id, h.argument);
    return;
  case frame_type::ping:
    self->send(st.params.link, ping_atom::value, h.argument);
    return;
  case frame_type::pong:
    return;  // hearing from the peer is all a pong is for
  case frame_type::goaway:
    self->send(st.params.link, goaway_atom::value, static_cast<errc>(h.argument));
    return;
  case frame_type::hello: {
    protocol::settings s;
    if (protocol::decode_settings(f.payload, s) == errc::ok)
      self->send(st.params.link, hello_atom::value, s);
    return;
  }
  }
}

void on_bytes(receiver_actor* self, const read_buffer& rb) {
  auto& st = self->state;
  st.last_heard = self->clock().now();
  protocol::byte_view in{rb.bytes->data(), rb.size};
  for (;;) {
    auto r = st.decoder->next(in);
    if (r.status == protocol::decode_status::need_more) break;
    if (r.status == protocol::decode_status::frame) {
      on_frame(self, r.frame);
      continue;
    }
    // A typed decode error: it costs at most the frame's own message.
    const auto& h = r.frame.header;
    bool about_incoming = (h.flags & protocol::flags::peer_origin) == 0 && h.message_id != 0;
    if ((r.error == errc::payload_corrupt || r.error == errc::frame_too_large) && about_incoming) {
      if (r.error == errc::payload_corrupt)
        st.reassembler->on_corrupt_frame(h);
      else
        st.reassembler->fail(h.message_id, errc::frame_too_large);
      if (h.type == frame_type::data) st.connection_ungranted += h.payload_length;
    }
  }
  auto out = std::make_shared<delivery>();
  deliver_events(self, out);
  grant_credit(self, false);
}

void schedule_tick(receiver_actor* self) {
  auto interval = self->state.params.config.keepalive_interval;
  if (interval.count() <= 0) return;
  self->delayed_send(self, interval, tick_atom::value, ++self->state.tick_generation);
}

caf::behavior receiver_impl(receiver_actor* self, receiver_params params) {
  auto& st = self->state;
  st.params = std::move(params);
  st.decoder = std::make_unique<protocol::decoder>(st.params.config.limits);
  st.reassembler =
      std::make_unique<protocol::reassembler>(st.params.config.limits, st.params.config.storage);
  st.last_heard = self->clock().now();
  schedule_tick(self);
  return {
      [self](bytes_atom, read_buffer& rb) -> read_buffer {
        if (!self->state.failed) on_bytes(self, rb);
        return rb;  // the reader reuses the buffer
      },
      [self](in_cancel_atom, std::uint64_t id) {
        // The application abandons an incoming message.
        auto& st = self->state;
        if (st.reassembler->fail(id, errc::cancelled)) {
          self->send(st.params.link, in_cancel_atom::value, id, errc::cancelled);
          deliver_events(self, std::make_shared<delivery>());
        }
      },
      [self](fail_atom, errc reason) {
        // From the reader (the stream ended) or from abort(): the link must learn it too, or it
        // notices only at its next write. From the link itself: it knows already.
        auto from_link = self->current_sender() ==
                         caf::actor_cast<caf::strong_actor_ptr>(self->state.params.link);
        fail_receiver(self, reason, !from_link);
      },
      [self](tick_atom, std::uint64_t generation) {
        auto& st = self->state;
        if (generation != st.tick_generation || st.failed) return;
        auto now = self->clock().now();
        if (now - st.last_heard >= st.params.config.peer_timeout) {
          fail_receiver(self, errc::peer_timeout, true);
          return;
        }
        if (st.reassembler->expire(now) > 0) deliver_events(self, std::make_shared<delivery>());
        schedule_tick(self);
      },
  };
}

}  // namespace

caf::actor spawn_receiver(caf::actor_system& sys, receiver_params params) {
  return sys.spawn(receiver_impl, std::move(params));
}

}  // namespace netcore::actors
