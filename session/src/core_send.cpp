// session::core, send side: admitting messages, choosing what goes next (priority levels, deficit
// round robin by bytes, credit and concurrency), encoding batches and settling them once written.

#include "core_state.hpp"

#include <algorithm>

namespace netcore::session {

using protocol::errc;
using protocol::frame_type;
using protocol::wire_size;

std::size_t core::sched_quantum() const noexcept {
  return std::max(config_.chunk_size, config_.single_frame_max);
}

std::error_code core::admit(std::uint64_t id, const protocol::message_meta& meta,
                            std::uint64_t body_size, std::uint64_t queued) {
  if (state_ == session_state::closing || state_ == session_state::closed)
    return runtime_errc::closed;
  if (peer_goaway_) return runtime_errc::peer_going_away;
  if (state_ == session_state::draining) return runtime_errc::shutting_down;
  if (id == 0 || is_lane(id)) return runtime_errc::invalid_argument;
  if (out_.count(id) != 0) return runtime_errc::duplicate_id;
  if (!has_room(queued)) {
    ++stats_.backpressure_refusals;
    return runtime_errc::backpressure;
  }
  if (peer_hello_) {
    if (body_size != protocol::unknown_size && body_size > peer_.max_message_size)
      return errc::message_too_large;
    if (protocol::encoded_meta_size(meta) > peer_.max_frame_payload)
      return errc::metadata_too_large;
  }
  return {};
}

bool core::has_room(std::uint64_t queued) const noexcept {
  // A message larger than the whole queue bound still passes when nothing else is queued.
  return queued_messages_ < config_.max_queued_messages &&
         (queued_bytes_ == 0 || queued_bytes_ + queued <= config_.max_queued_bytes);
}

bool core::fits_single(std::size_t head_size, std::size_t body_size) const noexcept {
  return body_size <= config_.single_frame_max &&
         head_size + body_size + protocol::digest_size <= peer_.max_frame_payload;
}

protocol::result<std::uint64_t, std::error_code> core::send(protocol::message_meta meta,
                                                            shared_body body) {
  const auto id = ids_->allocate();
  if (auto e = send(id, std::move(meta), std::move(body))) return e;
  return id;
}

std::error_code core::send(std::uint64_t id, protocol::message_meta meta, shared_body body,
                           std::uint64_t cookie) {
  const std::uint64_t size = body ? body->size() : 0;
  const std::uint64_t queued = size + message_overhead;
  if (auto e = admit(id, meta, size, queued)) return e;
  queued_bytes_ += queued;
  ++queued_messages_;
  // Bodies queued during the handshake are transformed once the peer's HELLO says what it takes.
  protocol::transform_chain chain;
  const std::size_t meta_size = protocol::encoded_meta_size(meta);
  if (peer_hello_) transform(body, meta_size, chain);
  const std::size_t wire = body ? body->size() : 0;
  if (fits_single(meta_size + protocol::encoded_transforms_size(chain), wire)) {
    enqueue_single(id, std::move(meta), std::move(body), queued, cookie, chain);
    return {};
  }
  auto m = std::make_unique<out_message>();
  m->id = id;
  m->meta = std::move(meta);
  m->chain = chain;
  m->body = std::move(body);
  m->total = wire;
  m->queued = queued;
  m->cookie = cookie;
  m->running = std::make_unique<protocol::digest_state>();
  add_message(std::move(m));
  return {};
}

protocol::result<std::uint64_t, std::error_code> core::open_stream(protocol::message_meta meta,
                                                                   std::uint64_t size) {
  const auto id = ids_->allocate();
  if (auto e = open_stream(id, std::move(meta), size)) return e;
  return id;
}

std::error_code core::open_stream(std::uint64_t id, protocol::message_meta meta, std::uint64_t size,
                                  std::uint64_t cookie) {
  if (auto e = admit(id, meta, size, message_overhead)) return e;
  queued_bytes_ += message_overhead;
  ++queued_messages_;
  auto m = std::make_unique<out_message>();
  m->id = id;
  m->meta = std::move(meta);
  m->stream = true;
  m->total = size;
  m->queued = message_overhead;
  m->cookie = cookie;
  add_message(std::move(m));
  return {};
}

void core::enqueue_single(std::uint64_t id, protocol::message_meta meta, shared_body body,
                          std::uint64_t queued, std::uint64_t cookie,
                          const protocol::transform_chain& chain) {
  const auto flow = lane_of(meta.priority);
  auto& l = lanes_[flow];
  if (!l) {
    l = std::make_unique<lane>();
    sched_.add(flow, meta.priority);
  }
  out_single s;
  s.id = id;
  s.meta_size = protocol::encoded_meta_size(meta) + protocol::encoded_transforms_size(chain);
  s.meta = std::move(meta);
  s.chain = chain;
  s.body = std::move(body);
  s.queued = queued;
  s.cookie = cookie;
  l->items.push_back(std::move(s));
  sched_.wake(flow);
}

void core::add_message(std::unique_ptr<out_message> m) {
  m->meta_size = protocol::encoded_meta_size(m->meta) + protocol::encoded_transforms_size(m->chain);
  m->credit = peer_hello_ ? static_cast<std::int64_t>(peer_.initial_message_credit) : 0;
  const auto id = m->id;
  sched_.add(id, m->meta.priority);
  sched_.wake(id);
  out_.emplace(id, std::move(m));
}

std::error_code core::push(std::uint64_t id, protocol::byte_view chunk,
                           std::shared_ptr<const void> owner) {
  auto it = out_.find(id);
  if (it == out_.end() || !it->second->stream || it->second->end_pushed)
    return runtime_errc::unknown_id;
  out_message& m = *it->second;
  const std::uint64_t n = chunk.size();
  if (m.total != protocol::unknown_size && n > m.total - m.pushed) {
    fail_stream(id, errc::size_mismatch);
    return errc::size_mismatch;
  }
  if (peer_hello_ && n > peer_.max_message_size - std::min(m.pushed, peer_.max_message_size)) {
    fail_stream(id, errc::message_too_large);
    return errc::message_too_large;
  }
  if (n == 0) return {};
  m.chunks.push_back({chunk, std::move(owner)});
  m.pushed += n;
  m.queued += n;
  queued_bytes_ += n;
  sched_.wake(id);
  return {};
}

std::error_code core::finish(std::uint64_t id, protocol::digest64 digest) {
  auto it = out_.find(id);
  if (it == out_.end() || !it->second->stream || it->second->end_pushed)
    return runtime_errc::unknown_id;
  out_message& m = *it->second;
  if (m.total != protocol::unknown_size && m.pushed != m.total) {
    fail_stream(id, errc::size_mismatch);
    return errc::size_mismatch;
  }
  m.total = m.pushed;
  m.end_pushed = true;
  m.digest = digest;
  sched_.wake(id);
  return {};
}

void core::fail_stream(std::uint64_t id, std::error_code reason) {
  auto it = out_.find(id);
  if (it == out_.end()) return;
  if (it->second->opened && !it->second->ended) {
    control_frame c;
    c.type = frame_type::cancel;
    c.id = id;
    c.argument = static_cast<std::uint64_t>(reason.category() == protocol::protocol_category()
                                                ? static_cast<errc>(reason.value())
                                                : errc::cancelled);
    queue_control(c);
  }
  finish_message(id, reason);
  check_drained();
}

void core::cancel(std::uint64_t id) {
  auto it = out_.find(id);
  if (it != out_.end()) {
    if (it->second->ended) return;  // END is on its way: the peer gets the whole message
    fail_stream(id, errc::cancelled);
    return;
  }
  for (auto& entry : lanes_) {
    auto& items = entry.second->items;
    auto s =
        std::find_if(items.begin(), items.end(), [id](const out_single& x) { return x.id == id; });
    if (s == items.end()) continue;
    release_queued(s->queued);
    const auto cookie = s->cookie;
    items.erase(s);
    --queued_messages_;
    stats_.send_failures.add(errc::cancelled);
    emit(sent{id, errc::cancelled, cookie});
    check_drained();
    return;
  }
}

void core::release_queued(std::uint64_t bytes) noexcept {
  queued_bytes_ -= std::min(bytes, queued_bytes_);
}

void core::release_opened(out_message& m) {
  if (!m.counted) return;
  m.counted = false;
  const bool was_full = opened_ >= peer_.max_concurrent_messages;
  --opened_;
  if (was_full) sched_.unstall_all();  // OPENs waiting for a free slot may go
}

void core::finish_message(std::uint64_t id, std::error_code reason) {
  auto it = out_.find(id);
  if (it == out_.end()) return;
  out_message& m = *it->second;
  release_opened(m);
  release_queued(m.queued);
  --queued_messages_;
  sched_.remove(id);
  if (reason)
    stats_.send_failures.add(reason);
  else
    ++stats_.messages_sent;
  const auto cookie = m.cookie;
  out_.erase(it);
  if (!reason) remember_sent(id);
  emit(sent{id, reason, cookie});
}

void core::remember_sent(std::uint64_t id) {
  constexpr std::size_t remembered = 1024;
  if (recently_sent_.size() == remembered) recently_sent_.pop_front();
  recently_sent_.push_back(id);
}

bool core::has_outgoing() const {
  if (!out_.empty()) return true;
  for (const auto& entry : lanes_)
    if (!entry.second->items.empty()) return true;
  return false;
}

bool core::has_unopened() const {
  for (const auto& entry : lanes_)
    if (!entry.second->items.empty()) return true;
  for (const auto& entry : out_)
    if (!entry.second->opened) return true;
  return false;
}

void core::apply_peer_settings(const protocol::settings& s) {
  peer_ = s;
  peer_hello_ = true;
  chunk_limit_ =
      std::max<std::size_t>(1, std::min<std::size_t>(config_.chunk_size, peer_.max_frame_payload));
  conn_credit_ = static_cast<std::int64_t>(
      std::min<std::uint64_t>(peer_.initial_connection_credit, INT64_MAX / 4));
  const auto message_credit = static_cast<std::int64_t>(
      std::min<std::uint64_t>(peer_.initial_message_credit, INT64_MAX / 4));
  // Messages queued during the handshake now learn what the peer accepts.
  std::vector<std::uint64_t> refused;
  for (auto& [id, m] : out_) {
    m->credit = message_credit;
    if (m->total != protocol::unknown_size && m->total > peer_.max_message_size) {
      refused.push_back(id);
    } else if (m->meta_size > peer_.max_frame_payload) {
      refused.push_back(id);
    } else if (!m->stream) {
      transform(m->body, m->meta_size, m->chain);
      m->total = m->body ? m->body->size() : 0;
      m->meta_size += protocol::encoded_transforms_size(m->chain);
    }
  }
  std::sort(refused.begin(), refused.end());
  for (auto id : refused) {
    const bool too_big =
        out_.at(id)->total != protocol::unknown_size && out_.at(id)->total > peer_.max_message_size;
    finish_message(id, too_big ? errc::message_too_large : errc::metadata_too_large);
  }
  // Small messages queued as single frames that the peer's frame size does not take go as
  // ordinary messages.
  for (auto& entry : lanes_) {
    auto& items = entry.second->items;
    for (auto s = items.begin(); s != items.end();) {
      const std::size_t size = s->body ? s->body->size() : 0;
      if (size > peer_.max_message_size) {
        const auto id = s->id;
        const auto cookie = s->cookie;
        release_queued(s->queued);
        --queued_messages_;
        s = items.erase(s);
        stats_.send_failures.add(errc::message_too_large);
        emit(sent{id, errc::message_too_large, cookie});
        continue;
      }
      transform(s->body, s->meta_size, s->chain);
      s->meta_size += protocol::encoded_transforms_size(s->chain);
      const std::size_t wire = s->body ? s->body->size() : 0;
      if (fits_single(s->meta_size, wire)) {
        ++s;
        continue;
      }
      auto m = std::make_unique<out_message>();
      m->id = s->id;
      m->meta = std::move(s->meta);
      m->chain = s->chain;
      m->body = std::move(s->body);
      m->total = wire;
      m->queued = s->queued;
      m->cookie = s->cookie;
      m->running = std::make_unique<protocol::digest_state>();
      s = items.erase(s);
      if (protocol::encoded_meta_size(m->meta) > peer_.max_frame_payload) {
        const auto id = m->id;
        release_queued(m->queued);
        --queued_messages_;
        stats_.send_failures.add(errc::metadata_too_large);
        emit(sent{id, errc::metadata_too_large, m->cookie});
        continue;
      }
      add_message(std::move(m));
    }
  }
  for (auto& entry : out_) sched_.wake(entry.first);
  for (auto& entry : lanes_) sched_.wake(entry.first);
  sched_.unstall_all();
}

// -- choosing and encoding ------------------------------------------------------------------------

std::size_t core::chunk_take(const out_message& m, std::size_t limit) const noexcept {
  const std::uint64_t by_message = m.credit > 0 ? static_cast<std::uint64_t>(m.credit) : 0;
  const std::int64_t conn = conn_credit_ - static_cast<std::int64_t>(protocol::header_size);
  const std::uint64_t by_connection = conn > 0 ? static_cast<std::uint64_t>(conn) : 0;
  const auto n =
      static_cast<std::size_t>(std::min<std::uint64_t>({limit, by_message, by_connection}));
  if (n == limit) return n;
  // A partial chunk, when the credit is worth a frame: the peer grants in steps of half its
  // message window and a quarter of its connection window, so waiting for more never deadlocks.
  const std::size_t worth =
      std::max<std::size_t>(1, static_cast<std::size_t>(std::min<std::uint64_t>(
                                   {min_partial_chunk, peer_.initial_message_credit / 2,
                                    peer_.initial_connection_credit / 4})));
  return n >= worth ? n : 0;
}

namespace {

/// Body bytes the next DATA frame of `m` may carry at most (before credit).
template <class Message>
std::size_t data_limit(const Message& m, std::size_t chunk_limit) noexcept {
  if (m.stream) {
    const auto& front = m.chunks.front();
    return std::min(chunk_limit, front.bytes.size() - m.front_offset);
  }
  return static_cast<std::size_t>(std::min<std::uint64_t>(chunk_limit, m.total - m.encoded));
}

}  // namespace

flow_head core::head_of(std::uint64_t flow) {
  if (is_lane(flow)) {
    auto it = lanes_.find(flow);
    if (it == lanes_.end() || it->second->items.empty()) return {};
    const out_single& s = it->second->items.front();
    const std::size_t size = s.body ? s.body->size() : 0;
    const auto wire = wire_size(s.meta_size + size + protocol::digest_size);
    const bool ok = conn_credit_ >= static_cast<std::int64_t>(wire);
    if (!ok) ++stats_.credit_stalls;
    return {true, ok, size};
  }
  auto it = out_.find(flow);
  if (it == out_.end()) return {};
  out_message& m = *it->second;
  if (!m.opened) {
    const bool slot = opened_ < peer_.max_concurrent_messages;
    const bool ok = slot && conn_credit_ >= static_cast<std::int64_t>(wire_size(m.meta_size));
    return {true, ok, 0};
  }
  if (m.available() > 0) {
    const std::size_t limit = data_limit(m, chunk_limit_);
    const std::size_t take = chunk_take(m, limit);
    if (take == 0) {
      ++stats_.credit_stalls;
      return {true, false, limit};
    }
    return {true, true, take};
  }
  const bool end_ready = m.stream ? m.end_pushed : m.encoded == m.total;
  if (!end_ready || m.ended) return {};
  const bool ok = conn_credit_ >= static_cast<std::int64_t>(wire_size(protocol::digest_size));
  return {true, ok, 0};
}

void core::encode_head(std::uint64_t flow, batch& b) {
  if (!is_lane(flow)) {
    encode_message_head(*out_.at(flow), b);
    return;
  }
  auto& items = lanes_.at(flow)->items;
  out_single s = std::move(items.front());
  items.pop_front();
  const std::size_t size = s.body ? s.body->size() : 0;
  protocol::byte_view body = s.body ? protocol::byte_view{*s.body} : protocol::byte_view{};
  b.frames.open_single(s.id, s.meta, body, s.chain);
  conn_credit_ -= static_cast<std::int64_t>(wire_size(s.meta_size + size + protocol::digest_size));
  if (s.body) b.owners.push_back(std::move(s.body));
  b.singles.push_back({s.id, s.queued, s.cookie});
}

void core::encode_message_head(out_message& m, batch& b) {
  if (!m.opened) {
    b.frames.open(m.id, m.meta, m.total, m.chain);
    conn_credit_ -= static_cast<std::int64_t>(wire_size(m.meta_size));
    m.opened = true;
    m.counted = true;
    ++opened_;
    return;
  }
  if (m.available() > 0) {
    const std::size_t take = chunk_take(m, data_limit(m, chunk_limit_));
    protocol::byte_view view;
    std::shared_ptr<const void> owner;
    if (m.stream) {
      auto& front = m.chunks.front();
      view = front.bytes.sub(m.front_offset, take);
      owner = front.owner;
      m.front_offset += take;
      if (m.front_offset == front.bytes.size()) {
        m.chunks.pop_front();
        m.front_offset = 0;
      }
    } else {
      view = protocol::byte_view{m.body->data() + m.encoded, take};
      owner = m.body;
      m.running->update(view);
    }
    b.frames.data(m.id, m.encoded, view);
    m.encoded += take;
    m.credit -= static_cast<std::int64_t>(take);
    conn_credit_ -= static_cast<std::int64_t>(wire_size(take));
    if (owner && (b.owners.empty() || b.owners.back() != owner))
      b.owners.push_back(std::move(owner));
    if (!b.bodies.empty() && b.bodies.back().first == m.id)
      b.bodies.back().second += take;
    else
      b.bodies.emplace_back(m.id, take);
    return;
  }
  const protocol::digest64 digest = m.stream ? m.digest : m.running->finish();
  b.frames.end(m.id, m.encoded, digest);
  conn_credit_ -= static_cast<std::int64_t>(wire_size(protocol::digest_size));
  m.ended = true;
  release_opened(m);
  b.finished.push_back(m.id);
}

void core::encode_control(batch& b) {
  if (!hello_sent_) {
    protocol::settings ours;
    ours.max_frame_payload = config_.limits.max_frame_payload;
    ours.initial_message_credit = config_.initial_message_credit;
    ours.initial_connection_credit = config_.initial_connection_credit;
    ours.max_concurrent_messages = config_.limits.max_concurrent_messages;
    ours.max_message_size = config_.limits.max_message_size;
    ours.accepted_transforms = config_.limits.accepted_transforms & protocol::known_transforms;
    ours.max_decoded_size = config_.limits.max_decoded_size;
    b.frames.hello(ours);
    hello_sent_ = true;
  }
  if (state_ != session_state::closing) {
    if (pending_pong_) {
      b.frames.pong(*pending_pong_);
      pending_pong_.reset();
    }
    for (auto id : grant_due_) {
      auto it = in_.find(id);
      if (it == in_.end()) continue;
      it->second.due = false;
      if (it->second.ungranted == 0) continue;
      b.frames.credit(id, it->second.ungranted);
      it->second.granted += it->second.ungranted;
      it->second.ungranted = 0;
    }
    grant_due_.clear();
    if (conn_ungranted_ > 0 && conn_ungranted_ >= config_.initial_connection_credit / 4 &&
        unacked_ <= config_.delivery_budget) {
      b.frames.credit(0, conn_ungranted_);
      conn_granted_ += conn_ungranted_;
      conn_ungranted_ = 0;
    }
  }
  for (const auto& c : control_) {
    switch (c.type) {
    case frame_type::ping:
      b.frames.ping(c.argument);
      break;
    case frame_type::cancel:
      b.frames.cancel(c.id, c.who, static_cast<errc>(c.argument));
      break;
    case frame_type::goaway:
      b.frames.goaway(static_cast<errc>(c.argument), goaway_text_);
      b.goaway = true;
      break;
    default:
      break;
    }
  }
  control_.clear();
}

bool core::frames_want_write() const noexcept {
  if (state_ == session_state::closed) return false;
  if (!hello_sent_ || !control_.empty()) return true;
  if (state_ == session_state::closing) return false;
  if (pending_pong_ || grants_due()) return true;
  return peer_hello_ && !sched_.idle();
}

const std::vector<protocol::io_slice>& core::build_batch(std::size_t limit) {
  if (state_ == session_state::closed) return no_slices_;
  std::shared_ptr<batch> b;
  if (!spare_.empty()) {
    b = std::move(spare_.back());
    spare_.pop_back();
  } else {
    b = std::make_shared<batch>();
  }
  encode_control(*b);
  if (peer_hello_ && (state_ == session_state::open || state_ == session_state::draining)) {
    while (b->frames.size() < limit) {
      auto flow = sched_.next([this](std::uint64_t id) { return head_of(id); });
      if (!flow) break;
      encode_head(*flow, *b);
    }
  }
  if (b->frames.empty()) {
    spare_.push_back(std::move(b));
    return no_slices_;
  }
  ++stats_.batches_out;
  stats_.frames_out += b->frames.frame_count();
  outstanding_.push_back(std::move(b));
  return outstanding_.back()->frames.slices();
}

void core::account_written(std::size_t n) {
  while (n > 0 && !outstanding_.empty()) {
    const std::size_t left = outstanding_.front()->frames.size() - written_in_front_;
    if (n < left) {
      written_in_front_ += n;
      break;
    }
    n -= left;
    written_in_front_ = 0;
    std::shared_ptr<batch> b = std::move(outstanding_.front());
    outstanding_.pop_front();
    settle(*b);
    // Reused only when no writer holds it any more (last_batch_owner()).
    if (b.use_count() == 1 && spare_.size() < 4) {
      b->clear();
      spare_.push_back(std::move(b));
    }
  }
  if (state_ == session_state::closing && nothing_to_write()) state_ = session_state::closed;
  check_drained();
}

void core::settle(batch& b) {
  for (const auto& [id, bytes] : b.bodies) {
    auto it = out_.find(id);
    if (it == out_.end()) continue;  // cancelled or failed meanwhile
    out_message& m = *it->second;
    m.written += bytes;
    const auto released = std::min(bytes, m.queued);
    m.queued -= released;
    release_queued(released);
    emit(progress{id, bytes, m.written, m.total, m.cookie});
  }
  for (const auto& s : b.singles) {
    release_queued(s.queued);
    --queued_messages_;
    ++stats_.messages_sent;
    remember_sent(s.id);
    emit(sent{s.id, {}, s.cookie});
  }
  for (auto id : b.finished) finish_message(id, {});
  if (b.goaway) goaway_written_ = true;
}

}  // namespace netcore::session
