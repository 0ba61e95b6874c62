#include <netcore/app/route_errors.hpp>

#include <string>

namespace netcore::app {

std::string_view to_string(route_errc e) noexcept {
  switch (e) {
  case route_errc::ok:
    return "ok";
  case route_errc::invalid_name:
    return "invalid_name";
  case route_errc::invalid_id:
    return "invalid_id";
  case route_errc::duplicate:
    return "duplicate";
  case route_errc::not_found:
    return "not_found";
  case route_errc::unknown_blueprint:
    return "unknown_blueprint";
  case route_errc::too_many_routes:
    return "too_many_routes";
  case route_errc::too_many_blueprints:
    return "too_many_blueprints";
  case route_errc::too_deep:
    return "too_deep";
  }
  return "unknown";
}

namespace {

const char* describe(route_errc e) noexcept {
  switch (e) {
  case route_errc::ok:
    return "success";
  case route_errc::invalid_name:
    return "invalid route name or prefix";
  case route_errc::invalid_id:
    return "invalid id";
  case route_errc::duplicate:
    return "already registered";
  case route_errc::not_found:
    return "not registered";
  case route_errc::unknown_blueprint:
    return "no such blueprint";
  case route_errc::too_many_routes:
    return "too many routes";
  case route_errc::too_many_blueprints:
    return "too many blueprints";
  case route_errc::too_deep:
    return "blueprints nested too deeply";
  }
  return nullptr;
}

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netcore.route"; }
  std::string message(int value) const override {
    const auto e = static_cast<route_errc>(value);
    if (const char* d = describe(e)) return d;
    return "unknown route error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& route_category() noexcept {
  static const category c;
  return c;
}

}  // namespace netcore::app
