#include <netcore/protocol/error.hpp>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

using namespace netcore::protocol;

namespace {

/// Every enumerator with its wire value and name (docs/PROTOCOL.md, "Error codes").
const std::vector<std::pair<errc, std::string_view>>& all_codes() {
  static const std::vector<std::pair<errc, std::string_view>> codes = {
      {errc::ok, "ok"},
      {errc::header_corrupt, "header_corrupt"},
      {errc::unsupported_version, "unsupported_version"},
      {errc::frame_too_large, "frame_too_large"},
      {errc::payload_corrupt, "payload_corrupt"},
      {errc::malformed_frame, "malformed_frame"},
      {errc::unknown_message, "unknown_message"},
      {errc::duplicate_message, "duplicate_message"},
      {errc::offset_mismatch, "offset_mismatch"},
      {errc::size_mismatch, "size_mismatch"},
      {errc::digest_mismatch, "digest_mismatch"},
      {errc::message_too_large, "message_too_large"},
      {errc::too_many_messages, "too_many_messages"},
      {errc::metadata_too_large, "metadata_too_large"},
      {errc::memory_limit, "memory_limit"},
      {errc::idle_timeout, "idle_timeout"},
      {errc::cancelled, "cancelled"},
      {errc::flow_control, "flow_control"},
      {errc::flood, "flood"},
      {errc::transform_failed, "transform_failed"},
      {errc::unsupported_transform, "unsupported_transform"},
      {errc::storage_failed, "storage_failed"},
      {errc::storage_full, "storage_full"},
      {errc::peer_timeout, "peer_timeout"},
      {errc::going_away, "going_away"},
      {errc::protocol_error, "protocol_error"},
      {errc::shutting_down, "shutting_down"},
      {errc::refused, "refused"},
      {errc::internal_error, "internal_error"},
  };
  return codes;
}

}  // namespace

TEST(error, every_code_has_its_enumerator_name) {
  for (const auto& [code, name] : all_codes()) {
    EXPECT_EQ(to_string(code), name) << static_cast<int>(code);
  }
}

TEST(error, names_are_distinct_and_known) {
  std::set<std::string_view> seen;
  for (const auto& [code, name] : all_codes()) {
    const std::string_view s = to_string(code);
    EXPECT_NE(s, "unknown") << static_cast<int>(code);
    EXPECT_FALSE(s.empty());
    EXPECT_TRUE(seen.insert(s).second) << "duplicate name " << s;
  }
  EXPECT_EQ(seen.size(), all_codes().size());
}

TEST(error, wire_values_are_stable) {
  EXPECT_EQ(static_cast<int>(errc::ok), 0);
  EXPECT_EQ(static_cast<int>(errc::malformed_frame), 5);
  EXPECT_EQ(static_cast<int>(errc::digest_mismatch), 14);
  EXPECT_EQ(static_cast<int>(errc::flow_control), 21);
  EXPECT_EQ(static_cast<int>(errc::storage_failed), 30);
  EXPECT_EQ(static_cast<int>(errc::flood), 22);
  EXPECT_EQ(static_cast<int>(errc::transform_failed), 23);
  EXPECT_EQ(static_cast<int>(errc::unsupported_transform), 24);
  EXPECT_EQ(static_cast<int>(errc::peer_timeout), 51);
  EXPECT_EQ(static_cast<int>(errc::shutting_down), 54);
  EXPECT_EQ(static_cast<int>(errc::refused), 57);
  EXPECT_EQ(static_cast<int>(errc::internal_error), 99);
}

TEST(error, values_outside_the_enum_are_unknown) {
  for (int v : {-1, 6, 9, 25, 29, 32, 40, 41, 50, 55, 56, 58, 60, 61, 98, 100, 1000, 1 << 30}) {
    EXPECT_EQ(to_string(static_cast<errc>(v)), "unknown") << v;
  }
}

TEST(error, names_and_messages_cover_the_same_codes) {
  std::set<int> listed;
  for (const auto& [code, name] : all_codes()) listed.insert(static_cast<int>(code));
  for (int v = -8; v < 256; ++v) {
    const bool named = to_string(static_cast<errc>(v)) != "unknown";
    const bool described =
        protocol_category().message(v).find("unknown netcore error") == std::string::npos;
    EXPECT_EQ(named, described) << v;
    EXPECT_EQ(named, listed.count(v) == 1) << v;
  }
}

TEST(error, category_is_named_netcore) {
  EXPECT_STREQ(protocol_category().name(), "netcore.wire");
  EXPECT_EQ(&protocol_category(), &protocol_category());
  EXPECT_NE(protocol_category(), std::generic_category());
  EXPECT_NE(protocol_category(), std::system_category());
}

TEST(error, messages_are_distinct_sentences) {
  EXPECT_EQ(protocol_category().message(static_cast<int>(errc::digest_mismatch)),
            "whole-message digest mismatch");
  std::set<std::string> seen;
  for (const auto& [code, name] : all_codes()) {
    const std::string m = protocol_category().message(static_cast<int>(code));
    EXPECT_FALSE(m.empty()) << name;
    EXPECT_EQ(m.find("unknown netcore error"), std::string::npos) << name;
    EXPECT_TRUE(seen.insert(m).second) << "duplicate message for " << name << ": " << m;
  }
}

TEST(error, unknown_values_get_a_message_with_the_number) {
  const std::string m = protocol_category().message(12345);
  EXPECT_NE(m.find("12345"), std::string::npos) << m;
  EXPECT_NE(protocol_category().message(-7).find("-7"), std::string::npos);
}

TEST(error, error_code_interop) {
  std::error_code ec = errc::digest_mismatch;
  EXPECT_STREQ(ec.category().name(), "netcore.wire");
  EXPECT_EQ(&ec.category(), &protocol_category());
  EXPECT_EQ(ec.value(), 14);
  EXPECT_TRUE(static_cast<bool>(ec));
  EXPECT_EQ(ec, errc::digest_mismatch);
  EXPECT_NE(ec, errc::size_mismatch);
  EXPECT_EQ(ec, make_error_code(errc::digest_mismatch));
  EXPECT_EQ(ec.message(), "whole-message digest mismatch");
  // Same number, other category: not equal.
  EXPECT_NE(ec, std::error_code(14, std::generic_category()));

  ec = errc::cancelled;
  EXPECT_EQ(ec.value(), 20);
  EXPECT_EQ(ec.message(), protocol_category().message(20));
}

TEST(error, ok_is_a_false_error_code) {
  const std::error_code ec = errc::ok;
  EXPECT_FALSE(static_cast<bool>(ec));
  EXPECT_EQ(ec.category(), protocol_category());
}

TEST(error, system_error_carries_the_code) {
  try {
    throw std::system_error(errc::storage_failed, "spill");
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), errc::storage_failed);
    EXPECT_STREQ(e.code().category().name(), "netcore.wire");
    EXPECT_NE(std::string(e.what()).find("spill"), std::string::npos);
  }
}
