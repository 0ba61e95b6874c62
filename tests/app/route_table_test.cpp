// The route table: exact matches, blueprint scopes applied only to their own routes, the order
// of middleware and hooks, default handlers by whole-segment prefix, registration and removal,
// name validation and limits.
// Covers app/src/route_table.cpp and app/src/route_errors.cpp.

#include <netcore/app/route_table.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>

using namespace netcore::app;
using ids = std::vector<std::uint64_t>;
using chain = std::vector<blueprint_id>;

namespace {

constexpr blueprint_id root = route_table::root;

blueprint_id add_bp(route_table& t, blueprint_id parent, std::string_view prefix) {
  const auto added = t.add_blueprint(parent, prefix);
  EXPECT_FALSE(added.error) << prefix << ": " << added.error.message();
  return added.id;
}

}  // namespace

TEST(app_route_table, routes_match_exactly) {
  route_table t;
  ASSERT_FALSE(t.add_route(root, "files/get", 7));
  const auto r = t.resolve("files/get");
  EXPECT_TRUE(r.found);
  EXPECT_FALSE(r.is_default);
  EXPECT_EQ(r.handler, 7u);
  for (const char* other : {"files", "files/ge", "files/get/x", "files/gets", "iles/get"}) {
    const auto miss = t.resolve(other);
    EXPECT_FALSE(miss.found) << other;
    EXPECT_EQ(miss.handler, 0u) << other;
  }
  EXPECT_EQ(t.routes(), 1u);
}

TEST(app_route_table, routes_registered_in_a_row_keep_their_own_handlers) {
  route_table t;
  const auto files = add_bp(t, root, "files");
  ASSERT_FALSE(t.add_route(root, "a", 1));
  ASSERT_FALSE(t.add_route(root, "b", 2));
  ASSERT_FALSE(t.add_route(files, "get", 3));
  ASSERT_FALSE(t.add_route(files, "put", 4));
  ASSERT_FALSE(t.add_route(root, "c", 5));
  EXPECT_EQ(t.resolve("a").handler, 1u);
  EXPECT_EQ(t.resolve("b").handler, 2u);
  EXPECT_EQ(t.resolve("files/get").handler, 3u);
  EXPECT_EQ(t.resolve("files/put").handler, 4u);
  EXPECT_EQ(t.resolve("c").handler, 5u);
}

TEST(app_route_table, blueprint_scope_applies_only_to_its_own_routes) {
  route_table t;
  const auto files = add_bp(t, root, "files");
  const auto users = add_bp(t, root, "users");
  ASSERT_FALSE(t.add_middleware(root, 1));
  ASSERT_FALSE(t.add_middleware(files, 100));
  ASSERT_FALSE(t.add_before_hook(files, 101));
  ASSERT_FALSE(t.add_after_hook(files, 102));
  ASSERT_FALSE(t.add_error_handler(files, 103));
  ASSERT_FALSE(t.add_middleware(users, 200));
  ASSERT_FALSE(t.add_route(files, "get", 10));
  ASSERT_FALSE(t.add_route(users, "list", 20));
  ASSERT_FALSE(t.add_route(root, "ping", 30));
  ASSERT_FALSE(t.add_route(root, "files/stat", 40));  // the root's, despite the prefix

  EXPECT_EQ(t.resolve("files/get").middleware, (ids{1, 100}));
  const auto list = t.resolve("users/list");
  EXPECT_EQ(list.middleware, (ids{1, 200}));
  EXPECT_EQ(list.scope, (chain{users}));
  for (const char* outside : {"ping", "files/stat"}) {
    const auto r = t.resolve(outside);
    EXPECT_TRUE(r.found) << outside;
    EXPECT_EQ(r.middleware, (ids{1})) << outside;
    EXPECT_TRUE(r.before_hooks.empty() && r.after_hooks.empty() && r.error_handlers.empty());
    EXPECT_TRUE(r.scope.empty()) << outside;
  }
}

TEST(app_route_table, nested_scopes_order_middleware_hooks_and_error_handlers) {
  route_table t;
  const auto outer = add_bp(t, root, "api");
  const auto inner = add_bp(t, outer, "v1");
  for (auto [bp, base] : {std::pair{root, 10u}, std::pair{outer, 20u}, std::pair{inner, 30u}}) {
    for (std::uint64_t k = 1; k <= 2; ++k) {
      ASSERT_FALSE(t.add_middleware(bp, base + k));
      ASSERT_FALSE(t.add_before_hook(bp, 100 + base + k));
      ASSERT_FALSE(t.add_after_hook(bp, 200 + base + k));
      ASSERT_FALSE(t.add_error_handler(bp, 300 + base + k));
    }
  }
  ASSERT_FALSE(t.add_route(inner, "echo", 5, false, {41, 42}));
  EXPECT_EQ(t.full_name(inner, "echo"), "api/v1/echo");
  const auto r = t.resolve("api/v1/echo");
  ASSERT_TRUE(r.found);
  EXPECT_EQ(r.handler, 5u);
  EXPECT_EQ(r.middleware, (ids{11, 12, 21, 22, 31, 32, 41, 42}));
  EXPECT_EQ(r.before_hooks, (ids{111, 112, 121, 122, 131, 132}));
  EXPECT_EQ(r.after_hooks, (ids{231, 232, 221, 222, 211, 212}));
  EXPECT_EQ(r.error_handlers, (ids{331, 332, 321, 322, 311, 312}));
  EXPECT_EQ(r.scope, (chain{outer, inner}));
  // Entries removed by id disappear from the resolution, in every list.
  ASSERT_FALSE(t.remove_middleware(outer, 21));
  ASSERT_FALSE(t.remove_before_hook(root, 112));
  ASSERT_FALSE(t.remove_after_hook(inner, 231));
  ASSERT_FALSE(t.remove_error_handler(inner, 332));
  const auto after = t.resolve("api/v1/echo");
  EXPECT_EQ(after.middleware, (ids{11, 12, 22, 31, 32, 41, 42}));
  EXPECT_EQ(after.before_hooks, (ids{111, 121, 122, 131, 132}));
  EXPECT_EQ(after.after_hooks, (ids{232, 221, 222, 211, 212}));
  EXPECT_EQ(after.error_handlers, (ids{331, 321, 322, 311, 312}));
}

TEST(app_route_table, defaults_of_the_innermost_covering_blueprint_then_root_then_none) {
  route_table t;
  const auto files = add_bp(t, root, "files");
  const auto images = add_bp(t, files, "img");
  const auto bare = add_bp(t, files, "bare");  // no default: transparent
  ASSERT_FALSE(t.set_default_handler(root, 900));
  ASSERT_FALSE(t.set_default_handler(files, 901));
  ASSERT_FALSE(t.set_default_handler(images, 902));
  ASSERT_FALSE(t.add_middleware(root, 1));
  ASSERT_FALSE(t.add_middleware(files, 2));
  ASSERT_FALSE(t.add_middleware(images, 3));
  ASSERT_FALSE(t.add_after_hook(images, 4));
  ASSERT_FALSE(t.add_middleware(bare, 5));

  const auto deep = t.resolve("files/img/x/y");
  EXPECT_FALSE(deep.found);
  EXPECT_TRUE(deep.is_default);
  EXPECT_EQ(deep.handler, 902u);
  EXPECT_EQ(deep.middleware, (ids{1, 2, 3}));
  EXPECT_EQ(deep.after_hooks, (ids{4}));
  EXPECT_EQ(deep.scope, (chain{files, images}));
  EXPECT_EQ(t.resolve("files/img").handler, 902u);  // the prefix itself is covered
  const auto doc = t.resolve("files/doc");
  EXPECT_EQ(doc.handler, 901u);
  EXPECT_EQ(doc.middleware, (ids{1, 2}));
  EXPECT_EQ(doc.scope, (chain{files}));
  EXPECT_EQ(t.resolve("files/bare/z").handler, 901u);
  EXPECT_EQ(t.resolve("files/bare/z").scope, (chain{files}));  // runs in its own scope
  EXPECT_EQ(t.resolve("files/bare/z").middleware, (ids{1, 2}));
  const auto other = t.resolve("other/x");
  EXPECT_EQ(other.handler, 900u);
  EXPECT_TRUE(other.is_default);
  EXPECT_EQ(other.middleware, (ids{1}));
  EXPECT_TRUE(other.scope.empty());

  ASSERT_FALSE(t.set_default_handler(images, 0));
  EXPECT_EQ(t.resolve("files/img/x").handler, 901u);
  EXPECT_EQ(t.resolve("files/img/x").middleware, (ids{1, 2}));
  ASSERT_FALSE(t.set_default_handler(files, 0));
  EXPECT_EQ(t.resolve("files/img/x").handler, 900u);
  ASSERT_FALSE(t.set_default_handler(root, 0));
  const auto none = t.resolve("files/img/x");
  EXPECT_FALSE(none.found);
  EXPECT_FALSE(none.is_default);
  EXPECT_EQ(none.handler, 0u);
  EXPECT_EQ(none.middleware, (ids{1, 2, 3}));  // the covering chain, for the not-found answer
  EXPECT_EQ(none.scope, (chain{files, images}));
  EXPECT_EQ(t.resolve("nowhere").middleware, (ids{1}));
}

TEST(app_route_table, prefixes_cover_whole_segments_only) {
  route_table t;
  const auto files = add_bp(t, root, "files");
  ASSERT_FALSE(t.set_default_handler(files, 901));
  EXPECT_EQ(t.resolve("files").handler, 901u);
  EXPECT_EQ(t.resolve("files/x").handler, 901u);
  EXPECT_EQ(t.resolve("filesystem").handler, 0u);
  EXPECT_EQ(t.resolve("filesystem/x").handler, 0u);
  EXPECT_EQ(t.resolve("file").handler, 0u);
  ASSERT_FALSE(t.set_default_handler(root, 900));
  EXPECT_EQ(t.resolve("filesystem/x").handler, 900u);
  EXPECT_TRUE(t.resolve("filesystem/x").scope.empty());
}

TEST(app_route_table, duplicates_are_refused_unless_replaced) {
  route_table t;
  const auto files = add_bp(t, root, "files");
  ASSERT_FALSE(t.add_middleware(files, 100));
  ASSERT_FALSE(t.add_route(root, "files/get", 1));
  EXPECT_EQ(t.add_route(root, "files/get", 2), route_errc::duplicate);
  EXPECT_EQ(t.add_route(files, "get", 3), route_errc::duplicate);  // same full name
  EXPECT_EQ(t.resolve("files/get").handler, 1u);
  ASSERT_FALSE(t.add_route(root, "files/get", 4, true, {50}));
  EXPECT_EQ(t.resolve("files/get").handler, 4u);
  EXPECT_EQ(t.resolve("files/get").middleware, (ids{50}));
  // Replacing from the blueprint moves the route into its scope.
  ASSERT_FALSE(t.add_route(files, "get", 5, true));
  EXPECT_EQ(t.resolve("files/get").middleware, (ids{100}));
  EXPECT_EQ(t.remove_route(root, "files/get"), route_errc::not_found);
  ASSERT_FALSE(t.add_route(files, "new", 6, true));  // replace of nothing adds
  EXPECT_EQ(t.routes(), 2u);

  const auto a = add_bp(t, root, "a");
  EXPECT_EQ(t.add_blueprint(root, "a").error, route_errc::duplicate);
  add_bp(t, a, "b");
  EXPECT_EQ(t.add_blueprint(root, "a/b").error, route_errc::duplicate);
  EXPECT_EQ(t.add_middleware(files, 100), route_errc::duplicate);
  EXPECT_EQ(t.resolve("files/get").middleware, (ids{100}));
}

TEST(app_route_table, routes_are_removed_at_run_time) {
  route_table t;
  const auto files = add_bp(t, root, "files");
  ASSERT_FALSE(t.add_route(files, "get", 1));
  ASSERT_FALSE(t.add_route(files, "put", 2));
  EXPECT_EQ(t.remove_route(root, "get"), route_errc::not_found);
  ASSERT_FALSE(t.remove_route(files, "get"));
  EXPECT_FALSE(t.resolve("files/get").found);
  EXPECT_EQ(t.resolve("files/put").handler, 2u);
  EXPECT_EQ(t.remove_route(files, "get"), route_errc::not_found);
  EXPECT_EQ(t.routes(), 1u);
  ASSERT_FALSE(t.add_route(files, "get", 3));
  EXPECT_EQ(t.resolve("files/get").handler, 3u);
}

TEST(app_route_table, removing_a_blueprint_removes_its_routes_and_nested_blueprints) {
  route_table t;
  const auto files = add_bp(t, root, "files");
  const auto images = add_bp(t, files, "img");
  const auto deeper = add_bp(t, images, "thumbs");
  const auto users = add_bp(t, root, "users");
  ASSERT_FALSE(t.add_route(files, "get", 1));
  ASSERT_FALSE(t.add_route(images, "get", 2));
  ASSERT_FALSE(t.add_route(deeper, "get", 3));
  ASSERT_FALSE(t.add_route(users, "get", 4));
  ASSERT_FALSE(t.add_route(root, "files/stat", 5));
  ASSERT_FALSE(t.set_default_handler(images, 902));
  ASSERT_EQ(t.routes(), 5u);
  ASSERT_EQ(t.blueprints(), 4u);

  ASSERT_FALSE(t.remove_blueprint(files));
  EXPECT_EQ(t.routes(), 2u);
  EXPECT_EQ(t.blueprints(), 1u);
  for (auto bp : {files, images, deeper}) {
    EXPECT_FALSE(t.has_blueprint(bp));
    EXPECT_EQ(t.add_route(bp, "x", 9), route_errc::unknown_blueprint);
    EXPECT_EQ(t.remove_blueprint(bp), route_errc::unknown_blueprint);
  }
  for (const char* gone : {"files/get", "files/img/get", "files/img/thumbs/get", "files/img/x"})
    EXPECT_EQ(t.resolve(gone).handler, 0u) << gone;
  EXPECT_EQ(t.resolve("users/get").handler, 4u);
  EXPECT_EQ(t.resolve("files/stat").handler, 5u);
  EXPECT_EQ(t.remove_blueprint(root), route_errc::invalid_id);
  // The prefix is free again, under a new id.
  const auto again = add_bp(t, root, "files");
  EXPECT_NE(again, files);
  EXPECT_EQ(t.add_blueprint(again, "img").error, std::error_code{});
}

TEST(app_route_table, names_are_validated) {
  for (const char* bad : {"", "/", "/a", "a/", "a//b", "a/b/", "\xff", "a/\xc0\xaf", "\xed\xa0\x80",
                          "\xe2\x82", "\xf4\x90\x80\x80"})
    EXPECT_EQ(validate_route_name(bad, 1024), route_errc::invalid_name) << bad;
  for (const char* good :
       {"a", "a/b/c", "files/get", "r\xc3\xa9seau/\xe8\xb7\xaf", "\xf0\x9f\x98\x80"})
    EXPECT_FALSE(validate_route_name(good, 1024)) << good;

  route_table t;
  ASSERT_FALSE(t.set_default_handler(root, 900));
  EXPECT_EQ(t.add_route(root, "a//b", 1), route_errc::invalid_name);
  EXPECT_EQ(t.add_blueprint(root, "/files").error, route_errc::invalid_name);
  EXPECT_EQ(t.add_blueprint(root, "").id, 0u);
  EXPECT_EQ(t.add_route(root, "ok", 0), route_errc::invalid_id);
  EXPECT_EQ(t.add_route(root, "ok", 1, false, {2, 0}), route_errc::invalid_id);
  EXPECT_EQ(t.add_middleware(root, 0), route_errc::invalid_id);
  EXPECT_EQ(t.add_route(77, "ok", 1), route_errc::unknown_blueprint);
  EXPECT_EQ(t.routes(), 0u);
  const auto r = t.resolve("files//x");
  EXPECT_TRUE(r.bad_name);
  EXPECT_EQ(r.handler, 0u);  // an invalid name gets no default handler
  EXPECT_FALSE(t.resolve("x").bad_name);
}

TEST(app_route_table, limits_on_routes_depth_length_and_blueprints) {
  route_table few{route_limits{1024, 3, 16, 4096}};
  for (const char* name : {"a", "b", "c"}) ASSERT_FALSE(few.add_route(root, name, 1));
  EXPECT_EQ(few.add_route(root, "d", 1), route_errc::too_many_routes);
  EXPECT_FALSE(few.add_route(root, "a", 2, true));  // replacing adds nothing
  ASSERT_FALSE(few.remove_route(root, "b"));
  EXPECT_FALSE(few.add_route(root, "d", 1));

  route_table deep;  // max_depth 16 by default
  blueprint_id bp = root;
  for (int depth = 1; depth <= 16; ++depth) bp = add_bp(deep, bp, "n");
  EXPECT_EQ(deep.add_blueprint(bp, "n").error, route_errc::too_deep);
  ASSERT_FALSE(deep.add_route(bp, "leaf", 1));
  const std::string leaf = deep.full_name(bp, "leaf");
  EXPECT_EQ(leaf.size(), 16u * 2 + 4);
  EXPECT_EQ(deep.resolve(leaf).handler, 1u);
  EXPECT_EQ(deep.resolve(leaf).scope.size(), 16u);

  route_table short_names{route_limits{10, 65536, 16, 4096}};
  EXPECT_FALSE(short_names.add_route(root, "abcdefghij", 1));
  EXPECT_EQ(short_names.add_route(root, "abcdefghijk", 1), route_errc::invalid_name);
  const auto abcd = add_bp(short_names, root, "abcd");
  EXPECT_FALSE(short_names.add_route(abcd, "efghi", 2));
  EXPECT_EQ(short_names.add_route(abcd, "efghij", 3), route_errc::invalid_name);
  EXPECT_EQ(short_names.add_blueprint(abcd, "efghij").error, route_errc::invalid_name);
  EXPECT_TRUE(short_names.resolve("abcdefghijk").bad_name);

  route_table two{route_limits{1024, 65536, 16, 2}};
  add_bp(two, root, "a");
  add_bp(two, root, "b");
  EXPECT_EQ(two.add_blueprint(root, "c").error, route_errc::too_many_blueprints);
}

TEST(app_route_table, copies_are_deep_and_independent) {
  auto original = std::make_unique<route_table>();
  const auto files = add_bp(*original, root, "files");
  ASSERT_FALSE(original->add_route(files, "get", 1));
  ASSERT_FALSE(original->set_default_handler(files, 901));
  route_table copy = *original;
  ASSERT_FALSE(original->remove_route(files, "get"));
  EXPECT_FALSE(original->resolve("files/get").found);
  original.reset();
  EXPECT_EQ(copy.resolve("files/get").handler, 1u);
  EXPECT_EQ(copy.resolve("files/x").handler, 901u);
  ASSERT_FALSE(copy.remove_blueprint(files));
  EXPECT_EQ(copy.routes(), 0u);
}

TEST(app_route_table, errors_have_their_category) {
  const std::error_code e = route_errc::too_deep;
  EXPECT_STREQ(e.category().name(), "netcore.route");
  EXPECT_EQ(e.message(), "blueprints nested too deeply");
  EXPECT_EQ(to_string(route_errc::unknown_blueprint), "unknown_blueprint");
  EXPECT_FALSE(std::error_code{route_errc::ok});
}
