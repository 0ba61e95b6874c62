// What both driving modes of the TLS decorator share (failure, the handshake clock, identity,
// the end), and the factories.

#include "tls_stream.hpp"

#include <algorithm>

namespace netcore::transports::detail {

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

std::optional<certificate_identity> tls_stream::verified_peer() const {
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
  std::unique_lock<deadline_lock> out{out_mutex_, std::defer_lock};
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

}  // namespace netcore::transports::detail

namespace netcore::transports {

result<std::unique_ptr<byte_stream>> make_tls(std::unique_ptr<byte_stream> inner,
                                              std::shared_ptr<const tls_context> context,
                                              const std::string& server_name) {
  if (!inner || !context) return std::error_code{transport_errc::invalid_argument};
  auto engine = detail::tls_engine::make(
      *context, server_name.empty() ? context->config().server_name : server_name);
  if (!engine) return engine.error();
  return std::unique_ptr<byte_stream>{
      new detail::tls_stream(std::move(inner), std::move(context), std::move(*engine))};
}

result<std::unique_ptr<byte_stream>> make_tls(std::unique_ptr<byte_stream> inner,
                                              const tls_config& config, std::string* detail) {
  auto context = tls_context::make(config, detail);
  if (!context) return context.error();
  return make_tls(std::move(inner), std::move(*context));
}

}  // namespace netcore::transports
