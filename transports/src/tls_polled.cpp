// The TLS decorator on an event loop: try_write() stages plaintext and encrypts it as far as the
// inner stream takes the records; try_read() decrypts what arrived. Neither blocks; the stream
// says when it holds output (has_pending_output) or needs the peer first (write_waits_for_read).

#include "tls_stream.hpp"

#include <algorithm>

namespace netcore::transports::detail {

std::error_code tls_stream::advance_handshake() {
  if (phase_ == phase::done) return {};
  if (clock_type::now() >= deadline_) return time_out();
  phase_ = phase::running;
  switch (engine_->handshake()) {
  case step::ok:
    handshake_done();
    return {};
  case step::failed: {
    auto e = fail_engine();
    // The alert that says why goes out if the inner stream takes it at once.
    const auto c = engine_->output_chunk();
    if (c.size > 0) (void)inner_->try_write(&c, 1);
    return e;
  }
  case step::want_read:
    waits_for_read_ = true;
    return {};
  default:
    return {};
  }
}

std::error_code tls_stream::flush_polled() {
  while (engine_->output_size() > 0) {
    const auto c = engine_->output_chunk();
    if (c.size == 0) break;
    auto r = inner_->try_write(&c, 1);
    if (!r) return fail(r.error(), {});
    engine_->consume_output(*r);
    if (*r < c.size) return {};  // the inner stream is full: the loop waits for writability
  }
  if (!shutdown_requested_ || staged_.size() > staged_at_) return {};
  if (!notify_queued_) {
    notify_queued_ = true;
    if (engine_->shutdown() == step::failed) return fail_engine();
    return flush_polled();
  }
  if (!inner_shut_ && engine_->output_size() == 0) {
    inner_shut_ = true;
    (void)inner_->shutdown_write();  // the peer has our close_notify either way
  }
  return {};
}

std::error_code tls_stream::encrypt_staged() {
  while (staged_at_ < staged_.size()) {
    std::size_t n = 0;
    switch (engine_->write(staged_.data() + staged_at_, staged_.size() - staged_at_, n)) {
    case step::ok:
      staged_at_ += n;
      break;
    case step::want_write: {
      const auto before = engine_->output_size();
      if (auto e = flush_polled()) return e;
      if (engine_->output_size() == before) return {};  // nothing taken: wait for writability
      break;
    }
    case step::failed:
      return fail_engine();
    default:
      return fail(transport_errc::tls_protocol_error, "TLS write needs the peer first");
    }
  }
  staged_.clear();
  staged_at_ = 0;
  return {};
}

result<std::size_t> tls_stream::try_write(const io_slice* slices, std::size_t count) {
  guard g{mutex_};
  polled_ = true;
  if (auto e = usable()) return e;
  start_clock();
  if (auto e = flush_polled()) return e;
  if (phase_ != phase::done) {
    if (auto e = advance_handshake()) return e;
    if (auto e = flush_polled()) return e;
    if (phase_ != phase::done) return std::size_t{0};  // waits_for_read_ tells the loop
  }
  waits_for_read_ = false;
  if (shutdown_requested_ && count > 0) return std::error_code{transport_errc::closed};
  std::size_t taken = 0;
  std::size_t slice = 0;
  std::size_t offset = 0;
  for (;;) {
    bool progress = false;
    if (staged_.empty()) {
      // Small slices (frame headers) are gathered into one record; large ones are encrypted
      // straight from the caller's memory, as many whole records as the output buffer surely
      // holds, so that the engine never keeps a half-written record of bytes it does not own.
      // Staged plaintext is only added to once it is all encrypted: after a full output buffer
      // the engine needs the very same bytes again.
      while (slice < count) {
        const auto* p = static_cast<const std::uint8_t*>(slices[slice].data) + offset;
        const std::size_t left = slices[slice].size - offset;
        std::size_t n = 0;
        if (left >= direct_minimum) {
          if (!staged_.empty()) break;  // what was gathered goes first
          n = std::min(left, engine_->sure_write_capacity());
          if (n == 0) break;
          for (std::size_t done = 0; done < n;) {  // a record per call (partial writes)
            std::size_t w = 0;
            if (engine_->write(p + done, n - done, w) != step::ok || w == 0)
              return fail(transport_errc::tls_protocol_error, "TLS output larger than expected");
            done += w;
          }
          if (auto e = flush_polled()) return e;
        } else {
          n = std::min(left, staging_limit - staged_.size());
          if (n == 0) break;
          staged_.insert(staged_.end(), p, p + n);
        }
        progress = true;
        taken += n;
        offset += n;
        if (offset == slices[slice].size) {
          ++slice;
          offset = 0;
        }
      }
    }
    if (auto e = encrypt_staged()) return e;
    if (auto e = flush_polled()) return e;
    if (!staged_.empty() || slice == count) break;
    if (!progress && engine_->output_size() > 0) break;  // the inner stream is full
  }
  return taken;
}

result<std::size_t> tls_stream::try_read(std::uint8_t* buf, std::size_t max) {
  guard g{mutex_};
  polled_ = true;
  if (auto e = usable()) return e;
  if (peer_ended_) return std::error_code{transport_errc::end_of_stream};
  start_clock();
  std::size_t got = 0;
  std::error_code error;
  bool drained = false;  // a short inner read took everything there was
  while (!error && got < max) {
    if (phase_ != phase::done) error = advance_handshake();
    if (error) break;
    step s = step::want_read;
    if (phase_ == phase::done) {
      std::size_t n = 0;
      s = engine_->read(buf + got, max - got, n);
      got += n;
      if (s == step::ok) continue;
      if (s == step::eof) {
        peer_ended_ = true;  // kept for the next call when bytes come first
        error = transport_errc::end_of_stream;
        break;
      }
      if (s == step::failed) {
        error = fail_engine();
        break;
      }
    }
    if (s != step::want_read) continue;  // want_write: output first, flushed below
    if (drained) break;  // another read would only say "nothing": the next readiness will
    auto [space, room] = engine_->input_space();
    if (room == 0) break;
    auto r = inner_->try_read(space, room);
    if (!r) {
      if (r.error() == transport_errc::end_of_stream) {
        engine_->input_ended();  // what arrived is still read; the engine then says eof
        continue;
      }
      error = fail(r.error(), {});
      break;
    }
    if (*r == 0) break;  // drained: the next readiness comes with new bytes
    engine_->commit_input(*r);
    drained = *r < room;
  }
  if (auto e = flush_polled(); e && !error) error = e;
  if (got > 0) return got;  // an error is kept for the next call
  if (error) return error;
  return std::size_t{0};
}

}  // namespace netcore::transports::detail
