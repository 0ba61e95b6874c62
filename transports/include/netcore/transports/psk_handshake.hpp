#pragma once

#include <netcore/protocol/bytes.hpp>
#include <netcore/transports/byte_stream.hpp>
#include <netcore/transports/psk_config.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <vector>

namespace netcore::transports {

/// One end of the pre-session pre-shared-key handshake (docs/PROTOCOL.md, "Pre-session
/// handshake"), sans I/O: no socket, no thread, no clock. Its owner moves bytes: it sends
/// output(), reports what went out with sent(), reads at most wanted() bytes and hands them to
/// feed(), and bounds the whole exchange with its own timer.
///
/// The server sends a hello with a fresh nonce; the client answers with its nonce, its identity
/// and an HMAC-SHA256 over both nonces and the identity; the server checks it and answers with
/// its own HMAC (or a refusal), which the client checks. Both sides prove the key, and both
/// nonces make every exchange unique, so a recorded one cannot be replayed.
///
/// Memory is fixed: no allocation after construction on the server (the lookup's key is
/// wiped after use); a client keeps a copy of its key until the server's hello arrives.
class psk_handshake {
 public:
  enum class role : std::uint8_t { client, server };
  enum class state : std::uint8_t {
    running,  ///< More to read (wanted() > 0) or to send.
    done,     ///< Authenticated; send what is left in output(), then the stream is the session's.
    failed,   ///< error() says why; send what is left in output() (a refusal), then close.
  };

  /// The longest message either side sends or accepts, in bytes.
  static constexpr std::size_t max_message = 8 + 32 + psk_max_identity + 32;

  /// A client proving `config`'s identity with its key (both copied). Errors:
  /// transport_errc::invalid_argument (see validate()), std::errc::io_error when the system's
  /// random generator fails.
  static result<psk_handshake> client(const psk_config& config);
  /// A server checking peers against `config.lookup`; its hello is in output() at once.
  /// `config` must outlive the handshake (feed() calls the lookup). Errors: as client().
  static result<psk_handshake> server(const psk_server_config& config);

  ~psk_handshake();
  psk_handshake(psk_handshake&&) noexcept;
  psk_handshake& operator=(psk_handshake&&) noexcept;
  psk_handshake(const psk_handshake&) = delete;
  psk_handshake& operator=(const psk_handshake&) = delete;

  role which() const noexcept { return role_; }
  state status() const noexcept { return state_; }

  /// Bytes to send now, in order (empty when there is nothing to send). The view stays valid
  /// until the next call of sent() or feed().
  protocol::byte_view output() const noexcept;
  /// The first `n` bytes of output() were sent (clamped to its size).
  void sent(std::size_t n) noexcept;

  /// How many bytes the next step needs: read at most that many, so that no byte after the
  /// handshake (the session's first frames) is taken from the stream. 0 once done or failed.
  std::size_t wanted() const noexcept;
  /// Takes up to wanted() bytes from the front of `in` and returns how many it took (0 once
  /// done or failed). A bad message fails the handshake: transport_errc::auth_failed (wrong key,
  /// unknown identity, the server's refusal), transport_errc::auth_protocol_error (bad magic,
  /// version, type, length, reserved bits, or a message of the wrong role).
  std::size_t feed(protocol::byte_view in);
  /// The stream ended: a handshake still running fails with transport_errc::auth_protocol_error.
  void end_of_stream() noexcept;

  /// Why the handshake failed (empty unless status() is failed).
  std::error_code error() const noexcept { return error_; }
  /// The identity both ends agreed on: the client's own, or the one the server authenticated.
  /// Empty until status() is done.
  std::string_view identity() const noexcept;

 private:
  explicit psk_handshake(role r) noexcept;
  void on_header();
  void on_message();
  void on_hello();
  void on_proof();
  void on_answer();
  void fail(std::error_code e, std::uint16_t refusal) noexcept;
  void put(std::uint8_t type, std::uint16_t field, protocol::byte_view a, protocol::byte_view b);

  role role_;
  state state_ = state::running;
  std::error_code error_;
  const psk_server_config* server_ = nullptr;
  std::vector<std::uint8_t> key_;  // client: until the server's hello
  std::array<std::uint8_t, 32> server_nonce_{};
  std::array<std::uint8_t, 32> client_nonce_{};
  std::array<std::uint8_t, 32> expected_{};  // client: the server's answer it waits for
  bool got_hello_ = false;                   // client: the server's hello arrived
  std::array<char, psk_max_identity> identity_{};
  std::size_t identity_size_ = 0;
  std::array<std::uint8_t, max_message> in_{};
  std::size_t in_size_ = 0;
  std::size_t in_need_ = 0;  // bytes of the message being read (its header until that is in)
  std::array<std::uint8_t, max_message> out_{};  // a proof; or a hello and an answer (80)
  std::size_t out_begin_ = 0;
  std::size_t out_end_ = 0;
};

}  // namespace netcore::transports
