// The pure pre-shared-key handshake: two ends back to back in memory, and a hostile peer that
// sends wrong keys, garbage, truncated, oversized, replayed and wrong-role messages.

#include <netcore/transports/psk_handshake.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using netcore::transport_errc;
using netcore::protocol::byte_view;
using netcore::transports::psk_config;
using netcore::transports::psk_handshake;
using netcore::transports::psk_key_table;
using netcore::transports::psk_lookup;
using netcore::transports::psk_server_config;
using bytes = std::vector<std::uint8_t>;
using state = psk_handshake::state;

const bytes alice_key(32, 0xA1);
const bytes bob_key(20, 0xB2);

psk_config alice(bytes key = alice_key) {
  return {"alice", std::move(key), std::chrono::milliseconds{1000}};
}

psk_server_config table() {
  auto lookup = psk_key_table({{"alice", alice_key}, {"bob", bob_key}});
  EXPECT_TRUE(lookup);
  return {*lookup, std::chrono::milliseconds{1000}};
}

psk_handshake make_client(const psk_config& c) {
  auto h = psk_handshake::client(c);
  EXPECT_TRUE(h) << h.error().message();
  return std::move(*h);
}

psk_handshake make_server(const psk_server_config& c) {
  auto h = psk_handshake::server(c);
  EXPECT_TRUE(h) << h.error().message();
  return std::move(*h);
}

/// Everything `from` has to send, as if written in full.
bytes take(psk_handshake& from) {
  const auto out = from.output();
  bytes b(out.begin(), out.end());
  from.sent(b.size());
  return b;
}

/// The hello of a new server of `sc`.
bytes hello_of(const psk_server_config& sc) {
  auto server = make_server(sc);
  return take(server);
}

/// Feeds `b` to `to` in pieces of `piece` bytes; returns the bytes it took.
std::size_t give(psk_handshake& to, const bytes& b, std::size_t piece = SIZE_MAX) {
  std::size_t taken = 0;
  while (taken < b.size()) {
    const auto n = to.feed(byte_view{b.data() + taken, std::min(piece, b.size() - taken)});
    if (n == 0) break;
    taken += n;
  }
  return taken;
}

/// Moves bytes between the two ends until neither has anything left to say.
void run(psk_handshake& a, psk_handshake& b, std::size_t piece = SIZE_MAX) {
  for (int round = 0; round < 10; ++round) {
    const auto to_b = take(a);
    const auto to_a = take(b);
    if (to_a.empty() && to_b.empty()) return;
    give(b, to_b, piece);
    give(a, to_a, piece);
  }
}

TEST(PskHandshake, MatchingKeysAuthenticateBothEnds) {
  const auto sc = table();
  auto server = make_server(sc);
  auto client = make_client(alice());
  EXPECT_EQ(client.identity(), "") << "no identity before the end";
  run(client, server);
  EXPECT_EQ(server.status(), state::done);
  EXPECT_EQ(client.status(), state::done);
  EXPECT_EQ(server.identity(), "alice");
  EXPECT_EQ(client.identity(), "alice");
  EXPECT_TRUE(server.output().empty());
  EXPECT_TRUE(client.output().empty());
  EXPECT_EQ(server.wanted(), 0u);
  EXPECT_EQ(client.wanted(), 0u);
}

TEST(PskHandshake, MessagesSplitAtEveryByteStillAuthenticate) {
  const auto sc = table();
  auto server = make_server(sc);
  auto client = make_client({"bob", bob_key, std::chrono::milliseconds{1}});
  run(client, server, 1);
  EXPECT_EQ(server.status(), state::done);
  EXPECT_EQ(client.status(), state::done);
  EXPECT_EQ(server.identity(), "bob");
}

TEST(PskHandshake, MessagesHaveTheirDocumentedSizes) {
  const auto sc = table();
  auto server = make_server(sc);
  auto client = make_client(alice());
  EXPECT_TRUE(client.output().empty()) << "the server speaks first";
  EXPECT_EQ(client.wanted(), 8u) << "a header first";
  const auto hello = take(server);
  ASSERT_EQ(hello.size(), 40u);
  EXPECT_EQ(std::string(hello.begin(), hello.begin() + 4), "NCPK");
  EXPECT_EQ(hello[4], 1);
  EXPECT_EQ(hello[5], 1);
  EXPECT_EQ(give(client, hello), 40u);
  const auto proof = take(client);
  EXPECT_EQ(proof.size(), 8u + 32u + 5u + 32u);
  EXPECT_EQ(give(server, proof), proof.size());
  EXPECT_EQ(server.output().size(), 40u);
}

TEST(PskHandshake, NoByteAfterTheHandshakeIsTaken) {
  const auto sc = table();
  auto server = make_server(sc);
  auto client = make_client(alice());
  give(client, take(server));
  give(server, take(client));
  auto answer = take(server);
  answer.insert(answer.end(), {0x4E, 0x43, 0x01, 0x0A});  // the session's first frame
  EXPECT_EQ(give(client, answer), 40u);
  EXPECT_EQ(client.status(), state::done);
  EXPECT_EQ(client.feed(byte_view{answer.data() + 40, 4}), 0u);
}

TEST(PskHandshake, EveryExchangeUsesFreshNonces) {
  const auto sc = table();
  auto a = make_server(sc);
  auto b = make_server(sc);
  EXPECT_NE(take(a), take(b));
}

TEST(PskHandshake, AWrongKeyIsRefusedAndTheClientLearnsIt) {
  const auto sc = table();
  auto server = make_server(sc);
  auto client = make_client(alice(bytes(32, 0x55)));
  give(client, take(server));
  give(server, take(client));
  EXPECT_EQ(server.status(), state::failed);
  EXPECT_EQ(server.error(), std::error_code{transport_errc::auth_failed});
  EXPECT_EQ(server.identity(), "");
  const auto refusal = take(server);
  ASSERT_EQ(refusal.size(), 40u);
  EXPECT_EQ(refusal[5], 4);
  give(client, refusal);
  EXPECT_EQ(client.status(), state::failed);
  EXPECT_EQ(client.error(), std::error_code{transport_errc::auth_failed});
}

TEST(PskHandshake, AnUnknownIdentityIsRefusedLikeAWrongKey) {
  const auto sc = table();
  auto server = make_server(sc);
  auto client = make_client({"mallory", alice_key, std::chrono::milliseconds{1000}});
  run(client, server);
  EXPECT_EQ(server.error(), std::error_code{transport_errc::auth_failed});
  EXPECT_EQ(client.error(), std::error_code{transport_errc::auth_failed});
}

TEST(PskHandshake, AThrowingLookupOrAShortKeyRefusesThePeer) {
  psk_server_config throwing{
      [](std::string_view) -> std::optional<bytes> { throw std::runtime_error{"database down"}; },
      std::chrono::milliseconds{1000}};
  psk_server_config short_key{[](std::string_view) -> std::optional<bytes> { return bytes(8, 1); },
                              std::chrono::milliseconds{1000}};
  for (const auto* sc : {&throwing, &short_key}) {
    auto server = make_server(*sc);
    auto c = make_client(alice());
    run(c, server);
    EXPECT_EQ(server.error(), std::error_code{transport_errc::auth_failed});
    EXPECT_EQ(c.error(), std::error_code{transport_errc::auth_failed});
  }
}

TEST(PskHandshake, AServerWithoutTheKeyIsRefusedByTheClient) {
  // A server that knows another key for alice: it refuses her, and a forged accept (any MAC)
  // fails at the client.
  auto other = psk_key_table({{"alice", bytes(32, 0x77)}});
  ASSERT_TRUE(other);
  psk_server_config sc{*other, std::chrono::milliseconds{1000}};
  auto server = make_server(sc);
  auto client = make_client(alice());
  give(client, take(server));
  (void)take(client);
  bytes forged = {'N', 'C', 'P', 'K', 1, 3, 0, 0};
  forged.resize(40, 0x42);
  give(client, forged);
  EXPECT_EQ(client.status(), state::failed);
  EXPECT_EQ(client.error(), std::error_code{transport_errc::auth_failed});
}

TEST(PskHandshake, ARecordedProofCannotBeReplayed) {
  const auto sc = table();
  auto server1 = make_server(sc);
  auto client1 = make_client(alice());
  give(client1, take(server1));
  const auto proof = take(client1);
  give(server1, proof);
  const auto answer = take(server1);
  ASSERT_EQ(server1.status(), state::done);
  // The attacker replays the proof to a new server: its nonce differs, so the MAC does not fit.
  auto server2 = make_server(sc);
  (void)take(server2);
  give(server2, proof);
  EXPECT_EQ(server2.error(), std::error_code{transport_errc::auth_failed});
  // And replays the old answer to a new client: its nonce differs too.
  auto client2 = make_client(alice());
  auto server3 = make_server(sc);
  give(client2, take(server3));
  (void)take(client2);
  give(client2, answer);
  EXPECT_EQ(client2.error(), std::error_code{transport_errc::auth_failed});
}

TEST(PskHandshake, GarbageIsAProtocolErrorAtOnce) {
  const auto sc = table();
  const bytes garbage = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P'};
  auto server = make_server(sc);
  (void)take(server);
  EXPECT_EQ(give(server, garbage), 8u) << "the header decides";
  EXPECT_EQ(server.error(), std::error_code{transport_errc::auth_protocol_error});
  const auto refusal = take(server);
  ASSERT_EQ(refusal.size(), 40u);
  auto client = make_client(alice());
  EXPECT_EQ(give(client, garbage), 8u);
  EXPECT_EQ(client.error(), std::error_code{transport_errc::auth_protocol_error});
  // A client that hears the server's "malformed" refusal reports a protocol error too.
  auto c2 = make_client(alice());
  give(c2, hello_of(sc));
  (void)take(c2);
  give(c2, refusal);
  EXPECT_EQ(c2.error(), std::error_code{transport_errc::auth_protocol_error});
}

TEST(PskHandshake, AnotherVersionOrNonzeroReservedBitsAreProtocolErrors) {
  const auto sc = table();
  auto server = make_server(sc);
  auto hello = take(server);
  auto v2 = hello;
  v2[4] = 2;
  auto client = make_client(alice());
  give(client, v2);
  EXPECT_EQ(client.error(), std::error_code{transport_errc::auth_protocol_error});
  auto reserved = hello;
  reserved[6] = 1;
  auto c2 = make_client(alice());
  give(c2, reserved);
  EXPECT_EQ(c2.error(), std::error_code{transport_errc::auth_protocol_error});
}

TEST(PskHandshake, TruncatedMessagesWaitThenFailAtTheEndOfTheStream) {
  const auto sc = table();
  auto server = make_server(sc);
  auto client = make_client(alice());
  give(client, take(server));
  auto proof = take(client);
  proof.resize(proof.size() - 1);
  EXPECT_EQ(give(server, proof), proof.size());
  EXPECT_EQ(server.status(), state::running);
  EXPECT_EQ(server.wanted(), 1u);
  server.end_of_stream();
  EXPECT_EQ(server.error(), std::error_code{transport_errc::auth_protocol_error});
  client.end_of_stream();
  EXPECT_EQ(client.error(), std::error_code{transport_errc::auth_protocol_error});
}

TEST(PskHandshake, OversizedOrEmptyIdentitiesFailOnTheHeader) {
  const auto sc = table();
  for (std::uint16_t length : {std::uint16_t{129}, std::uint16_t{0}, std::uint16_t{0xFFFF}}) {
    auto server = make_server(sc);
    (void)take(server);
    bytes header = {'N',
                    'C',
                    'P',
                    'K',
                    1,
                    2,
                    static_cast<std::uint8_t>(length & 0xFF),
                    static_cast<std::uint8_t>(length >> 8)};
    header.resize(300, 0);
    EXPECT_EQ(give(server, header), 8u) << length;
    EXPECT_EQ(server.error(), std::error_code{transport_errc::auth_protocol_error}) << length;
    EXPECT_EQ(server.wanted(), 0u);
  }
}

TEST(PskHandshake, MessagesOfTheWrongRoleAreProtocolErrors) {
  const auto sc = table();
  // Two servers: each hears a hello where it waits for a proof.
  auto a = make_server(sc);
  auto b = make_server(sc);
  run(a, b);
  EXPECT_EQ(a.error(), std::error_code{transport_errc::auth_protocol_error});
  EXPECT_EQ(b.error(), std::error_code{transport_errc::auth_protocol_error});
  // A client that hears a proof instead of a hello.
  auto server = make_server(sc);
  auto c1 = make_client(alice());
  give(c1, take(server));
  auto c2 = make_client(alice());
  give(c2, take(c1));
  EXPECT_EQ(c2.error(), std::error_code{transport_errc::auth_protocol_error});
  // A client that hears a second hello instead of the answer.
  auto c3 = make_client(alice());
  const auto hello = hello_of(sc);
  give(c3, hello);
  give(c3, hello);
  EXPECT_EQ(c3.error(), std::error_code{transport_errc::auth_protocol_error});
  // Two clients wait for each other: nothing to say, the owner's timeout ends them.
  auto d1 = make_client(alice());
  auto d2 = make_client(alice());
  run(d1, d2);
  EXPECT_EQ(d1.status(), state::running);
  EXPECT_EQ(d2.status(), state::running);
}

TEST(PskHandshake, NothingIsTakenOnceFinished) {
  const auto sc = table();
  auto server = make_server(sc);
  auto client = make_client(alice());
  run(client, server);
  const bytes more(40, 1);
  EXPECT_EQ(server.feed(more), 0u);
  EXPECT_EQ(client.feed(more), 0u);
  server.end_of_stream();
  EXPECT_EQ(server.status(), state::done);
}

TEST(PskHandshake, UnusableConfigurationsAreTypedErrors) {
  const std::error_code invalid{transport_errc::invalid_argument};
  EXPECT_EQ(psk_handshake::client(alice(bytes(15, 1))).error(), invalid);
  EXPECT_EQ(psk_handshake::client({"", alice_key, std::chrono::milliseconds{1}}).error(), invalid);
  EXPECT_EQ(psk_handshake::client({std::string(129, 'x'), alice_key, std::chrono::milliseconds{1}})
                .error(),
            invalid);
  EXPECT_EQ(psk_handshake::client({"alice", alice_key, std::chrono::milliseconds{0}}).error(),
            invalid);
  EXPECT_TRUE(
      psk_handshake::client({std::string(128, 'x'), bytes(16, 1), std::chrono::milliseconds{1}}));
  EXPECT_EQ(psk_handshake::server(psk_server_config{}).error(), invalid);
  EXPECT_EQ(psk_key_table({{"alice", bytes(15, 1)}}).error(), invalid);
  EXPECT_EQ(psk_key_table({{"", alice_key}}).error(), invalid);
}

TEST(PskHandshake, ErrorsHaveNames) {
  EXPECT_EQ(netcore::to_string(transport_errc::auth_failed), "auth_failed");
  EXPECT_EQ(netcore::to_string(transport_errc::auth_timeout), "auth_timeout");
  EXPECT_EQ(netcore::to_string(transport_errc::auth_protocol_error), "auth_protocol_error");
  EXPECT_EQ(std::error_code{transport_errc::auth_failed}.message(), "authentication failed");
  EXPECT_FALSE(netcore::is_disconnect(transport_errc::auth_failed));
}

}  // namespace
