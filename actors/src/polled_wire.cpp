// The wire of a pollable stream: the connection actor runs on the stream's event loop, reads
// where the bytes arrive (into the loop's shared buffer, decoded at once), writes inline while
// the socket takes the bytes and waits for writability otherwise. No thread of its own.
//
// A decorating stream (TLS) may keep output after it took a batch (has_pending_output(): the
// wire waits for writability and flushes it), and may need the peer's bytes before it can write
// (write_waits_for_read(): the wire then does not wait for writability, it retries after the next
// read).

#include "connection_actor.hpp"

#include <netcore/actors/errors.hpp>

#include <caf/send.hpp>

#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>

namespace netcore::actors::detail {

namespace {

class polled_wire final : public wire {
 public:
  explicit polled_wire(connection_impl& self)
      : self_(self), stream_(*self.st().params.stream), loop_(*self.loop()),
        descriptor_(loop_.context()),
        read_size_(std::max<std::size_t>(self.st().params.config.read_size, 1)),
        timer_(std::make_shared<timer_slot>(loop_.context())) {
    // Registering with epoll can fail (ENOMEM, ENOSPC at fs.epoll.max_user_watches): that ends
    // this connection with the OS error (start() reports it), never the actor by an exception.
    asio::error_code ec;
    descriptor_.assign(stream_.native_handle(), ec);
    if (ec) assign_error_ = std::error_code{ec.value(), std::system_category()};
  }

  ~polled_wire() override {
    asio::error_code ignored;
    descriptor_.cancel(ignored);
    descriptor_.release();  // the stream owns the descriptor and closes it
    timer_->alive = false;
    timer_->timer.cancel();
  }

  bool set_timer(session::clock::time_point at) override {
    auto& t = *timer_;
    t.desired = at;
    // An earlier wait is pending: when it fires it moves itself to the desired time, so a
    // deadline that keeps moving later (every byte from the peer moves the keepalive) costs no
    // timer operation and no message at all.
    if (t.armed <= at) return true;
    t.armed = at;
    t.timer.expires_at(at);
    wait(timer_, self_.handle());
    return true;
  }

  void start() override {
    if (assign_error_) {
      fail(assign_error_);
      return;
    }
    arm(read_armed_, asio::posix::descriptor_base::wait_read);
  }

  void flush() override {
    auto& core = self_.st().core;
    write_after_read_ = false;
    while (!broken_) {
      if (!current_) {
        const auto& slices = core.wants_write() ? core.next_batch() : no_batch_;
        if (slices.empty()) {
          flush_stream();
          return;
        }
        current_ = &slices;
        current_owner_ = core.last_batch_owner();
        offset_ = 0;
        total_ = 0;
        for (const auto& s : slices) total_ += s.size;
      }
      rest_.clear();
      std::size_t skip = offset_;
      for (const auto& s : *current_) {
        if (skip >= s.size) {
          skip -= s.size;
          continue;
        }
        rest_.push_back({static_cast<const std::uint8_t*>(s.data) + skip, s.size - skip});
        skip = 0;
      }
      auto r = stream_.try_write(rest_.data(), rest_.size());
      if (!r) {
        fail(r.error());
        return;
      }
      const std::size_t n = *r;
      offset_ += n;
      const bool whole = offset_ == total_;
      if (whole) {
        current_ = nullptr;  // on_written() may recycle the batch: forget it first
        current_owner_.reset();
      }
      if (n > 0) core.on_written(n, self_.now());
      if (!whole) {
        wait_for_stream();
        return;
      }
    }
  }

  void on_readable() override {
    read_armed_ = false;
    if (broken_) return;
    auto& core = self_.st().core;
    if (!core.accepts_input()) {
      // The application holds more than its delivery budget: the bytes stay in the socket (its
      // window throttles the peer) until resume_input().
      input_paused_ = true;
      return;
    }
    // One read per turn, then the actor delivers what it decoded and comes back: a request never
    // waits behind more than one read of bulk data, and other connections of the loop get their
    // turn in between.
    const std::size_t size = std::min(loop_.read_buffer_size(), read_size_);
    auto r = stream_.try_read(loop_.read_buffer(), size);
    if (!r) {
      fail(r.error());
      return;
    }
    // A read can unblock a write that waited for the peer, and leave output of its own (a TLS
    // handshake record).
    if (write_after_read_ || (!write_armed_ && stream_.has_pending_output())) flush();
    if (*r == 0) {
      arm(read_armed_, asio::posix::descriptor_base::wait_read);  // drained
      return;
    }
    core.feed(protocol::byte_view{loop_.read_buffer(), *r}, self_.now());
    if (*r < size) {
      // A short read took everything there was: the next edge comes with new bytes.
      arm(read_armed_, asio::posix::descriptor_base::wait_read);
    } else {
      caf::anon_send(self_.handle(), readable_atom::value);  // maybe more: after the others
    }
  }

  void on_writable() override {
    write_armed_ = false;
    flush();
  }

  void resume_input() override {
    if (!input_paused_ || broken_) return;
    input_paused_ = false;
    caf::anon_send(self_.handle(), readable_atom::value);
  }

  bool idle() const override { return current_ == nullptr && !stream_.has_pending_output(); }

  bool ready() const override { return !write_armed_ && !write_after_read_ && !broken_; }

  bool finish() override {
    // Our FIN follows the last frame; reading goes on until the peer's end (or the linger), so
    // that closing never resets a connection whose peer is still reading our last frames.
    const bool reads_on = stream_.shutdown_write();
    if (reads_on && stream_.has_pending_output()) wait_for_stream();  // a TLS close_notify
    return reads_on;
  }

  void close() override {
    broken_ = true;
    asio::error_code ignored;
    descriptor_.cancel(ignored);
    stream_.close();
  }

 private:
  /// The stream took part of a batch, or holds output of its own: wait for writability, or for
  /// the next read when that is what it waits for.
  void wait_for_stream() {
    if (stream_.write_waits_for_read())
      write_after_read_ = true;  // the read handler retries; writability would only spin
    else
      arm(write_armed_, asio::posix::descriptor_base::wait_write);
  }

  /// Flushes what the stream holds itself once the core's batches are written.
  void flush_stream() {
    if (!stream_.has_pending_output()) return;
    auto r = stream_.try_write(nullptr, 0);
    if (!r) {
      fail(r.error());
      return;
    }
    if (stream_.has_pending_output()) wait_for_stream();
  }

  void arm(bool& armed, asio::posix::descriptor_base::wait_type what) {
    if (armed || broken_) return;
    armed = true;
    auto self = self_.handle();
    const bool read = what == asio::posix::descriptor_base::wait_read;
    descriptor_.async_wait(what, [self, read](const asio::error_code& ec) {
      if (ec == asio::error::operation_aborted) return;
      if (read)
        caf::anon_send(self, readable_atom::value);
      else
        caf::anon_send(self, writable_atom::value);
    });
  }

  // The transport failed while the actor is in the middle of a handler: the failure is handled
  // as a message of its own, after the current pump.
  void fail(std::error_code e) {
    broken_ = true;
    current_ = nullptr;
    caf::anon_send(self_.handle(), ended_atom::value, to_caf_error(e));
  }

  /// The connection's timer on the loop, shared with its pending handler.
  struct timer_slot {
    explicit timer_slot(asio::io_context& ctx) : timer(ctx) {}
    asio::steady_timer timer;
    session::clock::time_point desired = session::clock::time_point::max();
    session::clock::time_point armed = session::clock::time_point::max();
    bool alive = true;
  };

  static void wait(const std::shared_ptr<timer_slot>& slot, connection_impl_actor self) {
    slot->timer.async_wait([slot, self](const asio::error_code& ec) {
      if (ec == asio::error::operation_aborted || !slot->alive) return;
      slot->armed = session::clock::time_point::max();
      if (slot->desired > session::clock::now()) {
        slot->armed = slot->desired;  // moved later meanwhile: wait on, without the actor
        slot->timer.expires_at(slot->desired);
        wait(slot, self);
        return;
      }
      slot->desired = session::clock::time_point::max();
      caf::anon_send(self, tick_atom::value, wire_tick);
    });
  }

  connection_impl& self_;
  transports::byte_stream& stream_;
  io_loop& loop_;
  asio::posix::stream_descriptor descriptor_;
  std::error_code assign_error_;
  const std::vector<protocol::io_slice>* current_ = nullptr;  // the batch being written
  std::shared_ptr<const void> current_owner_;                 // ... kept alive while it is
  std::size_t offset_ = 0;                                    // bytes of it written
  std::size_t total_ = 0;
  std::vector<protocol::io_slice> rest_;
  std::size_t read_size_;
  std::shared_ptr<timer_slot> timer_;
  const std::vector<protocol::io_slice> no_batch_;
  bool read_armed_ = false;
  bool input_paused_ = false;  // reading stopped: the core does not accept input
  bool write_armed_ = false;
  bool write_after_read_ = false;  // the stream's write waits for the peer's bytes
  bool broken_ = false;
};

}  // namespace

std::unique_ptr<wire> make_polled_wire(connection_impl& self) {
  return std::make_unique<polled_wire>(self);
}

}  // namespace netcore::actors::detail
