#include <netcore/transports/psk_handshake.hpp>
#include <netcore/transports/psk_stream.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace netcore::transports {

namespace {

/// A stream whose handshake is done: every call goes to the inner stream, peer() says who.
class authenticated_stream final : public byte_stream {
 public:
  authenticated_stream(std::unique_ptr<byte_stream> inner, peer_identity peer)
      : inner_(std::move(inner)), peer_(std::move(peer)) {}

  std::error_code write(const io_slice* slices, std::size_t count) override {
    return inner_->write(slices, count);
  }
  result<std::size_t> try_write(const io_slice* slices, std::size_t count) override {
    return inner_->try_write(slices, count);
  }
  result<std::size_t> read(std::uint8_t* buf, std::size_t max) override {
    return inner_->read(buf, max);
  }
  result<std::size_t> try_read(std::uint8_t* buf, std::size_t max) override {
    return inner_->try_read(buf, max);
  }
  int native_handle() const noexcept override { return inner_->native_handle(); }
  bool shutdown_write() noexcept override { return inner_->shutdown_write(); }
  void close() noexcept override { inner_->close(); }
  stream_profile profile() const override { return inner_->profile(); }
  std::string describe() const override { return inner_->describe(); }
  peer_identity peer() const override { return peer_; }

 private:
  std::unique_ptr<byte_stream> inner_;
  peer_identity peer_;
};

/// Closes a stream when the deadline passes before finish() is called.
class watchdog {
 public:
  watchdog(byte_stream& s, std::chrono::milliseconds timeout)
      : thread_([this, &s, timeout] {
          std::unique_lock<std::mutex> lock{mutex_};
          if (!wake_.wait_for(lock, timeout, [this] { return finished_; })) {
            expired_ = true;
            s.close();
          }
        }) {}
  ~watchdog() { finish(); }

  /// Stops the watch; true when the deadline had passed (and the stream was closed).
  bool finish() {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      finished_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    return expired_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool finished_ = false;
  bool expired_ = false;
  std::thread thread_;  // last: it starts once the members it uses exist
};

/// Drives `hs` over `s` until it is done or failed: sends what it has to say, reads only what
/// it wants. Returns the first error (the transport's, or the handshake's).
std::error_code drive(byte_stream& s, psk_handshake& hs) {
  std::uint8_t buf[psk_handshake::max_message];
  for (;;) {
    const auto out = hs.output();
    if (!out.empty()) {
      const io_slice slice{out.data(), out.size()};
      if (auto e = s.write(&slice, 1))
        return hs.status() == psk_handshake::state::failed ? hs.error() : e;
      hs.sent(out.size());
    }
    if (hs.status() == psk_handshake::state::done) return {};
    if (hs.status() == psk_handshake::state::failed) return hs.error();
    auto r = s.read(buf, std::min(hs.wanted(), sizeof buf));
    if (!r) {
      if (r.error() != transport_errc::end_of_stream) return r.error();
      hs.end_of_stream();
      continue;
    }
    hs.feed(protocol::byte_view{buf, *r});
  }
}

result<std::unique_ptr<byte_stream>> authenticate(std::unique_ptr<byte_stream> inner,
                                                  result<psk_handshake> hs,
                                                  std::chrono::milliseconds timeout) {
  if (!hs) {
    inner->close();
    return hs.error();
  }
  std::error_code e;
  {
    watchdog watch{*inner, timeout};
    e = drive(*inner, *hs);
    if (watch.finish()) e = transport_errc::auth_timeout;
  }
  if (e) {
    inner->close();
    return e;
  }
  return with_peer_identity(std::move(inner), peer_identity{std::string{hs->identity()}});
}

}  // namespace

result<std::unique_ptr<byte_stream>> psk_client(std::unique_ptr<byte_stream> inner,
                                                const psk_config& config) {
  if (!inner) return std::error_code{transport_errc::invalid_argument};
  return authenticate(std::move(inner), psk_handshake::client(config), config.timeout);
}

result<std::unique_ptr<byte_stream>> psk_server(std::unique_ptr<byte_stream> inner,
                                                const psk_server_config& config) {
  if (!inner) return std::error_code{transport_errc::invalid_argument};
  return authenticate(std::move(inner), psk_handshake::server(config), config.timeout);
}

std::unique_ptr<byte_stream> with_peer_identity(std::unique_ptr<byte_stream> inner,
                                                peer_identity peer) {
  return std::make_unique<authenticated_stream>(std::move(inner), std::move(peer));
}

}  // namespace netcore::transports
