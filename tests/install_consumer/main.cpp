// Uses the installed headers and libraries: encodes a message, decodes and reassembles it, and
// sends one over an in-memory connection.

#include <netcore/actors/connection.hpp>
#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/protocol/decoder.hpp>
#include <netcore/protocol/encoder.hpp>
#include <netcore/protocol/reassembler.hpp>
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

  caf::actor_system_config cfg;
  actors::apply(cfg);
  caf::actor_system sys{cfg};
  auto [a_stream, b_stream] = transports::make_memory_pair();
  actors::connection a{sys, std::move(a_stream)};
  actors::connection b{sys, std::move(b_stream)};
  a.send(actors::outgoing_message::from_bytes("greeting", body));
  auto m = b.receive(std::chrono::seconds{30});
  if (!m || m->body.bytes() != body) return 3;
  std::cout << "installed netcore works: " << m->meta.route << '\n';
  return 0;
}
