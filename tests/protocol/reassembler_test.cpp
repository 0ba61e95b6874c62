#include <netcore/protocol/reassembler.hpp>

#include <netcore/protocol/decoder.hpp>
#include <netcore/protocol/digest.hpp>
#include <netcore/protocol/encoder.hpp>

#include <gtest/gtest.h>

#include "reassembly_support.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NETCORE_TEST_TMP
#error "NETCORE_TEST_TMP must name a scratch directory for spill files"
#endif

namespace {

namespace fs = std::filesystem;
using namespace netcore::protocol;
using namespace netcore::protocol::test;

// ---------------------------------------------------------------------------------------------
// Spill directory

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec))
    out.push_back(it->path().string());
  std::sort(out.begin(), out.end());
  return out;
}

/// Every test gets its own spill directory below NETCORE_TEST_TMP (tests may run in parallel
/// processes) and must leave it empty: files of delivered messages are removed by the test.
class ReassemblerTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = fresh_test_dir(NETCORE_TEST_TMP); }

  void TearDown() override {
    std::error_code ec;
    if (fs::is_directory(dir_, ec)) {
      EXPECT_EQ(files_in(dir_), std::vector<std::string>{}) << "spill files left behind";
    }
    EXPECT_EQ(quota_->files(), 0u) << "spill file slots not given back";
    EXPECT_EQ(quota_->bytes(), 0u) << "spill bytes not given back";
    fs::remove_all(dir_, ec);
  }

  storage_policy spill(std::uint64_t threshold) const {
    storage_policy p;
    p.memory_threshold = threshold;
    p.spill_directory = dir_;
    p.quota = quota_;
    return p;
  }

  /// Spill files in existence: named ones (handed over) in the directory plus unnamed ones
  /// still receiving (they hold a slot of the quota).
  std::size_t spill_files() const { return files_in(dir_).size() + quota_->files(); }

  std::string dir_;
  std::shared_ptr<spill_quota> quota_ = std::make_shared<spill_quota>(1000, std::uint64_t{1} << 40);
};

/// Restores a resource limit and a signal disposition when a test ends.
class file_size_limit {
 public:
  explicit file_size_limit(rlim_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit lim = old_;
    lim.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &lim);
  }
  ~file_size_limit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  file_size_limit(const file_size_limit&) = delete;
  file_size_limit& operator=(const file_size_limit&) = delete;

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Reassembly and ordering

TEST_F(ReassemblerTest, InterleavedMessagesCompleteInCompletionOrder) {
  reassembler r;
  const byte_buffer a = pattern(3000, 1), b = pattern(10, 2), c = pattern(1, 3);
  const message_meta ma = sample_meta("a"), mb = sample_meta("b"), mc = sample_meta("c");

  ASSERT_EQ(r.on_frame(open_frame(1, a.size(), ma).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(open_frame(2, unknown_size, mb).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(open_frame(3, c.size(), mc).view(), t0), errc::ok);
  EXPECT_EQ(r.open_count(), 3u);

  ASSERT_EQ(r.on_frame(data_frame(1, 0, byte_view{a}.sub(0, 1000)).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(2, 0, byte_view{b}.sub(0, 4)).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 1000, byte_view{a}.sub(1000, 1000)).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(3, 0, c).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(2, 4, byte_view{b}.sub(4)).view(), t0), errc::ok);
  EXPECT_EQ(r.received(1), 2000u);
  EXPECT_EQ(r.received(2), 10u);
  EXPECT_EQ(r.received(3), 1u);
  EXPECT_EQ(r.buffered_bytes(), 2011u);
  EXPECT_FALSE(r.poll());

  ASSERT_EQ(r.on_frame(end_frame(2, b.size(), xxh3_64(b)).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 2000, byte_view{a}.sub(2000)).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(end_frame(3, c.size(), xxh3_64(c)).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(end_frame(1, a.size(), xxh3_64(a)).view(), t0), errc::ok);

  auto events = drain(r);
  ASSERT_EQ(events.size(), 3u);
  const std::uint64_t order[] = {2, 3, 1};
  const byte_buffer* bodies[] = {&b, &c, &a};
  const message_meta* metas[] = {&mb, &mc, &ma};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(events[i].what, kind::completed);
    EXPECT_EQ(events[i].id, order[i]);
    EXPECT_EQ(events[i].error, errc::ok);
    EXPECT_EQ(events[i].message.id, order[i]);
    EXPECT_EQ(events[i].message.meta, *metas[i]);
    EXPECT_FALSE(events[i].message.body.is_file());
    EXPECT_EQ(events[i].message.body.bytes(), *bodies[i]);
  }
  EXPECT_EQ(r.open_count(), 0u);
  EXPECT_EQ(r.buffered_bytes(), 0u);
  EXPECT_EQ(r.stats().completed, 3u);
  EXPECT_EQ(r.stats().failed, 0u);
  EXPECT_EQ(r.stats().body_bytes, a.size() + b.size() + c.size());
}

TEST_F(ReassemblerTest, SingleFrameMessageIsDeliveredAtOnce) {
  reassembler r;
  const byte_buffer body = pattern(500);
  const message_meta meta = sample_meta();
  ASSERT_EQ(r.on_frame(single_frame(9, body, meta).view(), t0), errc::ok);
  EXPECT_EQ(r.open_count(), 0u);
  EXPECT_EQ(r.buffered_bytes(), 0u);
  auto ev = r.poll();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->what, kind::completed);
  EXPECT_EQ(ev->id, 9u);
  EXPECT_EQ(ev->message.meta, meta);
  EXPECT_EQ(ev->message.body.bytes(), body);
  EXPECT_EQ(r.stats().completed, 1u);
  EXPECT_EQ(r.stats().body_bytes, 500u);
}

TEST_F(ReassemblerTest, EmptyMessagesAreDelivered) {
  reassembler r{limits{}, spill(0)};
  const byte_buffer empty;
  // Declared size 0, unknown size, and a single frame with an empty body.
  ASSERT_EQ(send_message(r, 1, empty, 16, true), errc::ok);
  ASSERT_EQ(send_message(r, 2, empty, 16, false), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(3, 0, {}).view(), t0), errc::unknown_message);
  ASSERT_EQ(r.on_frame(single_frame(3, empty).view(), t0), errc::ok);
  auto events = drain(r);
  ASSERT_EQ(events.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(events[i].what, kind::completed);
    EXPECT_EQ(events[i].id, i + 1);
    EXPECT_EQ(events[i].message.body.size(), 0u);
    EXPECT_FALSE(events[i].message.body.is_file());
  }
  EXPECT_TRUE(spill_files() == 0);
}

TEST_F(ReassemblerTest, ZeroLengthDataFramesCarryNothing) {
  reassembler r;
  const byte_buffer body = pattern(20);
  ASSERT_EQ(r.on_frame(open_frame(1, body.size()).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, {}).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, body).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 20, {}).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(end_frame(1, 20, xxh3_64(body)).view(), t0), errc::ok);
  auto ev = r.poll();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->message.body.bytes(), body);
}

TEST_F(ReassemblerTest, OtherFrameTypesAndPeerOriginFramesAreIgnored) {
  reassembler r;
  encoder enc;
  enc.ping(5);
  enc.credit(1, 100);
  enc.goaway(errc::ok);
  enc.error(1, origin::local, errc::internal_error);
  for (const owned_frame& f : decode_batch(enc)) EXPECT_EQ(r.on_frame(f.view(), t0), errc::ok);

  // An OPEN and a CANCEL about one of *our* messages (flag set) do not touch the peer's.
  owned_frame open = open_frame(1, 10);
  open.header.flags |= flags::peer_origin;
  EXPECT_EQ(r.on_frame(open.view(), t0), errc::ok);
  EXPECT_EQ(r.open_count(), 0u);

  ASSERT_EQ(r.on_frame(open_frame(1, 10).view(), t0), errc::ok);
  EXPECT_EQ(r.on_frame(cancel_frame(1, errc::cancelled, origin::remote).view(), t0), errc::ok);
  EXPECT_EQ(r.open_count(), 1u);
  EXPECT_FALSE(r.poll());
  ASSERT_TRUE(r.fail(1, errc::shutting_down));
}

// ---------------------------------------------------------------------------------------------
// Storage: memory or file

TEST_F(ReassemblerTest, DeclaredSizeAtThresholdStaysInMemory) {
  reassembler r{limits{}, spill(1000)};
  const byte_buffer body = pattern(1000);
  ASSERT_EQ(r.on_frame(open_frame(1, body.size()).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, body).view(), t0), errc::ok);
  EXPECT_TRUE(spill_files() == 0);
  EXPECT_EQ(r.buffered_bytes(), 1000u);
  ASSERT_EQ(r.on_frame(end_frame(1, body.size(), xxh3_64(body)).view(), t0), errc::ok);
  auto ev = r.poll();
  ASSERT_TRUE(ev);
  EXPECT_FALSE(ev->message.body.is_file());
  EXPECT_EQ(ev->message.body.bytes(), body);
  EXPECT_EQ(r.stats().spilled, 0u);
}

TEST_F(ReassemblerTest, DeclaredSizeAboveThresholdGoesToFileFromTheStart) {
  reassembler r{limits{}, spill(1000)};
  const byte_buffer body = pattern(1001);
  ASSERT_EQ(r.on_frame(open_frame(1, body.size()).view(), t0), errc::ok);
  ASSERT_EQ(spill_files(), 1u);  // created at OPEN, before any byte arrived
  ASSERT_EQ(r.on_frame(data_frame(1, 0, byte_view{body}.sub(0, 600)).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 600, byte_view{body}.sub(600)).view(), t0), errc::ok);
  EXPECT_EQ(r.buffered_bytes(), 0u);
  ASSERT_EQ(r.on_frame(end_frame(1, body.size(), xxh3_64(body)).view(), t0), errc::ok);

  auto ev = r.poll();
  ASSERT_TRUE(ev);
  ASSERT_EQ(ev->what, kind::completed);
  message_body& got = ev->message.body;
  ASSERT_TRUE(got.is_file());
  EXPECT_EQ(got.size(), body.size());
  EXPECT_TRUE(got.bytes().empty());
  EXPECT_EQ(files_in(dir_), std::vector<std::string>{got.path()});
  auto read = got.read_all();
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, body);
  EXPECT_EQ(r.stats().spilled, 1u);

  got.remove_file();
  EXPECT_TRUE(spill_files() == 0);
}

TEST_F(ReassemblerTest, UnknownSizeMovesToFileWhenItGrowsPastThreshold) {
  reassembler r{limits{}, spill(1000)};
  const byte_buffer body = pattern(2500);
  ASSERT_EQ(r.on_frame(open_frame(1, unknown_size).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, byte_view{body}.sub(0, 600)).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 600, byte_view{body}.sub(600, 400)).view(), t0), errc::ok);
  // Exactly at the threshold: still memory.
  EXPECT_TRUE(spill_files() == 0);
  EXPECT_EQ(r.buffered_bytes(), 1000u);
  // One more byte: what was buffered moves into a file, and the memory is released.
  ASSERT_EQ(r.on_frame(data_frame(1, 1000, byte_view{body}.sub(1000, 1)).view(), t0), errc::ok);
  EXPECT_EQ(spill_files(), 1u);
  EXPECT_EQ(r.buffered_bytes(), 0u);
  ASSERT_EQ(r.on_frame(data_frame(1, 1001, byte_view{body}.sub(1001)).view(), t0), errc::ok);
  EXPECT_EQ(r.buffered_bytes(), 0u);
  ASSERT_EQ(r.on_frame(end_frame(1, body.size(), xxh3_64(body)).view(), t0), errc::ok);

  auto ev = r.poll();
  ASSERT_TRUE(ev);
  ASSERT_TRUE(ev->message.body.is_file());
  EXPECT_EQ(ev->message.body.size(), body.size());
  auto read = ev->message.body.read_all();
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, body);
  EXPECT_EQ(r.stats().spilled, 1u);
  ev->message.body.remove_file();
}

TEST_F(ReassemblerTest, LargeSingleFrameBodyGoesToFile) {
  reassembler r{limits{}, spill(100)};
  const byte_buffer small = pattern(100, 1), large = pattern(101, 2);
  ASSERT_EQ(r.on_frame(single_frame(1, small).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(single_frame(2, large).view(), t0), errc::ok);
  auto events = drain(r);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_FALSE(events[0].message.body.is_file());
  EXPECT_EQ(events[0].message.body.bytes(), small);
  ASSERT_TRUE(events[1].message.body.is_file());
  auto read = events[1].message.body.read_all();
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, large);
  events[1].message.body.remove_file();
}

TEST_F(ReassemblerTest, SpillFileIsPrivateAndNamedLocally) {
  const mode_t old_mask = ::umask(0);  // the file must be 0600 whatever the umask allows
  reassembler r{limits{}, spill(0)};
  message_meta meta;
  meta.route = "../../escape/route-name";
  meta.headers = {{"filename", "peer-chosen.txt"}};
  const byte_buffer body = pattern(64);
  const errc e = send_message(r, 77, body, 16, true, meta);
  ::umask(old_mask);
  ASSERT_EQ(e, errc::ok);

  auto ev = r.poll();
  ASSERT_TRUE(ev);
  ASSERT_TRUE(ev->message.body.is_file());
  const fs::path path = ev->message.body.path();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), body.size());
  EXPECT_TRUE(fs::equivalent(path.parent_path(), dir_));
  const std::string name = path.filename().string();
  EXPECT_EQ(name.rfind("netcore-", 0), 0u) << name;
  for (const char* peer_data : {"escape", "route", "peer-chosen", ".."})
    EXPECT_EQ(name.find(peer_data), std::string::npos) << name << " contains " << peer_data;
  ev->message.body.remove_file();
}

TEST_F(ReassemblerTest, SpillFileNamesAreDistinctAcrossInstances) {
  // Two reassemblers receive a message with the same id and the same counter: their files
  // still get names of their own when handed over.
  reassembler r1{limits{}, spill(0)}, r2{limits{}, spill(0)};
  const byte_buffer body = pattern(10);
  std::vector<std::string> paths;
  for (auto* r : {&r1, &r2}) {
    ASSERT_EQ(r->on_frame(open_frame(1, body.size()).view(), t0), errc::ok);
    ASSERT_EQ(r->on_frame(data_frame(1, 0, body).view(), t0), errc::ok);
  }
  EXPECT_EQ(spill_files(), 2u);
  EXPECT_TRUE(files_in(dir_).empty()) << "no names while the bodies arrive";
  for (auto* r : {&r1, &r2}) {
    ASSERT_EQ(r->on_frame(end_frame(1, body.size(), xxh3_64(body)).view(), t0), errc::ok);
    auto ev = r->poll();
    ASSERT_TRUE(ev && ev->what == kind::completed);
    ASSERT_TRUE(ev->message.body.is_file());
    paths.push_back(ev->message.body.path());
  }
  EXPECT_NE(paths[0], paths[1]);
  EXPECT_EQ(files_in(dir_).size(), 2u);
  for (auto& p : paths) fs::remove(p);
}

// ---------------------------------------------------------------------------------------------
// Failures of one message

TEST_F(ReassemblerTest, DigestMismatchFailsAndRemovesFile) {
  reassembler r{limits{}, spill(10)};
  const byte_buffer body = pattern(100);
  ASSERT_EQ(r.on_frame(open_frame(1, body.size()).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, body).view(), t0), errc::ok);
  ASSERT_EQ(spill_files(), 1u);
  EXPECT_EQ(r.on_frame(end_frame(1, body.size(), xxh3_64(body) ^ 1).view(), t0),
            errc::digest_mismatch);
  auto ev = r.poll();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->what, kind::failed);
  EXPECT_EQ(ev->id, 1u);
  EXPECT_EQ(ev->error, errc::digest_mismatch);
  EXPECT_TRUE(spill_files() == 0);
  EXPECT_EQ(r.open_count(), 0u);
  EXPECT_EQ(r.stats().failed, 1u);
}

TEST_F(ReassemblerTest, SingleFrameDigestMismatchIsRejected) {
  reassembler r{limits{}, spill(0)};
  owned_frame f = single_frame(4, pattern(50));
  f.payload.back() ^= 0xFF;  // the digest is the last 8 bytes
  EXPECT_EQ(r.on_frame(f.view(), t0), errc::digest_mismatch);
  auto ev = r.poll();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->what, kind::failed);
  EXPECT_EQ(ev->id, 4u);
  EXPECT_EQ(ev->error, errc::digest_mismatch);
  EXPECT_EQ(r.open_count(), 0u);
}

TEST_F(ReassemblerTest, SingleFrameSizeMustMatchArgument) {
  reassembler r;
  owned_frame f = single_frame(4, pattern(50));
  f.header.argument = 49;
  EXPECT_EQ(r.on_frame(f.view(), t0), errc::size_mismatch);
  f.header.argument = unknown_size;
  EXPECT_EQ(r.on_frame(f.view(), t0), errc::size_mismatch);
  // Too short to hold a digest.
  owned_frame g = single_frame(5, {});
  g.payload.resize(g.payload.size() - 1);
  EXPECT_EQ(r.on_frame(g.view(), t0), errc::malformed_frame);
  EXPECT_EQ(drain(r).size(), 3u);
  EXPECT_EQ(r.stats().completed, 0u);
}

TEST_F(ReassemblerTest, CancelFailsMessageAndRemovesFile) {
  reassembler r{limits{}, spill(10)};
  const byte_buffer body = pattern(100);
  ASSERT_EQ(r.on_frame(open_frame(1, body.size()).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, byte_view{body}.sub(0, 50)).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(open_frame(2, 5).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(open_frame(3, 5).view(), t0), errc::ok);
  ASSERT_EQ(spill_files(), 1u);

  EXPECT_EQ(r.on_frame(cancel_frame(1, errc::cancelled).view(), t0), errc::cancelled);
  EXPECT_TRUE(spill_files() == 0);
  // A known failure code is kept; an unknown one (e.g. from a newer peer) becomes cancelled.
  EXPECT_EQ(r.on_frame(cancel_frame(2, errc::idle_timeout).view(), t0), errc::cancelled);
  owned_frame odd = cancel_frame(3, errc::cancelled);
  odd.header.argument = 12345;
  EXPECT_EQ(r.on_frame(odd.view(), t0), errc::cancelled);
  // A CANCEL for a message that is not open is ignored.
  EXPECT_EQ(r.on_frame(cancel_frame(1, errc::cancelled).view(), t0), errc::ok);
  EXPECT_EQ(r.on_frame(cancel_frame(42, errc::cancelled).view(), t0), errc::ok);

  auto events = drain(r);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].id, 1u);
  EXPECT_EQ(events[0].error, errc::cancelled);
  EXPECT_EQ(events[1].id, 2u);
  EXPECT_EQ(events[1].error, errc::idle_timeout);
  EXPECT_EQ(events[2].id, 3u);
  EXPECT_EQ(events[2].error, errc::cancelled);
  for (const auto& ev : events) EXPECT_EQ(ev.what, kind::failed);
  EXPECT_EQ(r.open_count(), 0u);
  EXPECT_EQ(r.buffered_bytes(), 0u);
}

TEST_F(ReassemblerTest, OffsetMismatchFailsMessage) {
  reassembler r;
  const byte_buffer body = pattern(100);
  ASSERT_EQ(r.on_frame(open_frame(1, body.size()).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, byte_view{body}.sub(0, 40)).view(), t0), errc::ok);
  // A gap, then (for another message) a repeat.
  EXPECT_EQ(r.on_frame(data_frame(1, 41, byte_view{body}.sub(41, 10)).view(), t0),
            errc::offset_mismatch);
  ASSERT_EQ(r.on_frame(open_frame(2, body.size()).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(2, 0, byte_view{body}.sub(0, 40)).view(), t0), errc::ok);
  EXPECT_EQ(r.on_frame(data_frame(2, 0, byte_view{body}.sub(0, 40)).view(), t0),
            errc::offset_mismatch);
  // The failed message is gone: its further frames concern an unknown id.
  EXPECT_EQ(r.on_frame(data_frame(1, 40, byte_view{body}.sub(40)).view(), t0),
            errc::unknown_message);
  auto events = drain(r);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].error, errc::offset_mismatch);
  EXPECT_EQ(events[1].error, errc::offset_mismatch);
  EXPECT_EQ(r.buffered_bytes(), 0u);
}

TEST_F(ReassemblerTest, SizeMismatches) {
  reassembler r;
  const byte_buffer body = pattern(100);
  // END names fewer bytes than received.
  ASSERT_EQ(r.on_frame(open_frame(1, unknown_size).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, body).view(), t0), errc::ok);
  EXPECT_EQ(r.on_frame(end_frame(1, 99, xxh3_64(body)).view(), t0), errc::size_mismatch);
  // END matches what was received, but OPEN declared more.
  ASSERT_EQ(r.on_frame(open_frame(2, 101).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(2, 0, body).view(), t0), errc::ok);
  EXPECT_EQ(r.on_frame(end_frame(2, 100, xxh3_64(body)).view(), t0), errc::size_mismatch);
  // DATA beyond the declared size.
  ASSERT_EQ(r.on_frame(open_frame(3, 99).view(), t0), errc::ok);
  EXPECT_EQ(r.on_frame(data_frame(3, 0, body).view(), t0), errc::size_mismatch);
  // END whose payload is not an 8-byte digest.
  ASSERT_EQ(r.on_frame(open_frame(4, 0).view(), t0), errc::ok);
  owned_frame end = end_frame(4, 0, xxh3_64(byte_view{}));
  end.payload.pop_back();
  EXPECT_EQ(r.on_frame(end.view(), t0), errc::malformed_frame);

  auto events = drain(r);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].error, errc::size_mismatch);
  EXPECT_EQ(events[1].error, errc::size_mismatch);
  EXPECT_EQ(events[2].error, errc::size_mismatch);
  EXPECT_EQ(events[3].error, errc::malformed_frame);
  EXPECT_EQ(r.open_count(), 0u);
  EXPECT_EQ(r.buffered_bytes(), 0u);
}

TEST_F(ReassemblerTest, DuplicateOpenFailsTheOpenMessage) {
  reassembler r{limits{}, spill(10)};
  ASSERT_EQ(r.on_frame(open_frame(1, 100).view(), t0), errc::ok);
  ASSERT_EQ(spill_files(), 1u);
  EXPECT_EQ(r.on_frame(open_frame(1, 5).view(), t0), errc::duplicate_message);
  EXPECT_EQ(r.open_count(), 0u);
  EXPECT_TRUE(spill_files() == 0);
  auto events = drain(r);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, kind::failed);
  EXPECT_EQ(events[0].id, 1u);
  EXPECT_EQ(events[0].error, errc::duplicate_message);
}

TEST_F(ReassemblerTest, FramesForUnknownIdsAreReturnedOnly) {
  reassembler r;
  const byte_buffer body = pattern(8);
  EXPECT_EQ(r.on_frame(data_frame(5, 0, body).view(), t0), errc::unknown_message);
  EXPECT_EQ(r.on_frame(end_frame(5, 8, xxh3_64(body)).view(), t0), errc::unknown_message);
  EXPECT_EQ(r.on_frame(open_frame(0, 8).view(), t0), errc::malformed_frame);  // id 0 = connection
  EXPECT_FALSE(r.poll());
  EXPECT_EQ(r.stats().failed, 0u);
  EXPECT_FALSE(r.fail(5, errc::cancelled));
  EXPECT_EQ(r.received(5), 0u);
}

TEST_F(ReassemblerTest, MalformedOpenIsRejected) {
  reassembler r;
  owned_frame trailing = open_frame(1, 10);
  trailing.payload.push_back(0);  // without SINGLE the payload is only the metadata block
  EXPECT_EQ(r.on_frame(trailing.view(), t0), errc::malformed_frame);
  owned_frame truncated = open_frame(2, 10, sample_meta());
  truncated.payload.resize(3);
  EXPECT_EQ(r.on_frame(truncated.view(), t0), errc::malformed_frame);
  EXPECT_EQ(r.open_count(), 0u);
  auto events = drain(r);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].error, errc::malformed_frame);
  EXPECT_EQ(events[1].error, errc::malformed_frame);
}

TEST_F(ReassemblerTest, CorruptFrameFailsOnlyItsMessage) {
  reassembler r{limits{}, spill(50)};
  const byte_buffer a = pattern(100, 1), b = pattern(30, 2);
  ASSERT_EQ(r.on_frame(open_frame(1, a.size()).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(open_frame(2, b.size()).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, byte_view{a}.sub(0, 50)).view(), t0), errc::ok);

  // Headers of frames whose payload failed its CRC (as the decoder reports them).
  frame_header bad = data_frame(1, 50, byte_view{a}.sub(50)).header;
  frame_header ours = bad;
  ours.flags |= flags::peer_origin;
  r.on_corrupt_frame(ours);  // about one of our own messages: not this reassembler's business
  frame_header stray = bad;
  stray.message_id = 99;
  r.on_corrupt_frame(stray);  // unknown id: nothing to fail
  EXPECT_EQ(r.open_count(), 2u);
  EXPECT_FALSE(r.poll());

  r.on_corrupt_frame(bad);
  EXPECT_EQ(r.open_count(), 1u);
  EXPECT_EQ(r.on_frame(data_frame(1, 50, byte_view{a}.sub(50)).view(), t0), errc::unknown_message);

  ASSERT_EQ(send_message(r, 3, a, 33), errc::ok);  // file-backed
  ASSERT_EQ(r.on_frame(data_frame(2, 0, b).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(end_frame(2, b.size(), xxh3_64(b)).view(), t0), errc::ok);

  auto events = drain(r);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].what, kind::failed);
  EXPECT_EQ(events[0].id, 1u);
  EXPECT_EQ(events[0].error, errc::payload_corrupt);
  EXPECT_EQ(events[1].id, 3u);
  EXPECT_EQ(events[1].what, kind::completed);
  EXPECT_EQ(events[2].id, 2u);
  EXPECT_EQ(events[2].what, kind::completed);
  EXPECT_EQ(events[2].message.body.bytes(), b);
  ASSERT_TRUE(events[1].message.body.is_file());
  events[1].message.body.remove_file();
}

// ---------------------------------------------------------------------------------------------
// Limits

TEST_F(ReassemblerTest, TooManyConcurrentMessages) {
  limits lim;
  lim.max_concurrent_messages = 2;
  reassembler r{lim};
  ASSERT_EQ(r.on_frame(open_frame(1, 1).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(open_frame(2, 1).view(), t0), errc::ok);
  EXPECT_EQ(r.on_frame(open_frame(3, 1).view(), t0), errc::too_many_messages);
  EXPECT_EQ(r.open_count(), 2u);
  // A single-frame message never stays open, so it is not refused.
  EXPECT_EQ(r.on_frame(single_frame(4, pattern(3)).view(), t0), errc::ok);
  // Once one completes there is room again.
  const byte_buffer one = {0x2A};
  ASSERT_EQ(r.on_frame(data_frame(1, 0, one).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(end_frame(1, 1, xxh3_64(one)).view(), t0), errc::ok);
  EXPECT_EQ(r.on_frame(open_frame(5, 1).view(), t0), errc::ok);

  auto events = drain(r);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].id, 3u);
  EXPECT_EQ(events[0].error, errc::too_many_messages);
  EXPECT_EQ(events[1].id, 4u);
  EXPECT_EQ(events[2].id, 1u);
}

TEST_F(ReassemblerTest, MaxMessageSizeIsInclusive) {
  limits lim;
  lim.max_message_size = 100;
  reassembler r{lim, spill(50)};
  const byte_buffer at_limit = pattern(100), over = pattern(101);

  // Declared sizes.
  EXPECT_EQ(send_message(r, 1, at_limit, 30, true), errc::ok);
  EXPECT_EQ(r.on_frame(open_frame(2, 101).view(), t0), errc::message_too_large);
  // Unknown size, growing: the byte past the limit fails the message.
  EXPECT_EQ(send_message(r, 3, at_limit, 30, false), errc::ok);
  EXPECT_EQ(send_message(r, 4, over, 30, false), errc::message_too_large);
  // Single frames.
  EXPECT_EQ(r.on_frame(single_frame(5, at_limit).view(), t0), errc::ok);
  EXPECT_EQ(r.on_frame(single_frame(6, over).view(), t0), errc::message_too_large);

  auto events = drain(r);
  ASSERT_EQ(events.size(), 6u);
  const std::pair<std::uint64_t, errc> expected[] = {{1, errc::ok}, {2, errc::message_too_large},
                                                     {3, errc::ok}, {4, errc::message_too_large},
                                                     {5, errc::ok}, {6, errc::message_too_large}};
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(events[i].id, expected[i].first);
    EXPECT_EQ(events[i].error, expected[i].second);
    if (events[i].what == kind::completed) {
      auto read = events[i].message.body.read_all();
      ASSERT_TRUE(read);
      EXPECT_EQ(*read, at_limit);
      events[i].message.body.remove_file();
    }
  }
  EXPECT_EQ(r.stats().completed, 3u);
  EXPECT_EQ(r.stats().failed, 3u);
}

TEST_F(ReassemblerTest, MetadataLimits) {
  limits lim;
  lim.max_route_length = 8;
  lim.max_headers = 2;
  lim.max_metadata_bytes = 200;
  reassembler r{lim};

  message_meta ok_meta;
  ok_meta.route = "12345678";
  ok_meta.headers = {{"a", "1"}, {"b", "2"}};
  EXPECT_EQ(r.on_frame(open_frame(1, 0, ok_meta).view(), t0), errc::ok);

  message_meta long_route = ok_meta;
  long_route.route = "123456789";
  EXPECT_EQ(r.on_frame(open_frame(2, 0, long_route).view(), t0), errc::metadata_too_large);

  message_meta many_headers = ok_meta;
  many_headers.headers.push_back({"c", "3"});
  EXPECT_EQ(r.on_frame(open_frame(3, 0, many_headers).view(), t0), errc::metadata_too_large);

  message_meta big_value = ok_meta;
  big_value.headers[0].value.assign(500, 'v');
  EXPECT_EQ(r.on_frame(open_frame(4, 0, big_value).view(), t0), errc::metadata_too_large);
  EXPECT_EQ(r.on_frame(single_frame(5, pattern(4), big_value).view(), t0),
            errc::metadata_too_large);

  EXPECT_EQ(r.open_count(), 1u);
  auto events = drain(r);
  ASSERT_EQ(events.size(), 4u);
  for (const auto& ev : events) EXPECT_EQ(ev.error, errc::metadata_too_large);
}

TEST_F(ReassemblerTest, MemoryLimitWithoutSpillDirectoryFailsTheMessage) {
  limits lim;
  lim.max_buffered_bytes = 100;
  reassembler r{lim};  // no spill directory
  const byte_buffer a = pattern(60, 1), b = pattern(60, 2);
  ASSERT_EQ(r.on_frame(open_frame(1, a.size()).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(open_frame(2, unknown_size).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, a).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(2, 0, byte_view{b}.sub(0, 40)).view(), t0), errc::ok);
  EXPECT_EQ(r.buffered_bytes(), 100u);  // exactly at the limit is fine
  EXPECT_EQ(r.on_frame(data_frame(2, 40, byte_view{b}.sub(40)).view(), t0), errc::memory_limit);
  EXPECT_EQ(r.buffered_bytes(), 60u);  // message 2's bytes were released
  ASSERT_EQ(r.on_frame(end_frame(1, a.size(), xxh3_64(a)).view(), t0), errc::ok);
  EXPECT_EQ(r.buffered_bytes(), 0u);
  // A declared size that could never be held is refused at OPEN.
  EXPECT_EQ(r.on_frame(open_frame(3, 101).view(), t0), errc::memory_limit);

  auto events = drain(r);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].id, 2u);
  EXPECT_EQ(events[0].error, errc::memory_limit);
  EXPECT_EQ(events[1].id, 1u);
  EXPECT_EQ(events[1].message.body.bytes(), a);
  EXPECT_EQ(events[2].id, 3u);
  EXPECT_EQ(events[2].error, errc::memory_limit);
}

TEST_F(ReassemblerTest, MemoryLimitWithSpillDirectorySpillsTheMessage) {
  limits lim;
  lim.max_buffered_bytes = 100;
  reassembler r{lim, spill(1000)};  // threshold alone would keep everything in memory
  const byte_buffer a = pattern(60, 1), b = pattern(60, 2);
  ASSERT_EQ(r.on_frame(open_frame(1, a.size()).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(open_frame(2, b.size()).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, a).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(2, 0, byte_view{b}.sub(0, 30)).view(), t0), errc::ok);
  EXPECT_EQ(r.buffered_bytes(), 90u);
  EXPECT_TRUE(spill_files() == 0);
  ASSERT_EQ(r.on_frame(data_frame(2, 30, byte_view{b}.sub(30)).view(), t0), errc::ok);
  EXPECT_EQ(r.buffered_bytes(), 60u);
  EXPECT_EQ(spill_files(), 1u);
  ASSERT_EQ(r.on_frame(end_frame(2, b.size(), xxh3_64(b)).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(end_frame(1, a.size(), xxh3_64(a)).view(), t0), errc::ok);

  auto events = drain(r);
  ASSERT_EQ(events.size(), 2u);
  ASSERT_TRUE(events[0].message.body.is_file());
  auto read = events[0].message.body.read_all();
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, b);
  EXPECT_FALSE(events[1].message.body.is_file());
  EXPECT_EQ(events[1].message.body.bytes(), a);
  EXPECT_EQ(r.stats().spilled, 1u);
  events[0].message.body.remove_file();
}

TEST_F(ReassemblerTest, HugeDeclaredSizeAllocatesNothingUpFront) {
  limits lim;
  lim.max_message_size = std::uint64_t{1} << 50;
  lim.max_buffered_bytes = std::uint64_t{1} << 50;
  storage_policy policy;
  policy.memory_threshold = std::uint64_t{1} << 50;  // keep it in memory
  reassembler r{lim, policy};
  // Reserving the claimed size would abort or throw; only received bytes may cost memory.
  ASSERT_EQ(r.on_frame(open_frame(1, std::uint64_t{1} << 45).view(), t0), errc::ok);
  const byte_buffer chunk = pattern(1000);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, chunk).view(), t0), errc::ok);
  EXPECT_EQ(r.buffered_bytes(), 1000u);
  EXPECT_EQ(r.on_frame(end_frame(1, 1000, xxh3_64(chunk)).view(), t0), errc::size_mismatch);
  EXPECT_EQ(r.buffered_bytes(), 0u);
}

TEST_F(ReassemblerTest, IdleTimeout) {
  limits lim;
  lim.idle_timeout = 100ms;
  reassembler r{lim, spill(10)};
  EXPECT_FALSE(r.next_deadline());
  ASSERT_EQ(r.on_frame(open_frame(1, 100).view(), t0), errc::ok);  // file-backed
  ASSERT_EQ(r.on_frame(open_frame(2, 5).view(), t0 + 50ms), errc::ok);
  ASSERT_EQ(spill_files(), 1u);
  ASSERT_TRUE(r.next_deadline());
  EXPECT_EQ(*r.next_deadline(), t0 + 100ms);

  EXPECT_EQ(r.expire(t0 + 99ms), 0u);
  // Activity pushes message 1's deadline out.
  ASSERT_EQ(r.on_frame(data_frame(1, 0, pattern(10)).view(), t0 + 60ms), errc::ok);
  EXPECT_EQ(*r.next_deadline(), t0 + 150ms);
  EXPECT_EQ(r.expire(t0 + 149ms), 0u);
  EXPECT_EQ(r.expire(t0 + 150ms), 1u);  // due exactly at its deadline
  EXPECT_EQ(r.open_count(), 1u);
  EXPECT_EQ(*r.next_deadline(), t0 + 160ms);
  EXPECT_EQ(r.expire(t0 + 1s), 1u);
  EXPECT_FALSE(r.next_deadline());
  EXPECT_TRUE(spill_files() == 0);

  auto events = drain(r);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, 2u);
  EXPECT_EQ(events[0].error, errc::idle_timeout);
  EXPECT_EQ(events[1].id, 1u);
  EXPECT_EQ(events[1].error, errc::idle_timeout);
}

// ---------------------------------------------------------------------------------------------
// Cleanup

TEST_F(ReassemblerTest, FailAllFailsEveryOpenMessage) {
  reassembler r{limits{}, spill(10)};
  ASSERT_EQ(r.on_frame(open_frame(3, 100).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(open_frame(1, unknown_size).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(open_frame(2, 5).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(3, 0, pattern(50)).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, pattern(50)).view(), t0), errc::ok);  // grows to a file
  ASSERT_EQ(r.on_frame(data_frame(2, 0, pattern(5)).view(), t0), errc::ok);
  EXPECT_EQ(spill_files(), 2u);
  EXPECT_EQ(r.buffered_bytes(), 5u);

  r.fail_all(errc::shutting_down);
  EXPECT_EQ(r.open_count(), 0u);
  EXPECT_EQ(r.buffered_bytes(), 0u);
  EXPECT_TRUE(spill_files() == 0);
  auto events = drain(r);
  ASSERT_EQ(events.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(events[i].what, kind::failed);
    EXPECT_EQ(events[i].id, i + 1);
    EXPECT_EQ(events[i].error, errc::shutting_down);
  }
  EXPECT_EQ(r.stats().failed, 3u);
}

TEST_F(ReassemblerTest, FailOneMessage) {
  reassembler r{limits{}, spill(0)};
  ASSERT_EQ(r.on_frame(open_frame(1, 10).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(open_frame(2, 10).view(), t0), errc::ok);
  EXPECT_TRUE(r.fail(1, errc::cancelled));
  EXPECT_FALSE(r.fail(1, errc::cancelled));
  EXPECT_EQ(spill_files(), 1u);
  EXPECT_EQ(r.open_count(), 1u);
  auto ev = r.poll();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->id, 1u);
  EXPECT_EQ(ev->error, errc::cancelled);
  r.fail_all(errc::shutting_down);
}

TEST_F(ReassemblerTest, DestructorRemovesUnfinishedAndUndeliveredFiles) {
  {
    reassembler r{limits{}, spill(10)};
    ASSERT_EQ(r.on_frame(open_frame(1, 100).view(), t0), errc::ok);
    ASSERT_EQ(r.on_frame(data_frame(1, 0, pattern(30)).view(), t0), errc::ok);
    ASSERT_EQ(r.on_frame(open_frame(2, unknown_size).view(), t0), errc::ok);
    ASSERT_EQ(r.on_frame(data_frame(2, 0, pattern(30)).view(), t0), errc::ok);
    // Completed but never polled: never handed over, so it goes too.
    ASSERT_EQ(send_message(r, 3, pattern(40), 7), errc::ok);
    EXPECT_EQ(spill_files(), 3u);
  }
  EXPECT_TRUE(spill_files() == 0);
}

TEST_F(ReassemblerTest, DeliveredFileOutlivesTheReassembler) {
  message_body body;
  const byte_buffer data = pattern(40);
  {
    reassembler r{limits{}, spill(10)};
    ASSERT_EQ(send_message(r, 1, data, 7), errc::ok);
    auto ev = r.poll();
    ASSERT_TRUE(ev);
    body = std::move(ev->message.body);
  }
  ASSERT_TRUE(body.is_file());
  auto read = body.read_all();
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, data);
  body.remove_file();
}

// ---------------------------------------------------------------------------------------------
// Storage failures

TEST_F(ReassemblerTest, MissingSpillDirectoryIsStorageFailed) {
  reassembler r{limits{}, spill(10)};
  fs::remove_all(dir_);  // gone after construction
  EXPECT_EQ(r.on_frame(open_frame(1, 100).view(), t0), errc::storage_failed);
  // Growing past the threshold needs a file too.
  ASSERT_EQ(r.on_frame(open_frame(2, unknown_size).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(2, 0, pattern(10)).view(), t0), errc::ok);
  EXPECT_EQ(r.on_frame(data_frame(2, 10, pattern(1)).view(), t0), errc::storage_failed);
  EXPECT_EQ(r.buffered_bytes(), 0u);
  EXPECT_EQ(r.on_frame(single_frame(3, pattern(11)).view(), t0), errc::storage_failed);
  // Small messages still work from memory.
  EXPECT_EQ(send_message(r, 4, pattern(10), 3), errc::ok);

  auto events = drain(r);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].error, errc::storage_failed);
  EXPECT_EQ(events[1].error, errc::storage_failed);
  EXPECT_EQ(events[2].error, errc::storage_failed);
  EXPECT_EQ(events[3].what, kind::completed);
  EXPECT_EQ(r.open_count(), 0u);
}

TEST_F(ReassemblerTest, SpillDirectoryThatIsNotADirectory) {
  const std::string plain = dir_ + "/plain-file";
  std::ofstream{plain} << "not a directory";
  storage_policy policy = spill(0);
  policy.spill_directory = plain;
  {
    reassembler r{limits{}, policy};
    EXPECT_EQ(r.on_frame(open_frame(1, 10).view(), t0), errc::storage_failed);
    policy.spill_directory = "/dev/null";
    reassembler r2{limits{}, policy};
    EXPECT_EQ(r2.on_frame(open_frame(1, 10).view(), t0), errc::storage_failed);
    EXPECT_EQ(r.poll()->error, errc::storage_failed);
    EXPECT_EQ(r2.poll()->error, errc::storage_failed);
  }
  EXPECT_EQ(files_in(dir_), std::vector<std::string>{plain});
  fs::remove(plain);
}

TEST_F(ReassemblerTest, WriteFailureIsStorageFailed) {
  reassembler r{limits{}, spill(10)};
  const byte_buffer body = pattern(64 * 1024);
  ASSERT_EQ(r.on_frame(open_frame(1, body.size()).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(open_frame(2, 20).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, byte_view{body}.sub(0, 1000)).view(), t0), errc::ok);
  errc e;
  {
    // Files may not grow past 4 KiB: the next write fails with EFBIG, like a full disk.
    file_size_limit cap{4096};
    e = r.on_frame(data_frame(1, 1000, byte_view{body}.sub(1000)).view(), t0);
  }
  EXPECT_EQ(e, errc::storage_failed);
  EXPECT_EQ(r.open_count(), 1u);
  EXPECT_EQ(spill_files(), 1u);  // message 2's file only
  const byte_buffer small = pattern(20);
  ASSERT_EQ(r.on_frame(data_frame(2, 0, small).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(end_frame(2, small.size(), xxh3_64(small)).view(), t0), errc::ok);

  auto events = drain(r);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, 1u);
  EXPECT_EQ(events[0].error, errc::storage_failed);
  EXPECT_EQ(events[1].id, 2u);
  ASSERT_EQ(events[1].what, kind::completed);
  events[1].message.body.remove_file();
}

TEST_F(ReassemblerTest, FileRemovedBehindOurBackIsStorageFailed) {
  reassembler r{limits{}, spill(10)};
  const byte_buffer body = pattern(100);
  ASSERT_EQ(r.on_frame(open_frame(1, body.size()).view(), t0), errc::ok);
  ASSERT_EQ(r.on_frame(data_frame(1, 0, body).view(), t0), errc::ok);
  fs::remove_all(dir_);
  // Delivering a path that no longer exists would hand the user nothing.
  EXPECT_EQ(r.on_frame(end_frame(1, body.size(), xxh3_64(body)).view(), t0), errc::storage_failed);
  auto ev = r.poll();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->what, kind::failed);
  EXPECT_EQ(ev->error, errc::storage_failed);
}

}  // namespace
