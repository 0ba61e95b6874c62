// The actor of one outgoing multi-frame message: it produces the message's frames (OPEN, DATA
// chunks read from memory or streamed from a file, END with the digest) for the link, never more
// than its window of bytes ahead of what the link has written.

#include <netcore/actors/messages.hpp>
#include <netcore/actors/runtime.hpp>

#include <caf/all.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace netcore::actors {

namespace {

using protocol::errc;

struct message_state {
  caf::actor link;
  std::uint64_t id = 0;
  outgoing_message msg;
  std::size_t chunk = 0;
  std::size_t window = 0;
  std::uint64_t total = 0;
  std::uint64_t offset = 0;
  std::size_t in_flight = 0;
  protocol::digest_state digest;
  int fd = -1;
  bool done = false;

  message_state() = default;
  message_state(const message_state&) = delete;
  message_state& operator=(const message_state&) = delete;
  ~message_state() {
    if (fd >= 0) ::close(fd);
  }
  static inline const char* name = "netcore.message";
};

using message_actor = caf::stateful_actor<message_state>;

void give_up(message_actor* self, errc reason) {
  auto& st = self->state;
  st.done = true;
  self->send(st.link, fail_atom::value, st.id, reason);
  self->quit();
}

/// Reads `n` bytes at `offset` of the body file into a new buffer.
std::shared_ptr<protocol::byte_buffer> read_file_chunk(int fd, std::uint64_t offset,
                                                       std::size_t n) {
  auto buf = std::make_shared<protocol::byte_buffer>(n);
  std::size_t got = 0;
  while (got < n) {
    auto r = ::pread(fd, buf->data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return nullptr;  // error, or the file shrank
    got += static_cast<std::size_t>(r);
  }
  return buf;
}

void produce(message_actor* self) {
  auto& st = self->state;
  while (!st.done && st.in_flight < st.window) {
    outbound_item item;
    if (st.offset == st.total) {
      item.what = outbound_item::kind::end;
      item.position = st.total;
      item.digest = st.digest.finish();
      self->send(st.link, chunk_atom::value, st.id, std::move(item));
      st.done = true;
      self->quit();
      return;
    }
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(st.chunk, st.total - st.offset));
    item.what = outbound_item::kind::data;
    item.position = st.offset;
    if (st.fd >= 0) {
      auto buf = read_file_chunk(st.fd, st.offset, n);
      if (!buf) return give_up(self, errc::storage_failed);
      item.bytes = protocol::byte_view{*buf};
      item.owner = std::move(buf);
    } else {
      item.bytes = protocol::byte_view{st.msg.bytes->data() + st.offset, n};
      item.owner = st.msg.bytes;
    }
    st.digest.update(item.bytes);
    st.offset += n;
    st.in_flight += n;
    self->send(st.link, chunk_atom::value, st.id, std::move(item));
  }
}

caf::behavior message_impl(message_actor* self, caf::actor link, std::uint64_t id,
                           outgoing_message msg, std::size_t chunk, std::size_t window) {
  auto& st = self->state;
  st.link = std::move(link);
  st.id = id;
  st.msg = std::move(msg);
  st.chunk = std::max<std::size_t>(chunk, 1);
  st.window = std::max(window, st.chunk);
  if (!st.msg.file_path.empty()) {
    st.fd = ::open(st.msg.file_path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat info {};
    if (st.fd < 0 || ::fstat(st.fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      give_up(self, errc::storage_failed);
      return {};
    }
    st.total = static_cast<std::uint64_t>(info.st_size);
  } else {
    st.total = st.msg.memory_size();
  }
  outbound_item open;
  open.what = outbound_item::kind::open;
  open.position = st.total;
  self->send(st.link, chunk_atom::value, st.id, std::move(open));
  produce(self);
  return {
      [self](window_atom, std::size_t written) {
        auto& st = self->state;
        st.in_flight -= std::min(written, st.in_flight);
        produce(self);
      },
  };
}

}  // namespace

caf::actor spawn_message_actor(caf::actor_system& sys, caf::actor link, std::uint64_t id,
                               outgoing_message msg, std::size_t chunk_size, std::size_t window) {
  return sys.spawn(message_impl, std::move(link), id, std::move(msg), chunk_size, window);
}

}  // namespace netcore::actors
