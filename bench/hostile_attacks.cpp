#include "hostile_attacks.hpp"

#include "hostile_wire.hpp"

#include <netcore/protocol/digest.hpp>
#include <netcore/protocol/metadata.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace netcore::bench::hostile {

namespace {

protocol::message_meta meta_of(const std::string& route) {
  protocol::message_meta m;
  m.route = route;
  return m;
}

bool before(clock_type::time_point deadline) {
  return clock_type::now() < deadline;
}

/// Writes `bytes` until done, the server ends the connection, or `deadline` passes.
write_status send_until(int fd, const protocol::byte_buffer& bytes,
                        clock_type::time_point deadline) {
  std::size_t at = 0;
  for (;;) {
    const auto s = write_all(fd, bytes, &at);
    if (s != write_status::timed_out || !before(deadline)) return s;
  }
}

/// Records how `fd` ended and closes it.
void ended(attack& a, int fd) {
  ++a.endings[ending(fd, std::chrono::milliseconds{1000})];
  ::close(fd);
}

/// Opens `n` connections, each sending its HELLO.
void open_many(attack& a, std::uint16_t port, std::size_t n) {
  const auto greeting = hello();
  for (std::size_t i = 0; i < n; ++i) {
    const int fd = dial(port);
    if (fd < 0) {
      ++a.endings["connect failed"];
      continue;
    }
    ++a.connections;
    std::size_t at = 0;
    if (write_all(fd, greeting, &at) == write_status::closed)
      ended(a, fd);
    else
      a.open.push_back(fd);
  }
}

// 1. Many connections, each opening as many messages as the server allows, declaring bodies
// large enough to spill, sending one chunk of each and nothing more.

/// Connection after connection, each flooded with `batch` until the server ends it.
attack flood_until_ended(std::uint16_t port, std::chrono::milliseconds phase,
                         const std::function<protocol::byte_buffer()>& batch,
                         std::uint64_t frames_per_batch) {
  const auto deadline = clock_type::now() + phase;
  attack a;
  std::uint64_t sent = 0;
  // Per connection the server ended: how long it lived, the frames it took, the frames read
  // from it afterwards.
  auto lifetimes = nlohmann::json::array();
  auto frames_each = nlohmann::json::array();
  auto read_each = nlohmann::json::array();
  while (before(deadline)) {
    open_many(a, port, 1);
    if (a.open.empty()) break;
    const int fd = a.open.front();
    a.open.clear();
    const auto born = clock_type::now();
    std::uint64_t mine = 0;
    for (;;) {
      const auto s = send_until(fd, batch(), deadline);
      if (s == write_status::done) mine += frames_per_batch;
      if (s == write_status::closed) {
        lifetimes.push_back(std::chrono::duration<double>(clock_type::now() - born).count());
        frames_each.push_back(mine);
        std::uint64_t read = 0;
        ++a.endings[ending(fd, std::chrono::milliseconds{1000}, &read)];
        read_each.push_back(read);
        ::close(fd);
        break;
      }
      if (!before(deadline)) {
        a.open.push_back(fd);
        break;
      }
    }
    sent += mine;
  }
  a.detail = {{"frames_sent", sent},
              {"ended_lifetimes_s", lifetimes},
              {"ended_frames_sent", frames_each},
              {"ended_frames_read", read_each}};
  return a;
}

}  // namespace

attack spill_flood(std::uint16_t port, std::chrono::milliseconds phase, std::size_t conns,
                   std::uint32_t per_connection, std::uint64_t declared) {
  const auto deadline = clock_type::now() + phase;
  attack a;
  open_many(a, port, conns);
  const protocol::byte_buffer chunk(4096, 0x11);
  const auto meta = meta_of("spill");
  const auto plan = frames([&](protocol::encoder& e) {
    for (std::uint64_t id = 1; id <= per_connection; ++id) {
      e.open(id, meta, declared);
      e.data(id, 0, chunk);
    }
  });
  std::vector<std::size_t> at(a.open.size(), 0);
  std::uint64_t written = 0;
  for (bool pending = true; pending && before(deadline);) {
    pending = false;
    for (std::size_t i = 0; i < a.open.size(); ++i) {
      if (a.open[i] < 0 || at[i] == plan.size()) continue;
      const auto before_write = at[i];
      const auto s = write_all(a.open[i], plan, &at[i]);
      written += at[i] - before_write;
      if (s == write_status::closed) {
        ended(a, a.open[i]);
        a.open[i] = -1;
      } else if (s == write_status::timed_out) {
        pending = true;
      }
    }
  }
  a.open.erase(std::remove(a.open.begin(), a.open.end(), -1), a.open.end());
  a.detail = {{"connections", conns},
              {"opens_per_connection", per_connection},
              {"declared_bytes_each", declared},
              {"bytes_written", written},
              {"all_written", written == plan.size() * at.size()}};
  std::this_thread::sleep_until(deadline);
  return a;
}

// 2. Empty messages as fast as the server's initial credit lets them go, never reading.
attack empty_flood(std::uint16_t port, std::chrono::milliseconds phase, std::uint64_t credit) {
  const auto deadline = clock_type::now() + phase;
  attack a;
  open_many(a, port, 1);
  const auto meta = meta_of("e");
  const std::size_t per_batch = 8192;
  const std::uint64_t frame = protocol::wire_size(protocol::encoded_meta_size(meta) + 8);
  std::uint64_t id = 0, sent = 0;
  const auto t0 = clock_type::now();
  while (!a.open.empty() && before(deadline) && (sent + per_batch) * frame <= credit) {
    const auto batch = frames([&](protocol::encoder& e) {
      for (std::size_t i = 0; i < per_batch; ++i) e.open_single(++id, meta, {});
    });
    const auto s = send_until(a.open.front(), batch, deadline);
    if (s == write_status::closed) {
      ended(a, a.open.front());
      a.open.clear();
    } else if (s == write_status::done) {
      sent += per_batch;
    }
  }
  a.detail = {{"messages_sent", sent},
              {"wire_bytes_sent", sent * frame},
              {"send_seconds", std::chrono::duration<double>(clock_type::now() - t0).count()}};
  std::this_thread::sleep_until(deadline);
  return a;
}

// 3. 16 KiB messages at full speed, whatever the credit, never reading.
attack credit_ignorer(std::uint16_t port, std::chrono::milliseconds phase) {
  const protocol::byte_buffer body(16u << 10, 0x33);
  const auto meta = meta_of("c");
  std::uint64_t id = 0;
  return flood_until_ended(
      port, phase,
      [&] {
        return frames([&](protocol::encoder& e) {
          for (int i = 0; i < 64; ++i) e.open_single(++id, meta, body);
        });
      },
      64);
}

// 4. PINGs as fast as the socket takes them, never reading the PONGs.
attack ping_flood(std::uint16_t port, std::chrono::milliseconds phase) {
  std::uint64_t token = 0;
  return flood_until_ended(
      port, phase,
      [&] {
        return frames([&](protocol::encoder& e) {
          for (int i = 0; i < 1024; ++i) e.ping(++token);
        });
      },
      1024);
}

// 5. `count` frames of 32 bytes on one connection: one message, all of it empty DATA frames,
// within the connection credit the server grants (a reader thread takes the CREDIT frames).
attack tiny_frames(std::uint16_t port, std::chrono::milliseconds phase, std::uint64_t count) {
  const auto deadline = clock_type::now() + phase;
  attack a;
  open_many(a, port, 1);
  if (a.open.empty()) return a;
  const int fd = a.open.front();
  std::mutex mtx;
  std::condition_variable cv;
  std::uint64_t granted = 0;
  bool greeted = false, gone = false;
  std::atomic<bool> stop{false};
  std::thread reader{[&] {
    frame_reader r{fd};
    while (!stop) {
      protocol::frame_view f;
      const auto s = r.next(clock_type::now() + std::chrono::milliseconds{100}, f);
      std::lock_guard<std::mutex> guard{mtx};
      if (s == frame_reader::status::closed || s == frame_reader::status::reset) {
        gone = true;
      } else if (s == frame_reader::status::frame) {
        if (f.header.type == protocol::frame_type::hello) {
          protocol::settings settings;
          if (protocol::decode_settings(f.payload, settings) == protocol::errc::ok)
            granted += settings.initial_connection_credit;
          greeted = true;
        } else if (f.header.type == protocol::frame_type::credit && f.header.message_id == 0) {
          granted += f.header.argument;
        }
      }
      cv.notify_all();
      if (gone) return;
    }
  }};
  const std::uint64_t per_batch = 4096;
  std::uint64_t sent = 0, used = 0;
  const auto t0 = clock_type::now();
  double send_seconds = 0;
  while (sent < count && before(deadline)) {
    const std::uint64_t n = std::min(per_batch, count - sent);
    const bool first = sent == 0, last = sent + n == count;
    const std::uint64_t cost = n * protocol::header_size + (first ? 64 : 0) + (last ? 8 : 0);
    {
      std::unique_lock<std::mutex> guard{mtx};
      cv.wait_until(guard, deadline, [&] { return gone || (greeted && used + cost <= granted); });
      if (gone || !(greeted && used + cost <= granted)) break;
    }
    const auto batch = frames([&](protocol::encoder& e) {
      std::uint64_t k = 0;
      if (first) {
        e.open(1, meta_of("t"), protocol::unknown_size);
        ++k;
      }
      for (; k < n - (last ? 1 : 0); ++k) e.data(1, 0, {});
      if (last) e.end(1, 0, protocol::xxh3_64({}));
    });
    if (send_until(fd, batch, deadline) != write_status::done) break;
    used += batch.size();
    sent += n;
    if (sent == count) send_seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  }
  stop = true;
  reader.join();
  a.detail = {
      {"frames_sent", sent},
      {"frames_wanted", count},
      {"send_seconds", send_seconds},
      {"frames_per_second", send_seconds > 0 ? static_cast<double>(sent) / send_seconds : 0}};
  std::this_thread::sleep_until(deadline);
  return a;
}

// 6. As many connections as asked for, held idle after their HELLO.
attack many_connections(std::uint16_t port, std::chrono::milliseconds phase, std::size_t n) {
  const auto deadline = clock_type::now() + phase;
  attack a;
  const auto t0 = clock_type::now();
  open_many(a, port, n);
  a.detail = {{"connections_asked", n},
              {"connect_seconds", std::chrono::duration<double>(clock_type::now() - t0).count()}};
  std::this_thread::sleep_until(deadline);
  return a;
}

// 7. Connections that send their HELLO one byte per second.
attack slowloris(std::uint16_t port, std::chrono::milliseconds phase, std::size_t n) {
  const auto deadline = clock_type::now() + phase;
  attack a;
  for (std::size_t i = 0; i < n; ++i) {
    const int fd = dial(port);
    if (fd < 0) {
      ++a.endings["connect failed"];
      continue;
    }
    ++a.connections;
    a.open.push_back(fd);
  }
  const auto greeting = hello();
  std::size_t bytes = 0;
  for (auto next = clock_type::now(); before(deadline) && bytes < greeting.size();
       next += std::chrono::seconds{1}) {
    std::this_thread::sleep_until(std::min(next, deadline));
    if (!before(deadline)) break;
    const protocol::byte_buffer one{greeting[bytes++]};
    for (auto& fd : a.open) {
      std::size_t at = 0;
      if (write_all(fd, one, &at) == write_status::closed) {
        ended(a, fd);
        fd = -1;
      }
    }
    a.open.erase(std::remove(a.open.begin(), a.open.end(), -1), a.open.end());
  }
  a.detail = {{"hello_bytes_sent_each", bytes}, {"hello_size", greeting.size()}};
  std::this_thread::sleep_until(deadline);
  return a;
}

void conclude(attack& a, std::chrono::milliseconds wait) {
  // What has arrived is read at once; connections still open then get one common wait (the
  // server keeps on judging the silent ones meanwhile, so each must not wait in turn).
  std::vector<int> still_open;
  for (int fd : a.open) {
    const auto how = ending(fd, std::chrono::milliseconds{0});
    if (how != "open") {
      ++a.endings[how];
      ::close(fd);
    } else {
      still_open.push_back(fd);
    }
  }
  if (!still_open.empty() && wait.count() > 0) std::this_thread::sleep_for(wait);
  for (int fd : still_open) {
    ++a.endings[ending(fd, std::chrono::milliseconds{0})];
    ::close(fd);
  }
  a.open.clear();
}

}  // namespace netcore::bench::hostile
