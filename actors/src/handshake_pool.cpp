#include "handshake_pool.hpp"

#include <netcore/transports/psk_handshake.hpp>
#include <netcore/transports/psk_stream.hpp>

#include <asio/posix/stream_descriptor.hpp>

#include <algorithm>
#include <chrono>

namespace netcore::actors::detail {

using transports::psk_handshake;

struct handshake_pool::peer {
  peer(asio::io_context& ctx, std::unique_ptr<transports::byte_stream> s, psk_handshake h,
       std::chrono::steady_clock::time_point d)
      : stream(std::move(s)), hs(std::move(h)), descriptor(ctx), deadline(d) {}

  std::unique_ptr<transports::byte_stream> stream;
  psk_handshake hs;
  asio::posix::stream_descriptor descriptor;  // borrowed from the stream, released at the end
  std::chrono::steady_clock::time_point deadline;
  std::list<peer_ptr>::iterator position;
  bool read_armed = false;
  bool write_armed = false;
  bool finished = false;
};

handshake_pool::handshake_pool(io_loop& loop,
                               std::shared_ptr<const transports::psk_server_config> config,
                               std::atomic<std::size_t>& running, std::size_t max_running,
                               adopt_fn adopt)
    : loop_(loop), config_(std::move(config)), running_(running), max_running_(max_running),
      adopt_(std::move(adopt)), timer_(loop.context()) {}

handshake_pool::~handshake_pool() {
  close();
}

bool handshake_pool::start(std::unique_ptr<transports::byte_stream>& stream) {
  if (closed_ || running_.load() >= max_running_) return false;
  auto hs = psk_handshake::server(*config_);
  if (!hs || stream->native_handle() < 0) {
    counters_.failed.fetch_add(1);
    stream.reset();
    return true;
  }
  auto p = std::make_shared<peer>(loop_.context(), std::move(stream), std::move(*hs),
                                  std::chrono::steady_clock::now() + config_->timeout);
  asio::error_code ec;
  p->descriptor.assign(p->stream->native_handle(), ec);
  if (ec) {
    counters_.failed.fetch_add(1);
    return true;  // the peer closes as it goes out of scope
  }
  running_.fetch_add(1);
  counters_.pending.fetch_add(1);
  p->position = peers_.insert(peers_.end(), p);
  arm_timer();
  advance(p);
  return true;
}

void handshake_pool::close() {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
  while (!peers_.empty()) {
    auto p = peers_.front();
    remove(p);
    p->stream->close();
  }
}

void handshake_pool::advance(const peer_ptr& p) {
  auto& hs = p->hs;
  std::uint8_t buf[psk_handshake::max_message];
  for (;;) {
    while (!hs.output().empty()) {
      const auto out = hs.output();
      const transports::io_slice slice{out.data(), out.size()};
      auto r = p->stream->try_write(&slice, 1);
      if (!r) {
        drop(p, counters_.failed);
        return;
      }
      if (*r == 0) {
        // A refusal the peer does not take is not waited for.
        if (hs.status() == psk_handshake::state::failed)
          drop(p, counters_.failed);
        else
          wait(p, false);
        return;
      }
      hs.sent(*r);
    }
    if (hs.status() == psk_handshake::state::failed) {
      drop(p, counters_.failed);
      return;
    }
    if (hs.status() == psk_handshake::state::done) {
      remove(p);
      counters_.authenticated.fetch_add(1);
      adopt_(transports::with_peer_identity(std::move(p->stream),
                                            transports::peer_identity{std::string{hs.identity()}}));
      return;
    }
    auto r = p->stream->try_read(buf, std::min(hs.wanted(), sizeof buf));
    if (!r) {
      drop(p, counters_.failed);  // the peer left (or the socket failed) in the middle
      return;
    }
    if (*r == 0) {
      wait(p, true);
      return;
    }
    hs.feed(protocol::byte_view{buf, *r});
  }
}

void handshake_pool::wait(const peer_ptr& p, bool readable) {
  bool& armed = readable ? p->read_armed : p->write_armed;
  if (armed) return;
  armed = true;
  auto self = shared_from_this();
  const auto what =
      readable ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write;
  p->descriptor.async_wait(what, [self, p, readable](const asio::error_code& ec) {
    (readable ? p->read_armed : p->write_armed) = false;
    if (p->finished || self->closed_) return;
    if (ec) {
      self->drop(p, self->counters_.failed);
      return;
    }
    self->advance(p);
  });
}

void handshake_pool::remove(const peer_ptr& p) {
  if (p->finished) return;
  p->finished = true;
  asio::error_code ignored;
  p->descriptor.cancel(ignored);
  p->descriptor.release();  // the stream owns the descriptor; a connection may take it next
  peers_.erase(p->position);
  counters_.pending.fetch_sub(1);
  running_.fetch_sub(1);
}

void handshake_pool::drop(const peer_ptr& p, std::atomic<std::uint64_t>& counter) {
  remove(p);
  counter.fetch_add(1);
  p->stream.reset();  // closes the descriptor
}

void handshake_pool::arm_timer() {
  if (timer_armed_ || closed_ || peers_.empty()) return;
  timer_armed_ = true;
  timer_.expires_at(peers_.front()->deadline);
  auto self = shared_from_this();
  timer_.async_wait([self](const asio::error_code& ec) {
    self->timer_armed_ = false;
    if (ec || self->closed_) return;
    self->on_timer();
  });
}

void handshake_pool::on_timer() {
  const auto now = std::chrono::steady_clock::now();
  while (!peers_.empty() && peers_.front()->deadline <= now) {
    auto p = peers_.front();
    drop(p, counters_.timed_out);
  }
  arm_timer();
}

}  // namespace netcore::actors::detail
