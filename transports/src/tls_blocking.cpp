// The TLS decorator on two threads: one thread performs the handshake while the other keeps its
// time; then reads and writes run at once, each taking the engine's mutex only between its
// blocking calls on the inner stream.

#include "tls_stream.hpp"

#include <algorithm>

namespace netcore::transports::detail {

std::error_code tls_stream::handshake_blocking() {
  guard g{mutex_};
  start_clock();
  for (;;) {
    if (auto e = usable()) return e;
    if (phase_ == phase::done) return {};
    if (phase_ == phase::idle) break;
    // The other thread performs it; this one keeps the time and ends a handshake that overruns
    // by closing the inner stream under it.
    if (deadline_ == clock_type::time_point::max()) {
      changed_.wait(g);  // no time limit
      continue;
    }
    if (changed_.wait_until(g, deadline_) == std::cv_status::timeout && phase_ == phase::running &&
        !usable()) {
      auto e = time_out();
      g.unlock();
      inner_->close();
      return e;
    }
  }
  phase_ = phase::running;
  std::vector<std::uint8_t> out;
  for (;;) {
    if (clock_type::now() >= deadline_) {
      auto e = time_out();
      g.unlock();
      inner_->close();
      return e;
    }
    const auto s = engine_->handshake();
    take_output(out);  // also the alert of a failure
    if (!out.empty()) {
      g.unlock();
      io_slice slice{out.data(), out.size()};
      auto e = inner_->write(&slice, 1);
      out.clear();
      g.lock();
      if (auto u = usable()) return u;
      if (e && s != step::failed) return fail(e, {});
    }
    if (s == step::ok) {
      handshake_done();
      return {};
    }
    if (s == step::failed) return fail_engine();
    if (s != step::want_read) continue;
    const std::size_t room = std::min(engine_->input_room(), cipher_in_.size());
    g.unlock();
    auto r = inner_->read(cipher_in_.data(), room);
    g.lock();
    if (auto u = usable()) return u;  // closed, or timed out by the other thread
    if (!r) {
      if (r.error() == transport_errc::end_of_stream)
        return fail(transport_errc::tls_handshake_failed,
                    "the peer closed the connection during the handshake");
      return fail(r.error(), {});
    }
    engine_->feed(cipher_in_.data(), *r);
  }
}

std::error_code tls_stream::write(const io_slice* slices, std::size_t count) {
  if (auto e = handshake_blocking()) return e;
  std::lock_guard<deadline_lock> out{out_mutex_};
  guard g{mutex_};
  std::size_t i = 0;
  std::size_t offset = 0;
  for (;;) {
    if (auto e = usable()) return e;
    const bool all = i == count;
    if (!all) {
      const std::size_t n = std::min(slices[i].size - offset, record_batch);
      std::size_t w = 0;
      const auto s =
          engine_->write(static_cast<const std::uint8_t*>(slices[i].data) + offset, n, w);
      if (s == step::failed) return fail_engine();
      if (s != step::ok && s != step::want_write)
        return fail(transport_errc::tls_protocol_error, "TLS write needs the peer first");
      offset += w;
      if (offset == slices[i].size) {
        ++i;
        offset = 0;
      }
    }
    take_output(cipher_out_);
    if (cipher_out_.size() >= write_batch || (all && !cipher_out_.empty())) {
      g.unlock();  // the reader decrypts meanwhile
      io_slice s{cipher_out_.data(), cipher_out_.size()};
      auto e = inner_->write(&s, 1);
      cipher_out_.clear();
      g.lock();
      if (e) return fail(e, {});
    }
    if (all) return {};
  }
}

void tls_stream::flush_from_reader(guard& g) {
  // Rare (an alert or a key update answered while reading): written in the engine's order after
  // whatever the writer is writing; the engine stays free meanwhile.
  g.unlock();
  std::lock_guard<deadline_lock> out{out_mutex_};
  std::vector<std::uint8_t> bytes;
  g.lock();
  take_output(bytes);
  g.unlock();
  io_slice s{bytes.data(), bytes.size()};
  if (!bytes.empty()) (void)inner_->write(&s, 1);
  g.lock();
}

result<std::size_t> tls_stream::read(std::uint8_t* buf, std::size_t max) {
  if (max == 0) return std::size_t{0};
  if (auto e = handshake_blocking()) return e;
  guard g{mutex_};
  for (;;) {
    if (auto e = usable()) return e;
    if (peer_ended_) return std::error_code{transport_errc::end_of_stream};
    std::size_t n = 0;
    const auto s = engine_->read(buf, max, n);
    if (engine_->output_size() > 0) flush_from_reader(g);
    if (s == step::ok) return n;
    if (s == step::eof) {
      peer_ended_ = true;
      return std::error_code{transport_errc::end_of_stream};
    }
    if (s == step::failed) return fail_engine();
    if (s != step::want_read) continue;
    const std::size_t room = std::min(engine_->input_room(), cipher_in_.size());
    g.unlock();  // never held while the inner stream blocks
    auto r = inner_->read(cipher_in_.data(), room);
    g.lock();
    if (auto e = usable()) return e;
    if (!r) {
      if (r.error() == transport_errc::end_of_stream) {
        engine_->input_ended();
        continue;
      }
      return fail(r.error(), {});
    }
    engine_->feed(cipher_in_.data(), *r);
  }
}

}  // namespace netcore::transports::detail
