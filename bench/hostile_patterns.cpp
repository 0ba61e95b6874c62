#include "hostile_patterns.hpp"

#include <algorithm>

namespace netcore::bench::hostile {

namespace {

constexpr double mib = 1024.0 * 1024.0;
/// A connection's own state, which no limit names: the per-connection budget of P7.
constexpr double connection_state = 64.0 * 1024;
/// A queued control frame: its header and a short reason.
constexpr double control_frame = 128;

}  // namespace

std::vector<pattern> patterns(bool quick) {
  const actors::connection_config cc;
  const actors::runtime_config rc;
  const double decoder = static_cast<double>(cc.limits.max_frame_payload) + 32;
  const double controls = static_cast<double>(cc.max_control_frames) * control_frame;
  const double overhead = static_cast<double>(session::message_overhead);
  const double per_connection = decoder + controls + connection_state;
  const std::string per_connection_terms =
      "decoder (max_frame_payload + 32) + max_control_frames x 128 B + 64 KiB connection state";
  // A flood that reconnects holds one connection while the server may still be closing the one
  // before it.
  const std::string reconnecting = "the connection + the one before it, closing + the visitor";
  std::vector<pattern> out;

  const std::size_t spill_conns = quick ? 8 : 16;
  const std::uint32_t opens = cc.limits.max_concurrent_messages;
  const double spill_each = per_connection + opens * (overhead + 4096);
  out.push_back(
      {"spill_flood",
       "connections each opening max_concurrent_messages messages declared 64 MiB, "
       "one 4 KiB chunk each, never finished",
       rc,
       [=](std::uint16_t port, std::chrono::milliseconds phase) {
         return spill_flood(port, phase, spill_conns, opens, 64u << 20);
       },
       {spill_conns * spill_each / mib,
        "per connection: " + per_connection_terms +
            " + max_concurrent_messages x (message_overhead + the 4 KiB sent)",
        spill_conns + rc.max_spill_files + 1, "connections + max_spill_files + the visitor"}});

  const double queue = std::min(static_cast<double>(cc.max_queued_bytes),
                                static_cast<double>(cc.max_queued_messages) * overhead);
  const auto credit = cc.initial_connection_credit;
  // The server reads no more once its application holds delivery_budget: what one read of the
  // default size (256 KiB) held beyond it, at 34 bytes per empty message at least.
  const double one_read = (256.0 * 1024 / 34) * overhead;
  out.push_back(
      {"empty_flood",
       "empty messages within the initial credit, echoes never read",
       rc,
       [=](std::uint16_t port, std::chrono::milliseconds phase) {
         return empty_flood(port, phase, credit);
       },
       {(per_connection + static_cast<double>(cc.delivery_budget) + one_read + queue) / mib,
        per_connection_terms +
            " + delivery_budget + one read's messages beyond it (256 KiB / 34 B x "
            "message_overhead) + min(max_queued_bytes, max_queued_messages x message_overhead)",
        2, "the connection + the visitor"}});

  out.push_back(
      {"credit_ignorer",
       "16 KiB messages at full speed whatever the credit, never reading",
       rc,
       credit_ignorer,
       {(per_connection + static_cast<double>(cc.initial_connection_credit) +
         static_cast<double>(cc.delivery_budget) + static_cast<double>(cc.max_queued_bytes)) /
            mib,
        per_connection_terms + " + initial_connection_credit + delivery_budget + max_queued_bytes",
        3, reconnecting}});

  out.push_back({"ping_flood",
                 "PINGs as fast as possible, PONGs never read",
                 rc,
                 ping_flood,
                 {per_connection / mib, per_connection_terms, 3, reconnecting}});

  const std::uint64_t tiny = quick ? 200'000 : 1'000'000;
  out.push_back({"tiny_frames",
                 "1 M empty DATA frames of one message on one connection",
                 rc,
                 [=](std::uint16_t port, std::chrono::milliseconds phase) {
                   return tiny_frames(port, phase, tiny);
                 },
                 {(per_connection + overhead) / mib,
                  per_connection_terms + " + one message (message_overhead)", 2,
                  "the connection + the visitor"}});

  const std::size_t many = quick ? 1000 : 4000;
  out.push_back({"many_connections",
                 "idle connections after their HELLO",
                 rc,
                 [=](std::uint16_t port, std::chrono::milliseconds phase) {
                   return many_connections(port, phase, many);
                 },
                 {many * connection_state / mib, "connections x 64 KiB connection state", many + 1,
                  "connections + the visitor"}});

  actors::runtime_config capped = rc;
  capped.max_connections = many / 2;
  out.push_back({"many_connections_capped",
                 "as many_connections against max_connections = half of them",
                 capped,
                 [=](std::uint16_t port, std::chrono::milliseconds phase) {
                   return many_connections(port, phase, many);
                 },
                 {capped.max_connections * connection_state / mib,
                  "max_connections x 64 KiB connection state", capped.max_connections + 1,
                  "max_connections + the one being refused (its descriptor for a moment; the "
                  "visitor comes after the attackers left)"}});
  out.back().visit_after_close = true;

  const std::size_t loris = quick ? 200 : 500;
  out.push_back({"slowloris",
                 "connections sending one byte of HELLO per second",
                 rc,
                 [=](std::uint16_t port, std::chrono::milliseconds phase) {
                   return slowloris(port, phase, loris);
                 },
                 {loris * connection_state / mib, "connections x 64 KiB connection state",
                  loris + 1, "connections + the visitor"},
                 cc.handshake_timeout + std::chrono::seconds{2}});
  return out;
}

}  // namespace netcore::bench::hostile
