// session::core: construction, time, lifecycle (drain, abort, transport end) and events. The
// send side is in core_send.cpp, the receive side in core_receive.cpp.

#include "core_state.hpp"

#include <algorithm>

namespace netcore::session {

using protocol::errc;

namespace {

protocol::limits sane(protocol::limits lim) {
  lim.max_frame_payload =
      std::clamp(lim.max_frame_payload, protocol::min_frame_payload, protocol::max_wire_payload);
  return lim;
}

bool enabled(std::chrono::milliseconds d) noexcept {
  return d.count() > 0;
}

}  // namespace

core::core(session_config config, clock::time_point now, std::shared_ptr<id_source> ids)
    : config_(std::move(config)), ids_(ids ? std::move(ids) : std::make_shared<id_source>()),
      sched_(std::max(std::max<std::size_t>(config_.chunk_size, 1), config_.single_frame_max)),
      decoder_(sane(config_.limits)), reassembler_(sane(config_.limits), config_.storage) {
  config_.limits = sane(config_.limits);
  config_.chunk_size = std::max<std::size_t>(config_.chunk_size, 1);
  config_.write_batch = std::max<std::size_t>(config_.write_batch, 1);
  config_.initial_message_credit = std::max<std::uint64_t>(config_.initial_message_credit, 1);
  config_.initial_connection_credit = std::max<std::uint64_t>(config_.initial_connection_credit, 1);
  conn_granted_ = config_.initial_connection_credit;
  now_ = last_heard_ = ping_refill_ = now;
  next_ping_ = now + config_.keepalive_interval;
  handshake_deadline_ = now + config_.handshake_timeout;
  ping_tokens_ = config_.max_pings_per_second;
  if (config_.lossy && config_.link.enabled) link_ = std::make_unique<reliable_link>(config_.link);
  tolerate_loss_ = config_.lossy && !link_;
}

core::~core() = default;

void core::emit(event e) {
  events_.push_back(std::move(e));
}

std::optional<event> core::poll() {
  if (events_.empty()) return std::nullopt;
  event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

session_stats core::stats() const {
  session_stats s = stats_;
  s.open_outgoing = queued_messages_;
  s.open_incoming = reassembler_.open_count();
  s.queued_bytes = queued_bytes_;
  s.buffered_bytes = reassembler_.buffered_bytes();
  s.unacknowledged = unacked_;
  s.resync_bytes_dropped = decoder_.stats().dropped_bytes;
  s.corrupt_frames = decoder_.stats().corrupt_payloads;
  const protocol::reassembler_stats& r = reassembler_.stats();
  s.decompressed = {r.decoded, r.decoded_bytes, r.decoded_wire_bytes};
  if (link_) {
    const link_stats l = link_->stats();
    s.link_packets_sent = l.packets_sent;
    s.link_retransmissions = l.retransmissions;
    s.link_corrupt_packets = l.decoder.corrupt_headers + l.decoder.corrupt_payloads;
    s.link_duplicates = l.duplicates;
    s.link_bytes_dropped = l.decoder.dropped_bytes;
    s.link_rtt_us = static_cast<std::uint64_t>(l.srtt.count());
  }
  return s;
}

// -- time -----------------------------------------------------------------------------------------

void core::tick(clock::time_point now) {
  now_ = std::max(now_, now);
  if (state_ == session_state::closing || state_ == session_state::closed) return;
  if (link_) {
    link_tick();
    if (state_ == session_state::closing || state_ == session_state::closed) return;
  }
  if (state_ == session_state::handshake && enabled(config_.handshake_timeout) &&
      now_ >= handshake_deadline_) {
    abort(runtime_errc::handshake_timeout);
    return;
  }
  if (enabled(config_.peer_timeout) && accepts_input() &&
      now_ - last_heard_ >= config_.peer_timeout) {
    fail_all(errc::peer_timeout, errc::peer_timeout);
    queue_goaway(errc::peer_timeout);
    end(errc::peer_timeout);
    return;
  }
  if (drain_deadline_ && now_ >= *drain_deadline_) {
    fail_all(runtime_errc::drain_timeout, runtime_errc::drain_timeout);
    queue_goaway(errc::shutting_down);
    end(runtime_errc::drain_timeout);
    return;
  }
  if (enabled(config_.keepalive_interval) && now_ >= ping_due()) {
    control_frame c;
    c.type = protocol::frame_type::ping;
    c.argument = ++stats_.pings_sent;
    control_.push_back(c);
    next_ping_ = now_ + config_.keepalive_interval;
  }
  if (reassembler_.expire(now_) > 0) drain_reassembler();
  check_data_rate();
  check_drained();
}

bool core::peer_owes_bytes() const noexcept {
  // A frame begun must be finished, and an open message continued; unless this side withholds
  // the credit (its application does not keep up), so that the slowness is its own.
  return (!decoder_.at_boundary() || reassembler_.open_count() > 0) &&
         unacked_ <= config_.delivery_budget;
}

void core::check_data_rate() {
  if (config_.min_data_rate == 0 || !enabled(config_.rate_window) ||
      state_ == session_state::closing || state_ == session_state::closed)
    return;
  if (!peer_owes_bytes()) {
    rate_window_start_.reset();
    return;
  }
  if (!rate_window_start_) {
    rate_window_start_ = now_;
    rate_window_bytes_ = stats_.bytes_in;
    return;
  }
  const auto elapsed = now_ - *rate_window_start_;
  if (elapsed < config_.rate_window) return;
  const double seconds = std::chrono::duration<double>(elapsed).count();
  const auto got = stats_.bytes_in - rate_window_bytes_;
  if (static_cast<double>(got) < static_cast<double>(config_.min_data_rate) * seconds) {
    fail_all(runtime_errc::too_slow, runtime_errc::too_slow);
    queue_goaway(errc::peer_timeout);
    end(runtime_errc::too_slow);
    return;
  }
  rate_window_start_ = now_;
  rate_window_bytes_ = stats_.bytes_in;
}

std::optional<clock::time_point> core::next_deadline() const {
  if (state_ == session_state::closing || state_ == session_state::closed) return std::nullopt;
  std::optional<clock::time_point> at;
  auto consider = [&at](clock::time_point t) {
    if (!at || t < *at) at = t;
  };
  if (state_ == session_state::handshake && enabled(config_.handshake_timeout))
    consider(handshake_deadline_);
  if (enabled(config_.peer_timeout) && accepts_input())
    consider(last_heard_ + config_.peer_timeout);
  if (enabled(config_.keepalive_interval)) consider(ping_due());
  if (drain_deadline_) consider(*drain_deadline_);
  if (auto idle = reassembler_.next_deadline()) consider(*idle);
  if (rate_window_start_) consider(*rate_window_start_ + config_.rate_window);
  if (link_)
    if (auto rto = link_->next_deadline()) consider(*rto);
  return at;
}

clock::time_point core::ping_due() const noexcept {
  // Only a connection that has heard nothing for an interval pings: traffic already proves the
  // peer alive, and thousands of busy connections then send no keepalive at all.
  return std::max(next_ping_, last_heard_ + config_.keepalive_interval);
}

// -- lifecycle ------------------------------------------------------------------------------------

void core::shutdown(clock::time_point now, clock::time_point deadline) {
  now_ = std::max(now_, now);
  if (state_ == session_state::closing || state_ == session_state::closed) return;
  if (!drain_deadline_ || deadline < *drain_deadline_) drain_deadline_ = deadline;
  if (state_ == session_state::draining) return;
  // Before the handshake completed nothing was sent: draining starts once the peer is known.
  state_ = session_state::draining;
  check_drained();
}

void core::abort(std::error_code reason, std::string_view text) {
  if (state_ == session_state::closing || state_ == session_state::closed) return;
  if (!reason) reason = runtime_errc::shutting_down;
  if (!goaway_queued_) goaway_text_.assign(text.substr(0, 1024));
  fail_all(reason, reason);
  queue_goaway(reason.category() == protocol::protocol_category()
                   ? static_cast<errc>(reason.value())
                   : errc::shutting_down);
  end(reason);
}

void core::violation(protocol::errc code) {
  if (state_ == session_state::closing || state_ == session_state::closed) return;
  fail_all(code, code);
  queue_goaway(code);
  end(code);
}

void core::on_transport_closed(std::error_code reason) {
  if (state_ == session_state::closed) return;
  if (state_ == session_state::closing) {
    outstanding_.clear();
    control_.clear();
    state_ = session_state::closed;
    return;
  }
  if (state_ == session_state::draining && peer_goaway_ && reassembler_.open_count() == 0)
    settle_through_goaway();
  const bool drained = state_ == session_state::draining && goaway_written_ && peer_goaway_ &&
                       !has_outgoing() && reassembler_.open_count() == 0;
  if (drained) {
    outstanding_.clear();
    control_.clear();
    end({});
    state_ = session_state::closed;
    return;
  }
  fail_all(runtime_errc::disconnected, runtime_errc::disconnected);
  outstanding_.clear();
  control_.clear();
  end(reason ? reason : std::error_code{runtime_errc::disconnected});
  state_ = session_state::closed;
}

void core::fail_all(std::error_code outgoing, std::error_code incoming) {
  // Outgoing, in id order so that the events are deterministic.
  std::vector<std::uint64_t> ids;
  ids.reserve(out_.size());
  for (const auto& entry : out_) ids.push_back(entry.first);
  std::vector<single_done> singles;
  for (auto& entry : lanes_)
    for (auto& s : entry.second->items) singles.push_back({s.id, s.queued, s.cookie});
  for (auto& b : outstanding_)
    for (auto& s : b->singles) singles.push_back(s);
  for (auto& b : outstanding_) b->singles.clear();
  lanes_.clear();
  std::unordered_map<std::uint64_t, std::uint64_t> single_cookies;
  for (auto& s : singles) {
    ids.push_back(s.id);
    single_cookies[s.id] = s.cookie;
    release_queued(s.queued);
  }
  std::sort(ids.begin(), ids.end());
  for (auto id : ids) {
    if (out_.count(id) != 0) {
      finish_message(id, outgoing);
    } else {
      --queued_messages_;
      stats_.send_failures.add(outgoing);
      emit(sent{id, outgoing, single_cookies[id]});
    }
  }
  sched_ = outbound_scheduler{sched_quantum()};
  // Incoming.
  reassembler_.fail_all(protocol::errc::cancelled);
  while (auto ev = reassembler_.poll()) {
    if (ev->what == protocol::reassembly_event::kind::completed) {
      // Completed but not yet polled cannot happen (events are drained per frame); keep it.
      const std::uint64_t cost =
          message_overhead + (ev->message.body.is_file() ? 0 : ev->message.body.size());
      if (accepts_input() && unacked_ + cost > config_.delivery_budget) ++stats_.input_pauses;
      unacked_ += cost;
      stats_.unacknowledged_peak = std::max(stats_.unacknowledged_peak, unacked_);
      ++stats_.messages_received;
      emit(received{std::move(ev->message), cost});
      continue;
    }
    stats_.receive_failures.add(incoming);
    emit(receive_failed{ev->id, incoming});
  }
  in_.clear();
  grant_due_.clear();
}

void core::end(std::error_code reason) {
  if (state_ == session_state::closing || state_ == session_state::closed) return;
  close_reason_ = reason;
  state_ = session_state::closing;
  drain_deadline_.reset();
  emit(closed{reason});
  if (link_) link_->stop_retransmitting();
  if (nothing_to_write()) state_ = session_state::closed;
}

bool core::nothing_to_write() const noexcept {
  // On a reliable link the batches stay until acknowledged; what matters for closing is that
  // every packet went out once.
  if (link_) return control_.empty() && link_->flushed();
  return control_.empty() && outstanding_.empty();
}

void core::queue_control(control_frame c) {
  if (control_.size() >= config_.max_control_frames) {
    violation(errc::flood);
    return;
  }
  control_.push_back(c);
}

void core::queue_goaway(protocol::errc code) {
  if (goaway_queued_) return;
  goaway_queued_ = true;
  control_frame c;
  c.type = protocol::frame_type::goaway;
  c.argument = static_cast<std::uint64_t>(code);
  control_.push_back(c);  // never refused: it is the last word
}

void core::settle_through_goaway() {
  // The peer said GOAWAY and closed the stream, which it does only once it has read this side's
  // GOAWAY (its own drain waits for it): everything written up to that GOAWAY arrived, even
  // where the transport has not confirmed the writes yet (a threaded pipe reports writes apart
  // from what it reads, so the end of the stream can overtake the confirmation).
  if (goaway_written_) return;
  const auto last = std::find_if(outstanding_.begin(), outstanding_.end(),
                                 [](const std::shared_ptr<batch>& b) { return b->goaway; });
  if (last == outstanding_.end()) return;
  const auto count = static_cast<std::size_t>(last - outstanding_.begin()) + 1;
  for (std::size_t i = 0; i < count; ++i) {
    std::shared_ptr<batch> b = std::move(outstanding_.front());
    outstanding_.pop_front();
    settle(*b);
  }
  written_in_front_ = 0;
}

void core::check_drained() {
  if (state_ != session_state::draining || !peer_hello_) return;
  // Phase 1: once everything queued has been opened, tell the peer nothing new will come.
  if (!goaway_queued_ && !has_unopened()) queue_goaway(errc::ok);
  // Phase 2: both sides said GOAWAY, nothing is in flight either way: a clean close.
  if (goaway_written_ && peer_goaway_ && !has_outgoing() && reassembler_.open_count() == 0 &&
      outstanding_.empty() && control_.empty()) {
    end({});
  }
}

}  // namespace netcore::session
