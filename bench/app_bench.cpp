// P9: an endpoint's idle request round trip.

#include "app_bench.hpp"

#include <netcore/app/endpoint.hpp>
#include <netcore/transports/listener.hpp>
#include <netcore/transports/tcp_stream.hpp>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace netcore::bench {

latency endpoint_idle_rtt(actors::runtime& rt, const std::string& spill, std::size_t samples) {
  using clock_type = std::chrono::steady_clock;
  auto listener = transports::listener::tcp("127.0.0.1", 0);
  if (!listener) throw std::runtime_error("P9: listen failed");
  std::unique_ptr<transports::byte_stream> accepted;
  std::thread acceptor{[&] {
    auto s = (*listener)->accept();
    if (s) accepted = std::move(*s);
  }};
  auto dialed = transports::tcp_connect("127.0.0.1", (*listener)->port());
  acceptor.join();
  if (!dialed || !accepted) throw std::runtime_error("P9: connect failed");
  actors::connection_config cfg;
  cfg.storage.spill_directory = spill;
  cfg.keepalive_interval = std::chrono::milliseconds{0};
  auto a = rt.adopt(std::move(*dialed), cfg);
  auto b = rt.adopt(std::move(accepted), cfg);
  std::vector<double> rtts;
  {
    app::endpoint server{rt};
    app::endpoint client{rt};
    auto e = server.handle(
        "echo", [](const app::request& r) { return app::response::bytes(r.body().bytes()); });
    if (e) throw std::runtime_error("P9: route refused: " + e.message());
    server.serve(b);
    const protocol::byte_buffer body(100, 0x5a);
    for (std::size_t i = 0; i < samples + samples / 10; ++i) {
      const auto t0 = clock_type::now();
      auto f = client.call(a, actors::outgoing_message::from_bytes("echo", body));
      auto r = f.get();
      if (!r.ok() || r.body.size() != body.size())
        throw std::runtime_error("P9: bad answer: " + r.reason);
      if (i >= samples / 10)  // the first tenth warms up
        rtts.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    }
    a.abort();
    b.abort();
  }
  return percentiles(rtts);
}

}  // namespace netcore::bench
