// session::core over a reliable link: on lossy streams the frames the session builds are handed
// to the link as packets, the peer's acknowledgements account for them (so a message's outcome
// means "arrived"), and the link's in-order bytes feed the frame decoder. Without a link these
// calls go straight to the frames.

#include "core_state.hpp"

#include <algorithm>

namespace netcore::session {

bool core::wants_write() const noexcept {
  if (!link_) return frames_want_write();
  if (state_ == session_state::closed) return false;
  if (link_->wants_write()) return true;
  return frames_want_write() && (state_ == session_state::closing || link_->room() > 0);
}

const std::vector<protocol::io_slice>& core::next_batch() {
  return link_ ? link_batch() : build_batch(config_.write_batch);
}

void core::on_written(std::size_t n, clock::time_point now) {
  stats_.bytes_out += n;
  if (link_)
    link_written(n, std::max(now_, now));
  else
    account_written(n);
}

std::shared_ptr<const void> core::last_batch_owner() const {
  if (link_) return link_->last_batch_owner();
  if (outstanding_.empty()) return nullptr;
  return outstanding_.back();
}

const std::vector<protocol::io_slice>& core::link_batch() {
  if (state_ == session_state::closed) return no_slices_;
  // Frames enter the link only as far as its window has room, so what waits for
  // acknowledgement is bounded; the last words of an ending session go out regardless.
  for (;;) {
    const bool ending = state_ == session_state::closing;
    const std::size_t room = ending ? config_.write_batch : link_->room();
    if (room == 0 || !frames_want_write()) break;
    const auto& slices = build_batch(std::min(config_.write_batch, room));
    if (slices.empty()) break;
    link_->submit(slices);
  }
  return link_->next_batch();
}

void core::link_written(std::size_t n, clock::time_point now) {
  link_->on_written(n, now);
  if (state_ == session_state::closing && nothing_to_write()) state_ = session_state::closed;
}

void core::deliver_frames(void* self, protocol::byte_view bytes) {
  auto& c = *static_cast<core*>(self);
  if (c.state_ == session_state::closing || c.state_ == session_state::closed) return;
  c.feed_frames(bytes);
}

void core::link_feed(protocol::byte_view bytes) {
  link_->feed(bytes, now_, &core::deliver_frames, this);
  if (const std::uint64_t acked = link_->take_acked(); acked > 0) account_written(acked);
  if (link_->failed()) link_tick();
}

void core::link_tick() {
  link_->tick(now_);
  if (!link_->failed()) return;
  // Nothing but this side's closing GOAWAY is unacknowledged, and the peer had said GOAWAY and
  // sent everything: the peer closed after reading it (its acknowledgement was lost), or the
  // link died with nothing of value in flight. Either way no message is affected.
  if (state_ == session_state::draining && peer_goaway_ && !has_outgoing() &&
      reassembler_.open_count() == 0) {
    settle_through_goaway();
    check_drained();
    if (state_ == session_state::closing || state_ == session_state::closed) return;
  }
  // The peer is told (if anything still gets through) that its acknowledgements never came.
  fail_all(runtime_errc::retries_exhausted, runtime_errc::retries_exhausted);
  queue_goaway(protocol::errc::peer_timeout);
  end(runtime_errc::retries_exhausted);
}

}  // namespace netcore::session
