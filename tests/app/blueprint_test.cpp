// Blueprints through a real endpoint: their middleware, hooks, error handlers and default
// handlers apply to their own routes only, nested scopes run in the documented order, and a
// not-found under a prefix goes to that blueprint's default handler.
// Covers app/src/blueprint.cpp and app/src/chain.cpp.

#include <netcore/actors/runtime.hpp>
#include <netcore/actors/scheduler_settings.hpp>
#include <netcore/app/endpoint.hpp>
#include <netcore/app/route_errors.hpp>

#include "endpoint_support.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

using namespace netcore;
using namespace netcore::app;
using namespace std::chrono_literals;

namespace {

class blueprint_test : public test::endpoint_pair {
 protected:
  /// Middleware that appends `tag` to the trace on the way in and `tag'` on the way out.
  static middleware tracing(std::string tag) {
    return [tag](const request& req, responder rs, const next_fn& next) {
      rs.on_reply([tag](response& r) { r.reason += " " + tag + "'"; });
      auto in = req;
      next(in, std::move(rs));
    };
  }
};

}  // namespace

TEST_F(blueprint_test, nested_scopes_run_in_the_documented_order) {
  auto outer = server_->group("api");
  ASSERT_TRUE(outer.valid());
  auto inner = outer.group("v1");
  ASSERT_TRUE(inner.valid());
  EXPECT_EQ(inner.prefix(), "api/v1");
  for (auto [scope, tag] : {std::pair{server_->root(), "E"}, {outer, "A"}, {inner, "B"}}) {
    ASSERT_FALSE(scope.use(tracing(std::string{"m"} + tag)));
    ASSERT_FALSE(scope.before([tag = std::string{tag}](const request&) -> std::optional<response> {
      return std::nullopt;
    }));
    ASSERT_FALSE(scope.after(
        [tag = std::string{tag}](const request&, response& r) { r.reason += " a" + tag; }));
  }
  ASSERT_FALSE(inner.handle("items", [](const request&) {
    auto r = response::text("items");
    r.reason = "h";
    return r;
  }));
  connect();
  auto r = call("api/v1/items");
  ASSERT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.text(), "items");
  // The handler, after hooks inner to outer, then the middleware unwinding inner to outer.
  EXPECT_EQ(r.reason, "h aB aA aE mB' mA' mE'");
}

TEST_F(blueprint_test, a_blueprints_pieces_apply_to_its_own_routes_only) {
  auto files = server_->group("files");
  ASSERT_FALSE(files.after([](const request&, response& r) { r.reason += "files-hook"; }));
  ASSERT_FALSE(files.handle("get", [](const request&) { return response::text("file"); }));
  ASSERT_FALSE(server_->handle("status", [](const request&) { return response::text("up"); }));
  ASSERT_FALSE(server_->handle("filesystem", [](const request&) { return response::text("fs"); }));
  connect();
  EXPECT_EQ(call("files/get").reason, "files-hook");
  auto s = call("status");
  EXPECT_EQ(s.text(), "up");
  EXPECT_EQ(s.reason, "");
  auto fs = call("filesystem");  // "files" is no prefix of "filesystem"
  EXPECT_EQ(fs.text(), "fs");
  EXPECT_EQ(fs.reason, "");
}

TEST_F(blueprint_test, the_first_before_hook_that_answers_ends_the_request) {
  std::atomic<bool> handler_ran{false};
  auto admin = server_->group("admin");
  ASSERT_FALSE(server_->root().before([](const request& req) -> std::optional<response> {
    if (req.header("token") == nullptr) return response::error(status::unauthenticated, "no token");
    return std::nullopt;
  }));
  ASSERT_FALSE(admin.before([](const request&) -> std::optional<response> {
    return response::error(status::permission_denied, "admins only");
  }));
  ASSERT_FALSE(admin.handle("reset", [&](const request&) {
    handler_ran = true;
    return response::text("reset");
  }));
  connect();
  EXPECT_EQ(call("admin/reset").code, status::unauthenticated);  // the endpoint's hook is first
  auto with_token = actors::outgoing_message::from_text("admin/reset", "");
  with_token.meta.headers.push_back({"token", "t"});
  auto f = client_->call(client_conn_, std::move(with_token));
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get().code, status::permission_denied);
  EXPECT_FALSE(handler_ran);
}

TEST_F(blueprint_test, error_handlers_are_asked_innermost_first_then_outward) {
  auto outer = server_->group("jobs");
  auto inner = outer.group("batch");
  ASSERT_FALSE(server_->root().on_error([](const request&, const std::exception_ptr&) {
    return std::optional<response>{response::error(status::internal, "endpoint")};
  }));
  ASSERT_FALSE(outer.on_error([](const request&, const std::exception_ptr& e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::invalid_argument& x) {
      return std::optional<response>{response::error(status::bad_request, x.what())};
    } catch (...) {
    }
    return std::optional<response>{};
  }));
  ASSERT_FALSE(inner.on_error([](const request&, const std::exception_ptr&) {
    return std::optional<response>{};  // passes everything outward
  }));
  ASSERT_FALSE(inner.handle("bad", [](const request&) -> response {
    throw std::invalid_argument("size must be positive");
  }));
  ASSERT_FALSE(
      inner.handle("worse", [](const request&) -> response { throw std::runtime_error("disk"); }));
  connect();
  auto bad = call("jobs/batch/bad");
  EXPECT_EQ(bad.code, status::bad_request);
  EXPECT_EQ(bad.reason, "size must be positive");
  auto worse = call("jobs/batch/worse");
  EXPECT_EQ(worse.code, status::internal);
  EXPECT_EQ(worse.reason, "endpoint");
}

TEST_F(blueprint_test, a_not_found_under_a_prefix_goes_to_that_blueprints_default) {
  auto files = server_->group("files");
  ASSERT_FALSE(files.set_default([](const request& req, responder rs) {
    rs.reply(response::text("files default for " + req.route()));
  }));
  server_->set_default(
      [](const request&, responder rs) { rs.reply(response::text("endpoint default")); });
  connect();
  EXPECT_EQ(call("files/missing/deep").text(), "files default for files/missing/deep");
  EXPECT_EQ(call("other").text(), "endpoint default");
}

TEST_F(blueprint_test, blueprints_are_added_and_removed_at_run_time) {
  connect();
  EXPECT_EQ(call("late/route").code, status::not_found);
  auto late = server_->group("late");
  ASSERT_FALSE(late.handle("route", [](const request&) { return response::text("now"); }));
  EXPECT_EQ(call("late/route").text(), "now");
  ASSERT_FALSE(late.remove_group());
  EXPECT_EQ(call("late/route").code, status::not_found);
  EXPECT_EQ(late.handle("again", [](const request&) { return response{}; }),
            std::error_code{route_errc::unknown_blueprint});
  std::error_code why;
  EXPECT_FALSE(server_->group("bad//prefix", &why).valid());
  EXPECT_EQ(why, std::error_code{route_errc::invalid_name});
}
