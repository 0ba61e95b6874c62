// pipe_endpoints: netcore over nothing but a send/receive pair you supply.
//
// Any blocking byte pipe will do: a socket, a serial port, a USB endpoint, a radio. Here it is a
// Unix socket pair; each end is described by three functions (send, recv, close) and handed to
// runtime::open_pipe, which runs a connection on top. The two ends then exchange messages of
// different sizes and content types, concurrently, and check what arrived.

#include <netcore/actors/connection.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/protocol/digest.hpp>
#include <netcore/transports/pipe_stream.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <string>

using namespace netcore;
using actors::connection;
using actors::outgoing_message;

namespace {

/// Describes one end of the socket pair. netcore asks only this of a transport:
///   send(data, size): bytes taken (short writes are fine, the rest is retried), < 0 on failure;
///   recv(buf, max):   bytes stored, 0 when the other side closed, < 0 on failure;
///   close():          called once; must unblock a pending send/recv.
transports::pipe_functions pipe_of(int fd) {
  transports::pipe_functions fns;
  fns.send = [fd](const std::uint8_t* data, std::size_t size) -> long {
    for (;;) {
      auto n = ::send(fd, data, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  };
  fns.recv = [fd](std::uint8_t* buf, std::size_t max) -> long {
    for (;;) {
      auto n = ::recv(fd, buf, max, 0);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  };
  fns.close = [fd] { ::shutdown(fd, SHUT_RDWR); };
  return fns;
}

protocol::byte_buffer bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

/// The two endpoints exchange their messages; the number of checks that failed.
int exchange(connection& left, connection& right) {
  // left -> right: three messages queued at once; they travel interleaved over the one pipe.
  protocol::byte_buffer big(3u << 20);  // 3 MiB, cut into chunks on the way
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 131 + 7);
  const auto big_digest = protocol::xxh3_64(big);

  auto note = outgoing_message::from_text("notes/hello", "hello over a socket pair");
  auto json = outgoing_message::from_bytes("config/update", bytes_of(R"({"retries": 3})"),
                                           protocol::content_type::json);
  json.meta.headers.push_back({"version", "7"});  // application headers travel with the message
  json.meta.priority = 10;                        // served before priority 0
  left.send(outgoing_message::from_bytes("blobs/big", big));
  left.send(std::move(note));
  left.send(std::move(json));

  // right -> left at the same time: the pipe carries both directions.
  right.send(outgoing_message::from_text("notes/ack", "right here"));

  // Receive the three on the right, in the order they completed (the small ones usually first).
  std::map<std::string, protocol::incoming_message> got;
  for (int i = 0; i < 3; ++i) {
    auto m = right.receive(std::chrono::seconds{10});
    if (!m) {
      std::printf("right: receive failed: %s\n", m.error().reason.message().c_str());
      return 1;
    }
    std::printf("right: got %-14s %8llu bytes  (%s)\n", m->meta.route.c_str(),
                static_cast<unsigned long long>(m->body.size()), to_string(m->meta.type));
    got[m->meta.route] = std::move(*m);
  }
  auto ack = left.receive(std::chrono::seconds{10});
  if (ack)
    std::printf("left:  got %-14s \"%.*s\"\n", ack->meta.route.c_str(),
                static_cast<int>(ack->body.size()),
                reinterpret_cast<const char*>(ack->body.bytes().data()));
  else
    std::printf("left:  receive failed: %s\n", ack.error().reason.message().c_str());

  // Check what arrived. (The protocol verified each body's XXH3 digest already.)
  auto text = [&](const std::string& route) {
    const auto& b = got[route].body.bytes();
    return std::string{b.begin(), b.end()};
  };
  const auto* version = got["config/update"].meta.header("version");
  int failures = 0;
  failures += text("notes/hello") != "hello over a socket pair";
  failures += text("config/update") != R"({"retries": 3})" || !version || *version != "7";
  failures += protocol::xxh3_64(got["blobs/big"].body.bytes()) != big_digest;
  failures += !ack || ack->meta.route != "notes/ack";
  return failures;
}

}  // namespace

int main() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    std::perror("socketpair");
    return 1;
  }

  int failures = 0;
  {
    caf::actor_system_config cfg;
    actors::apply(cfg);  // netcore's scheduler settings and message types
    caf::actor_system sys{cfg};
    actors::runtime rt{sys};  // after the actor system, before the connections

    // Two endpoints, one per end of the pipe. Without a delivery sink, incoming messages wait
    // in a built-in inbox that receive() serves.
    auto left = rt.open_pipe(pipe_of(fds[0]));
    auto right = rt.open_pipe(pipe_of(fds[1]));
    if (!left || !right) {
      auto error = left ? right.error() : left.error();
      std::printf("open_pipe failed: %s\n", error.message().c_str());
      return 1;
    }
    failures = exchange(*left, *right);

    // Graceful: no new messages, what is queued is written, then both ends say GOAWAY.
    auto closed = left->close();
    std::printf("closed: %s\n", closed.clean() ? "clean" : closed.reason.message().c_str());
    failures += !closed.clean();
  }  // the connections end here, then the runtime, then the actor system
  ::close(fds[0]);
  ::close(fds[1]);

  std::printf("%s\n", failures == 0 ? "all messages arrived intact" : "MISMATCH");
  return failures == 0 ? 0 : 1;
}
