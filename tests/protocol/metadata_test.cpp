#include <netcore/protocol/frame.hpp>
#include <netcore/protocol/metadata.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace netcore::protocol;

namespace {

message_meta sample() {
  message_meta m;
  m.route = "users/42/avatar";
  m.type = content_type::msgpack;
  m.priority = 200;
  m.headers = {{"reply-to", "17"}, {"empty", ""}, {"", "no name"}};
  return m;
}

}  // namespace

TEST(metadata, round_trip) {
  auto m = sample();
  byte_buffer buf;
  encode_meta(m, buf);
  EXPECT_EQ(buf.size(), encoded_meta_size(m));
  message_meta back;
  std::size_t used = 0;
  ASSERT_EQ(decode_meta(buf, limits{}, back, used), errc::ok);
  EXPECT_EQ(back, m);
  EXPECT_EQ(used, buf.size());
  ASSERT_NE(back.header("reply-to"), nullptr);
  EXPECT_EQ(*back.header("reply-to"), "17");
  EXPECT_EQ(back.header("missing"), nullptr);
}

TEST(metadata, trailing_bytes_are_left_for_the_body) {
  auto m = sample();
  byte_buffer buf;
  encode_meta(m, buf);
  auto meta_len = buf.size();
  buf.push_back(1);
  buf.push_back(2);
  message_meta back;
  std::size_t used = 0;
  ASSERT_EQ(decode_meta(buf, limits{}, back, used), errc::ok);
  EXPECT_EQ(used, meta_len);
}

TEST(metadata, every_truncation_is_malformed) {
  byte_buffer buf;
  encode_meta(sample(), buf);
  for (std::size_t n = 0; n < buf.size(); ++n) {
    message_meta back;
    std::size_t used = 0;
    EXPECT_EQ(decode_meta(byte_view{buf.data(), n}, limits{}, back, used), errc::malformed_frame)
        << n;
  }
}

TEST(metadata, route_limit) {
  message_meta m;
  m.route = std::string(100, 'r');
  byte_buffer buf;
  encode_meta(m, buf);
  limits lim;
  lim.max_route_length = 100;
  message_meta back;
  std::size_t used = 0;
  EXPECT_EQ(decode_meta(buf, lim, back, used), errc::ok);
  lim.max_route_length = 99;
  EXPECT_EQ(decode_meta(buf, lim, back, used), errc::metadata_too_large);
}

TEST(metadata, header_count_limit) {
  message_meta m;
  for (int i = 0; i < 10; ++i) m.headers.push_back({"h", "v"});
  byte_buffer buf;
  encode_meta(m, buf);
  limits lim;
  lim.max_headers = 10;
  message_meta back;
  std::size_t used = 0;
  EXPECT_EQ(decode_meta(buf, lim, back, used), errc::ok);
  lim.max_headers = 9;
  EXPECT_EQ(decode_meta(buf, lim, back, used), errc::metadata_too_large);
}

TEST(metadata, metadata_byte_limit_is_checked_before_copying) {
  message_meta m;
  m.headers.push_back({"big", std::string(10000, 'v')});
  byte_buffer buf;
  encode_meta(m, buf);
  limits lim;
  lim.max_metadata_bytes = static_cast<std::uint32_t>(buf.size());
  message_meta back;
  std::size_t used = 0;
  EXPECT_EQ(decode_meta(buf, lim, back, used), errc::ok);
  lim.max_metadata_bytes = static_cast<std::uint32_t>(buf.size() - 1);
  EXPECT_EQ(decode_meta(buf, lim, back, used), errc::metadata_too_large);
}

TEST(metadata, a_claimed_huge_value_length_is_not_trusted) {
  // The header value length field claims 64 KiB in a 13-byte payload.
  byte_buffer buf = {0, 0, 0, 0, 1, 0, 1, 0, 'k', 0x00, 0x00, 0x01, 0x00};
  message_meta back;
  std::size_t used = 0;
  EXPECT_EQ(decode_meta(buf, limits{}, back, used), errc::metadata_too_large);
  limits lim;
  lim.max_metadata_bytes = UINT32_MAX;
  EXPECT_EQ(decode_meta(buf, lim, back, used), errc::malformed_frame);
}

TEST(metadata, call_blocks_round_trip_for_every_kind) {
  for (auto kind : {call_info::kind::request, call_info::kind::response, call_info::kind::cancel}) {
    auto m = sample();
    call_info c;
    c.what = kind;
    c.request_id = kind == call_info::kind::request ? 0 : 0x1122334455667788;
    c.deadline_ms = kind == call_info::kind::request ? 2500 : 0;
    c.status = kind == call_info::kind::response ? 1001 : 0;
    c.message = kind == call_info::kind::response ? "quota exceeded" : "";
    m.call = c;
    byte_buffer buf;
    encode_meta(m, buf);
    EXPECT_EQ(buf.size(), encoded_meta_size(m));
    message_meta back;
    std::size_t used = 0;
    ASSERT_EQ(decode_meta(buf, limits{}, back, used, flags::call), errc::ok);
    EXPECT_EQ(back, m);
    EXPECT_EQ(used, buf.size());
    // Without flags::call the same bytes are no valid metadata block of this message.
    message_meta plain;
    EXPECT_FALSE(decode_meta(buf, limits{}, plain, used) == errc::ok && plain == m);
  }
}

TEST(metadata, a_call_block_that_names_the_wrong_request_or_kind_is_malformed) {
  auto encoded = [](call_info c) {
    message_meta m = sample();
    m.call = std::move(c);
    byte_buffer buf;
    encode_meta(m, buf);
    return buf;
  };
  call_info request_naming_another;
  request_naming_another.request_id = 5;
  call_info response_naming_none;
  response_naming_none.what = call_info::kind::response;
  call_info unknown_kind;
  unknown_kind.what = static_cast<call_info::kind>(9);
  unknown_kind.request_id = 5;
  for (const auto& c : {request_naming_another, response_naming_none, unknown_kind}) {
    const auto buf = encoded(c);
    message_meta back;
    std::size_t used = 0;
    EXPECT_EQ(decode_meta(buf, limits{}, back, used, flags::call), errc::malformed_frame);
  }
  // Every truncation of a call block is malformed too.
  call_info ok;
  ok.what = call_info::kind::response;
  ok.request_id = 3;
  ok.message = "why";
  const auto buf = encoded(ok);
  for (std::size_t n = 0; n < 17 + 3; ++n) {
    message_meta back;
    std::size_t used = 0;
    EXPECT_EQ(decode_meta(byte_view{buf.data(), n}, limits{}, back, used, flags::call),
              errc::malformed_frame)
        << n;
  }
}

TEST(metadata, a_call_message_counts_against_the_metadata_limit) {
  auto m = sample();
  call_info c;
  c.what = call_info::kind::response;
  c.request_id = 1;
  c.message = std::string(5000, 'x');
  m.call = c;
  byte_buffer buf;
  encode_meta(m, buf);
  limits lim;
  lim.max_metadata_bytes = 4096;
  message_meta back;
  std::size_t used = 0;
  EXPECT_EQ(decode_meta(buf, lim, back, used, flags::call), errc::metadata_too_large);
}

TEST(metadata, content_type_names) {
  EXPECT_STREQ(to_string(content_type::json), "json");
  EXPECT_STREQ(to_string(content_type::msgpack), "msgpack");
  EXPECT_STREQ(to_string(static_cast<content_type>(77)), "unknown");
}

TEST(settings, round_trip) {
  settings s;
  s.max_frame_payload = 65536;
  s.initial_message_credit = 1;
  s.initial_connection_credit = 2;
  s.max_concurrent_messages = 3;
  s.max_message_size = 4;
  s.accepted_transforms = 0x8001;
  s.max_decoded_size = 6;
  byte_buffer buf;
  encode_settings(s, buf);
  EXPECT_EQ(buf.size(), 7u * 10);
  settings back;
  ASSERT_EQ(decode_settings(buf, back), errc::ok);
  EXPECT_EQ(back, s);
}

TEST(settings, a_peer_that_announces_no_transforms_undoes_none) {
  // An older peer's HELLO has settings 1 to 5 only.
  settings old;
  byte_buffer buf;
  encode_settings(old, buf);
  buf.resize(5 * 10);
  settings back;
  ASSERT_EQ(decode_settings(buf, back), errc::ok);
  EXPECT_EQ(back.accepted_transforms, 0u);
  // Any mask is legal, bits of transforms this build does not know included.
  settings all;
  all.accepted_transforms = ~std::uint64_t{0};
  all.max_decoded_size = 0;
  buf.clear();
  encode_settings(all, buf);
  ASSERT_EQ(decode_settings(buf, back), errc::ok);
  EXPECT_EQ(back, all);
}

TEST(settings, unknown_ids_are_ignored_and_missing_ones_keep_their_value) {
  byte_buffer buf(10);
  store_le(buf.data(), 999, 2);
  store_le(buf.data() + 2, 5, 8);
  settings back;
  ASSERT_EQ(decode_settings(buf, back), errc::ok);
  EXPECT_EQ(back, settings{});
}

TEST(settings, malformed_lists_are_rejected_whole) {
  settings back;
  back.initial_message_credit = 7;
  byte_buffer odd(11);
  EXPECT_EQ(decode_settings(odd, back), errc::malformed_frame);
  byte_buffer zero_frame(10);
  store_le(zero_frame.data(), 1, 2);  // max frame payload 0
  EXPECT_EQ(decode_settings(zero_frame, back), errc::malformed_frame);
  EXPECT_EQ(back.initial_message_credit, 7u);
}

TEST(settings, values_outside_their_range_are_rejected) {
  auto one = [](std::uint16_t id, std::uint64_t value) {
    byte_buffer b(10);
    store_le(b.data(), id, 2);
    store_le(b.data() + 2, value, 8);
    return b;
  };
  settings back;
  EXPECT_EQ(decode_settings(one(1, min_frame_payload - 1), back), errc::malformed_frame);
  EXPECT_EQ(decode_settings(one(1, min_frame_payload), back), errc::ok);
  EXPECT_EQ(decode_settings(one(1, max_wire_payload + 1), back), errc::malformed_frame);
  EXPECT_EQ(decode_settings(one(2, 0), back), errc::malformed_frame);
  EXPECT_EQ(decode_settings(one(3, 0), back), errc::malformed_frame);
  EXPECT_EQ(decode_settings(one(5, 0), back), errc::ok);  // accepts no body: legal
  EXPECT_EQ(back.max_message_size, 0u);
}
