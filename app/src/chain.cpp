#include "chain.hpp"

#include <netcore/app/payload.hpp>

namespace netcore::app::detail {

namespace {

/// One request's walk through its chain; `next` keeps it alive while a middleware holds it.
struct chain : std::enable_shared_from_this<chain> {
  std::shared_ptr<const routing> snapshot;
  resolution res;

  /// Middleware `i` and inward.
  void step(std::size_t i, const request& req, responder rs) {
    if (i < res.middleware.size()) {
      auto m = snapshot->middleware_fns.find(res.middleware[i]);
      if (m != snapshot->middleware_fns.end()) {
        auto self = shared_from_this();
        next_fn next = [self, i](const request& r, responder inner) {
          self->guarded(i + 1, r, std::move(inner));
        };
        m->second(req, std::move(rs), next);
        return;
      }
      return step(i + 1, req, std::move(rs));  // removed meanwhile: skip it
    }
    core(req, std::move(rs));
  }

  /// step(), with whatever it throws turned into an answer by the error handlers.
  void guarded(std::size_t i, const request& req, responder rs) {
    try {
      step(i, req, rs);
    } catch (...) {
      on_exception(req, rs, std::current_exception());
    }
  }

  /// The before hooks, the after hooks (on the responder) and the handler.
  void core(const request& req, responder rs) {
    // After hooks run inner to outer on the way out; later registrations run first.
    for (auto id = res.after_hooks.rbegin(); id != res.after_hooks.rend(); ++id) {
      auto h = snapshot->after_fns.find(*id);
      if (h == snapshot->after_fns.end()) continue;
      auto fn = h->second;
      rs.on_reply([fn, req](response& r) { fn(req, r); });
    }
    for (auto id : res.before_hooks) {
      auto h = snapshot->before_fns.find(id);
      if (h == snapshot->before_fns.end()) continue;
      if (auto answer = h->second(req)) {
        rs.reply(std::move(*answer));
        return;
      }
    }
    auto entry = snapshot->handlers.find(res.handler);
    if (entry == snapshot->handlers.end()) {
      rs.reply(response::error(status::not_found, "no route " + req.route()));
      return;
    }
    entry->second.fn(req, std::move(rs));
  }

  void on_exception(const request& req, const responder& rs, const std::exception_ptr& e) {
    for (auto id : res.error_handlers) {
      auto h = snapshot->error_fns.find(id);
      if (h == snapshot->error_fns.end()) continue;
      try {
        if (auto answer = h->second(req, e)) {
          rs.reply(std::move(*answer));
          return;
        }
      } catch (...) {
        // An error handler that fails passes the original error outward.
      }
    }
    try {
      std::rethrow_exception(e);
    } catch (const bad_request& x) {
      rs.reply(response::error(status::bad_request, x.what()));
    } catch (const std::exception& x) {
      rs.reply(response::error(status::internal, x.what()));
    } catch (...) {
      rs.reply(response::error(status::internal, "the handler threw a non-standard exception"));
    }
  }
};

}  // namespace

void run_chain(std::shared_ptr<const routing> snapshot, resolution res, request req, responder rs) {
  auto c = std::make_shared<chain>();
  c->snapshot = std::move(snapshot);
  c->res = std::move(res);
  c->guarded(0, req, std::move(rs));
}

}  // namespace netcore::app::detail
