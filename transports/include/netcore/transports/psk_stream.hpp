#pragma once

// The pre-shared-key handshake over any byte stream, in blocking mode (docs/PROTOCOL.md,
// "Pre-session handshake"). Runtime acceptors run the same handshake on their event loop instead
// (connection_config::psk_server).

#include <netcore/transports/byte_stream.hpp>
#include <netcore/transports/psk_config.hpp>

#include <memory>

namespace netcore::transports {

/// Runs the client side of the handshake over `inner` on the calling thread and returns the
/// authenticated stream: `inner` itself behind a thin wrapper whose peer().psk_identity is
/// config.identity (a pollable `inner` stays pollable). Takes ownership of `inner`; on failure
/// it is closed and destroyed. Blocks for at most config.timeout: a helper thread closes `inner`
/// when it passes, which unblocks any read or write (every byte_stream's close() does).
/// Errors: transport_errc::invalid_argument (no stream, validate()), transport_errc::auth_failed
/// (the server refused the key, or does not hold it), transport_errc::auth_timeout,
/// transport_errc::auth_protocol_error (the peer does not speak the handshake, or ended the
/// stream in its middle), or the transport's own error.
result<std::unique_ptr<byte_stream>> psk_client(std::unique_ptr<byte_stream> inner,
                                                const psk_config& config);

/// Runs the server side over `inner` on the calling thread: as psk_client(), bounded by
/// config.timeout, and the returned stream's peer().psk_identity is the identity the client
/// proved. A refused client is told so (a refusal message) before `inner` is closed. `config` is
/// only used during the call. Errors: as psk_client(); transport_errc::auth_failed when the
/// client's identity is unknown or its proof wrong.
result<std::unique_ptr<byte_stream>> psk_server(std::unique_ptr<byte_stream> inner,
                                                const psk_server_config& config);

/// `inner` behind a wrapper that forwards every call and reports `peer` (for a handshake run by
/// someone else, e.g. a runtime's acceptor on its event loop). Takes ownership of `inner`.
std::unique_ptr<byte_stream> with_peer_identity(std::unique_ptr<byte_stream> inner,
                                                peer_identity peer);

}  // namespace netcore::transports
