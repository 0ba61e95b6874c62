// Frames as a peer would send them, and helpers to feed them to a reassembler: shared by the
// reassembler and spill tests.
#pragma once

#include <netcore/protocol/decoder.hpp>
#include <netcore/protocol/digest.hpp>
#include <netcore/protocol/encoder.hpp>
#include <netcore/protocol/reassembler.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace netcore::protocol::test {

using namespace std::chrono_literals;
using clock_type = reassembler::clock;
using kind = reassembly_event::kind;

inline const clock_type::time_point t0 = clock_type::time_point{} + 1h;

/// A new, empty directory below `root` for the running test, named after it and this process
/// (tests may run in parallel processes).
inline std::string fresh_test_dir(const std::string& root) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir =
      root + "/" + info->test_suite_name() + "." + info->name() + "." + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Frames

/// A decoded frame that owns its payload.
struct owned_frame {
  frame_header header;
  byte_buffer payload;
  frame_view view() const { return {header, byte_view{payload}}; }
};

/// Runs the encoder's batch through a decoder, so the frames are exactly what a peer would send.
inline std::vector<owned_frame> decode_batch(encoder& enc) {
  byte_buffer bytes;
  enc.flatten_into(bytes);
  enc.clear();
  limits lim;
  lim.max_frame_payload = max_wire_payload;
  decoder dec{lim};
  byte_view in{bytes};
  std::vector<owned_frame> out;
  for (;;) {
    decode_result r = dec.next(in);
    if (r.status == decode_status::need_more) break;
    EXPECT_EQ(r.status, decode_status::frame) << to_string(r.error);
    if (r.status != decode_status::frame) continue;
    out.push_back({r.frame.header, byte_buffer(r.frame.payload.begin(), r.frame.payload.end())});
  }
  return out;
}

inline owned_frame only_frame(encoder& enc) {
  std::vector<owned_frame> frames = decode_batch(enc);
  EXPECT_EQ(frames.size(), 1u);
  return frames.empty() ? owned_frame{} : frames.front();
}

inline owned_frame open_frame(std::uint64_t id, std::uint64_t total,
                              const message_meta& meta = {}) {
  encoder enc;
  enc.open(id, meta, total);
  return only_frame(enc);
}

inline owned_frame single_frame(std::uint64_t id, byte_view body, const message_meta& meta = {}) {
  encoder enc;
  enc.open_single(id, meta, body);
  return only_frame(enc);
}

inline owned_frame data_frame(std::uint64_t id, std::uint64_t offset, byte_view chunk) {
  encoder enc;
  enc.data(id, offset, chunk);
  return only_frame(enc);
}

inline owned_frame end_frame(std::uint64_t id, std::uint64_t total, digest64 digest) {
  encoder enc;
  enc.end(id, total, digest);
  return only_frame(enc);
}

inline owned_frame cancel_frame(std::uint64_t id, errc reason, origin who = origin::local) {
  encoder enc;
  enc.cancel(id, who, reason, "stop");
  return only_frame(enc);
}

inline byte_buffer pattern(std::size_t n, std::uint64_t seed = 1) {
  std::mt19937_64 rng{seed};
  byte_buffer out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

inline message_meta sample_meta(std::string route = "files/upload") {
  message_meta m;
  m.route = std::move(route);
  m.type = content_type::json;
  m.priority = 7;
  m.headers = {{"content-name", "report.pdf"}, {"x-trace", "abc"}};
  return m;
}

/// Feeds `body` as message `id`: OPEN (size declared or unknown), DATA chunks of `chunk` bytes,
/// END. Stops at and returns the first error.
inline errc send_message(reassembler& r, std::uint64_t id, const byte_buffer& body,
                         std::size_t chunk, bool declare_size = true, const message_meta& meta = {},
                         clock_type::time_point now = t0) {
  errc e = r.on_frame(open_frame(id, declare_size ? body.size() : unknown_size, meta).view(), now);
  if (e != errc::ok) return e;
  for (std::size_t at = 0; at < body.size(); at += chunk) {
    byte_view piece = byte_view{body}.sub(at, chunk);
    e = r.on_frame(data_frame(id, at, piece).view(), now);
    if (e != errc::ok) return e;
  }
  return r.on_frame(end_frame(id, body.size(), xxh3_64(body)).view(), now);
}

inline std::vector<reassembly_event> drain(reassembler& r) {
  std::vector<reassembly_event> out;
  while (auto ev = r.poll()) out.push_back(std::move(*ev));
  return out;
}

}  // namespace netcore::protocol::test
