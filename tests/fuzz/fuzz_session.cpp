// libFuzzer target: a whole session core (settings, credit, control frames, reassembly, the send
// path) driven by a hostile peer's byte stream, cut into arbitrary pieces, while the session
// sends messages of its own.
//
// Input layout:
//   byte 0   configuration
//              bit 0     tight limits (small frames, messages, budgets, queues, ping rate)
//              bit 1     lossy stream (the reliable link's packets; see byte 1, bit 7)
//              bits 2-3  fake time advanced per piece: 0, 1 ms, 250 ms, 3 s
//              bit 4     the application acknowledges deliveries (otherwise never)
//              bit 5     writes are accepted in halves (short writes) instead of whole batches
//              bit 6     shut down gracefully halfway through
//              bit 7     the transport ends after the last piece
//   byte 1   bits 0-6  piece size: 1 + value (1..128 bytes per feed)
//            bit 7     on a lossy stream, the link off: bare frames (credit repair, unknown
//                      frames tolerated)
//   rest     the peer's byte stream
//
// Invariants checked (abort on violation): the session's memory stays within its configured
// bounds (buffered bodies, queued outgoing bytes, open incoming messages); every event is
// well-formed; a session that ended stays ended; after destruction no spill file is left.

#include <netcore/protocol/digest.hpp>
#include <netcore/session/core.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

namespace np = netcore::protocol;
namespace ns = netcore::session;

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "fuzz_session: invariant violated: %s (%s:%d)\n", #cond, __FILE__,      \
                   __LINE__);                                                                      \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

namespace {

std::string g_spill_dir;

void remove_spill_dir() {
  if (DIR* d = ::opendir(g_spill_dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ::unlink((g_spill_dir + "/" + e->d_name).c_str());
    ::closedir(d);
  }
  ::rmdir(g_spill_dir.c_str());
}

std::size_t spill_entries() {
  std::size_t n = 0;
  if (DIR* d = ::opendir(g_spill_dir.c_str())) {
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

ns::session_config config_for(std::uint8_t bits, std::uint8_t more) {
  ns::session_config c;
  c.storage.spill_directory = g_spill_dir;
  c.lossy = (bits & 2) != 0;
  c.link.enabled = (more & 0x80) == 0;
  if (bits & 1) {
    c.limits.max_frame_payload = 4096;
    c.limits.max_message_size = 1u << 20;
    c.limits.max_concurrent_messages = 4;
    c.limits.max_buffered_bytes = 64u << 10;
    c.storage.memory_threshold = 8u << 10;
    c.initial_message_credit = 16u << 10;
    c.initial_connection_credit = 64u << 10;
    c.delivery_budget = 128u << 10;
    c.max_queued_bytes = 256u << 10;
    c.max_queued_messages = 16;
    c.max_control_frames = 8;
    c.max_pings_per_second = 4;
    c.max_unknown_frames = 4;
    c.chunk_size = 1024;
    c.write_batch = 8192;
  }
  return c;
}

void check_bounds(const ns::core& core, const ns::session_config& cfg) {
  const auto s = core.stats();
  FUZZ_CHECK(s.buffered_bytes <= cfg.limits.max_buffered_bytes);
  FUZZ_CHECK(s.open_incoming <= cfg.limits.max_concurrent_messages);
  FUZZ_CHECK(s.queued_bytes <= cfg.max_queued_bytes);
  FUZZ_CHECK(s.open_outgoing <= cfg.max_queued_messages);
}

/// Takes every event; removes delivered files; acknowledges when told to.
void drain(ns::core& core, bool acknowledge) {
  while (auto e = core.poll()) {
    if (auto* r = std::get_if<ns::received>(&*e)) {
      FUZZ_CHECK(r->cost >= r->message.body.size());
      if (r->message.body.is_file()) {
        struct stat st {};
        FUZZ_CHECK(::stat(r->message.body.path().c_str(), &st) == 0);
        FUZZ_CHECK(static_cast<std::uint64_t>(st.st_size) == r->message.body.size());
        r->message.body.remove_file();
      }
      if (acknowledge) core.acknowledge(r->cost);
    } else if (auto* f = std::get_if<ns::receive_failed>(&*e)) {
      FUZZ_CHECK(f->reason);
    }
  }
}

/// Writes what the session wants to write (all of it, or in halves).
void write_out(ns::core& core, bool halves) {
  for (int guard = 0; guard < 64 && core.wants_write(); ++guard) {
    const auto& slices = core.next_batch();
    std::size_t total = 0;
    for (const auto& s : slices) total += s.size;
    if (total == 0) return;
    if (halves && total > 1) {
      core.on_written(total / 2);
      core.on_written(total - total / 2);
    } else {
      core.on_written(total);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char dir[] = "/tmp/netcore-fuzz-session-XXXXXX";
  if (::mkdtemp(dir) == nullptr) std::abort();
  g_spill_dir = dir;
  std::atexit(remove_spill_dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t bits = data[0];
  const std::size_t piece = 1 + static_cast<std::size_t>(data[1] & 0x7F);
  const np::byte_view stream{data + 2, size - 2};
  static const std::chrono::milliseconds steps[] = {
      std::chrono::milliseconds{0}, std::chrono::milliseconds{1}, std::chrono::milliseconds{250},
      std::chrono::milliseconds{3000}};
  const auto step = steps[(bits >> 2) & 3];
  const bool acknowledge = (bits & 16) != 0;
  const bool halves = (bits & 32) != 0;
  const ns::session_config cfg = config_for(bits, data[1]);
  auto now = ns::clock::time_point{} + std::chrono::hours{1};
  {
    ns::core core{cfg, now};
    // Messages of this side's own: small, multi-frame and large, so that the peer's settings,
    // credit and cancels reach the send path.
    auto body = [](std::size_t n) {
      auto b = std::make_shared<np::byte_buffer>(n);
      for (std::size_t i = 0; i < n; ++i) (*b)[i] = static_cast<std::uint8_t>(i * 7);
      return ns::shared_body{b};
    };
    for (std::size_t n : {std::size_t{10}, std::size_t{5000}, std::size_t{200000}}) {
      np::message_meta meta;
      meta.route = "own";
      (void)core.send(meta, body(n));
    }
    bool ended = false;
    for (std::size_t at = 0; at < stream.size(); at += piece) {
      core.feed(stream.sub(at, piece), now);
      now += step;
      core.tick(now);
      drain(core, acknowledge);
      write_out(core, halves);
      drain(core, acknowledge);
      check_bounds(core, cfg);
      if (ended) FUZZ_CHECK(core.done());  // an ended session stays ended
      ended = ended || core.done();
      if ((bits & 64) && at <= stream.size() / 2 && at + piece > stream.size() / 2)
        core.shutdown(now, now + std::chrono::seconds{5});
    }
    if (bits & 128) core.on_transport_closed(netcore::runtime_errc::disconnected);
    drain(core, acknowledge);
  }
  FUZZ_CHECK(spill_entries() == 0);
  return 0;
}
