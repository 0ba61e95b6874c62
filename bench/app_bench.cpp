// P8, P9 and P2 through an endpoint: request/response throughput, the idle round trip, and a
// small call's round trip while a large upload goes to another route of the same connection.

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

/// Two connections of `rt` on the two ends of one loopback TCP connection. `for_latency` takes
/// the latency-oriented settings of the runtime's P2 (docs/BENCHMARKS.md): every queue in front
/// of a request about 128 KiB.
std::pair<actors::connection, actors::connection>
connected(actors::runtime& rt, const std::string& spill, bool for_latency = false) {
  transports::tcp_options opts;
  actors::connection_config cfg;
  cfg.storage.spill_directory = spill;
  cfg.keepalive_interval = std::chrono::milliseconds{0};
  if (for_latency) {
    opts.not_sent_low_water = 64u << 10;
    opts.receive_buffer = 128u << 10;
    cfg.chunk_size = 64u << 10;
    cfg.write_batch = 128u << 10;
    cfg.read_size = 128u << 10;
    cfg.limits.max_frame_payload = static_cast<std::uint32_t>(cfg.chunk_size + 64);
  }
  auto listener = transports::listener::tcp("127.0.0.1", 0, opts);
  if (!listener) throw std::runtime_error("listen failed");
  std::unique_ptr<transports::byte_stream> accepted;
  std::thread acceptor{[&] {
    auto s = (*listener)->accept();
    if (s) accepted = std::move(*s);
  }};
  auto dialed = transports::tcp_connect("127.0.0.1", (*listener)->port(), opts);
  acceptor.join();
  if (!dialed || !accepted) throw std::runtime_error("connect failed");
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

latency endpoint_rtt_under_load(actors::runtime& rt, const std::string& spill, std::uint64_t bulk,
                                std::size_t samples) {
  using clock_type = std::chrono::steady_clock;
  auto [a, b] = connected(rt, spill, true);
  std::vector<double> rtts;
  {
    app::endpoint server{rt};
    app::endpoint client{rt};
    add_echo(server);
    // The upload's route takes the file the body went to and throws it away.
    auto e = server.handle("upload", [](const app::request& r) {
      auto body = r.body();
      body.remove_file();
      return app::response::text(std::to_string(r.body().size()));
    });
    if (e) throw std::runtime_error("route refused: " + e.message());
    server.serve(b);
    auto upload = std::make_shared<const protocol::byte_buffer>(bulk, 0x42);
    actors::outgoing_message big;
    big.meta.route = "upload";
    big.bytes = upload;
    std::atomic<bool> uploaded{false};
    std::string upload_error;
    client.call(a, std::move(big), std::chrono::seconds{300}, [&](app::reply r) {
      if (!r.ok()) upload_error = r.reason;
      uploaded = true;
    });
    const protocol::byte_buffer body(100, 0x5a);
    while (rtts.size() < samples && !uploaded) {
      const auto t0 = clock_type::now();
      auto r = client.call(a, actors::outgoing_message::from_bytes("echo", body)).get();
      if (!r.ok() || r.body.size() != body.size())
        throw std::runtime_error("P2 endpoint: bad answer: " + r.reason);
      rtts.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    }
    while (!uploaded) std::this_thread::yield();
    if (!upload_error.empty())
      throw std::runtime_error("P2 endpoint: upload failed: " + upload_error);
    a.abort();
    b.abort();
  }
  if (rtts.empty()) throw std::runtime_error("P2 endpoint: no sample during the upload");
  return percentiles(rtts);
}

}  // namespace netcore::bench
