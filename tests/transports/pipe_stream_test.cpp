#include <netcore/transports/pipe_stream.hpp>

#include "stream_test_support.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

namespace {

using namespace netcore::transports::test;

using netcore::is_disconnect;
using netcore::transports::byte_stream;
using netcore::transports::io_slice;
using netcore::transports::make_pipe_stream;
using netcore::transports::pipe_functions;

/// A pipe stream over `f`; functions a test leaves out fail (send, recv) or do nothing (close).
std::unique_ptr<byte_stream> make(pipe_functions f, netcore::transports::stream_profile p = {}) {
  if (!f.send) f.send = [](const std::uint8_t*, std::size_t) -> long { return -1; };
  if (!f.recv) f.recv = [](std::uint8_t*, std::size_t) -> long { return -1; };
  if (!f.close) f.close = [] {};
  auto s = make_pipe_stream(std::move(f), p);
  EXPECT_TRUE(s);
  return std::move(*s);
}

/// A connected AF_UNIX stream socket pair, closed on destruction.
struct socket_pair {
  int fd[2] = {-1, -1};
  socket_pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd), 0); }
  ~socket_pair() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
};

/// pipe_functions over one socket: send takes at most `max_send` bytes per call, recv gives at
/// most `max_recv`, close shuts the socket down (which wakes a blocked send or recv).
pipe_functions socket_functions(int fd, std::size_t max_send = SIZE_MAX,
                                std::size_t max_recv = SIZE_MAX) {
  pipe_functions f;
  f.send = [fd, max_send](const std::uint8_t* data, std::size_t size) -> long {
    for (;;) {
      const ssize_t n = ::send(fd, data, std::min(size, max_send), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      return static_cast<long>(n);
    }
  };
  f.recv = [fd, max_recv](std::uint8_t* buf, std::size_t max) -> long {
    for (;;) {
      const ssize_t n = ::recv(fd, buf, std::min(max, max_recv), 0);
      if (n < 0 && errno == EINTR) continue;
      return static_cast<long>(n);
    }
  };
  f.close = [fd] { ::shutdown(fd, SHUT_RDWR); };
  return f;
}

TEST(PipeStream, RoundTripMebibytes) {
  socket_pair sp;
  auto a = make(socket_functions(sp.fd[0]));
  auto b = make(socket_functions(sp.fd[1]));
  const auto data = random_bytes(8u << 20, 1);
  std::vector<std::uint8_t> got;
  std::thread reader([&] { got = read_exactly(*b, data.size()); });
  std::mt19937_64 rng(2);
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::vector<io_slice> slices;
    for (int i = 0; i < 5 && pos < data.size(); ++i) {
      const std::size_t len = std::min<std::size_t>(data.size() - pos, rng() % 100000);
      slices.push_back({data.data() + pos, len});
      pos += len;
    }
    ASSERT_FALSE(a->write(slices.data(), slices.size()));
  }
  reader.join();
  EXPECT_TRUE(got == data);
}

TEST(PipeStream, ShortWritesAndShortReads) {
  socket_pair sp;
  std::atomic<std::size_t> send_calls{0};
  std::atomic<std::size_t> largest_send{0};
  pipe_functions fa = socket_functions(sp.fd[0], 7);
  auto inner_send = fa.send;
  fa.send = [&, inner_send](const std::uint8_t* data, std::size_t size) -> long {
    const long n = inner_send(data, size);
    ++send_calls;
    if (n > 0 && static_cast<std::size_t>(n) > largest_send)
      largest_send = static_cast<std::size_t>(n);
    return n;
  };
  auto a = make(std::move(fa));
  auto b = make(socket_functions(sp.fd[1], SIZE_MAX, 3));

  const auto data = random_bytes(300000, 3);
  std::size_t largest_read = 0;
  std::vector<std::uint8_t> got;
  std::thread reader([&] { got = read_exactly(*b, data.size(), &largest_read); });
  const io_slice slices[] = {{data.data(), 1},
                             {data.data() + 1, 0},
                             {data.data() + 1, 100000},
                             {data.data() + 100001, data.size() - 100001}};
  EXPECT_FALSE(a->write(slices, 4));
  reader.join();
  EXPECT_TRUE(got == data);
  EXPECT_LE(largest_send.load(), 7u);
  EXPECT_GE(send_calls.load(), data.size() / 7);
  EXPECT_LE(largest_read, 3u);
}

TEST(PipeStream, ReadReturnsWhatRecvGave) {
  pipe_functions f;
  f.recv = [](std::uint8_t* buf, std::size_t) -> long {
    buf[0] = 42;
    buf[1] = 43;
    return 2;
  };
  auto s = make(std::move(f));
  std::uint8_t buf[100] = {};
  auto r = s->read(buf, sizeof buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 2u);
  EXPECT_EQ(buf[0], 42);
  EXPECT_EQ(buf[1], 43);
}

TEST(PipeStream, RecvZeroIsDisconnected) {
  pipe_functions f;
  f.recv = [](std::uint8_t*, std::size_t) -> long { return 0; };
  auto s = make(std::move(f));
  std::uint8_t buf[8];
  EXPECT_TRUE(is_disconnect(s->read(buf, sizeof buf).error()));
}

TEST(PipeStream, RecvNegativeIsDisconnected) {
  pipe_functions f;
  f.recv = [](std::uint8_t*, std::size_t) -> long { return -1; };
  auto s = make(std::move(f));
  std::uint8_t buf[8];
  EXPECT_TRUE(is_disconnect(s->read(buf, sizeof buf).error()));
}

TEST(PipeStream, SendNegativeEndsTheStream) {
  int calls = 0;
  pipe_functions f;
  f.send = [&](const std::uint8_t*, std::size_t size) -> long {
    // The first call takes part of the bytes; the next one fails.
    return ++calls == 1 ? static_cast<long>(size / 2) : -1;
  };
  auto s = make(std::move(f));
  const std::uint8_t bytes[10] = {};
  const io_slice slice{bytes, sizeof bytes};
  EXPECT_EQ(s->write(&slice, 1), std::error_code{netcore::transport_errc::end_of_stream});
  EXPECT_EQ(calls, 2);
}

TEST(PipeStream, CloseCallsCloseOnceAndFailsLaterCalls) {
  std::atomic<int> closes{0};
  int sends = 0;
  int recvs = 0;
  pipe_functions f;
  f.send = [&](const std::uint8_t*, std::size_t size) -> long {
    ++sends;
    return static_cast<long>(size);
  };
  f.recv = [&](std::uint8_t*, std::size_t) -> long {
    ++recvs;
    return 1;
  };
  f.close = [&] { ++closes; };
  auto s = make(std::move(f));
  std::vector<std::thread> closers;
  for (int i = 0; i < 4; ++i) closers.emplace_back([&] { s->close(); });
  for (auto& t : closers) t.join();
  s->close();
  EXPECT_EQ(closes.load(), 1);

  const std::uint8_t bytes[4] = {};
  const io_slice slice{bytes, sizeof bytes};
  EXPECT_TRUE(is_disconnect(s->write(&slice, 1)));
  std::uint8_t buf[4];
  EXPECT_TRUE(is_disconnect(s->read(buf, sizeof buf).error()));
  EXPECT_EQ(sends, 0);
  EXPECT_EQ(recvs, 0);
}

TEST(PipeStream, EveryFunctionIsRequired) {
  // Without close() a reader blocked in recv could never be stopped: refused at construction.
  auto f = socket_functions(-1);
  f.close = nullptr;
  EXPECT_EQ(make_pipe_stream(f).error(),
            std::error_code{netcore::transport_errc::invalid_argument});
  auto g = socket_functions(-1);
  g.recv = nullptr;
  EXPECT_EQ(make_pipe_stream(g).error(),
            std::error_code{netcore::transport_errc::invalid_argument});
  auto h = socket_functions(-1);
  h.send = nullptr;
  EXPECT_EQ(make_pipe_stream(h).error(),
            std::error_code{netcore::transport_errc::invalid_argument});
  EXPECT_TRUE(make_pipe_stream(socket_functions(-1)));
}

TEST(PipeStream, CloseUnblocksBlockedRead) {
  socket_pair sp;
  auto a = make(socket_functions(sp.fd[0]));
  std::error_code seen;
  std::thread reader([&] {
    std::uint8_t buf[16];
    seen = a->read(buf, sizeof buf).error();
  });
  a->close();
  reader.join();
  EXPECT_TRUE(is_disconnect(seen)) << seen.message();
}

TEST(PipeStream, CloseUnblocksBlockedWrite) {
  socket_pair sp;
  auto a = make(socket_functions(sp.fd[0]));
  auto b = make(socket_functions(sp.fd[1]));
  // Far more than the socket buffers hold, and nobody reads until the first bytes arrive.
  const std::vector<std::uint8_t> chunk(1u << 20, 0x5a);
  std::vector<io_slice> slices(64, io_slice{chunk.data(), chunk.size()});
  std::error_code seen;
  std::thread writer([&] { seen = a->write(slices.data(), slices.size()); });
  std::uint8_t buf[1];
  ASSERT_TRUE(b->read(buf, 1));
  a->close();
  writer.join();
  EXPECT_TRUE(is_disconnect(seen)) << seen.message();
}

TEST(PipeStream, PeerCloseIsDisconnected) {
  socket_pair sp;
  auto a = make(socket_functions(sp.fd[0]));
  auto b = make(socket_functions(sp.fd[1]));
  const std::uint8_t bytes[] = {1, 2, 3};
  const io_slice slice{bytes, sizeof bytes};
  ASSERT_FALSE(a->write(&slice, 1));
  a->close();
  std::uint8_t buf[8];
  auto r = b->read(buf, sizeof buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 3u);
  EXPECT_TRUE(is_disconnect(b->read(buf, sizeof buf).error()));
}

TEST(PipeStream, DescribeAndProfile) {
  netcore::transports::stream_profile p;
  p.chunk_size = 512;
  p.lossy = true;
  auto s = make(socket_functions(-1), p);
  EXPECT_EQ(s->describe(), "pipe");
  EXPECT_EQ(s->profile().chunk_size, 512u);
  EXPECT_TRUE(s->profile().lossy);
}

}  // namespace
