// tcp_request_reply: request/response over TCP with netcore.
//
// A server listens on 127.0.0.1 and accepts two clients; each accepted connection gets a
// delivery sink, an actor that answers every request on that same connection. The clients are
// plain threads that use the blocking API: connection::send() a request, connection::receive()
// the reply. Requests and replies are correlated by an application header.

#include <netcore/actors/connection.hpp>
#include <netcore/actors/interfaces.hpp>
#include <netcore/actors/messages.hpp>
#include <netcore/actors/runtime.hpp>
#include <netcore/actors/scheduler_settings.hpp>

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace netcore;
using namespace netcore::actors;

namespace {

std::string text_of(const protocol::message_body& b) {
  return {b.bytes().begin(), b.bytes().end()};
}

/// The delivery sink of one server connection: answers "math/square" requests.
///
/// netcore hands complete incoming messages to this actor as (deliver_atom, delivery); the reply
/// (ok_atom) acknowledges them, which lets the connection grant the peer more credit. Answers go
/// out through the connection's actor: (send_atom, outgoing_message), whose response is the
/// answer's send_outcome.
delivery_sink::behavior_type answerer(delivery_sink::pointer self, connection_actor conn) {
  return {
      [=](deliver_atom, delivery& d) {
        for (auto& m : d.messages) {
          if (m.meta.route != "math/square") continue;
          auto n = std::stoll(text_of(m.body));
          auto reply = outgoing_message::from_text("math/square/reply", std::to_string(n * n));
          // Correlate: echo the request's id.
          if (const auto* id = m.meta.header("request-id"))
            reply.meta.headers.push_back({"in-reply-to", *id});
          self->request(conn, caf::infinite, send_atom::value, std::move(reply))
              .then(
                  [](send_outcome& o) {
                    if (!o.ok())
                      std::printf("server: reply failed: %s\n", o.error.message().c_str());
                  },
                  [](caf::error&) {});
        }
        return caf::ok_atom::value;
      },
  };
}

/// One client: a few requests, each followed by a blocking wait for its reply.
bool client(int number, std::uint16_t port) {
  const long long first = number * 10;
  caf::actor_system_config cfg;
  actors::apply(cfg);
  caf::actor_system sys{cfg};
  actors::runtime rt{sys};
  auto conn = rt.connect_tcp("127.0.0.1", port);  // no delivery sink: receive() serves
  if (!conn) {
    std::printf("client %d: connect failed: %s\n", number, conn.error().message().c_str());
    return false;
  }
  bool ok = true;
  for (long long x = first; x < first + 4; ++x) {
    auto start = std::chrono::steady_clock::now();
    auto request = outgoing_message::from_text("math/square", std::to_string(x));
    auto request_id = std::to_string(number) + "-" + std::to_string(x);
    request.meta.headers.push_back({"request-id", request_id});
    if (auto id = conn->send(std::move(request)); !id) {
      std::printf("client %d: send failed: %s\n", number, id.error().message().c_str());
      return false;
    }
    auto reply = conn->receive(std::chrono::seconds{5});
    if (!reply) {
      std::printf("client %d: %s\n", number, reply.error().reason.message().c_str());
      return false;
    }
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    const auto* in_reply_to = reply->meta.header("in-reply-to");
    bool good =
        text_of(reply->body) == std::to_string(x * x) && in_reply_to && *in_reply_to == request_id;
    std::printf("client %d: %lld squared = %s  (round trip %lld us)%s\n", number, x,
                text_of(reply->body).c_str(), static_cast<long long>(us), good ? "" : "  WRONG");
    ok = ok && good;
  }
  conn->close();
  return ok;
}

}  // namespace

int main() {
  caf::actor_system_config cfg;
  actors::apply(cfg);
  caf::actor_system sys{cfg};
  actors::runtime rt{sys};  // after the actor system, before the connections

  // The server: one connection and one answering actor per accepted client. The handler runs
  // on an event-loop thread: it attaches the sink and stores the connection, nothing more.
  std::mutex mtx;
  std::vector<connection> served;
  std::vector<delivery_sink> answerers;
  auto server = rt.listen_tcp("127.0.0.1", 0, [&](connection c) {
    auto sink = sys.spawn(answerer, c.actor());
    c.attach(sink);
    std::lock_guard<std::mutex> guard{mtx};
    answerers.push_back(sink);
    served.push_back(std::move(c));
  });
  if (!server) {
    std::printf("listen failed: %s\n", server.error().message().c_str());
    return 1;
  }
  const auto port = server->port();
  std::printf("server listening on 127.0.0.1:%u\n", port);

  // The clients run on their own threads (each with its own actor system and runtime, as if in
  // another process).
  constexpr int clients = 2;
  std::atomic<int> passed{0};
  std::vector<std::thread> threads;
  for (int i = 1; i <= clients; ++i)
    threads.emplace_back([&passed, port, i] { passed += client(i, port) ? 1 : 0; });
  for (auto& t : threads) t.join();

  server->close();  // no more clients
  std::lock_guard<std::mutex> guard{mtx};
  served.clear();  // ends the server's connections
  for (auto& a : answerers) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  std::printf("%s\n", passed == clients ? "every reply matched its request" : "FAILED");
  return passed == clients ? 0 : 1;
}
