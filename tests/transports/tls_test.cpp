// The TLS decorator on its own: configuration errors, both driving modes (blocking threads over
// an in-memory pair, a poll loop over a socketpair), verification failures, mutual TLS, the
// handshake timeout, the peer's identity and the end of a stream.

#include <netcore/transports/tls.hpp>

#include "stream_test_support.hpp"
#include "tls_test_support.hpp"

#include <netcore/transports/fd_stream.hpp>
#include <netcore/transports/memory_stream.hpp>

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <future>
#include <thread>

using namespace netcore;
using namespace netcore::transports;
using namespace netcore::transports::test;
using namespace std::chrono_literals;

namespace {

using stream_ptr = std::unique_ptr<byte_stream>;

const test_pki& pki() {
  return test_pki::get();
}

stream_ptr wrap(stream_ptr inner, const tls_config& cfg) {
  std::string why;
  auto s = make_tls(std::move(inner), cfg, &why);
  EXPECT_TRUE(s) << s.error().message() << ": " << why;
  return s ? std::move(*s) : nullptr;
}

/// A client and a server TLS stream over an in-memory pair (blocking).
std::pair<stream_ptr, stream_ptr> memory_tls(const tls_config& client, const tls_config& server) {
  auto [a, b] = make_memory_pair();
  return {wrap(std::move(a), client), wrap(std::move(b), server)};
}

/// Two connected unix stream sockets as fd_streams (pollable).
std::pair<stream_ptr, stream_ptr> socket_pair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  auto a = fd_stream::adopt(fds[0], fd_stream::kind::socket, {}, "socketpair a");
  auto b = fd_stream::adopt(fds[1], fd_stream::kind::socket, {}, "socketpair b");
  return {std::move(*a), std::move(*b)};
}

/// What one end saw when both ends try to talk: the first write's and the first read's result.
struct attempt {
  std::error_code write_error;
  std::error_code read_error;
  std::string description;
};

/// Both ends write a few bytes and read, each on its own threads (the handshake happens on the
/// way); returns what each end saw. Ends close their streams once done, so nothing stays blocked.
std::pair<attempt, attempt> talk(byte_stream& client, byte_stream& server) {
  auto run = [](byte_stream& s) {
    attempt a;
    std::thread writer{[&] {
      const std::uint8_t hello[] = {'h', 'i'};
      io_slice slice{hello, sizeof hello};
      a.write_error = s.write(&slice, 1);
    }};
    std::uint8_t buf[16];
    auto r = s.read(buf, sizeof buf);
    if (!r) a.read_error = r.error();
    writer.join();
    a.description = s.describe();
    return a;
  };
  auto far = std::async(std::launch::async, [&] { return run(server); });
  auto near = run(client);
  client.close();
  auto other = far.get();
  return {near, other};
}

std::error_code code(transport_errc e) {
  return e;
}

// -- configuration ----------------------------------------------------------------------------

TEST(tls_config, server_without_certificate_is_refused) {
  tls_config c = pki().server_config();
  c.certificate_chain = {};
  c.private_key = {};
  std::string why;
  auto ctx = tls_context::make(c, &why);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error(), code(transport_errc::tls_bad_config));
  EXPECT_NE(why.find("certificate_chain"), std::string::npos) << why;
}

TEST(tls_config, verifying_client_without_server_name_is_refused) {
  tls_config c = pki().client_config("");
  auto ctx = tls_context::make(c);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error(), code(transport_errc::tls_bad_config));
}

TEST(tls_config, pem_that_does_not_parse_is_refused_with_the_reason) {
  tls_config c = pki().server_config();
  c.certificate_chain = pem_source::from_text("-----BEGIN CERTIFICATE-----\nnope\n");
  std::string why;
  auto ctx = tls_context::make(c, &why);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error(), code(transport_errc::tls_bad_config));
  EXPECT_NE(why.find("no certificate"), std::string::npos) << why;
}

TEST(tls_config, key_of_another_certificate_is_refused) {
  tls_config c = pki().server_config();
  c.private_key = pem_source::from_text(pki().client.key_pem);
  std::string why;
  auto ctx = tls_context::make(c, &why);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error(), code(transport_errc::tls_bad_config));
  EXPECT_NE(why.find("does not match"), std::string::npos) << why;
}

TEST(tls_config, missing_file_is_refused) {
  tls_config c = pki().client_config();
  c.trusted_ca = pem_source::from_file("/nonexistent/netcore-ca.pem");
  std::string why;
  auto ctx = tls_context::make(c, &why);
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error(), code(transport_errc::tls_bad_config));
  EXPECT_NE(why.find("/nonexistent/netcore-ca.pem"), std::string::npos) << why;
}

TEST(tls_config, client_certificate_requirement_is_for_servers) {
  tls_config c = pki().client_config();
  c.require_client_certificate = true;
  EXPECT_EQ(tls_context::make(c).error(), code(transport_errc::tls_bad_config));
  tls_config s = pki().server_config(true);
  s.verify_peer = false;
  EXPECT_EQ(tls_context::make(s).error(), code(transport_errc::tls_bad_config));
}

TEST(tls_config, no_inner_stream_is_an_invalid_argument) {
  auto ctx = tls_context::make(pki().client_config());
  ASSERT_TRUE(ctx);
  EXPECT_EQ(make_tls(nullptr, *ctx).error(), code(transport_errc::invalid_argument));
}

// -- blocking ---------------------------------------------------------------------------------

TEST(tls_blocking, both_directions_at_once_over_a_memory_pair) {
  auto [client, server] = memory_tls(pki().client_config(), pki().server_config());
  ASSERT_TRUE(client && server);
  const auto up = random_bytes(6u << 20, 1);
  const auto down = random_bytes(5u << 20, 2);
  std::error_code up_error, down_error;
  std::vector<std::uint8_t> got_up, got_down;
  // Each end writes and reads at the same time, from two threads, more than the pair buffers:
  // a reader that held the engine while waiting would deadlock this.
  std::thread w1{[&] { up_error = write_in_pieces(*client, up, 3); }};
  std::thread w2{[&] { down_error = write_in_pieces(*server, down, 4); }};
  std::thread r1{[&] { got_up = read_exactly(*server, up.size()); }};
  got_down = read_exactly(*client, down.size());
  w1.join();
  w2.join();
  r1.join();
  EXPECT_FALSE(up_error) << up_error.message();
  EXPECT_FALSE(down_error) << down_error.message();
  EXPECT_TRUE(got_up == up);
  EXPECT_TRUE(got_down == down);
  EXPECT_EQ(client->describe(), "tls memory");
}

TEST(tls_blocking, close_unblocks_both_threads_in_a_handshake_without_time_limit) {
  tls_config cfg = pki().client_config();
  cfg.handshake_timeout = 0ms;  // no limit: only close() ends the wait
  auto [client, silent] = memory_tls(cfg, pki().server_config());
  std::promise<std::error_code> read_result;
  std::promise<std::error_code> write_result;
  std::thread reader{[&, cs = client.get()] {
    std::uint8_t buf[8];
    auto r = cs->read(buf, sizeof buf);
    read_result.set_value(r ? std::error_code{} : r.error());
  }};
  std::thread writer{[&, cs = client.get()] {
    const std::uint8_t x = 1;
    io_slice s{&x, 1};
    write_result.set_value(cs->write(&s, 1));
  }};
  auto r = read_result.get_future();
  auto w = write_result.get_future();
  EXPECT_EQ(r.wait_for(50ms), std::future_status::timeout);  // one waits for the peer, the other
  EXPECT_EQ(w.wait_for(0ms), std::future_status::timeout);   // for the handshake
  client->close();
  ASSERT_EQ(r.wait_for(10s), std::future_status::ready);
  ASSERT_EQ(w.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(r.get(), code(transport_errc::closed));
  EXPECT_EQ(w.get(), code(transport_errc::closed));
  reader.join();
  writer.join();
}

// -- polled -----------------------------------------------------------------------------------

/// One end of a poll loop that uses the stream's hooks the way the runtime's wire does.
struct polled_end {
  byte_stream* stream = nullptr;
  const std::vector<std::uint8_t>* out = nullptr;
  std::size_t sent = 0;
  std::vector<std::uint8_t> in;
  std::size_t expect = 0;
  bool write_after_read = false;  // the last write waited for the peer
  bool saw_wait = false;          // write_waits_for_read() was true at least once
  bool saw_pending = false;       // has_pending_output() after everything was taken
  std::error_code error;
  std::mt19937_64 rng{7};

  bool wants_write() const {
    return !write_after_read && (sent < out->size() || stream->has_pending_output());
  }
  bool done() const {
    return sent == out->size() && !stream->has_pending_output() && in.size() == expect;
  }

  void step_write() {
    if (!wants_write()) return;
    std::vector<io_slice> slices;
    std::size_t at = sent;
    for (int i = 0; i < 3 && at < out->size(); ++i) {
      const std::size_t n = std::min<std::size_t>(out->size() - at, 1 + rng() % 100000);
      slices.push_back({out->data() + at, n});
      at += n;
    }
    auto r = stream->try_write(slices.data(), slices.size());
    if (!r) {
      error = r.error();
      return;
    }
    sent += *r;
    if (stream->write_waits_for_read()) {
      write_after_read = true;
      saw_wait = true;
    }
    // Reported as written, yet not all on the wire: the loop must flush it later.
    if (*r > 0 && stream->has_pending_output()) saw_pending = true;
  }

  void step_read() {
    std::uint8_t buf[64 << 10];
    for (;;) {
      auto r = stream->try_read(buf, sizeof buf);
      if (!r) {
        error = r.error();
        return;
      }
      in.insert(in.end(), buf, buf + *r);
      write_after_read = false;  // retry the write after each read
      if (*r < sizeof buf) return;
    }
  }
};

TEST(tls_polled, both_directions_over_a_socketpair_through_the_hooks) {
  auto [a, b] = socket_pair();
  auto client = wrap(std::move(a), pki().client_config());
  auto server = wrap(std::move(b), pki().server_config());
  ASSERT_TRUE(client && server);
  EXPECT_GE(client->native_handle(), 0);
  const auto up = random_bytes(4u << 20, 5);
  const auto down = random_bytes(3u << 20, 6);
  polled_end ends[2];
  ends[0].stream = client.get();
  ends[0].out = &up;
  ends[0].expect = down.size();
  ends[1].stream = server.get();
  ends[1].out = &down;
  ends[1].expect = up.size();
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!(ends[0].done() && ends[1].done()) && std::chrono::steady_clock::now() < deadline) {
    for (auto& e : ends) {
      e.step_write();
      e.step_read();
    }
    ASSERT_FALSE(ends[0].error) << ends[0].error.message();
    ASSERT_FALSE(ends[1].error) << ends[1].error.message();
    if (ends[0].done() && ends[1].done()) break;
    pollfd fds[2];
    for (int i = 0; i < 2; ++i)
      fds[i] = {ends[i].stream->native_handle(),
                static_cast<short>(POLLIN | (ends[i].wants_write() ? POLLOUT : 0)), 0};
    ::poll(fds, 2, 1000);
  }
  EXPECT_TRUE(ends[1].in == up);
  EXPECT_TRUE(ends[0].in == down);
  // The client's first write needed the server's handshake first; ciphertext stayed behind
  // after the last plaintext was taken, and the loop flushed it.
  EXPECT_TRUE(ends[0].saw_wait);
  EXPECT_TRUE(ends[0].saw_pending || ends[1].saw_pending);
  EXPECT_FALSE(client->write_waits_for_read());
}

TEST(tls_polled, memory_streams_are_not_pollable_through_tls_either) {
  auto [client, server] = memory_tls(pki().client_config(), pki().server_config());
  EXPECT_LT(client->native_handle(), 0);
}

// -- verification -----------------------------------------------------------------------------

TEST(tls_verify, untrusted_ca_fails_on_the_client_with_the_reason) {
  tls_config server = pki().server_config();
  server.certificate_chain = pem_source::from_text(pki().rogue_server.cert_pem);
  server.private_key = pem_source::from_text(pki().rogue_server.key_pem);
  auto [client, srv] = memory_tls(pki().client_config(), server);
  auto [c, s] = talk(*client, *srv);
  EXPECT_EQ(c.write_error, code(transport_errc::tls_verify_failed)) << c.write_error.message();
  EXPECT_EQ(c.read_error, code(transport_errc::tls_verify_failed));
  EXPECT_NE(c.description.find("unable to get local issuer certificate"), std::string::npos)
      << c.description;
  // The client's alert tells the server why.
  EXPECT_EQ(s.read_error, code(transport_errc::tls_handshake_failed)) << s.read_error.message();
  EXPECT_NE(s.description.find("unknown ca"), std::string::npos) << s.description;
  EXPECT_FALSE(client->verified_peer());
}

TEST(tls_verify, another_host_name_fails_on_the_client) {
  auto [client, server] = memory_tls(pki().client_config("elsewhere.test"), pki().server_config());
  auto [c, s] = talk(*client, *server);
  EXPECT_EQ(c.write_error, code(transport_errc::tls_verify_failed));
  EXPECT_NE(c.description.find("hostname mismatch"), std::string::npos) << c.description;
  EXPECT_TRUE(s.read_error);
}

TEST(tls_verify, an_address_is_checked_against_the_ip_names) {
  auto [client, server] = memory_tls(pki().client_config("127.0.0.1"), pki().server_config());
  auto [c, s] = talk(*client, *server);
  EXPECT_FALSE(c.write_error) << c.description;
  auto [client2, server2] = memory_tls(pki().client_config("127.0.0.2"), pki().server_config());
  auto [c2, s2] = talk(*client2, *server2);
  EXPECT_EQ(c2.write_error, code(transport_errc::tls_verify_failed)) << c2.description;
}

TEST(tls_verify, without_verification_any_certificate_goes_but_no_identity) {
  tls_config client = pki().client_config("");
  client.verify_peer = false;
  tls_config server = pki().server_config();
  server.certificate_chain = pem_source::from_text(pki().rogue_server.cert_pem);
  server.private_key = pem_source::from_text(pki().rogue_server.key_pem);
  server.verify_peer = false;
  auto [c, s] = memory_tls(client, server);
  auto [ca, sa] = talk(*c, *s);
  EXPECT_FALSE(ca.write_error) << ca.description;
  EXPECT_FALSE(ca.read_error) << ca.description;
  EXPECT_FALSE(c->verified_peer());
}

TEST(tls_verify, mutual_tls_refuses_a_client_without_certificate) {
  auto [client, server] =
      memory_tls(pki().client_config("server.test", false), pki().server_config(true));
  auto [c, s] = talk(*client, *server);
  EXPECT_EQ(s.read_error, code(transport_errc::tls_handshake_failed)) << s.description;
  EXPECT_NE(s.description.find("peer did not return a certificate"), std::string::npos)
      << s.description;
  // TLS 1.3: the client's side of the handshake is complete before the server looked at it;
  // the refusal arrives as an alert before any data, still a handshake failure.
  EXPECT_EQ(c.read_error, code(transport_errc::tls_handshake_failed)) << c.description;
  EXPECT_NE(c.description.find("certificate required"), std::string::npos) << c.description;
}

// -- identity ---------------------------------------------------------------------------------

TEST(tls_identity, both_ends_see_the_verified_peer) {
  auto [client, server] = memory_tls(pki().client_config(), pki().server_config(true));
  EXPECT_FALSE(client->verified_peer());  // no handshake yet
  auto [c, s] = talk(*client, *server);
  ASSERT_FALSE(c.write_error) << c.description;
  ASSERT_FALSE(s.read_error) << s.description;
  auto srv = client->verified_peer();
  ASSERT_TRUE(srv);
  EXPECT_EQ(srv->common_name, "server.test");
  EXPECT_EQ(srv->dns_names, (std::vector<std::string>{"server.test", "localhost"}));
  EXPECT_TRUE(srv->sha256 == pki().server.sha256);
  auto cli = server->verified_peer();
  ASSERT_TRUE(cli);
  EXPECT_EQ(cli->common_name, "client-7");
  EXPECT_EQ(cli->dns_names, std::vector<std::string>{"client-7.test"});
  EXPECT_TRUE(cli->sha256 == pki().client.sha256);
  EXPECT_EQ(cli->sha256_hex().size(), 64u);
}

// -- timeouts and the end ---------------------------------------------------------------------

TEST(tls_timeout, a_peer_that_never_speaks_times_out_the_blocking_handshake) {
  auto [a, silent] = make_memory_pair();
  tls_config cfg = pki().client_config();
  cfg.handshake_timeout = 200ms;
  auto client = wrap(std::move(a), cfg);
  const auto t0 = std::chrono::steady_clock::now();
  auto [c, unused] = [&] {
    attempt out;
    std::thread writer{[&] {
      const std::uint8_t x = 1;
      io_slice s{&x, 1};
      out.write_error = client->write(&s, 1);
    }};
    std::uint8_t buf[8];
    auto r = client->read(buf, sizeof buf);
    out.read_error = r ? std::error_code{} : r.error();
    writer.join();
    out.description = client->describe();
    return std::make_pair(out, 0);
  }();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(c.write_error, code(transport_errc::tls_handshake_timeout)) << c.write_error.message();
  EXPECT_EQ(c.read_error, code(transport_errc::tls_handshake_timeout)) << c.read_error.message();
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 5s);
  EXPECT_NE(c.description.find("no TLS handshake within 200 ms"), std::string::npos);
}

TEST(tls_end, close_notify_and_a_bare_end_both_read_as_end_of_stream) {
  for (bool notify : {true, false}) {
    auto [a, b] = socket_pair();
    auto client = wrap(std::move(a), pki().client_config());
    auto server = wrap(std::move(b), pki().server_config());
    auto written = std::async(std::launch::async, [&] {
      const std::uint8_t data[] = {1, 2, 3};
      io_slice s{data, sizeof data};
      auto e = client->write(&s, 1);
      if (notify)
        EXPECT_TRUE(client->shutdown_write());
      else
        client->close();  // a FIN with no close_notify before it
      return e;
    });
    auto got = read_exactly(*server, 3);
    EXPECT_EQ(got, (std::vector<std::uint8_t>{1, 2, 3}));
    EXPECT_FALSE(written.get());
    std::uint8_t buf[8];
    auto r = server->read(buf, sizeof buf);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), code(transport_errc::end_of_stream)) << notify;
  }
}

TEST(tls_end, after_close_notify_the_peer_can_still_answer) {
  auto [a, b] = socket_pair();
  auto client = wrap(std::move(a), pki().client_config());
  auto server = wrap(std::move(b), pki().server_config());
  auto done = std::async(std::launch::async, [&] {
    const std::uint8_t q = 'q';
    io_slice s{&q, 1};
    EXPECT_FALSE(client->write(&s, 1));
    EXPECT_TRUE(client->shutdown_write());
    return read_exactly(*client, 2);  // TLS 1.3 half-close: the answer still arrives
  });
  EXPECT_EQ(read_exactly(*server, 1), std::vector<std::uint8_t>{'q'});
  std::uint8_t buf[4];
  auto r = server->read(buf, sizeof buf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), code(transport_errc::end_of_stream));
  const std::uint8_t answer[] = {'o', 'k'};
  io_slice s{answer, sizeof answer};
  EXPECT_FALSE(server->write(&s, 1));
  EXPECT_EQ(done.get(), (std::vector<std::uint8_t>{'o', 'k'}));
}

}  // namespace
