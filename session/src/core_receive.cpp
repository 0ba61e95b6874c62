// session::core, receive side: decoding, reassembly, flow-control accounting and grants, the
// peer's control frames, and the rules that end a connection with a hostile or broken peer.

#include "core_state.hpp"

#include <algorithm>
#include <chrono>

namespace netcore::session {

using protocol::errc;
using protocol::frame_type;

void core::feed(protocol::byte_view bytes, clock::time_point now) {
  now_ = std::max(now_, now);
  stats_.bytes_in += bytes.size();
  if (state_ == session_state::closing || state_ == session_state::closed) return;
  last_heard_ = now_;
  if (link_)
    link_feed(bytes);
  else
    feed_frames(bytes);
  check_data_rate();
  check_drained();
}

void core::feed_frames(protocol::byte_view bytes) {
  protocol::byte_view in = bytes;
  while (state_ != session_state::closing && state_ != session_state::closed) {
    const protocol::decode_result r = decoder_.next(in);
    if (r.status == protocol::decode_status::need_more) break;
    // On a lossy stream, bytes skipped to find the next frame are what is left of frames that
    // were destroyed: their credit comes back, or every loss would shrink the window for good.
    if (tolerate_loss_ && r.dropped > 0) count_processed(r.dropped);
    if (r.status == protocol::decode_status::frame) {
      ++stats_.frames_in;
      on_frame(r.frame);
    } else {
      on_decode_error(r);
    }
  }
}

void core::count_processed(std::uint64_t wire_bytes) noexcept {
  conn_ungranted_ += wire_bytes;
}

bool core::grants_due() const noexcept {
  if (!grant_due_.empty()) return true;
  return conn_ungranted_ > 0 && conn_ungranted_ >= config_.initial_connection_credit / 4 &&
         unacked_ <= config_.delivery_budget;
}

void core::acknowledge(std::uint64_t cost) noexcept {
  const bool paused = !accepts_input();
  unacked_ -= std::min(cost, unacked_);
  // Input was paused by this side: the peer's silence meanwhile was not the peer's.
  if (paused && accepts_input()) last_heard_ = std::max(last_heard_, now_);
}

bool core::cancel_incoming(std::uint64_t id) {
  if (!reassembler_.fail(id, errc::cancelled)) return false;
  queue_cancel(id, errc::cancelled);
  drain_reassembler(false);
  return true;
}

void core::queue_cancel(std::uint64_t peer_id, protocol::errc reason) {
  if (state_ == session_state::closing || state_ == session_state::closed) return;
  control_frame c;
  c.type = frame_type::cancel;
  c.id = peer_id;
  c.argument = static_cast<std::uint64_t>(reason);
  c.who = protocol::origin::remote;
  queue_control(c);
}

void core::drain_reassembler(bool answer) {
  while (auto ev = reassembler_.poll()) {
    in_.erase(ev->id);
    if (ev->what == protocol::reassembly_event::kind::completed) {
      const std::uint64_t cost =
          message_overhead + (ev->message.body.is_file() ? 0 : ev->message.body.size());
      if (accepts_input() && unacked_ + cost > config_.delivery_budget) ++stats_.input_pauses;
      unacked_ += cost;
      stats_.unacknowledged_peak = std::max(stats_.unacknowledged_peak, unacked_);
      ++stats_.messages_received;
      emit(received{std::move(ev->message), cost});
      continue;
    }
    stats_.receive_failures.add(ev->error);
    emit(receive_failed{ev->id, ev->error});
    // Tell the peer to stop sending a message this side gave up on.
    if (answer) queue_cancel(ev->id, ev->error);
  }
}

void core::on_frame(const protocol::frame_view& f) {
  const protocol::frame_header& h = f.header;
  const bool peer_origin = (h.flags & protocol::flags::peer_origin) != 0;
  switch (h.type) {
  case frame_type::hello:
    on_hello(f);
    return;
  case frame_type::ping:
    if (on_ping()) pending_pong_ = h.argument;  // only the latest is answered: bounded
    return;
  case frame_type::pong:
    on_ping();  // a PONG nobody asked for costs as much as a PING
    return;
  case frame_type::goaway:
    on_goaway(f);
    return;
  case frame_type::credit: {
    const auto inc = static_cast<std::int64_t>(std::min<std::uint64_t>(h.argument, INT64_MAX / 8));
    if (h.message_id == 0) {
      conn_credit_ = std::min<std::int64_t>(conn_credit_ + inc, INT64_MAX / 4);
      sched_.unstall_all();
    } else if (peer_origin) {
      auto it = out_.find(h.message_id);
      if (it == out_.end()) return;  // finished meanwhile
      it->second->credit = std::min<std::int64_t>(it->second->credit + inc, INT64_MAX / 4);
      sched_.unstall(h.message_id);
    }
    return;
  }
  case frame_type::cancel:
  case frame_type::error:
    if (h.message_id == 0) return;  // connection-level ERROR: informational
    if (peer_origin) {
      on_peer_cancel(h.message_id, h.argument);
    } else if (reassembler_.fail(h.message_id,
                                 h.argument == 0
                                     ? errc::cancelled
                                     : protocol::errc_from_wire(h.argument, errc::cancelled))) {
      drain_reassembler(false);  // the peer gave up on it: no CANCEL back
    }
    return;
  case frame_type::open:
  case frame_type::data:
  case frame_type::end:
    if (peer_origin) return;  // never valid with PEER_ORIGIN: skipped like an unknown frame
    if (!peer_hello_) {
      violation(errc::protocol_error);  // message frames before the peer's HELLO
      return;
    }
    on_message_frame(f);
    return;
  }
}

void core::on_message_frame(const protocol::frame_view& f) {
  const protocol::frame_header& h = f.header;
  const std::uint64_t wire = protocol::wire_size(f.payload.size());
  conn_received_ += wire;
  if (conn_received_ > conn_granted_) {
    violation(errc::flow_control);
    return;
  }
  const std::uint64_t id = h.message_id;
  if (h.type == frame_type::open) {
    const bool single = (h.flags & protocol::flags::single) != 0;
    if (id == 0) {
      violation(errc::malformed_frame);
      return;
    }
    if (!single && reassembler_.open_count() >= config_.limits.max_concurrent_messages) {
      violation(errc::too_many_messages);  // more than this side announced
      return;
    }
    highest_peer_id_ = std::max(highest_peer_id_, id);
    const errc e = reassembler_.on_frame(f, now_);
    if (e == errc::unsupported_transform) {
      violation(e);  // a transform this side never announced: the peer broke the handshake
      return;
    }
    if (!single && e == errc::ok) in_[id].granted = config_.initial_message_credit;
    count_processed(wire);
    drain_reassembler(true);
    return;
  }
  auto it = in_.find(id);
  if (it == in_.end()) {
    // Not open: it failed or was cancelled (DATA still in flight is normal), or it never was.
    if (id > highest_peer_id_ && config_.max_unknown_frames != 0 && !tolerate_loss_ &&
        ++unknown_frames_ > config_.max_unknown_frames) {
      violation(errc::protocol_error);
      return;
    }
    count_processed(wire);
    return;
  }
  if (h.type == frame_type::data) {
    in_message& in = it->second;
    const std::uint64_t n = f.payload.size();
    if (n > in.granted - std::min(in.received, in.granted)) {
      violation(errc::flow_control);
      return;
    }
    const std::uint64_t before = reassembler_.received(id);
    const errc e = reassembler_.on_frame(f, now_);
    in.received += n;
    if (e == errc::ok) {
      in.ungranted += reassembler_.received(id) - before;
      if (!in.due && in.ungranted >= config_.initial_message_credit / 2) {
        in.due = true;
        grant_due_.push_back(id);
      }
    }
  } else {
    reassembler_.on_frame(f, now_);
  }
  count_processed(wire);
  drain_reassembler(true);
}

void core::on_decode_error(const protocol::decode_result& r) {
  const protocol::frame_header& h = r.frame.header;
  switch (r.error) {
  case errc::frame_too_large:
    // The header verified, so the peer really sent more than this side's HELLO allows.
    violation(errc::frame_too_large);
    return;
  case errc::payload_corrupt: {
    const bool message_frame =
        h.type == frame_type::open || h.type == frame_type::data || h.type == frame_type::end;
    const bool peer_origin = (h.flags & protocol::flags::peer_origin) != 0;
    if (!message_frame || peer_origin || h.message_id == 0) return;
    const std::uint64_t wire = protocol::wire_size(h.payload_length);
    conn_received_ += wire;
    count_processed(wire);  // the frame is gone, its credit comes back
    const bool single = (h.flags & protocol::flags::single) != 0;
    if (h.type == frame_type::open && single) {
      // A whole message lost: it was never open, so say so to both sides explicitly.
      highest_peer_id_ = std::max(highest_peer_id_, h.message_id);
      stats_.receive_failures.add(errc::payload_corrupt);
      emit(receive_failed{h.message_id, errc::payload_corrupt});
      queue_cancel(h.message_id, errc::payload_corrupt);
      return;
    }
    reassembler_.on_corrupt_frame(h);
    drain_reassembler(true);
    return;
  }
  default:
    return;  // header_corrupt, unsupported_version: the decoder resynchronises
  }
}

void core::on_peer_cancel(std::uint64_t id, std::uint64_t code) {
  // The receiving side of our message `id` gave up on it (or reported an error about it).
  const errc reason = code == 0 ? errc::cancelled : protocol::errc_from_wire(code, errc::cancelled);
  if (out_.count(id) == 0) {
    // Written in full already: the peer refused it after all (its CANCEL crossed the last
    // bytes). Reported as a second outcome, so that the refusal is not lost on this side.
    // Its cookie came back with the first outcome (and was released then): this one has none.
    auto it = std::find(recently_sent_.begin(), recently_sent_.end(), id);
    if (it == recently_sent_.end()) return;  // long finished, or never ours
    recently_sent_.erase(it);
    stats_.send_failures.add(reason);
    emit(sent{id, reason, 0});
    return;
  }
  finish_message(id, reason);
  check_drained();
}

void core::on_hello(const protocol::frame_view& f) {
  if (peer_hello_) return;  // settings are fixed for the connection: later HELLOs are ignored
  protocol::settings s;
  if (protocol::decode_settings(f.payload, s) != errc::ok) {
    violation(errc::malformed_frame);
    return;
  }
  apply_peer_settings(s);
  if (state_ == session_state::handshake) state_ = session_state::open;
  emit(peer_ready{s});
  check_drained();
}

void core::on_goaway(const protocol::frame_view& f) {
  if (peer_goaway_) return;
  peer_goaway_ = true;
  const errc code = protocol::errc_from_wire(f.header.argument, errc::protocol_error);
  std::string text{f.payload.as_chars().substr(0, 1024)};
  peer_goaway_text_ = text;
  emit(peer_goaway{code, std::move(text)});
  if (code != errc::ok) {
    // The peer ends the connection because of an error: nothing in flight will complete, and
    // nothing more needs to be written (it is not reading any more).
    fail_all(code, code);
    end(code);
    control_.clear();
    outstanding_.clear();
    written_in_front_ = 0;
    state_ = session_state::closed;
    return;
  }
  // A graceful close: this side accepts no new messages, finishes what it queued, then says
  // GOAWAY too; the peer keeps receiving until then.
  if (state_ == session_state::handshake || state_ == session_state::open)
    state_ = session_state::draining;
  check_drained();
}

bool core::on_ping() {
  ++stats_.pings_received;
  const double rate = config_.max_pings_per_second;
  if (rate <= 0) return true;
  const double elapsed = std::chrono::duration<double>(now_ - ping_refill_).count();
  ping_refill_ = now_;
  ping_tokens_ = std::min(rate, ping_tokens_ + elapsed * rate);
  if (ping_tokens_ < 1.0) {
    violation(errc::flood);
    return false;
  }
  ping_tokens_ -= 1.0;
  return true;
}

}  // namespace netcore::session
