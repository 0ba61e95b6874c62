// The typed interfaces are the contract between actors; docs/ARCHITECTURE.md lists them. This test
// generates the list from the interfaces themselves and fails when the document says something
// else, printing the block to paste, so the two cannot drift apart.

#include "internal.hpp"

#include <netcore/actors/interfaces.hpp>
#include <netcore/actors/scheduler_settings.hpp>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

using namespace netcore::actors;

namespace {

/// "caf::replies_to<nc_send,netcore.outgoing_message>::with<netcore.send_outcome>" →
/// "(nc_send, netcore.outgoing_message) → netcore.send_outcome".
std::string readable(const std::string& signature) {
  const std::string head = "caf::replies_to<";
  const std::string mid = ">::with<";
  auto in_begin = signature.find(head);
  auto in_end = signature.rfind(mid);
  if (in_begin != 0 || in_end == std::string::npos) return signature;
  std::string in = signature.substr(head.size(), in_end - head.size());
  std::string out = signature.substr(in_end + mid.size());
  out.pop_back();  // the closing '>'
  std::string args;
  int depth = 0;
  for (char c : in) {
    if (c == '<') ++depth;
    if (c == '>') --depth;
    args += c;
    if (c == ',' && depth == 0) args += ' ';
  }
  return "(" + args + ")" + (out == "void" ? std::string{} : " → " + out);
}

template <class Interface>
std::string listing(caf::actor_system& sys, const std::string& name) {
  std::string s = "- `" + name + "`\n";
  for (const auto& sig : sys.message_types<Interface>()) s += "  - `" + readable(sig) + "`\n";
  return s;
}

std::string generated(caf::actor_system& sys) {
  std::string s;
  s += listing<delivery_sink>(sys, "delivery_sink");
  s += listing<event_sink>(sys, "event_sink");
  s += listing<connection_actor>(sys, "connection_actor");
  s += listing<detail::producer_actor>(sys, "detail::producer_actor");
  s += listing<detail::writer_actor>(sys, "detail::writer_actor");
  s += listing<detail::reader_actor>(sys, "detail::reader_actor");
  // The connection's internal messages: its full interface minus the public one.
  const auto all = sys.message_types<detail::connection_impl_actor>();
  const auto pub = sys.message_types<connection_actor>();
  s += "- `detail::connection_impl_actor` (`connection_actor` plus)\n";
  for (const auto& sig : all)
    if (!pub.count(sig)) s += "  - `" + readable(sig) + "`\n";
  return s;
}

std::string documented() {
  std::ifstream in{std::string{NETCORE_SOURCE_DIR} + "/docs/ARCHITECTURE.md"};
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  const std::string begin = "<!-- interfaces:begin -->\n", end = "<!-- interfaces:end -->";
  auto b = text.find(begin), e = text.find(end);
  if (b == std::string::npos || e == std::string::npos) return {};
  return text.substr(b + begin.size(), e - b - begin.size());
}

}  // namespace

TEST(interfaces, the_architecture_document_lists_exactly_the_typed_interfaces) {
  caf::actor_system_config cfg;
  apply(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  const auto want = generated(sys);
  EXPECT_EQ(documented(), want) << "docs/ARCHITECTURE.md is out of date; between "
                                   "<!-- interfaces:begin --> and <!-- interfaces:end --> put:\n"
                                << want;
  // Every type in them is registered (no "invalid-type" in any signature).
  EXPECT_EQ(want.find("invalid-type"), std::string::npos);
}
