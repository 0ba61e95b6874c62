#include <netcore/transports/psk_handshake.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace netcore::transports {

namespace {

// Every message: magic "NCPK", version, type, a u16 field (LE), then the type's body.
constexpr std::uint8_t magic[4] = {0x4E, 0x43, 0x50, 0x4B};
constexpr std::uint8_t version = 1;
constexpr std::size_t header_size = 8;
constexpr std::size_t nonce_size = 32;
constexpr std::size_t mac_size = 32;

enum message_type : std::uint8_t {
  server_hello = 1,   // field 0; server nonce
  client_proof = 2,   // field = identity length; client nonce, identity, client MAC
  server_accept = 3,  // field 0; server MAC
  server_refuse = 4,  // field = refusal code; 32 zero bytes
};

enum refusal_code : std::uint16_t { refused_key = 1, refused_malformed = 2 };

constexpr std::size_t fixed_size = header_size + 32;  // hello, accept and refuse

constexpr char client_label[] = "netcore psk client";
constexpr char server_label[] = "netcore psk server";
constexpr std::size_t label_size = sizeof client_label - 1;
static_assert(sizeof client_label == sizeof server_label);

using mac = std::array<std::uint8_t, mac_size>;

/// HMAC-SHA256(key, label || version || server nonce || client nonce || u16 length || identity).
std::optional<mac> transcript_mac(protocol::byte_view key, const char* label,
                                  const std::array<std::uint8_t, 32>& server_nonce,
                                  const std::array<std::uint8_t, 32>& client_nonce,
                                  std::string_view identity) {
  std::array<std::uint8_t, label_size + 1 + 2 * nonce_size + 2 + psk_max_identity> text{};
  std::size_t n = 0;
  std::memcpy(text.data(), label, label_size);
  n += label_size;
  text[n++] = version;
  std::memcpy(text.data() + n, server_nonce.data(), nonce_size);
  n += nonce_size;
  std::memcpy(text.data() + n, client_nonce.data(), nonce_size);
  n += nonce_size;
  protocol::store_le(text.data() + n, identity.size(), 2);
  n += 2;
  std::memcpy(text.data() + n, identity.data(), identity.size());
  n += identity.size();
  mac out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), text.data(), n, out.data(),
           &len) == nullptr ||
      len != mac_size)
    return std::nullopt;
  return out;
}

bool random_nonce(std::array<std::uint8_t, 32>& nonce) {
  return RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) == 1;
}

}  // namespace

psk_handshake::psk_handshake(role r) noexcept : role_(r), in_need_(header_size) {}

psk_handshake::~psk_handshake() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

psk_handshake::psk_handshake(psk_handshake&& other) noexcept = default;
psk_handshake& psk_handshake::operator=(psk_handshake&& other) noexcept = default;

result<psk_handshake> psk_handshake::client(const psk_config& config) {
  if (auto e = validate(config)) return e;
  psk_handshake h{role::client};
  if (!random_nonce(h.client_nonce_)) return std::make_error_code(std::errc::io_error);
  h.key_ = config.key;
  std::memcpy(h.identity_.data(), config.identity.data(), config.identity.size());
  h.identity_size_ = config.identity.size();
  return h;
}

result<psk_handshake> psk_handshake::server(const psk_server_config& config) {
  if (auto e = validate(config)) return e;
  psk_handshake h{role::server};
  if (!random_nonce(h.server_nonce_)) return std::make_error_code(std::errc::io_error);
  h.server_ = &config;
  h.put(server_hello, 0, {h.server_nonce_.data(), nonce_size}, {});
  return h;
}

protocol::byte_view psk_handshake::output() const noexcept {
  return {out_.data() + out_begin_, out_end_ - out_begin_};
}

void psk_handshake::sent(std::size_t n) noexcept {
  out_begin_ += std::min(n, out_end_ - out_begin_);
  if (out_begin_ == out_end_) out_begin_ = out_end_ = 0;
}

std::size_t psk_handshake::wanted() const noexcept {
  return state_ == state::running ? in_need_ - in_size_ : 0;
}

std::string_view psk_handshake::identity() const noexcept {
  if (state_ != state::done) return {};
  return {identity_.data(), identity_size_};
}

std::size_t psk_handshake::feed(protocol::byte_view in) {
  std::size_t taken = 0;
  while (state_ == state::running && taken < in.size()) {
    const std::size_t n = std::min(in_need_ - in_size_, in.size() - taken);
    std::memcpy(in_.data() + in_size_, in.data() + taken, n);
    in_size_ += n;
    taken += n;
    if (in_size_ < in_need_) break;
    if (in_size_ == header_size) {
      on_header();  // sets in_need_ to the whole message (every type has a body), or fails
      continue;
    }
    on_message();
    in_size_ = 0;
    in_need_ = header_size;
  }
  return taken;
}

void psk_handshake::end_of_stream() noexcept {
  if (state_ == state::running) fail(transport_errc::auth_protocol_error, 0);
}

void psk_handshake::on_header() {
  const std::uint8_t type = in_[5];
  const auto field = static_cast<std::uint16_t>(protocol::load_le(in_.data() + 6, 2));
  if (std::memcmp(in_.data(), magic, sizeof magic) != 0 || in_[4] != version) {
    fail(transport_errc::auth_protocol_error, refused_malformed);
    return;
  }
  bool valid = false;
  std::size_t size = fixed_size;
  if (role_ == role::server) {
    valid = type == client_proof && field >= 1 && field <= psk_max_identity;
    size = header_size + nonce_size + field + mac_size;
  } else if (!got_hello_) {
    valid = type == server_hello && field == 0;
  } else {
    valid = (type == server_accept && field == 0) || type == server_refuse;
  }
  if (!valid) {
    fail(transport_errc::auth_protocol_error, refused_malformed);
    return;
  }
  in_need_ = size;
}

void psk_handshake::on_message() {
  switch (in_[5]) {
  case server_hello:
    on_hello();
    break;
  case client_proof:
    on_proof();
    break;
  default:
    on_answer();
    break;
  }
}

void psk_handshake::on_hello() {
  got_hello_ = true;
  std::memcpy(server_nonce_.data(), in_.data() + header_size, nonce_size);
  const std::string_view id{identity_.data(), identity_size_};
  const auto proof = transcript_mac(key_, client_label, server_nonce_, client_nonce_, id);
  const auto answer = transcript_mac(key_, server_label, server_nonce_, client_nonce_, id);
  OPENSSL_cleanse(key_.data(), key_.size());
  key_.clear();
  if (!proof || !answer) {
    fail(std::make_error_code(std::errc::io_error), 0);
    return;
  }
  expected_ = *answer;
  // The proof: client nonce, identity, MAC (written in two parts to stay within out_).
  put(client_proof, static_cast<std::uint16_t>(identity_size_), {client_nonce_.data(), nonce_size},
      {reinterpret_cast<const std::uint8_t*>(id.data()), id.size()});
  std::memcpy(out_.data() + out_end_, proof->data(), mac_size);
  out_end_ += mac_size;
}

void psk_handshake::on_proof() {
  const std::size_t id_size = in_need_ - header_size - nonce_size - mac_size;
  std::memcpy(client_nonce_.data(), in_.data() + header_size, nonce_size);
  const std::string_view id{reinterpret_cast<const char*>(in_.data()) + header_size + nonce_size,
                            id_size};
  const std::uint8_t* claimed = in_.data() + header_size + nonce_size + id_size;
  std::optional<std::vector<std::uint8_t>> key;
  try {
    key = server_->lookup(id);
  } catch (...) {
    key.reset();  // a throwing lookup knows no such identity
  }
  // An unknown identity costs the same HMAC as a known one (with a key nobody holds), so the
  // time of the refusal does not tell which identities exist.
  static const std::array<std::uint8_t, psk_min_key> nobody{};
  const bool known = key && key->size() >= psk_min_key;
  const protocol::byte_view k =
      known ? protocol::byte_view{*key} : protocol::byte_view{nobody.data(), nobody.size()};
  const auto expected = transcript_mac(k, client_label, server_nonce_, client_nonce_, id);
  const auto answer = transcript_mac(k, server_label, server_nonce_, client_nonce_, id);
  if (key) OPENSSL_cleanse(key->data(), key->size());
  const bool match = expected && CRYPTO_memcmp(expected->data(), claimed, mac_size) == 0;
  if (!known || !match || !answer) {
    fail(transport_errc::auth_failed, refused_key);
    return;
  }
  std::memcpy(identity_.data(), id.data(), id_size);
  identity_size_ = id_size;
  put(server_accept, 0, {answer->data(), mac_size}, {});
  state_ = state::done;
}

void psk_handshake::on_answer() {
  if (in_[5] == server_refuse) {
    const auto code = protocol::load_le(in_.data() + 6, 2);
    fail(code == refused_malformed ? transport_errc::auth_protocol_error
                                   : transport_errc::auth_failed,
         0);
    return;
  }
  if (CRYPTO_memcmp(expected_.data(), in_.data() + header_size, mac_size) != 0) {
    fail(transport_errc::auth_failed, 0);
    return;
  }
  state_ = state::done;
}

void psk_handshake::fail(std::error_code e, std::uint16_t refusal) noexcept {
  state_ = state::failed;
  error_ = e;
  OPENSSL_cleanse(key_.data(), key_.size());
  // Only a server answers (after its hello, if that is still unsent: out_ holds both).
  if (role_ == role::server && refusal != 0) {
    static const std::array<std::uint8_t, 32> zeros{};
    put(server_refuse, refusal, {zeros.data(), zeros.size()}, {});
  }
}

void psk_handshake::put(std::uint8_t type, std::uint16_t field, protocol::byte_view a,
                        protocol::byte_view b) {
  std::uint8_t* p = out_.data() + out_end_;
  std::memcpy(p, magic, sizeof magic);
  p[4] = version;
  p[5] = type;
  protocol::store_le(p + 6, field, 2);
  std::memcpy(p + header_size, a.data(), a.size());
  if (!b.empty()) std::memcpy(p + header_size + a.size(), b.data(), b.size());
  out_end_ += header_size + a.size() + b.size();
}

}  // namespace netcore::transports
