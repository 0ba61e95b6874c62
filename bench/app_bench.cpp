// P9: an endpoint's idle request round trip.

#include "app_bench.hpp"

#include <netcore/app/endpoint.hpp>
#include <netcore/transports/listener.hpp>
#include <netcore/transports/tcp_stream.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace netcore::bench {

namespace {

/// Two connections of `rt` on the two ends of one loopback TCP connection.
std::pair<actors::connection, actors::connection> connected(actors::runtime& rt,
                                                            const std::string& spill) {
  auto listener = transports::listener::tcp("127.0.0.1", 0);
  if (!listener) throw std::runtime_error("listen failed");
  std::unique_ptr<transports::byte_stream> accepted;
  std::thread acceptor{[&] {
    auto s = (*listener)->accept();
    if (s) accepted = std::move(*s);
  }};
  auto dialed = transports::tcp_connect("127.0.0.1", (*listener)->port());
  acceptor.join();
  if (!dialed || !accepted) throw std::runtime_error("connect failed");
  actors::connection_config cfg;
  cfg.storage.spill_directory = spill;
  cfg.keepalive_interval = std::chrono::milliseconds{0};
  auto a = rt.adopt(std::move(*dialed), cfg);
  auto b = rt.adopt(std::move(accepted), cfg);
  return {std::move(a), std::move(b)};
}

void add_echo(app::endpoint& server) {
  auto e = server.handle(
      "echo", [](const app::request& r) { return app::response::bytes(r.body().bytes()); });
  if (e) throw std::runtime_error("route refused: " + e.message());
}

}  // namespace

latency endpoint_idle_rtt(actors::runtime& rt, const std::string& spill, std::size_t samples) {
  using clock_type = std::chrono::steady_clock;
  auto [a, b] = connected(rt, spill);
  std::vector<double> rtts;
  {
    app::endpoint server{rt};
    app::endpoint client{rt};
    add_echo(server);
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

double endpoint_calls_per_sec(actors::runtime& rt, const std::string& spill,
                              std::size_t connections, std::size_t window, std::size_t total,
                              std::size_t size) {
  using clock_type = std::chrono::steady_clock;
  std::vector<std::pair<actors::connection, actors::connection>> pairs;
  for (std::size_t i = 0; i < connections; ++i) pairs.push_back(connected(rt, spill));
  double rate = 0;
  {
    app::endpoint server{rt};
    app::endpoint client{rt};
    add_echo(server);
    for (auto& p : pairs) server.serve(p.second);
    const protocol::byte_buffer body(size, 0x5a);
    std::atomic<std::size_t> issued{0}, answered{0};
    std::atomic<bool> failed{false};
    std::mutex m;
    std::condition_variable cv;
    // Each reply sends the next call on its connection (from the dispatcher's thread: call()
    // never blocks), so every connection keeps `window` calls in flight.
    std::function<void(actors::connection&)> issue = [&](actors::connection& c) {
      if (issued.fetch_add(1) >= total) return;
      client.call(c, actors::outgoing_message::from_bytes("echo", body), std::chrono::seconds{60},
                  [&](app::reply r) {
                    if (!r.ok() || r.body.size() != size) failed = true;
                    if (answered.fetch_add(1) + 1 == total) {
                      std::lock_guard<std::mutex> guard{m};
                      cv.notify_all();
                    } else {
                      issue(c);
                    }
                  });
    };
    const auto t0 = clock_type::now();
    for (auto& p : pairs)
      for (std::size_t i = 0; i < window; ++i) issue(p.first);
    std::unique_lock<std::mutex> guard{m};
    if (!cv.wait_for(guard, std::chrono::seconds{120}, [&] { return answered.load() >= total; }))
      throw std::runtime_error("P8: replies stopped coming");
    rate =
        static_cast<double>(total) / std::chrono::duration<double>(clock_type::now() - t0).count();
    if (failed) throw std::runtime_error("P8: a call failed");
    guard.unlock();
    for (auto& p : pairs) {
      p.first.abort();
      p.second.abort();
    }
  }
  return rate;
}

}  // namespace netcore::bench
