#pragma once

#include <string>

namespace netcore::transports {

/// What a stream's pre-session handshake established about the peer (docs/PROTOCOL.md,
/// "Pre-session handshake"). A field stays empty when no handshake established it; a plain
/// stream's peer is entirely unknown. Copied by value; it holds no key material.
struct peer_identity {
  /// The key identity a pre-shared-key handshake authenticated: the identity the client sent
  /// and the server found a key for. Both ends see the same one; never empty after a successful
  /// PSK handshake (identities are 1 to psk_max_identity bytes).
  std::string psk_identity;
};

}  // namespace netcore::transports
