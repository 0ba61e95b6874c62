#include <netcore/actors/errors.hpp>

#include <caf/sec.hpp>

namespace netcore {

namespace {

caf::error make(int value, caf::atom_value category) {
  if (value <= 0 || value > 255)
    return caf::error{static_cast<std::uint8_t>(runtime_errc::invalid_argument),
                      caf_category::runtime};
  return caf::error{static_cast<std::uint8_t>(value), category};
}

}  // namespace

caf::error to_caf_error(std::error_code ec) {
  if (!ec) return caf::error{};
  const auto& cat = ec.category();
  if (cat == protocol::protocol_category()) return make(ec.value(), caf_category::wire);
  if (cat == runtime_category()) return make(ec.value(), caf_category::runtime);
  if (cat == transport_category()) return make(ec.value(), caf_category::transport);
  if (cat == std::system_category() || cat == std::generic_category())
    return make(ec.value(), caf_category::system);
  return make(static_cast<int>(runtime_errc::invalid_argument), caf_category::runtime);
}

std::error_code to_error_code(const caf::error& e) {
  if (!e) return {};
  const auto cat = e.category();
  const int code = e.code();
  if (cat == caf_category::wire) return {code, protocol::protocol_category()};
  if (cat == caf_category::runtime) return {code, runtime_category()};
  if (cat == caf_category::transport) return {code, transport_category()};
  if (cat == caf_category::system) return {code, std::system_category()};
  if (cat == caf::atom("system")) {
    switch (static_cast<caf::sec>(code)) {
    case caf::sec::request_timeout:
      return runtime_errc::timed_out;
    default:
      return runtime_errc::closed;  // the actor went away, the request was refused, ...
    }
  }
  return runtime_errc::closed;
}

caf::error make_error(runtime_errc e) {
  return to_caf_error(e);
}

caf::error make_error(transport_errc e) {
  return to_caf_error(e);
}

}  // namespace netcore

namespace netcore::protocol {
caf::error make_error(errc e) {
  return to_caf_error(e);
}
}  // namespace netcore::protocol
