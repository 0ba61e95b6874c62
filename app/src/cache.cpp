#include <netcore/app/cache.hpp>

#include <caf/all.hpp>

#include <exception>
#include <memory>
#include <set>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace netcore::app {

namespace {

/// Work for the bridge actor of a plain C++ handle: makes one request and fills a promise with
/// its answer.
struct bridge_job {
  std::function<void(caf::event_based_actor*)> run;
};

}  // namespace

}  // namespace netcore::app

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::app::bridge_job)

namespace netcore::app {

namespace {

using value_core = cache_core<protocol::byte_buffer>;
using clock = value_core::clock;
static_assert(std::is_same_v<caf::actor_clock::time_point, clock::time_point>,
              "the cache core reads the actor clock's time points");

/// The actor's timer (sent to itself only): carries the time it was scheduled for.
using tick_atom = caf::atom_constant<caf::atom("ca_tick")>;
/// Runs a computation (sent to a compute worker).
using run_atom = caf::atom_constant<caf::atom("ca_run")>;

/// The actor as spawned: the public interface plus its timer.
using cache_impl = cache_actor::extend<caf::reacts_to<tick_atom, caf::timespan>>;

struct cache_state {
  value_core core;
  /// Callers waiting on loads, by the waiter id registered with core.begin_load().
  std::unordered_map<std::uint64_t, caf::typed_response_promise<cache_loaded>> waiting;
  std::uint64_t next_waiter = 0;
  /// The times of the ticks on their way. CAF cannot cancel a delayed message, so a tick is sent
  /// only when none on its way arrives by the next expiry; one that arrives early still runs
  /// expire() and rearms.
  std::multiset<clock::time_point> ticks;
  static inline const char* name = "netcore.cache";
};

using cache_ptr = cache_impl::stateful_pointer<cache_state>;

clock::time_point now(cache_ptr self) {
  return self->clock().now();
}

/// Removes what is due and keeps one tick on its way for the earliest expiry.
void rearm(cache_ptr self) {
  auto& s = self->state;
  auto next = s.core.next_expiry();
  if (next && *next <= now(self)) {
    s.core.expire(now(self));
    next = s.core.next_expiry();
  }
  if (!next || (!s.ticks.empty() && *s.ticks.begin() <= *next)) return;
  s.ticks.insert(*next);
  self->scheduled_send(self, *next, tick_atom::value, caf::timespan{next->time_since_epoch()});
}

cache_loaded failure(std::string why) {
  cache_loaded r;
  r.error = std::move(why);
  return r;
}

cache_loaded run_compute(const cache_compute& compute) {
  try {
    auto v = compute();
    if (!v) return failure("the computation returned no value");
    cache_loaded r;
    r.ok = true;
    r.value = std::move(*v);
    return r;
  } catch (const std::exception& e) {
    return failure(std::string{"the computation threw: "} + e.what());
  } catch (...) {
    return failure("the computation threw a non-standard exception");
  }
}

/// Runs one computation when asked, answers its outcome and ends.
caf::behavior compute_worker(caf::event_based_actor* self, cache_compute compute) {
  return {
      [self, compute = std::move(compute)](run_atom) mutable {
        auto r = run_compute(compute);
        compute = nullptr;  // release what it holds before the actor is gone
        self->quit();
        return r;
      },
  };
}

/// The computation of `key` ended with `r`: store it (unless it failed or was superseded) and
/// answer everyone waiting on it.
void finish_load(cache_ptr self, const std::string& key, cache_loaded r, clock::duration ttl,
                 std::uint64_t weight) {
  auto& s = self->state;
  auto done = s.core.finish_load(key, r.ok);
  if (r.ok && !done.superseded) s.core.set(key, r.value, ttl, now(self), weight);
  for (std::size_t i = 0; i < done.waiters.size(); ++i) {
    auto w = s.waiting.find(done.waiters[i]);
    if (w == s.waiting.end()) continue;
    auto promise = std::move(w->second);
    s.waiting.erase(w);
    cache_loaded answer = i + 1 < done.waiters.size() ? r : std::move(r);  // the last takes r
    answer.computed_here = i == 0;
    promise.deliver(std::move(answer));
  }
  rearm(self);
}

caf::result<cache_loaded> load(cache_ptr self, std::string key, caf::timespan ttl,
                               std::uint64_t weight, cache_loader loader) {
  auto& s = self->state;
  if (ttl < caf::timespan::zero()) return failure("negative ttl");
  if (!loader.compute) return failure("no computation given");
  if (const auto* v = s.core.get(key, now(self))) {
    cache_loaded hit;
    hit.ok = true;
    hit.value = *v;
    return hit;
  }
  const auto id = s.next_waiter++;
  auto role = s.core.begin_load(key, id);
  if (!role) return failure("too many callers are waiting for loads");
  auto promise = self->make_response_promise<cache_loaded>();
  s.waiting.emplace(id, promise);
  if (*role == load_role::wait) return promise;
  auto worker = loader.blocking
                    ? self->system().spawn<caf::detached>(compute_worker, std::move(loader.compute))
                    : self->system().spawn(compute_worker, std::move(loader.compute));
  const clock::duration keep{ttl};
  self->request(worker, caf::infinite, run_atom::value)
      .then([self, key, keep,
             weight](cache_loaded& r) { finish_load(self, key, std::move(r), keep, weight); },
            [self, key](caf::error& e) {
              finish_load(self, key, failure("the computation was lost: " + caf::to_string(e)), {},
                          0);
            });
  return promise;
}

cache_impl::behavior_type cache_behavior(cache_ptr self, cache_limits limits) {
  self->state.core = value_core{limits};
  self->set_exit_handler([self](caf::exit_msg& m) {
    if (!m.reason) return;  // as CAF's default handler: a linked actor's normal exit is ignored
    // Callers waiting on loads hear of the end instead of waiting forever.
    for (auto& [id, promise] : self->state.waiting)
      promise.deliver(caf::make_error(caf::sec::request_receiver_down));
    self->state.waiting.clear();
    self->quit(std::move(m.reason));
  });
  return {
      [self](cache_get_atom, const std::string& key) {
        cache_lookup r;
        if (const auto* v = self->state.core.get(key, now(self))) {
          r.found = true;
          r.value = *v;
        }
        rearm(self);  // a get may have removed a dead entry
        return r;
      },
      [self](cache_set_atom, const std::string& key, protocol::byte_buffer& value,
             caf::timespan ttl, std::uint64_t weight) {
        auto r =
            self->state.core.set(key, std::move(value), clock::duration{ttl}, now(self), weight);
        rearm(self);
        return r;
      },
      [self](cache_erase_atom, const std::string& key) {
        const bool live = self->state.core.erase(key, now(self));
        rearm(self);
        return live;
      },
      [self](cache_clear_atom) { self->state.core.clear(); },
      [self](cache_load_atom, std::string& key, caf::timespan ttl, std::uint64_t weight,
             cache_loader& loader) {
        auto r = load(self, std::move(key), ttl, weight, std::move(loader));
        rearm(self);
        return r;
      },
      [self](cache_stats_atom) { return self->state.core.stats(); },
      [self](tick_atom, caf::timespan at) {
        auto& s = self->state;
        if (auto t = s.ticks.find(clock::time_point{clock::duration{at}}); t != s.ticks.end())
          s.ticks.erase(t);
        s.core.expire(now(self));
        rearm(self);
      },
  };
}

// -- the bridge of the plain C++ handle ---------------------------------------------------------

caf::behavior bridge(caf::event_based_actor* self) {
  return {
      [self](bridge_job& job) { job.run(self); },
  };
}

std::runtime_error lost(const caf::error& e) {
  return std::runtime_error("the cache actor did not answer: " + caf::to_string(e));
}

/// Sends (xs...) to `target` from `bridge` and returns a future of its answer, converted by
/// `convert` (Reply → R).
template <class R, class Reply, class Convert, class... Ts>
std::future<R> ask(const caf::actor& bridge, const cache_actor& target, Convert convert, Ts... xs) {
  auto promise = std::make_shared<std::promise<R>>();
  auto future = promise->get_future();
  bridge_job job;
  job.run = [promise, target, convert,
             args = std::make_tuple(std::move(xs)...)](caf::event_based_actor* self) mutable {
    std::apply([&](auto&... a) { return self->request(target, caf::infinite, std::move(a)...); },
               args)
        .then(
            [promise, convert](Reply& r) { promise->set_value(convert(r)); },
            [promise](caf::error& e) { promise->set_exception(std::make_exception_ptr(lost(e))); });
  };
  caf::anon_send(bridge, std::move(job));
  return future;
}

template <class T>
auto same() {
  return [](T& x) { return std::move(x); };
}

}  // namespace

cache_actor spawn_cache(caf::actor_system& sys, cache_config config) {
  return sys.spawn(cache_behavior, config.limits);
}

cache::cache(caf::actor_system& sys, cache_config config)
    : actor_(spawn_cache(sys, config)), bridge_(sys.spawn(bridge)) {}

cache::~cache() {
  caf::anon_send_exit(bridge_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
}

std::future<std::optional<protocol::byte_buffer>> cache::get(std::string key) {
  return ask<std::optional<protocol::byte_buffer>, cache_lookup>(
      bridge_, actor_,
      [](cache_lookup& r) {
        return r.found ? std::optional<protocol::byte_buffer>{std::move(r.value)} : std::nullopt;
      },
      cache_get_atom::value, std::move(key));
}

std::future<set_result> cache::set(std::string key, protocol::byte_buffer value,
                                   std::chrono::milliseconds ttl, std::uint64_t weight) {
  return ask<set_result, set_result>(bridge_, actor_, same<set_result>(), cache_set_atom::value,
                                     std::move(key), std::move(value),
                                     std::chrono::duration_cast<caf::timespan>(ttl), weight);
}

std::future<bool> cache::erase(std::string key) {
  return ask<bool, bool>(bridge_, actor_, same<bool>(), cache_erase_atom::value, std::move(key));
}

void cache::clear() {
  bridge_job job;
  job.run = [target = actor_](caf::event_based_actor* self) {
    self->send(target, cache_clear_atom::value);
  };
  caf::anon_send(bridge_, std::move(job));
}

std::future<cache::loaded> cache::get_or_compute(std::string key, std::chrono::milliseconds ttl,
                                                 cache_compute compute, bool blocking,
                                                 std::uint64_t weight) {
  return ask<loaded, cache_loaded>(
      bridge_, actor_,
      [](cache_loaded& r) {
        loaded l;
        if (r.ok) l.value = std::move(r.value);
        l.error = std::move(r.error);
        l.computed_here = r.computed_here;
        return l;
      },
      cache_load_atom::value, std::move(key), std::chrono::duration_cast<caf::timespan>(ttl),
      weight, cache_loader{std::move(compute), blocking});
}

std::future<cache_stats> cache::stats() {
  return ask<cache_stats, cache_stats>(bridge_, actor_, same<cache_stats>(),
                                       cache_stats_atom::value);
}

}  // namespace netcore::app
