#include <netcore/app/status.hpp>

namespace netcore::app {

namespace {

const char* known_name(status s) noexcept {
  switch (s) {
  case status::ok:
    return "ok";
  case status::not_found:
    return "not_found";
  case status::bad_request:
    return "bad_request";
  case status::deadline_exceeded:
    return "deadline_exceeded";
  case status::cancelled:
    return "cancelled";
  case status::unavailable:
    return "unavailable";
  case status::too_large:
    return "too_large";
  case status::internal:
    return "internal";
  case status::unauthenticated:
    return "unauthenticated";
  case status::permission_denied:
    return "permission_denied";
  case status::application_first:
    break;
  }
  return nullptr;
}

const char* describe(status s) noexcept {
  switch (s) {
  case status::ok:
    return "ok";
  case status::not_found:
    return "no such route";
  case status::bad_request:
    return "bad request";
  case status::deadline_exceeded:
    return "deadline exceeded";
  case status::cancelled:
    return "cancelled";
  case status::unavailable:
    return "unavailable, try again";
  case status::too_large:
    return "too large";
  case status::internal:
    return "internal error in the handler";
  case status::unauthenticated:
    return "unauthenticated";
  case status::permission_denied:
    return "permission denied";
  case status::application_first:
    break;
  }
  return nullptr;
}

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netcore.status"; }
  std::string message(int value) const override {
    const auto s = static_cast<status>(value);
    if (const char* d = describe(s)) return d;
    return to_string(s);
  }
};

}  // namespace

std::string to_string(status s) {
  if (const char* n = known_name(s)) return n;
  const auto v = std::to_string(static_cast<std::uint16_t>(s));
  return (is_application(s) ? "application_" : "unknown_") + v;
}

const std::error_category& status_category() noexcept {
  static const category c;
  return c;
}

}  // namespace netcore::app
