// libFuzzer target: the receive path of the wire protocol (decoder + reassembler) on arbitrary
// bytes, cut into arbitrary pieces.
//
// Input layout:
//   byte 0   configuration
//              bit 0     tight limits (small frames, messages, budgets, threshold)
//              bit 1     no spill directory (bodies stay in memory, bounded by the budget)
//              bits 2-3  fake time advanced per piece: 0, 1 ms, 250 ms, 1500 ms
//              bit 4     start the fake clock just below its maximum
//              bits 5-6  when events are polled: each frame, each piece, every 16 pieces, never
//              bit 7     fail_all() and drain events before destruction (otherwise the
//                        reassembler is destroyed with whatever is still open or unpolled)
//   byte 1   how the stream is cut into pieces (see splitter)
//   rest     the byte stream
//
// Invariants checked (abort on violation): the decoder consumes exactly the bytes fed and only
// returns need_more with its input used up; frames it returns are verified and within limits;
// the reassembler's buffered bytes and open messages stay within limits; every completed message
// is reported once, in completion order, with exactly the size and XXH3 digest its END (or SINGLE
// OPEN) carried, whether its body is in memory or in a file; in-memory bodies respect the storage
// policy; after destruction the spill directory is empty.

#include <netcore/protocol/decoder.hpp>
#include <netcore/protocol/digest.hpp>
#include <netcore/protocol/metadata.hpp>
#include <netcore/protocol/reassembler.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

namespace np = netcore::protocol;

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "fuzz_decoder: invariant violated: %s (%s:%d)\n", #cond, __FILE__,      \
                   __LINE__);                                                                      \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

namespace {

using clock_type = np::reassembler::clock;

// --- the spill directory: one per process, removed at exit -----------------------------------

std::string g_spill_dir;

void remove_spill_dir() {
  if (!g_spill_dir.empty()) ::rmdir(g_spill_dir.c_str());
}

const std::string& spill_dir() {
  if (g_spill_dir.empty()) {
    char templ[] = "/tmp/netcore-fuzz-XXXXXX";
    if (::mkdtemp(templ) == nullptr) {
      std::perror("fuzz_decoder: mkdtemp");
      std::abort();
    }
    g_spill_dir = templ;
    std::atexit(remove_spill_dir);
  }
  return g_spill_dir;
}

// Entries in `dir` other than "." and "..".
std::size_t count_files(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    std::perror("fuzz_decoder: opendir");
    std::abort();
  }
  std::size_t n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      std::fprintf(stderr, "fuzz_decoder: left in the spill directory: %s\n", e->d_name);
      ++n;
    }
  }
  ::closedir(d);
  return n;
}

// --- configuration -----------------------------------------------------------------------------

np::limits make_limits(bool tight) {
  np::limits lim;
  if (tight) {
    lim.max_frame_payload = 1024;
    lim.max_message_size = 4 << 10;
    lim.max_buffered_bytes = 2 << 10;
    lim.max_concurrent_messages = 4;
    lim.max_route_length = 32;
    lim.max_headers = 4;
    lim.max_metadata_bytes = 256;
    lim.idle_timeout = std::chrono::milliseconds(100);
  } else {
    lim.max_frame_payload = 64 << 10;
    lim.max_message_size = 1 << 20;
    lim.max_buffered_bytes = 4 << 20;
    lim.max_concurrent_messages = 16;
    lim.max_route_length = 256;
    lim.max_headers = 16;
    lim.max_metadata_bytes = 4 << 10;
    lim.idle_timeout = std::chrono::milliseconds(1000);
  }
  return lim;
}

constexpr std::chrono::milliseconds time_steps[4] = {
    std::chrono::milliseconds(0), std::chrono::milliseconds(1), std::chrono::milliseconds(250),
    std::chrono::milliseconds(1500)};

enum class poll_mode { each_frame, each_piece, every_16_pieces, never };

// Piece sizes chosen by one selector byte: the low 3 bits pick a scheme, the high 5 bits are its
// parameter.
class splitter {
 public:
  explicit splitter(std::uint8_t selector)
      : scheme_(selector & 7u), param_(selector >> 3),
        state_(0x9E3779B97F4A7C15ull ^ (std::uint64_t{selector} * 0xBF58476D1CE4E5B9ull)) {}

  std::size_t next(std::size_t left) {
    std::size_t n = 0;
    switch (scheme_) {
    case 0:  // everything at once
      n = left;
      break;
    case 1:  // byte by byte
      n = 1;
      break;
    case 2:  // fixed, 1 ... 32 (around the header size)
      n = param_ + 1;
      break;
    case 3:  // fixed, 31 ... 992
      n = (param_ + 1) * 31;
      break;
    default: {  // pseudo-random in [1, 2^bits]: 8, 64, 512, 4096
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      const unsigned bits = 3 * (scheme_ - 3);
      n = 1 + static_cast<std::size_t>(state_ & ((std::uint64_t{1} << bits) - 1));
      break;
    }
    }
    return std::min(n, left);
  }

 private:
  unsigned scheme_;
  unsigned param_;
  std::uint64_t state_;
};

// --- one run -------------------------------------------------------------------------------------

class harness {
 public:
  harness(std::uint8_t config, const np::limits& lim, const np::storage_policy& policy)
      : lim_(lim), policy_(policy), decoder_(lim),
        reassembler_(std::make_unique<np::reassembler>(lim, policy)),
        step_(time_steps[(config >> 2) & 3u]), poll_(static_cast<poll_mode>((config >> 5) & 3u)) {
    if ((config & 0x10u) != 0)
      now_ = clock_type::time_point::max() - std::chrono::seconds(5);
    else
      now_ = clock_type::time_point{} + std::chrono::hours(1);
  }

  void feed(const std::uint8_t* data, std::size_t n) {
    // An exact-size copy, freed right after: reads past the piece or through stale views into
    // it are caught by AddressSanitizer.
    std::unique_ptr<std::uint8_t[]> piece(new std::uint8_t[n]);
    std::memcpy(piece.get(), data, n);
    np::byte_view in{piece.get(), n};
    fed_ += n;

    for (;;) {
      const std::size_t before = in.size();
      np::decode_result r = decoder_.next(in);
      FUZZ_CHECK(in.size() <= before);
      if (r.status == np::decode_status::need_more) {
        FUZZ_CHECK(in.empty());
        break;
      }
      if (r.status == np::decode_status::frame)
        on_frame(r);
      else
        on_error(r);
      check_reassembler();
      if (poll_ == poll_mode::each_frame) drain();
    }
    FUZZ_CHECK(decoder_.stats().bytes == fed_);

    ++pieces_;
    if (poll_ == poll_mode::each_piece ||
        (poll_ == poll_mode::every_16_pieces && pieces_ % 16 == 0))
      drain();
    advance_time();
    if (pieces_ % 4 == 0) expire();
  }

  void finish(bool fail_all) {
    const np::decoder_stats& st = decoder_.stats();
    FUZZ_CHECK(st.bytes == fed_);
    FUZZ_CHECK(st.frames == frames_);
    FUZZ_CHECK(st.corrupt_payloads == corrupt_);
    FUZZ_CHECK(st.oversized == oversized_);
    FUZZ_CHECK(st.resyncs == resyncs_);
    FUZZ_CHECK(st.dropped_bytes <= fed_);

    expire();
    if (fail_all) {
      reassembler_->fail_all(np::errc::shutting_down);
      FUZZ_CHECK(reassembler_->open_count() == 0);
      FUZZ_CHECK(reassembler_->buffered_bytes() == 0);
      FUZZ_CHECK(!reassembler_->next_deadline().has_value());
      drain();
      FUZZ_CHECK(!reassembler_->poll().has_value());
      FUZZ_CHECK(expected_.empty());
    }
    const np::reassembler_stats rs = reassembler_->stats();
    FUZZ_CHECK(rs.completed == completions_);
    FUZZ_CHECK(completed_seen_ + expected_.size() == completions_);
    FUZZ_CHECK(rs.failed >= failed_seen_);
    reassembler_.reset();
    if (!policy_.spill_directory.empty()) FUZZ_CHECK(count_files(policy_.spill_directory) == 0);
  }

 private:
  bool about_incoming(const np::frame_header& h) const {
    return (h.flags & np::flags::peer_origin) == 0 && h.message_id != 0;
  }

  void on_frame(const np::decode_result& r) {
    const np::frame_header& h = r.frame.header;
    FUZZ_CHECK(np::is_known(h.type));
    FUZZ_CHECK(h.version == np::protocol_version);
    FUZZ_CHECK(h.payload_length <= lim_.max_frame_payload);
    FUZZ_CHECK(r.frame.payload.size() == h.payload_length);
    FUZZ_CHECK(r.error == np::errc::ok);
    ++frames_;

    if (h.type == np::frame_type::hello) {
      np::settings s;
      const np::errc e = np::decode_settings(r.frame.payload, s);
      FUZZ_CHECK(e == np::errc::ok || e == np::errc::malformed_frame);
      if (e == np::errc::ok) FUZZ_CHECK(s.max_frame_payload > 0);
    }

    const std::size_t open_before = reassembler_->open_count();
    const np::errc e = reassembler_->on_frame(r.frame, now_);
    FUZZ_CHECK(e != np::errc::internal_error);
    if (e == np::errc::unknown_message) FUZZ_CHECK(reassembler_->open_count() == open_before);

    // An accepted END, or an accepted SINGLE OPEN, completes a message with what the frame says.
    if ((h.flags & np::flags::peer_origin) != 0 || e != np::errc::ok) return;
    const np::byte_view payload = r.frame.payload;
    if (h.type == np::frame_type::end) {
      FUZZ_CHECK(payload.size() == np::digest_size);
      expected_.push_back({h.message_id, h.argument, np::load_le(payload.data(), np::digest_size)});
      ++completions_;
    } else if (h.type == np::frame_type::open && (h.flags & np::flags::single) != 0) {
      FUZZ_CHECK(payload.size() >= np::digest_size);
      expected_.push_back(
          {h.message_id, h.argument,
           np::load_le(payload.data() + payload.size() - np::digest_size, np::digest_size)});
      ++completions_;
    }
  }

  void on_error(const np::decode_result& r) {
    const np::frame_header& h = r.frame.header;
    switch (r.error) {
    case np::errc::header_corrupt:
    case np::errc::unsupported_version:
      ++resyncs_;
      break;
    case np::errc::payload_corrupt:
      ++corrupt_;
      FUZZ_CHECK(h.payload_length <= lim_.max_frame_payload);
      FUZZ_CHECK(r.frame.payload.empty());
      if (about_incoming(h)) reassembler_->on_corrupt_frame(h);
      break;
    case np::errc::frame_too_large:
      ++oversized_;
      FUZZ_CHECK(h.payload_length > lim_.max_frame_payload);
      FUZZ_CHECK(r.frame.payload.empty());
      if (about_incoming(h)) reassembler_->fail(h.message_id, np::errc::frame_too_large);
      break;
    default:
      std::fprintf(stderr, "fuzz_decoder: unexpected decoder error %d\n",
                   static_cast<int>(r.error));
      std::abort();
    }
  }

  void check_reassembler() {
    const std::uint64_t buffered = reassembler_->buffered_bytes();
    const std::size_t open = reassembler_->open_count();
    FUZZ_CHECK(buffered <= lim_.max_buffered_bytes);
    FUZZ_CHECK(open <= lim_.max_concurrent_messages);
    if (open == 0) FUZZ_CHECK(buffered == 0);
    if (!policy_.spill_directory.empty()) FUZZ_CHECK(buffered <= open * policy_.memory_threshold);
  }

  void drain() {
    while (std::optional<np::reassembly_event> ev = reassembler_->poll()) {
      if (ev->what == np::reassembly_event::kind::failed) {
        FUZZ_CHECK(ev->error != np::errc::ok);
        ++failed_seen_;
        continue;
      }
      FUZZ_CHECK(ev->what == np::reassembly_event::kind::completed);
      FUZZ_CHECK(ev->error == np::errc::ok);
      FUZZ_CHECK(ev->id != 0);
      FUZZ_CHECK(ev->id == ev->message.id);
      FUZZ_CHECK(!expected_.empty());
      const completion want = expected_.front();
      expected_.pop_front();
      FUZZ_CHECK(ev->id == want.id);
      np::message_body& body = ev->message.body;
      FUZZ_CHECK(body.size() == want.size);
      FUZZ_CHECK(body.size() <= lim_.max_message_size);
      {
        np::result<np::byte_buffer> bytes = body.read_all();
        FUZZ_CHECK(bytes.ok());
        FUZZ_CHECK(bytes->size() == body.size());
        FUZZ_CHECK(np::xxh3_64(*bytes) == want.digest);
      }
      if (body.is_file()) {
        FUZZ_CHECK(!policy_.spill_directory.empty());
        FUZZ_CHECK(
            body.path().compare(0, policy_.spill_directory.size(), policy_.spill_directory) == 0);
        struct stat st {};
        FUZZ_CHECK(::stat(body.path().c_str(), &st) == 0);
        FUZZ_CHECK(static_cast<std::uint64_t>(st.st_size) == body.size());
        const std::string path = body.path();
        body.remove_file();
        FUZZ_CHECK(!body.is_file());
        FUZZ_CHECK(::access(path.c_str(), F_OK) != 0);
      } else {
        FUZZ_CHECK(body.bytes().size() == body.size());
        if (!policy_.spill_directory.empty()) FUZZ_CHECK(body.size() <= policy_.memory_threshold);
      }
      ++completed_seen_;
    }
  }

  void advance_time() {
    if (clock_type::time_point::max() - now_ < step_)
      now_ = clock_type::time_point::max();
    else
      now_ += step_;
  }

  void expire() {
    const std::size_t before = reassembler_->open_count();
    const std::size_t n = reassembler_->expire(now_);
    FUZZ_CHECK(n <= before);
    FUZZ_CHECK(reassembler_->open_count() == before - n);
    if (const auto deadline = reassembler_->next_deadline()) {
      FUZZ_CHECK(reassembler_->open_count() > 0);
      FUZZ_CHECK(*deadline > now_);
    }
    check_reassembler();
  }

  // A message completion announced by an accepted frame, not yet seen as an event.
  struct completion {
    std::uint64_t id;
    std::uint64_t size;
    np::digest64 digest;
  };

  np::limits lim_;
  np::storage_policy policy_;
  np::decoder decoder_;
  std::unique_ptr<np::reassembler> reassembler_;
  clock_type::duration step_;
  poll_mode poll_;
  clock_type::time_point now_;

  std::uint64_t fed_ = 0;
  std::uint64_t pieces_ = 0;
  std::uint64_t frames_ = 0;
  std::uint64_t corrupt_ = 0;
  std::uint64_t oversized_ = 0;
  std::uint64_t resyncs_ = 0;
  std::uint64_t completed_seen_ = 0;
  std::uint64_t completions_ = 0;
  std::deque<completion> expected_;
  std::uint64_t failed_seen_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::uint8_t config = size > 0 ? data[0] : 0;
  const std::uint8_t selector = size > 1 ? data[1] : 0;
  const std::size_t prefix = std::min<std::size_t>(size, 2);
  data += prefix;
  size -= prefix;

  const bool tight = (config & 0x01u) != 0;
  const bool spill = (config & 0x02u) == 0;
  const np::limits lim = make_limits(tight);
  np::storage_policy policy;
  policy.memory_threshold = tight ? 256 : 4 << 10;
  if (spill) policy.spill_directory = spill_dir();

  harness h(config, lim, policy);
  splitter split(selector);
  std::size_t at = 0;
  while (at < size) {
    const std::size_t n = split.next(size - at);
    h.feed(data + at, n);
    at += n;
  }
  h.finish((config & 0x80u) != 0);
  return 0;
}
