// The response statuses: fixed wire values, names, and their std::error_code view.
// Covers app/src/status.cpp.

#include <netcore/app/status.hpp>

#include <gtest/gtest.h>

using namespace netcore::app;

TEST(app_status, wire_values_are_fixed) {
  EXPECT_EQ(static_cast<int>(status::ok), 0);
  EXPECT_EQ(static_cast<int>(status::not_found), 1);
  EXPECT_EQ(static_cast<int>(status::bad_request), 2);
  EXPECT_EQ(static_cast<int>(status::deadline_exceeded), 3);
  EXPECT_EQ(static_cast<int>(status::cancelled), 4);
  EXPECT_EQ(static_cast<int>(status::unavailable), 5);
  EXPECT_EQ(static_cast<int>(status::too_large), 6);
  EXPECT_EQ(static_cast<int>(status::internal), 7);
  EXPECT_EQ(static_cast<int>(status::unauthenticated), 8);
  EXPECT_EQ(static_cast<int>(status::permission_denied), 9);
  EXPECT_EQ(static_cast<int>(status::application_first), 1000);
}

TEST(app_status, names_cover_known_unknown_and_application_statuses) {
  EXPECT_EQ(to_string(status::not_found), "not_found");
  EXPECT_EQ(to_string(status::permission_denied), "permission_denied");
  EXPECT_EQ(to_string(static_cast<status>(1042)), "application_1042");
  EXPECT_EQ(to_string(static_cast<status>(77)), "unknown_77");
  EXPECT_TRUE(is_application(static_cast<status>(1000)));
  EXPECT_FALSE(is_application(status::internal));
}

TEST(app_status, statuses_are_error_codes_and_ok_is_none) {
  std::error_code ok = status::ok;
  EXPECT_FALSE(ok);
  std::error_code e = status::deadline_exceeded;
  EXPECT_TRUE(e);
  EXPECT_STREQ(e.category().name(), "netcore.status");
  EXPECT_EQ(e.message(), "deadline exceeded");
  EXPECT_EQ(std::error_code{static_cast<status>(1001)}.message(), "application_1001");
}
