#pragma once

// The keys of the pre-shared-key handshake (docs/PROTOCOL.md, "Pre-session handshake"): a
// client holds one identity and its key, a server a lookup from identities to keys.

#include <netcore/transports/byte_stream.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace netcore::transports {

/// The shortest key accepted, in bytes (use 32 random bytes).
inline constexpr std::size_t psk_min_key = 16;
/// The longest identity, in bytes; identities are never empty.
inline constexpr std::size_t psk_max_identity = 128;

/// A client's pre-shared key: the identity it claims (sent in clear, so the server can hold
/// several keys) and the key that proves it (never sent).
struct psk_config {
  /// 1 to psk_max_identity bytes, any values.
  std::string identity;
  /// At least psk_min_key bytes.
  std::vector<std::uint8_t> key;
  /// How long the handshake may take in all, from its first byte to the server's answer.
  std::chrono::milliseconds timeout{10'000};
};

/// Empty when `config` is usable, else transport_errc::invalid_argument (an identity empty or
/// longer than psk_max_identity, a key shorter than psk_min_key, a timeout that is not positive).
std::error_code validate(const psk_config& config) noexcept;

/// The key of `identity`, or std::nullopt when the server knows no such identity. Called once
/// per handshake, on whichever thread drives it (an event loop for runtime acceptors): keep it
/// short and non-blocking. It must not throw (a throwing lookup counts as an unknown identity).
/// A key shorter than psk_min_key refuses the peer.
using psk_lookup =
    std::function<std::optional<std::vector<std::uint8_t>>(std::string_view identity)>;

/// The server side: every peer must prove that it holds the key of the identity it claims.
struct psk_server_config {
  /// Where keys come from (psk_key_table() for a fixed set).
  psk_lookup lookup;
  /// How long a peer has from the server's hello to its proof; beyond it the peer is dropped.
  std::chrono::milliseconds timeout{10'000};
};

/// Empty when `config` is usable, else transport_errc::invalid_argument (no lookup, a timeout
/// that is not positive).
std::error_code validate(const psk_server_config& config) noexcept;

/// A lookup over a fixed table of identities and keys (copied; shared by the lookup's copies).
/// Errors: transport_errc::invalid_argument for an empty or too long identity or a key shorter
/// than psk_min_key.
result<psk_lookup> psk_key_table(std::map<std::string, std::vector<std::uint8_t>> keys);

}  // namespace netcore::transports
