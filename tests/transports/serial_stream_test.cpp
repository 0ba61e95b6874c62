#include <netcore/transports/serial_stream.hpp>

#include "stream_test_support.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using namespace netcore::transports::test;

using netcore::is_disconnect;
using netcore::transports::byte_stream;
using netcore::transports::io_slice;
using netcore::transports::serial_open;
using netcore::transports::serial_options;

/// The full path of `name` on $PATH, or "" when it is not there.
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

/// A pair of connected virtual serial ports: socat linking two ptys, reachable as <dir>/a and
/// <dir>/b.
class SerialStream : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string socat = find_on_path("socat");
    if (socat.empty())
      GTEST_SKIP() << "socat is not installed: cannot create a virtual serial pair";

    char tmpl[] = "/tmp/netcore-serial-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    a_path_ = dir_ + "/a";
    b_path_ = dir_ + "/b";
    log_path_ = dir_ + "/socat.log";

    const std::string a_arg = "pty,raw,echo=0,link=" + a_path_;
    const std::string b_arg = "pty,raw,echo=0,link=" + b_path_;
    std::vector<char*> argv = {const_cast<char*>(socat.c_str()), const_cast<char*>("-d"),
                               const_cast<char*>("-d"),          const_cast<char*>(a_arg.c_str()),
                               const_cast<char*>(b_arg.c_str()), nullptr};
    posix_spawn_file_actions_t actions;
    ASSERT_EQ(::posix_spawn_file_actions_init(&actions), 0);
    ::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const int rc =
        ::posix_spawn(&socat_pid_, socat.c_str(), &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ASSERT_EQ(rc, 0) << "cannot start socat";

    // socat is an external process: poll for its links, a bounded number of times.
    bool ready = false;
    for (int attempt = 0; attempt < 500 && !ready; ++attempt) {
      ready = exists(a_path_) && exists(b_path_);
      if (!ready) {
        int status = 0;
        if (::waitpid(socat_pid_, &status, WNOHANG) == socat_pid_) {
          socat_pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    ASSERT_TRUE(ready) << "socat did not create " << a_path_ << " and " << b_path_ << ":\n"
                       << socat_log();
  }

  void TearDown() override {
    if (socat_pid_ > 0) {
      ::kill(socat_pid_, SIGTERM);
      int status = 0;
      ::waitpid(socat_pid_, &status, 0);
    }
    if (!dir_.empty()) {
      ::unlink(log_path_.c_str());
      ::unlink(a_path_.c_str());
      ::unlink(b_path_.c_str());
      ::rmdir(dir_.c_str());
    }
  }

  std::string socat_log() const {
    std::ifstream in(log_path_);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  std::unique_ptr<byte_stream> open(const std::string& path) {
    serial_options opts;
    opts.baud = 115200;
    auto s = serial_open(path, opts);
    EXPECT_TRUE(s) << "cannot open " << path;
    return s ? std::move(*s) : nullptr;
  }

  std::string dir_;
  std::string a_path_;
  std::string b_path_;
  std::string log_path_;
  pid_t socat_pid_ = -1;
};

TEST_F(SerialStream, RoundTripBothDirections) {
  auto a = open(a_path_);
  auto b = open(b_path_);
  ASSERT_TRUE(a && b);

  const auto to_b = random_bytes(6000, 1);
  const auto to_a = random_bytes(5000, 2);
  std::vector<std::uint8_t> at_b;
  std::vector<std::uint8_t> at_a;
  std::thread reader_b([&] { at_b = read_exactly(*b, to_b.size()); });
  std::thread reader_a([&] { at_a = read_exactly(*a, to_a.size()); });
  std::thread writer_b([&] {
    const io_slice slices[] = {{to_a.data(), 1000}, {to_a.data() + 1000, to_a.size() - 1000}};
    EXPECT_FALSE(b->write(slices, 2));
  });
  const io_slice slices[] = {
      {to_b.data(), 10}, {to_b.data() + 10, 0}, {to_b.data() + 10, to_b.size() - 10}};
  EXPECT_FALSE(a->write(slices, 3));
  writer_b.join();
  reader_b.join();
  reader_a.join();
  EXPECT_TRUE(at_b == to_b);
  EXPECT_TRUE(at_a == to_a);
}

TEST_F(SerialStream, ProfileAndDescribe) {
  auto a = open(a_path_);
  ASSERT_TRUE(a);
  const auto p = a->profile();
  // 115200 baud carries 57.6 bytes in 5 ms: clamped up to 64.
  EXPECT_EQ(p.chunk_size, 64u);
  EXPECT_EQ(p.write_batch, 256u);
  EXPECT_EQ(p.read_size, 4096u);
  EXPECT_TRUE(p.lossy);
  EXPECT_EQ(a->describe(), "serial " + a_path_ + " 115200");

  serial_options fast;
  fast.baud = 4000000;
  auto f = serial_open(b_path_, fast);
  ASSERT_TRUE(f);
  EXPECT_EQ((*f)->profile().chunk_size, 2000u);  // 400000 bytes/s for 5 ms
  EXPECT_EQ((*f)->profile().write_batch, 8000u);

  serial_options mid;
  mid.baud = 1000000;
  auto m = serial_open(b_path_, mid);
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)->profile().chunk_size, 500u);
}

TEST_F(SerialStream, OtherLineSettings) {
  serial_options opts;
  opts.baud = 9600;
  opts.parity_mode = serial_options::parity::even;
  opts.stop = serial_options::stop_bits::two;
  opts.flow = serial_options::flow_control::hardware;
  auto s = serial_open(a_path_, opts);
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->describe(), "serial " + a_path_ + " 9600");
  EXPECT_EQ((*s)->profile().chunk_size, 64u);

  opts.flow = serial_options::flow_control::software;
  opts.parity_mode = serial_options::parity::odd;
  opts.stop = serial_options::stop_bits::one;
  EXPECT_TRUE(serial_open(b_path_, opts));
}

TEST_F(SerialStream, InvalidCharacterSizeFails) {
  serial_options opts;
  opts.character_size = 4;
  EXPECT_EQ(serial_open(a_path_, opts).error(),
            std::error_code{netcore::transport_errc::invalid_argument});
  opts.character_size = 9;
  EXPECT_EQ(serial_open(a_path_, opts).error(),
            std::error_code{netcore::transport_errc::invalid_argument});
  opts.character_size = 8;
  opts.baud = 12345;  // not a rate the line takes
  EXPECT_EQ(serial_open(a_path_, opts).error(),
            std::error_code{netcore::transport_errc::invalid_argument});
}

TEST_F(SerialStream, CloseUnblocksBlockedRead) {
  auto a = open(a_path_);
  ASSERT_TRUE(a);
  std::error_code seen;
  std::thread reader([&] {
    std::uint8_t buf[16];
    seen = a->read(buf, sizeof buf).error();
  });
  a->close();
  reader.join();
  EXPECT_TRUE(is_disconnect(seen)) << seen.message();
  a->close();
}

TEST_F(SerialStream, CloseUnblocksBlockedWrite) {
  auto a = open(a_path_);
  auto b = open(b_path_);
  ASSERT_TRUE(a && b);
  // Nobody reads b past its first byte, so the ptys and socat fill up and the writer blocks.
  const std::vector<std::uint8_t> chunk(1u << 20, 0x3c);
  const std::vector<io_slice> slices(64, io_slice{chunk.data(), chunk.size()});
  std::error_code seen;
  std::thread writer([&] { seen = a->write(slices.data(), slices.size()); });
  std::uint8_t buf[1];
  ASSERT_TRUE(b->read(buf, 1));
  a->close();
  writer.join();
  EXPECT_TRUE(is_disconnect(seen)) << seen.message();
  EXPECT_TRUE(is_disconnect(a->write(slices.data(), 1)));
}

TEST_F(SerialStream, PeerGoneIsDisconnected) {
  auto a = open(a_path_);
  ASSERT_TRUE(a);
  // Killing socat closes the pty masters: the line hangs up.
  ::kill(socat_pid_, SIGKILL);
  int status = 0;
  ::waitpid(socat_pid_, &status, 0);
  socat_pid_ = -1;
  std::uint8_t buf[16];
  EXPECT_TRUE(is_disconnect(a->read(buf, sizeof buf).error()));
}

TEST(SerialOpen, MissingDeviceSaysNoSuchFile) {
  EXPECT_EQ(serial_open("/nonexistent/tty-netcore").error(), std::errc::no_such_file_or_directory);
}

TEST(SerialOpen, NotASerialDeviceSaysNotATerminal) {
  EXPECT_EQ(serial_open("/dev/null").error(), std::errc::inappropriate_io_control_operation);
}

}  // namespace
