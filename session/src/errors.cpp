#include <netcore/session/errors.hpp>

#include <string>

namespace netcore {

std::string_view to_string(runtime_errc e) noexcept {
  switch (e) {
  case runtime_errc::ok:
    return "ok";
  case runtime_errc::disconnected:
    return "disconnected";
  case runtime_errc::shutting_down:
    return "shutting_down";
  case runtime_errc::timed_out:
    return "timed_out";
  case runtime_errc::backpressure:
    return "backpressure";
  case runtime_errc::handshake_timeout:
    return "handshake_timeout";
  case runtime_errc::drain_timeout:
    return "drain_timeout";
  case runtime_errc::peer_going_away:
    return "peer_going_away";
  case runtime_errc::closed:
    return "closed";
  case runtime_errc::invalid_argument:
    return "invalid_argument";
  case runtime_errc::duplicate_id:
    return "duplicate_id";
  case runtime_errc::unknown_id:
    return "unknown_id";
  case runtime_errc::retries_exhausted:
    return "retries_exhausted";
  case runtime_errc::too_slow:
    return "too_slow";
  }
  return "unknown";
}

namespace {

const char* describe(runtime_errc e) noexcept {
  switch (e) {
  case runtime_errc::ok:
    return "success";
  case runtime_errc::disconnected:
    return "connection closed";
  case runtime_errc::shutting_down:
    return "connection closed locally";
  case runtime_errc::timed_out:
    return "timed out";
  case runtime_errc::backpressure:
    return "outgoing queue full";
  case runtime_errc::handshake_timeout:
    return "peer did not complete the handshake in time";
  case runtime_errc::drain_timeout:
    return "graceful close ran past its deadline";
  case runtime_errc::peer_going_away:
    return "peer is going away and accepts no new messages";
  case runtime_errc::closed:
    return "connection has ended";
  case runtime_errc::invalid_argument:
    return "invalid argument";
  case runtime_errc::duplicate_id:
    return "message id already in use";
  case runtime_errc::unknown_id:
    return "no open outgoing message with that id";
  case runtime_errc::retries_exhausted:
    return "no acknowledgement from the peer after every retransmission";
  case runtime_errc::too_slow:
    return "peer sent below the minimum data rate";
  }
  return nullptr;
}

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netcore.runtime"; }
  std::string message(int value) const override {
    if (const char* text = describe(static_cast<runtime_errc>(value))) return text;
    return "unknown netcore runtime error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& runtime_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace netcore
