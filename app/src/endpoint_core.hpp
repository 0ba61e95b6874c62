#pragma once

// What an endpoint and its blueprint handles share: the routes (published as immutable
// snapshots), the dispatcher, the connections served. Not installed.

#include <netcore/app/endpoint.hpp>

#include "dispatcher.hpp"

#include <mutex>
#include <set>

namespace netcore::app::detail {

struct endpoint_core {
  actors::runtime* rt = nullptr;
  endpoint_config config;
  std::shared_ptr<routing_holder> routes = std::make_shared<routing_holder>();
  caf::actor dispatcher;
  std::mutex mutex;  // writers of the routes (readers take snapshots)
  std::uint64_t next_id = 0;
  std::shared_ptr<served_set> served = std::make_shared<served_set>();

  /// Copies the routing, lets `change` edit the copy, and publishes it when it succeeds.
  template <class F>
  std::error_code update(F&& change) {
    std::lock_guard<std::mutex> guard{mutex};
    auto next = std::make_shared<routing>(*routes->load());
    if (auto e = change(*next)) return e;
    routes->store(std::move(next));
    return {};
  }

  /// Registers a route of scope `in`.
  std::error_code add_route(std::uint32_t in, std::string_view name, handler h, route_options o,
                            bool replace);
  /// Adds `fn` under a fresh id to `fns` and to scope `in`'s list through `add`.
  template <class Map, class Fn, class Add>
  std::error_code add_piece(std::uint32_t in, Map routing::*fns, Fn fn, Add add) {
    if (!fn) return std::make_error_code(std::errc::invalid_argument);
    return update([&](routing& r) -> std::error_code {
      const auto id = ++next_id;
      if (auto e = add(r.table, in, id)) return e;
      (r.*fns).emplace(id, std::move(fn));
      return {};
    });
  }
};

}  // namespace netcore::app::detail
