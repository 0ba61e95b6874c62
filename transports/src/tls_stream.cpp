// The TLS decorator: a tls_engine between the caller's plaintext and the inner stream's
// ciphertext, driven blocking (a reader and a writer thread; the engine behind one mutex that is
// never held while the inner stream blocks) or polled (try_read/try_write on the loop thread,
// plaintext staged and ciphertext kept until the inner stream takes it).

#include "tls_engine.hpp"

#include <netcore/transports/tls.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace netcore::transports {

namespace {

using detail::tls_engine;
using step = tls_engine::step;
using clock_type = std::chrono::steady_clock;

/// Polled: plaintext taken by try_write() before the engine has encrypted it.
constexpr std::size_t staging_limit = 256u << 10;
/// Blocking: plaintext encrypted per engine call, and ciphertext gathered per inner write.
constexpr std::size_t record_batch = 64u << 10;
constexpr std::size_t write_batch = 256u << 10;
/// Blocking: ciphertext asked of one inner read.
constexpr std::size_t read_batch = 64u << 10;

class tls_stream final : public byte_stream {
 public:
  tls_stream(std::unique_ptr<byte_stream> inner, std::shared_ptr<const tls_context> context,
             std::unique_ptr<tls_engine> engine)
      : inner_(std::move(inner)), context_(std::move(context)), engine_(std::move(engine)),
        cipher_in_(read_batch) {}

  ~tls_stream() override { close(); }

  std::error_code write(const io_slice* slices, std::size_t count) override;
  result<std::size_t> try_write(const io_slice* slices, std::size_t count) override;
  result<std::size_t> read(std::uint8_t* buf, std::size_t max) override;
  result<std::size_t> try_read(std::uint8_t* buf, std::size_t max) override;
  bool has_pending_output() const noexcept override;
  bool write_waits_for_read() const noexcept override;
  std::optional<peer_identity> verified_peer() const override;
  int native_handle() const noexcept override { return inner_->native_handle(); }
  bool shutdown_write() noexcept override;
  void close() noexcept override;
  stream_profile profile() const override { return inner_->profile(); }
  std::string describe() const override;

 private:
  using guard = std::unique_lock<std::mutex>;

  // Everything below runs under mutex_.
  std::error_code usable() const;
  std::error_code fail(std::error_code e, std::string detail);
  std::error_code fail_engine() { return fail(engine_->error(), engine_->detail()); }
  std::error_code time_out();
  void start_clock();
  void handshake_done();
  void take_output(std::vector<std::uint8_t>& out);
  // Polled.
  std::error_code advance_handshake();
  std::error_code encrypt_staged();
  std::error_code flush_polled();
  // Blocking.
  std::error_code handshake_blocking();
  void flush_from_reader(guard& g);

  std::unique_ptr<byte_stream> inner_;
  std::shared_ptr<const tls_context> context_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::timed_mutex out_mutex_;  // blocking: whoever writes ciphertext, in the engine's order
  std::unique_ptr<tls_engine> engine_;
  enum class phase { idle, running, done } phase_ = phase::idle;
  std::error_code failure_;
  std::string detail_;
  bool closed_ = false;
  bool peer_ended_ = false;  // reads are over (close_notify or the inner end); writes go on
  bool polled_ = false;
  bool waits_for_read_ = false;
  bool shutdown_requested_ = false;  // polled: close_notify once the staged bytes are out
  bool notify_queued_ = false;
  bool inner_shut_ = false;
  bool clock_started_ = false;
  clock_type::time_point deadline_ = clock_type::time_point::max();
  std::optional<peer_identity> identity_;
  std::vector<std::uint8_t> staged_;  // polled: plaintext taken, not yet encrypted
  std::size_t staged_at_ = 0;
  std::vector<std::uint8_t> cipher_in_;   // blocking: the reading thread's inner reads
  std::vector<std::uint8_t> cipher_out_;  // blocking: the writing thread's inner writes
};

// -- shared -----------------------------------------------------------------------------------

std::error_code tls_stream::usable() const {
  if (closed_) return transport_errc::closed;
  return failure_;
}

std::error_code tls_stream::fail(std::error_code e, std::string detail) {
  if (!failure_) {
    failure_ = e;
    detail_ = std::move(detail);
  }
  changed_.notify_all();
  return failure_;
}

std::error_code tls_stream::time_out() {
  return fail(transport_errc::tls_handshake_timeout,
              "no TLS handshake within " +
                  std::to_string(context_->config().handshake_timeout.count()) + " ms");
}

void tls_stream::start_clock() {
  if (clock_started_) return;
  clock_started_ = true;
  const auto limit = context_->config().handshake_timeout;
  if (limit.count() > 0) deadline_ = clock_type::now() + limit;
}

void tls_stream::handshake_done() {
  phase_ = phase::done;
  identity_ = engine_->identity();
  changed_.notify_all();
}

void tls_stream::take_output(std::vector<std::uint8_t>& out) {
  while (engine_->output_size() > 0) {
    const auto c = engine_->output_chunk();
    if (c.size == 0) return;
    const auto* p = static_cast<const std::uint8_t*>(c.data);
    out.insert(out.end(), p, p + c.size);
    engine_->consume_output(c.size);
  }
}

bool tls_stream::has_pending_output() const noexcept {
  std::lock_guard<std::mutex> g{mutex_};
  if (closed_ || failure_) return false;
  return staged_.size() > staged_at_ || engine_->output_size() > 0 ||
         (shutdown_requested_ && !inner_shut_);
}

bool tls_stream::write_waits_for_read() const noexcept {
  std::lock_guard<std::mutex> g{mutex_};
  return waits_for_read_ && !closed_ && !failure_;
}

std::optional<peer_identity> tls_stream::verified_peer() const {
  std::lock_guard<std::mutex> g{mutex_};
  return identity_;
}

std::string tls_stream::describe() const {
  std::lock_guard<std::mutex> g{mutex_};
  auto text = "tls " + inner_->describe();
  if (!detail_.empty()) text += " (" + detail_ + ")";
  return text;
}

void tls_stream::close() noexcept {
  {
    std::lock_guard<std::mutex> g{mutex_};
    closed_ = true;
    changed_.notify_all();
  }
  inner_->close();  // unblocks a thread in the inner stream; never waits for the peer
}

bool tls_stream::shutdown_write() noexcept {
  if (polled_) {
    guard g{mutex_};
    if (usable()) return false;
    if (phase_ != phase::done) return inner_->shutdown_write();  // nothing to protect yet
    shutdown_requested_ = true;
    (void)flush_polled();  // the rest when the loop flushes: has_pending_output() says so
    return !failure_;
  }
  // Blocking: close_notify after whatever a writer is writing, waiting for it within bounds.
  std::unique_lock<std::timed_mutex> out{out_mutex_, std::defer_lock};
  if (!out.try_lock_for(context_->config().close_timeout)) return false;
  std::vector<std::uint8_t> notify;
  {
    guard g{mutex_};
    if (usable() || phase_ != phase::done) return false;
    if (engine_->shutdown() == step::failed) return false;
    take_output(notify);
  }
  io_slice s{notify.data(), notify.size()};
  if (inner_->write(&s, 1)) return false;
  (void)inner_->shutdown_write();
  return true;
}

// -- polled -----------------------------------------------------------------------------------

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
    if (staged_.empty()) {
      // Take plaintext only once the last of it is encrypted: the engine may need the very same
      // bytes again after a full output buffer.
      while (slice < count && staged_.size() < staging_limit) {
        const auto* p = static_cast<const std::uint8_t*>(slices[slice].data) + offset;
        const std::size_t n = std::min(slices[slice].size - offset, staging_limit - staged_.size());
        staged_.insert(staged_.end(), p, p + n);
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
  }
  if (auto e = flush_polled(); e && !error) error = e;
  if (got > 0) return got;  // an error is kept for the next call
  if (error) return error;
  return std::size_t{0};
}

// -- blocking ---------------------------------------------------------------------------------

std::error_code tls_stream::handshake_blocking() {
  guard g{mutex_};
  start_clock();
  for (;;) {
    if (auto e = usable()) return e;
    if (phase_ == phase::done) return {};
    if (phase_ == phase::idle) break;
    // The other thread performs it; this one keeps the time and ends a handshake that overruns
    // by closing the inner stream under it.
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
  std::lock_guard<std::timed_mutex> out{out_mutex_};
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
  std::lock_guard<std::timed_mutex> out{out_mutex_};
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

}  // namespace

result<std::unique_ptr<byte_stream>> make_tls(std::unique_ptr<byte_stream> inner,
                                              std::shared_ptr<const tls_context> context,
                                              const std::string& server_name) {
  if (!inner || !context) return std::error_code{transport_errc::invalid_argument};
  auto engine = detail::tls_engine::make(
      *context, server_name.empty() ? context->config().server_name : server_name);
  if (!engine) return engine.error();
  return std::unique_ptr<byte_stream>{
      new tls_stream(std::move(inner), std::move(context), std::move(*engine))};
}

result<std::unique_ptr<byte_stream>> make_tls(std::unique_ptr<byte_stream> inner,
                                              const tls_config& config, std::string* detail) {
  auto context = tls_context::make(config, detail);
  if (!context) return context.error();
  return make_tls(std::move(inner), std::move(*context));
}

}  // namespace netcore::transports
