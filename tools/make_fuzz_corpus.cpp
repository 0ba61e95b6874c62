// make_fuzz_corpus -- writes the seed corpus of the decoder fuzzer (tests/fuzz/fuzz_decoder.cpp).
//
// usage: netcore_make_fuzz_corpus <output directory>
//
// Every seed is two prefix bytes the fuzz target reads as its configuration (limits, spilling,
// fake time, polling) and piece-size selector, followed by a byte stream built with
// protocol::encoder (plus hand-made frames where the encoder refuses to produce them). The output
// is deterministic, so regenerating gives the same files.

#include <netcore/protocol/crc32c.hpp>
#include <netcore/protocol/digest.hpp>
#include <netcore/protocol/encoder.hpp>
#include <netcore/protocol/frame.hpp>
#include <netcore/protocol/metadata.hpp>

#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

namespace np = netcore::protocol;

namespace {

// --- the fuzz target's two prefix bytes ---------------------------------------------------------

namespace cfg {
constexpr std::uint8_t normal = 0x00;
constexpr std::uint8_t tight = 0x01;     // small limits
constexpr std::uint8_t no_spill = 0x02;  // no spill directory
constexpr std::uint8_t step_1ms = 0x04;  // fake time per piece
constexpr std::uint8_t step_250ms = 0x08;
constexpr std::uint8_t step_1500ms = 0x0C;
constexpr std::uint8_t near_max = 0x10;  // clock starts just below its maximum
constexpr std::uint8_t poll_piece = 0x20;
constexpr std::uint8_t poll_16 = 0x40;
constexpr std::uint8_t poll_never = 0x60;
constexpr std::uint8_t fail_all = 0x80;  // fail_all() + drain before destruction
}  // namespace cfg

// Piece-size selector: scheme in the low 3 bits, parameter in the high 5.
namespace split {
constexpr std::uint8_t whole = 0;
constexpr std::uint8_t bytewise = 1;
constexpr std::uint8_t fixed(unsigned n) {
  return static_cast<std::uint8_t>(2 | ((n - 1) << 3));
}
constexpr std::uint8_t fixed31(unsigned k) {
  return static_cast<std::uint8_t>(3 | ((k - 1) << 3));
}
constexpr std::uint8_t random(unsigned max_log8, unsigned seed) {
  return static_cast<std::uint8_t>((3 + max_log8) | (seed << 3));
}
}  // namespace split

// --- building streams -------------------------------------------------------------------------

// Bodies referenced by encoders must outlive the flatten; they are kept here.
std::deque<np::byte_buffer> g_bodies;

const np::byte_buffer& body(std::size_t n, std::uint32_t seed) {
  np::byte_buffer b(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& v : b) {
    x = x * 1103515245u + 12345u;
    v = static_cast<std::uint8_t>(x >> 16);
  }
  g_bodies.push_back(std::move(b));
  return g_bodies.back();
}

np::message_meta meta(std::string route, np::content_type type = np::content_type::raw,
                      std::vector<np::header_field> headers = {}) {
  np::message_meta m;
  m.route = std::move(route);
  m.type = type;
  m.priority = 3;
  m.headers = std::move(headers);
  return m;
}

// Appends the encoder's batch to `out` and clears it.
void take(np::encoder& enc, np::byte_buffer& out) {
  enc.flatten_into(out);
  enc.clear();
}

// OPEN (declaring the size, or not), DATA in `chunk`-byte pieces, END.
void message(np::encoder& enc, std::uint64_t id, const np::byte_buffer& b, std::size_t chunk,
             bool declare = true, const np::message_meta& m = meta("seed/echo")) {
  enc.open(id, m, declare ? b.size() : np::unknown_size);
  for (std::size_t at = 0; at < b.size(); at += chunk) {
    const std::size_t n = std::min(chunk, b.size() - at);
    enc.data(id, at, np::byte_view{b.data() + at, n});
  }
  enc.end(id, b.size(), np::xxh3_64(b));
}

// A frame made by hand: `h` with its length and payload checksum filled in (unless told to keep
// them), then the payload.
void raw_frame(np::byte_buffer& out, np::frame_header h, np::byte_view payload,
               bool fill_in = true) {
  if (fill_in) {
    h.payload_length = static_cast<std::uint32_t>(payload.size());
    h.payload_crc = np::crc32c(payload);
  }
  std::uint8_t hdr[np::header_size];
  np::pack_header(h, hdr);
  out.insert(out.end(), hdr, hdr + np::header_size);
  out.insert(out.end(), payload.begin(), payload.end());
}

np::frame_header header(np::frame_type type, std::uint64_t id, std::uint64_t argument,
                        std::uint8_t flag_bits = 0) {
  np::frame_header h;
  h.type = type;
  h.message_id = id;
  h.argument = argument;
  h.flags = flag_bits;
  return h;
}

// A SINGLE OPEN payload: metadata, body, then `digest` (normally the body's digest).
np::byte_buffer single_payload(const np::message_meta& m, const np::byte_buffer& b,
                               np::digest64 digest) {
  np::byte_buffer p;
  np::encode_meta(m, p);
  p.insert(p.end(), b.begin(), b.end());
  std::uint8_t d[np::digest_size];
  np::store_le(d, digest, np::digest_size);
  p.insert(p.end(), d, d + np::digest_size);
  return p;
}

np::byte_buffer garbage(std::size_t n, std::uint32_t seed) {
  return body(n, seed ^ 0xA5A5A5A5u);
}

void append(np::byte_buffer& out, const np::byte_buffer& more) {
  out.insert(out.end(), more.begin(), more.end());
}

// --- the seeds --------------------------------------------------------------------------------

struct seed {
  std::string name;
  std::uint8_t config;
  std::uint8_t split;
  np::byte_buffer stream;
};

std::vector<seed> make_seeds() {
  std::vector<seed> seeds;
  np::encoder enc;
  auto add = [&](std::string name, std::uint8_t config, std::uint8_t sel, np::byte_buffer s) {
    seeds.push_back({std::move(name), config, sel, std::move(s)});
  };

  {  // One message: OPEN with its size, three DATA, END.
    np::byte_buffer s;
    message(enc, 1, body(300, 1), 100);
    take(enc, s);
    add("open-data-end", cfg::normal, split::whole, s);
  }
  {  // Size not declared up front.
    np::byte_buffer s;
    message(enc, 7, body(700, 2), 250, false);
    take(enc, s);
    add("open-unknown-size", cfg::poll_piece, split::fixed(32), s);
  }
  {  // A small message in one SINGLE OPEN, byte by byte.
    np::byte_buffer s;
    enc.open_single(3, meta("seed/single", np::content_type::text), body(200, 3));
    take(enc, s);
    add("single-frame", cfg::normal, split::bytewise, s);
  }
  {  // Empty messages: OPEN(0) + END, and OPEN(unknown) + END.
    np::byte_buffer s;
    message(enc, 1, body(0, 0), 16);
    message(enc, 2, body(0, 0), 16, false);
    take(enc, s);
    add("empty-message", cfg::normal, split::fixed(3), s);
  }
  {  // Empty SINGLE message.
    np::byte_buffer s;
    enc.open_single(9, meta(""), body(0, 0));
    take(enc, s);
    add("empty-single", cfg::fail_all, split::fixed(7), s);
  }
  {  // Four messages with interleaved chunks.
    np::byte_buffer s;
    const np::byte_buffer* b[4] = {&body(500, 11), &body(1500, 12), &body(50, 13), &body(0, 14)};
    for (std::uint64_t id = 1; id <= 4; ++id) enc.open(id, meta("seed/mux"), b[id - 1]->size());
    for (std::size_t at = 0; at < 1500; at += 128)
      for (std::uint64_t id = 1; id <= 4; ++id) {
        const np::byte_buffer& x = *b[id - 1];
        if (at < x.size())
          enc.data(id, at, np::byte_view{x.data() + at, std::min<std::size_t>(128, x.size() - at)});
      }
    for (std::uint64_t id = 4; id >= 1; --id)
      enc.end(id, b[id - 1]->size(), np::xxh3_64(*b[id - 1]));
    take(enc, s);
    add("interleaved", cfg::poll_piece | cfg::step_1ms, split::random(2, 5), s);
  }
  {  // A declared size above the memory threshold: spilled to a file from the start.
    np::byte_buffer s;
    message(enc, 5, body(10000, 21), 1024);
    take(enc, s);
    add("spill-declared", cfg::normal, split::random(4, 1), s);
  }
  {  // Unknown size growing past the memory threshold; the completed file-backed message is
     // never polled, so the reassembler's destructor has to remove its file.
    np::byte_buffer s;
    message(enc, 6, body(6000, 22), 1000, false);
    take(enc, s);
    add("spill-grown-unpolled", cfg::poll_never, split::fixed31(16), s);
  }
  {  // A SINGLE message above the memory threshold.
    np::byte_buffer s;
    enc.open_single(8, meta("seed/big-single"), body(5000, 23));
    take(enc, s);
    add("single-spill", cfg::poll_16, split::random(3, 2), s);
  }
  {  // Every frame type.
    np::byte_buffer s;
    np::settings hello;
    hello.max_frame_payload = 65536;
    hello.max_concurrent_messages = 16;
    enc.hello(hello);
    enc.ping(0x1122334455667788ull);
    enc.pong(0x1122334455667788ull);
    enc.credit(0, 1 << 20);
    enc.credit(5, 4096);
    const np::byte_buffer& b = body(64, 31);
    message(enc, 1, b, 40);
    enc.cancel(2, np::origin::local, np::errc::cancelled, "never opened");
    enc.error(0, np::origin::local, np::errc::protocol_error, "connection-level");
    enc.error(4, np::origin::remote, np::errc::unknown_route, "about your message");
    enc.goaway(np::errc::ok, "bye");
    take(enc, s);
    add("all-frame-types", cfg::normal, split::whole, s);
  }
  {  // The sender cancels a message half-way (spilled, so its file must go).
    np::byte_buffer s;
    const np::byte_buffer& b = body(9000, 41);
    enc.open(1, meta("seed/cancel"), b.size());
    enc.data(1, 0, np::byte_view{b.data(), 3000});
    enc.cancel(1, np::origin::local, np::errc::shutting_down, "stop");
    enc.open(2, meta("seed/cancel"), 100);
    enc.data(2, 0, np::byte_view{b.data(), 50});
    enc.cancel(2, np::origin::local, static_cast<np::errc>(777), "");
    take(enc, s);
    add("cancel-by-sender", cfg::normal, split::random(3, 3), s);
  }
  {  // A CANCEL/ERROR with PEER_ORIGIN names our own message: ignored by the reassembler.
    np::byte_buffer s;
    const np::byte_buffer& b = body(400, 42);
    enc.open(1, meta("seed/peer"), b.size());
    enc.data(1, 0, np::byte_view{b.data(), 200});
    enc.cancel(1, np::origin::remote, np::errc::cancelled, "yours");
    enc.error(1, np::origin::remote, np::errc::malformed_frame, "yours too");
    enc.data(1, 200, np::byte_view{b.data() + 200, 200});
    enc.end(1, b.size(), np::xxh3_64(b));
    take(enc, s);
    add("cancel-by-receiver", cfg::poll_piece, split::fixed(13), s);
  }
  {  // END with a wrong digest.
    np::byte_buffer s;
    const np::byte_buffer& b = body(256, 51);
    enc.open(1, meta("seed/digest"), b.size());
    enc.data(1, 0, b);
    enc.end(1, b.size(), np::xxh3_64(b) ^ 1);
    message(enc, 2, body(5000, 52), 2500);  // spilled, then a bad digest below
    take(enc, s);
    np::encoder e2;
    const np::byte_buffer& c = body(4500, 53);
    e2.open(3, meta("seed/digest"), np::unknown_size);
    e2.data(3, 0, c);
    e2.end(3, c.size(), 0);
    take(e2, s);
    add("bad-digest", cfg::normal, split::whole, s);
  }
  {  // SINGLE OPEN with a wrong digest, and one whose argument is not the body size.
    np::byte_buffer s;
    const np::byte_buffer& b = body(100, 54);
    const np::message_meta m = meta("seed/single-digest");
    raw_frame(s, header(np::frame_type::open, 1, b.size(), np::flags::single),
              single_payload(m, b, np::xxh3_64(b) ^ 0x8000000000000000ull));
    raw_frame(s, header(np::frame_type::open, 2, b.size() + 1, np::flags::single),
              single_payload(m, b, np::xxh3_64(b)));
    raw_frame(s, header(np::frame_type::open, 3, 0, np::flags::single), np::byte_view{b.data(), 7});
    raw_frame(s, header(np::frame_type::open, 4, b.size(), np::flags::single),
              single_payload(m, b, np::xxh3_64(b)));
    add("bad-digest-single", cfg::poll_piece, split::random(3, 4), s);
  }
  {  // DATA at the wrong offset.
    np::byte_buffer s;
    const np::byte_buffer& b = body(300, 61);
    enc.open(1, meta("seed/offset"), b.size());
    enc.data(1, 0, np::byte_view{b.data(), 100});
    enc.data(1, 150, np::byte_view{b.data() + 150, 100});
    enc.data(1, 100, np::byte_view{b.data() + 100, 200});
    enc.end(1, b.size(), np::xxh3_64(b));
    enc.open(2, meta("seed/offset"), np::unknown_size);
    enc.data(2, 0, np::byte_view{b.data(), 10});
    enc.data(2, 0, np::byte_view{b.data(), 10});
    take(enc, s);
    add("wrong-offset", cfg::normal, split::fixed(32), s);
  }
  {  // More or fewer bytes than declared; END totals that do not match.
    np::byte_buffer s;
    const np::byte_buffer& b = body(200, 62);
    enc.open(1, meta("seed/size"), 100);
    enc.data(1, 0, np::byte_view{b.data(), 150});
    enc.open(2, meta("seed/size"), 200);
    enc.data(2, 0, np::byte_view{b.data(), 100});
    enc.end(2, 100, np::xxh3_64(np::byte_view{b.data(), 100}));
    enc.open(3, meta("seed/size"), np::unknown_size);
    enc.data(3, 0, np::byte_view{b.data(), 100});
    enc.end(3, 99, np::xxh3_64(np::byte_view{b.data(), 100}));
    enc.open(4, meta("seed/size"), 8);
    enc.data(4, 0, np::byte_view{b.data(), 8});
    enc.end(4, 8, np::xxh3_64(np::byte_view{b.data(), 8}));
    take(enc, s);
    add("size-mismatch", cfg::poll_piece, split::whole, s);
  }
  {  // Garbage before, between and after valid frames.
    np::byte_buffer s = garbage(300, 71);
    message(enc, 1, body(120, 72), 60);
    take(enc, s);
    append(s, garbage(77, 73));
    message(enc, 2, body(90, 74), 90);
    take(enc, s);
    append(s, garbage(40, 75));
    add("garbage-prefix", cfg::normal, split::random(2, 6), s);
  }
  {  // The stream ends inside a header.
    np::byte_buffer s;
    message(enc, 1, body(50, 81), 25);
    enc.open(2, meta("seed/cut"), 10);
    take(enc, s);
    s.resize(s.size() - 20);
    add("truncated-header", cfg::fail_all, split::fixed(5), s);
  }
  {  // The stream ends inside a payload (of a spilled message).
    np::byte_buffer s;
    const np::byte_buffer& b = body(6000, 82);
    enc.open(1, meta("seed/cut"), b.size());
    enc.data(1, 0, b);
    take(enc, s);
    s.resize(s.size() - 1000);
    add("truncated-payload", cfg::normal, split::random(4, 7), s);
  }
  {  // A verified header announcing more than max_frame_payload (64 KiB): skipped unbuffered.
    np::byte_buffer s;
    enc.open(1, meta("seed/huge"), np::unknown_size);
    take(enc, s);
    np::frame_header h = header(np::frame_type::data, 1, 0);
    h.payload_length = 200000;
    h.payload_crc = 0x12345678;
    raw_frame(s, h, garbage(1500, 91), false);
    add("oversized-frame", cfg::normal, split::fixed31(8), s);
  }
  {  // Tight limits (1 KiB frames): an oversized DATA in the middle of valid traffic.
    np::byte_buffer s;
    const np::byte_buffer& b = body(2000, 92);
    enc.open(1, meta("t"), np::unknown_size);
    enc.open(2, meta("t"), 300);
    enc.data(1, 0, b);
    enc.data(2, 0, np::byte_view{b.data(), 300});
    enc.end(2, 300, np::xxh3_64(np::byte_view{b.data(), 300}));
    take(enc, s);
    add("oversized-tight", cfg::tight, split::whole, s);
  }
  {  // Frame types this version does not know are skipped.
    np::byte_buffer s;
    raw_frame(s, header(static_cast<np::frame_type>(0x42), 1, 0), garbage(50, 101));
    raw_frame(s, header(static_cast<np::frame_type>(0x00), 0, 0), np::byte_view{});
    raw_frame(s, header(static_cast<np::frame_type>(0xFF), 2, 9), garbage(9, 102));
    message(enc, 1, body(80, 103), 40);
    take(enc, s);
    add("unknown-type", cfg::normal, split::fixed(31), s);
  }
  {  // A bit flipped in the header of the second frame: header_corrupt, then resync.
    np::byte_buffer s;
    message(enc, 1, body(200, 111), 100);
    message(enc, 2, body(200, 112), 100);
    take(enc, s);
    const std::size_t second = np::header_size + 6 + 9;  // OPEN header + meta("seed/echo")
    s[second + 9] ^= 0x10;                               // inside the message id
    add("bitflip-header", cfg::poll_piece, split::random(2, 8), s);
  }
  {  // A bit flipped in a DATA payload: payload_corrupt fails only that message.
    np::byte_buffer s;
    message(enc, 1, body(200, 113), 100);
    message(enc, 2, body(200, 114), 100);
    take(enc, s);
    s[np::header_size + 15 + np::header_size + 40] ^= 0x01;
    add("bitflip-payload", cfg::normal, split::whole, s);
  }
  {  // Magic bytes flipped and the length field damaged in an OPEN header.
    np::byte_buffer s;
    message(enc, 1, body(30, 115), 30);
    message(enc, 2, body(30, 116), 30);
    message(enc, 3, body(30, 117), 30);
    take(enc, s);
    s[0] ^= 0x01;  // magic
    const std::size_t third =
        2 * (np::header_size + 15 + np::header_size + 30 + np::header_size + 8);
    s[third + 5] ^= 0x80;  // length
    add("bitflip-magic-length", cfg::normal, split::bytewise, s);
  }
  {  // A verified header of another protocol version.
    np::byte_buffer s;
    np::frame_header h = header(np::frame_type::open, 1, 0);
    h.version = 2;
    raw_frame(s, h, garbage(20, 121));
    message(enc, 1, body(60, 122), 60);
    take(enc, s);
    add("unsupported-version", cfg::normal, split::whole, s);
  }
  {  // OPEN twice for the same id.
    np::byte_buffer s;
    const np::byte_buffer& b = body(100, 131);
    enc.open(1, meta("seed/dup"), b.size());
    enc.data(1, 0, np::byte_view{b.data(), 50});
    enc.open(1, meta("seed/dup"), b.size());
    enc.open_single(2, meta("seed/dup"), b);
    enc.open(2, meta("seed/dup"), 0);
    enc.open_single(2, meta("seed/dup"), b);
    take(enc, s);
    add("duplicate-open", cfg::poll_piece, split::whole, s);
  }
  {  // More concurrent messages than max_concurrent_messages (16); SINGLE ones still pass.
    np::byte_buffer s;
    for (std::uint64_t id = 1; id <= 20; ++id) enc.open(id, meta("m"), np::unknown_size);
    enc.open_single(21, meta("m"), body(10, 141));
    for (std::uint64_t id = 1; id <= 20; id += 3) enc.end(id, 0, np::xxh3_64(np::byte_view{}));
    take(enc, s);
    add("too-many-messages", cfg::normal, split::fixed(32), s);
  }
  {  // Declared or received sizes above max_message_size (1 MiB).
    np::byte_buffer s;
    enc.open(1, meta("seed/large"), 2u << 20);
    enc.open(2, meta("seed/large"), (1u << 20) + 1);
    enc.open(3, meta("seed/large"), np::unknown_size - 1);
    enc.open(4, meta("seed/large"), 1u << 20);
    const np::byte_buffer& b = body(4000, 151);
    enc.data(4, 0, b);
    enc.data(4, 4000, b);
    take(enc, s);
    add("message-too-large", cfg::normal, split::random(3, 9), s);
  }
  {  // Rich metadata; metadata over the limits; malformed metadata blocks.
    np::byte_buffer s;
    std::vector<np::header_field> hs;
    for (int i = 0; i < 5; ++i)
      hs.push_back(
          {"x-header-" + std::to_string(i), std::string(static_cast<std::size_t>(i * 7), 'v')});
    const np::byte_buffer& b = body(40, 161);
    message(enc, 1, b, 40, true, meta("files/upload/report.json", np::content_type::json, hs));
    enc.open(2, meta(std::string(300, 'r')), 0);  // route longer than 256
    std::vector<np::header_field> many(20, np::header_field{"h", "v"});
    enc.open(3, meta("many", np::content_type::msgpack, many), 0);  // more than 16 headers
    std::vector<np::header_field> big(1, np::header_field{"big", std::string(5000, 'b')});
    enc.open(4, meta("big", np::content_type::text, big), 0);  // more than 4 KiB of metadata
    take(enc, s);
    np::byte_buffer m;
    np::encode_meta(meta("cut", np::content_type::raw, hs), m);
    raw_frame(s, header(np::frame_type::open, 5, 0), np::byte_view{m.data(), m.size() - 3});
    // Trailing bytes after the metadata of a non-SINGLE OPEN; a block cut inside its fixed part.
    np::byte_buffer m2;
    np::encode_meta(meta("extra"), m2);
    m2.push_back(0xEE);
    raw_frame(s, header(np::frame_type::open, 6, 0), m2);
    raw_frame(s, header(np::frame_type::open, 7, 0), np::byte_view{m.data(), 3});
    add("metadata", cfg::poll_piece, split::whole, s);
  }
  {  // Slow messages under a fast fake clock: idle timeouts.
    np::byte_buffer s;
    const np::byte_buffer& b = body(2000, 171);
    for (std::uint64_t id = 1; id <= 3; ++id) enc.open(id, meta("slow"), b.size());
    for (std::size_t at = 0; at < 2000; at += 200)
      enc.data(2, at, np::byte_view{b.data() + at, 200});
    enc.end(2, b.size(), np::xxh3_64(b));
    enc.data(1, 0, np::byte_view{b.data(), 10});
    take(enc, s);
    add("idle-timeout", cfg::step_250ms | cfg::poll_piece, split::fixed(32), s);
  }
  {  // Id 0 names the connection, never a message.
    np::byte_buffer s;
    const np::byte_buffer& b = body(20, 181);
    enc.open(0, meta("zero"), b.size());
    enc.data(0, 0, b);
    enc.end(0, b.size(), np::xxh3_64(b));
    enc.open_single(0, meta("zero"), b);
    enc.cancel(0, np::origin::local, np::errc::cancelled);
    take(enc, s);
    add("id-zero", cfg::normal, split::whole, s);
  }
  {  // Tight limits without a spill directory: the 2 KiB memory budget is hit.
    np::byte_buffer s;
    const np::byte_buffer& b = body(1000, 191);
    enc.open(1, meta("mem"), 3000);  // can never be held
    enc.open(2, meta("mem"), np::unknown_size);
    enc.open(3, meta("mem"), np::unknown_size);
    enc.data(2, 0, b);
    enc.data(3, 0, b);
    enc.data(2, 1000, b);  // over budget
    enc.end(3, b.size(), np::xxh3_64(b));
    enc.open_single(4, meta("mem"), b);
    enc.open_single(5, meta("mem"), np::byte_view{b.data(), 900});
    take(enc, s);
    add("tight-memory-limit", cfg::tight | cfg::no_spill, split::whole, s);
  }
  {  // Tight limits with spilling (threshold 256 bytes): bodies grow into files.
    np::byte_buffer s;
    message(enc, 1, body(1000, 192), 100, false);
    message(enc, 2, body(600, 193), 600);
    enc.open_single(3, meta("t"), body(300, 194));
    take(enc, s);
    add("tight-spill", cfg::tight | cfg::poll_16, split::random(3, 10), s);
  }
  {  // The fake clock starts just below its maximum and keeps advancing.
    np::byte_buffer s;
    message(enc, 1, body(300, 201), 30);
    enc.open(2, meta("late"), np::unknown_size);
    take(enc, s);
    add("near-max-clock", cfg::near_max | cfg::step_1500ms | cfg::poll_piece, split::fixed(16), s);
  }
  {  // Bytes that look like the start of a header, over and over, then real frames.
    np::byte_buffer s;
    for (int i = 0; i < 40; ++i) {
      s.push_back(np::magic0);
      if (i % 2 == 0) s.push_back(np::magic1);
      if (i % 3 == 0) s.push_back(np::protocol_version);
    }
    message(enc, 1, body(64, 211), 32);
    take(enc, s);
    // A valid DATA header whose payload never comes: the next frame's bytes are taken as payload.
    enc.data(1, 64, body(100, 213));
    np::byte_buffer lone;
    take(enc, lone);
    s.insert(s.end(), lone.begin(), lone.begin() + static_cast<std::ptrdiff_t>(np::header_size));
    message(enc, 2, body(10, 212), 10);
    take(enc, s);
    add("resync-magic-noise", cfg::normal, split::random(1, 11), s);
  }
  {  // DATA and END for messages never opened; END before OPEN.
    np::byte_buffer s;
    const np::byte_buffer& b = body(30, 221);
    enc.data(5, 0, b);
    enc.end(5, b.size(), np::xxh3_64(b));
    enc.end(6, 0, 0);
    enc.open(6, meta("late-open"), 0);
    enc.end(6, 0, np::xxh3_64(np::byte_view{}));
    take(enc, s);
    raw_frame(s, header(np::frame_type::end, 7, 0), np::byte_view{b.data(), 3});  // short digest
    add("unknown-message", cfg::normal, split::whole, s);
  }
  {  // Zero-length DATA frames are legal and carry nothing.
    np::byte_buffer s;
    const np::byte_buffer& b = body(50, 231);
    enc.open(1, meta("zero-data"), b.size());
    enc.data(1, 0, np::byte_view{});
    enc.data(1, 0, np::byte_view{b.data(), 25});
    enc.data(1, 25, np::byte_view{});
    enc.data(1, 25, np::byte_view{b.data() + 25, 25});
    enc.data(1, 50, np::byte_view{});
    enc.end(1, b.size(), np::xxh3_64(b));
    take(enc, s);
    add("zero-length-data", cfg::poll_piece, split::fixed(32), s);
  }
  {  // Messages left open (some in files) when the connection goes: fail_all.
    np::byte_buffer s;
    const np::byte_buffer& b = body(3000, 241);
    enc.open(1, meta("open"), 8000);
    enc.data(1, 0, b);
    enc.open(2, meta("open"), np::unknown_size);
    enc.data(2, 0, b);
    enc.data(2, 3000, b);
    enc.open(3, meta("open"), 100);
    enc.data(3, 0, np::byte_view{b.data(), 10});
    take(enc, s);
    add("fail-all-open", cfg::fail_all | cfg::poll_16, split::random(4, 12), s);
  }
  {  // The same left-open messages destroyed without fail_all.
    np::byte_buffer s;
    const np::byte_buffer& b = body(3000, 242);
    enc.open(1, meta("open"), 8000);
    enc.data(1, 0, b);
    enc.open(2, meta("open"), np::unknown_size);
    enc.data(2, 0, b);
    enc.data(2, 3000, b);
    take(enc, s);
    add("destroy-open", cfg::poll_never, split::whole, s);
  }
  {  // Tight limits (4 KiB messages): declared and received sizes above max_message_size.
    np::byte_buffer s;
    const np::byte_buffer& b = body(1000, 251);
    enc.open(1, meta("t"), 5000);
    enc.open(2, meta("t"), np::unknown_size);
    for (std::uint64_t at = 0; at < 5000; at += 1000) enc.data(2, at, b);
    enc.end(2, 5000, 0);
    take(enc, s);
    add("tight-message-too-large", cfg::tight | cfg::poll_piece, split::random(3, 13), s);
  }
  return seeds;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output directory>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const std::vector<seed> seeds = make_seeds();
  int index = 0;
  for (const seed& s : seeds) {
    char prefix[8];
    std::snprintf(prefix, sizeof prefix, "%03d-", ++index);
    const std::string path = dir + "/" + prefix + s.name + ".bin";
    if (s.stream.size() + 2 >= (64u << 10)) {
      std::fprintf(stderr, "%s: seed too large (%zu bytes)\n", path.c_str(), s.stream.size() + 2);
      return 1;
    }
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
      std::perror(path.c_str());
      return 1;
    }
    const std::uint8_t head[2] = {s.config, s.split};
    const bool ok = std::fwrite(head, 1, 2, f) == 2 &&
                    std::fwrite(s.stream.data(), 1, s.stream.size(), f) == s.stream.size();
    if (std::fclose(f) != 0 || !ok) {
      std::fprintf(stderr, "%s: write failed\n", path.c_str());
      return 1;
    }
    std::printf("%s (%zu bytes)\n", path.c_str(), s.stream.size() + 2);
  }
  return 0;
}
