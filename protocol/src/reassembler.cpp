#include <netcore/protocol/reassembler.hpp>

#include <netcore/protocol/digest.hpp>

#include "spill_file.hpp"

#include <algorithm>
#include <new>
#include <utility>
#include <vector>

namespace netcore::protocol {

namespace {

using clock_type = reassembler::clock;

// The failure a CANCEL's argument names: a known error code is kept, anything else (0, codes of
// newer versions) becomes errc::cancelled.
errc cancel_reason(std::uint64_t code) noexcept {
  return code == 0 ? errc::cancelled : errc_from_wire(code, errc::cancelled);
}

// When a message whose last frame arrived at `last` times out; nothing when the timeout is
// disabled (zero or negative) or lies beyond what the clock can represent.
std::optional<clock_type::time_point> idle_deadline(clock_type::time_point last,
                                                    std::chrono::milliseconds timeout) noexcept {
  if (timeout <= std::chrono::milliseconds::zero()) return std::nullopt;
  if (timeout > std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::duration::max()))
    return std::nullopt;
  const auto step = std::chrono::duration_cast<clock_type::duration>(timeout);
  if (last > clock_type::time_point::max() - step) return std::nullopt;
  return last + step;
}

errc push_failure(std::deque<reassembly_event>& events, reassembler_stats& stats, std::uint64_t id,
                  errc reason) {
  reassembly_event ev;
  ev.what = reassembly_event::kind::failed;
  ev.id = id;
  ev.error = reason;
  events.push_back(std::move(ev));
  ++stats.failed;
  return reason;
}

// Turns a fully received, verified partial message into its body: the spill file handed over,
// or the memory moved out (and released from `buffered`).
template <class Partial>
errc take_body(Partial& p, std::uint64_t& buffered, message_body& out) {
  if (p.file.is_open()) {
    result<std::string> kept = p.file.close_and_keep();
    if (!kept) return kept.error();
    out = message_body::in_file(std::move(*kept), p.received);
    return errc::ok;
  }
  buffered -= p.memory.size();
  out = message_body::in_memory(std::move(p.memory));
  p.memory = byte_buffer();
  return errc::ok;
}

}  // namespace

/// An incoming message being received.
struct reassembler::partial {
  std::uint64_t id = 0;
  message_meta meta;
  transform_chain chain;                  ///< What to undo once the wire body is complete.
  std::uint64_t declared = unknown_size;  ///< Size named by OPEN, or unknown_size.
  std::uint64_t received = 0;             ///< Body bytes accepted so far.
  byte_buffer memory;                     ///< The body while it is kept in memory.
  detail::spill_file file;                ///< The body once it lives in a file.
  digest_state digest;                    ///< Running XXH3-64 of the body.
  clock::time_point last_activity{};      ///< When the last frame for it arrived.
};

reassembler::reassembler(const limits& lim, storage_policy policy)
    : limits_(lim), policy_(std::move(policy)) {}

reassembler::~reassembler() {
  // Unfinished messages: their spill files go with them.
  open_.clear();
  // Completed messages nobody polled were never handed over: their files are removed too.
  for (reassembly_event& ev : events_) {
    if (ev.what == reassembly_event::kind::completed && ev.message.body.is_file())
      ev.message.body.remove_file();
  }
}

errc reassembler::on_frame(const frame_view& frame, clock::time_point now) {
  const frame_header& h = frame.header;
  // Frames about messages of our own (CANCEL/CREDIT/ERROR by the receiving side) are not ours.
  if ((h.flags & flags::peer_origin) != 0) return errc::ok;
  switch (h.type) {
  case frame_type::open:
    return on_open(frame, now);
  case frame_type::data:
    return on_data(frame, now);
  case frame_type::end:
    return on_end(frame);
  case frame_type::cancel: {
    // A CANCEL for a message that is not open (finished, failed, never seen) is ignored.
    if (open_.find(h.message_id) == open_.end()) return errc::ok;
    fail_partial(h.message_id, cancel_reason(h.argument));
    return errc::cancelled;
  }
  default:
    return errc::ok;
  }
}

errc reassembler::on_open(const frame_view& f, clock::time_point now) {
  const std::uint64_t id = f.header.message_id;
  // Id 0 names the connection, never a message.
  if (id == 0) return errc::malformed_frame;
  if (open_.find(id) != open_.end()) {
    fail_partial(id, errc::duplicate_message);
    return errc::duplicate_message;
  }

  const bool single = (f.header.flags & flags::single) != 0;
  const bool can_spill = !policy_.spill_directory.empty();
  const std::uint64_t declared = f.header.argument;

  if (!single) {
    if (open_.size() >= limits_.max_concurrent_messages)
      return push_failure(events_, stats_, id, errc::too_many_messages);
    if (declared != unknown_size && declared > limits_.max_message_size)
      return push_failure(events_, stats_, id, errc::message_too_large);
  }

  if (single) return on_single(f, id, declared);

  auto p = std::make_unique<partial>();
  p->id = id;
  p->last_activity = now;
  std::size_t skip = 0;
  if (errc e = read_transforms(f, declared, p->chain, skip); e != errc::ok)
    return push_failure(events_, stats_, id, e);
  std::size_t consumed = 0;
  const errc meta_error =
      decode_meta(f.payload.sub(skip), limits_, p->meta, consumed, f.header.flags);
  if (meta_error != errc::ok) return push_failure(events_, stats_, id, meta_error);
  // Without SINGLE the payload is exactly the transform and metadata blocks.
  if (!f.payload.sub(skip + consumed).empty())
    return push_failure(events_, stats_, id, errc::malformed_frame);
  p->declared = declared;
  if (declared != unknown_size) {
    if (can_spill && declared > policy_.memory_threshold) {
      result<detail::spill_file> created = detail::spill_file::create(
          policy_.spill_directory, ++file_counter_, policy_.quota, declared);
      if (!created) return push_failure(events_, stats_, id, created.error());
      p->file = std::move(*created);
      ++stats_.spilled;
    } else if (!can_spill && declared > limits_.max_buffered_bytes) {
      // Could never be held: refuse now instead of after the peer sent most of it.
      return push_failure(events_, stats_, id, errc::memory_limit);
    }
  }
  open_.emplace(id, std::move(p));
  return errc::ok;
}

errc reassembler::on_single(const frame_view& f, std::uint64_t id, std::uint64_t declared) {
  // [Transforms,] metadata, the whole body, then the body's digest: complete at once, so nothing
  // of the bookkeeping of a message that arrives in pieces is needed (no partial, no running
  // digest).
  reassembly_event ev;
  transform_chain chain;
  std::size_t skip = 0;
  if (errc e = read_transforms(f, declared, chain, skip); e != errc::ok)
    return push_failure(events_, stats_, id, e);
  std::size_t consumed = 0;
  const errc meta_error =
      decode_meta(f.payload.sub(skip), limits_, ev.message.meta, consumed, f.header.flags);
  if (meta_error != errc::ok) return push_failure(events_, stats_, id, meta_error);
  const byte_view rest = f.payload.sub(skip + consumed);
  if (rest.size() < digest_size) return push_failure(events_, stats_, id, errc::malformed_frame);
  const byte_view body = rest.sub(0, rest.size() - digest_size);
  const digest64 expected = load_le(rest.data() + body.size(), digest_size);
  if (declared != body.size()) return push_failure(events_, stats_, id, errc::size_mismatch);
  if (body.size() > limits_.max_message_size)
    return push_failure(events_, stats_, id, errc::message_too_large);
  if (xxh3_64(body) != expected) return push_failure(events_, stats_, id, errc::digest_mismatch);

  byte_buffer decoded;
  byte_view content = body;
  if (!chain.empty()) {
    if (errc e = undo_transforms(chain, body, decoded); e != errc::ok)
      return push_failure(events_, stats_, id, e);
    content = byte_view{decoded};
  }
  if (errc e = store_complete(content, chain.empty() ? nullptr : &decoded, ev.message.body);
      e != errc::ok)
    return push_failure(events_, stats_, id, e);
  stats_.body_bytes += body.size();
  ev.what = reassembly_event::kind::completed;
  ev.id = id;
  ev.message.id = id;
  events_.push_back(std::move(ev));
  ++stats_.completed;
  return errc::ok;
}

errc reassembler::on_data(const frame_view& f, clock::time_point now) {
  const std::uint64_t id = f.header.message_id;
  auto it = open_.find(id);
  if (it == open_.end()) return errc::unknown_message;
  partial& p = *it->second;
  p.last_activity = now;

  if (f.header.argument != p.received) {
    fail_partial(id, errc::offset_mismatch);
    return errc::offset_mismatch;
  }
  const std::uint64_t n = f.payload.size();
  if (p.declared != unknown_size) {
    if (n > p.declared - p.received) {
      fail_partial(id, errc::size_mismatch);
      return errc::size_mismatch;
    }
  } else if (p.received > limits_.max_message_size || n > limits_.max_message_size - p.received) {
    fail_partial(id, errc::message_too_large);
    return errc::message_too_large;
  }
  if (n == 0) return errc::ok;

  const errc e = append(p, f.payload);
  if (e != errc::ok) {
    fail_partial(id, e);
    return e;
  }
  p.digest.update(f.payload);
  p.received += n;
  stats_.body_bytes += n;
  return errc::ok;
}

errc reassembler::on_end(const frame_view& f) {
  const std::uint64_t id = f.header.message_id;
  auto it = open_.find(id);
  if (it == open_.end()) return errc::unknown_message;
  partial& p = *it->second;

  errc e = errc::ok;
  if (f.payload.size() != digest_size) {
    e = errc::malformed_frame;
  } else if (f.header.argument != p.received ||
             (p.declared != unknown_size && f.header.argument != p.declared)) {
    e = errc::size_mismatch;
  } else if (p.digest.finish() != load_le(f.payload.data(), digest_size)) {
    e = errc::digest_mismatch;
  }

  reassembly_event ev;
  if (e == errc::ok) e = take_body(p, buffered_, ev.message.body);
  if (e == errc::ok && !p.chain.empty()) e = decode_body(p.chain, ev.message.body);
  if (e != errc::ok) {
    fail_partial(id, e);
    return e;
  }
  ev.what = reassembly_event::kind::completed;
  ev.id = id;
  ev.message.id = id;
  ev.message.meta = std::move(p.meta);
  open_.erase(it);
  events_.push_back(std::move(ev));
  ++stats_.completed;
  return errc::ok;
}

errc reassembler::append(partial& p, byte_view bytes) {
  const std::uint64_t n = bytes.size();
  if (n == 0) return errc::ok;
  const bool can_spill = !policy_.spill_directory.empty();

  if (!p.file.is_open()) {
    const std::uint64_t budget_left =
        buffered_ >= limits_.max_buffered_bytes ? 0 : limits_.max_buffered_bytes - buffered_;
    const bool over_budget = n > budget_left;
    const bool over_threshold =
        p.received > policy_.memory_threshold || n > policy_.memory_threshold - p.received;
    if (over_budget && !can_spill) return errc::memory_limit;
    if (over_budget || (can_spill && over_threshold)) {
      // Move the message to a file: what is buffered first, then everything that follows.
      result<detail::spill_file> created =
          detail::spill_file::create(policy_.spill_directory, ++file_counter_, policy_.quota,
                                     p.declared != unknown_size ? p.declared : 0);
      if (!created) return created.error();
      p.file = std::move(*created);
      ++stats_.spilled;
      if (!p.memory.empty()) {
        const errc e = p.file.append(p.memory);
        if (e != errc::ok) return e;
      }
      buffered_ -= p.memory.size();
      p.memory = byte_buffer();
    }
  }
  if (p.file.is_open()) return p.file.append(bytes);

  // In memory. Grow geometrically, but never past what this message may still hold in memory:
  // its declared size, the threshold when it would spill beyond it, and the buffering budget.
  const std::uint64_t need = p.memory.size() + n;
  if (need > p.memory.capacity()) {
    std::uint64_t ceiling = p.memory.size() + (limits_.max_buffered_bytes - buffered_);
    if (p.declared != unknown_size) ceiling = std::min(ceiling, p.declared);
    if (can_spill) ceiling = std::min(ceiling, policy_.memory_threshold);
    ceiling = std::max(ceiling, need);
    const std::uint64_t doubled = 2 * static_cast<std::uint64_t>(p.memory.capacity());
    const std::uint64_t capacity = std::min(std::max(need, doubled), ceiling);
    try {
      p.memory.reserve(static_cast<std::size_t>(capacity));
    } catch (const std::bad_alloc&) {
      return errc::memory_limit;
    }
  }
  p.memory.insert(p.memory.end(), bytes.begin(), bytes.end());
  buffered_ += n;
  return errc::ok;
}

void reassembler::on_corrupt_frame(const frame_header& header) {
  if ((header.flags & flags::peer_origin) != 0) return;
  switch (header.type) {
  case frame_type::open:
  case frame_type::data:
  case frame_type::end:
  case frame_type::cancel:
    fail_partial(header.message_id, errc::payload_corrupt);
    break;
  default:
    break;
  }
}

bool reassembler::fail(std::uint64_t id, errc reason) {
  if (open_.find(id) == open_.end()) return false;
  fail_partial(id, reason);
  return true;
}

void reassembler::fail_all(errc reason) {
  std::vector<std::uint64_t> ids;
  ids.reserve(open_.size());
  for (const auto& entry : open_) ids.push_back(entry.first);
  std::sort(ids.begin(), ids.end());
  for (std::uint64_t id : ids) fail_partial(id, reason);
}

std::size_t reassembler::expire(clock::time_point now) {
  std::vector<std::uint64_t> ids;
  for (const auto& entry : open_) {
    const auto deadline = idle_deadline(entry.second->last_activity, limits_.idle_timeout);
    if (deadline && now >= *deadline) ids.push_back(entry.first);
  }
  std::sort(ids.begin(), ids.end());
  for (std::uint64_t id : ids) fail_partial(id, errc::idle_timeout);
  return ids.size();
}

void reassembler::fail_partial(std::uint64_t id, errc reason) {
  auto it = open_.find(id);
  if (it == open_.end()) return;
  buffered_ -= it->second->memory.size();
  open_.erase(it);  // removes the spill file, if any
  push_failure(events_, stats_, id, reason);
}

std::optional<reassembly_event> reassembler::poll() {
  if (events_.empty()) return std::nullopt;
  reassembly_event ev = std::move(events_.front());
  events_.pop_front();
  return ev;
}

std::size_t reassembler::open_count() const noexcept {
  return open_.size();
}

std::uint64_t reassembler::received(std::uint64_t id) const noexcept {
  auto it = open_.find(id);
  return it == open_.end() ? 0 : it->second->received;
}

std::optional<reassembler::clock::time_point> reassembler::next_deadline() const {
  std::optional<clock::time_point> earliest;
  for (const auto& entry : open_) {
    const auto deadline = idle_deadline(entry.second->last_activity, limits_.idle_timeout);
    if (deadline && (!earliest || *deadline < *earliest)) earliest = deadline;
  }
  return earliest;
}

}  // namespace netcore::protocol
