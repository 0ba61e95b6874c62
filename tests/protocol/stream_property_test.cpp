// Property tests over whole streams: many interleaved messages, split anywhere, must come out
// whole; damage must cost only the damaged messages.

#include <netcore/protocol/decoder.hpp>
#include <netcore/protocol/encoder.hpp>
#include <netcore/protocol/reassembler.hpp>

#include "test_support.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>

using namespace netcore::protocol;
using netcore::protocol::test::random_bytes;

namespace {

struct outgoing {
  std::uint64_t id;
  message_meta meta;
  byte_buffer body;
  std::size_t chunk;
};

/// Encodes `msgs` round-robin, one chunk per message per pass, as the link does.
byte_buffer interleave(const std::vector<outgoing>& msgs, bool use_single) {
  encoder enc;
  std::vector<std::size_t> sent(msgs.size(), 0);
  std::vector<bool> opened(msgs.size(), false), done(msgs.size(), false);
  std::size_t left = msgs.size();
  while (left > 0) {
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      if (done[i]) continue;
      const auto& m = msgs[i];
      if (!opened[i]) {
        opened[i] = true;
        if (use_single && m.body.size() <= m.chunk) {
          enc.open_single(m.id, m.meta, m.body);
          done[i] = true;
          --left;
          continue;
        }
        enc.open(m.id, m.meta, m.body.size());
      }
      auto n = std::min(m.chunk, m.body.size() - sent[i]);
      if (n > 0) enc.data(m.id, sent[i], byte_view{m.body.data() + sent[i], n});
      sent[i] += n;
      if (sent[i] == m.body.size()) {
        enc.end(m.id, m.body.size(), xxh3_64(m.body));
        done[i] = true;
        --left;
      }
    }
  }
  byte_buffer out;
  enc.flatten_into(out);
  return out;
}

/// Feeds `stream` in the given piece sizes (cycled) through decoder + reassembler.
std::vector<reassembly_event> receive(const byte_buffer& stream,
                                      const std::vector<std::size_t>& pieces) {
  decoder dec;
  reassembler re;
  std::vector<reassembly_event> events;
  auto now = reassembler::clock::time_point{};
  std::size_t at = 0, k = 0;
  while (at < stream.size()) {
    auto n = std::min(pieces[k++ % pieces.size()], stream.size() - at);
    byte_view in{stream.data() + at, n};
    at += n;
    for (;;) {
      auto r = dec.next(in);
      if (r.status == decode_status::need_more) break;
      if (r.status == decode_status::frame)
        re.on_frame(r.frame, now);
      else if (r.error == errc::payload_corrupt)
        re.on_corrupt_frame(r.frame.header);
      while (auto ev = re.poll()) events.push_back(std::move(*ev));
    }
  }
  return events;
}

std::vector<outgoing> make_messages(const std::vector<std::size_t>& sizes,
                                    const std::vector<std::size_t>& chunks, std::uint64_t seed) {
  std::vector<outgoing> msgs;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    outgoing m;
    m.id = i + 1;
    m.meta.route = "r/" + std::to_string(i);
    m.meta.headers.push_back({"i", std::to_string(i)});
    m.body = random_bytes(sizes[i], seed + i);
    m.chunk = chunks[i % chunks.size()];
    msgs.push_back(std::move(m));
  }
  return msgs;
}

}  // namespace

RC_GTEST_PROP(stream, interleaved_messages_survive_any_split, ()) {
  auto sizes = *rc::gen::container<std::vector<std::size_t>>(
      *rc::gen::inRange<std::size_t>(1, 12), rc::gen::inRange<std::size_t>(0, 70000));
  auto chunks = *rc::gen::nonEmpty(
      rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(1, 20000)));
  auto pieces = *rc::gen::nonEmpty(
      rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(1, 9000)));
  auto single = *rc::gen::arbitrary<bool>();
  auto msgs = make_messages(sizes, chunks, *rc::gen::arbitrary<std::uint32_t>());
  auto events = receive(interleave(msgs, single), pieces);

  RC_ASSERT(events.size() == msgs.size());
  std::map<std::uint64_t, const outgoing*> by_id;
  for (const auto& m : msgs) by_id[m.id] = &m;
  for (auto& ev : events) {
    RC_ASSERT(ev.what == reassembly_event::kind::completed);
    const auto* m = by_id.at(ev.id);
    RC_ASSERT(ev.message.meta == m->meta);
    RC_ASSERT(ev.message.body.bytes() == m->body);
    by_id.erase(ev.id);
  }
}

RC_GTEST_PROP(stream, a_flipped_bit_costs_at_most_the_messages_it_touches, ()) {
  auto sizes = *rc::gen::container<std::vector<std::size_t>>(
      *rc::gen::inRange<std::size_t>(2, 8), rc::gen::inRange<std::size_t>(0, 20000));
  auto msgs = make_messages(sizes, {4096}, *rc::gen::arbitrary<std::uint32_t>());
  auto stream = interleave(msgs, false);
  auto bit = *rc::gen::inRange<std::size_t>(0, stream.size() * 8);
  stream[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  auto events = receive(stream, {*rc::gen::inRange<std::size_t>(1, 5000)});

  // Every completed message is exactly what was sent (never a silently damaged body), and
  // a single flipped bit fails or loses at most two messages (the frame's own, and one whose
  // header resynchronisation skipped).
  std::size_t completed = 0;
  for (auto& ev : events) {
    if (ev.what != reassembly_event::kind::completed) continue;
    ++completed;
    RC_ASSERT(ev.id >= 1 && ev.id <= msgs.size());
    RC_ASSERT(ev.message.body.bytes() == msgs[ev.id - 1].body);
  }
  RC_ASSERT(completed + 2 >= msgs.size());
}
