#include <netcore/transports/fd_stream.hpp>

#include "stream_test_support.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace {

using namespace netcore::transports::test;
using netcore::transport_errc;
using netcore::transports::fd_stream;
using netcore::transports::io_slice;

std::unique_ptr<fd_stream> adopt(int fd, fd_stream::kind k) {
  auto s = fd_stream::adopt(fd, k, {}, "test");
  EXPECT_TRUE(s) << s.error().message();
  return s ? std::move(*s) : nullptr;
}

TEST(FdStream, AnyDescriptorPairCarriesBytesBothWays) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto a = adopt(sv[0], fd_stream::kind::socket);
  auto b = adopt(sv[1], fd_stream::kind::socket);
  const auto data = random_bytes(4u << 20, 1);
  std::vector<std::uint8_t> got;
  std::thread reader([&] { got = read_exactly(*b, data.size()); });
  EXPECT_FALSE(write_in_pieces(*a, data, 2));
  reader.join();
  EXPECT_TRUE(got == data);
  EXPECT_GE(a->native_handle(), 0);
  EXPECT_EQ(a->describe(), "test");
}

TEST(FdStream, APlainPipeIsPollableToo) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  auto r = adopt(p[0], fd_stream::kind::other);
  auto w = adopt(p[1], fd_stream::kind::other);
  std::uint8_t buf[8];
  auto none = r->try_read(buf, sizeof buf);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
  const std::uint8_t bytes[] = {1, 2, 3};
  const io_slice slice{bytes, 3};
  auto n = w->try_write(&slice, 1);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 3u);
  auto got = r->try_read(buf, sizeof buf);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, 3u);
  w.reset();  // the writer's end closes: the reader sees the end of the stream
  EXPECT_EQ(r->read(buf, sizeof buf).error(), std::error_code{transport_errc::end_of_stream});
}

TEST(FdStream, CloseWakesABlockedReadOnANonSocket) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  auto r = adopt(p[0], fd_stream::kind::other);
  std::error_code seen;
  std::thread reader([&] {
    std::uint8_t buf[8];
    seen = r->read(buf, sizeof buf).error();
  });
  r->close();
  reader.join();
  EXPECT_EQ(seen, std::error_code{transport_errc::closed});
  ::close(p[1]);
}

TEST(FdStream, AnInvalidDescriptorIsRefused) {
  EXPECT_EQ(fd_stream::adopt(-1, fd_stream::kind::socket, {}, "x").error(),
            std::error_code{transport_errc::invalid_argument});
  EXPECT_EQ(fd_stream::adopt(987654, fd_stream::kind::socket, {}, "x").error(),
            std::errc::bad_file_descriptor);
}

TEST(FdStream, WritingToAVanishedSocketPeerIsAnErrorNotASignal) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto a = adopt(sv[0], fd_stream::kind::socket);
  ::close(sv[1]);
  const std::uint8_t bytes[] = {1};
  const io_slice slice{bytes, 1};
  EXPECT_EQ(a->write(&slice, 1), std::errc::broken_pipe);
}

}  // namespace
