// Errors by layer and across actors: wire codes, runtime conditions, transport and OS errors all
// survive the trip through a caf::error unchanged (category and code), CAF's own errors map to
// runtime conditions, and every category names itself.

#include <netcore/actors/errors.hpp>

#include <caf/sec.hpp>
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

using namespace netcore;

TEST(errors, every_category_survives_the_trip_through_a_caf_error) {
  const std::vector<std::error_code> codes = {
      wire_errc::digest_mismatch,
      wire_errc::flow_control,
      wire_errc::flood,
      runtime_errc::backpressure,
      runtime_errc::drain_timeout,
      runtime_errc::peer_going_away,
      transport_errc::end_of_stream,
      transport_errc::resolution_failed,
      transport_errc::auth_failed,
      std::error_code{ECONNREFUSED, std::system_category()},
      std::error_code{EMFILE, std::system_category()},
  };
  for (const auto& ec : codes) {
    const caf::error e = to_caf_error(ec);
    EXPECT_TRUE(static_cast<bool>(e)) << ec.message();
    EXPECT_EQ(to_error_code(e), ec) << ec.category().name() << " " << ec.value();
  }
  EXPECT_FALSE(to_caf_error(std::error_code{}));
  EXPECT_FALSE(to_error_code(caf::error{}));
}

TEST(errors, enums_convert_implicitly_where_caf_expects_an_error) {
  caf::error wire = wire_errc::message_too_large;
  caf::error local = runtime_errc::timed_out;
  caf::error transport = transport_errc::closed;
  EXPECT_EQ(to_error_code(wire), std::error_code{wire_errc::message_too_large});
  EXPECT_EQ(to_error_code(local), std::error_code{runtime_errc::timed_out});
  EXPECT_EQ(to_error_code(transport), std::error_code{transport_errc::closed});
}

TEST(errors, cafs_own_errors_become_runtime_conditions) {
  EXPECT_EQ(to_error_code(caf::make_error(caf::sec::request_timeout)),
            std::error_code{runtime_errc::timed_out});
  EXPECT_EQ(to_error_code(caf::make_error(caf::sec::request_receiver_down)),
            std::error_code{runtime_errc::closed});
}

TEST(errors, wire_runtime_and_transport_codes_are_told_apart) {
  // The same number means different things in different layers.
  const std::error_code a = static_cast<wire_errc>(4), b = static_cast<runtime_errc>(4),
                        c = static_cast<transport_errc>(4);
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_STREQ(a.category().name(), "netcore.wire");
  EXPECT_STREQ(b.category().name(), "netcore.runtime");
  EXPECT_STREQ(c.category().name(), "netcore.transport");
  EXPECT_EQ(b.message(), "outgoing queue full");
  EXPECT_EQ(std::error_code{transport_errc::resolution_failed}.message(), "name resolution failed");
  EXPECT_EQ(to_string(runtime_errc::drain_timeout), "drain_timeout");
  EXPECT_EQ(to_string(transport_errc::end_of_stream), "end_of_stream");
  EXPECT_EQ(to_string(static_cast<runtime_errc>(77)), "unknown");
}

TEST(errors, disconnects_are_recognised_whatever_their_cause) {
  EXPECT_TRUE(is_disconnect(transport_errc::end_of_stream));
  EXPECT_TRUE(is_disconnect(std::error_code{ECONNRESET, std::system_category()}));
  EXPECT_TRUE(is_disconnect(std::error_code{EPIPE, std::system_category()}));
  EXPECT_FALSE(is_disconnect(std::error_code{ECONNREFUSED, std::system_category()}));
  EXPECT_FALSE(is_disconnect(transport_errc::resolution_failed));
}
