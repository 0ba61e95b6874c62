// The actor of one outgoing multi-frame message: it produces the body's chunks (slices of the
// shared in-memory body, or pread from a file chunk by chunk) and the whole-body digest, never
// more than its window ahead of what the connection has written. File producers run on the
// runtime's file loop, so their blocking reads never hold up a CAF worker.

#include "connection_actor.hpp"

#include <netcore/actors/errors.hpp>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <unistd.h>

#include <cerrno>

namespace netcore::actors::detail {

namespace {

class producer_impl final : public on_loop<producer_actor::base> {
 public:
  producer_impl(caf::actor_config& cfg, io_loop* loop, connection_impl_actor connection,
                std::uint64_t id, std::shared_ptr<const protocol::byte_buffer> body, int fd,
                std::uint64_t total, std::size_t chunk, std::size_t window)
      : on_loop(cfg, loop), connection_(std::move(connection)), id_(id), body_(std::move(body)),
        fd_(fd), total_(total), chunk_(std::max<std::size_t>(chunk, 1)),
        window_(std::max(window, chunk_)) {}

  behavior_type make_behavior() override {
    produce();
    return {
        [this](window_atom, std::uint64_t written) {
          in_flight_ -= std::min<std::uint64_t>(written, in_flight_);
          produce();
        },
    };
  }

  void on_exit() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    body_.reset();
    digest_.reset();
    on_loop::on_exit();
  }

  const char* name() const override { return "netcore.producer"; }

 private:
  void produce() {
    while (!done_ && in_flight_ < window_) {
      if (offset_ == total_) {
        produced_chunk end;
        end.last = true;
        end.digest = digest_ ? digest_->finish() : protocol::xxh3_64({});
        send(connection_, chunk_atom::value, id_, std::move(end));
        done_ = true;
        quit();
        return;
      }
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_, total_ - offset_));
      produced_chunk c;
      if (fd_ >= 0) {
        auto buf = std::make_shared<protocol::byte_buffer>(n);
        std::size_t got = 0;
        while (got < n) {
          const auto r =
              ::pread(fd_, buf->data() + got, n - got, static_cast<off_t>(offset_ + got));
          if (r < 0 && errno == EINTR) continue;
          if (r <= 0) {
            // An error, or the file shrank under us.
            const auto e = r < 0 ? os_error(errno) : std::error_code{wire_errc::size_mismatch};
            send(connection_, chunk_atom::value, id_, to_caf_error(e));
            done_ = true;
            quit();
            return;
          }
          got += static_cast<std::size_t>(r);
        }
        c.bytes = protocol::byte_view{*buf};
        c.owner = std::move(buf);
      } else {
        c.bytes = protocol::byte_view{body_->data() + offset_, n};
        c.owner = body_;
      }
      if (!digest_) digest_ = std::make_unique<protocol::digest_state>();
      digest_->update(c.bytes);
      offset_ += n;
      in_flight_ += n;
      send(connection_, chunk_atom::value, id_, std::move(c));
    }
  }

  connection_impl_actor connection_;
  std::uint64_t id_;
  std::shared_ptr<const protocol::byte_buffer> body_;
  int fd_;
  std::uint64_t total_;
  std::size_t chunk_;
  std::size_t window_;
  std::uint64_t offset_ = 0;
  std::uint64_t in_flight_ = 0;
  std::unique_ptr<protocol::digest_state> digest_;
  bool done_ = false;
};

}  // namespace

void connection_impl::spawn_producer(std::uint64_t id, outgoing_message msg, int fd) {
  auto& s = st();
  const bool from_file = fd >= 0;
  io_loop* where = from_file ? s.params.file_loop : nullptr;
  std::uint64_t total = msg.memory_size();
  if (from_file) {
    const off_t end = ::lseek(fd, 0, SEEK_END);
    total = end > 0 ? static_cast<std::uint64_t>(end) : 0;
  }
  caf::actor_config cfg{where};
  auto p = system().spawn_class<producer_impl, caf::no_spawn_options>(
      cfg, where, handle(), id, std::move(msg.bytes), fd, total, s.params.config.chunk_size,
      s.params.config.message_window);
  s.producers.emplace(id, std::move(p));
}

}  // namespace netcore::actors::detail
