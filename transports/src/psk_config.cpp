#include <netcore/transports/psk_config.hpp>

#include <memory>

namespace netcore::transports {

namespace {

bool valid_identity(std::string_view identity) noexcept {
  return !identity.empty() && identity.size() <= psk_max_identity;
}

}  // namespace

std::error_code validate(const psk_config& config) noexcept {
  if (!valid_identity(config.identity) || config.key.size() < psk_min_key ||
      config.timeout.count() <= 0)
    return transport_errc::invalid_argument;
  return {};
}

std::error_code validate(const psk_server_config& config) noexcept {
  if (!config.lookup || config.timeout.count() <= 0) return transport_errc::invalid_argument;
  return {};
}

result<psk_lookup> psk_key_table(std::map<std::string, std::vector<std::uint8_t>> keys) {
  for (const auto& [identity, key] : keys)
    if (!valid_identity(identity) || key.size() < psk_min_key)
      return std::error_code{transport_errc::invalid_argument};
  auto table =
      std::make_shared<const std::map<std::string, std::vector<std::uint8_t>, std::less<>>>(
          keys.begin(), keys.end());
  return psk_lookup{[table](std::string_view identity) -> std::optional<std::vector<std::uint8_t>> {
    if (auto i = table->find(identity); i != table->end()) return i->second;
    return std::nullopt;
  }};
}

}  // namespace netcore::transports
