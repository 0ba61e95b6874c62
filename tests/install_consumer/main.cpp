// Uses the installed headers and libraries: encodes a message, decodes and reassembles it, drives
// a session core by hand, and sends one over an in-memory connection and one over TCP.

#include <netcore/actors/runtime.hpp>
#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/protocol/decoder.hpp>
#include <netcore/protocol/encoder.hpp>
#include <netcore/protocol/reassembler.hpp>
#include <netcore/session/core.hpp>
#include <netcore/transports/memory_stream.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <iostream>

int main() {
  using namespace netcore;
  protocol::byte_buffer body(1000, 7);
  protocol::encoder enc;
  enc.open_single(1, protocol::message_meta{"hello", protocol::content_type::raw, 0, {}}, body);
  protocol::byte_buffer wire;
  enc.flatten_into(wire);
  protocol::decoder dec;
  protocol::reassembler re;
  protocol::byte_view in{wire};
  auto r = dec.next(in);
  if (r.status != protocol::decode_status::frame) return 1;
  re.on_frame(r.frame, {});
  auto ev = re.poll();
  if (!ev || ev->message.body.bytes() != body) return 2;

  session::core core{session::session_config{}, session::clock::now()};
  if (core.next_batch().empty()) return 3;  // its HELLO

  caf::actor_system_config cfg;
  actors::apply(cfg);
  caf::actor_system sys{cfg};
  actors::runtime rt{sys};
  auto [a_stream, b_stream] = transports::make_memory_pair();
  auto a = rt.adopt(std::move(a_stream));
  auto b = rt.adopt(std::move(b_stream));
  a.send(actors::outgoing_message::from_bytes("greeting", body));
  auto m = b.receive(std::chrono::seconds{30});
  if (!m || m->body.bytes() != body) return 4;

  actors::connection server;
  auto acceptor =
      rt.listen_tcp("127.0.0.1", 0, [&](actors::connection c) { server = std::move(c); });
  if (!acceptor) return 5;
  auto client = rt.connect_tcp("127.0.0.1", acceptor->port());
  if (!client) return 6;
  client->send(actors::outgoing_message::from_text("over-tcp", "hi"));
  client->close();
  std::cout << "installed netcore works: " << m->meta.route << ", " << client->describe() << '\n';
  return 0;
}
