// Spill files against a hostile peer: a process-wide quota of files and bytes, the file system's
// free space and descriptor exhaustion each fail one message with a typed error, and no spill
// file outlives a receiver that is killed.

#include <netcore/protocol/reassembler.hpp>
#include <netcore/protocol/spill_quota.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reassembly_support.hpp"

#ifndef NETCORE_TEST_TMP
#error "NETCORE_TEST_TMP must name a scratch directory for spill files"
#endif

namespace {

namespace fs = std::filesystem;
using namespace netcore::protocol;
using namespace netcore::protocol::test;

std::size_t entries(const std::string& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec)) ++n;
  return n;
}

class SpillTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = fresh_test_dir(NETCORE_TEST_TMP); }
  void TearDown() override {
    EXPECT_EQ(entries(dir_), 0u) << "spill files left behind";
    if (quota_) {
      EXPECT_EQ(quota_->files(), 0u);
      EXPECT_EQ(quota_->bytes(), 0u);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  storage_policy spill(std::uint32_t files, std::uint64_t bytes) {
    quota_ = std::make_shared<spill_quota>(files, bytes);
    storage_policy p;
    p.memory_threshold = 0;  // every body with a byte goes to a file
    p.spill_directory = dir_;
    p.quota = quota_;
    return p;
  }

  /// The failure the reassembler reported for `id`, or errc::ok.
  static errc failure_of(reassembler& r, std::uint64_t id) {
    for (auto& ev : drain(r))
      if (ev.what == kind::failed && ev.id == id) return ev.error;
    return errc::ok;
  }

  std::string dir_;
  std::shared_ptr<spill_quota> quota_;
};

TEST_F(SpillTest, the_quota_bounds_open_spill_files_across_reassemblers) {
  const storage_policy policy = spill(1, std::uint64_t{1} << 30);
  reassembler r1{limits{}, policy};
  reassembler r2{limits{}, policy};
  const byte_buffer body = pattern(1000);
  ASSERT_EQ(r1.on_frame(open_frame(1, body.size()).view(), t0), errc::ok);
  EXPECT_EQ(quota_->files(), 1u);
  // The one slot is taken: another message, on this connection or another, is refused.
  EXPECT_EQ(r1.on_frame(open_frame(2, body.size()).view(), t0), errc::storage_full);
  EXPECT_EQ(failure_of(r1, 2), errc::storage_full);
  EXPECT_EQ(r2.on_frame(open_frame(1, body.size()).view(), t0), errc::storage_full);
  EXPECT_EQ(failure_of(r2, 1), errc::storage_full);
  // The first message is not disturbed, and once it is handed over the slot is free again.
  ASSERT_EQ(r1.on_frame(data_frame(1, 0, body).view(), t0), errc::ok);
  ASSERT_EQ(r1.on_frame(end_frame(1, body.size(), xxh3_64(body)).view(), t0), errc::ok);
  auto done = drain(r1);
  ASSERT_EQ(done.size(), 1u);
  ASSERT_EQ(done[0].what, kind::completed);
  EXPECT_EQ(quota_->files(), 0u);
  EXPECT_EQ(send_message(r2, 7, body, 300), errc::ok);
  auto second = drain(r2);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].what, kind::completed);
  done[0].message.body.remove_file();
  second[0].message.body.remove_file();
}

TEST_F(SpillTest, a_declared_size_beyond_the_byte_quota_is_refused_at_open) {
  reassembler r{limits{}, spill(8, 1u << 20)};
  EXPECT_EQ(r.on_frame(open_frame(1, std::uint64_t{16} << 30).view(), t0), errc::storage_full);
  EXPECT_EQ(failure_of(r, 1), errc::storage_full);
  EXPECT_EQ(r.open_count(), 0u);
  // What fits is still accepted (and reserved while it arrives).
  ASSERT_EQ(r.on_frame(open_frame(2, 1u << 20).view(), t0), errc::ok);
  EXPECT_EQ(quota_->bytes(), 1u << 20);
  r.on_frame(cancel_frame(2, errc::cancelled).view(), t0);
  EXPECT_EQ(quota_->bytes(), 0u);
}

TEST_F(SpillTest, a_body_of_unknown_size_fails_when_it_outgrows_the_byte_quota) {
  reassembler r{limits{}, spill(8, 2u << 20)};
  const byte_buffer chunk = pattern(256u << 10);
  ASSERT_EQ(r.on_frame(open_frame(1, unknown_size).view(), t0), errc::ok);
  errc e = errc::ok;
  std::uint64_t accepted = 0;
  for (int i = 0; i < 16; ++i) {
    e = r.on_frame(data_frame(1, accepted, chunk).view(), t0);
    if (e != errc::ok) break;
    accepted += chunk.size();
  }
  EXPECT_EQ(e, errc::storage_full);
  EXPECT_EQ(accepted, std::uint64_t{2} << 20) << "the quota, no more and no less";
  EXPECT_EQ(failure_of(r, 1), errc::storage_full);
}

TEST_F(SpillTest, a_declared_size_beyond_the_free_disk_space_is_refused_at_open) {
  limits lim;
  lim.max_message_size = std::uint64_t{1} << 62;
  reassembler r{lim, spill(8, std::uint64_t{1} << 62)};
  EXPECT_EQ(r.on_frame(open_frame(1, std::uint64_t{1} << 60).view(), t0), errc::storage_full);
  EXPECT_EQ(failure_of(r, 1), errc::storage_full);
}

TEST_F(SpillTest, descriptor_exhaustion_fails_the_message_not_the_process) {
  reassembler r{limits{}, spill(8, 1u << 30)};
  const byte_buffer body = pattern(100);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  const int lowest_free = ::dup(0);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  rlimit none = old;
  none.rlim_cur = static_cast<rlim_t>(lowest_free);  // no descriptor can be opened
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &none), 0);
  const errc refused = r.on_frame(open_frame(1, body.size()).view(), t0);
  ::setrlimit(RLIMIT_NOFILE, &old);
  EXPECT_EQ(refused, errc::storage_failed);
  EXPECT_EQ(failure_of(r, 1), errc::storage_failed);
  EXPECT_EQ(quota_->files(), 0u);
  // Descriptors back: the next message spills as usual.
  ASSERT_EQ(send_message(r, 2, body, 64), errc::ok);
  auto done = drain(r);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].what, kind::completed);
  done[0].message.body.remove_file();
}

TEST_F(SpillTest, the_spill_files_of_a_killed_receiver_are_gone_with_it) {
  const storage_policy policy = spill(64, std::uint64_t{1} << 30);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The receiver: three messages half arrived, each in its spill file; then it waits to die.
    reassembler r{limits{}, policy};
    const byte_buffer half = pattern(512u << 10);
    for (std::uint64_t id = 1; id <= 3; ++id) {
      if (r.on_frame(open_frame(id, 2 * half.size()).view(), t0) != errc::ok) ::_exit(1);
      if (r.on_frame(data_frame(id, 0, half).view(), t0) != errc::ok) ::_exit(2);
    }
    const char c = static_cast<char>('0' + quota_->files());
    if (::write(ready[1], &c, 1) != 1) ::_exit(3);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char open_files = 0;
  ASSERT_EQ(::read(ready[0], &open_files, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(open_files, '3');  // the child holds three spill files...
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(entries(dir_), 0u);  // ...and none is left once it is killed
}

}  // namespace
