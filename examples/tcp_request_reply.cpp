// tcp_request_reply: request/response over TCP with netcore.
//
// A server listens on 127.0.0.1 and accepts two clients; each accepted connection gets a
// delivery actor that answers every request on that same connection. The clients are plain
// threads that use the blocking API: connection::send() a request, connection::receive() the
// reply. Requests and replies are correlated by an application header.

#include <netcore/actors/connection.hpp>
#include <netcore/actors/messages.hpp>
#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/transports/tcp_stream.hpp>

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace netcore;
using namespace netcore::actors;

namespace {

using link_atom = caf::atom_constant<caf::atom("ex_link")>;

protocol::byte_buffer bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}
std::string text_of(const protocol::message_body& b) {
  return {b.bytes().begin(), b.bytes().end()};
}

/// The server side of one connection, once it knows the connection's link: answers
/// "math/square" requests.
///
/// netcore hands complete incoming messages to this actor as (deliver_atom, delivery_ptr); the
/// reply (ok_atom) acknowledges them, which lets the connection grant the peer more credit.
/// Answers go out through the connection's link actor: (send_atom, outgoing_message).
caf::behavior serving(caf::event_based_actor* self, caf::actor link) {
  return {
      [=](deliver_atom, delivery_ptr& d) -> caf::ok_atom {
        for (auto& m : d->messages) {
          if (m.meta.route != "math/square") continue;
          auto n = std::stoll(text_of(m.body));
          auto reply = outgoing_message::from_bytes(
              "math/square/reply", bytes_of(std::to_string(n * n)), protocol::content_type::text);
          // Correlate: echo the request's id.
          if (const auto* id = m.meta.header("request-id"))
            reply.meta.headers.push_back({"in-reply-to", *id});
          // The link replies with the new message's id; its outcome arrives later.
          self->request(link, caf::infinite, send_atom::value, std::move(reply))
              .then([](std::uint64_t) {}, [](caf::error&) {});
        }
        return caf::ok_atom::value;
      },
      [](outcome_atom, send_outcome&) {},  // the replies were sent (or failed): nothing to do
  };
}

/// The delivery actor of one server connection. The link exists only once the connection does,
/// so the actor starts by waiting for it; deliveries that come first stay in the mailbox.
caf::behavior answerer(caf::event_based_actor* self) {
  self->set_default_handler(caf::skip);
  return {
      [=](link_atom, caf::actor link) { self->become(serving(self, std::move(link))); },
  };
}

/// One client: a few requests, each followed by a blocking wait for its reply.
bool client(int number, std::uint16_t port) {
  const long long first = number * 10;
  caf::actor_system_config cfg;
  actors::apply(cfg);
  caf::actor_system sys{cfg};
  auto stream = transports::tcp_connect("127.0.0.1", port);
  if (!stream) return false;
  connection conn{sys, std::move(stream.value())};  // no delivery actor: receive() serves
  bool ok = true;
  for (long long x = first; x < first + 4; ++x) {
    auto start = std::chrono::steady_clock::now();
    auto request = outgoing_message::from_bytes("math/square", bytes_of(std::to_string(x)),
                                                protocol::content_type::text);
    auto request_id = std::to_string(number) + "-" + std::to_string(x);
    request.meta.headers.push_back({"request-id", request_id});
    if (!conn.send(std::move(request))) return false;
    auto reply = conn.receive(std::chrono::seconds{5});
    if (!reply) {
      std::printf("client %d: %s\n", number, std::string{to_string(reply.error())}.c_str());
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
  conn.close();
  return ok;
}

}  // namespace

int main() {
  caf::actor_system_config cfg;
  actors::apply(cfg);
  caf::actor_system sys{cfg};

  auto listener = transports::tcp_listener::listen("127.0.0.1", 0);
  if (!listener) return 1;
  const auto port = (*listener)->port();
  std::printf("server listening on 127.0.0.1:%u\n", port);

  // The clients run on their own threads (each with its own actor system, as if in another
  // process).
  constexpr int clients = 2;
  std::atomic<int> passed{0};
  std::vector<std::thread> threads;
  for (int i = 1; i <= clients; ++i)
    threads.emplace_back([&passed, port, i] { passed += client(i, port) ? 1 : 0; });

  // The server: one connection and one answering actor per accepted client.
  std::vector<std::unique_ptr<connection>> served;
  std::vector<caf::actor> answerers;
  for (int i = 0; i < clients; ++i) {
    auto stream = (*listener)->accept();
    if (!stream) return 1;
    auto actor = sys.spawn(answerer);
    served.push_back(
        std::make_unique<connection>(sys, std::move(stream.value()), connection_config{}, actor));
    caf::anon_send(actor, link_atom::value, served.back()->link());
    answerers.push_back(actor);
  }
  for (auto& t : threads) t.join();

  served.clear();  // ends the server's connections
  for (auto& a : answerers) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  std::printf("%s\n", passed == clients ? "every reply matched its request" : "FAILED");
  return passed == clients ? 0 : 1;
}
