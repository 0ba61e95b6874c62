#pragma once

// The cache as an actor, and a plain C++ handle to it. All state lives in the actor (a
// cache_core of byte buffers, netcore/app/cache_core.hpp); actors talk to it with the typed
// messages of cache_actor, plain C++ code through netcore::app::cache, whose calls answer with
// std::future. Expiry runs on the actor's own timer, so entries whose time is up are removed
// without being read: one delayed message for the earliest expiry, never one per entry. A
// message is sent only when none already pending is due by the next expiry; since CAF cannot
// cancel a delayed message, setting an entry that expires before the pending message sends one
// more, and every message that arrives removes what is due. get-or-compute runs a key's computation
// once however many callers miss it at the same time, outside the cache actor, and answers every
// one of them.

#include <netcore/app/cache_core.hpp>
#include <netcore/protocol/bytes.hpp>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <optional>
#include <string>

namespace netcore::app {

// -- messages -----------------------------------------------------------------------------------

/// Read an entry.
using cache_get_atom = caf::atom_constant<caf::atom("ca_get")>;
/// Store an entry.
using cache_set_atom = caf::atom_constant<caf::atom("ca_set")>;
/// Remove an entry.
using cache_erase_atom = caf::atom_constant<caf::atom("ca_erase")>;
/// Remove every entry.
using cache_clear_atom = caf::atom_constant<caf::atom("ca_clear")>;
/// Read an entry, computing and storing it on a miss.
using cache_load_atom = caf::atom_constant<caf::atom("ca_load")>;
/// Read the counters.
using cache_stats_atom = caf::atom_constant<caf::atom("ca_stats")>;

/// The answer to cache_get_atom: the value when the key held a live entry.
struct cache_lookup {
  bool found = false;
  protocol::byte_buffer value;  ///< Empty when not found.
};

/// The answer to cache_load_atom: the value, or why there is none.
struct cache_loaded {
  /// True when `value` holds the entry's value (found, or computed successfully).
  bool ok = false;
  protocol::byte_buffer value;
  /// Why there is no value (ok == false): the computation's failure, or a refusal.
  std::string error;
  /// True for the one caller whose computation produced the answer; false for a hit and for the
  /// callers that waited on another caller's computation.
  bool computed_here = false;
};

/// A computation for get-or-compute: the value, or std::nullopt (or an exception) on failure.
/// It runs in an actor of its own, never in the cache actor, and may be called on any thread.
using cache_compute = std::function<std::optional<protocol::byte_buffer>()>;

/// How cache_load_atom computes a missing value. A local-only message type (it holds a
/// function): the cache actor cannot be loaded through from another process.
struct cache_loader {
  cache_compute compute;
  /// Run `compute` in a detached actor (a thread of its own) instead of on CAF's workers: for
  /// computations that block (I/O, locks, sleeps).
  bool blocking = false;
};

/// The cache actor's interface.
///
/// - (cache_get_atom, key) → cache_lookup: the live entry under `key`, if any (a hit makes it
///   the most recently used).
/// - (cache_set_atom, key, value, ttl, weight) → set_result: stores `value` for `ttl` (0 = no
///   expiry; negative: set_result::bad_ttl) with `weight` (see cache_core::set()).
/// - (cache_erase_atom, key) → bool: removes the entry; true when it was live.
/// - (cache_clear_atom): removes every entry (counters stay; loads in flight finish but store
///   nothing).
/// - (cache_load_atom, key, ttl, weight, loader) → cache_loaded: the live entry under `key`, or
///   else the value computed by `loader` (see cache::get_or_compute()).
/// - (cache_stats_atom) → cache_stats.
///
/// Messages from one sender are handled in the order sent. Time is the actor clock of the
/// actor's system (self->clock().now()). When the actor is stopped by an exit message, callers
/// waiting on loads get caf::sec::request_receiver_down.
using cache_actor =
    caf::typed_actor<caf::replies_to<cache_get_atom, std::string>::with<cache_lookup>,
                     caf::replies_to<cache_set_atom, std::string, protocol::byte_buffer,
                                     caf::timespan, std::uint64_t>::with<set_result>,
                     caf::replies_to<cache_erase_atom, std::string>::with<bool>,
                     caf::reacts_to<cache_clear_atom>,
                     caf::replies_to<cache_load_atom, std::string, caf::timespan, std::uint64_t,
                                     cache_loader>::with<cache_loaded>,
                     caf::replies_to<cache_stats_atom>::with<cache_stats>>;

/// The configuration of a cache.
struct cache_config {
  /// Bounds on entries, weight and callers waiting on loads (see cache_limits).
  cache_limits limits;
};

/// Spawns a cache actor in `sys`. It runs until sent an exit message, or until nothing refers to
/// it any more (its own pending timer message included). Time is `sys`'s actor clock, so under
/// CAF's test coordinator the cache runs in virtual time.
cache_actor spawn_cache(caf::actor_system& sys, cache_config config = {});

// -- plain C++ ----------------------------------------------------------------------------------

/// A cache for plain C++ code: owns a cache actor and forwards every call to it as a message.
/// Thread-safe; calls from one thread reach the actor in the order made (a get after a set sees
/// the set). Each future is filled on an actor's thread once the actor answered; under CAF's test
/// coordinator, run the scheduler before waiting on one.
///
/// Errors: the answers carry the cache's own outcomes (set_result, cache_loaded's error). A
/// future throws only when the actor could not answer: std::runtime_error when it is gone, or
/// std::future_error (broken_promise) for calls still pending when the cache is destroyed.
///
/// Lifetime: destroy it before its actor_system; destroying it stops the actor (other holders of
/// actor() then get errors).
class cache {
 public:
  /// Spawns the cache actor in `sys` (see spawn_cache()).
  explicit cache(caf::actor_system& sys, cache_config config = {});
  /// Stops the cache actor; pending futures fail (see the class documentation).
  ~cache();
  cache(const cache&) = delete;
  cache& operator=(const cache&) = delete;

  /// The live value under `key`, or std::nullopt (a miss; an entry whose time is up is a miss).
  std::future<std::optional<protocol::byte_buffer>> get(std::string key);

  /// Stores `value` under `key` for `ttl`, replacing the previous entry. A `ttl` of zero means
  /// the entry never expires (the Python original read 0 as "the default TTL"; this cache has no
  /// default). `weight` counts against cache_limits::max_weight. Makes room by evicting the least
  /// recently used entries. Errors: set_result::bad_ttl (negative ttl), set_result::too_large
  /// (see cache_core::set()); a refused set still removes the previous entry.
  std::future<set_result> set(std::string key, protocol::byte_buffer value,
                              std::chrono::milliseconds ttl, std::uint64_t weight = 1);

  /// Removes the entry under `key`; true when it was live.
  std::future<bool> erase(std::string key);

  /// Removes every entry (the counters stay). Fire and forget; later calls see it done.
  void clear();

  /// The outcome of get_or_compute().
  struct loaded {
    /// The value, or std::nullopt on failure.
    std::optional<protocol::byte_buffer> value;
    /// Why there is no value: "the computation returned no value", "the computation threw: "
    /// and the exception's what(), a negative ttl, too many waiting callers, a lost computation.
    std::string error;
    /// True when this call's own `compute` produced the answer (see cache_loaded).
    bool computed_here = false;
  };

  /// The live value under `key`; on a miss, the value `compute` returns, stored for `ttl` (0 = no
  /// expiry, counted from when the computation finished) with `weight`.
  ///
  /// Single flight: while a computation for `key` runs, further misses of `key` do not compute;
  /// they wait for that one and get its outcome (their own compute, ttl and weight are unused).
  /// `compute` runs in an actor of its own (detached when `blocking`), never in the cache actor;
  /// it is copied into that actor and released once it returns.
  ///
  /// Failures are never cached: when `compute` returns std::nullopt or throws, every caller
  /// waiting on it gets the failure, nothing is stored, and the next miss computes again.
  ///
  /// Superseded loads: when the key is set, erased or cleared while its computation runs, the
  /// waiting callers still get the computed value, but it is not stored (it may predate the
  /// change).
  ///
  /// Counters: the lookup counts as a hit or a miss; a finished computation as a load or a load
  /// failure.
  std::future<loaded> get_or_compute(std::string key, std::chrono::milliseconds ttl,
                                     cache_compute compute, bool blocking = false,
                                     std::uint64_t weight = 1);

  /// The counters and gauges (see cache_stats).
  std::future<cache_stats> stats();

  /// The cache actor, for actors that talk to it directly (see cache_actor). It stops when this
  /// object is destroyed.
  cache_actor actor() const { return actor_; }

 private:
  cache_actor actor_;
  caf::actor bridge_;  // makes the requests and fills the promises, in the order of the calls
};

// -- inspection ---------------------------------------------------------------------------------

/// CAF inspection of cache_lookup.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cache_lookup& x) {
  return f(caf::meta::type_name("netcore.cache_lookup"), x.found, x.value);
}

/// CAF inspection of cache_loaded.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cache_loaded& x) {
  return f(caf::meta::type_name("netcore.cache_loaded"), x.ok, x.value, x.error, x.computed_here);
}

/// CAF inspection of cache_stats.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cache_stats& x) {
  return f(caf::meta::type_name("netcore.cache_stats"), x.hits, x.misses, x.loads, x.load_failures,
           x.evictions, x.expirations, x.entries, x.weight, x.timed, x.loading, x.waiters);
}

}  // namespace netcore::app

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(netcore::app::cache_loader)
